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
from typing import Any

import click

from . import __version__
from .errors import Exit, PodfixError, UsageError
from .options import CONTEXT_SETTINGS, Progress, color_for, connect, connection_options

OUTPUTS = ("text", "wide", "json", "yaml")


def _prog_name() -> str:
    base = os.path.basename(sys.argv[0] or "")
    return "kubectl podfix" if base.startswith("kubectl-") or base.startswith("kubectl_") else "kubectl-podfix"


class LazyGroup(click.Group):
    """A group whose bigger commands live in their own modules, imported only when run.

    ``--help``, ``--version`` and completion then load only this module: the
    command list shows each lazy command's first docstring line, kept here
    (a test checks it matches the command's own).
    """

    LAZY = {
        "secret": ("kubectl_podfix.commands_secret", "secret",
                   "Create or repair an image pull secret, attach it where the pod looks, and restart the pod."),
        "fix": ("kubectl_podfix.commands_fix", "fix", "Fix a diagnosed problem on the workload that owns the pod."),
        "probe": ("kubectl_podfix.commands_probe", "probe",
                  "Test the failing image's registry from the pod's own node, with a short-lived probe pod."),
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
                rows.append((name, self.LAZY[name][2]))
            elif not self.commands[name].hidden:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="kubectl-podfix", message="%(prog)s v%(version)s")
def cli() -> None:
    """Explain why pods will not run, and optionally fix it safely.

    \b
    kubectl podfix explain POD -n NS      diagnose one pod
    kubectl podfix explain                every pod with a problem in the namespace
    kubectl podfix explain -f pod.yaml    diagnose saved objects, no cluster needed
    """


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("target", required=False, metavar="[POD | TYPE/NAME]")
@click.option("-f", "--filename", "files", multiple=True, metavar="FILE",
              help="Explain saved objects (YAML/JSON, List, multi-document; - for stdin) instead of a cluster.")
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="text", show_default=True, help="Output format.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (ignores -n).")
@click.option("-l", "--selector", metavar="SELECTOR", help="Label selector, e.g. app=web,tier in (fe,be).")
@click.option("--field-selector", metavar="SELECTOR", help="Field selector for pods, e.g. spec.nodeName=node-1.")
@click.option("--exit-code", is_flag=True, help="Exit 3 when any pod has an error-severity finding.")
@click.option("--save", metavar="FILE", help="Also save the evidence used (Secret values removed) as a bundle for explain -f.")
@click.option("--fix", is_flag=True, help="Offer the fixes the findings carry (asks before changing anything).")
@click.option("--probe", is_flag=True, help="Test an image-pull failure from the pod's node with a short-lived probe pod "
              "(asks first; see kubectl podfix probe --help).")
@click.option("-y", "--yes", "probe_yes", is_flag=True, help="With --probe: create the probe pod without asking.")
@connection_options
def explain(target: str | None, files: tuple[str, ...], output: str, all_namespaces: bool, selector: str | None,
            field_selector: str | None, exit_code: bool, save: str | None, fix: bool = False, probe: bool = False,
            probe_yes: bool = False, **opts: Any) -> None:
    """Diagnose failing pods: the root cause, its evidence, the next step.

    \b
    TARGET is a pod name, or a workload as TYPE/NAME (deploy/web, sts/db, ds/agent, job/x, rs/y).
    With no TARGET, every pod with a problem in the namespace (or with -A, the cluster).
    """
    from . import explain as job
    from . import render

    if files and fix:
        raise UsageError("--fix needs a cluster: it cannot be combined with -f")
    if files and (all_namespaces or selector or field_selector):
        raise UsageError("-f cannot be combined with -A, -l or --field-selector")
    if target and (all_namespaces or selector):
        raise UsageError("a TARGET cannot be combined with -A or -l")
    if target:
        job.parse_target(target)  # a malformed TYPE/NAME is a usage error before any connection
    if probe and (files or not target or job.parse_target(target)[0] != "Pod"):
        raise UsageError("--probe needs one POD (not -f, a workload or a scope): kubectl podfix explain POD --probe")
    if files:
        outcome = job.from_files(list(files), pod=target, namespace=opts.get("namespace"))
    else:
        cluster = connect(opts)
        progress = Progress()
        try:
            outcome = job.live(cluster, target=target, namespace=cluster.conn.namespace,
                               all_namespaces=all_namespaces, label_selector=selector,
                               field_selector=field_selector, progress=progress)
        finally:
            progress.done()
    probe_code = 0
    if probe:
        from .commands_probe import interactive
        from .probe import attach

        probe_code, more = attach(cluster, outcome.results, yes=probe_yes, interactive=interactive(), err=sys.stderr)
        outcome.warnings.extend(more)
    if save:
        from . import bundle

        bundle.write(save, outcome.snapshot, [r.ctx.pod for r in outcome.results])
    render.FORMATS[output](outcome.results, sys.stdout, color=color_for(sys.stdout), warnings=outcome.warnings,
                           owners_of_all=outcome.snapshot.owners_of_all, scope=outcome.scope)
    if fix:
        from .fix_from_explain import offer

        fixed = offer(cluster, outcome.results)
        if fixed:
            raise SystemExit(fixed)
    if probe_code:
        raise SystemExit(probe_code)
    if exit_code and any(f.severity == "error" for r in outcome.results for f in r.findings):
        raise SystemExit(Exit.FINDINGS)


@cli.command(context_settings=CONTEXT_SETTINGS)
def completion() -> None:
    """Print how to enable shell completion for kubectl podfix."""
    from .completion import instructions

    click.echo(instructions())


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("__complete", "__completeNoDesc"):
        from .completion import run as complete

        raise SystemExit(complete(args[1:]))
    debug = "--debug" in args or "-v" in args
    try:
        code = cli.main(args=args, prog_name=_prog_name(), standalone_mode=False)
    except PodfixError as exc:
        _fail(exc.message, exc.code, exc.detail if debug else None)
    except click.exceptions.Abort:
        _fail("aborted", Exit.INTERRUPTED)
    except KeyboardInterrupt:
        _fail("interrupted", Exit.INTERRUPTED)
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

