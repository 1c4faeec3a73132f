"""Shell completion through kubectl's plugin completion protocol (kubectl >= 1.26).

On ``kubectl podfix <TAB>`` kubectl runs ``kubectl_complete-podfix <args so far...> <word>``
(the word being completed comes last, ``""`` after a space) and reads its stdout:
one candidate per line, optionally ``candidate<TAB>description``, then a last line
``:<directive>`` (a cobra ShellCompDirective bitmask). ``kubectl-podfix __complete
<args...>`` answers the same way; the helper is just ``exec kubectl-podfix __complete "$@"``.

This runs on every TAB, so it stays light: no click, no Kubernetes client. The
commands and flags come from the static table below (tests/test_completion.py
compares it with the click command tree, so the two cannot drift). Names from the
cluster (namespaces, pods, workloads) come from ``kubectl`` itself, with the
``--kubeconfig/--context/--cluster/--user/-n`` flags already typed and a short
timeout, so every auth method kubectl supports works; any failure means no
candidates, never an error message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import NamedTuple

# cobra ShellCompDirective bits
ERROR, NO_SPACE, NO_FILE_COMP, FILTER_FILE_EXT, FILTER_DIRS, KEEP_ORDER = 1, 2, 4, 8, 16, 32

REQUEST_TIMEOUT = "2s"  # passed to kubectl
PROCESS_TIMEOUT = 4.0  # hard limit on a kubectl call (exec credential plugins can hang)

# Value kinds of flags and positional arguments.
FILE = "file"            # any file: the shell's file completion
MANIFEST = "manifest"    # -f: YAML/JSON files
NAMESPACE = "namespace"
CONTEXT = "context"
CLUSTER = "cluster"
USER = "user"
POD = "pod"              # a pod name, or TYPE/NAME of a workload
CONTAINER = "container"  # a container of the pod typed as the target
SECRET = "secret"        # an image pull secret (kubernetes.io/dockerconfigjson)
COMMAND_NAME = "command"  # a podfix command (help COMMAND)
TEXT = "text"            # free text: nothing to offer


class Flag(NamedTuple):
    names: tuple[str, ...]
    value: str | tuple[str, ...] | None  # None: a boolean flag; a tuple: the allowed values
    help: str
    multiple: bool = False


class Command(NamedTuple):
    help: str
    args: tuple[str, ...]  # kinds of the positional arguments, in order
    flags: tuple[Flag, ...]
    commands: dict[str, "Command"] | None = None  # a group's subcommands


HELP = Flag(("-h", "--help"), None, "Show help")
OUTPUTS = ("text", "wide", "json", "yaml")
DRY_RUN = ("none", "client", "server")
CONNECTION = (
    Flag(("-n", "--namespace"), NAMESPACE, "Namespace"),
    Flag(("--kubeconfig",), FILE, "Path to the kubeconfig file"),
    Flag(("--context",), CONTEXT, "The kubeconfig context to use"),
    Flag(("--cluster",), CLUSTER, "The kubeconfig cluster to use"),
    Flag(("--user",), USER, "The kubeconfig user to use"),
    Flag(("--request-timeout",), TEXT, "Time to wait for each API request"),
    Flag(("-v", "--debug"), None, "Show the requests made and full errors"),
)
ENGINE = (
    Flag(("--dry-run",), DRY_RUN, "client: show the plan only; server: validate without persisting"),
    Flag(("-y", "--yes"), None, "Apply without asking"),
    Flag(("--wait", "--no-wait"), None, "Wait for the new pod to be Ready"),
    Flag(("--timeout",), TEXT, "How long --wait waits"),
)
CONTAINER_FLAG = Flag(("-c", "--container"), CONTAINER, "The container to fix")
CREDENTIALS = (
    Flag(("--docker-server",), TEXT, "Registry host"),
    Flag(("--docker-username",), TEXT, "Registry user name"),
    Flag(("--password-stdin",), None, "Read the password from the first line of stdin"),
    Flag(("--docker-email",), TEXT, "Email written into the entry"),
    Flag(("--from-docker-config",), FILE, "Take the credentials from a docker config.json"),
)
INSECURE = Flag(("--insecure-registry",), None, "Skip TLS verification / allow plain http")
OVERWRITE = Flag(("--overwrite",), None, "Update the secret when it exists with other content")
# The connection flags may come before the command too (kubectl podfix -n shop explain).
ROOT_FLAGS = (Flag(("--version",), None, "Show the version"), *CONNECTION, HELP)
COMMANDS: dict[str, Command] = {
    "explain": Command("Explain why a pod is not running", (POD,), (
        Flag(("-f", "--filename"), MANIFEST, "Explain saved objects instead of a cluster", multiple=True),
        Flag(("-o", "--output"), OUTPUTS, "Output format"),
        Flag(("-A", "--all-namespaces"), None, "Every namespace"),
        Flag(("-l", "--selector"), TEXT, "Label selector"),
        Flag(("--field-selector",), TEXT, "Field selector for pods"),
        Flag(("--exit-code",), None, "Exit 3 when any pod or workload has an error-severity finding"),
        Flag(("--save",), FILE, "Also save the evidence used as a bundle"),
        Flag(("--save-logs",), None, "With --save: include the containers' log lines"),
        Flag(("--fix",), None, "Offer the fixes the findings carry"),
        Flag(("--node-check",), None, "Test an image-pull failure from the pod's node"),
        Flag(("-y", "--yes"), None, "With --fix: apply the fixes; with --node-check: create the check pod"),
        Flag(("-w", "--watch"), None, "Keep running: print a new block each time a diagnosis changes"),
        *CONNECTION, HELP,
    )),
    "fix": Command("Fix a diagnosed problem on the workload that owns the pod", (), (HELP,), {
        "memory": Command("Raise an OOM-killed container's memory limit", (POD,), (
            CONTAINER_FLAG, Flag(("--memory",), TEXT, "The new memory limit"), *ENGINE, *CONNECTION, HELP)),
        "probe": Command("Add a startupProbe or relax a probe", (POD,), (
            CONTAINER_FLAG, Flag(("--probe",), ("liveness", "readiness", "startup"), "The probe to change"),
            Flag(("--initial-delay",), TEXT, "Set initialDelaySeconds"),
            Flag(("--failure-threshold",), TEXT, "Set failureThreshold"),
            Flag(("--timeout-seconds",), TEXT, "Set timeoutSeconds"),
            *ENGINE, *CONNECTION, HELP)),
        "image": Command("Point a container at an image that exists", (POD,), (
            CONTAINER_FLAG, Flag(("--image",), TEXT, "The image reference to set"),
            Flag(("--check-registry",), None, "Offer the closest existing tags"), INSECURE,
            Flag(("--no-verify",), None, "Patch without checking that the image exists"),
            *ENGINE, *CONNECTION, HELP)),
        "restart": Command("Delete a workload's failing pods so they are recreated", (POD,), (
            Flag(("--recreate-bare",), None, "Also recreate a bare pod"), *ENGINE, *CONNECTION, HELP)),
        "pull-secret": Command("Create or repair the pod's pull secret", (POD,), (
            Flag(("--name",), SECRET, "The secret's name"), *CREDENTIALS,
            Flag(("--verify", "--no-verify"), None, "Log in to the registry before writing anything"),
            INSECURE, OVERWRITE, *ENGINE, *CONNECTION, HELP)),
        "pod-security": Command("Set the fields a Pod Security rejection names", (POD,), (
            *ENGINE, *CONNECTION, HELP)),
        "service-account": Command("Create the missing ServiceAccount the pods run as", (POD,), (
            *ENGINE, *CONNECTION, HELP)),
    }),
    "secret": Command("Create or repair an image pull secret and attach it", (SECRET,), (
        *CREDENTIALS[:3],
        Flag(("--docker-password",), TEXT, "Registry password (prefer --password-stdin)"),
        *CREDENTIALS[3:],
        Flag(("--for",), POD, "The failing pod"),
        Flag(("--attach",), TEXT, "Attach to sa/NAME, deploy/, sts/, ds/, cronjob/", multiple=True),
        Flag(("--verify",), None, "Log in to the registry before writing anything"),
        INSECURE,
        Flag(("--restart",), None, "Delete the failing controller-owned pods"),
        OVERWRITE, *ENGINE, *CONNECTION, HELP,
    )),
    "node-check": Command("Test the image's registry from the pod's node", (POD,), (
        Flag(("-y", "--yes"), None, "Create the check pod without asking"),
        Flag(("--image",), TEXT, "Image for the check pod"),
        Flag(("--timeout",), TEXT, "How long to wait for the check pod"),
        Flag(("-o", "--output"), ("text", "json"), "Output format"),
        Flag(("--show-script",), None, "Print the check script and exit"),
        *CONNECTION, HELP)),
    "wait": Command("Wait for a rollout, a Job or a pod, and say why when it fails", (POD,), (
        Flag(("-o", "--output"), ("text", "json", "yaml"), "Output format of the result"),
        Flag(("--timeout",), TEXT, "How long to wait"),
        Flag(("--fail-fast", "--no-fail-fast"), None, "Stop at the first failure that will not heal by itself"),
        *CONNECTION, HELP)),
    "completion": Command("Print how to enable shell completion", (), (HELP,)),
    "version": Command("Print the version", (), (Flag(("-o", "--output"), ("text", "json", "yaml"), "Output format"),
                                                 HELP)),
    "help": Command("Print the help of a command", (COMMAND_NAME,), (HELP,)),
}
ROOT_COMMAND = Command("", (), ROOT_FLAGS, COMMANDS)
# Hidden aliases: completed like the command they stand for, never offered.
ALIASES = {"probe": "node-check"}

# TYPE/NAME targets: what the user may type -> what kubectl gets.
WORKLOADS = {
    "deploy": "deployments.apps", "deployment": "deployments.apps", "deployments": "deployments.apps",
    "sts": "statefulsets.apps", "statefulset": "statefulsets.apps", "statefulsets": "statefulsets.apps",
    "ds": "daemonsets.apps", "daemonset": "daemonsets.apps", "daemonsets": "daemonsets.apps",
    "rs": "replicasets.apps", "replicaset": "replicasets.apps", "replicasets": "replicasets.apps",
    "job": "jobs.batch", "jobs": "jobs.batch",
    "po": "pods", "pod": "pods", "pods": "pods",
}
# kubectl flags forwarded from what the user typed, so completion sees the same cluster.
FORWARDED = ("--kubeconfig", "--context", "--cluster", "--user")


def _flag_index(flags: tuple[Flag, ...]) -> dict[str, Flag]:
    return {name: flag for flag in flags for name in flag.names}


class _State(NamedTuple):
    path: tuple[str, ...]       # the (sub)commands typed, e.g. ("fix", "memory")
    command: Command | None     # None: an unknown command was typed
    flags: dict[str, Flag]
    values: dict[str, str]      # canonical flag name -> last value typed
    used: set[str]              # canonical names of the flags typed
    positionals: list[str]
    pending: Flag | None        # the last word was a flag that still needs its value
    after_dashdash: bool


def _parse(words: list[str]) -> _State:
    command: Command | None = ROOT_COMMAND
    path: list[str] = []
    flags = _flag_index(ROOT_FLAGS)
    values: dict[str, str] = {}
    used: set[str] = set()
    positionals: list[str] = []
    pending: Flag | None = None
    dashdash = False
    for word in words:
        if pending is not None:
            values[pending.names[-1]] = word
            pending = None
            continue
        if dashdash or not word.startswith("-") or word == "-":
            if command is not None and command.commands is not None and not dashdash:
                path.append(word)
                command = command.commands.get(word) or (command.commands.get(ALIASES.get(word, ""))
                                                         if command is ROOT_COMMAND else None)
                flags = _flag_index(command.flags) if command is not None else {}
            else:
                positionals.append(word)
            continue
        if word == "--":
            dashdash = True
            continue
        name, eq, value = word.partition("=")
        flag = flags.get(name)
        if flag is None and not word.startswith("--") and len(word) > 2:  # -nfoo, or bundled booleans -Av
            flag = flags.get(word[:2])
            if flag is not None and flag.value is not None:
                eq, value = "=", word[2:]
            elif flag is not None:
                for letter in word[1:]:
                    short = flags.get("-" + letter)
                    if short is not None:
                        used.add(short.names[-1])
                continue
        if flag is None:
            continue
        used.add(flag.names[-1])
        if flag.value is None:
            continue
        if eq:
            values[flag.names[-1]] = value
        else:
            pending = flag
    return _State(tuple(path), command, flags, values, used, positionals, pending, dashdash)


def complete(args: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Candidates ``(value, description)`` and the directive for ``args`` (the last one is being completed)."""
    words = list(args) or [""]
    state = _parse(words[:-1])
    word = words[-1]
    if state.command is None:
        return [], NO_FILE_COMP
    if state.pending is not None:
        return _values(state.pending.value, word, state)
    if word.startswith("-") and not state.after_dashdash:
        name, eq, value = word.partition("=")
        if eq and name.startswith("--"):
            flag = state.flags.get(name)
            if flag is None or flag.value is None:
                return [], NO_FILE_COMP
            found, directive = _values(flag.value, value, state)
            if directive & FILTER_FILE_EXT:
                return found, directive
            return [(f"{name}={c}", d) for c, d in found], directive
        return _flags(word, state), NO_FILE_COMP
    command = state.command
    if command.commands is not None:
        return [(name, sub.help) for name, sub in command.commands.items() if name.startswith(word)], NO_FILE_COMP
    if len(state.positionals) >= len(command.args):
        return [], NO_FILE_COMP
    return _values(command.args[len(state.positionals)], word, state)


