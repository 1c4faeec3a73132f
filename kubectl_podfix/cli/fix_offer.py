"""``explain --fix``: offer every fix the findings carry, through the same commands and engine.

A finding's ``fix.command`` is an exact ``kubectl podfix`` command (``fix memory``, ``fix probe``,
``fix image``, ``fix restart``, ``secret`` for a pull secret; and for a workload's own findings
``fix pod-security`` and ``fix service-account``); ``explain --fix`` runs those very commands, so a fix
behaves the same however it is started. The pods' findings and the workloads' (``workload.*``, explain's
``"workloads"``) are both offered: the workloads' first, as explain prints them; a workload finding that only
carries its pods' fix (``workload.pods-failing``, ``workload.rollout-stuck``...) is not offered twice.

* On a terminal podfix asks, fix by fix, whether to run it; the fix then shows its plan and diff and
  asks again before changing anything (the engine's confirmation). A pull secret asks for the
  registry user name and password (no echo).
* With no terminal podfix prints the exact commands and exits 0: nothing is changed.
* ``--yes`` runs, without asking, every fix that needs no further input. A pull secret needs a
  password, so ``--yes`` alone does not create one: podfix says so and prints its command.

``offers`` (pure) lists the fixes to offer.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.errors import Exit

PULL_SECRET_CODES = ("image.auth-failed", "image.pull-secret-missing")
DEFAULT_SECRET = "regcred"
NEEDS_INPUT = ("pull-secret",)  # fixes that cannot run without something only the user knows


def secret_name_for(pod: dict, finding) -> str:
    """The secret the pod already names (repair it), else the finding's, else "regcred"."""
    extra = getattr(finding, "extra", None) or {}
    if extra.get("secret"):
        return str(extra["secret"])
    named = [s.get("name") for s in dig(pod, "spec.imagePullSecrets", []) or [] if s.get("name")]
    return named[0] if named else DEFAULT_SECRET


@dataclass
class Offer:
    result: Any  # the PodResult, or None for a workload's own finding
    finding: Any  # the Finding whose fix this is
    command: str
    workload: Any = None  # the WorkloadResult, for a workload's own finding

    @property
    def fix_id(self) -> str:
        return self.finding.fix.id

    @property
    def needs_input(self) -> bool:
        return self.fix_id in NEEDS_INPUT

    @property
    def label(self) -> str:
        who = self.workload.ctx.ref if self.workload is not None else f"pod {self.result.ctx.name}"
        return f"{who}: {self.finding.code}: {self.finding.fix.description}"


def offers(results, workloads=()) -> list[Offer]:
    """Every fix the findings carry, once per (fix, workload, container): replicas of one workload failing
    the same way need one fix, since it changes the workload. The workloads' own fixes come first; one that is
    its pods' fix (the same command, or the same fix for the same workload) is offered once, with the pod."""
    pods: list[Offer] = []
    seen: set[tuple] = set()
    owners: set[tuple] = set()  # (fix id, namespace, kind, name) offered for a pod
    commands: set[str] = set()
    for result in results:
        owner = result.ctx.owner or {"kind": "Pod", "name": result.ctx.name}
        for finding in result.findings:
            fix = getattr(finding, "fix", None)
            if fix is None or not fix.command:
                continue
            key = (fix.id, result.ctx.namespace, owner.get("kind"), owner.get("name"), finding.container)
            if key in seen:
                continue
            seen.add(key)
            owners.add(key[:4])
            commands.add(fix.command)
            pods.append(Offer(result, finding, fix.command))
    own: list[Offer] = []
    for w in workloads or ():
        for finding in w.findings:
            fix = getattr(finding, "fix", None)
            if fix is None or not fix.command or fix.command in commands:
                continue
            if (fix.id, w.ctx.namespace, w.ctx.kind, w.ctx.name) in owners:
                continue
            commands.add(fix.command)
            own.append(Offer(None, finding, fix.command, workload=w))
    return own + pods


def _forwarded(opts: dict) -> list[str]:
    """The connection flags explain was given, for the fix commands it runs (each names its own -n)."""
    args: list[str] = []
    for flag, key in (("--kubeconfig", "kubeconfig"), ("--context", "context_name"), ("--cluster", "cluster"),
                      ("--user", "user")):
        if opts.get(key):
            args += [flag, str(opts[key])]
    if opts.get("request_timeout") not in (None, "", "0"):
        args += ["--request-timeout", str(opts["request_timeout"])]
    if opts.get("debug"):
        args.append("--debug")
    return args


