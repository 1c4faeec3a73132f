"""Shell completion: kubectl's plugin completion protocol, against the real kubectl and the loopback API server.

kubectl (>= 1.26) completes ``kubectl podfix ...`` by running ``kubectl_complete-podfix
<args so far...> <word being completed>`` and reading candidate lines plus a final
``:<directive>``. These tests run the installed helper exactly that way, and also go
through ``kubectl __complete podfix ...`` itself (what the shell scripts call).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import click
import pytest
from apiserver import FakeAPIServer
from clitools import BIN, ROOT, cli_env, have_kubectl
from objects import pod, running, waiting

from kubectl_podfix.cli import completion
from kubectl_podfix.cli.root import cli

HELPER = str(BIN / "kubectl_complete-podfix")
needs_kubectl = pytest.mark.skipif(not have_kubectl(), reason="kubectl is not installed")


def complete(*args: str, kubeconfig: str | None = None, **env: str) -> tuple[list[str], int, subprocess.CompletedProcess]:
    """Run the helper as kubectl does; return (candidate lines, directive, process)."""
    proc = subprocess.run([HELPER, *args], capture_output=True, text=True, timeout=30,
                          env=cli_env(kubeconfig, **env), cwd=ROOT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith(":"), proc.stdout
    return lines[:-1], int(lines[-1][1:]), proc


@pytest.fixture
def cluster(api, kubeconfig):
    api.add(pod("web-1", statuses=[waiting("app", "ImagePullBackOff")]),
            pod("web-2", phase="Running", statuses=[running("app")]),
            pod("db-0", namespace="shop", containers=[{"name": "db", "image": "postgres:17"},
                                                      {"name": "exporter", "image": "exporter:1"}],
                statuses=[waiting("db", "CrashLoopBackOff", restarts=3)]),
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
             "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": []}}}})
    return kubeconfig


# --------------------------------------------------------------------------- the static table vs click

def _click_flags(command: click.Command) -> dict[str, tuple]:
    out = {}
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            names = tuple(sorted(param.opts + param.secondary_opts))
            if param.is_flag or param.count:
                value = None
            elif isinstance(param.type, click.Choice):
                value = tuple(param.type.choices)
            else:
                value = "value"
            out[names] = (value, bool(param.multiple))
    out[("--help", "-h")] = (None, False)
    return out


def _table_flags(flags) -> dict[str, tuple]:
    return {tuple(sorted(f.names)): (f.value if (f.value is None or isinstance(f.value, tuple)) else "value",
                                     f.multiple) for f in flags}


def _compare(command: click.Command, entry: completion.Command, path: str) -> None:
    assert _table_flags(entry.flags) == _click_flags(command), f"flags of `{path}` differ"
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    assert len(entry.args) == len(arguments), f"arguments of `{path}` differ"
    if isinstance(command, click.Group):
        ctx = click.Context(command)  # list/get, not .commands: the root group loads commands lazily
        subs = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}
        visible = {name for name, sub in subs.items() if not sub.hidden}
        assert set(entry.commands or {}) == visible, f"subcommands of `{path}` differ"
        for name in visible:
            _compare(subs[name], entry.commands[name], f"{path} {name}".strip())
    else:
        assert entry.commands is None, path


def test_static_table_matches_the_click_commands():
    """Adding a command or flag to the CLI means adding it to kubectl_podfix/completion.py too."""
    _compare(cli, completion.ROOT_COMMAND, "")


# --------------------------------------------------------------------------- the protocol, static parts

def test_subcommands():
    lines, directive, _ = complete("ex")
    assert lines == ["explain\tExplain why a pod is not running"]
    assert directive == completion.NO_FILE_COMP
    lines, directive, _ = complete("")
    assert {ln.split("\t")[0] for ln in lines} == set(completion.COMMANDS)


def test_output_values():
    lines, directive, _ = complete("explain", "-o", "")
    assert (lines, directive) == (["text", "wide", "json", "yaml"], completion.NO_FILE_COMP)
    lines, directive, _ = complete("explain", "--output=j")
    assert (lines, directive) == (["--output=json"], completion.NO_FILE_COMP)


def test_flags_of_a_subcommand():
    lines, directive, _ = complete("explain", "--na")
    assert lines == ["--namespace\tNamespace"] and directive == completion.NO_FILE_COMP
    lines, _, _ = complete("explain", "-o", "json", "--")
    names = [ln.split("\t")[0] for ln in lines]
    assert "--output" not in names and "--filename" in names and "-n" not in names
    lines, _, _ = complete("explain", "-f", "a.yaml", "--fil")
    assert [ln.split("\t")[0] for ln in lines] == ["--filename"]  # -f may repeat


def test_fix_group():
    lines, directive, _ = complete("fix", "")
    assert [ln.split("\t")[0] for ln in lines] == ["memory", "probe", "image", "restart", "pull-secret",
                                                   "pod-security", "service-account"]
    assert directive == completion.NO_FILE_COMP
    assert complete("fix", "probe", "web-1", "--probe", "")[:2] == (["liveness", "readiness", "startup"], 4)
    assert complete("fix", "memory", "web-1", "--dry-run=s")[:2] == (["--dry-run=server"], 4)
    lines, _, _ = complete("fix", "restart", "--w")
    assert lines == ["--wait\tWait for the new pod to be Ready"]


def test_filename_completes_yaml_and_json_files():
    lines, directive, _ = complete("explain", "-f", "")
    assert lines == ["yaml", "yml", "json"]
    assert directive == completion.FILTER_FILE_EXT
    _, directive, _ = complete("explain", "--save", "")
    assert directive == 0  # plain file completion


def test_no_candidates_after_the_target():
    assert complete("explain", "web-1", "")[:2] == ([], completion.NO_FILE_COMP)
    assert complete("completion", "")[:2] == ([], completion.NO_FILE_COMP)
    assert complete("nosuchcommand", "")[:2] == ([], completion.NO_FILE_COMP)


def test_root_flags():
    lines, _, _ = complete("--v")
    assert lines == ["--version\tShow the version"]


# --------------------------------------------------------------------------- names from the cluster, via kubectl

@needs_kubectl
def test_pod_names_of_the_context_namespace(cluster):
    lines, directive, _ = complete("explain", "", kubeconfig=cluster)
    assert lines == ["web-1\tPending ImagePullBackOff", "web-2\tRunning"]
    assert directive == completion.NO_FILE_COMP
    lines, _, _ = complete("explain", "web-2", kubeconfig=cluster)
    assert lines == ["web-2\tRunning"]


@needs_kubectl
@pytest.mark.parametrize("flags", [["-n", "shop"], ["--namespace", "shop"], ["--namespace=shop"], ["-nshop"],
                                   ["-o", "json", "-n", "shop"]])
def test_pod_names_follow_the_namespace_flag(cluster, flags):
    lines, _, _ = complete("explain", *flags, "", kubeconfig=cluster)
    assert lines == ["db-0\tPending CrashLoopBackOff"]


@needs_kubectl
def test_connection_flags_before_the_command(cluster):
    """kubectl podfix -n shop explain <TAB>: the flags typed before the command count for what it lists."""
    assert complete("-n", "shop", "explain", "", kubeconfig=cluster)[0] == ["db-0\tPending CrashLoopBackOff"]
    assert complete("--namespace=shop", "fix", "memory", "", kubeconfig=cluster)[0] == [
        "db-0\tPending CrashLoopBackOff"]
    assert [ln.split("\t")[0] for ln in complete("-n", "shop", "ex")[0]] == ["explain"]
    assert complete("--na")[0] == ["--namespace\tNamespace"]


def test_help_and_version_commands():
    assert complete("help", "ex")[0] == ["explain\tExplain why a pod is not running"]
    assert complete("help", "explain", "")[0] == []
    assert complete("version", "-o", "")[0] == ["text", "json", "yaml"]


@needs_kubectl
def test_fix_and_secret_targets_and_containers(cluster):
    pods = ["web-1\tPending ImagePullBackOff", "web-2\tRunning"]
    assert complete("fix", "memory", "", kubeconfig=cluster)[0] == pods
    assert complete("secret", "regcred", "--for", "", kubeconfig=cluster)[0] == pods
    assert complete("fix", "image", "web-1", "-c", "", kubeconfig=cluster)[0] == ["app"]
    assert complete("fix", "image", "-n", "shop", "db-0", "--container=", kubeconfig=cluster)[0] == [
        "--container=db", "--container=exporter"]


@needs_kubectl
def test_namespaces(cluster):
    lines, directive, _ = complete("explain", "-n", "", kubeconfig=cluster)
    assert lines == ["default", "shop"] and directive == completion.NO_FILE_COMP
    lines, _, _ = complete("explain", "--namespace=s", kubeconfig=cluster)
    assert lines == ["--namespace=shop"]


@needs_kubectl
def test_workload_targets(cluster):
    lines, _, _ = complete("explain", "deploy/", kubeconfig=cluster)
    assert lines == ["deploy/web"]


@needs_kubectl
def test_contexts_and_explicit_kubeconfig(cluster, tmp_path):
    lines, _, _ = complete("explain", "--context", "", kubeconfig=cluster)
    assert lines == ["fake"]
    # --kubeconfig typed on the command line wins over $KUBECONFIG
    lines, _, _ = complete("explain", "--kubeconfig", cluster, "", KUBECONFIG=str(tmp_path / "missing"))
    assert lines == ["web-1\tPending ImagePullBackOff", "web-2\tRunning"]


@needs_kubectl
def test_no_pods_with_filename_or_all_namespaces(cluster):
    assert complete("explain", "-f", "x.yaml", "", kubeconfig=cluster)[:2] == ([], completion.NO_FILE_COMP)
    assert complete("explain", "-A", "", kubeconfig=cluster)[:2] == ([], completion.NO_FILE_COMP)


@needs_kubectl
def test_silent_and_fast_when_the_cluster_is_unreachable(tmp_path):
    with FakeAPIServer() as api:
        kubeconfig = api.write_kubeconfig(str(tmp_path / "kubeconfig"))
    start = time.monotonic()
    lines, directive, proc = complete("explain", "", kubeconfig=kubeconfig)  # the server is gone
    assert (lines, directive) == ([], completion.NO_FILE_COMP)
    assert time.monotonic() - start < completion.PROCESS_TIMEOUT + 1


@needs_kubectl
def test_slow_server_is_cut_off_by_the_request_timeout(api, kubeconfig):
    api.add(pod("web-1"))
    api.fail("GET", r"/pods$", None, delay=10)
    start = time.monotonic()
    lines, directive, _ = complete("explain", "", kubeconfig=kubeconfig)
    assert (lines, directive) == ([], completion.NO_FILE_COMP)
    assert time.monotonic() - start < completion.PROCESS_TIMEOUT + 1


@needs_kubectl
def test_kubectl_path_is_honoured(cluster, tmp_path):
    lines, directive, _ = complete("explain", "", kubeconfig=cluster, KUBECTL_PATH=str(tmp_path / "no-kubectl"))
    assert (lines, directive) == ([], completion.NO_FILE_COMP)


@needs_kubectl
def test_through_kubectl_itself(cluster):
    """`kubectl __complete podfix ...` is what kubectl's bash/zsh/fish scripts run on TAB."""
    for args, expected in [
        (["explain", ""], ["web-1\tPending ImagePullBackOff", "web-2\tRunning", ":4"]),
        (["ex"], ["explain\tExplain why a pod is not running", ":4"]),
        (["explain", "-o", ""], ["text", "wide", "json", "yaml", ":4"]),
        (["explain", "-n", ""], ["default", "shop", ":4"]),
    ]:
        proc = subprocess.run(["kubectl", "__complete", "podfix", *args], capture_output=True, text=True,
                              timeout=30, env=cli_env(cluster), cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == expected, args


@needs_kubectl
def test_dunder_complete_equals_the_helper(cluster):
    direct = subprocess.run([str(BIN / "kubectl-podfix"), "__complete", "explain", ""], capture_output=True,
                            text=True, timeout=30, env=cli_env(cluster), cwd=ROOT)
    assert direct.stdout == complete("explain", "", kubeconfig=cluster)[2].stdout


# --------------------------------------------------------------------------- start-up cost

def _imported(args: list[str]) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=60,
                          env=cli_env("/nonexistent"), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {ln.split("|")[-1].strip() for ln in proc.stderr.splitlines() if ln.startswith("import time:")}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["explain", "--help"], ["completion"],
                                  ["__complete", "explain", ""]])