def _flags(word: str, state: _State) -> list[tuple[str, str]]:
    out = []
    for name, flag in state.flags.items():
        if flag.names[-1] in state.used and not flag.multiple:
            continue  # already given
        if name.startswith(word) and (name.startswith("--") or not word.startswith("--")):
            out.append((name, flag.help))
    return out


def _values(kind, word: str, state: _State) -> tuple[list[tuple[str, str]], int]:
    if isinstance(kind, tuple):
        return [(c, "") for c in kind if c.startswith(word)], NO_FILE_COMP
    if kind == FILE:
        return [], 0
    if kind == MANIFEST:
        return [("yaml", ""), ("yml", ""), ("json", "")], FILTER_FILE_EXT
    if kind == NAMESPACE:
        names = _kubectl(["get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}"], state, namespaced=False)
        return [(n, "") for n in names.split() if n.startswith(word)], NO_FILE_COMP
    if kind in (CONTEXT, CLUSTER, USER):
        sub = {CONTEXT: ["get-contexts", "-o", "name"], CLUSTER: ["get-clusters"], USER: ["get-users"]}[kind]
        lines = _kubectl(["config", *sub], state, namespaced=False, config=True).splitlines()
        if kind != CONTEXT and lines and lines[0].strip() == "NAME":
            lines = lines[1:]
        return [(n.strip(), "") for n in lines if n.strip() and n.strip().startswith(word)], NO_FILE_COMP
    if kind == POD:
        return _targets(word, state), NO_FILE_COMP
    if kind == COMMAND_NAME:
        return [(n, c.help) for n, c in COMMANDS.items() if n.startswith(word)], NO_FILE_COMP
    if kind == CONTAINER:
        return [(n, "") for n in _containers(state) if n.startswith(word)], NO_FILE_COMP
    if kind == SECRET:
        names = _kubectl(["get", "secrets", "--field-selector=type=kubernetes.io/dockerconfigjson",
                          "-o", "jsonpath={.items[*].metadata.name}"], state)
        return [(n, "image pull secret") for n in names.split() if n.startswith(word)], NO_FILE_COMP
    return [], NO_FILE_COMP


