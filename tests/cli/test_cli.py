"""The CLI shell: lazy commands, fast start, one-line errors, usage exit codes."""

import subprocess
import sys

import click
from clitools import run_podfix

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
