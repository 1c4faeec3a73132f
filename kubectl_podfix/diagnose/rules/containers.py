"""Container family: why a container crashes, restarts, or never starts.

Codes, root cause first: an out-of-memory kill, a binary built for another
CPU, a missing command, other start failures, create failures, missing
configuration, then the generic crash loop and the "exits 0 but is
restarted" case. Probes live in ``probes.py``; pod-level causes (eviction,
scheduling, volumes...) in ``pods.py``.

Everything here is a pure function of the ``PodContext``; the helpers at the
top (quantities, exit codes, restart timing, log quoting) are shared with the
probe and pod families.
"""

from __future__ import annotations

import datetime as _dt
import re
import shlex
from typing import Iterable, Iterator

from kubectl_podfix.diagnose.model import Finding, Fix, PodContext, age, dig, event_time, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, events_about, kubectl, terminated, waiting

CODES: dict[str, str] = {
    "container.oom-killed": "the container was killed for exceeding its memory limit (OOMKilled)",
    "container.exec-format-error": "the image's binary is built for another CPU architecture (exec format error)",
    "container.command-not-found": "the command or entrypoint does not exist in the image",
    "container.start-failed": "the runtime could not start the container's process",
    "container.create-failed": "the runtime could not create the container (CreateContainerError)",
    "container.config-error": "a ConfigMap, Secret or key the container needs is missing (CreateContainerConfigError)",
    "container.crash-loop": "the container's process keeps exiting with an error",
    "container.completed-restarting": "the process exits 0 but the restart policy restarts it",
}

_CRASH_CODES = {"container.crash-loop", "container.completed-restarting"}
SUPERSEDES: dict[str, set[str]] = {
    "container.oom-killed": _CRASH_CODES | {"container.readiness-probe-failed"},
    "container.exec-format-error": _CRASH_CODES | {"container.command-not-found", "container.start-failed",
                                                   "container.create-failed", "container.readiness-probe-failed"},
    "container.command-not-found": _CRASH_CODES | {"container.start-failed", "container.create-failed",
                                                   "container.readiness-probe-failed"},
    "container.start-failed": _CRASH_CODES | {"container.readiness-probe-failed"},
    "container.create-failed": _CRASH_CODES,
    "container.config-error": _CRASH_CODES | {"container.create-failed"},
    "container.crash-loop": {"container.readiness-probe-failed", "container.completed-restarting"},
    "container.completed-restarting": {"container.readiness-probe-failed"},
}

RECOVERED_AFTER = 600  # seconds a restarted container must run (and be Ready) to count as recovered
FLAPPING_RESTARTS = 3  # a container running for less than RECOVERED_AFTER with this many restarts is still crashing
LOG_QUOTE_LINES = 8

# Pod-level reasons that explain why the containers stopped: the container rules stay quiet.
POD_TERMINAL_REASONS = {"Evicted", "DeadlineExceeded", "Preempting", "NodeLost", "Shutdown", "Terminated",
                        "NodeShutdown", "UnexpectedAdmissionError", "NodeAffinity", "MatchNodeSelector",
                        "NodeSelectorMismatching", "TopologyAffinityError", "SMTAlignmentError"}

SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
           8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM",
           15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
           21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM",
           27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}

_SIGNAL_MEANING = {
    "SIGKILL": "killed with SIGKILL (kill -9): it could not clean up",
    "SIGTERM": "stopped with SIGTERM: something asked it to shut down",
    "SIGSEGV": "a segmentation fault: the process read or wrote memory it does not own (a native crash)",
    "SIGABRT": "aborted itself (SIGABRT): a failed assertion, a C library abort or a runtime panic in native code",
    "SIGBUS": "a bus error (SIGBUS): bad memory access, often a truncated memory-mapped file or full /dev/shm",
    "SIGILL": "an illegal instruction (SIGILL): the binary uses CPU instructions this node's CPU lacks",
    "SIGFPE": "an arithmetic fault (SIGFPE), such as an integer division by zero",
    "SIGINT": "interrupted (SIGINT)",
    "SIGHUP": "hung up (SIGHUP)",
    "SIGQUIT": "quit (SIGQUIT), often with a thread dump in the log",
    "SIGPIPE": "wrote to a closed pipe or socket (SIGPIPE)",
}