def _containers(state: _State) -> list[str]:
    if not state.positionals:
        return []
    kind, slash, name = state.positionals[0].rpartition("/")
    if slash:
        resource = WORKLOADS.get(kind.lower())
        if resource is None:
            return []
        spec = "{.spec.containers[*].name}" if resource == "pods" else "{.spec.template.spec.containers[*].name}"
    else:
        resource, spec = "pods", "{.spec.containers[*].name}"
    return _kubectl(["get", resource, name, "-o", f"jsonpath={spec}"], state).split()


def _targets(word: str, state: _State) -> list[tuple[str, str]]:
    if state.path == ("explain",) and ({"--filename", "--all-namespaces", "--selector"} & state.used):
        return []  # -f reads files; -A/-l take no TARGET
    if "/" in word:
        kind, _, prefix = word.partition("/")
        resource = WORKLOADS.get(kind.lower())
        if resource is None:
            return []
        out = _kubectl(["get", resource, "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'], state)
        return [(f"{kind}/{n}", "") for n in out.split() if n.startswith(prefix)]
    out = _kubectl(["get", "pods", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.phase}'
                    '{"\\t"}{.status.containerStatuses[*].state.waiting.reason}{"\\n"}{end}'], state)
    found = []
    for line in out.splitlines():
        name, _, rest = line.partition("\t")
        if name and name.startswith(word):
            phase, _, reasons = rest.partition("\t")
            found.append((name, " ".join([phase.strip(), *sorted(set(reasons.split()))]).strip()))
    return found


def kubectl_path() -> str:
    return os.environ.get("KUBECTL_PATH") or shutil.which("kubectl") or "kubectl"


def _kubectl(argv: list[str], state: _State, namespaced: bool = True, config: bool = False) -> str:
    cmd = [kubectl_path(), *argv]
    if not config:
        cmd.append(f"--request-timeout={REQUEST_TIMEOUT}")
    for flag in FORWARDED:
        value = state.values.get(flag)
        if value and (not config or flag == "--kubeconfig"):
            cmd.append(f"{flag}={value}")
    if namespaced and state.values.get("--namespace"):
        cmd.append(f"--namespace={state.values['--namespace']}")
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=PROCESS_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return ""
    if proc.returncode != 0:
        return ""
    return proc.stdout.decode("utf-8", "replace")


def render(candidates: list[tuple[str, str]], directive: int) -> str:
    from kubectl_podfix.render.terminal import escape_controls

    lines = []
    for value, desc in candidates:
        # NB: the shell shows these: a control character from the cluster (a waiting reason) stays text
        value = escape_controls(value.replace("\n", " ").replace("\t", " "))
        desc = escape_controls(" ".join(desc.split()))
        lines.append(f"{value}\t{desc}" if desc else value)
    lines.append(f":{directive}")
    return "\n".join(lines) + "\n"


def run(args: list[str]) -> int:
    """Answer one completion request: ``args`` are the plugin's args so far plus the word being completed."""
    try:
        candidates, directive = complete(list(args))
    except Exception:  # completion must never print a traceback into the user's prompt
        candidates, directive = [], NO_FILE_COMP
    try:
        sys.stdout.write(render(candidates, directive))
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    return 0


def main() -> None:
    """Console script ``kubectl_complete-podfix``: same as ``kubectl-podfix __complete "$@"``."""
    raise SystemExit(run(sys.argv[1:]))


HELPER_NAME = "kubectl_complete-podfix"


def _plugin_dir() -> str:
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).startswith("kubectl-podfix") and os.sep in argv0:
        return os.path.dirname(os.path.abspath(argv0))
    found = shutil.which("kubectl-podfix")
    if found:
        return os.path.dirname(os.path.abspath(found))
    return os.path.join(os.environ.get("KREW_ROOT") or "$HOME/.krew", "bin")


