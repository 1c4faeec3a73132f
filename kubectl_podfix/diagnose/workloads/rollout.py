"""Rollouts and replicas: a Deployment past its progress deadline, a paused one, a StatefulSet blocked
by one ordinal, a DaemonSet missing pods on some nodes, pods that fail, and a workload scaled to zero.

When pods exist and fail, their own diagnosis (the pod rules' first finding) is the cause: these
findings quote it and carry it in ``details.pod``.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, dig
from kubectl_podfix.diagnose.workloads.common import (condition_line, pod_cause, pod_cause_lines, pod_explain_cmd,
                                                      pod_extra)
from kubectl_podfix.diagnose.workloads.model import WorkloadContext, condition


def _cause_text(ctx: WorkloadContext, found, scope: str) -> str:
    result, finding, count = found
    where = f" (container {finding.container})" if finding.container else ""
    return (f"{count} pod{'s' if count != 1 else ''} of {scope} fail{'s' if count == 1 else ''} with "
            f"{finding.code}{where}: {finding.title}. ")


def deployment_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    if ctx.kind not in ("Deployment", "ReplicaSet"):
        return []
    r = ctx.replicas()
    desired = r.get("desired") or 0
    out = []
    if desired == 0:
        return [_scaled_to_zero(ctx)]
    if ctx.kind == "Deployment" and dig(ctx.workload, "spec.paused"):
        short = (r.get("ready") or 0) < desired or (r.get("updated") or 0) < desired
        cond = condition(ctx.workload, "Progressing")
        out.append(Finding(
            "workload.paused", "warning" if short else "info", None,
            f"{ctx.ref} is paused: template changes are not rolled out",
            f"spec.paused is true: the Deployment controller does not roll out template changes and does not "
            f"evaluate the progress deadline while paused. Now: {r.get('ready') or 0}/{desired} ready, "
            f"{r.get('updated') or 0} updated." + (" Pods are missing while it is paused." if short else ""),
            [f"{ctx.ref} spec.paused: true"] + ([condition_line(ctx.kind, ctx.name, cond, ctx)] if cond else []),
            [f"kubectl rollout resume {ctx.ref} -n {ctx.namespace}"],
            extra={"ready": r.get("ready") or 0, "desired": desired}))
    prog = condition(ctx.workload, "Progressing")
    new = ctx.new_replicaset() if ctx.kind == "Deployment" else ctx.workload
    new_hash = dig(new or {}, "metadata.labels", {}).get("pod-template-hash") if new else None
    new_name = dig(new or {}, "metadata.name")
    new_pods = ctx.pods_of(owner_name=new_name) if new_name else ctx.pods
    # A condition written before the controller observed the current spec is the previous rollout's verdict
    # (kubectl rollout status reads it only once observedGeneration has caught up): a re-applied fix must not
    # fail on it (Shopify/krane's deployment_test, statuses of older generations).
    observed = (dig(ctx.workload, "status.observedGeneration") or 0) >= (dig(ctx.workload, "metadata.generation") or 0)
    # An older ReplicaSet's pods matter while they run; one that ended (evicted, rejected) is never restarted
    # and no longer counts for the workload: a leftover, not a cause (its own block says what happened).
    # A Deployment with every pod updated and ready: a pod that ended (even of the new ReplicaSet, when the
    # ReplicaSets could not be read) was replaced.
    complete = ctx.kind == "Deployment" and observed and min(
        r.get("ready") or 0, r.get("updated") or 0, r.get("available") or 0) >= desired

    def ended(r) -> bool:
        return dig(r.ctx.pod, "status.phase") in ("Failed", "Succeeded")
    newer = {id(r) for r in new_pods}
    if complete:  # nor does one being deleted (a taint eviction's pod left Terminating on a lost node)
        found = pod_cause([r for r in ctx.pods if not ended(r) and not dig(r.ctx.pod, "metadata.deletionTimestamp")])
    else:
        found = pod_cause(new_pods) or pod_cause([r for r in ctx.pods if id(r) in newer or not ended(r)])
    if prog and prog.get("status") == "False" and prog.get("reason") == "ProgressDeadlineExceeded" and observed:
        old_ready = sum((dig(rs, "status.readyReplicas") or 0) for rs in ctx.children if rs is not new)
        evidence = [condition_line(ctx.kind, ctx.name, prog, ctx)]
        avail = condition(ctx.workload, "Available")
        if avail:
            evidence.append(condition_line(ctx.kind, ctx.name, avail, ctx))
        deadline = dig(ctx.workload, "spec.progressDeadlineSeconds") or 600
        new_rs = f"the new ReplicaSet {new_name}" if new_name else "the new ReplicaSet (not among those podfix read)"
        expl = (f"{new_rs[0].upper()}{new_rs[1:]} made no progress for {deadline}s "
                f"(progressDeadlineSeconds), so kubectl rollout status fails with 'exceeded its progress deadline'. ")
        extra = {"new_replicaset": new_name, "old_ready": old_ready, "updated": r.get("updated") or 0,
                 "desired": desired}
        if found:
            expl += "Why: " + _cause_text(ctx, found, new_rs if new_name else ctx.ref)
            evidence += pod_cause_lines(found[0], found[1])
            extra["pod"] = pod_extra(*found)
        else:
            expl += ("Its pods are not the reason podfix can see: look at the create failures below, or at "
                     "readiness (minReadySeconds, a readiness probe that never passes). ")
        expl += (f"The old revision still serves {old_ready} ready pod{'s' if old_ready != 1 else ''}."
                 if ctx.kind == "Deployment" and ctx.children else "")
        sugg = []
        if found:
            sugg.append(pod_explain_cmd(ctx, found[0].ctx.name))
        sugg += [f"fix the template and roll again, or go back: kubectl rollout undo {ctx.ref} -n {ctx.namespace}",
                 f"kubectl rollout status {ctx.ref} -n {ctx.namespace}"]
        fix = found[1].fix if found else None
        out.append(Finding("workload.rollout-stuck", "error", None,
                           f"Rollout of {ctx.ref} exceeded its progress deadline"
                           + (f": new pods fail with {found[1].code}" if found else ""),
                           expl, evidence, sugg, fix, extra=extra))
        return out
    if found:
        out.append(_pods_failing(ctx, found, f"the new ReplicaSet {new_name}" if ctx.kind == "Deployment" and new_name
                                 else ctx.ref))
    return out


def _pods_failing(ctx: WorkloadContext, found, scope: str) -> Finding:
    result, finding, count = found
    r = ctx.replicas()
    state = f"{r.get('ready') or 0}/{r.get('desired') or 0} ready" if r.get("desired") is not None else ""
    expl = _cause_text(ctx, found, scope) + (f"The workload is at {state}. " if state else "") + \
        _what_next(ctx, finding)
    return Finding("workload.pods-failing", finding.severity, None,
                   f"{count} pod{'s' if count != 1 else ''} fail{'s' if count == 1 else ''}: {finding.code}: "
                   f"{finding.title}",
                   expl, pod_cause_lines(result, finding), [pod_explain_cmd(ctx, result.ctx.name)] +
                   list(finding.suggestions[:2]), finding.fix, since=finding.since,
                   extra={"pod": pod_extra(*found)})


def _what_next(ctx: WorkloadContext, finding) -> str:
    """The closing sentence of pods-failing: what ends the failure. A lost node is not the pod's to fix, and a
    StatefulSet does not replace a pod that is still there (its replacement takes the same name)."""
    if finding.code != "pod.node-lost":
        return "The pod's own diagnosis is the cause; fix it and the controller replaces the pods."
    deleting = (finding.extra or {}).get("deleting")
    if ctx.kind == "StatefulSet":
        return ("The cause is the pod's node, not the pod: a StatefulSet creates a pod's replacement, of the same "
                "name, only once the old pod is gone, and a pod on an unreachable node is never confirmed deleted. "
                + ("Force-delete it once the machine is confirmed down (or delete its Node object)."
                   if deleting else "It is evicted after the unreachable taint's tolerationSeconds, and then "
                                    "stays Terminating until the node returns or it is force-deleted."))
    if ctx.kind == "DaemonSet":
        return ("The cause is the pod's node, not the pod: a DaemonSet's pod belongs to its node, and runs again "
                "when the node returns (or goes away with the Node object).")
    return ("The cause is the pod's node, not the pod: the controller creates a replacement on another node once "
            "the pod is evicted (after the unreachable taint's tolerationSeconds)"
            + ("; the old pod stays Terminating until its node confirms or it is force-deleted." if deleting else "."))


def _scaled_to_zero(ctx: WorkloadContext) -> Finding:
    return Finding("workload.scaled-to-zero", "info", None, f"{ctx.ref} is scaled to zero (spec.replicas: 0)",
                   "No pods are wanted: that is a choice (or an autoscaler's, e.g. KEDA), not a failure.",
                   [f"{ctx.ref} spec.replicas: 0"], [f"kubectl scale {ctx.ref} --replicas=N -n {ctx.namespace}"])


_ORDINAL = re.compile(r"-(\d+)$")


def statefulset_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    if ctx.kind != "StatefulSet":
        return []
    r = ctx.replicas()
    desired = r.get("desired") or 0
    if desired == 0:
        return [_scaled_to_zero(ctx)]
    failing = [p for p in ctx.failing_pods() if _ORDINAL.search(p.ctx.name)]
    if not failing:
        return []
    ordered = dig(ctx.workload, "spec.podManagementPolicy") in (None, "OrderedReady")
    current = r.get("current")
    blocker = min(failing, key=lambda p: int(_ORDINAL.search(p.ctx.name).group(1)))
    n = int(_ORDINAL.search(blocker.ctx.name).group(1))
    missing = max(0, desired - (current if current is not None else len(ctx.pods)))
    f = blocker.findings[0]
    count = sum(1 for p in failing if p.findings[0].code == f.code)
    if ordered and missing:
        later = f"{ctx.name}-{n + 1}" + (f"..{ctx.name}-{desired - 1}" if desired - 1 > n + 1 else "")
        expl = (f"podManagementPolicy OrderedReady: the StatefulSet creates pod N+1 only when pod N is Running and "
                f"Ready. Pod {blocker.ctx.name} is not: {f.code}"
                + (f" (container {f.container})" if f.container else "") + f": {f.title}. So {missing} later "
                f"pod{'s are' if missing != 1 else ' is'} not created ({later}); the controller records no event "
                "for this wait.")
        return [Finding("workload.ordinal-blocked", "error", None,
                        f"Pod {blocker.ctx.name} fails ({f.code}) and blocks {missing} later pod"
                        f"{'s' if missing != 1 else ''} of {ctx.ref}",
                        expl, [f"{ctx.ref}: {r.get('ready') or 0}/{desired} ready, {current or 0} created"]
                        + pod_cause_lines(blocker, f),
                        [pod_explain_cmd(ctx, blocker.ctx.name),
                         "podManagementPolicy Parallel (set at creation) would start all ordinals at once"],
                        f.fix, since=f.since, extra={"pod": pod_extra(blocker, f, count), "blocked": missing,
                                                     "ordinal": n})]
    return [_pods_failing(ctx, (blocker, f, count), ctx.ref)]


def daemonset_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    if ctx.kind != "DaemonSet":
        return []
    r = ctx.replicas()
    if not dig(ctx.workload, "status"):
        return []
    desired = r.get("desired") or 0
    if desired == 0:
        return [Finding("workload.daemonset-no-nodes", "info", None,
                        f"{ctx.ref} matches no node (desiredNumberScheduled: 0)",
                        "No node matches the DaemonSet's nodeSelector, node affinity and tolerations, so it runs "
                        "no pod. That can be intended (the nodes it targets do not exist yet) or a wrong selector.",
                        [f"{ctx.ref}: desired 0, nodeSelector {dig(ctx.template(), 'spec.nodeSelector') or {}}"],
                        [f"kubectl get nodes --show-labels; compare with {ctx.ref}'s nodeSelector/affinity"])]
    failing = ctx.failing_pods()
    ready = r.get("ready") or 0
    placement = [e for e in ctx.events_of("DaemonSet", ctx.name, {"FailedPlacement"})
                 if (ctx.event_age(e) or 0) < 3600]
    if not failing and placement and (r.get("current") or 0) < desired:
        # legacy controllers (before 1.12) placed daemon pods themselves: "failed to place pod on NODE: why"
        nodes = sorted({m.group(1) for m in (re.search(r'failed to place pod on "([^"]+)"', e.get("message") or "")
                                              for e in placement) if m})
        return [Finding("workload.daemonset-incomplete", "error", None,
                        f"{ctx.ref} cannot place pods on {len(nodes) or '?'} node(s): "
                        f"{(placement[-1].get('message') or '')[:120]}",
                        f"{ctx.ref} wants a pod on {desired} nodes but its controller could not place it on "
                        f"{', '.join(nodes) or 'some'}: " + (placement[-1].get("message") or "") + ".",
                        [f"{ctx.ref}: desired {desired}, current {r.get('current') or 0}, ready {ready}"]
                        + [f"event {e.get('type')} FailedPlacement: {e.get('message')}" for e in placement[-3:]],
                        ["kubectl describe node NODE (free resources, host ports)",
                         "give the DaemonSet a high PriorityClass (system-node-critical) so it fits first"],
                        extra={"nodes": [{"node": n} for n in nodes]})]
    if not failing:
        return []
    found = pod_cause(failing)
    result, f, count = found
    nodes = [(p.ctx.name, dig(p.ctx.pod, "spec.nodeName") or "(unscheduled)", p.findings[0].code) for p in failing]
    listing = "; ".join(f"{node}: {name} {code}" for name, node, code in nodes[:8]) + \
        (" ..." if len(nodes) > 8 else "")
    expl = (f"{ctx.ref} wants a pod on {desired} node{'s' if desired != 1 else ''} and {ready} are ready. "
            f"Failing: {listing}. " + _cause_text(ctx, found, ctx.ref))
    return [Finding("workload.daemonset-incomplete", "error", None,
                    f"{ctx.ref} is missing ready pods on {desired - ready} of {desired} nodes: {f.code}",
                    expl, [f"{ctx.ref}: desired {desired}, current {r.get('current') or 0}, ready {ready}, "
                           f"available {r.get('available') or 0}"] + pod_cause_lines(result, f),
                    [pod_explain_cmd(ctx, result.ctx.name)], f.fix, since=f.since,
                    extra={"pod": pod_extra(result, f, count),
                           "nodes": [{"node": node, "pod": name, "code": code} for name, node, code in nodes]})]