# -- shared helpers ----------------------------------------------------------------

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "m": 1e-3, "u": 1e-6, "n": 1e-9, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_quantity(value) -> float | None:
    """A Kubernetes quantity ("512Mi", "1.5", "250m", "1e3") as a number; None when unparsable."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m or m.group(2) not in _SUFFIX:
        return None
    try:
        return float(m.group(1)) * _SUFFIX[m.group(2)]
    except ValueError:
        return None


def format_bytes(value: float | None) -> str:
    if value is None:
        return "?"
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= size:
            num = value / size
            return f"{num:.1f}{unit}".replace(".0" + unit, unit)
    return f"{int(value)}"


def signal_name(num: int | None) -> str | None:
    return SIGNALS.get(num) if num else None


def exit_signal(term: dict | None) -> str | None:
    """The signal that ended a terminated container, from ``signal`` or an exit code of 128+n."""
    if not term:
        return None
    if term.get("signal"):
        return signal_name(term.get("signal"))
    code = term.get("exitCode")
    if isinstance(code, int) and 128 < code < 160:
        return signal_name(code - 128)
    return None


def explain_exit(code: int | None, term: dict | None = None) -> str:
    """Plain words for a container exit code."""
    sig = exit_signal(term if term is not None else {"exitCode": code})
    if code is None:
        return "it exited (no exit code recorded)"
    if code == 0:
        return "exit code 0: it finished successfully"
    if code == 1:
        return "exit code 1: the application reported a general error"
    if code == 2:
        return "exit code 2: the application (or its shell) rejected its arguments or configuration"
    if code == 126:
        return "exit code 126: the command exists but could not be executed (not executable, or permission denied)"
    if code == 127:
        return "exit code 127: a shell could not find the command"
    if code == 128:
        return "exit code 128: the runtime could not start the process, or it exited with an invalid code"
    if sig:
        meaning = _SIGNAL_MEANING.get(sig, f"killed by signal {sig}")
        return f"exit code {code} = 128 + {code - 128} ({sig}): {meaning}"
    if code == 255:
        return "exit code 255: a fatal error, or exit(-1) from the application"
    if code < 0:
        return f"exit code {code}: the runtime failed to run the process"
    return f"exit code {code}: an application-defined error"


def restart_policy(ctx: PodContext, spec: dict, is_init: bool) -> str:
    """The effective restart policy of one container (native sidecars restart Always)."""
    pod_policy = dig(ctx.pod, "spec.restartPolicy") or "Always"
    if is_init:
        if spec.get("restartPolicy") == "Always":
            return "Always"
        return "Never" if pod_policy == "Never" else "OnFailure"
    return pod_policy


def is_sidecar(spec: dict, is_init: bool) -> bool:
    return is_init and spec.get("restartPolicy") == "Always"


def kind_label(spec: dict, is_init: bool) -> str:
    if is_sidecar(spec, is_init):
        return "sidecar container"
    return "init container" if is_init else "container"


def last_termination(status: dict | None) -> tuple[dict | None, bool]:
    """(terminated state, is_current): the current termination, else the previous one."""
    cur = terminated(status)
    if cur:
        return cur, True
    return terminated(status, last=True), False


def seconds_since(ctx: PodContext, when: _dt.datetime | None) -> float | None:
    return (ctx.now - when).total_seconds() if when else None


def restart_phase(ctx: PodContext, status: dict | None) -> str:
    """How current a container's last failure is: "current", "flapping" or "recovered"."""
    if not status:
        return "current"
    if dig(status, "state.waiting") or dig(status, "state.terminated"):
        return "current"
    started = parse_time(dig(status, "state.running.startedAt"))
    running_for = seconds_since(ctx, started)
    ready = status.get("ready") is not False
    if running_for is not None and running_for >= RECOVERED_AFTER and ready:
        return "recovered"
    if (status.get("restartCount") or 0) >= FLAPPING_RESTARTS and (running_for is None or running_for < RECOVERED_AFTER):
        return "current"
    return "flapping"


def severity_for(phase: str) -> str:
    return {"current": "error", "flapping": "warning"}.get(phase, "info")


def instance_window(status: dict | None) -> _dt.datetime | None:
    """Start of the container instance whose failure is being explained (previous one when restarting)."""
    last = terminated(status, last=True)
    if last and parse_time(last.get("startedAt")):
        return parse_time(last.get("startedAt"))
    return parse_time(dig(status or {}, "state.running.startedAt")) or parse_time(
        dig(status or {}, "state.terminated.startedAt"))


def current_start(status: dict | None) -> _dt.datetime | None:
    return parse_time(dig(status or {}, "state.running.startedAt")) or parse_time(
        dig(status or {}, "state.terminated.startedAt"))


def recent_events(ctx: PodContext, container: str | None, reasons: set[str] | None,
                  since: _dt.datetime | None, slack: float = 2.0) -> list[dict]:
    """Events for ``container`` last seen at or after ``since`` (minus a little clock slack)."""
    evs = events_about(ctx, container, reasons)
    if since is None:
        return evs
    limit = since - _dt.timedelta(seconds=slack)
    return [ev for ev in evs if (event_time(ev) or limit) >= limit]


def pod_terminal_reason(ctx: PodContext) -> str | None:
    """A pod-level reason (eviction, deadline, preemption...) that explains stopped containers."""
    reason = dig(ctx.pod, "status.reason") or ""
    if reason in POD_TERMINAL_REASONS or reason.startswith("OutOf"):
        return reason
    for cond in dig(ctx.pod, "status.conditions", []) or []:
        if cond.get("type") == "DisruptionTarget" and cond.get("status") == "True":
            return cond.get("reason") or "DisruptionTarget"
    return None


def killed_by_deletion(ctx: PodContext, term: dict | None) -> bool:
    """Whether a termination happened because the pod is being deleted."""
    deleted = parse_time(dig(ctx.pod, "metadata.deletionTimestamp"))
    if not deleted or not term:
        return False
    grace = dig(ctx.pod, "metadata.deletionGracePeriodSeconds")
    requested = deleted - _dt.timedelta(seconds=grace if isinstance(grace, int) else 30)
    finished = parse_time(term.get("finishedAt"))
    return finished is None or finished >= requested - _dt.timedelta(seconds=2)


def container_resources(spec: dict) -> tuple[float | None, float | None]:
    """(memory limit, memory request) in bytes."""
    res = spec.get("resources") or {}
    limit = parse_quantity(dig(res, "limits.memory"))
    request = parse_quantity(dig(res, "requests.memory"))
    if request is None and limit is not None:
        request = limit  # the API server defaults the request to the limit
    return limit, request


def metrics_usage(ctx: PodContext, container: str) -> dict | None:
    pm = ctx.snapshot.metrics.get((ctx.namespace, ctx.name))
    for c in (pm or {}).get("containers") or []:
        if c.get("name") == container:
            return c.get("usage") or {}
    return None


_LOG_INTERESTING = re.compile(
    r"(panic:|fatal error:|\bfatal\b|\bFATAL\b|Traceback \(most recent call last\)|Exception\b|Error:|\bERROR\b|"
    r"\bCRITICAL\b|Caused by:|exec format error|segmentation fault|SIGSEGV|core dumped|OutOfMemoryError|"
    r"out of memory|Killed\b|no such file or directory|permission denied|not found|command not found|"
    r"cannot |could not |unable to |failed to |refused|\bexit(?:ed|ing)? (?:with|status|code))",
    re.IGNORECASE)


def quote_log(text: str | None, limit: int = LOG_QUOTE_LINES) -> list[str]:
    """The log lines that matter: errors, panics, exceptions, plus the very last lines."""
    if not text:
        return []
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    picked: list[int] = [i for i, ln in enumerate(lines) if _LOG_INTERESTING.search(ln)]
    tail = list(range(max(0, len(lines) - 3), len(lines)))
    chosen = sorted(set(picked[-(limit - len(tail)):] if len(picked) > limit - len(tail) else picked) | set(tail))
    out = []
    for i in chosen[-limit:]:
        ln = lines[i]
        out.append(ln if len(ln) <= 300 else ln[:297] + "...")
    return out


