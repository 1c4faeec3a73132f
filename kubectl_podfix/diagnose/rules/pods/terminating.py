"""pod.stuck-terminating: the pod was deleted long ago but has not gone away.

Finalizers nobody removes, a node that no longer answers, or containers the
kubelet cannot kill.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event
from kubectl_podfix.diagnose.rules.pods.status import assigned_node, events_with, node_ready

# Finalizers whose owner is known: who removes them, and when they stay.
KNOWN_FINALIZERS = {
    "batch.kubernetes.io/job-tracking": "batch.kubernetes.io/job-tracking is the Job controller's "
    "(kube-controller-manager): it removes it once it has counted the finished pod in its Job's status; a pod "
    "whose Job is gone, or a controller manager that is not running, leaves it set (kubernetes#121828)",
    "foregroundDeletion": "foregroundDeletion is set by a foreground (cascading) delete: the garbage collector "
    "removes it once the pod's own dependents are gone",
}
# KillPodSandbox failing in the CNI's DEL (calico#7272, martian-bank-demo#50, multus-cni#669):
# "networkPlugin cni failed to teardown pod "x" network: <why>", "failed to destroy network for pod sandbox ...: <why>"
_NETWORK_TEARDOWN = re.compile(r"failed to teardown pod \\*\"[^\"\\]*\\*\" network: (?P<why>.*)|"
                               r"failed to destroy network for (?:pod )?sandbox[^:]*: (?P<why2>.*)", re.S)
STUCK_AFTER = 120  # seconds past the deletion deadline before a terminating pod counts as stuck


def stuck_terminating_rule(ctx: PodContext) -> Iterable[Finding]:
    deleted = parse_time(dig(ctx.pod, "metadata.deletionTimestamp"))
    if not deleted:
        return
    overdue = (ctx.now - deleted).total_seconds()
    if overdue < STUCK_AFTER:
        return
    finalizers = dig(ctx.pod, "metadata.finalizers", []) or []
    node_name = assigned_node(ctx)
    node = ctx.node()
    ready, _cond = node_ready(node)
    kill_evs = events_with(ctx, {"FailedKillPod", "ExceededGracePeriod", "FailedPreStopHook", "FailedSync"})
    kill_evs = [ev for ev in kill_evs if ev.get("reason") != "FailedSync" or "kill" in (ev.get("message") or "").lower()]
    running = [st.get("name") for st in (dig(ctx.pod, "status.containerStatuses", []) or [])
               + (dig(ctx.pod, "status.initContainerStatuses", []) or []) if dig(st, "state.running")]
    grace = dig(ctx.pod, "metadata.deletionGracePeriodSeconds")
    evidence = [f"deletionTimestamp: {dig(ctx.pod, 'metadata.deletionTimestamp')} ({age(overdue)} ago)"
                + (f", grace period {grace}s" if grace is not None else "")]
    causes = []
    if finalizers:
        evidence.append("finalizers: " + ", ".join(finalizers))
        causes.append("finalizers")
    if node_name and (ready in ("False", "Unknown") or (node is None and ctx.knows("Node"))):
        evidence.append(f"node {node_name}: " + (f"Ready={ready}" if node is not None else "no longer exists"))
        causes.append("node-unreachable")
    for ev in kill_evs[-2:]:
        evidence.append(describe_event(ev, ctx.now))
    teardown = [ev for ev in kill_evs if _NETWORK_TEARDOWN.search(ev.get("message") or "")]
    if teardown:
        causes.append("network-teardown-failed")
    elif any(ev.get("reason") != "FailedPreStopHook" for ev in kill_evs):
        causes.append("runtime-kill-failed")  # a failed preStop hook does not stop the kill: not this
    if running:
        evidence.append("still running: " + ", ".join(running))
        if "runtime-kill-failed" not in causes and "network-teardown-failed" not in causes:
            causes.append("containers-running")
    parts = []
    if "finalizers" in causes:
        parts.append(f"finalizers {', '.join(finalizers)} are still set: the controller that owns them must remove "
                     f"them (if it is gone, remove them by hand)")
        parts += [KNOWN_FINALIZERS[f] for f in finalizers if f in KNOWN_FINALIZERS]
    if "node-unreachable" in causes:
        parts.append(f"its node {node_name} is not reachable, so no kubelet confirms the containers stopped")
    if "network-teardown-failed" in causes:
        said = _NETWORK_TEARDOWN.search(teardown[-1].get("message") or "")
        why = ((said.group("why") or said.group("why2") or "") if said else "").replace('\\"', '"')
        why = why.strip().rstrip('"').strip()
        parts.append("the kubelet cannot remove the pod's sandbox because the CNI plugin fails to tear down its "
                     "network" + (f" ({why[:200]})" if why else "")
                     + ": the network plugin on the node fails (its agent is down, cannot reach the API server, or "
                     "holds stale state); once its DEL succeeds the pod goes away by itself")
    if "runtime-kill-failed" in causes:
        parts.append("the kubelet failed to kill the containers (runtime error or a process stuck in the kernel, "
                     "e.g. on a hung NFS mount)")
    if "containers-running" in causes:
        parts.append(f"containers {', '.join(running)} are still running: they ignore SIGTERM and the kubelet "
                     f"has not been able to kill them")
    if not parts:
        if node is None and node_name and not ctx.knows("Node"):
            parts.append(f"the Node object of {node_name} is not in the data, so whether it is reachable is unknown")
        else:
            parts.append("nothing in the data shows why; the kubelet on the node has the answer")
    expl = (f"The pod was deleted (deadline {dig(ctx.pod, 'metadata.deletionTimestamp')}, {age(overdue)} ago) but is "
            f"still there: " + "; ".join(parts) + ".")
    sugs = []
    if finalizers:
        sugs.append(f"kubectl patch pod {ctx.name} -n {ctx.namespace} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}' "
                    "(only if the finalizer's controller is gone)")
    if "node-unreachable" in causes:
        sugs.append(f"kubectl describe node {node_name}")
    if causes != ["finalizers"]:
        # A forced delete removes no finalizer: a pod held only by one stays (kubernetes#121828).
        sugs.append(f"kubectl delete pod {ctx.name} -n {ctx.namespace} --force --grace-period=0 "
                    "(last resort: the containers may keep running on the node"
                    + ("; it does not remove finalizers)" if finalizers else ")"))
    if node_name:
        sugs.append(f"on {node_name}: crictl ps | grep {ctx.name}; journalctl -u kubelet")
    yield Finding(
        code="pod.stuck-terminating", severity="error" if overdue >= 600 else "warning", container=None,
        title=f"stuck terminating for {age(overdue)}" + (f" ({', '.join(c for c in causes if c)})" if causes else ""),
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=dig(ctx.pod, "metadata.deletionTimestamp"),
        extra={"overdue_seconds": overdue, "finalizers": finalizers, "causes": [c for c in causes if c],
               "node": node_name, "still_running": running},
    )
