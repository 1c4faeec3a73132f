"""The rule registry and the one function that runs it.

A rule is a pure function ``rule(ctx: PodContext) -> Iterable[Finding]``: no
I/O, no logging, no clock other than ``ctx.now``. Each family module lists the
codes it may produce in ``CODES`` (code -> one-line meaning), in root-cause
order; docs/findings.md documents every one of them (a test checks).

``diagnose`` runs every rule, drops findings that a more specific finding on
the same container supersedes, and orders the rest so the first finding is
the diagnosis. Then it keeps podfix's first promise, *silence means healthy*:
``diagnose.health`` says whether the pod is at its desired state, and
``fallback`` adds ``pod.unexplained``, ranked last, for every problem no
finding covers. A pod inside its deletion grace period gets no error: it is
going away; nor does a failed pod its controller no longer needs (``left_behind``).
"""

from __future__ import annotations

from kubectl_podfix.diagnose.health import assess
from kubectl_podfix.diagnose.model import SEVERITIES, Finding, PodContext, dig, parse_time
from kubectl_podfix.diagnose.rules import containers, fallback, images, pods, probes

# Families in the order their findings rank when several apply to one pod (the fallback always last).
FAMILIES = (images, pods, containers, probes, fallback)

RULES = tuple(rule for family in FAMILIES for rule in family.RULES)

CODES: dict[str, str] = {code: meaning for family in FAMILIES for code, meaning in family.CODES.items()}

# A finding with the key code hides findings with these codes on the same container.
SUPERSEDES: dict[str, frozenset[str]] = {}
for _family in FAMILIES:
    for _code, _hidden in getattr(_family, "SUPERSEDES", {}).items():
        SUPERSEDES[_code] = SUPERSEDES.get(_code, frozenset()) | frozenset(_hidden)

_RANK = {code: i for i, code in enumerate(CODES)}


def diagnose(ctx: PodContext) -> list[Finding]:
    """Run every rule on one pod and return its findings, root cause first."""
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(ctx))
    present: dict[str | None, set[str]] = {}
    for f in findings:
        present.setdefault(f.container, set()).add(f.code)
    kept = []
    for f in findings:
        hidden_by = [c for c in present.get(f.container, ()) if f.code in SUPERSEDES.get(c, ())]
        if not hidden_by:
            kept.append(f)
    health = assess(ctx.pod, ctx.now)
    if health.state == "terminating":
        for f in kept:
            if f.severity == "error":
                f.severity = "warning"
    kept.sort(key=lambda f: (SEVERITIES.index(f.severity), _RANK.get(f.code, len(_RANK))))
    out = kept + fallback.unexplained(ctx, kept, health)
    behind = left_behind(ctx)
    if behind:
        for f in out:
            if f.severity == "error":
                f.severity = "warning"
                f.evidence = [*f.evidence, behind]
    return out