def log_evidence(ctx: PodContext, name: str) -> tuple[list[str], str | None]:
    """(evidence lines quoting the previous log, note when the log is unavailable)."""
    text = ctx.previous_log(name)
    if text is None:
        if "logs" in ctx.missing:
            return [], "the previous container's log is not in the data: logs were not gathered"
        return [], None
    quoted = quote_log(text)
    if not quoted:
        return ["previous log: (empty)"], None
    return [f"log: {ln}" for ln in quoted], None


def probe_kill_events(ctx: PodContext, name: str, kind: str) -> list[dict]:
    """Killing events saying the kubelet killed ``name`` for a failed liveness/startup probe."""
    out = []
    for ev in ctx.events:
        if ev.get("reason") not in ("Killing", "Unhealthy", "StoppingContainer"):
            continue
        msg = ev.get("message") or ""
        if f"failed {kind} probe" not in msg and not (kind == "liveness" and "is unhealthy, it will be killed" in msg):
            continue
        path = dig(ev, "involvedObject.fieldPath", "") or ""
        if path and not path.endswith(f"{{{name}}}"):
            continue
        if not path and f"Container {name} " not in msg and f'"{name}"' not in msg:
            continue
        out.append(ev)
    return out


def state_line(status: dict | None) -> list[str]:
    """Evidence lines for a container's state and last state, like kubectl describe."""
    out = []
    if not status:
        return out
    w = dig(status, "state.waiting")
    if w:
        out.append(f"state: Waiting ({w.get('reason') or '?'})" + (f": {w.get('message')}" if w.get("message") else ""))
    r = dig(status, "state.running")
    if r:
        out.append(f"state: Running since {r.get('startedAt') or '?'}")
    for label, term in (("state", dig(status, "state.terminated")), ("last state", dig(status, "lastState.terminated"))):
        if term:
            line = f"{label}: Terminated ({term.get('reason') or '?'}, exit code {term.get('exitCode')})"
            if term.get("startedAt") or term.get("finishedAt"):
                line += f", ran {term.get('startedAt') or '?'} to {term.get('finishedAt') or '?'}"
            if term.get("message"):
                msg = str(term.get("message")).strip()
                line += ": " + (msg if len(msg) <= 400 else msg[:397] + "...")
            out.append(line)
    if status.get("restartCount"):
        out.append(f"restart count: {status.get('restartCount')}")
    return out


def _ran_for(term: dict | None) -> float | None:
    if not term:
        return None
    a, b = parse_time(term.get("startedAt")), parse_time(term.get("finishedAt"))
    return (b - a).total_seconds() if a and b else None


# -- message classifiers --------------------------------------------------------------

_EXEC_FORMAT = re.compile(r"exec format error", re.IGNORECASE)
_NOT_FOUND_PATTERNS = [
    # runc (containerd/CRI-O/docker), new and old wordings
    re.compile(r'exec: \\*"(?P<cmd>[^"\\]+)\\*": executable file not found in \$PATH'),
    re.compile(r'exec: \\*"(?P<cmd>[^"\\]+)\\*": stat [^:]+: no such file or directory'),
    re.compile(r'exec: \\*"(?P<cmd>[^"\\]+)\\*": no such file or directory'),
    # crun
    re.compile(r"executable file `(?P<cmd>[^`]+)` not found"),
    re.compile(r"(?:crun: )?(?P<cmd>/[^\s:]+): No such file or directory: OCI runtime attempted to invoke a command"),
    re.compile(r"OCI runtime attempted to invoke a command that was not found"),
    # runc >= 1.1 reporting from inside the container (log line), Go and C runtimes
    re.compile(r"^exec (?P<cmd>\S+): no such file or directory", re.MULTILINE),
    # runc < 1.1 (standard_init_linux.go): the entrypoint, or the interpreter its "#!" line names, is missing
    re.compile(r'exec user process caused:? \\*"?no such file or directory'),
    re.compile(r"executable file not found in \$PATH"),
]
_SHELL_NOT_FOUND = re.compile(
    r"(?:^|\s)(?:/bin/)?(?:ba|da|z|a)?sh: (?:line \d+: |\d+: )?(?P<cmd>[^\s:]+): (?:command )?not found", re.MULTILINE)
_PERMISSION = re.compile(r"permission denied", re.IGNORECASE)
# runc ("unable to start container process", before 1.1 "starting container process caused") and crun
# ("exec the container process"): the OCI runtime failed at exec, which CRI-O reports at CreateContainer.
_PROCESS_START = re.compile(r"unable to start container process|starting container process caused|"
                            r"exec the container process", re.IGNORECASE)
_START_REASONS = {"StartError", "ContainerCannotRun", "RunContainerError", "PostStartHookError",
                  "PreStartHookError", "PreStartContainer", "ContainerStatusUnknown"}


def find_command_not_found(*texts: str | None) -> str | None:
    """The missing command named in a runtime error or log, or "" when missing but unnamed."""
    for text in texts:
        if not text:
            continue
        for pat in _NOT_FOUND_PATTERNS:
            m = pat.search(text)
            if m:
                return (m.groupdict().get("cmd") or "").strip() if m.groupdict() else ""
        m = _SHELL_NOT_FOUND.search(text)
        if m:
            return m.group("cmd")
    return None


def _start_failure_kind(msg: str) -> str:
    low = msg.lower()
    if "permission denied" in low:
        return "permission denied"
    if "hook" in low or "poststart" in low or "prestart" in low:
        return "lifecycle hook failed"
    if "no space left on device" in low:
        return "a filesystem on the node is full (no space left on device)"
    if "error mounting" in low or "mount" in low and ("not a directory" in low or "no such file" in low):
        return "a volume or file could not be mounted into the container"
    if "cgroup" in low:
        return "the runtime could not set up the container's cgroup"
    if "seccomp" in low or "apparmor" in low or "selinux" in low:
        return "a security profile (seccomp/AppArmor/SELinux) rejected the container"
    if "oci runtime" in low or "runc" in low or "crun" in low or "shim" in low:
        return "the OCI runtime reported an error"
    return "the runtime reported an error"


