"""The CLI shell: lazy commands, fast start, one-line errors, usage exit codes."""

import subprocess
import sys

import click
import pytest
from clitools import run_podfix

from kubectl_podfix import __version__

from kubectl_podfix.cli.root import LazyGroup, cli


def test_lazy_command_help_matches_the_commands_own():
    for name, (_module, _attr, short) in LazyGroup.LAZY.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        if not short:  # a hidden alias
            assert command.hidden
            continue
        assert command.help.strip().splitlines()[0] == short


def test_help_and_version_load_neither_commands_nor_the_client():
    code = ("import sys; from kubectl_podfix.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "commands = ('kubectl_podfix.cli.explain', 'kubectl_podfix.cli.secret', 'kubectl_podfix.cli.fix', "
            "'kubectl_podfix.cli.node_check')\n"
            "print(sorted(m for m in sys.modules if m.startswith(('kubernetes', 'kubectl_podfix.cluster', "
            "'kubectl_podfix.diagnose')) or m in commands))")
    for flag in ("--help", "--version"):
        out = subprocess.run([sys.executable, "-c", code, flag], capture_output=True, text=True, check=True).stdout
        assert out.strip().splitlines()[-1] == "[]"


def test_help_lists_every_command():
    run = run_podfix(["--help"])
    assert run.code == 0
    for name in ("explain", "secret", "fix", "node-check", "completion"):
        assert f"  {name}" in run.out
    assert "  probe" not in run.out  # the old name of node-check: a hidden alias
    assert "Usage: kubectl podfix" in run.out  # the console script is the plugin itself


def test_usage_errors_exit_2_in_one_line():
    run = run_podfix(["explain", "-o", "xml"])
    assert run.code == 2
    assert "Invalid value for '-o'" in run.err
    run = run_podfix(["explain", "-f", "x.yaml", "-A"])
    assert run.code == 2 and run.err.startswith("error: -f cannot be combined")
    run = run_podfix(["explain", "deployment/"])
    assert run.code == 2 and "TYPE/NAME" in run.err


def test_old_probe_command_and_flag_still_work():
    run = run_podfix(["probe", "--show-script"])
    assert run.code == 0 and "REGISTRY_HOST" in run.out
    run = run_podfix(["node-check", "--show-script"])
    assert run.code == 0 and "REGISTRY_HOST" in run.out
    run = run_podfix(["explain", "-f", "examples/imagepull-notfound.yaml", "--probe"])
    assert run.code == 2 and "--node-check needs one POD" in run.err


# -- kubectl's conventions: bare commands, help and version, flags before the command ----------------

@pytest.mark.parametrize("args, usage", [([], "Usage: kubectl podfix [OPTIONS] COMMAND"),
                                         (["fix"], "Usage: kubectl podfix fix [OPTIONS] COMMAND")])
def test_bare_commands_print_their_help(args, usage):
    run = run_podfix(args)
    assert (run.code, run.err) == (0, "")
    assert run.out.startswith(usage)
    assert run.out == run_podfix([*args, "--help"]).out


def test_version_command_and_flag_agree():
    flag, command = run_podfix(["--version"]), run_podfix(["version"])
    assert flag.code == command.code == 0
    assert command.out == flag.out == f"kubectl-podfix v{__version__}\n"
    as_json = run_podfix(["version", "-o", "json"])
    assert as_json.json == {"kind": "Version", "podfixVersion": f"v{__version__}"}
    assert run_podfix(["version", "-o", "yaml"]).out == f"kind: Version\npodfixVersion: v{__version__}\n"


@pytest.mark.parametrize("args", [["explain"], ["fix", "memory"], ["fix"], []])
def test_help_command(args):
    run = run_podfix(["help", *args])
    assert run.code == 0, run.err
    assert run.out == run_podfix([*args, "--help"]).out
    assert run.out.startswith("Usage: " + " ".join(["kubectl podfix", *args]))


def test_help_of_an_unknown_command():
    run = run_podfix(["help", "fix", "nope"])
    assert run.code == 2
    assert run.err == "error: unknown command 'fix nope' (see kubectl podfix fix --help)\n"


@pytest.mark.parametrize("args, where", [
    (["explain", "-o", "xml"], "kubectl podfix explain"),                      # click's own
    (["explain", "-f", "x.yaml", "--fix"], "kubectl podfix explain"),          # podfix's, inside the command
    (["fix", "image", "web-1", "--image", "no good"], "kubectl podfix fix image"),
    (["fix", "memory", "web-1", "--memory", "lots"], "kubectl podfix fix memory"),
    (["fix", "restart", "widget/x"], "kubectl podfix fix restart"),
    (["secret", "s", "--attach", "widget/x"], "kubectl podfix secret"),
    (["nope"], "kubectl podfix"),
])
def test_usage_errors_point_at_the_commands_help(args, where):
    run = run_podfix(args)
    assert run.code == 2, run.err
    assert run.err.count("\n") == 1 and run.err.startswith("error: ")
    assert run.err.rstrip().endswith(f"(see {where} --help)"), run.err


def test_connection_flags_before_the_command(api, kubeconfig):
    from objects import pod, waiting

    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            pod("web-1", namespace="shop", statuses=[waiting("app", "CrashLoopBackOff", restarts=3)],
                phase="Running"))
    for args in (["-n", "shop", "explain", "-o", "json"], ["--namespace=shop", "explain", "-o", "json"],
                 ["explain", "-n", "shop", "-o", "json"], ["-n", "default", "explain", "-n", "shop", "-o", "json"],
                 ["--kubeconfig", kubeconfig, "-n", "shop", "explain", "-o", "json"]):
        run = run_podfix(args, kubeconfig=kubeconfig)
        assert run.code == 0, (args, run.err)
        assert [p["name"] for p in run.json["pods"]] == ["web-1"], args
    run = run_podfix(["-n", "shop", "--request-timeout", "soon", "explain"], kubeconfig=kubeconfig)
    assert run.code == 2 and "invalid --request-timeout 'soon'" in run.err
    run = run_podfix(["-n", "shop", "-v", "explain", "web-1"], kubeconfig=kubeconfig)
    assert run.code == 0 and "podfix: GET /api/v1/namespaces/shop/pods/web-1" in run.err  # -v before the command
    run = run_podfix(["--context", "nope", "fix", "memory", "web-1"], kubeconfig=kubeconfig)
    assert run.code == 2 and 'context "nope" does not exist' in run.err  # reaches the fix subcommands too


def test_empty_kubeconfig_says_it_has_no_contexts(tmp_path):
    from clitools import cli_env

    for text in ("", "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"):
        path = tmp_path / "config"
        path.write_text(text)
        for extra in ([], ["--context", "prod"]):
            run = run_podfix(["explain", "web-1", *extra], env=cli_env(str(path)))
            assert run.code == 1
            assert run.err.startswith(f"error: the kubeconfig has no contexts ({path}): add one"), run.err
            assert "--context NAME" not in run.err