def left_behind(ctx: PodContext) -> str | None:
    """Why a ``Failed`` pod is history its controller no longer needs (an evidence line), or None.

    A ReplicaSet never restarts a failed pod: it creates another, and a failed pod (evicted, rejected by
    its node) stays until deleted. When the pod's ReplicaSet, in the data, has all the ready pods it wants
    (or wants none: an older revision), the failure is not the workload's now. Likewise a failed attempt
    of a Job that then completed, or of a CronJob's run that failed before a later run succeeded. A ReplicaSet's
    pod being deleted (stuck Terminating on a lost node) whose ReplicaSet has its ready pods without it was replaced
    too: cleanup, not the workload's failure; a StatefulSet's blocks its own replacement and is never history.
    Read only from what the snapshot holds (a scan lists these kinds).
    """
    if not isinstance(ctx.pod, dict) or ctx.snapshot is None:
        return None
    deleting = bool(dig(ctx.pod, "metadata.deletionTimestamp"))
    if dig(ctx.pod, "status.phase") != "Failed" and not deleting:
        return None
    ref = next((r for r in dig(ctx.pod, "metadata.ownerReferences", []) or []
                if isinstance(r, dict) and r.get("controller")), None)
    if not ref or ref.get("kind") not in ("ReplicaSet", "Job") or not isinstance(ref.get("name"), str):
        return None
    if deleting and ref["kind"] != "ReplicaSet":
        return None  # a Job's pod being deleted: no replacement to point at (a StatefulSet's blocks its own)
    owner = ctx.snapshot.get(ref["kind"], ctx.namespace, ref["name"])
    if owner is None and ref["kind"] == "ReplicaSet" and (ctx.owner or {}).get("kind") == "Deployment":
        # the ReplicaSet not read (not listed, or forbidden): its Deployment, named by the pod-template-hash
        deploy = ctx.snapshot.get("Deployment", ctx.namespace, ctx.owner.get("name"))
        line = _deployment_complete(deploy) if isinstance(deploy, dict) else None
        return line.replace("the failed pod was replaced and is left behind until deleted", _STUCK) \
            if line and deleting else line
    if not isinstance(owner, dict):
        return None
    if ref.get("uid") and dig(owner, "metadata.uid") and dig(owner, "metadata.uid") != ref.get("uid"):
        return None  # a newer object of the same name
    if ref["kind"] == "ReplicaSet":
        desired = dig(owner, "spec.replicas")
        desired = 1 if desired is None else desired
        ready = dig(owner, "status.readyReplicas") or 0
        if not isinstance(desired, int) or not isinstance(ready, int) or ready < desired:
            return None
        if desired == 0:
            return (f"replicaset/{ref['name']} wants no pods now (an older revision): this "
                    + ("pod being deleted is no longer needed; " + _STUCK.split("; ", 1)[1] if deleting else
                       "failed pod is left behind until deleted"))
        return (f"replicaset/{ref['name']} has its {desired} ready pod{'s' if desired != 1 else ''} without this "
                f"one: " + (_STUCK if deleting else "the failed pod was replaced and is left behind until deleted"))
    done = [c for c in dig(owner, "status.conditions", []) or [] if isinstance(c, dict)
            and c.get("type") in ("Complete", "SuccessCriteriaMet") and c.get("status") == "True"]
    if done:
        return f"job/{ref['name']} completed: this failed attempt was retried and is history"
    return _cron_succeeded_since(ctx, owner)


_STUCK = ("the pod being deleted was replaced; it is cleanup now: it stays until its node confirms the deletion, "
          "or until it is force-deleted once the node is known to be down")


def _cron_succeeded_since(ctx: PodContext, job: dict) -> str | None:
    """A CronJob's run that failed, when a later run of the same CronJob succeeded (``lastSuccessfulTime``)."""
    failed = next((c for c in dig(job, "status.conditions", []) or [] if isinstance(c, dict)
                   and c.get("type") == "Failed" and c.get("status") == "True"), None)
    cref = next((r for r in dig(job, "metadata.ownerReferences", []) or []
                 if isinstance(r, dict) and r.get("controller") and r.get("kind") == "CronJob"), None)
    if failed is None or cref is None or not isinstance(cref.get("name"), str):
        return None
    cron = ctx.snapshot.get("CronJob", ctx.namespace, cref["name"])
    last_ok = parse_time(dig(cron, "status.lastSuccessfulTime")) if isinstance(cron, dict) else None
    failed_at = parse_time(failed.get("lastTransitionTime")) or parse_time(dig(job, "status.startTime"))
    if last_ok is None or failed_at is None or last_ok <= failed_at:
        return None
    return (f"cronjob/{cref['name']} has succeeded since (its last successful run: "
            f"{dig(cron, 'status.lastSuccessfulTime')}): this run's failure is history")


def _deployment_complete(deploy: dict) -> str | None:
    """The evidence line for a failed pod of a Deployment that has all its pods updated and ready, or None."""
    spec, status = deploy.get("spec") or {}, deploy.get("status") or {}
    desired = spec.get("replicas")
    desired = 1 if desired is None else desired
    counts = [status.get(k) or 0 for k in ("readyReplicas", "updatedReplicas", "availableReplicas")]
    generation, observed = dig(deploy, "metadata.generation") or 0, status.get("observedGeneration") or 0
    if not all(isinstance(v, int) for v in (desired, generation, observed, *counts)) or observed < generation \
            or min(counts) < desired:
        return None
    name = dig(deploy, "metadata.name")
    return (f"deployment/{name} has all its {desired} pod{'s' if desired != 1 else ''} updated and ready without "
            f"this one: the failed pod was replaced and is left behind until deleted")