def _command_of(spec: dict) -> str:
    cmd = list(spec.get("command") or []) + list(spec.get("args") or [])
    if not cmd:
        return "the image's ENTRYPOINT/CMD"
    text = " ".join(str(c) for c in cmd)
    return text if len(text) <= 200 else text[:197] + "..."


# -- the rules ------------------------------------------------------------------------

def _skip_pod(ctx: PodContext) -> bool:
    return dig(ctx.pod, "status.phase") == "Succeeded" or pod_terminal_reason(ctx) is not None


def _iter(ctx: PodContext) -> Iterator[tuple[dict, dict | None, bool, str]]:
    for spec, status, is_init in ctx.containers():
        name = spec.get("name") or "?"
        yield spec, status, is_init, name


def _failed_events(ctx: PodContext, name: str, status: dict | None) -> list[dict]:
    since = instance_window(status) if terminated(status, last=True) or current_start(status) else None
    return [ev for ev in recent_events(ctx, name, {"Failed", "FailedPostStartHook", "FailedPreStopHook",
                                                   "FailedCreatePodContainer"}, since)
            if (ev.get("type") or "Warning") == "Warning"]


def exec_format_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        term, _ = last_termination(status)
        w_reason, w_msg = waiting(status)
        texts = [(term or {}).get("message"), w_msg]
        texts += [ev.get("message") for ev in _failed_events(ctx, name, status)]
        log = ctx.previous_log(name)
        hit_text = next((t for t in texts if t and _EXEC_FORMAT.search(t)), None)
        log_lines = [ln for ln in (log or "").splitlines() if _EXEC_FORMAT.search(ln)]
        if not hit_text and not log_lines:
            continue
        phase = restart_phase(ctx, status)
        node = ctx.node()
        arch = dig(node or {}, "status.nodeInfo.architecture") or dig(node or {}, "metadata.labels", {}).get(
            "kubernetes.io/arch")
        evidence = state_line(status)
        if hit_text:
            evidence.append(f"runtime: {hit_text.strip()[:400]}")
        evidence += [f"log: {ln.strip()[:300]}" for ln in log_lines[-3:]]
        expl = (f"The {kind_label(spec, is_init)} {name}'s program ({_command_of(spec)}) cannot run on this node: "
                f"\"exec format error\" means the kernel does not recognise the binary, almost always because the "
                f"image was built for another CPU architecture (for example an amd64-only image on an arm64 node, "
                f"or the reverse). A script without a \"#!\" line, or a corrupt binary, gives the same error.")
        if arch:
            expl += f" The node {dig(ctx.pod, 'spec.nodeName')} is {arch}."
            evidence.append(f"node architecture: {arch}")
        elif dig(ctx.pod, "spec.nodeName"):
            evidence.append("node architecture: unknown (the Node object is not in the data)")
        yield Finding(
            code="container.exec-format-error", severity=severity_for(phase), container=name,
            title=f"{name}: image built for another CPU architecture",
            explanation=expl, evidence=evidence,
            suggestions=[
                f"docker manifest inspect {spec.get('image') or 'IMAGE'} (or crane manifest): check which platforms the image provides",
                "rebuild for the node's platform: docker buildx build --platform linux/amd64,linux/arm64 ...",
                "or pin the pod to matching nodes with nodeSelector kubernetes.io/arch: <arch>",
                kubectl(ctx, "get", "node", dig(ctx.pod, "spec.nodeName") or "NODE", "-L", "kubernetes.io/arch"),
            ],
            extra={"architecture": arch, "image": spec.get("image"), "init": is_init},
        )


def command_not_found_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        term, _ = last_termination(status)
        w_reason, w_msg = waiting(status)
        term_msg = (term or {}).get("message") or ""
        events = _failed_events(ctx, name, status)
        ev_msgs = [ev.get("message") or "" for ev in events]
        log = ctx.previous_log(name)
        start_context = (term or {}).get("reason") in _START_REASONS or w_reason in (
            "RunContainerError", "CreateContainerError", "StartError", "ContainerCannotRun")
        cmd = find_command_not_found(term_msg, w_msg, *ev_msgs) if (start_context or any(
            "executable file" in m or "exec:" in m or "OCI runtime" in m for m in [term_msg, w_msg, *ev_msgs])) else None
        source = "runtime"
        exit_code = (term or {}).get("exitCode")
        if cmd is None and exit_code == 127:
            cmd = find_command_not_found(log) or ""
            source = "exit 127"
        if cmd is None and log and exit_code not in (None, 0):
            found = find_command_not_found(log)
            if found is not None:
                lines = (log or "").strip().splitlines()
                # only when the missing-command line is among the last lines (it is what killed the process)
                if any(found in ln for ln in lines[-3:]):
                    cmd, source = found, "log"
        if cmd is None:
            continue
        phase = restart_phase(ctx, status)
        evidence = state_line(status)
        for ev in events[-2:]:
            evidence.append(describe_event(ev, ctx.now))
        log_lines, log_note = log_evidence(ctx, name)
        evidence += log_lines
        what = f'"{cmd}"' if cmd else "the command"
        expl = (f"The {kind_label(spec, is_init)} {name} runs {_command_of(spec)}, but {what} does not exist in the "
                f"image {spec.get('image') or ''}".rstrip() + ". ")
        if source == "exit 127":
            expl += "Exit code 127 is what a shell returns when it cannot find a command. "
        if cmd and not cmd.startswith("/") and "$PATH" in (term_msg + w_msg + " ".join(ev_msgs)):
            expl += "It is looked up in the image's $PATH, so either the binary is not installed or it lives elsewhere. "
        if "no such file or directory" in (term_msg + w_msg + (log or "")).lower() and (not cmd or cmd.startswith(("/", "."))):
            expl += ("The path does not exist in the image, or it is a script whose interpreter (the \"#!\" line) "
                     "is missing, or it has Windows (CRLF) line endings. ")
        expl += "Fix the command/args in the pod spec, or the image's ENTRYPOINT/CMD."
        if log_note:
            expl += f" ({log_note}.)"
        yield Finding(
            code="container.command-not-found", severity=severity_for(phase), container=name,
            title=f"{name}: command {what} not found in the image",
            explanation=expl, evidence=evidence,
            suggestions=[
                f"kubectl debug -it {ctx.name} --image=busybox --target={name} -n {ctx.namespace} (then ls the path)",
                f"docker run --rm --entrypoint sh {spec.get('image') or 'IMAGE'} -c 'command -v {cmd or 'CMD'}'",
                kubectl(ctx, "get", "pod", ctx.name, "-o", f"jsonpath={{.spec.{'initContainers' if is_init else 'containers'}[?(@.name==\"{name}\")].command}}"),
            ],
            extra={"command": cmd or None, "exit_code": exit_code, "source": source, "init": is_init},
        )


