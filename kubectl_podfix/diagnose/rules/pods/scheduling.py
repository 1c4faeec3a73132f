"""pod.unschedulable: break the scheduler's FailedScheduling message into its parts.

Wordings handled (kube-scheduler framework plugins and the older predicates):

* "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: },
  2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling,
  2 No preemption victims found for incoming pod." (1.25+; 1.31+ says "untolerated taint(s)")
* "0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't
  tolerate, 2 Insufficient cpu." (1.17-1.24) and "3 node(s) had taints that the pod didn't tolerate" (older)
* "No nodes are available that match all of the following predicates:: Insufficient cpu (3),
  PodToleratesNodeTaints (1)." and "fit failure summary on nodes : MatchNodeSelector (2)" (1.6-1.9)
* "pod has unbound immediate PersistentVolumeClaims", 'persistentvolumeclaim "x" not found',
  "running \"VolumeBinding\" filter plugin for pod \"x\": ..." (1.18-1.20), "no nodes available to schedule pods"
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.health import PENDING_GRACE
from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time, sentence
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl

_HEAD = re.compile(r"^\s*(?P<avail>\d+)/(?P<total>\d+) nodes are available:?\s*", re.I)
_PART_SPLIT = re.compile(r",\s*(?=\d+\s)")
_COUNTED = re.compile(r"^(?P<count>\d+)\s+(?P<reason>.+?)\s*$")
_LEGACY_PART = re.compile(r"(?P<reason>[A-Za-z][\w./ -]*?)\s*\((?P<count>\d+)\)")
_TAINT = re.compile(r"\{(?P<key>[^:}]+):\s*(?P<value>[^}]*)\}")

# (category, matcher) in match order; matchers are lowercase substrings or regexes.
_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("no-nodes", ("no nodes available",)),
    ("too-many-pods", ("insufficient pods",)),  # the old wording of "Too many pods" (max pods per node)
    ("resource-claim", ("resourceclaim", "resource claim", "cannot allocate all claims", "device class",
                        "dynamicresources")),
    ("resources", ("insufficient ", "podfitsresources", "didn't have enough resource", "node(s) did not have enough free storage")),
    ("too-many-pods", ("too many pods",)),
    ("taint", ("taint", "podtoleratesnodetaints", "tainttoleration")),
    ("cordoned", ("were unschedulable", "node(s) were unschedulable", "nodeunschedulable", "unschedulable")),
    ("node-not-ready", ("were not ready", "network unavailable", "had disk pressure", "had memory pressure",
                        "had pid pressure", "out of disk", "nodenotready")),
    ("volume", ("persistentvolumeclaim", "volume node affinity", "persistent volumes to bind", "max volume count",
                "volume zone", "volumebinding", "pvc", "volume")),
    ("node-affinity", ("node affinity/selector", "node selector", "node affinity", "matchnodeselector",
                       "didn't match the requested node name", "nodename", "hostname")),
    ("pod-anti-affinity", ("anti-affinity", "antiaffinity")),
    ("pod-affinity", ("pod affinity", "matchinterpodaffinity", "interpodaffinity")),
    ("topology-spread", ("topology spread", "podtopologyspread")),
    ("ports", ("free ports", "podfitshostports", "nodeports", "host port")),
]

_ADVICE = {
    "resources": "the pod requests more {what} than any node has free: lower its requests, free capacity, or add nodes",
    "too-many-pods": "the nodes are at their pod limit (max pods per node): add nodes or raise maxPods",
    "taint": "the pod does not tolerate the node taint(s) {what}: add a toleration if it should run there, or use other nodes",
    "cordoned": "the node(s) are cordoned (unschedulable): uncordon them (kubectl uncordon NODE) when maintenance is over",
    "node-not-ready": "the node(s) are not ready or under pressure: check kubectl describe node",
    "node-affinity": "no node has the labels the pod's nodeSelector/nodeAffinity asks for: fix the selector or label a node",
    "pod-anti-affinity": "pod anti-affinity forbids placing it next to pods already there: relax it (preferred instead of required) or add nodes",
    "pod-affinity": "pod affinity requires pods that are not on those nodes",
    "topology-spread": "topologySpreadConstraints cannot be met: relax whenUnsatisfiable or maxSkew, or add nodes in other zones",
    "ports": "the pod asks for a hostPort already used on those nodes: drop hostPort or run fewer replicas per node",
    "volume": "a PersistentVolumeClaim cannot be bound or its volume is not reachable from those nodes: check kubectl get pvc",
    "other": "see the scheduler's message",
}

_CONTROL_PLANE_TAINTS = ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane")

# The old scheduler (1.6-1.9) named the predicate each node failed, with the number of nodes that failed it:
# "No nodes are available that match all of the (following )?predicates:: Insufficient cpu (3),
# PodToleratesNodeTaints (1)." Each name -> (category, what it means, as the later scheduler words it).
# Predicates inside GeneralPredicates are all reported for a node; the others stop at a node's first failure.
_LEGACY: dict[str, tuple[str, str]] = {
    "PodFitsResources": ("resources", "not enough free cpu, memory or extended resources"),
    "GeneralPredicates": ("resources", "failed the general checks: free resources, host ports, node selector, "
                                       "node name"),
    "PodFitsHostPorts": ("ports", "didn't have free ports for the requested hostPort"),
    "PodFitsPorts": ("ports", "didn't have free ports for the requested hostPort"),
    "HostName": ("node-affinity", "didn't match the requested node name, spec.nodeName"),
    "PodFitsHost": ("node-affinity", "didn't match the requested node name, spec.nodeName"),
    "MatchNodeSelector": ("node-affinity", "didn't match the pod's node selector / node affinity"),
    "CheckNodeLabelPresence": ("node-affinity", "didn't have the requested labels"),
    "PodToleratesNodeTaints": ("taint", "had taints that the pod didn't tolerate"),
    "PodToleratesNodeNoExecuteTaints": ("taint", "had NoExecute taints that the pod didn't tolerate"),
    "TaintToleration": ("taint", "had taints that the pod didn't tolerate"),
    "NodeUnschedulable": ("cordoned", "were unschedulable, cordoned"),
    "CheckNodeUnschedulable": ("cordoned", "were unschedulable, cordoned"),
    "CheckNodeMemoryPressure": ("node-not-ready", "had memory pressure"),
    "NodeUnderMemoryPressure": ("node-not-ready", "had memory pressure"),
    "CheckNodeDiskPressure": ("node-not-ready", "had disk pressure"),
    "NodeUnderDiskPressure": ("node-not-ready", "had disk pressure"),
    "CheckNodePIDPressure": ("node-not-ready", "had PID pressure"),
    "NodeUnderPIDPressure": ("node-not-ready", "had PID pressure"),
    "CheckNodeCondition": ("node-not-ready", "were not ready, out of disk or without network"),
    "NodeNotReady": ("node-not-ready", "were not ready"),
    "NodeOutOfDisk": ("node-not-ready", "were out of disk"),
    "NodeNetworkUnavailable": ("node-not-ready", "had unavailable network"),
    "NodeUnknownCondition": ("node-not-ready", "had unknown conditions"),
    "NoVolumeZoneConflict": ("volume", "had no available volume zone: the pod's volume is in another zone"),
    "NoDiskConflict": ("volume", "had a disk conflict: the same GCE PD, EBS, RBD or iSCSI volume is already in use "
                                 "there"),
    "MaxVolumeCount": ("volume", "exceed the max volume count, attachable volumes per node"),
    "MaxEBSVolumeCount": ("volume", "exceed the max EBS volume count per node"),
    "MaxGCEPDVolumeCount": ("volume", "exceed the max GCE PD volume count per node"),
    "MaxAzureDiskVolumeCount": ("volume", "exceed the max Azure disk count per node"),
    "MaxCinderVolumeCount": ("volume", "exceed the max Cinder volume count per node"),
    "MaxCSIVolumeCountPred": ("volume", "exceed the CSI driver's max volume count per node"),
    "CheckVolumeBinding": ("volume", "didn't find available persistent volumes to bind, or had a volume node "
                                     "affinity conflict"),
    "VolumeBindingNoMatch": ("volume", "didn't find available persistent volumes to bind"),
    "VolumeNodeAffinityConflict": ("volume", "had volume node affinity conflict"),
    "MatchInterPodAffinity": ("pod-affinity", "didn't match the pod's affinity/anti-affinity rules"),
    "PodAffinityRulesNotMatch": ("pod-affinity", "didn't match pod affinity rules"),
    "PodAntiAffinityRulesNotMatch": ("pod-anti-affinity", "didn't match pod anti-affinity rules"),
    "ExistingPodsAntiAffinityRulesNotMatch": ("pod-anti-affinity", "didn't satisfy existing pods' anti-affinity rules"),
    "CheckServiceAffinity": ("other", "didn't match service affinity"),
    "EvenPodsSpread": ("topology-spread", "didn't match pod topology spread constraints"),
    "EvenPodsSpreadNotMatch": ("topology-spread", "didn't match pod topology spread constraints"),
}
_GENERAL = {"PodFitsResources", "GeneralPredicates", "PodFitsHostPorts", "PodFitsPorts", "HostName", "PodFitsHost",
            "MatchNodeSelector"}

# Taints the node lifecycle controller and the kubelet put on nodes: not something to tolerate.
_CONDITION_TAINTS = {
    "node.kubernetes.io/unreachable": ("node-not-ready", "the node stopped reporting to the API server (kubelet "
                                       "down, node off or cut off from the control plane)"),
    "node.kubernetes.io/not-ready": ("node-not-ready", "the node is not ready (kubelet, runtime or network plugin "
                                     "not working)"),
    "node.kubernetes.io/memory-pressure": ("node-not-ready", "the node is under memory pressure"),
    "node.kubernetes.io/disk-pressure": ("node-not-ready", "the node is under disk pressure"),
    "node.kubernetes.io/pid-pressure": ("node-not-ready", "the node is under PID pressure"),
    "node.kubernetes.io/network-unavailable": ("node-not-ready", "the node's network is not set up (CNI not ready)"),
    "node.kubernetes.io/unschedulable": ("cordoned", "the node is cordoned"),
    "node.cloudprovider.kubernetes.io/uninitialized": ("node-not-ready", "the cloud controller has not initialized "
                                                       "the node yet"),
}


def categorize(reason: str) -> str:
    low = reason.lower()
    for cat, needles in _CATEGORIES:
        if any(n in low for n in needles):
            return cat
    return "other"


def parse_message(message: str) -> dict:
    """Split a FailedScheduling message into {available, total, parts: [{count, reason, category, ...}], preemption}."""
    msg = (message or "").strip()
    out: dict = {"available": None, "total": None, "parts": [], "preemption": None, "raw": msg}
    # DRA's PostFilter adds "still not schedulable" to the message: noise, not a reason.
    msg = re.sub(r"\.?\s*still not schedulable,?", ".", msg)
    # ... and newer schedulers' "no new claims to deallocate" (kubernetes#141491), before "preemption:".
    msg = re.sub(r"\.?\s*no new claims to deallocate,?", ".", msg, flags=re.I)
    # volcano: "0/2 nodes are unavailable: 1 plugin NodeUnschedulable predicates failed node(s) were unschedulable"
    msg = re.sub(r"^(\s*\d+/\d+) nodes are unavailable:", r"\1 nodes are available:", msg, flags=re.I)
    msg = re.sub(r"(\d+ )plugin \w+ predicates failed ", r"\1", msg)
    main = msg
    if "preemption:" in msg:
        main, preemption = msg.split("preemption:", 1)
        main = main.rstrip().rstrip(".")
        out["preemption"] = preemption.strip().rstrip(".")
    # 1.18-1.20 wrapper: running "VolumeBinding" filter plugin for pod "x": <reason>
    m = re.search(r'running "?(\w+)"? (?:filter|PreFilter|prefilter) plugin for pod "[^"]*": (.*)', main, re.I)
    if m:
        main = m.group(2)
    if "nodes are available" in main.lower() and not _HEAD.match(main) and not re.match(
            r"\s*no nodes are available that match", main, re.I):
        idx = main.lower().index("nodes are available")
        pre = re.search(r"(\d+)/(\d+)\s*$", main[:idx])
        main = main[pre.start():] if pre else main[idx:]
    head = _HEAD.match(main)
    body = main
    if head:
        out["available"], out["total"] = int(head.group("avail")), int(head.group("total"))
        body = main[head.end():]
    body = body.strip().rstrip(".").strip()
    parts = []
    legacy = bool(re.search(r"match all of the (following )?predicates|fit failure summary", body, re.I))
    if legacy:
        tail = re.split(r"predicates:+|fit failure summary on nodes\s*:", body, maxsplit=1, flags=re.I)[-1]
        for m in _LEGACY_PART.finditer(tail):
            parts.append((int(m.group("count")), m.group("reason").strip()))
        out["legacy"] = True
    elif body:
        for chunk in _PART_SPLIT.split(body):
            chunk = chunk.strip().rstrip(".")
            cm = _COUNTED.match(chunk)
            if cm:
                parts.append((int(cm.group("count")), cm.group("reason")))
            elif chunk:
                parts.append((None, chunk))
    for count, reason in parts:
        part = {"count": count, "reason": reason, "category": categorize(reason)}
        if reason in _LEGACY:
            part["predicate"] = reason
            part["category"], part["meaning"] = _LEGACY[reason]
        taints = _TAINT.findall(reason)
        if taints:
            part["taints"] = [f"{k}={v.strip()}" if v.strip() else k for k, v in taints]
            keys = [k for k, _v in taints]
            if all(k in _CONDITION_TAINTS for k in keys):
                part["category"] = _CONDITION_TAINTS[keys[0]][0]
                part["meaning"] = "; ".join(_CONDITION_TAINTS[k][1] for k in keys)
        rm = re.match(r"insufficient (\S+)", reason, re.I)
        if rm:
            part["resource"] = rm.group(1)
        pm = re.search(r'persistentvolumeclaim "([^"]+)"', reason, re.I)
        if pm:
            part["pvc"] = pm.group(1)
        out["parts"].append(part)
    if not out["parts"] and "no nodes available" in msg.lower():
        out["parts"].append({"count": 0, "reason": "no nodes available to schedule pods", "category": "no-nodes"})
    if out.get("legacy") and out["parts"] and out["total"] is None:
        # No total in the old wording. A node fails every check of GeneralPredicates that it fails, but stops
        # at its first failing predicate otherwise: the most nodes of the first group plus the others.
        def in_general(p: dict) -> bool:
            return p.get("predicate") in _GENERAL or p["reason"].lower().startswith("insufficient ")
        general = [p["count"] for p in out["parts"] if in_general(p)]
        others = [p["count"] for p in out["parts"] if not in_general(p)]
        out["total"] = (max(general) if general else 0) + sum(others)
        out["total_estimated"] = True
        out["available"] = 0
    return out


# Filter plugins the default scheduler runs after NodeAffinity: a node reported under one of these matched the selector.
_AFTER_NODE_AFFINITY = {"resources", "too-many-pods", "ports", "volume", "topology-spread", "pod-affinity",
                        "pod-anti-affinity", "resource-claim"}


def blocking_parts(parsed: dict) -> list[dict]:
    """The parts to act on, most nodes first; control-plane taints (normal) last, and so the old scheduler's
    unnamed taints (PodToleratesNodeTaints), which on clusters of that era were mostly the masters'."""
    def cp_or_unnamed(p: dict) -> bool:
        cp = p["category"] == "taint" and all(t.split("=")[0] in _CONTROL_PLANE_TAINTS for t in p.get("taints", []) or ["x"])
        unnamed = p["category"] == "taint" and bool(p.get("predicate")) and not p.get("taints")
        return cp or unnamed

    # Nodes the pod's own nodeSelector/nodeAffinity leaves out are its choice, not what blocks it, when the nodes it
    # does select fail for other reasons (kubernetes#141491: 397 of 401 nodes not selected, the 4 others full or
    # holding a replica): those reasons come first. Only the checks the scheduler runs after NodeAffinity count (a
    # node is reported under its first failing filter): a tainted or cordoned node may not match the selector either.
    others = any(p["category"] in _AFTER_NODE_AFFINITY for p in parsed["parts"])

    def key(p: dict):
        return (cp_or_unnamed(p), others and p["category"] == "node-affinity", -(p.get("count") or 0))
    return sorted(parsed["parts"], key=key)


