"""``kubectl podfix explain``: diagnose pods, live or from saved files, and render the report."""

from __future__ import annotations

import sys
from typing import Any

import click

from kubectl_podfix.cli.options import (
    CONTEXT_SETTINGS,
    OUTPUTS,
    Progress,
    connect,
    connection_options,
    target_argument,
    terminal_width,
    use_color,
)
from kubectl_podfix.errors import Exit, UsageError


@click.command(context_settings=CONTEXT_SETTINGS)
@target_argument("[POD | TYPE/NAME]")
@click.option("-f", "--filename", "files", multiple=True, metavar="FILE",
              help="Explain saved objects (YAML/JSON, List, multi-document; - for stdin) instead of a cluster.")
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="text", show_default=True, help="Output format.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (ignores -n).")
@click.option("-l", "--selector", metavar="SELECTOR", help="Label selector, e.g. app=web,tier in (fe,be).")
@click.option("--field-selector", metavar="SELECTOR", help="Field selector for pods, e.g. spec.nodeName=node-1.")
@click.option("--exit-code", is_flag=True, help="Exit 3 when any pod or workload has an error-severity finding.")
@click.option("--save", metavar="FILE", help="Also save the evidence used (Secret values removed) as a bundle for explain -f.")
@click.option("--save-logs", is_flag=True,
              help="With --save: include the containers' log lines (they may hold anything the application printed).")
@click.option("--fix", is_flag=True,
              help="Offer the fixes the findings carry: on a terminal ask fix by fix; otherwise print the commands "
              "(with --yes: apply those that need no further input).")
@click.option("--node-check", "node_check", is_flag=True,
              help="Test an image-pull failure from the pod's node with a short-lived check pod "
              "(asks first; see kubectl podfix node-check --help).")
@click.option("--probe", "node_check", is_flag=True, hidden=True)  # the old name of --node-check
@click.option("-y", "--yes", "yes", is_flag=True,
              help="With --fix: apply the fixes without asking; with --node-check: create the check pod without asking.")
@click.option("-w", "--watch", is_flag=True,
              help="Keep running: print a new block each time a pod's or a workload's diagnosis changes "
              "(Ctrl-C to stop).")
@connection_options
def explain(target: str | None, files: tuple[str, ...], output: str, all_namespaces: bool, selector: str | None,
            field_selector: str | None, exit_code: bool, save: str | None, save_logs: bool = False, fix: bool = False,
            node_check: bool = False, yes: bool = False, watch: bool = False, **opts: Any) -> None:
    """Diagnose failing pods: the root cause, its evidence, the next step.

    \b
    TARGET is a pod name, or a workload as TYPE/NAME or TYPE NAME (deploy/web, deployment.apps/web,
    sts db, ds/agent, job/x, rs/y).
    With no TARGET, every pod with a problem in the namespace (or with -A, the cluster).
    """
    from kubectl_podfix.diagnose import explain as job
    from kubectl_podfix.diagnose.model import parse_target
    from kubectl_podfix.render import report as render

    if save_logs and not save:
        raise UsageError("--save-logs needs --save FILE")
    if files and fix:
        raise UsageError("--fix needs a cluster: it cannot be combined with -f")
    if files and (all_namespaces or selector or field_selector):
        raise UsageError("-f cannot be combined with -A, -l or --field-selector")
    if target and (all_namespaces or selector):
        raise UsageError("a TARGET cannot be combined with -A or -l")
    if target:
        parse_target(target)  # a malformed TYPE/NAME is a usage error before any connection
    if node_check and (files or not target or parse_target(target)[0] != "Pod"):
        raise UsageError("--node-check needs one POD (not -f, a workload or a scope): "
                         "kubectl podfix explain POD --node-check")
    if watch:
        clash = [flag for flag, on in (("-f", files), ("--fix", fix), ("--node-check", node_check), ("--save", save),
                                       ("--exit-code", exit_code)) if on]
        if clash:
            raise UsageError(f"--watch follows a live cluster: it cannot be combined with {', '.join(clash)}")
        return _watch(target, output, all_namespaces, selector, field_selector, opts)
    if files:
        from kubectl_podfix.cluster import bundle

        snap = bundle.read(list(files))
        outcome = job.from_snapshot(snap, pod=target, namespace=opts.get("namespace"), paths=list(files))
    else:
        from kubectl_podfix.cluster.gather import gather_target

        cluster = connect(opts)
        progress = Progress()
        try:
            snap, kind, name = gather_target(cluster, target=target, namespace=cluster.conn.namespace,
                                             all_namespaces=all_namespaces, label_selector=selector,
                                             field_selector=field_selector, progress=progress)
        finally:
            progress.done()
        outcome = job.from_cluster(snap, kind, name, requests=cluster.requests)
    check_code = 0
    if node_check:
        from kubectl_podfix.cli.node_check import interactive
        from kubectl_podfix.nodecheck.run import attach

        check_code, more = attach(cluster, outcome.results, yes=yes, interactive=interactive(), err=sys.stderr)
        outcome.warnings.extend(more)
    if save:
        from kubectl_podfix.cluster import bundle

        bundle.write(save, outcome.snapshot, [r.ctx.pod for r in outcome.results], logs=save_logs)
    render.FORMATS[output](outcome.results, sys.stdout, color=use_color(sys.stdout), width=terminal_width(sys.stdout),
                           warnings=outcome.warnings, owners_of_all=outcome.snapshot.owners_of_all,
                           scope=outcome.scope, all_namespaces=all_namespaces, workloads=outcome.workloads,
                           target=outcome.target)
    if fix:
        from kubectl_podfix.cli.fix_offer import offer

        fixed = offer(outcome.results, workloads=outcome.workloads, opts=opts, yes=yes, cluster=cluster,
                      out=sys.stdout if output in ("text", "wide") else sys.stderr)
        if fixed:
            raise SystemExit(fixed)
    if check_code:
        raise SystemExit(check_code)
    if exit_code and outcome.errors:
        raise SystemExit(Exit.FINDINGS)


def _watch(target: str | None, output: str, all_namespaces: bool, selector: str | None,
           field_selector: str | None, opts: dict[str, Any]) -> None:
    """explain --watch: runs until Ctrl-C, which ends it quietly with exit code 130."""
    from kubectl_podfix.follow.watching import Watching

    cluster = connect(opts)
    debug = bool(opts.get("debug"))

    def note(line: str) -> None:
        if debug:
            print(f"podfix: {line}", file=sys.stderr, flush=True)

    watching = Watching(cluster, target=target, namespace=cluster.conn.namespace, all_namespaces=all_namespaces,
                        label_selector=selector, field_selector=field_selector, note=note)
    try:
        watching.run(sys.stdout, output, color=use_color(sys.stdout), width=terminal_width(sys.stdout))
    except KeyboardInterrupt:
        raise SystemExit(Exit.INTERRUPTED) from None
    finally:
        watching.stop()