def start_failed_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        term, _ = last_termination(status)
        w_reason, w_msg = waiting(status)
        term_reason = (term or {}).get("reason") or ""
        msg = ""
        if w_reason in ("RunContainerError", "StartError", "ContainerCannotRun", "PostStartHookError",
                        "PreStartHookError"):
            msg = w_msg
        elif w_reason == "CreateContainerError" and _PROCESS_START.search(w_msg):
            msg = w_msg  # CRI-O runs the OCI runtime's create (and the exec lookup) at CreateContainer
        if term_reason in ("StartError", "ContainerCannotRun", "PostStartHookError"):
            msg = msg or (term or {}).get("message") or ""
        hook_events = recent_events(ctx, name, {"FailedPostStartHook"}, instance_window(status))
        if not msg and not hook_events and term_reason not in ("StartError", "ContainerCannotRun") and w_reason not in (
                "RunContainerError", "PostStartHookError"):
            continue
        if msg and w_reason == "CreateContainerError" and not _PROCESS_START.search(msg):
            continue
        if not msg and hook_events:
            msg = hook_events[-1].get("message") or ""
        if find_command_not_found(msg) is not None or _EXEC_FORMAT.search(msg or ""):
            continue  # the more specific rules explain these
        phase = restart_phase(ctx, status)
        kind = _start_failure_kind(msg or w_reason or term_reason)
        evidence = state_line(status)
        for ev in (_failed_events(ctx, name, status) + hook_events)[-2:]:
            evidence.append(describe_event(ev, ctx.now))
        expl = (f"The runtime created the {kind_label(spec, is_init)} {name} but could not start its process: {kind}.")
        sug = [kubectl(ctx, "describe", "pod", ctx.name)]
        if kind == "permission denied":
            expl += (" The entrypoint exists but is not executable for the user the container runs as "
                     "(missing +x bit, a noexec mount, or runAsUser without access).")
            sug.insert(0, "make the entrypoint executable in the image (chmod +x) or check securityContext.runAsUser")
        elif kind == "lifecycle hook failed":
            expl += " A failing postStart hook makes the kubelet kill the container, which then restarts."
            sug.insert(0, "fix or remove lifecycle.postStart; run the hook command by hand with kubectl exec")
        else:
            sug.append(f"check the container runtime on node {dig(ctx.pod, 'spec.nodeName') or 'NODE'}: "
                       "journalctl -u containerd (or crio / docker)")
        yield Finding(
            code="container.start-failed", severity=severity_for(phase), container=name,
            title=f"{name}: the runtime could not start the process ({kind})",
            explanation=expl, evidence=evidence, suggestions=sug,
            extra={"reason": w_reason or term_reason or "FailedPostStartHook", "kind": kind,
                   "exit_code": (term or {}).get("exitCode"), "init": is_init},
        )


def create_failed_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        w_reason, w_msg = waiting(status)
        if w_reason not in ("CreateContainerError", "CreateContainerSandboxError", "PreCreateHookError"):
            continue
        events = _failed_events(ctx, name, status)
        msg = w_msg or (events[-1].get("message") if events else "") or ""
        if find_command_not_found(msg) is not None or _EXEC_FORMAT.search(msg) or _PROCESS_START.search(msg):
            continue  # command-not-found, exec-format-error or start-failed explain these
        low = msg.lower()
        if ("failed to reserve container name" in low or "is reserved for" in low or "name is reserved" in low
                or "is already in use by container" in low):
            kind = "a previous create request is still in progress (container name reserved)"
            hint = ("The runtime is still busy with an earlier attempt that timed out (often slow image unpacking "
                    "or disk I/O on the node); it usually clears, otherwise restart the runtime on the node.")
        elif "no space left on device" in low:
            kind = "a filesystem on the node is full"
            hint = ("The node's disk (or a tmpfs such as /run) has no space left: free space on the node "
                    "(crictl rmi --prune, old logs) or move the pod elsewhere.")
        elif "context deadline exceeded" in low:
            kind = "the runtime timed out creating the container"
            hint = "The node's runtime or disk is overloaded; check the node (disk I/O, runtime logs)."
        elif "no command specified" in low:
            kind = "the image has no command"
            hint = "The image has no ENTRYPOINT/CMD and the pod sets no command: set command in the pod spec."
        elif "subpath" in low:
            kind = "a subPath could not be prepared"
            hint = "A volumeMount's subPath (or subPathExpr) points to something that cannot be mounted."
        elif "mkdir" in low or "mount" in low or "not a directory" in low:
            kind = "a mount could not be set up"
            hint = "A volumeMount conflicts with the image's filesystem (file vs directory) or the host path."
        elif "device" in low:
            kind = "a device could not be set up"
            hint = "A device plugin resource or device mapping failed on the node."
        else:
            kind = "the runtime rejected the container"
            hint = "Read the runtime's message below; the node's runtime log has more detail."
        evidence = state_line(status) + [describe_event(ev, ctx.now) for ev in events[-2:]]
        yield Finding(
            code="container.create-failed", severity="error", container=name,
            title=f"{name}: {w_reason} ({kind})",
            explanation=f"The runtime could not create the {kind_label(spec, is_init)} {name}: {kind}. {hint}",
            evidence=evidence,
            suggestions=[kubectl(ctx, "describe", "pod", ctx.name),
                         f"on node {dig(ctx.pod, 'spec.nodeName') or 'NODE'}: journalctl -u containerd (or crio)"],
            extra={"reason": w_reason, "kind": kind, "message": msg, "init": is_init},
        )