def _claim_advice(reason: str) -> str:
    """What a DRA (ResourceClaim) part of the scheduler's message means."""
    low = reason.lower()
    dc = re.search(r"device class (\S+) does not exist", reason, re.I)
    if dc:
        return (f"the DeviceClass {dc.group(1)} a ResourceClaim asks for does not exist: its DRA driver is not "
                f"installed, or the class name is wrong (kubectl get deviceclass)")
    if "in use" in low:
        return ("the ResourceClaim is already reserved by another pod: a claim named with resourceClaimName is "
                "shared, so this pod waits until it is released (a resourceClaimTemplate gives each pod its own)")
    if "cannot allocate all claims" in low:
        return ("no node has free devices matching the pod's ResourceClaims: every matching device is allocated, "
                "or the claims' selectors are too strict (kubectl get resourceslices)")
    if "not available on the node" in low:
        return "the ResourceClaim is allocated to devices on other nodes"
    return "the pod's ResourceClaims (DRA) cannot be satisfied on those nodes"


# What each volume reason of the scheduler means: (substring of the lowercased reason, advice). The first match wins.
_VOLUME_ADVICE: tuple[tuple[str, str], ...] = (
    ("volume node affinity conflict",
     "the pod's PersistentVolume can only be used on the nodes its nodeAffinity names (a zone for a cloud disk, one "
     "host for a local volume), and those nodes are not among the ones the pod can use: the volume's zone or host and "
     "the pod's other constraints disagree, or the node that held a local volume is gone (kubectl get pv -o "
     "yaml shows its nodeAffinity); for zonal disks a StorageClass with volumeBindingMode WaitForFirstConsumer "
     "creates the disk where the pod can run"),
    ("didn't find available persistent volumes to bind",
     "no free PersistentVolume matches the claim on these nodes (storageClassName, size, access modes, node "
     "affinity): create one (local and static volumes are not provisioned by themselves), or use a StorageClass "
     "with a provisioner"),
    ("unbound immediate persistentvolumeclaims",
     "a claim with volumeBindingMode Immediate is not bound yet: its provisioner has not made a volume for it "
     "(kubectl describe pvc says why)"),
    ("max volume count",
     "those nodes already have as many volumes attached as they allow (the CSI driver's or the cloud's per-node "
     "limit): spread the pods, or use nodes that take more volumes"),
    ("volume zone", "the pod's volume is in a zone where none of these nodes are"),
    ("not found", "the pod names a PersistentVolumeClaim that does not exist"),
    ("being deleted", "the pod's PersistentVolumeClaim is being deleted"),
)


