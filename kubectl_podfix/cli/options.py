"""Flags and helpers shared by every command (kept light: no Kubernetes import here)."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click

from kubectl_podfix.render.terminal import isatty, terminal_width, use_color  # noqa: F401  (one place decides)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DRY_RUN_VALUES = ("none", "client", "server")
OUTPUTS = ("text", "wide", "json", "yaml")


def connection_options(func: Callable) -> Callable:
    """kubectl's connection flags, shared by every command that talks to a cluster."""
    options = [
        click.option("-n", "--namespace", metavar="NS", help="Namespace (default: the context's namespace)."),
        click.option("--kubeconfig", metavar="FILE", help="Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."),
        click.option("--context", "context_name", metavar="NAME", help="The kubeconfig context to use."),
        click.option("--cluster", metavar="NAME", help="The kubeconfig cluster to use."),
        click.option("--user", metavar="NAME", help="The kubeconfig user to use."),
        click.option("--request-timeout", metavar="DURATION", default="0",
                     help="Time to wait for each API request, e.g. 30s or 1m (0 = no limit)."),
        click.option("-v", "--debug", is_flag=True, help="Show the requests made and full errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def target_argument(metavar: str, *, required: bool = False) -> Callable:
    """The TARGET positional argument, in kubectl's two spellings: TYPE/NAME or TYPE NAME."""
    def joined(ctx: click.Context, _param: click.Parameter, words: tuple[str, ...]) -> str | None:
        from kubectl_podfix.diagnose.model import join_target
        from kubectl_podfix.errors import UsageError

        try:
            return join_target(words)
        except UsageError as exc:
            raise click.UsageError(exc.message, ctx=ctx) from None

    return click.argument("target", nargs=-1, required=required, metavar=metavar, callback=joined)


# Boolean flags, which kubectl (pflag) also takes as --flag=true / --flag=false.
BOOLEAN_FLAGS = {"A": "all-namespaces", "y": "yes", "w": "watch", "all-namespaces": "", "yes": "", "watch": "",
                 "debug": "", "exit-code": "", "fix": "", "node-check": "", "save-logs": "", "check-registry": "",
                 "insecure-registry": "", "overwrite": "", "password-stdin": "", "recreate-bare": "", "restart": "",
                 "show-script": "", "verify": "", "no-verify": "", "wait": "", "fail-fast": ""}
NEGATABLE = {"verify", "wait", "fail-fast"}  # --no-wait and so on


def kubectl_args(args: list[str]) -> list[str]:
    """kubectl's spellings click does not know: -v=N / --v=N / -vN (any level above 0 is --debug: the
    requests made and full errors) and --flag=true|false for boolean flags."""
    import re

    out = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        verbosity = re.fullmatch(r"--?v=?([0-9]+)", arg)
        boolean = re.fullmatch(r"(-[A-Za-z]|--[a-z][a-z-]+)=(true|false|True|False|TRUE|FALSE|1|0|t|f|T|F)", arg)
        name = boolean.group(1).lstrip("-") if boolean else ""
        if verbosity:
            if int(verbosity.group(1)) > 0:
                out.append("--debug")
        elif boolean and name in BOOLEAN_FLAGS:
            flag = BOOLEAN_FLAGS[name] or name
            if boolean.group(2).lower() in ("true", "1", "t"):
                out.append(f"--{flag}")
            elif flag in NEGATABLE:
                out.append(f"--no-{flag}")
        else:
            out.append(arg)
    return out


# The connection flags' parameter names: the root group passes the ones typed before the subcommand
# (kubectl podfix -n shop explain) down as defaults of the subcommand's own.
CONNECTION_PARAMS = ("namespace", "kubeconfig", "context_name", "cluster", "user", "request_timeout", "debug")


class Group(click.Group):
    """A command group whose subcommands' usage errors point at the subcommand's own help.

    A ``kubectl_podfix.errors.UsageError`` raised while a subcommand runs gets the subcommand's path
    (``kubectl podfix fix memory``), so ``main`` can say ``see kubectl podfix fix memory --help``
    (click's own usage errors carry their context already). A group run with no arguments prints its
    help on stdout and exits 0, as kubectl does.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from kubectl_podfix.errors import UsageError

        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if exc.command_path is None and ctx.invoked_subcommand:
                exc.command_path = f"{ctx.command_path} {ctx.invoked_subcommand}"
            raise


def connect(opts: dict[str, Any]):
    """Open a Cluster from the connection flags (imports the Kubernetes client)."""
    from kubectl_podfix.cluster.api import Cluster
    from kubectl_podfix.cluster.kubeconfig import load, parse_timeout

    timeout = parse_timeout(opts.get("request_timeout"))
    conn = load(kubeconfig=opts.get("kubeconfig"), context=opts.get("context_name"), cluster=opts.get("cluster"),
                user=opts.get("user"), namespace=opts.get("namespace"))
    return Cluster(conn, timeout=timeout, debug=bool(opts.get("debug")))


class Progress:
    """A one-line progress note on stderr, only on a terminal that understands cursor movement."""

    def __init__(self) -> None:
        self.enabled = isatty(sys.stderr) and os.environ.get("TERM") != "dumb"
        self.shown = False

    def __call__(self, message: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\033[K{message}...")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()



def engine_options(func: Callable) -> Callable:
    """The fix engine's flags: --dry-run, --yes, --wait, --timeout."""
    options = [
        click.option("--dry-run", "dry_run", type=click.Choice(DRY_RUN_VALUES), default="none", show_default=True,
                     is_flag=False, flag_value="client",
                     help="client: show the plan only; server: let the API server validate it without persisting "
                     "(a bare --dry-run is client, as in kubectl)."),
        click.option("-y", "--yes", is_flag=True, help="Apply without asking."),
        click.option("--wait/--no-wait", default=None, help="Wait for the new pod to be Ready (default depends on the command)."),
        click.option("--timeout", default="2m", show_default=True, metavar="DURATION", help="How long --wait waits."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def parse_wait_timeout(value: str) -> float:
    """--timeout of the fix engine's wait (default 2m)."""
    from kubectl_podfix.cluster.kubeconfig import parse_timeout
    from kubectl_podfix.errors import UsageError

    try:
        seconds = parse_timeout(value)
    except UsageError:
        raise UsageError(f"invalid --timeout {value!r}: use a duration like 90s or 2m") from None
    return seconds if seconds is not None else 120.0