# CreateContainerConfigError messages (kubelet kuberuntime / kubelet_pods.go), old and new.
_CFG_PATTERNS = [
    (re.compile(r'configmaps? "(?P<name>[^"]+)" not found'), "ConfigMap", None),
    (re.compile(r'secrets? "(?P<name>[^"]+)" not found'), "Secret", None),
    (re.compile(r"couldn't find key (?P<key>\S+) in ConfigMap (?:(?P<ns>[^/\s]+)/)?(?P<name>\S+)", re.I), "ConfigMap", "key"),
    (re.compile(r"couldn't find key (?P<key>\S+) in Secret (?:(?P<ns>[^/\s]+)/)?(?P<name>\S+)", re.I), "Secret", "key"),
    (re.compile(r"couldn't get configMap (?:(?P<ns>[^/\s]+)/)?(?P<name>[^:\s]+)"), "ConfigMap", None),
    (re.compile(r"couldn't get secret (?:(?P<ns>[^/\s]+)/)?(?P<name>[^:\s]+)"), "Secret", None),
]


def _references(spec: dict) -> list[dict]:
    """Every ConfigMap/Secret reference in a container's env and envFrom."""
    refs = []
    for env in spec.get("env") or []:
        vf = env.get("valueFrom") or {}
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = vf.get(key)
            if isinstance(ref, dict) and ref.get("name"):
                refs.append({"kind": kind, "name": ref["name"], "key": ref.get("key"),
                             "optional": bool(ref.get("optional")), "via": f"env {env.get('name')}"})
    for ef in spec.get("envFrom") or []:
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = ef.get(key)
            if isinstance(ref, dict) and ref.get("name"):
                refs.append({"kind": kind, "name": ref["name"], "key": None,
                             "optional": bool(ref.get("optional")), "via": "envFrom"})
    return refs


def config_error_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        w_reason, w_msg = waiting(status)
        events = [ev for ev in _failed_events(ctx, name, status)
                  if any(p.search(ev.get("message") or "") for p, _, _ in _CFG_PATTERNS)]
        # Old kubelets put the message itself in the waiting reason ("Couldn't find key x in Secret ns/s").
        legacy = w_reason if any(p.search(w_reason) for p, _, _ in _CFG_PATTERNS) else ""
        if w_reason != "CreateContainerConfigError" and not legacy:
            continue
        msg = w_msg or legacy or (events[-1].get("message") if events else "") or ""
        refs = _references(spec)
        missing: list[dict] = []
        for pat, kind, what in _CFG_PATTERNS:
            m = pat.search(msg)
            if m:
                missing.append({"kind": kind, "name": m.group("name"), "key": m.groupdict().get("key")})
                break
        # Check every non-optional reference against the objects in the data.
        for ref in refs:
            if ref["optional"] or not ctx.knows(ref["kind"]):
                continue
            obj = ctx.related(ref["kind"], ref["name"])
            if obj is None:
                item = {"kind": ref["kind"], "name": ref["name"], "key": None}
            elif ref["key"] and ref["key"] not in (obj.get("data") or {}) and ref["key"] not in (obj.get("binaryData") or {}):
                item = {"kind": ref["kind"], "name": ref["name"], "key": ref["key"]}
            else:
                continue
            if not any(x["kind"] == item["kind"] and x["name"] == item["name"] and x.get("key") == item["key"]
                       for x in missing):
                missing.append(item)
        # Drop items only referenced optionally (the kubelet tolerates those).
        kept = []
        for item in missing:
            users = [r for r in refs if r["kind"] == item["kind"] and r["name"] == item["name"]
                     and (item.get("key") is None or r["key"] in (None, item["key"]))]
            if users and all(r["optional"] for r in users):
                continue
            item["referenced_by"] = [r["via"] for r in users] or ["(not in this container's env: another field)"]
            kept.append(item)
        evidence = state_line(status) + [describe_event(ev, ctx.now) for ev in events[-2:]]
        if not kept and not msg:
            continue
        if kept:
            first = kept[0]
            what = (f'key "{first["key"]}" in {first["kind"]} {first["name"]}' if first.get("key")
                    else f'{first["kind"]} "{first["name"]}"')
            who = ", ".join(first["referenced_by"])
            expl = (f"The kubelet cannot build the environment of {kind_label(spec, is_init)} {name}: the {what} "
                    f"does not exist in namespace {ctx.namespace} (referenced by {who}). The container is not "
                    f"created until it exists; create it, fix the name, or mark the reference optional: true.")
            if len(kept) > 1:
                expl += " Also missing: " + "; ".join(
                    (f'key "{k["key"]}" in {k["kind"]} {k["name"]}' if k.get("key") else f'{k["kind"]} {k["name"]}')
                    for k in kept[1:]) + "."
            title = f"{name}: {what} not found"
        else:
            first = None
            expl = (f"The kubelet could not prepare the configuration of {kind_label(spec, is_init)} {name}: {msg}.")
            low = msg.lower()
            if "runasnonroot" in low:
                expl += (" The pod requires runAsNonRoot but the image runs as root (or as a non-numeric user): "
                         "set securityContext.runAsUser to a non-zero UID or use a non-root image.")
            elif "failed to sync" in low or "timed out waiting for the condition" in low:
                expl += " The kubelet could not read the object from the API server in time (often RBAC or API load)."
            title = f"{name}: CreateContainerConfigError"
        sugs = []
        if first:
            verb = "configmap" if first["kind"] == "ConfigMap" else "secret"
            sugs.append(kubectl(ctx, "get", verb, first["name"]))
            if first.get("key"):
                sugs.append(kubectl(ctx, "get", verb, first["name"], "-o", "jsonpath={.data}"))
            else:
                # the keys the container reads from it, so the created object satisfies them
                keys = sorted({r["key"] for r in refs if r["kind"] == first["kind"] and r["name"] == first["name"]
                               and r["key"] and not r["optional"]})
                literals = " ".join(shlex.quote(f"--from-literal={k}=VALUE") for k in keys) or "--from-literal=KEY=VALUE"
                sugs.append(f"kubectl create {verb}{' generic' if verb == 'secret' else ''} {first['name']} "
                            f"{literals} -n {ctx.namespace}")
        sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
        yield Finding(
            code="container.config-error", severity="error", container=name, title=title,
            explanation=expl, evidence=evidence, suggestions=sugs,
            extra={"missing": kept, "message": msg, "init": is_init},
        )