def _volume_advice(reason: str) -> str | None:
    low = reason.lower()
    return next((advice for needle, advice in _VOLUME_ADVICE if needle in low), None)


def _advice(part: dict, narrowing: bool = False) -> str:
    cat = part["category"]
    if cat == "volume" and not part.get("predicate") and _volume_advice(part["reason"]):
        return _volume_advice(part["reason"]) or ""
    if cat == "node-affinity" and narrowing:
        return ("the pod's nodeSelector/nodeAffinity leaves these nodes out, which is its own choice: what keeps it "
                "off the nodes it does select are the other reasons; widen the selector only if more nodes may run it")
    if cat == "no-nodes":
        return "the cluster has no schedulable nodes at all: add nodes"
    if cat == "resource-claim":
        return _claim_advice(part["reason"])
    taints = part.get("taints") or []
    if taints and all(t.split("=")[0] in _CONDITION_TAINTS for t in taints):
        return (f"{part.get('meaning')}: the taint {', '.join(taints)} is set by Kubernetes for that condition, so fix "
                "the node (kubectl describe node); a toleration would only place the pod on a broken node")
    if cat == "taint":
        if taints:
            return _ADVICE["taint"].format(what=", ".join(taints))
        return ("the nodes have taints the pod does not tolerate (this message does not name them: see the nodes' "
                "taints); add a toleration if the pod should run there, or use other nodes")
    if cat == "resources":
        res = part.get("resource")
        if res == "ephemeral-storage":
            return ("the pod requests more ephemeral-storage (local disk) than any node has allocatable and free: "
                    "lower the request, free disk on the nodes, or add nodes; a node whose kubelet reports no "
                    "allocatable ephemeral-storage (old clusters without LocalStorageCapacityIsolation) fits no "
                    "request at all")
        return _ADVICE["resources"].format(what=res or "cpu, memory or extended resources")
    if part.get("meaning") and cat in ("node-not-ready", "volume", "other", "pod-affinity"):
        base = {"node-not-ready": "check kubectl describe node", "volume": "check the pod's volumes and PVCs "
                "(kubectl get pvc)", "pod-affinity": "relax the pod's (anti-)affinity or add nodes",
                "other": "see the scheduler's message"}[cat]
        return base if part.get("predicate") else f"the node(s) {part['meaning']}: {base}"
    return _ADVICE.get(cat, _ADVICE["other"]).format(what="")


