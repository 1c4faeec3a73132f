"""``kubectl podfix node-check POD``: test the failing image's registry from the pod's node.

The work is in ``kubectl_podfix.nodecheck``. ``probe`` is the command's old name, kept as a hidden alias
(in Kubernetes, "probe" means liveness, readiness and startup probes).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from kubectl_podfix.cli.options import CONTEXT_SETTINGS, connect, connection_options
from kubectl_podfix.errors import UsageError


def parse_timeout(value: str) -> float:
    from kubectl_podfix.cluster.kubeconfig import parse_timeout as parse

    try:
        seconds = parse(value)
    except UsageError:
        raise UsageError(f"invalid --timeout {value!r}: use a duration like 90s or 2m") from None
    return seconds if seconds else 120.0


def interactive() -> bool:
    def tty(stream) -> bool:
        return bool(getattr(stream, "isatty", lambda: False)())

    return tty(sys.stdin) and tty(sys.stderr)


@click.command("node-check", context_settings=CONTEXT_SETTINGS)
@click.argument("pod", required=False, metavar="POD")
@click.option("-y", "--yes", is_flag=True, help="Create the check pod without asking.")
@click.option("--image", "image", metavar="IMAGE",
              help="Image for the check pod (default: a known image already on the node, else busybox:1.36).")
@click.option("--probe-image", "image", metavar="IMAGE", hidden=True)  # the old name of --image
@click.option("--timeout", default="2m", show_default=True, metavar="DURATION",
              help="How long to wait for the check pod to finish.")
@click.option("-o", "--output", type=click.Choice(("text", "json")), default="text", show_default=True,
              help="Output format.")
@click.option("--show-script", is_flag=True, help="Print the script the check pod runs, and exit.")
@connection_options
def node_check(pod: str | None, yes: bool, image: str | None, timeout: str, output: str, show_script: bool,
               **opts: Any) -> None:
    """Test the failing image's registry from the pod's own node, with a short-lived check pod.

    \b
    The check pod runs on the same node (nodeName, tolerations), with the node's DNS resolver, and checks
    DNS, TCP, TLS (certificate chain when the image has openssl or curl), the registry's /v2/ answer, the
    pods' HTTPS proxy and the disk. It is non-root, has no ServiceAccount token, a hard deadline, and is
    deleted afterwards (also on failure, timeout and Ctrl-C). podfix shows the pod and asks first.
    """
    from kubectl_podfix.nodecheck.run import report_text, run_check
    from kubectl_podfix.nodecheck.script import SCRIPT
    from kubectl_podfix.redact import scrub

    if show_script:
        click.echo(SCRIPT, nl=False)
        return
    if not pod:
        raise UsageError("which pod? kubectl podfix node-check POD -n NAMESPACE")
    seconds = parse_timeout(timeout)
    if image is not None:
        from kubectl_podfix.registry.reference import parse_image

        if parse_image(image) is None:
            raise UsageError(f"invalid --image {image!r}: use an image reference like busybox:1.36")
    cluster = connect(opts)
    namespace = cluster.conn.namespace
    text_out = sys.stdout if output == "text" else sys.stderr
    report = run_check(cluster, namespace, pod, check_image=image, yes=yes, interactive=interactive(),
                       timeout=seconds, out=text_out, err=sys.stderr)
    if output == "json":
        doc = {"kind": "PodfixNodeCheck", "apiVersion": "podfix.io/v1", "namespace": namespace, "pod": pod,
               "check": report.to_dict()}
        sys.stdout.write(scrub(json.dumps(doc, indent=2)) + "\n")
    else:
        sys.stdout.write("\n" + report_text(report))
    if report.outcome == "rejected":
        click.echo(f"error: {scrub(report.message)}", err=True)
    if report.code:
        raise SystemExit(int(report.code))


# The command's old name: still works, no longer listed.
probe_alias = click.Command("probe", params=node_check.params, callback=node_check.callback, hidden=True,
                            help=node_check.help, context_settings=CONTEXT_SETTINGS)
