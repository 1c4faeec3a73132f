"""``kubectl podfix wait``: a rollout gate that says why it failed, and fails as soon as it knows."""

from __future__ import annotations

import sys
from typing import Any

import click

from kubectl_podfix.cli.options import (
    CONTEXT_SETTINGS,
    connect,
    connection_options,
    target_argument,
    terminal_width,
    use_color,
)
from kubectl_podfix.errors import Exit, UsageError

WAIT_OUTPUTS = ("text", "json", "yaml")


@click.command(context_settings=CONTEXT_SETTINGS)
@target_argument("TYPE/NAME | POD", required=True)
@click.option("-o", "--output", type=click.Choice(WAIT_OUTPUTS), default="text", show_default=True,
              help="Output format of the result (progress always goes to stderr).")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="How long to wait, e.g. 90s, 5m (0 = no limit).")
@click.option("--fail-fast/--no-fail-fast", default=True, show_default=True,
              help="Stop at the first failure that will not heal by itself (--no-fail-fast: wait for --timeout).")
@connection_options
def wait(target: str, output: str, timeout: str, fail_fast: bool, **opts: Any) -> None:
    """Wait for a rollout, a Job or a pod, and say why when it fails.

    \b
    TARGET is deploy/NAME, sts/NAME, ds/NAME, job/NAME or a pod name (or kubectl's other spellings:
    deployment.apps/NAME, deployment NAME).
    Exits 0 when the rollout completes (Job: Complete; pod: Ready), 3 with the diagnosis when it fails
    for good (an image that does not exist, a missing Secret, a crash loop, pods refused by a quota...)
    or when --timeout passes first. Progress is printed on stderr in kubectl rollout status's words.
    """
    from kubectl_podfix.diagnose.model import parse_target
    from kubectl_podfix.follow.wait import KINDS, parse_timeout
    from kubectl_podfix.follow.wait import wait as follow
    from kubectl_podfix.render.wait import verdict, wait_output

    kind, name = parse_target(target)
    if kind not in KINDS:
        raise UsageError(f"invalid target {target!r}: wait follows deploy/NAME, sts/NAME, ds/NAME, job/NAME or a pod")
    limit = parse_timeout(timeout)  # (kubectl's durations: 90s, 5m, 1h2m3s; 0 = no limit)
    cluster = connect(opts)
    debug = bool(opts.get("debug"))

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def note(line: str) -> None:
        if debug:
            print(f"podfix: {line}", file=sys.stderr, flush=True)

    outcome = follow(cluster, kind, cluster.conn.namespace, name, timeout=limit, fail_fast=fail_fast,
                     progress=progress, note=note)
    wait_output(outcome, sys.stdout, output, color=use_color(sys.stdout), width=terminal_width(sys.stdout))
    sys.stdout.flush()
    line = verdict(outcome)
    if line:
        print(f"error: {line}", file=sys.stderr, flush=True)
    if outcome.result != "complete":
        raise SystemExit(Exit.FINDINGS)