def _requests(ctx: PodContext) -> dict[str, str]:
    total: dict[str, list[str]] = {}
    for c in dig(ctx.pod, "spec.containers", []) or []:
        for res, val in (dig(c, "resources.requests") or {}).items():
            total.setdefault(res, []).append(str(val))
    return {k: " + ".join(v) for k, v in total.items()}


_PROVISIONER_PREFIX = re.compile(r"^\s*(?:Failed|Could not) to schedule pod,\s*|^\s*Could not schedule pod,\s*", re.I)


def _provisioner_event(ev: dict) -> bool:
    """Karpenter's FailedScheduling (component karpenter; "Failed to schedule pod, <why no node can be added>")."""
    comp = str(dig(ev, "source.component") or ev.get("reportingComponent") or "").lower()
    return comp == "karpenter" or bool(_PROVISIONER_PREFIX.match(ev.get("message") or ""))


def _provisioner_reason(message: str) -> str:
    """Karpenter's reason, short: per NodePool "incompatible with nodepool "x", daemonset overhead={...}, <why>"."""
    text = _PROVISIONER_PREFIX.sub("", message).strip()
    text = re.sub(r",?\s*daemonset overhead=\{[^}]*\}", "", text)
    return text if len(text) <= 300 else text[:297].rstrip(" ,") + "..."


