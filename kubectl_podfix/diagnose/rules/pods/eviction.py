"""The pod was pushed off to make room: preempted for a higher-priority pod (pod.preempted), or evicted
because its node ran low on a resource or the pod outgrew its own storage limits (pod.evicted).

The kubelet's eviction message carries the numbers (threshold, available,
each container's use against its request): they are read out with the
regexes below and quoted.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, dig
from kubectl_podfix.diagnose.rules.common import describe_event, node_arg, node_phrase, the_node
from kubectl_podfix.diagnose.rules.containers.resources import format_bytes, metrics_usage, parse_quantity
from kubectl_podfix.diagnose.rules.pods.status import assigned_node, events_with, pod_condition, reason_and_message


# -- preemption -----------------------------------------------------------------------------

_PREEMPTED_BY = re.compile(r"Preempted by (?:pod )?(?P<by>\S+?)(?: on node (?P<node>\S+?))?\.?$")


def preempted_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = reason_and_message(ctx)
    dt = pod_condition(ctx, "DisruptionTarget")
    evs = events_with(ctx, {"Preempted", "Preempting"})
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
        expl = (f"The kubelet on {node_phrase(assigned_node(ctx))} stopped this pod to admit a critical pod "
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
        extra={"by": by, "node": node or assigned_node(ctx), "priority": prio, "priority_class": pclass,
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

_RESOURCE_WORDS = {"memory": "memory", "ephemeral-storage": "local disk space (ephemeral-storage)",
                   "nodefs": "disk space", "imagefs": "image disk space", "inodes": "inodes",
                   "nodefsInodes": "inodes", "pids": "process IDs"}


# The kubelet's eviction signals that are not words, for titles ("node low on inodes (nodefsInodes)").
_TITLE_WORDS = {"nodefsInodes": "inodes (nodefsInodes)", "imagefsInodes": "inodes (imagefsInodes)",
                "nodefs": "disk space (nodefs)", "imagefs": "image disk space (imagefs)", "pids": "process IDs (pids)"}


def _human(quantity: str | None, resource: str | None) -> str:
    """A byte quantity as the message wrote it, plus a readable size when they differ ("48458972Ki (46.2Gi)")."""
    if resource not in ("memory", "ephemeral-storage") or not quantity:
        return str(quantity)
    value = parse_quantity(quantity)
    readable = format_bytes(value) if value else None
    return f"{quantity} ({readable})" if readable and readable != quantity and value and value >= 2**20 else str(quantity)


def evicted_rule(ctx: PodContext) -> Iterable[Finding]:
    reason, message = reason_and_message(ctx)
    evs = [ev for ev in events_with(ctx, {"Evicted"})]
    if reason != "Evicted" and not (evs and dig(ctx.pod, "status.phase") == "Failed"):
        return
    text = message or (evs[-1].get("message") if evs else "") or ""
    phase = dig(ctx.pod, "status.phase")
    evidence = [f"status: {phase or 'no phase recorded'}, reason Evicted"
                + (f": {text}" if text else " (no message recorded: which resource ran low is not known)")]
    for ev in evs[-1:]:
        evidence.append(describe_event(ev, ctx.now))
    extra: dict = {"node": assigned_node(ctx), "message": text}
    res = None
    m = _LOW.search(text)
    if m:
        res = m.group("res")
    old_cond = re.search(r"The node was low on resource: \[(?P<cond>\w+)\]", text)  # 1.7-1.9: the condition
    if old_cond and not res:
        res = {"MemoryPressure": "memory", "DiskPressure": "ephemeral-storage",
               "PIDPressure": "pids"}.get(old_cond.group("cond"), old_cond.group("cond"))
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
        expl = (f"The kubelet refused to admit the pod because {the_node(assigned_node(ctx))} was under "
                f"{cond.group('cond')} (low {words}): the pod never ran. The reason says Evicted, but nothing was "
                "running to evict; this is an admission rejection. Its controller, if any, creates a replacement, "
                "which the scheduler keeps off nodes under pressure.")
    else:
        expl = f"{the_node(assigned_node(ctx))[0].upper()}{the_node(assigned_node(ctx))[1:]} ran low on {words}"
        if t:
            expl += (f": {_human(extra['available'], res)} available, below the eviction threshold of "
                     f"{_human(extra['threshold'], res)}")
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
            disk_dirs = [v.get("name") for v in dig(ctx.pod, "spec.volumes", []) or []
                         if isinstance(v, dict) and isinstance(v.get("emptyDir"), dict)
                         and v["emptyDir"].get("medium") != "Memory"]
            if res == "ephemeral-storage" and disk_dirs and any(u.get("container") for u in users):
                # The kubelet's per-container figure is its writable layer and logs only (kubernetes#130439).
                expl += (" The kubelet's figure for a container counts its writable layer and logs only, not the "
                         f"pod's emptyDir volumes ({', '.join(disk_dirs)}), which count toward the pod's use too: "
                         "a small number here with a full emptyDir is still this pod's disk.")
    for u in users:
        spec = specs.get(u.get("container"))
        if spec is not None:
            lim = dig(spec, f"resources.limits.{res}") if res else None
            evidence.append(f"container {u['container']}: using {u['usage']}, request {u['request']}"
                            + (f", limit {lim}" if lim else ", no limit"))
    usage = {c: metrics_usage(ctx, c) for c in specs}
    node_cmd = node_arg(ctx)
    if res == "memory":
        sugs = [f"kubectl describe node {node_cmd}   (MemoryPressure, Allocated resources)",
                f"kubectl top pods --sort-by=memory -n {ctx.namespace}"]
    elif res in ("ephemeral-storage", "nodefs", "imagefs", "inodes", "nodefsInodes") or (
            res is None and kind != "pressure"):
        # Disk: kubectl top shows no disk use; the node's summary and the disk itself do.
        sugs = [f"kubectl describe node {node_cmd}   (DiskPressure, ephemeral-storage allocatable)",
                f"kubectl get --raw /api/v1/nodes/{node_cmd}/proxy/stats/summary   (each pod's ephemeral-storage "
                "and logs use)",
                f"on {node_phrase(assigned_node(ctx))}: df -h /var/lib/kubelet /var/lib/containerd /var/log; "
                "du -sh /var/lib/kubelet/pods/* /var/log/pods/* | sort -h | tail",
                "find what fills the disk: container logs, files written outside volumes, emptyDir; "
                "set resources.requests/limits.ephemeral-storage"]
        if res == "imagefs":
            sugs.append(f"on {node_phrase(assigned_node(ctx))}: crictl rmi --prune   (unused images)")
    elif res == "pids":
        sugs = [f"kubectl describe node {node_cmd}   (PIDPressure)",
                "set the kubelet's podPidsLimit so one pod cannot exhaust the node's process IDs"]
    else:
        sugs = [f"kubectl describe node {node_cmd}"]
    sugs.append(f"kubectl delete pod {ctx.name} -n {ctx.namespace} (evicted pods are kept until deleted)")
    if any(usage.values()):
        evidence.append("metrics: " + ", ".join(f"{c}={(u or {}).get(res or 'memory')}" for c, u in usage.items() if u))
    yield Finding(
        code="pod.evicted", severity="error", container=None,
        title=(f"not admitted: node under {cond.group('cond')} (reason Evicted)" if kind == "admission"
               else f"evicted: node low on {_TITLE_WORDS.get(res or '', res) or 'resources'}" if kind == "pressure"
               else f"evicted: {res} limit exceeded"),
        explanation=expl, evidence=evidence, suggestions=sugs, extra=extra,
    )