def test_fast_paths_do_not_import_the_kubernetes_client(args):
    mods = _imported([str(BIN / "kubectl-podfix"), *args])
    assert not {m for m in mods if m.split(".")[0] in ("kubernetes", "urllib3", "requests", "yaml")}


def test_helper_imports_neither_click_nor_the_client():
    mods = _imported([HELPER, "explain", "-o", ""])
    assert "kubectl_podfix.cli.completion" in mods
    assert not {m for m in mods if m.split(".")[0] in ("click", "kubernetes", "urllib3", "requests", "yaml")}


# --------------------------------------------------------------------------- `kubectl podfix completion`

def test_instructions_when_the_helper_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "kubectl-podfix"), "completion"])
    text = completion.instructions()
    assert f'cat > "{tmp_path}/kubectl_complete-podfix"' in text
    assert 'exec kubectl-podfix __complete "$@"' in text
    assert "source <(kubectl completion bash)" in text


def test_instructions_when_the_helper_is_installed():
    proc = subprocess.run([str(BIN / "kubectl-podfix"), "completion"], capture_output=True, text=True, timeout=30,
                          env=cli_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert f"already installed: {BIN / 'kubectl_complete-podfix'}" in proc.stdout
    assert os.access(HELPER, os.X_OK)


def test_candidates_from_the_cluster_never_carry_control_characters():
    """The shell prints the descriptions (zsh, fish): a waiting reason with ESC]0;...BEL would set the
    terminal's title from the cluster's data; it is shown escaped, as everywhere else."""
    out = completion.render([("web-1", "Pending \x1b]0;pwned\x07 \x9b2J"), ("a\x1b[2Jb", "")], 4)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert out == "web-1\tPending ^[]0;pwned^G \\u009b2J\na^[[2Jb\n:4\n"