def unschedulable_rule(ctx: PodContext) -> Iterable[Finding]:
    pod = ctx.pod
    if dig(pod, "spec.nodeName") or dig(pod, "status.phase") not in (None, "Pending"):
        return
    if dig(pod, "metadata.deletionTimestamp"):
        return
    conds = [c for c in dig(pod, "status.conditions", []) or []
             if isinstance(c, dict) and c.get("type") == "PodScheduled"]
    cond = next((c for c in conds if c.get("reason") == "Unschedulable"), conds[0] if conds else None)
    if cond and cond.get("reason") == "Unschedulable" and not cond.get("status"):
        cond = {**cond, "status": "False"}  # a partial condition (k8sgpt's test pods have no status field)
    gates = [g.get("name") for g in dig(pod, "spec.schedulingGates", []) or [] if isinstance(g, dict)]
    events = [ev for ev in ctx.events if ev.get("reason") in ("FailedScheduling", "Unschedulable")]
    # Karpenter records its own FailedScheduling ("Failed to schedule pod, incompatible with nodepool ...") on the
    # pod beside the scheduler's: why it cannot add a node, not why no node fits. The scheduler's words decide.
    provisioner = [ev for ev in events if _provisioner_event(ev)]
    events = [ev for ev in events if not _provisioner_event(ev)] or (
        [] if cond and cond.get("message") else provisioner)
    scale = [ev for ev in ctx.events if ev.get("reason") in ("TriggeredScaleUp", "NotTriggerScaleUp", "Nominated")]
    if gates or (cond and cond.get("reason") == "SchedulingGated"):
        yield Finding(
            code="pod.unschedulable", severity="warning", container=None,
            title=("waiting for scheduling gates: " + ", ".join(g for g in gates if g) if any(gates)
                   else "waiting for scheduling gates"),
            explanation=("The pod has schedulingGates; the scheduler ignores it until a controller removes them. "
                         "Something (a queue controller such as Kueue, or a custom operator) is expected to lift them."
                         + ("" if any(gates) else " The gates themselves are not in the data (only the "
                            "SchedulingGated condition is): the pod spec shows which.")),
            evidence=([f"spec.schedulingGates: {', '.join(g for g in gates if g)}"] if any(gates) else [])
            + ([f"condition PodScheduled=False ({cond.get('reason')})"
                + (f": {cond.get('message')}" if cond.get("message") else "")] if cond else []),
            suggestions=[kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath={.spec.schedulingGates}")],
            extra={"scheduling_gates": gates, "blocking": [{"category": "scheduling-gates", "reason": "schedulingGates"}]},
        )
        return
    message = ""
    if cond and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
        message = cond.get("message") or ""
    if events:
        message = events[-1].get("message") or message
    if not message and not (cond and cond.get("status") == "False"):
        return
    parsed = parse_message(message)
    blocking = blocking_parts(parsed)
    evidence = []
    if cond and cond.get("status") == "False":
        evidence.append("condition PodScheduled=False" + (f" ({cond.get('reason')})" if cond.get("reason") else "")
                        + (f" since {cond.get('lastTransitionTime')}" if cond.get("lastTransitionTime") else ""))
    if events:
        evidence.append(describe_event(events[-1], ctx.now))
    elif message:
        evidence.append(f"scheduler: {message}")
    for ev in scale[-2:]:
        evidence.append(describe_event(ev, ctx.now))
    host_ports = [f"{port.get('hostPort')}/{port.get('protocol') or 'TCP'}"
                  for c in (dig(pod, "spec.containers", []) or []) + (dig(pod, "spec.initContainers", []) or [])
                  for port in c.get("ports") or [] if isinstance(port, dict) and port.get("hostPort")]
    if host_ports:
        evidence.append("pod hostPorts: " + ", ".join(host_ports))
    reqs = _requests(ctx)
    if reqs:
        evidence.append("pod requests: " + ", ".join(f"{k}={v}" for k, v in sorted(reqs.items())))
    sel = dig(pod, "spec.nodeSelector")
    if isinstance(sel, dict) and sel:
        evidence.append("nodeSelector: " + ", ".join(f"{k}={v}" for k, v in sorted(sel.items())))
    claims = [c for c in dig(pod, "spec.resourceClaims", []) or [] if isinstance(c, dict)]
    if claims and any(p["category"] == "resource-claim" for p in parse_message(message)["parts"]):
        named = []
        for c in claims:
            src = c.get("source") if isinstance(c.get("source"), dict) else c
            target = src.get("resourceClaimName") or src.get("resourceClaimTemplateName") or "?"
            named.append(f"{c.get('name') or '?'} -> {'ResourceClaim' if src.get('resourceClaimName') else 'template'}"
                         f" {target}")
        evidence.append("pod resourceClaims: " + ", ".join(named))
    # PVCs named by the pod, checked against the data when available
    pvc_notes = []
    for vol in dig(pod, "spec.volumes", []) or []:
        claim = dig(vol, "persistentVolumeClaim.claimName")
        if not claim:
            continue
        obj = ctx.related("PersistentVolumeClaim", claim)
        if obj is not None:
            phase = dig(obj, "status.phase") or "not bound"
            if phase != "Bound":
                pvc_notes.append(f'PVC "{claim}" is {phase} (storageClass {dig(obj, "spec.storageClassName") or "default"})')
        elif ctx.knows("PersistentVolumeClaim"):
            pvc_notes.append(f'PVC "{claim}" does not exist')
    evidence += pvc_notes
    if blocking:
        lines = []
        for p in blocking:
            n = p.get("count")
            lines.append(f"{n} node(s): {p['reason']}" if n is not None else p["reason"])
        evidence.append("blocking: " + "; ".join(lines))
    top = blocking[0] if blocking else None
    total = parsed.get("total")
    if top:
        if total is not None and parsed.get("total_estimated"):
            expl = (f"The scheduler cannot place the pod: none of the nodes (about {total}) fits. The numbers count "
                    "the nodes that failed each check (the old scheduler named its predicates).")
        elif total is not None:
            expl = f"The scheduler cannot place the pod: 0 of {total} nodes fit."
        else:
            expl = "The scheduler cannot place the pod."
        narrowing = any(p["category"] in _AFTER_NODE_AFFINITY for p in blocking)
        for p in blocking:
            n = p.get("count")
            label = p["reason"] + (f" ({p['meaning']})" if p.get("predicate") else "")
            advice = _advice(p, narrowing)
            if p["category"] == "ports" and host_ports:
                advice += f" (this pod asks for hostPort {', '.join(host_ports)})"
            if n is None:
                expl += f" {label}: {advice}."
            elif parsed.get("legacy"):
                expl += f" {n} node(s) failed {label}: {advice}."
            else:
                expl += f" {n} node(s): {label}: {advice}."
        cp = [p for p in blocking if p["category"] == "taint" and p is not top]
        if cp and all(p.get("taints") for p in cp) and all(
                t.split("=")[0] in _CONTROL_PLANE_TAINTS for p in cp for t in p.get("taints", [])):
            expl += " (Control-plane nodes are tainted on purpose; the other nodes are the ones to fix.)"
    else:
        expl = f"The scheduler cannot place the pod: {sentence(message or 'PodScheduled is False')}"
        if not message.strip():
            expl = ("The scheduler cannot place the pod (PodScheduled is False, reason "
                    f"{(cond or {}).get('reason') or 'none'}), but it recorded no reason: the condition's message "
                    "is empty and no FailedScheduling event is in the data (events expire after an hour). The "
                    "scheduler's events or its log say why; podfix does not guess.")
    if parsed.get("preemption"):
        if "not helpful" in parsed["preemption"].lower() or "no preemption victims" in parsed["preemption"].lower():
            expl += " Evicting lower-priority pods would not help either."
    if any(ev.get("reason") == "TriggeredScaleUp" for ev in scale):
        expl += " The cluster autoscaler is adding a node for it; this may resolve itself."
    if provisioner and provisioner[-1] not in events:
        said = _provisioner_reason(provisioner[-1].get("message") or "")
        expl += f" Karpenter cannot add a node for it either: {sentence(said)}"
        evidence.append(describe_event(provisioner[-1], ctx.now))
    sugs = []
    cats = {p["category"] for p in blocking}
    if "resources" in cats or "too-many-pods" in cats:
        sugs.append("kubectl describe nodes | grep -A 8 'Allocated resources'")
    if "taint" in cats:
        sugs.append("kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints")
    if "node-affinity" in cats:
        sugs.append("kubectl get nodes --show-labels")
    if "cordoned" in cats:
        sugs.append("kubectl get nodes (SchedulingDisabled = cordoned); kubectl uncordon NODE")
    if "volume" in cats or pvc_notes:
        sugs.append(kubectl(ctx, "get", "pvc"))
        sugs.append(kubectl(ctx, "describe", "pvc"))
    if "node-not-ready" in cats:
        sugs.append("kubectl describe nodes   (conditions, taints, and the kubelet's last heartbeat)")
    if "taint" in cats and any(not p.get("taints") for p in blocking if p["category"] == "taint"):
        sugs.append("kubectl describe nodes | grep -i taints")
    if "resource-claim" in cats:
        sugs.append(kubectl(ctx, "get", "resourceclaim") + "; kubectl get deviceclass,resourceslices")
    if not message.strip():
        sugs.append(kubectl(ctx, "get", "events", "--field-selector", f"involvedObject.name={ctx.name}"))
        sugs.append("kubectl logs -n kube-system -l component=kube-scheduler --tail=200 (the scheduler's log)")
    sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
    since = (cond or {}).get("lastTransitionTime") or (events[0].get("firstTimestamp") if events else None)
    waited = (ctx.now - parse_time(since)).total_seconds() if parse_time(since) else None
    sev = "warning" if any(ev.get("reason") == "TriggeredScaleUp" for ev in scale) else "error"
    created = parse_time(dig(pod, "metadata.creationTimestamp"))
    pending_for = (ctx.now - created).total_seconds() if created else None
    if sev == "error" and pending_for is not None and pending_for < PENDING_GRACE:
        # A pod scheduling for a few seconds (a volume binding, a node coming up) is not failing yet.
        sev = "warning"
        expl += f" The pod was created only {age(pending_for)} ago: this may still resolve by itself."
    title = "cannot be scheduled"
    if top:
        count = top.get("count")
        reason = top["reason"] if len(top["reason"]) <= 120 else top["reason"][:117].rstrip(" ,") + "..."
        title += ": " + reason + (f" ({top['meaning']})" if top.get("predicate") else "") + (
            f" ({count} node{'s' if count != 1 else ''})" if count else "")
    yield Finding(
        code="pod.unschedulable", severity=sev, container=None, title=title,
        explanation=expl, evidence=evidence, suggestions=sugs, since=since,
        extra={"available": parsed.get("available"), "total": total, "blocking": blocking,
               "preemption": parsed.get("preemption"), "message": message, "pending_seconds": waited},
    )


RULES = (unschedulable_rule,)