def oom_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        term, current = last_termination(status)
        if not term or term.get("reason") != "OOMKilled":
            continue
        if killed_by_deletion(ctx, term):
            continue
        phase = restart_phase(ctx, status)
        limit, request = container_resources(spec)
        usage = metrics_usage(ctx, name)
        used = parse_quantity((usage or {}).get("memory"))
        evidence = state_line(status)
        evidence.append(f"memory limit: {format_bytes(limit) if limit else 'none'}; "
                        f"request: {format_bytes(request) if request else 'none'}")
        if usage is not None:
            evidence.append(f"current usage (metrics.k8s.io): {format_bytes(used)}")
        elif not ctx.snapshot.metrics and "metrics" in ctx.missing:
            evidence.append("current usage: unknown (metrics.k8s.io not available)")
        ran = _ran_for(term)
        if limit:
            expl = (f"The kernel killed {kind_label(spec, is_init)} {name} because its memory use reached its limit of "
                    f"{format_bytes(limit)} (OOMKilled, exit code {term.get('exitCode', 137)})")
            expl += f" after running {age(ran)}." if ran is not None else "."
            expl += (" Either the limit is too low for this workload (raise it, and the request with it), or the "
                     "application leaks or caches memory without bound (for JVMs, set -XX:MaxRAMPercentage; "
                     "for Node.js, --max-old-space-size below the limit).")
        else:
            expl = (f"{kind_label(spec, is_init).capitalize()} {name} was OOM-killed although it has no memory limit: "
                    f"the node itself ran out of memory and the kernel picked it. Set a memory request that "
                    f"reflects its real use so the scheduler places it on a node with room, and a limit.")
        if current and phase == "current":
            expl += " It is not running now."
        elif phase == "recovered":
            expl += " It has been running again for a while; this is an earlier restart."
        # NB: with no limit, no request and no usage, fix memory has nothing to base a value on (it refuses)
        fix = Fix(id="memory", description=f"raise the memory limit and request of container {name}",
                  command=f"kubectl podfix fix memory {ctx.name} -n {ctx.namespace}") \
            if limit or request or used else None
        yield Finding(
            code="container.oom-killed", severity=severity_for(phase), container=name,
            title=f"{name}: killed for using too much memory (OOMKilled)" + (
                f", limit {format_bytes(limit)}" if limit else ", no limit set"),
            explanation=expl, evidence=evidence,
            suggestions=[kubectl(ctx, "top", "pod", ctx.name, "--containers"),
                         f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}",
                         f"kubectl describe node {dig(ctx.pod, 'spec.nodeName') or 'NODE'}"],
            fix=fix, since=term.get("finishedAt"),
            extra={"exit_code": term.get("exitCode"), "signal": "SIGKILL", "limit": format_bytes(limit) if limit else None,
                   "request": format_bytes(request) if request else None, "limit_bytes": limit,
                   "request_bytes": request, "usage": format_bytes(used) if used is not None else None,
                   "restart_count": (status or {}).get("restartCount", 0), "init": is_init},
        )


def crash_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        if not status:
            continue
        term, current = last_termination(status)
        w_reason, _ = waiting(status)
        if not term and w_reason == "CrashLoopBackOff":
            term = {}  # the runtime lost the last termination (node restart): still a crash loop
        if term is None or term.get("reason") == "OOMKilled":
            continue
        code = term.get("exitCode")
        policy = restart_policy(ctx, spec, is_init)
        restarts = status.get("restartCount") or 0
        if code == 0 or (code is None and term.get("reason") == "Completed"):
            continue  # completed_rule
        if killed_by_deletion(ctx, term):
            continue
        if not current and restarts == 0 and w_reason != "CrashLoopBackOff":
            continue
        if term.get("reason") in ("StartError", "ContainerCannotRun") and w_reason != "CrashLoopBackOff":
            continue  # start_failed_rule
        if term.get("reason") == "ContainerStatusUnknown":
            continue  # the node lost track of it: pod-level rules explain
        phase = restart_phase(ctx, status)
        sig = exit_signal(term)
        evidence = state_line(status)
        backoff = recent_events(ctx, name, {"BackOff"}, instance_window(status))
        if backoff:
            evidence.append(describe_event(backoff[-1], ctx.now))
        log_lines, log_note = log_evidence(ctx, name)
        evidence += log_lines
        label = kind_label(spec, is_init)
        ran = _ran_for(term)
        expl = (f"The {label} {name} ({_command_of(spec)}) exited with {explain_exit(code, term)}" if term else
                f"The {label} {name} ({_command_of(spec)}) keeps exiting; its last exit code was not recorded")
        expl += f" after running {age(ran)}." if ran is not None else "."
        if w_reason == "CrashLoopBackOff":
            expl += f" It has restarted {restarts} times and the kubelet now waits longer between attempts (CrashLoopBackOff)."
        elif current and policy == "Never":
            expl += " The restart policy is Never, so the pod failed."
        elif current and policy == "OnFailure" and is_init:
            expl += " The pod's other containers do not start until this init container succeeds."
        elif phase == "recovered":
            expl += f" It has been running again for a while (restart count {restarts}); this is an old restart."
        elif phase == "flapping":
            expl += f" It is running again (restart count {restarts})."
        has_liveness = bool(spec.get("livenessProbe") or spec.get("startupProbe"))
        if sig == "SIGKILL":
            expl += (" Nothing recorded an out-of-memory kill, so something else sent SIGKILL: a liveness or startup "
                     "probe kill that outlived the grace period, the node running out of memory (check the node's "
                     "kernel log), or a process supervisor.")
        elif sig == "SIGTERM":
            expl += (" SIGTERM means it was asked to stop: by the kubelet (pod deletion, a probe kill), or by "
                     "itself/its supervisor.")
        if sig in ("SIGKILL", "SIGTERM") and has_liveness and "events" in ctx.missing:
            expl += " Events are not in the data, so a probe kill cannot be confirmed or ruled out."
        if log_note:
            expl += f" ({log_note}.)"
        elif not log_lines and ctx.previous_log(name) is None:
            expl += " Read its previous log to see why it stopped."
        yield Finding(
            code="container.crash-loop", severity=severity_for(phase), container=name,
            title=f"{name}: {'crash-looping' if w_reason == 'CrashLoopBackOff' else 'exited'}"
                  + (f" with exit code {code}" if code is not None else "") + (f" ({sig})" if sig else ""),
            explanation=expl, evidence=evidence,
            suggestions=[f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}",
                         kubectl(ctx, "describe", "pod", ctx.name),
                         kubectl(ctx, "get", "events", "--field-selector", f"involvedObject.name={ctx.name}")],
            since=term.get("finishedAt"),
            extra={"exit_code": code, "signal": sig, "meaning": explain_exit(code, term), "restart_count": restarts,
                   "restart_policy": policy, "init": is_init, "sidecar": is_sidecar(spec, is_init),
                   "log_lines": [ln[5:] for ln in log_lines if ln.startswith("log: ")]},
        )


