"""The pod's node: it went away (pod.node-lost), or its kubelet refused the pod (pod.rejected).

A node that stops reporting, is shut down, or is deleted leaves its pods
unknown, then evicted by the taint manager; a kubelet that cannot admit a pod
(not enough resources, a label that no longer matches, a device plugin
error...) fails it at once and never retries.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, dig, sentence
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl, node_arg, node_phrase, the_node
from kubectl_podfix.diagnose.rules.containers.resources import format_bytes
from kubectl_podfix.diagnose.rules.pods.status import (
    after_start,
    assigned_node,
    events_with,
    node_ready,
    pod_condition,
    pod_started,
    reason_and_message,
)


# -- node lost ----------------------------------------------------------------------------

_NODE_SHUTDOWN = re.compile(r"node shutdown|imminent node shutdown|node is shutting", re.I)


def node_lost_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = reason_and_message(ctx)
    node_name = assigned_node(ctx)
    node = ctx.node()
    ready, ready_cond = node_ready(node)
    evidence: list[str] = []
    kind = None
    if reason == "NodeLost":
        kind = "lost"
        evidence.append(f"status.reason: NodeLost: {message}")
    elif reason in ("Shutdown", "NodeShutdown") or _NODE_SHUTDOWN.search(message or ""):
        # 1.20-1.21: reason Shutdown, "Node is shutting, evicting pods"; 1.22+: reason Terminated,
        # "Pod was terminated in response to imminent node shutdown."
        kind = "shutdown"
        evidence.append(f"status: {reason}: {message}")
    dt = pod_condition(ctx, "DisruptionTarget")
    if dt and dt.get("status") == "True" and dt.get("reason") == "DeletionByTaintManager":
        kind = kind or "taint-eviction"
        evidence.append(f"condition DisruptionTarget ({dt.get('reason')}): {dt.get('message') or ''}".strip())
    taint_ev = events_with(ctx, {"TaintManagerEviction"})
    nr_ev = events_with(ctx, {"NodeNotReady"})
    if pod_started(ctx):
        nr_ev = after_start(ctx, nr_ev)  # the node was back before the containers (re)started: history
    pod_ready = pod_condition(ctx, "Ready")
    if node is not None and ready in ("False", "Unknown") and dig(ctx.pod, "status.phase") in ("Running", "Pending", None):
        kind = kind or "not-ready"
        cond = ready_cond or {}
        evidence.append(f"node {node_name} Ready={ready}" + (f" ({cond.get('reason')})" if cond.get("reason") else "")
                        + (f" since {cond.get('lastTransitionTime')}" if cond.get("lastTransitionTime") else "")
                        + (f": {cond.get('message')}" if cond.get("message") else ""))
        unreach = [t.get("key") for t in dig(node, "spec.taints", []) or []
                   if t.get("key") in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
        if unreach:
            evidence.append("node taints: " + ", ".join(unreach))
    elif nr_ev and (pod_ready or {}).get("status") != "True" and dig(ctx.pod, "status.phase") in ("Running", "Pending"):
        if node is None:
            kind = kind or "not-ready"
    if kind is None:
        return
    for ev in (nr_ev + taint_ev)[-2:]:
        evidence.append(describe_event(ev, ctx.now))
    if node is None and node_name:
        if ctx.knows("Node"):
            evidence.append(f"node {node_name} no longer exists")
            kind = "lost" if kind == "not-ready" else kind
        else:
            evidence.append(f"node {node_name}: its Node object is not in the data, so its current state is unknown")
    deleting = dig(ctx.pod, "metadata.deletionTimestamp")
    the_node_cap = the_node(node_name)[0].upper() + the_node(node_name)[1:]
    if kind == "shutdown":
        expl = (f"{the_node_cap} was shut down (graceful node shutdown) and the kubelet terminated the "
                f"pod first. Its controller, if any, creates a replacement elsewhere.")
    elif kind == "lost" or kind == "taint-eviction":
        expl = (f"{the_node_cap} stopped reporting to the API server, so the control plane marked the "
                f"pod lost and deleted it. The containers may still be running on that machine if it is only "
                f"partitioned.")
    else:
        expl = (f"{the_node_cap} is not Ready (the kubelet stopped posting status, or reports a "
                f"problem), so the pod's state is unknown and it is not Ready. After the tolerationSeconds of the "
                f"node.kubernetes.io/unreachable taint (300s by default) it is evicted and replaced.")
    if deleting:
        expl += (f" The pod has been terminating since {deleting}: a pod on an unreachable node cannot finish "
                 f"deleting until the node returns or the Node object is deleted; once the machine is confirmed "
                 f"down, force-delete it.")
    sugs = [f"kubectl describe node {node_arg(ctx)}", "kubectl get nodes"]
    if deleting:
        sugs.append(f"kubectl delete pod {ctx.name} -n {ctx.namespace} --force --grace-period=0 "
                    f"(only once the node is confirmed down; for StatefulSets this matters)")
    yield Finding(
        code="pod.node-lost", severity="error", container=None,
        title=(f"node {node_name} " if node_name else "the pod's node ") + {
            "shutdown": "was shut down", "lost": "is lost (unresponsive)",
            "taint-eviction": "is unreachable: pod evicted", "not-ready": "is not Ready"}[kind],
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=(ready_cond or {}).get("lastTransitionTime"),
        extra={"node": node_name, "kind": kind, "node_ready": ready, "deleting": bool(deleting)},
    )


# -- admission rejection ------------------------------------------------------------------

_REJECT_REASONS = {"NodeAffinity", "MatchNodeSelector", "NodeSelectorMismatching", "UnexpectedAdmissionError",
                   "TopologyAffinityError", "SMTAlignmentError", "SysctlForbidden", "AppArmor",
                   "PodOSNotSupported", "PodOSSelectorNodeLabelDoesNotMatch", "InitContainerRestartPolicyForbidden",
                   "TaintToleration", "NodePorts", "InvalidNodeInfo", "UnknownReason", "NodeResourcesFit",
                   "PredicateFailed", "CPUManagerError", "DeviceManagerError"}
# "Unexpected error while attempting to recover from admission failure: preemption: error finding a set of pods to
# preempt: no set of running pods found to reclaim resources: [(res: pods, q: 1), ]" (kubelet, critical pods)
_RECOVER_PREEMPT = re.compile(r"recover from admission failure", re.I)
_SHORT_OF = re.compile(r"\(res: ([\w./-]+), q: (\d+)\)")
_OUT_OF = re.compile(r"Node didn't have enough resource: (?P<res>[^,]+), requested: (?P<req>\d+), "
                     r"used: (?P<used>\d+), capacity: (?P<cap>\d+)")


def rejected_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = reason_and_message(ctx)
    if dig(ctx.pod, "status.phase") != "Failed" and not reason:
        return
    is_reject = reason.startswith("OutOf") or reason in _REJECT_REASONS or message.startswith("Pod was rejected")
    if not is_reject or reason == "Evicted":  # "Pod was rejected: The node had condition: [DiskPressure]." is evicted_rule's
        return
    evidence = [f"status: Failed, reason {reason}: {message}"]
    evs = events_with(ctx, {reason}) if reason else []
    for ev in evs[-1:]:
        evidence.append(describe_event(ev, ctx.now))
    node = assigned_node(ctx)
    m = _OUT_OF.search(message)
    extra: dict = {"reason": reason, "node": node, "message": message}
    if m:
        res = m.group("res")
        req, used, cap = int(m.group("req")), int(m.group("used")), int(m.group("cap"))
        unit = "m" if res == "cpu" else ""
        extra.update({"resource": res, "requested": req, "used": used, "capacity": cap})
        fmt = (lambda v: f"{v}{unit}") if res != "memory" else (lambda v: format_bytes(v))
        expl = (f"The kubelet on {node_phrase(node)} refused to run the pod: it needs {fmt(req)} {res}, but "
                f"{fmt(used)} of the node's {fmt(cap)} is already taken. The scheduler thought it fitted, so "
                f"either the pod was assigned with spec.nodeName (bypassing the scheduler), or it raced with pods "
                f"the scheduler had not yet seen (often after a node restart, or with static pods).")
    elif _RECOVER_PREEMPT.search(message):
        # lifecycle/predicate.go: the pod did not fit, and the kubelet's critical-pod admission handler could not
        # make room by evicting lower-priority pods ("(res: pods, q: 1)": one more pod than the node's max-pods).
        short = [f"{q} more {'pod slot' if r == 'pods' and q == '1' else 'pod slots' if r == 'pods' else r}"
                 for r, q in _SHORT_OF.findall(message)]
        extra["short_of"] = [{"resource": r, "quantity": q} for r, q in _SHORT_OF.findall(message)]
        expl = (f"The kubelet on {node_phrase(node)} could not admit the pod: the node did not have room for it"
                + (f" (short of {', '.join(short)})" if short else "")
                + ", and its attempt to make room by evicting lower-priority pods (done only for critical pods) "
                f"found none to evict: {sentence(message)} This is not a device plugin error: the node is full"
                + (" (it runs as many pods as its kubelet's maxPods allows)" if any(r == "pods" for r, _ in
                                                                                   _SHORT_OF.findall(message)) else "")
                + ". Free room on that node or let the scheduler place the pod elsewhere.")
    elif reason == "UnexpectedAdmissionError" or "Allocate failed" in message:
        expl = (f"The kubelet on {node_phrase(node)} could not allocate a device or resource the pod asked for "
                f"(device plugin error): {sentence(message)}")
        low = message.lower()
        unhealthy = re.search(r"cannot allocate unhealthy devices (\S+?),", message)
        if "gpu is lost" in low or "fallen off the bus" in low:
            # kubernetes#97131, NVIDIA/k8s-device-plugin#231: a GPU the driver lost (Xid 79)
            expl += (" The driver has lost a GPU on that node (nvidia-smi says so): the hardware needs a reset or "
                     "a reboot of the node; until then keep GPU pods off it (cordon it).")
        elif unhealthy:
            # openshift/instaslice-operator#140, intel-device-plugins-for-kubernetes#1553
            expl += (f" The device plugin reports every {unhealthy.group(1)} device on that node unhealthy: the "
                     "devices or their driver are failing (or the plugin itself is restarting); check the plugin's "
                     "pod on that node and the devices (nvidia-smi for NVIDIA).")
        else:
            expl += " The device plugin on that node is unhealthy or out of sync; restarting it (or the kubelet) usually helps."
    elif reason in ("NodeAffinity", "MatchNodeSelector", "NodeSelectorMismatching") or "NodeAffinity" in message:
        expl = (f"The kubelet on {node_phrase(node)} refused the pod because the node does not match the pod's "
                f"nodeSelector/nodeAffinity. Typically the node's labels changed after scheduling, or the pod "
                f"set spec.nodeName directly.")
    elif reason == "TopologyAffinityError":
        expl = ("The kubelet's topology manager could not align the pod's CPUs/devices on one NUMA node "
                "(policy single-numa-node or restricted).")
    else:
        expl = f"The kubelet on {node_phrase(node)} refused to admit the pod ({reason}): {sentence(message)}"
    expl += " A rejected pod is not retried: delete it (its controller recreates it) after fixing the cause."
    yield Finding(
        code="pod.rejected", severity="error", container=None,
        title=f"rejected by the kubelet on {node_phrase(node)}: {reason or 'admission failed'}",
        explanation=expl, evidence=evidence,
        suggestions=[f"kubectl describe node {node_arg(ctx)}",
                     kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath={.spec.nodeName}"),
                     kubectl(ctx, "delete", "pod", ctx.name)],
        extra=extra,
    )