def instructions() -> str:
    """What ``kubectl podfix completion`` prints."""
    helper = shutil.which(HELPER_NAME)
    target = os.path.join(_plugin_dir(), HELPER_NAME)
    if helper:
        step2 = (f"2. The completion helper is already installed: {helper}\n"
                 "   (pip and pipx install it next to kubectl-podfix.)\n")
    else:
        step2 = (f"2. Create the helper next to kubectl-podfix. krew links only one executable per plugin,\n"
                 f"   so after `kubectl krew install podfix` create it yourself (it keeps working after\n"
                 f"   `kubectl krew upgrade`; pip and pipx installs already include it):\n"
                 f"\n"
                 f"     cat > \"{target}\" <<'EOF'\n"
                 f"     #!/bin/sh\n"
                 f"     exec kubectl-podfix __complete \"$@\"\n"
                 f"     EOF\n"
                 f"     chmod +x \"{target}\"\n")
    return (
        "Shell completion for `kubectl podfix` (kubectl 1.26 or newer)\n"
        "\n"
        f"kubectl completes a plugin's arguments by running `{HELPER_NAME}` from your PATH.\n"
        "\n"
        "1. Enable kubectl's own completion, if you have not yet:\n"
        "     bash:  source <(kubectl completion bash)    # add to ~/.bashrc\n"
        "     zsh:   source <(kubectl completion zsh)     # add to ~/.zshrc\n"
        "     fish:  kubectl completion fish | source\n"
        "\n"
        f"{step2}"
        "\n"
        "Then try: kubectl podfix explain <TAB>   (pods of the current namespace; -n <TAB> for namespaces)\n"
    )