def completed_rule(ctx: PodContext) -> Iterable[Finding]:
    if _skip_pod(ctx):
        return
    for spec, status, is_init, name in _iter(ctx):
        if not status:
            continue
        if restart_policy(ctx, spec, is_init) != "Always":
            continue
        last = terminated(status, last=True)
        cur = terminated(status)
        term = cur or last
        if not term or term.get("exitCode") != 0 or term.get("reason") == "OOMKilled":
            continue
        if killed_by_deletion(ctx, term):
            continue
        restarts = status.get("restartCount") or 0
        if restarts == 0:
            continue
        phase = restart_phase(ctx, status)
        ran = _ran_for(term)
        evidence = state_line(status)
        log_lines, log_note = log_evidence(ctx, name)
        evidence += log_lines
        label = kind_label(spec, is_init)
        owner = (ctx.owner or {}).get("kind") or "the pod"
        expl = (f"The {label} {name} ({_command_of(spec)}) exits successfully (exit code 0)"
                + (f" after {age(ran)}" if ran is not None else "")
                + f", and because its restart policy is Always the kubelet starts it again ({restarts} restarts so far). "
                  f"A long-running container must keep a process in the foreground: the command probably starts a "
                  f"daemon that forks to the background, or it is a one-off task.")
        if owner in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
            expl += f" For a task that should run once, use a Job instead of a {owner}."
        if log_note:
            expl += f" ({log_note}.)"
        yield Finding(
            code="container.completed-restarting", severity=severity_for(phase), container=name,
            title=f"{name}: exits 0 and is restarted ({restarts} restarts)",
            explanation=expl, evidence=evidence,
            suggestions=["run the server in the foreground (e.g. nginx -g 'daemon off;', no '&' or nohup)",
                         "move one-off work to a Job (or an init container)",
                         f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}"],
            since=term.get("finishedAt"),
            extra={"exit_code": 0, "restart_count": restarts, "init": is_init, "sidecar": is_sidecar(spec, is_init)},
        )


RULES = (oom_rule, exec_format_rule, command_not_found_rule, start_failed_rule, create_failed_rule,
         config_error_rule, crash_rule, completed_rule)


# -- what the gatherer should fetch ----------------------------------------------------

_LOG_WORTHY_WAITING = {"CrashLoopBackOff", "RunContainerError", "Error"}
MAX_LOG_CONTAINERS = 6


def needs_logs(pod: dict, now: _dt.datetime | None = None) -> list[str]:
    """Containers whose previous log the crash rules would quote, at most MAX_LOG_CONTAINERS.

    A container needs its log when it is crash-looping, has just terminated with
    a non-zero exit code, or (running again) its last run ended with an error
    and it is not Ready yet. OOM kills (the cause is known), succeeded pods and
    pods stopped by the node (eviction, deadline, preemption) need none. With
    ``now``, a running container whose last restart is older than
    RECOVERED_AFTER is skipped even when not Ready.
    """
    status = pod.get("status") or {}
    if status.get("phase") == "Succeeded":
        return []
    reason = status.get("reason") or ""
    if reason in POD_TERMINAL_REASONS or reason.startswith("OutOf"):
        return []
    out: list[str] = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for st in status.get(key) or []:
            if not isinstance(st, dict) or not st.get("name"):
                continue
            cur = dig(st, "state.terminated")
            last = dig(st, "lastState.terminated")
            w_reason = dig(st, "state.waiting.reason") or ""
            restarts = st.get("restartCount") or 0
            want = False
            if cur:
                want = cur.get("exitCode") not in (0, None) and cur.get("reason") != "OOMKilled"
            elif w_reason in _LOG_WORTHY_WAITING:
                want = bool(last) and last.get("reason") != "OOMKilled" or (not last and restarts > 0)
            elif dig(st, "state.running") and restarts > 0 and last:
                want = (last.get("exitCode") not in (0, None) or key == "containerStatuses") \
                    and last.get("reason") != "OOMKilled" and st.get("ready") is False
                started = parse_time(dig(st, "state.running.startedAt"))
                if want and now is not None and started and (now - started).total_seconds() >= RECOVERED_AFTER:
                    want = False
            if want and st["name"] not in out:
                out.append(st["name"])
    return out[:MAX_LOG_CONTAINERS]
