"""Pod family: failures of the pod as a whole, before or around its containers.

Scheduling (``scheduling.py``), the node going away, kubelet admission
rejections, preemption, node-pressure eviction, the active deadline, volume
mounts, the pod sandbox (network / pause image), and deletions that never
finish. Findings here have ``container`` None.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, event_time, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl
from kubectl_podfix.diagnose.rules.containers.resources import format_bytes, metrics_usage, parse_quantity
from kubectl_podfix.diagnose.rules.scheduling import unschedulable_rule

CODES: dict[str, str] = {
    "pod.unschedulable": "the scheduler cannot find a node for the pod",
    "pod.node-lost": "the pod's node stopped reporting (NodeLost, NotReady, shut down)",
    "pod.rejected": "the kubelet refused to admit the pod on its node (OutOfcpu, NodeAffinity, ...)",
    "pod.preempted": "the pod was preempted to make room for a higher-priority pod",
    "pod.evicted": "the kubelet evicted the pod because the node ran low on a resource",
    "pod.deadline-exceeded": "the pod ran longer than its activeDeadlineSeconds",
    "pod.volume-mount-failed": "a volume could not be attached or mounted (FailedMount / FailedAttachVolume)",
    "pod.sandbox-failed": "the pod sandbox (network, pause container) could not be created",
    "pod.stuck-terminating": "the pod was deleted long ago but has not gone away",
}

SUPERSEDES: dict[str, set[str]] = {
    "pod.node-lost": {"pod.stuck-terminating"},
}

STUCK_AFTER = 120  # seconds past the deletion deadline before a terminating pod counts as stuck

_REJECT_REASONS = {"NodeAffinity", "MatchNodeSelector", "NodeSelectorMismatching", "UnexpectedAdmissionError",
                   "TopologyAffinityError", "SMTAlignmentError", "SysctlForbidden", "AppArmor",
                   "PodOSNotSupported", "PodOSSelectorNodeLabelDoesNotMatch", "InitContainerRestartPolicyForbidden",
                   "TaintToleration", "NodePorts", "InvalidNodeInfo", "UnknownReason", "NodeResourcesFit",
                   "PredicateFailed", "CPUManagerError", "DeviceManagerError"}
_NODE_SHUTDOWN = re.compile(r"node shutdown|imminent node shutdown|node is shutting", re.I)


def _status(ctx: PodContext) -> tuple[str, str]:
    return dig(ctx.pod, "status.reason") or "", (dig(ctx.pod, "status.message") or "").strip()


def _condition(ctx: PodContext, type_: str) -> dict | None:
    return next((c for c in dig(ctx.pod, "status.conditions", []) or [] if c.get("type") == type_), None)


def _node_name(ctx: PodContext) -> str:
    return dig(ctx.pod, "spec.nodeName") or ""


def _node_ready(node: dict | None) -> tuple[str | None, dict | None]:
    """(status of the node's Ready condition, the condition), or (None, None) without a node."""
    if not node:
        return None, None
    cond = next((c for c in dig(node, "status.conditions", []) or [] if c.get("type") == "Ready"), None)
    return ((cond or {}).get("status") or "Unknown"), cond


def _latest(ctx: PodContext, reasons: set[str]) -> list[dict]:
    return [ev for ev in ctx.events if ev.get("reason") in reasons]


def _pod_started(ctx: PodContext) -> bool:
    """Whether any app container has started (so pre-start warnings are history)."""
    for st in dig(ctx.pod, "status.containerStatuses", []) or []:
        if dig(st, "state.running") or dig(st, "state.terminated") or dig(st, "lastState.terminated"):
            return True
    return False


def _after_start(ctx: PodContext, evs: list[dict]) -> list[dict]:
    """Events newer than the most recent container start (all of them when nothing started)."""
    starts = [parse_time(dig(st, "state.running.startedAt")) for st in dig(ctx.pod, "status.containerStatuses", []) or []]
    starts = [s for s in starts if s]
    if not starts:
        return evs
    latest = max(starts)
    return [ev for ev in evs if (event_time(ev) or latest) > latest]


# -- node lost ----------------------------------------------------------------------------

def node_lost_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = _status(ctx)
    node_name = _node_name(ctx)
    node = ctx.node()
    ready, ready_cond = _node_ready(node)
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
    dt = _condition(ctx, "DisruptionTarget")
    if dt and dt.get("status") == "True" and dt.get("reason") == "DeletionByTaintManager":
        kind = kind or "taint-eviction"
        evidence.append(f"condition DisruptionTarget ({dt.get('reason')}): {dt.get('message') or ''}".strip())
    taint_ev = _latest(ctx, {"TaintManagerEviction"})
    nr_ev = [ev for ev in _latest(ctx, {"NodeNotReady"})]
    pod_ready = _condition(ctx, "Ready")
    if node is not None and ready in ("False", "Unknown") and dig(ctx.pod, "status.phase") in ("Running", "Pending", None):
        kind = kind or "not-ready"
        evidence.append(f"node {node_name} Ready={ready} ({(ready_cond or {}).get('reason') or '?'}) since "
                        f"{(ready_cond or {}).get('lastTransitionTime') or '?'}: {(ready_cond or {}).get('message') or ''}".rstrip(": "))
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
    if kind == "shutdown":
        expl = (f"The node {node_name or '?'} was shut down (graceful node shutdown) and the kubelet terminated the "
                f"pod first. Its controller, if any, creates a replacement elsewhere.")
    elif kind == "lost" or kind == "taint-eviction":
        expl = (f"The node {node_name or '?'} stopped reporting to the API server, so the control plane marked the "
                f"pod lost and deleted it. The containers may still be running on that machine if it is only "
                f"partitioned.")
    else:
        expl = (f"The node {node_name or '?'} is not Ready (the kubelet stopped posting status, or reports a "
                f"problem), so the pod's state is unknown and it is not Ready. After the tolerationSeconds of the "
                f"node.kubernetes.io/unreachable taint (300s by default) it is evicted and replaced.")
    if deleting:
        expl += (f" The pod has been terminating since {deleting}: a pod on an unreachable node cannot finish "
                 f"deleting until the node returns or the Node object is deleted; once the machine is confirmed "
                 f"down, force-delete it.")
    sugs = [f"kubectl describe node {node_name or 'NODE'}", "kubectl get nodes"]
    if deleting:
        sugs.append(f"kubectl delete pod {ctx.name} -n {ctx.namespace} --force --grace-period=0 "
                    f"(only once the node is confirmed down; for StatefulSets this matters)")
    yield Finding(
        code="pod.node-lost", severity="error", container=None,
        title=f"node {node_name or '?'} " + {"shutdown": "was shut down", "lost": "is lost (unresponsive)",
                                              "taint-eviction": "is unreachable: pod evicted",
                                              "not-ready": "is not Ready"}[kind],
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=(ready_cond or {}).get("lastTransitionTime"),
        extra={"node": node_name, "kind": kind, "node_ready": ready, "deleting": bool(deleting)},
    )


# -- admission rejection ------------------------------------------------------------------

_OUT_OF = re.compile(r"Node didn't have enough resource: (?P<res>[^,]+), requested: (?P<req>\d+), "
                     r"used: (?P<used>\d+), capacity: (?P<cap>\d+)")


def rejected_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = _status(ctx)
    if dig(ctx.pod, "status.phase") != "Failed" and not reason:
        return
    is_reject = reason.startswith("OutOf") or reason in _REJECT_REASONS or message.startswith("Pod was rejected")
    if not is_reject or reason == "Evicted":  # "Pod was rejected: The node had condition: [DiskPressure]." is evicted_rule's
        return
    evidence = [f"status: Failed, reason {reason}: {message}"]
    evs = _latest(ctx, {reason}) if reason else []
    for ev in evs[-1:]:
        evidence.append(describe_event(ev, ctx.now))
    node = _node_name(ctx)
    m = _OUT_OF.search(message)
    extra: dict = {"reason": reason, "node": node, "message": message}
    if m:
        res = m.group("res")
        req, used, cap = int(m.group("req")), int(m.group("used")), int(m.group("cap"))
        unit = "m" if res == "cpu" else ""
        extra.update({"resource": res, "requested": req, "used": used, "capacity": cap})
        fmt = (lambda v: f"{v}{unit}") if res != "memory" else (lambda v: format_bytes(v))
        expl = (f"The kubelet on {node or '?'} refused to run the pod: it needs {fmt(req)} {res}, but "
                f"{fmt(used)} of the node's {fmt(cap)} is already taken. The scheduler thought it fitted, so "
                f"either the pod was assigned with spec.nodeName (bypassing the scheduler), or it raced with pods "
                f"the scheduler had not yet seen (often after a node restart, or with static pods).")
    elif reason == "UnexpectedAdmissionError" or "Allocate failed" in message:
        expl = (f"The kubelet on {node or '?'} could not allocate a device or resource the pod asked for "
                f"(device plugin error): {message}. The device plugin on that node is unhealthy or out of sync; "
                f"restarting it (or the kubelet) usually helps.")
    elif reason in ("NodeAffinity", "MatchNodeSelector", "NodeSelectorMismatching") or "NodeAffinity" in message:
        expl = (f"The kubelet on {node or '?'} refused the pod because the node does not match the pod's "
                f"nodeSelector/nodeAffinity. Typically the node's labels changed after scheduling, or the pod "
                f"set spec.nodeName directly.")
    elif reason == "TopologyAffinityError":
        expl = ("The kubelet's topology manager could not align the pod's CPUs/devices on one NUMA node "
                "(policy single-numa-node or restricted).")
    else:
        expl = f"The kubelet on {node or '?'} refused to admit the pod ({reason}): {message}."
    expl += " A rejected pod is not retried: delete it (its controller recreates it) after fixing the cause."
    yield Finding(
        code="pod.rejected", severity="error", container=None,
        title=f"rejected by the kubelet on {node or '?'}: {reason or 'admission failed'}",
        explanation=expl, evidence=evidence,
        suggestions=[f"kubectl describe node {node or 'NODE'}",
                     kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath={.spec.nodeName}"),
                     kubectl(ctx, "delete", "pod", ctx.name)],
        extra=extra,
    )


# -- preemption -----------------------------------------------------------------------------

_PREEMPTED_BY = re.compile(r"Preempted by (?:pod )?(?P<by>\S+?)(?: on node (?P<node>\S+?))?\.?$")


def preempted_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = _status(ctx)
    dt = _condition(ctx, "DisruptionTarget")
    evs = _latest(ctx, {"Preempted", "Preempting"})
    by_scheduler = bool(dt and dt.get("status") == "True" and dt.get("reason") in (
        "PreemptionByScheduler", "PreemptionByKubeScheduler"))
    by_kubelet = reason == "Preempting" or bool(dt and dt.get("status") == "True" and dt.get("reason") == "TerminationByKubelet"
                                                and "preempt" in (dt.get("message") or "").lower())
    if not (by_scheduler or by_kubelet or evs):
        return
    evidence = []
    if reason == "Preempting":
        evidence.append(f"status.reason: Preempting: {message}")
    if dt and dt.get("status") == "True":
        evidence.append(f"condition DisruptionTarget ({dt.get('reason')}): {dt.get('message') or ''}".rstrip(": "))
    for ev in evs[-2:]:
        evidence.append(describe_event(ev, ctx.now))
    by = node = None
    for ev in evs:
        m = _PREEMPTED_BY.search((ev.get("message") or "").strip())
        if m:
            by, node = m.group("by"), m.group("node")
    prio = dig(ctx.pod, "spec.priority")
    pclass = dig(ctx.pod, "spec.priorityClassName")
    if by_kubelet and not by_scheduler:
        expl = (f"The kubelet on {_node_name(ctx) or '?'} stopped this pod to admit a critical pod "
                f"(system-node-critical / system-cluster-critical) that did not fit otherwise.")
    else:
        expl = ("The scheduler evicted this pod to make room for a higher-priority pod"
                + (f" ({by}" + (f" on node {node}" if node else "") + ")" if by else "") + ".")
    expl += (f" This pod's priority is {prio if prio is not None else 0}"
             + (f" (priorityClassName {pclass})" if pclass else " (no priorityClassName)")
             + ". Its controller, if any, creates a replacement, which may stay Pending until capacity frees up.")
    yield Finding(
        code="pod.preempted", severity="error" if dig(ctx.pod, "status.phase") == "Failed" else "warning",
        container=None, title="preempted by " + ("the kubelet for a critical pod" if by_kubelet and not by_scheduler
                                                  else f"a higher-priority pod{' ' + by if by else ''}"),
        explanation=expl, evidence=evidence,
        suggestions=["kubectl get priorityclass",
                     "give the workload a PriorityClass (and a PodDisruptionBudget) if it must not be preempted",
                     "add capacity so preemption is not needed"],
        extra={"by": by, "node": node or _node_name(ctx), "priority": prio, "priority_class": pclass,
               "preemptor": "kubelet" if by_kubelet and not by_scheduler else "scheduler"},
    )


# -- eviction -------------------------------------------------------------------------------

_LOW = re.compile(r"The node was low on resource: (?P<res>[\w.-]+)\.")
_THRESHOLD = re.compile(r"Threshold quantity: (?P<thr>[^,]+), available: (?P<avail>[^.]+?)\.\s")
_CONTAINER_USE = re.compile(
    r"Container (?P<name>\S+) was using (?P<use>\S+?), (?:request is (?P<req>\S+?), has larger consumption of "
    r"(?P<res>[\w.-]+)|which exceeds its request of (?P<req_old>\S+?))\.")
_POD_USE = re.compile(r"Pod (?P<name>\S+) was using (?P<use>\S+?), request is (?P<req>\S+?), has larger consumption")
_CONDITION = re.compile(r"The node had condition: \[?(?P<cond>[\w, ]+)\]?\.")
_ES_CONTAINER = re.compile(r'Container (?P<name>\S+) exceeded its local ephemeral storage limit "?(?P<limit>[^".]+)"?')
_ES_POD = re.compile(r"Pod ephemeral local storage usage exceeds the total limit of containers (?P<limit>\S+?)\.?$", re.M)
_EMPTYDIR = re.compile(r'Usage of EmptyDir volume "(?P<vol>[^"]+)" exceeds the limit "(?P<limit>[^"]+)"')

_RESOURCE_WORDS = {"memory": "memory", "ephemeral-storage": "disk space (ephemeral storage)",
                   "nodefs": "disk space", "imagefs": "image disk space", "inodes": "inodes",
                   "nodefsInodes": "inodes", "pids": "process IDs"}


def _human(quantity: str | None, resource: str | None) -> str:
    """A byte quantity as the message wrote it, plus a readable size when they differ ("48458972Ki (46.2Gi)")."""
    if resource not in ("memory", "ephemeral-storage") or not quantity:
        return str(quantity)
    value = parse_quantity(quantity)
    readable = format_bytes(value) if value else None
    return f"{quantity} ({readable})" if readable and readable != quantity and value and value >= 2**20 else str(quantity)


def evicted_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = _status(ctx)
    evs = [ev for ev in _latest(ctx, {"Evicted"})]
    if reason != "Evicted" and not (evs and dig(ctx.pod, "status.phase") == "Failed"):
        return
    text = message or (evs[-1].get("message") if evs else "") or ""
    evidence = [f"status: Failed, reason Evicted: {text}"]
    for ev in evs[-1:]:
        evidence.append(describe_event(ev, ctx.now))
    extra: dict = {"node": _node_name(ctx), "message": text}
    res = None
    m = _LOW.search(text)
    if m:
        res = m.group("res")
    t = _THRESHOLD.search(text + " ")
    if t:
        extra["threshold"], extra["available"] = t.group("thr").strip(), t.group("avail").strip()
    users = []
    for cm in _CONTAINER_USE.finditer(text):
        users.append({"container": cm.group("name"), "usage": cm.group("use"),
                      "request": cm.group("req") or cm.group("req_old")})
    pm = _POD_USE.search(text)
    if pm:
        users.append({"pod": pm.group("name"), "usage": pm.group("use"), "request": pm.group("req")})
    kind = "pressure"
    limit_hit = None
    if _ES_CONTAINER.search(text):
        e = _ES_CONTAINER.search(text)
        kind, res, limit_hit = "container-limit", "ephemeral-storage", {"container": e.group("name"), "limit": e.group("limit")}
    elif _ES_POD.search(text):
        kind, res, limit_hit = "pod-limit", "ephemeral-storage", {"limit": _ES_POD.search(text).group("limit")}
    elif _EMPTYDIR.search(text):
        e = _EMPTYDIR.search(text)
        kind, res, limit_hit = "emptydir-limit", "ephemeral-storage", {"volume": e.group("vol"), "limit": e.group("limit")}
    cond = _CONDITION.search(text)
    if cond and not res:
        kind = "admission"
        c = cond.group("cond")
        res = {"MemoryPressure": "memory", "DiskPressure": "ephemeral-storage", "PIDPressure": "pids"}.get(c.strip(), c)
    extra.update({"resource": res, "kind": kind, "containers": users, "limit": limit_hit})
    # requests from the spec, for containers the message does not cover
    specs = {c.get("name"): c for c in dig(ctx.pod, "spec.containers", []) or []}
    words = _RESOURCE_WORDS.get(res or "", res or "a resource")
    if kind == "container-limit":
        expl = (f"The kubelet evicted the pod because container {limit_hit['container']} wrote more to its writable "
                f"layer and logs than its ephemeral-storage limit of {limit_hit['limit']}.")
    elif kind == "pod-limit":
        expl = (f"The kubelet evicted the pod because its containers and emptyDir volumes together used more local "
                f"disk than the sum of their ephemeral-storage limits ({limit_hit['limit']}).")
    elif kind == "emptydir-limit":
        expl = (f"The kubelet evicted the pod because emptyDir volume {limit_hit['volume']} grew past its sizeLimit "
                f"of {limit_hit['limit']}.")
    elif kind == "admission":
        expl = (f"The kubelet refused to start the pod because the node {_node_name(ctx) or '?'} was under "
                f"{cond.group('cond')} (low {words}).")
    else:
        expl = f"The node {_node_name(ctx) or '?'} ran low on {words}"
        if t:
            expl += f" (available {extra['available']}, below the eviction threshold {extra['threshold']})"
        expl += (", and the kubelet evicted pods to protect it, starting with those using the most "
                 f"{res or 'of it'} above their requests.")
        if users:
            parts = []
            for u in users:
                who = u.get("container") or u.get("pod")
                parts.append(f"{who} was using {_human(u['usage'], res)} with a request of {_human(u['request'], res)}")
            expl += " In this pod, " + "; ".join(parts) + "."
            if any(parse_quantity(u.get("request")) in (0, None) for u in users):
                expl += (f" A request of 0 makes this pod among the first to go: set {res} requests that match "
                         f"real use.")
    for u in users:
        spec = specs.get(u.get("container"))
        if spec is not None:
            lim = dig(spec, f"resources.limits.{res}") if res else None
            evidence.append(f"container {u['container']}: using {u['usage']}, request {u['request']}"
                            + (f", limit {lim}" if lim else ", no limit"))
    usage = {c: metrics_usage(ctx, c) for c in specs}
    sugs = [f"kubectl describe node {_node_name(ctx) or 'NODE'}",
            "kubectl top pods --sort-by=" + ("memory" if res == "memory" else "cpu") + f" -n {ctx.namespace}"]
    if res == "ephemeral-storage":
        sugs.append("find what fills the disk: container logs, files written outside volumes, emptyDir; "
                    "set resources.requests/limits.ephemeral-storage")
    sugs.append(f"kubectl delete pod {ctx.name} -n {ctx.namespace} (evicted pods are kept until deleted)")
    if any(usage.values()):
        evidence.append("metrics: " + ", ".join(f"{c}={(u or {}).get(res or 'memory')}" for c, u in usage.items() if u))
    yield Finding(
        code="pod.evicted", severity="error", container=None,
        title=f"evicted: node low on {res or 'resources'}" if kind in ("pressure", "admission")
        else f"evicted: {res} limit exceeded",
        explanation=expl, evidence=evidence, suggestions=sugs, extra=extra,
    )


# -- active deadline --------------------------------------------------------------------------

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
    reason, message = _status(ctx)
    evs = _latest(ctx, {"DeadlineExceeded"})
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


# -- volumes ----------------------------------------------------------------------------------

_VOL_NAME = re.compile(r'for volume "(?P<vol>[^"]+)"')
_UNMOUNTED = re.compile(r"unmounted volumes=\[(?P<vols>[^\]]*)\]")
_MISSING_OBJ = re.compile(r'(?P<kind>configmaps?|secrets?) "(?P<name>[^"]+)" not found')
_CSI_DRIVER = re.compile(r"driver name (?P<driver>\S+) not found in the list of registered CSI drivers")
_RPC = re.compile(r"rpc error: code = (?P<code>\w+) desc = (?P<desc>.+)$", re.S)


def _volume_spec(ctx: PodContext, vol: str) -> dict | None:
    for v in dig(ctx.pod, "spec.volumes", []) or []:
        if v.get("name") == vol:
            return v
    return None


def _pv_volume(ctx: PodContext, name: str) -> str | None:
    """The pod volume whose PVC is bound to PV ``name`` ("pvc-...")."""
    for v in dig(ctx.pod, "spec.volumes", []) or []:
        claim = dig(v, "persistentVolumeClaim.claimName")
        if claim:
            obj = ctx.related("PersistentVolumeClaim", claim)
            if obj and dig(obj, "spec.volumeName") == name:
                return v.get("name")
    return None


def _classify_mount(message: str) -> tuple[str, str]:
    low = message.lower()
    if "multi-attach" in low:
        return "multi-attach", ("a ReadWriteOnce volume is still attached to another node (or used by another pod): "
                                "it can be used on one node at a time")
    if _MISSING_OBJ.search(message):
        return "missing-object", "the ConfigMap or Secret the volume shows does not exist"
    if "references non-existent" in low or "couldn't find key" in low:
        return "missing-key", "an items[].key of the volume does not exist in the ConfigMap/Secret"
    if _CSI_DRIVER.search(message):
        return "csi-driver-missing", "the CSI driver is not registered on this node (its node plugin pod is not running there)"
    if "attach timeout" in low or "attachdetachment timeout" in low or ("attachvolume.attach failed" in low):
        return "attach-failed", "the volume could not be attached to the node"
    if "timed out waiting for the condition" in low or "timeout expired waiting for volumes" in low \
            or "context deadline exceeded" in low and "unable to attach or mount" in low:
        return "mount-timeout", "the kubelet gave up waiting for the volumes to attach/mount"
    if "mount.nfs" in low or "nfs" in low and "mount failed" in low:
        return "nfs", "the NFS server refused or did not answer the mount"
    if "hostpath type check failed" in low or ("path" in low and "does not exist" in low):
        return "hostpath", "the hostPath does not exist on the node (or is not of the declared type)"
    if "rpc error" in low or "kubernetes.io/csi" in low:
        return "csi-error", "the storage (CSI) driver returned an error"
    if "permission denied" in low:
        return "permission", "the node was denied access to the volume"
    return "other", "the volume could not be mounted"


def volume_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    evs = _latest(ctx, {"FailedMount", "FailedAttachVolume", "FailedMapVolume", "VolumeFailedMount"})
    evs = [ev for ev in evs if (ev.get("type") or "Warning") == "Warning"]
    # An attach failure followed by a successful attach of the same volume is history.
    attached: dict[str, object] = {}
    for ok in _latest(ctx, {"SuccessfulAttachVolume"}):
        vm = _VOL_NAME.search(ok.get("message") or "")
        t = event_time(ok)
        if vm and t and (vm.group("vol") not in attached or t > attached[vm.group("vol")]):
            attached[vm.group("vol")] = t
    if attached:
        def _stale_attach(ev: dict) -> bool:
            if ev.get("reason") != "FailedAttachVolume":
                return False
            vm = _VOL_NAME.search(ev.get("message") or "")
            t = event_time(ev)
            return bool(vm and t and vm.group("vol") in attached and t <= attached[vm.group("vol")])
        evs = [ev for ev in evs if not _stale_attach(ev)]
    if not evs:
        return
    if _pod_started(ctx):
        evs = _after_start(ctx, evs)
        all_running = all(dig(st, "state.running") for st in dig(ctx.pod, "status.containerStatuses", []) or [])
        if not evs or all_running:
            return
    # The most specific message wins over the generic timeout summary.
    classified = [(ev, *_classify_mount(ev.get("message") or "")) for ev in evs]
    order = ["multi-attach", "missing-object", "missing-key", "csi-driver-missing", "attach-failed", "nfs", "hostpath",
             "csi-error", "permission", "other", "mount-timeout"]
    classified.sort(key=lambda x: (order.index(x[1]), -(event_time(x[0]) or ctx.now).timestamp()))
    ev, kind, words = classified[0]
    msg = ev.get("message") or ""
    vm = _VOL_NAME.search(msg)
    volume = vm.group("vol") if vm else None
    if volume and _volume_spec(ctx, volume) is None:
        volume = _pv_volume(ctx, volume) or volume
    unmounted = []
    for _e, _k, _w in classified:
        um = _UNMOUNTED.search(_e.get("message") or "")
        if um:
            unmounted = [v for v in um.group("vols").split() if v]
    extra: dict = {"kind": kind, "volume": volume, "unmounted": unmounted, "message": msg}
    evidence = [describe_event(e, ctx.now) for e, _k, _w in classified[:3]]
    expl = f"The pod cannot start because {words}"
    if kind == "missing-object":
        om = _MISSING_OBJ.search(msg)
        okind = "ConfigMap" if om.group("kind").startswith("configmap") else "Secret"
        extra.update({"object_kind": okind, "object": om.group("name")})
        vspec = _volume_spec(ctx, volume or "") or {}
        optional = bool(dig(vspec, "configMap.optional") or dig(vspec, "secret.optional"))
        expl = (f"The pod cannot start: volume {volume or '?'} shows {okind} \"{om.group('name')}\", which does not "
                f"exist in namespace {ctx.namespace}. Create it (or fix the name); set optional: true on the volume "
                f"if the pod should start without it.")
        if optional:
            expl += " (The volume is marked optional, so this should clear by itself.)"
        verb = "configmap" if okind == "ConfigMap" else "secret"
        sugs = [kubectl(ctx, "get", verb, om.group("name")), kubectl(ctx, "get", verb)]
    elif kind == "multi-attach":
        expl += (". Another pod (often the old replica of a Deployment during a rolling update, or a pod on a dead "
                 "node) still holds it. Use strategy Recreate for single-replica Deployments with RWO volumes, a "
                 "StatefulSet, or a ReadWriteMany storage class; if the old node is gone, delete its VolumeAttachment.")
        sugs = ["kubectl get volumeattachment | grep " + (volume or "PV"), kubectl(ctx, "get", "pods", "-o", "wide")]
    elif kind == "csi-driver-missing":
        drv = _CSI_DRIVER.search(msg).group("driver")
        extra["driver"] = drv
        expl += f": driver {drv} has no running node plugin on {_node_name(ctx) or 'this node'}."
        sugs = ["kubectl get csidrivers", f"kubectl get pods -A -o wide | grep {_node_name(ctx) or 'NODE'} | grep -i csi"]
    elif kind == "mount-timeout":
        expl += (f" (unmounted: {', '.join(unmounted) or '?'}). The generic timeout hides the cause: the other "
                 f"FailedMount/FailedAttachVolume events, the PVC and the CSI driver's logs say why.")
        notes = []
        for v in unmounted:
            vs = _volume_spec(ctx, v) or {}
            cm = dig(vs, "configMap.name")
            sec = dig(vs, "secret.secretName")
            claim = dig(vs, "persistentVolumeClaim.claimName")
            if cm and ctx.knows("ConfigMap") and ctx.related("ConfigMap", cm) is None and not dig(vs, "configMap.optional"):
                notes.append(f'volume {v}: ConfigMap "{cm}" does not exist')
            if sec and ctx.knows("Secret") and ctx.related("Secret", sec) is None and not dig(vs, "secret.optional"):
                notes.append(f'volume {v}: Secret "{sec}" does not exist')
            if claim:
                pvc = ctx.related("PersistentVolumeClaim", claim)
                if pvc is not None and dig(pvc, "status.phase") != "Bound":
                    notes.append(f'volume {v}: PVC "{claim}" is {dig(pvc, "status.phase") or "?"}')
        if notes:
            expl += " In the data: " + "; ".join(notes) + "."
            evidence += notes
        sugs = [kubectl(ctx, "get", "pvc"), kubectl(ctx, "describe", "pod", ctx.name)]
    else:
        rpc = _RPC.search(msg)
        if rpc:
            extra.update({"rpc_code": rpc.group("code"), "rpc_desc": rpc.group("desc").strip()[:300]})
            expl += f": the driver said {rpc.group('code')}: {rpc.group('desc').strip()[:300]}"
        else:
            expl += f": {msg.strip()[:300]}"
        expl += "."
        sugs = [kubectl(ctx, "describe", "pvc"), "kubectl get volumeattachment",
                "check the CSI driver's controller and node plugin logs"]
    sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
    yield Finding(
        code="pod.volume-mount-failed", severity="error", container=None,
        title=f"volume {volume or (unmounted[0] if unmounted else '?')} cannot be mounted ({kind})",
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=ev.get("firstTimestamp"), extra=extra,
    )


# -- sandbox ----------------------------------------------------------------------------------

_CNI_PLUGIN = re.compile(r'plugin type="(?P<plugin>[^"]+)"')
_SANDBOX_IMAGE = re.compile(r'(?:sandbox image|pulling image|failed to pull image) \\*"(?P<image>[^"\\]+)\\*"')


def _classify_sandbox(message: str) -> tuple[str, str]:
    low = message.lower()
    if "sandbox image" in low or re.search(r"pause[:-]", low) and ("pull" in low or "image" in low):
        return "sandbox-image", "the runtime could not get the sandbox (pause) image"
    if "unauthorized" in low and ("network" in low or "cni" in low or "plugin" in low):
        return "cni-auth", ("the CNI plugin's credentials to the API server are rejected (Unauthorized): its "
                            "token expired or its service account was recreated")
    if "no ip addresses available" in low or "failed to allocate" in low or "ipam" in low and "exhaust" in low:
        return "ip-exhausted", "the CNI plugin ran out of pod IP addresses on this node"
    if "cni config uninitialized" in low or "no networks found" in low or "failed to find plugin" in low \
            or "/opt/cni/bin" in low or "cni plugin not initialized" in low:
        return "cni-missing", "the node's CNI plugin is not installed or not configured yet"
    if "network" in low or "cni" in low or "plugin type" in low:
        return "cni", "the CNI network plugin failed to set up the pod's network"
    if "runtimehandler" in low or "runtime handler" in low or "no runtime for" in low:
        return "runtime-class", "the pod's RuntimeClass handler is not configured on the node"
    if "reserve sandbox name" in low:
        return "name-reserved", "an earlier sandbox creation for this pod is still in progress on the node"
    if "cgroup" in low or "shim" in low or "oci runtime" in low:
        return "runtime", "the container runtime failed to start the sandbox"
    return "other", "the container runtime could not create the pod sandbox"


def sandbox_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    evs = [ev for ev in _latest(ctx, {"FailedCreatePodSandBox", "FailedCreatePodSandbox"})]
    if not evs:
        return
    if _pod_started(ctx):
        evs = _after_start(ctx, evs)
        if not evs:
            return
    ev = evs[-1]
    msg = (ev.get("message") or "").replace("(combined from similar events): ", "")
    kind, words = _classify_sandbox(msg)
    plugin = _CNI_PLUGIN.search(msg)
    img = _SANDBOX_IMAGE.search(msg)
    extra = {"kind": kind, "message": msg, "plugin": plugin.group("plugin") if plugin else None,
             "sandbox_image": img.group("image") if img and kind == "sandbox-image" else None,
             "node": _node_name(ctx)}
    node = _node_name(ctx) or "NODE"
    expl = (f"The kubelet on {node} cannot create the pod's sandbox: {words}. This is a node/cluster problem, "
            f"not the application's image or code.")
    sugs = [f"kubectl describe node {node}"]
    if kind in ("cni", "cni-auth", "cni-missing", "ip-exhausted"):
        who = extra["plugin"] or "the CNI"
        expl += f" The network plugin ({who}) runs as a DaemonSet; its pod on {node} is the place to look."
        if kind == "cni-auth":
            expl += " Restarting the CNI's node pod refreshes its credentials."
        sugs += [f"kubectl get pods -n kube-system -o wide --field-selector spec.nodeName={node}",
                 f"kubectl logs -n kube-system <{who}-node-pod-on-{node}>"]
    elif kind == "sandbox-image":
        expl += (f" The image {extra['sandbox_image'] or 'pause'} comes from the runtime's configuration "
                 "(containerd sandbox_image / CRI-O pause_image), not from the pod spec: make it pullable from the node "
                 "(mirror it, or fix the node's registry access).")
        sugs.append(f"on {node}: crictl pull {extra['sandbox_image'] or 'registry.k8s.io/pause:3.9'}")
    else:
        sugs.append(f"on {node}: journalctl -u containerd (or crio) -u kubelet")
    sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
    changed = _latest(ctx, {"SandboxChanged"})
    evidence = [describe_event(ev, ctx.now)] + [describe_event(c, ctx.now) for c in changed[-1:]]
    yield Finding(
        code="pod.sandbox-failed", severity="error", container=None,
        title=f"pod sandbox cannot be created ({kind}" + (f", {extra['plugin']}" if extra["plugin"] else "") + ")",
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=ev.get("firstTimestamp"), extra=extra,
    )


# -- stuck terminating ------------------------------------------------------------------------

def stuck_terminating_rule(ctx: PodContext) -> Iterable[Finding]:
    deleted = parse_time(dig(ctx.pod, "metadata.deletionTimestamp"))
    if not deleted:
        return
    overdue = (ctx.now - deleted).total_seconds()
    if overdue < STUCK_AFTER:
        return
    finalizers = dig(ctx.pod, "metadata.finalizers", []) or []
    node_name = _node_name(ctx)
    node = ctx.node()
    ready, _cond = _node_ready(node)
    kill_evs = _latest(ctx, {"FailedKillPod", "ExceededGracePeriod", "FailedPreStopHook", "FailedSync"})
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
    if kill_evs:
        causes.append("runtime-kill-failed")
    if running:
        evidence.append("still running: " + ", ".join(running))
        if "runtime-kill-failed" not in causes:
            causes.append("containers-running")
    parts = []
    if "finalizers" in causes:
        parts.append(f"finalizers {', '.join(finalizers)} are still set: the controller that owns them must remove "
                     f"them (if it is gone, remove them by hand)")
    if "node-unreachable" in causes:
        parts.append(f"its node {node_name} is not reachable, so no kubelet confirms the containers stopped")
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
    sugs.append(f"kubectl delete pod {ctx.name} -n {ctx.namespace} --force --grace-period=0 "
                "(last resort: the containers may keep running on the node)")
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


RULES = (unschedulable_rule, node_lost_rule, rejected_rule, preempted_rule, evicted_rule, deadline_rule,
         volume_rule, sandbox_rule, stuck_terminating_rule)
