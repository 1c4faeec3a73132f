"""pod.deadline-exceeded: the pod, or the Job that owns it, ran past its activeDeadlineSeconds."""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time
from kubectl_podfix.diagnose.rules.common import kubectl
from kubectl_podfix.diagnose.rules.pods.status import events_with, reason_and_message


def _job_deadline(ctx: PodContext) -> tuple[dict, dict] | None:
    """(Job, its Failed condition) when the pod's Job failed on its activeDeadlineSeconds and stopped this pod.

    The Job controller (not the kubelet) enforces the Job's own deadline: it deletes the running pods, whose
    containers then end with 137/143 and whose own status says nothing about a deadline.
    """
    if dig(ctx.pod, "status.phase") == "Succeeded":
        return None
    refs = [r for r in dig(ctx.pod, "metadata.ownerReferences", []) or [] if r.get("kind") == "Job"]
    job = ctx.related("Job", refs[0].get("name") or "") if refs else None
    if not job:
        return None
    cond = next((c for c in dig(job, "status.conditions", []) or [] if c.get("type") == "Failed"
                 and c.get("status") == "True" and c.get("reason") == "DeadlineExceeded"), None)
    if not cond:
        return None
    failed_at = parse_time(cond.get("lastTransitionTime"))
    statuses = (dig(ctx.pod, "status.containerStatuses", []) or []) + (dig(ctx.pod, "status.initContainerStatuses", []) or [])
    if dig(ctx.pod, "metadata.deletionTimestamp") or any(dig(st, "state.running") for st in statuses):
        return job, cond
    for st in statuses:
        finished = parse_time(dig(st, "state.terminated.finishedAt"))
        if finished and (failed_at is None or (finished - failed_at).total_seconds() >= -5):
            return job, cond
    return None


def deadline_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = reason_and_message(ctx)
    evs = events_with(ctx, {"DeadlineExceeded"})
    job_deadline = None
    if reason != "DeadlineExceeded" and not (evs and dig(ctx.pod, "status.phase") == "Failed"):
        job_deadline = _job_deadline(ctx)
        if job_deadline is None:
            return
    if job_deadline:
        job, cond = job_deadline
        deadline = dig(job, "spec.activeDeadlineSeconds")
        name = dig(job, "metadata.name") or "?"
        yield Finding(
            code="pod.deadline-exceeded", severity="error", container=None,
            title=f"stopped by Job {name}'s active deadline" + (f" ({deadline}s)" if deadline is not None else ""),
            explanation=(f"Job {name} ran longer than its activeDeadlineSeconds ({deadline if deadline is not None else '?'}s"
                         + (f" = {age(deadline)}" if isinstance(deadline, int) and deadline >= 60 else "")
                         + ", counted from the Job's start, across all its retries), so the Job controller marked "
                           "it Failed and stopped this pod. The containers' exit codes only show they were stopped. "
                           "Raise the Job's deadline if the work legitimately takes longer, or find why it is slow."),
            evidence=[f"Job {name}: condition Failed ({cond.get('reason')}): {cond.get('message') or ''}".rstrip(": "),
                      f"Job spec.activeDeadlineSeconds: {deadline}"],
            suggestions=[kubectl(ctx, "describe", "job", name),
                         f"kubectl logs {ctx.name} -n {ctx.namespace} --all-containers"],
            extra={"active_deadline_seconds": deadline, "owner": "Job", "job": name, "scope": "job"},
        )
        return
    deadline = dig(ctx.pod, "spec.activeDeadlineSeconds")
    start = parse_time(dig(ctx.pod, "status.startTime"))
    evidence = [f"status: Failed, reason DeadlineExceeded: {message or (evs[-1].get('message') if evs else '')}"]
    if deadline is not None:
        evidence.append(f"spec.activeDeadlineSeconds: {deadline}")
    if start:
        evidence.append(f"started: {dig(ctx.pod, 'status.startTime')}")
    owner = (ctx.owner or {}).get("kind")
    expl = (f"The pod ran longer than its activeDeadlineSeconds ({deadline if deadline is not None else '?'}s"
            + (f" = {age(deadline)}" if isinstance(deadline, int) and deadline >= 60 else "")
            + "), so the kubelet stopped its containers and marked it Failed.")
    if owner in ("Job", "CronJob"):
        expl += " For a Job, the pod inherits the deadline from the Job template; the Job's own activeDeadlineSeconds also counts from the Job's start."
    expl += " Raise the deadline if the work legitimately takes longer, or find why it is slow (logs)."
    yield Finding(
        code="pod.deadline-exceeded", severity="error", container=None,
        title=f"killed after its active deadline ({deadline}s)" if deadline is not None else "active deadline exceeded",
        explanation=expl, evidence=evidence,
        suggestions=[f"kubectl logs {ctx.name} -n {ctx.namespace} --all-containers",
                     kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath={.spec.activeDeadlineSeconds}")],
        extra={"active_deadline_seconds": deadline, "owner": owner},
    )
