"""The command line: a thin click layer.

Each command parses flags, calls one function that returns data, renders it,
and leaves with a documented exit code. ``main`` is the one place where
exceptions become messages and exit codes; no traceback reaches the user
unless --debug asks for it. Nothing here imports the Kubernetes client at
module level, so --help and --version stay fast.
"""

from __future__ import annotations

import os
import sys

import click

from kubectl_podfix import __version__
from kubectl_podfix.cli.options import CONNECTION_PARAMS, CONTEXT_SETTINGS, Group, connection_options, kubectl_args
from kubectl_podfix.errors import Exit, PodfixError, UsageError


def _prog_name() -> str:
    base = os.path.basename(sys.argv[0] or "")
    return "kubectl podfix" if base.startswith("kubectl-") or base.startswith("kubectl_") else "kubectl-podfix"


class LazyGroup(Group):
    """A group whose commands live in their own modules, imported only when run.

    ``--help``, ``--version`` and completion then load only this module: the
    command list shows each lazy command's first docstring line, kept here
    (a test checks it matches the command's own). A command whose row has no
    help text is a hidden alias (``probe``, the old name of ``node-check``).
    """

    LAZY = {
        "explain": ("kubectl_podfix.cli.explain", "explain",
                    "Diagnose failing pods: the root cause, its evidence, the next step."),
        "secret": ("kubectl_podfix.cli.secret", "secret",
                   "Create or repair an image pull secret, attach it where the pod looks, and restart the pod."),
        "fix": ("kubectl_podfix.cli.fix", "fix", "Fix a diagnosed problem on the workload that owns the pod."),
        "node-check": ("kubectl_podfix.cli.node_check", "node_check",
                       "Test the failing image's registry from the pod's own node, with a short-lived check pod."),
        "probe": ("kubectl_podfix.cli.node_check", "probe_alias", ""),
        "wait": ("kubectl_podfix.cli.wait", "wait", "Wait for a rollout, a Job or a pod, and say why when it fails."),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY and name not in self.commands:
            import importlib

            module, attr, _ = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in self.LAZY and name not in self.commands:
                if self.LAZY[name][2]:
                    rows.append((name, self.LAZY[name][2]))
            elif not self.commands[name].hidden:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


VERSION_MESSAGE = "kubectl-podfix v%(version)s"


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="kubectl-podfix", message=VERSION_MESSAGE)
@connection_options
@click.pass_context
def cli(ctx: click.Context, **opts) -> None:
    """Explain why pods will not run, and optionally fix it safely.

    \b
    kubectl podfix explain POD -n NS      diagnose one pod
    kubectl podfix explain                every pod with a problem in the namespace
    kubectl podfix explain -f pod.yaml    diagnose saved objects, no cluster needed

    The connection flags below may come before the command too, as with kubectl
    (kubectl podfix -n shop explain); the command's own flags win.
    """
    given = {name: opts[name] for name in CONNECTION_PARAMS
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    if given and ctx.invoked_subcommand:
        sub = ctx.command.get_command(ctx, ctx.invoked_subcommand)
        if isinstance(sub, click.Group):
            ctx.default_map = {ctx.invoked_subcommand: {name: dict(given) for name in sub.list_commands(ctx)}}
        else:
            ctx.default_map = {ctx.invoked_subcommand: given}


@cli.command(context_settings=CONTEXT_SETTINGS)
def completion() -> None:
    """Print how to enable shell completion for kubectl podfix."""
    from kubectl_podfix.cli.completion import instructions

    click.echo(instructions())


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("-o", "--output", type=click.Choice(("text", "json", "yaml")), default="text", show_default=True,
              help="Output format.")
def version(output: str) -> None:
    """Print the version of kubectl podfix (the same as --version)."""
    if output == "text":
        click.echo(VERSION_MESSAGE % {"version": __version__})
        return
    doc = {"kind": "Version", "podfixVersion": f"v{__version__}"}
    if output == "json":
        import json

        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(f"kind: Version\npodfixVersion: v{__version__}")


@cli.command("help", context_settings=CONTEXT_SETTINGS)
@click.argument("command", nargs=-1, metavar="[COMMAND]...")
@click.pass_context
def help_cmd(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Print the help of kubectl podfix, or of a command (help fix memory)."""
    root = ctx.find_root()
    target, target_ctx = root.command, root
    for name in command:
        sub = target.get_command(target_ctx, name) if isinstance(target, click.Group) else None
        if sub is None:
            error = UsageError(f"unknown command {' '.join(command)!r}")
            error.command_path = target_ctx.command_path
            raise error
        target, target_ctx = sub, click.Context(sub, info_name=name, parent=target_ctx)
    click.echo(target_ctx.get_help())


class Signalled(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived: unwind like Ctrl-C (cleanups run, temporary files go)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
_caught: list[int] = []


def _on_signal(signum: int, frame: object) -> None:
    if _caught:  # a second signal while podfix winds down: leave now (a last cleanup, no waiting)
        _last_cleanup()
        os._exit(Exit.INTERRUPTED)
    _caught.append(signum)
    raise Signalled(signum)


def _last_cleanup() -> None:
    kubeconfig = sys.modules.get("kubectl_podfix.cluster.kubeconfig")
    remove = getattr(kubeconfig, "remove_private_files", None)
    if remove is not None:
        remove()


def _install_signal_handlers() -> None:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for name in _SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:  # nohup's SIG_IGN stays
            signal.signal(sig, _on_signal)


def _interrupted(exc: BaseException) -> tuple[str, int]:
    """The line and exit code for an interruption: 130 for Ctrl-C, SIGTERM and SIGHUP alike (one code
    for "interrupted"; kubectl has no handler for them and dies by the signal)."""
    import signal

    signum = exc.signum if isinstance(exc, Signalled) else signal.SIGINT
    name = signal.Signals(signum).name
    return ("interrupted" if name == "SIGINT" else f"interrupted ({name})"), Exit.INTERRUPTED


def main(args: list[str]) -> None:
    """Run the CLI and turn every failure into one line and an exit code; SIGTERM and SIGHUP end it like
    Ctrl-C (``run`` alone, for callers in-process, leaves their signal handlers as they are)."""
    _install_signal_handlers()
    raise SystemExit(run(args))


def run(args: list[str]) -> int:
    """Run the CLI with ``args``; every failure is one line on stderr. Returns the exit code."""
    try:
        _run(kubectl_args(list(args)))
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return Exit.OK
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return Exit.ERROR
    return Exit.OK


def _pin_now() -> None:
    """PODFIX_NOW=2026-11-20T10:00:00Z: make diagnoses as at that time (tests and docs only)."""
    value = os.environ.get("PODFIX_NOW")
    if not value:
        return
    from kubectl_podfix.diagnose.model import parse_time, pin_now

    when = parse_time(value)
    if when is None:
        raise UsageError(f"invalid PODFIX_NOW {value!r}: use an RFC 3339 time like 2026-11-20T10:00:00Z")
    pin_now(when)


def _run(args: list[str]) -> None:
    debug = "--debug" in args or "-v" in args
    try:
        _pin_now()
        code = cli.main(args=args, prog_name=_prog_name(), standalone_mode=False)
    except UsageError as exc:  # podfix's own: from a flag value or a check inside a command
        where = exc.command_path or _prog_name()
        _fail(f"{exc.message} (see {where} --help)", exc.code, exc.detail if debug else None)
    except PodfixError as exc:
        _fail(exc.message, exc.code, exc.detail if debug else None)
    except _NO_ARGS as exc:  # a bare group (kubectl podfix, kubectl podfix fix): its help, like kubectl
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli, info_name=_prog_name())))
        raise SystemExit(Exit.OK) from None
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            _fail(*_interrupted(cause))
        _fail("aborted", Exit.INTERRUPTED)
    except KeyboardInterrupt as exc:
        _fail(*_interrupted(exc))
    except click.UsageError as exc:  # bad option or flag value: one line, like every other error
        where = exc.ctx.command_path if exc.ctx else _prog_name()
        _fail(f"{exc.format_message()} (see {where} --help)", Exit.USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(Exit.OK) from None
    except SystemExit:
        raise
    except Exception as exc:  # a bug: still one line, the traceback only with --debug
        if debug:
            raise
        # NB: the exception's text is not printed: it may quote input values (a Secret's, too).
        _fail(f"internal error: {type(exc).__name__} at {_where(exc)} (run again with --debug and report it)",
              Exit.ERROR)
    raise SystemExit(code if isinstance(code, int) else Exit.OK)


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2; older ones print the help themselves


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame of podfix's own code where ``exc`` was raised."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "kubectl_podfix" in f.filename] or frames
    if not own:
        return "?"
    path = own[-1].filename
    short = path.split("kubectl_podfix" + os.sep, 1)[-1]
    return f"{short}:{own[-1].lineno}"


def _fail(message: str, code: int, detail: str | None = None) -> None:
    if detail:
        print(f"podfix: {detail}", file=sys.stderr)
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)

