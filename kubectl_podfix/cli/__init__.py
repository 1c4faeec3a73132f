"""The command line: a thin click layer over the other packages.

``root`` holds the command group and ``main``, the one place where exceptions
become one-line messages and exit codes. Each command has its own module
(``explain``, ``secret``, ``fix``, ``node_check``), imported only when that
command runs; ``options`` holds the flags they share, ``completion`` answers
kubectl's shell-completion protocol without importing click, and
``fix_offer`` is ``explain --fix``.

This module stays tiny: shell completion runs on every TAB and must not pay
for click or the Kubernetes client.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``kubectl-podfix``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("__complete", "__completeNoDesc"):
        from kubectl_podfix.cli.completion import run as complete

        raise SystemExit(complete(args[1:]))
    from kubectl_podfix.render.terminal import ControlSafe

    # NB: every line podfix prints passes one filter: a control character from data (an event message
    # with ESC[2J or an OSC 8 link) is shown escaped, never sent to the terminal (docs/security.md)
    sys.stdout, sys.stderr = ControlSafe(sys.stdout), ControlSafe(sys.stderr)
    from kubectl_podfix.cli.root import main as run

    run(args)
