"""``explain --fix``: offer the fixes that findings carry, through the same engine.

For ``image.auth-failed`` and ``image.pull-secret-missing`` the fix is the
pull-secret flow of ``kubectl podfix secret``: on a terminal podfix asks for
the registry user name and password (no echo) and runs it; without a terminal
it prints the exact command instead. ``fix_command`` builds that command; rules
use it for a finding's ``fix.command``.
"""

from __future__ import annotations

import shlex
import sys

from kubectl_podfix.diagnose.model import dig

PULL_SECRET_CODES = ("image.auth-failed", "image.pull-secret-missing")
DEFAULT_SECRET = "regcred"


def fix_command(pod: str, namespace: str, secret: str = DEFAULT_SECRET, server: str | None = None) -> str:
    """The exact command that applies the pull-secret fix for ``pod`` (password read from stdin)."""
    args = ["kubectl", "podfix", "secret", secret]
    if server:
        args += ["--docker-server", server]
    args += ["--docker-username", "USER", "--password-stdin", "--for", pod, "-n", namespace, "--verify",
             "--restart"]
    return " ".join(shlex.quote(a) for a in args)


def secret_name_for(pod: dict, finding) -> str:
    """The secret the pod already names (repair it), else the finding's, else "regcred"."""
    extra = getattr(finding, "extra", None) or {}
    if extra.get("secret"):
        return str(extra["secret"])
    named = [s.get("name") for s in dig(pod, "spec.imagePullSecrets", []) or [] if s.get("name")]
    return named[0] if named else DEFAULT_SECRET


def offer(cluster, results, *, interactive: bool | None = None) -> int:
    """Run (or print) the fixes of every fixable finding; returns the worst exit code."""
    import click

    from kubectl_podfix.cli.secret import failing_image_of, run_secret
    from kubectl_podfix.fix.pull_secret import Credentials
    from kubectl_podfix.registry.reference import DOCKER_HUB, DOCKER_HUB_KEY, parse_image

    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    code = 0
    for result in results:
        pod = result.ctx.pod
        name, namespace = result.ctx.name, result.ctx.namespace
        finding = next((f for f in result.findings if f.code in PULL_SECRET_CODES), None)
        if finding is None:
            continue
        image = failing_image_of(pod)
        ref = parse_image(image) if image else None
        server = (DOCKER_HUB_KEY if ref.registry == DOCKER_HUB else ref.registry) if ref else None
        secret = secret_name_for(pod, finding)
        command = (finding.fix.command if getattr(finding, "fix", None) and finding.fix.command
                   else fix_command(name, namespace, secret, server))
        if not interactive:
            print(f"\nTo fix pod {name} ({finding.code}), run:\n  echo \"$PASSWORD\" | {command}")
            continue
        click.echo(f"\nFix for pod {name} ({finding.code}): create or repair pull secret {secret} for "
                   f"{server or 'the registry'} and attach it.", err=True)
        if not click.confirm("Enter registry credentials now?", default=True, err=True):
            continue
        user = click.prompt(f"Username for {server}", err=True)
        password = click.prompt(f"Password for {user}@{server}", hide_input=True, err=True)
        creds = Credentials(server or DOCKER_HUB_KEY, user, password)
        rc = run_secret(secret, for_pod=name, verify=True, restart=True, cluster=cluster, credentials=creds,
                        overwrite=True)
        code = max(code, rc)
    return code