def _run_command(command: str, extra: list[str]) -> int:
    """Run a printed ``kubectl podfix ...`` command in this process; errors are printed as usual."""
    from kubectl_podfix.cli.root import run

    args = shlex.split(command)
    if args[:2] != ["kubectl", "podfix"]:  # never anything else
        return 1
    return run(args[2:] + extra)


def print_commands(found: list[Offer], out: TextIO) -> None:
    out.write("\nFixes (each command shows its plan and asks before changing anything; "
              "--yes applies without asking):\n")
    for o in found:
        out.write(f"  # {o.label}\n")
        if o.needs_input:
            out.write("  # needs the registry user name (USERNAME) and the password on stdin\n")
        out.write(f"  {o.command}\n")


def offer(results, *, opts: dict, yes: bool = False, interactive: bool | None = None,
          out: TextIO | None = None, err: TextIO | None = None, cluster=None, workloads=()) -> int:
    """Offer (ask, print or apply) the fixes of ``results`` (pods) and ``workloads`` (their own findings); returns
    the worst exit code of those run."""
    import click

    out = out or sys.stdout
    err = err or sys.stderr
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    found = offers(results, workloads)
    if not found:
        err.write("--fix: no finding carries a fix podfix can apply; see the next steps above\n")
        return 0
    if not interactive and not yes:
        print_commands(found, out)
        return 0
    code = 0
    extra = _forwarded(opts)
    for i, o in enumerate(found, 1):
        if code == Exit.INTERRUPTED:  # Ctrl-C, SIGTERM or SIGHUP during a fix: no later fix is started
            break
        out.flush()  # the report (and the previous fix's plan) before this fix's heading on stderr
        head = f"\nFix {i}/{len(found)}: {o.label}\n  {o.command}\n"
        if o.needs_input:
            if yes or not interactive:
                err.write(head + "  not applied: a pull secret needs the registry password, which --yes does not "
                          "give; run the command above with the password on stdin\n")
                continue
            if o.result is None:  # (a workload's finding naming no pod podfix read: the command asks for it)
                err.write(head + "  run the command above with the registry password on stdin\n")
                continue
            err.write(head)
            code = max(code, _pull_secret(o, cluster, opts))
            continue
        if yes:
            err.write(head)
            code = max(code, _run_command(o.command, extra + ["--yes"]))
            continue
        err.write(head)
        if not click.confirm("Run this fix (it shows its plan and asks before changing anything)?", default=True,
                             err=True):
            continue
        code = max(code, _run_command(o.command, extra))
    return code


def _pull_secret(o: Offer, cluster, opts: dict) -> int:
    """The pull-secret flow on a terminal: ask for the credentials, then run the secret command's flow."""
    import click

    from kubectl_podfix.cli.options import connect
    from kubectl_podfix.cli.secret import failing_image_of, run_secret
    from kubectl_podfix.fix.pull_secret import Credentials
    from kubectl_podfix.registry.reference import DOCKER_HUB, DOCKER_HUB_KEY, parse_image

    pod = o.result.ctx.pod
    image = failing_image_of(pod)
    ref = parse_image(image) if image else None
    server = (DOCKER_HUB_KEY if ref.registry == DOCKER_HUB else ref.registry) if ref else None
    secret = secret_name_for(pod, o.finding)
    if not click.confirm(f"Create or repair pull secret {secret} for {server or 'the registry'} now?", default=True,
                         err=True):
        return 0
    user = click.prompt(f"Username for {server}", err=True)
    password = click.prompt(f"Password for {user}@{server}", hide_input=True, err=True)
    creds = Credentials(server or DOCKER_HUB_KEY, user, password)
    if cluster is None or cluster.conn.namespace != o.result.ctx.namespace:
        cluster = connect(dict(opts, namespace=o.result.ctx.namespace))
    return run_secret(secret, for_pod=o.result.ctx.name, verify=True, restart=True, cluster=cluster,
                      credentials=creds, overwrite=True)
