"""The workload is short of its desired state and no other rule explains it: say exactly what is visible.

Silence means healthy, for workloads too. A rollout within its progress deadline, or a workload changed
minutes ago, is info; a workload that still serves some pods is a warning; none at all an error.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, age, dig, selector_string
from kubectl_podfix.diagnose.workloads.common import condition_line, event_line
from kubectl_podfix.diagnose.workloads.model import WorkloadContext

GRACE = 600  # seconds a workload may take to reach its desired state before podfix calls it stuck
_IN_PROGRESS = {"ReplicaSetUpdated", "NewReplicaSetCreated", "FoundNewReplicaSet"}


def shortfall(ctx: WorkloadContext) -> tuple[int, int] | None:
    """(ready, desired) when the workload is short of what it wants; None otherwise (Jobs, CronJobs)."""
    if ctx.kind not in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        return None
    r = ctx.replicas()
    desired = r.get("desired") or 0
    ready = r.get("ready") or 0
    stale = (dig(ctx.workload, "status.observedGeneration") or 0) < (dig(ctx.workload, "metadata.generation") or 0)
    if desired and (ready < desired or (ctx.kind != "DaemonSet" and (r.get("updated") or desired) < desired)
                    or (ctx.kind == "DaemonSet" and (r.get("current") or 0) < desired)):
        return ready, desired
    if stale and desired:
        return ready, desired
    return None


def _starting(ctx: WorkloadContext) -> list:
    """The workload's pods created less than GRACE ago that are not Ready yet and have no problem (their start
    budget runs): what a scale-up or a replacement looks like while it comes up."""
    out = []
    for r in ctx.pods:
        created = ctx.age_of(dig(r.ctx.pod, "metadata.creationTimestamp"))
        if r.problem or dig(r.ctx.pod, "metadata.deletionTimestamp") or created is None or created >= GRACE \
                or dig(r.ctx.pod, "status.phase") not in ("Pending", "Running"):
            continue
        out.append(r)
    return out


def fallback_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    if ctx.kind in ("Job", "CronJob"):
        return []
    status = ctx.workload.get("status")
    created = ctx.created_age()
    if not status or (ctx.kind != "DaemonSet" and status.get("observedGeneration") is None
                      and not any(status.get(k) for k in ("replicas", "readyReplicas"))):
        desired = ctx.replicas().get("desired") or 0
        if ctx.pod_total or ctx.pods or ctx.kind == "DaemonSet" or not desired:
            return []  # the pods say how it is doing
        old = created is None or created > 120
        return [Finding("workload.not-ready", "error" if old else "info", None,
                        f"{ctx.ref} has no status: its controller has not processed it"
                        + (f" in {age(created)}" if created is not None else ""),
                        "The object has no status and no pods: the controller manager has not acted on it "
                        "(kube-controller-manager down or failing, or it was created moments ago).",
                        [f"{ctx.ref}: no status, no pods, created {age(created)} ago"],
                        ["kubectl get pods -n kube-system | grep controller-manager",
                         ctx.kubectl("describe", ctx.ref)])]
    short = shortfall(ctx)
    if short is None:
        return []
    ready, desired = short
    r = ctx.replicas()
    counts = ", ".join(f"{k} {v}" for k, v in r.items() if v is not None)
    evidence = [f"{ctx.ref}: {counts}"]
    conds = [c for c in dig(ctx.workload, "status.conditions", []) or [] if isinstance(c, dict)]
    evidence += [condition_line(ctx.kind, ctx.name, c, ctx) for c in conds[:3]]
    evidence += [event_line(ctx, ev) for ev in ctx.events[-3:]]
    prog = ctx.condition("Progressing")
    newest = min((a for a in [ctx.age_of(c.get("lastUpdateTime") or c.get("lastTransitionTime")) for c in conds]
                  + [ctx.event_age(e) for e in ctx.events[-1:]] + [created] if a is not None), default=None)
    stale = (dig(ctx.workload, "status.observedGeneration") or 0) < (dig(ctx.workload, "metadata.generation") or 0)
    rolling = prog is not None and prog.get("status") == "True" and prog.get("reason") in _IN_PROGRESS
    recent = newest is not None and newest < GRACE
    starting = _starting(ctx)
    if starting and len(starting) >= desired - ready and not (rolling or stale):
        # an autoscaler's scale-up (or a replaced pod): its new pods start, healthy so far. Said from the pods, as
        # a scan, which reads no Normal event (ScalingReplicaSet), sees it too
        recent = True
        made = [(r.ctx.name, ctx.age_of(dig(r.ctx.pod, "metadata.creationTimestamp"))) for r in starting[:3]]
        evidence.append(f"{len(starting)} pod{'s' if len(starting) != 1 else ''} starting, healthy so far: "
                        + ", ".join(f"{name} (created {age(t)} ago)" for name, t in made)
                        + (", ..." if len(starting) > 3 else ""))
    if rolling or recent or stale:
        severity, what = "info", "is rolling out" if rolling else "is catching up"
    elif ready:
        severity, what = "warning", "is degraded"
    else:
        severity, what = "error", "has no ready pod"
    sel = selector_string(dig(ctx.workload, "spec.selector"))
    expl = (f"{ctx.ref} {what}: {ready}/{desired} ready ({counts}). "
            + ("The controller has not observed the latest spec yet. " if stale else "")
            + ("No rule found a cause: no failing pod, no create failure, no failing claim in what podfix read"
               + (" (events older than an hour are gone)" if not ctx.events else "") + ".")
            if severity != "info" else
            f"{ctx.ref} {what}: {ready}/{desired} ready ({counts}). "
            + (f"The controller has not observed its latest spec yet (generation "
               f"{dig(ctx.workload, 'metadata.generation')}, observedGeneration "
               f"{dig(ctx.workload, 'status.observedGeneration') or 0}): the counts and conditions are the previous "
               "spec's. " if stale else "") + "Nothing fails so far.")
    sugg = [ctx.kubectl("describe", ctx.ref), ctx.kubectl("get", "pods", "-l", f"'{sel}'") if sel else
            ctx.kubectl("get", "pods")]
    if ctx.kind in ("Deployment", "StatefulSet", "DaemonSet"):
        sugg.append(ctx.kubectl("rollout", "status", ctx.ref))
    return [Finding("workload.not-ready", severity, None, f"{ctx.ref} {what}: {ready}/{desired} ready", expl,
                    evidence, sugg, extra={"ready": ready, "desired": desired, "replicas": r})]
