"""``kubectl podfix probe POD``: test the failing image's registry from the pod's node (see probe.py)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import UsageError
from .options import CONTEXT_SETTINGS, connect, connection_options


def parse_timeout(value: str) -> float:
    from .kubeconfig import parse_timeout as parse

    try:
        seconds = parse(value)
    except UsageError:
        raise UsageError(f"invalid --timeout {value!r}: use a duration like 90s or 2m") from None
    return seconds if seconds else 120.0


def interactive() -> bool:
    def tty(stream) -> bool:
        return bool(getattr(stream, "isatty", lambda: False)())

    return tty(sys.stdin) and tty(sys.stderr)


@click.command("probe", context_settings=CONTEXT_SETTINGS)
@click.argument("pod", required=False, metavar="POD")
@click.option("-y", "--yes", is_flag=True, help="Create the probe pod without asking.")
@click.option("--probe-image", metavar="IMAGE",
              help="Image for the probe pod (default: a known image already on the node, else busybox:1.36).")
@click.option("--timeout", default="2m", show_default=True, metavar="DURATION",
              help="How long to wait for the probe pod to finish.")
@click.option("-o", "--output", type=click.Choice(("text", "json")), default="text", show_default=True,
              help="Output format.")
@click.option("--show-script", is_flag=True, help="Print the script the probe pod runs, and exit.")
@connection_options
def probe(pod: str | None, yes: bool, probe_image: str | None, timeout: str, output: str, show_script: bool,
          **opts: Any) -> None:
    """Test the failing image's registry from the pod's own node, with a short-lived probe pod.

    \b
    The probe pod runs on the same node (nodeName, tolerations), with the node's DNS resolver, and checks
    DNS, TCP, TLS (certificate chain when the image has openssl or curl), the registry's /v2/ answer, the
    pods' HTTPS proxy and the disk. It is non-root, has no ServiceAccount token, a hard deadline, and is
    deleted afterwards (also on failure, timeout and Ctrl-C). podfix shows the pod and asks first.
    """
    from .probe import report_text, run_probe
    from .probe_script import SCRIPT

    if show_script:
        click.echo(SCRIPT, nl=False)
        return
    if not pod:
        raise UsageError("which pod? kubectl podfix probe POD -n NAMESPACE")
    seconds = parse_timeout(timeout)
    cluster = connect(opts)
    namespace = cluster.conn.namespace
    text_out = sys.stdout if output == "text" else sys.stderr
    report = run_probe(cluster, namespace, pod, probe_image=probe_image, yes=yes, interactive=interactive(),
                       timeout=seconds, out=text_out, err=sys.stderr)
    if output == "json":
        doc = {"kind": "PodfixProbe", "apiVersion": "podfix.io/v1", "namespace": namespace, "pod": pod,
               "probe": report.to_dict()}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write("\n" + report_text(report))
    if report.outcome == "rejected":
        click.echo(f"error: {report.message}", err=True)
    if report.code:
        raise SystemExit(int(report.code))
