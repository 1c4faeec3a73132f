"""Collect what the rules need, in as few requests as possible, and build PodContexts.

Data access scales with scopes and pages, never with pods or containers:
one pod is a GET plus one events LIST (plus at most one request for the
related object a rule needs); a namespace or the cluster is one paginated LIST
per kind, joined in memory by uid. The only per-pod requests are previous
container logs for crash findings, bounded and fetched concurrently.

Which extra objects a pod needs is decided by pure functions over the pod
(``needs``), so the decision is tested without a cluster.
"""

from __future__ import annotations

import datetime
import difflib
import gc
import re
from typing import Callable, Iterable

from kubectl_podfix.diagnose import health
from kubectl_podfix.diagnose.context import top_owner
from kubectl_podfix.diagnose.model import (Snapshot, dig, parse_target, parse_time, report_now,
                                           selector_string, utcnow)
from kubectl_podfix.errors import PodfixError

IMAGE_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                 "ImageInspectError", "RegistryUnavailable", "ErrImagePullBackOff"}
MAX_LOG_FETCHES = 20
SCOPE_LOG_FETCHES = 8  # one pod per workload and container, the most affected workloads first
LOG_WORKERS = 4
LOG_LINES = 40


# -- pure decisions ------------------------------------------------------------

def normalize_event(ev: dict) -> dict:
    """Return an event in the core/v1 shape, whether it came from core/v1 or events.k8s.io/v1.

    An event written through events.k8s.io (the scheduler's, any component on the new recorder) is served by core/v1
    with no ``count``, null ``firstTimestamp``/``lastTimestamp`` and its repetitions in ``series``: the count
    is taken from there, as ``kubectl describe`` does ("x88 over 24m", not "49s ago").
    """
    if "regarding" not in ev and "note" not in ev and "deprecatedCount" not in ev:
        series = ev.get("series")
        if not isinstance(series, dict) or ev.get("count") or not isinstance(series.get("count"), int):
            return ev
        return {**ev, "count": series["count"]}  # (the times: model.event_time reads eventTime and series)
    out = dict(ev)
    out["apiVersion"] = "v1"
    out.setdefault("involvedObject", ev.get("regarding") or {})
    out.setdefault("message", ev.get("note") or "")
    series = ev.get("series") or {}
    out.setdefault("count", series.get("count") or ev.get("deprecatedCount") or 1)
    out.setdefault("firstTimestamp", ev.get("deprecatedFirstTimestamp") or ev.get("eventTime"))
    out.setdefault("lastTimestamp", series.get("lastObservedTime") or ev.get("deprecatedLastTimestamp")
                   or ev.get("eventTime"))
    out.setdefault("source", ev.get("deprecatedSource") or {"component": ev.get("reportingController") or ""})
    return out


def _statuses(pod: dict) -> Iterable[dict]:
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        yield from (s for s in status.get(key) or [] if isinstance(s, dict))


def pull_failing(pod: dict) -> bool:
    return any(dig(s, "state.waiting.reason") in IMAGE_REASONS for s in _statuses(pod))


_AUTH_HINT = re.compile(r"unauthori[sz]ed|authori[sz]ation|denied|forbidden|\b40[13]\b|credential|authenticat"
                        r"|no basic auth", re.I)


def auth_suspected(pods: list[dict], events: list[dict]) -> bool:
    """Whether a pull failure of these pods may be about credentials (so the ServiceAccount is worth reading).

    One pass over the pods' waiting messages and one over the events, however many pods there are.
    """
    texts = [dig(s, "state.waiting.message", "") or "" for pod in pods for s in _statuses(pod)]
    texts += [ev.get("message") or "" for ev in events if ev.get("reason") in ("Failed", "ErrImagePull", "BackOff")]
    return any(_AUTH_HINT.search(t) for t in texts)


def needs_logs(pod: dict) -> list[str]:
    """Containers whose previous log a crash rule will quote."""
    try:
        from kubectl_podfix.diagnose.rules.containers import needs_logs as rule_needs
    except ImportError:  # the container family is optional
        return []
    return rule_needs(pod)


def oom_killed(pod: dict) -> bool:
    return any(dig(s, f"{k}.terminated.reason") == "OOMKilled" for s in _statuses(pod) for k in ("state", "lastState"))


def needs_node(pod: dict) -> bool:
    """Whether a rule will want the pod's Node (stuck deletion, lost node, foreign architecture)."""
    if not dig(pod, "spec.nodeName"):
        return False
    if dig(pod, "metadata.deletionTimestamp") or dig(pod, "status.reason") in ("NodeLost", "Terminated"):
        return True
    conds = {c.get("type"): c.get("status") for c in dig(pod, "status.conditions", []) or [] if isinstance(c, dict)}
    if "Unknown" in conds.values():
        return True
    if conds.get("Ready") == "False" and conds.get("ContainersReady") == "True" \
            and not dig(pod, "spec.readinessGates") and dig(pod, "status.phase") == "Running":
        # Only the node lifecycle controller writes this (MarkPodsNotReady: its node stopped reporting);
        # the kubelet would have set ContainersReady=False too.
        return True
    return any("exec format" in (dig(s, f"{k}.terminated.message", "") or "") for s in _statuses(pod)
               for k in ("state", "lastState"))


def needs_pvcs(pod: dict, events: list[dict]) -> bool:
    """Whether a scheduling or mount problem may be about a PersistentVolumeClaim."""
    if not any("persistentVolumeClaim" in v for v in dig(pod, "spec.volumes", []) or [] if isinstance(v, dict)):
        return False
    texts = [c.get("message") or "" for c in dig(pod, "status.conditions", []) or [] if isinstance(c, dict)]
    texts += [ev.get("message") or "" for ev in events
              if ev.get("reason") in ("FailedScheduling", "FailedMount", "FailedAttachVolume")]
    return any("PersistentVolumeClaim" in t or "volume" in t.lower() for t in texts)


def needs_kill_events(pod: dict) -> bool:
    """Restarted containers with a liveness or startup probe: the Normal "Killing" events tell a probe kill."""
    probed = {c.get("name") for key in ("containers", "initContainers") for c in dig(pod, f"spec.{key}", []) or []
              if isinstance(c, dict) and (c.get("livenessProbe") or c.get("startupProbe"))}
    return any(s.get("name") in probed and (s.get("restartCount") or 0) > 0 for s in _statuses(pod))


WORKLOAD_LIST_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
WORKLOAD_EVENT_KINDS = frozenset(WORKLOAD_LIST_KINDS) | {"ReplicaSet", "PersistentVolumeClaim"}


def workload_suspect(obj: dict) -> bool:
    """Whether a workload may be short of its desired state or failing (cheap, over-inclusive)."""
    kind = obj.get("kind")
    st = obj.get("status") or {}
    for cond in st.get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        if (cond.get("type"), cond.get("status")) in (("ReplicaFailure", "True"), ("Progressing", "False"),
                                                       ("Failed", "True"), ("FailureTarget", "True")):
            return True
    if (dig(obj, "metadata.generation") or 0) > (st.get("observedGeneration") or 0) and st:
        return True
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        desired = dig(obj, "spec.replicas")
        desired = 1 if desired is None else desired
        return bool(desired) and (st.get("readyReplicas") or 0) < desired and bool(st)
    if kind == "DaemonSet":
        return (st.get("numberReady") or 0) < (st.get("desiredNumberScheduled") or 0)
    if kind == "Job":
        return not any(c.get("type") == "Complete" and c.get("status") == "True"
                       for c in st.get("conditions") or [] if isinstance(c, dict)) and not dig(obj, "spec.suspend")
    return kind == "CronJob"  # its troubles are in its events


def workload_needs(snap: Snapshot) -> dict[str, set[str]]:
    """What the workload rules will want to read besides, by kind: the namespaces (or "*") to list it in.

    ResourceQuotas when a create failure speaks of a quota, LimitRanges when of usage or ratio limits,
    PVCs for claims a workload waits for, StorageClasses when a claim cannot be provisioned or bound.
    """
    need: dict[str, set[str]] = {}
    texts: list[tuple[str, str]] = []
    for ev in snap.events:
        inv = ev.get("involvedObject") or {}
        if inv.get("kind") in WORKLOAD_EVENT_KINDS:
            ns = inv.get("namespace") or dig(ev, "metadata.namespace", "") or ""
            texts.append((ns, ev.get("message") or ""))
            if inv.get("kind") == "PersistentVolumeClaim" or ev.get("reason") == "ProvisioningFailed":
                need.setdefault("PersistentVolumeClaim", set()).add(ns)
                if ev.get("reason") in ("ProvisioningFailed", "FailedBinding"):
                    need.setdefault("StorageClass", set()).add("*")
    for (kind, ns, _), obj in snap.objects.items():
        if kind in WORKLOAD_EVENT_KINDS:
            for cond in dig(obj, "status.conditions", []) or []:
                if isinstance(cond, dict) and cond.get("message"):
                    texts.append((ns, cond["message"]))
            if kind == "StatefulSet" and dig(obj, "spec.volumeClaimTemplates") and workload_suspect(obj):
                need.setdefault("PersistentVolumeClaim", set()).add(ns)
    for ns, text in texts:
        low = text.lower()
        if "quota" in low and ("exceeded" in low or "failed quota" in low or "insufficient quota" in low):
            need.setdefault("ResourceQuota", set()).add(ns)
        if " usage per " in low or " ratio per " in low:
            need.setdefault("LimitRange", set()).add(ns)
    return need


def is_suspect(pod: dict, now: datetime.datetime | None = None) -> bool:
    """Whether a pod may have a problem worth diagnosing (cheap, over-inclusive).

    Never drops a pod that ``diagnose.health`` calls unhealthy (a scan must not be silent on a pod
    ``explain POD`` would report); also keeps pods with any restart or waiting container, and every
    pod being deleted. Only healthy pods are left out, and they cost no request either way.
    """
    phase = dig(pod, "status.phase")
    if phase == "Succeeded" and not dig(pod, "metadata.deletionTimestamp"):
        return False
    if phase != "Running" or dig(pod, "metadata.deletionTimestamp"):
        return True
    for cond in dig(pod, "status.conditions", []) or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready" and cond.get("status") != "True":
            return True
    if any((s.get("restartCount") or 0) > 0 or dig(s, "state.waiting") for s in _statuses(pod)):
        return True
    return not health.is_healthy(pod, now or utcnow())


# -- live gathering ---------------------------------------------------------------

def _forbidden(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 403


def gather_pod(cluster, namespace: str, name: str) -> Snapshot:
    """Everything needed to explain one pod: usually 2 or 3 requests."""
    from kubectl_podfix.cluster.api import ApiError

    snap = Snapshot(source="cluster")
    try:
        pod = cluster.get("Pod", namespace, name)
    except ApiError as exc:
        if exc.status == 404:
            raise pod_not_found(cluster, namespace, name) from None
        raise
    pod.setdefault("kind", "Pod")
    pod.setdefault("apiVersion", "v1")
    snap.pods.append(pod)
    uid = dig(pod, "metadata.uid", "")
    selector = f"involvedObject.name={name},involvedObject.namespace={namespace}"
    if uid:
        selector += f",involvedObject.uid={uid}"
    _try_list(snap, cluster, "Event", namespace, field_selector=selector)
    _fetch_controller(snap, cluster, pod)
    _fetch_related(snap, cluster, [pod])
    if needs_node(pod):
        _try_get(snap, cluster, "Node", None, dig(pod, "spec.nodeName"))
    if needs_pvcs(pod, snap.events):
        _try_list(snap, cluster, "PersistentVolumeClaim", namespace)
    if oom_killed(pod):
        _fetch_metrics(snap, cluster, namespace, name)
    _fetch_logs(snap, cluster, [pod])
    return snap


def controller_to_read(pod: dict) -> tuple[str, str] | None:
    """The pod's controller when the top controller cannot be told without reading it: a Job (its CronJob,
    if any, is named only in the Job), or a ReplicaSet whose Deployment the pod-template-hash does not
    give away. The same rule as a scan, which lists ReplicaSets and Jobs (diagnose.context.top_owner)."""
    ref = next((r for r in dig(pod, "metadata.ownerReferences", []) or [] if r.get("controller")), None)
    if not ref or ref.get("kind") not in ("ReplicaSet", "Job") or not ref.get("name"):
        return None
    hash_ = (dig(pod, "metadata.labels", {}) or {}).get("pod-template-hash")
    if ref["kind"] == "ReplicaSet" and isinstance(hash_, str) and hash_ and str(ref["name"]).endswith("-" + hash_):
        return None  # a Deployment's: known without a request
    return ref["kind"], ref["name"]


def _fetch_controller(snap: Snapshot, cluster, pod: dict) -> None:
    ns = dig(pod, "metadata.namespace", "")
    wanted = controller_to_read(pod)
    deadline = parse_time(dig(pod, "metadata.deletionTimestamp"))
    if wanted is None and (dig(pod, "status.phase") == "Failed" or (deadline and deadline < report_now())):
        # a failed pod of a Deployment's ReplicaSet, or one still there past its deletion deadline: a leftover the
        # ReplicaSet replaced (rules.left_behind)? (inside its grace period a pod going away has no error anyway)
        # A scan lists the ReplicaSets; one GET here gives explain POD the same severity.
        ref = next((r for r in dig(pod, "metadata.ownerReferences", []) or [] if r.get("controller")), None)
        if ref and ref.get("kind") == "ReplicaSet" and ref.get("name"):
            wanted = ("ReplicaSet", ref["name"])
    if wanted is None:
        return
    _try_get(snap, cluster, wanted[0], ns, wanted[1])
    _fetch_crons_of_failed_runs(snap, cluster, [pod])


def _fetch_crons_of_failed_runs(snap: Snapshot, cluster, pods: list[dict]) -> None:
    """The CronJob of a failed run's failed pod, when the snapshot lacks it: has a later run succeeded
    (``rules.left_behind``)? A scan lists CronJobs; ``explain POD``, ``explain job/X``, -l and --field-selector
    do not, and gave the same leftover an error the scan calls history. One GET per such CronJob."""
    wanted: set[tuple[str, str]] = set()
    for pod in pods:
        if dig(pod, "status.phase") != "Failed" or dig(pod, "metadata.deletionTimestamp"):
            continue
        ns = dig(pod, "metadata.namespace", "") or ""
        ref = next((r for r in dig(pod, "metadata.ownerReferences", []) or []
                    if isinstance(r, dict) and r.get("controller")), None)
        job = snap.get("Job", ns, ref.get("name")) if ref and ref.get("kind") == "Job" else None
        if not isinstance(job, dict):
            continue
        cron = next((r for r in dig(job, "metadata.ownerReferences", []) or [] if isinstance(r, dict)
                     and r.get("controller") and r.get("kind") == "CronJob"), None)
        if cron and isinstance(cron.get("name"), str) and cron["name"] \
                and any(c.get("type") == "Failed" and c.get("status") == "True"
                        for c in dig(job, "status.conditions", []) or [] if isinstance(c, dict)) \
                and snap.get("CronJob", ns, cron["name"]) is None \
                and not {("CronJob", ns), ("CronJob", "*")} & snap.listed:
            wanted.add((ns, cron["name"]))
    for ns, name in sorted(wanted):
        _try_get(snap, cluster, "CronJob", ns, name)


def _names(cluster, kind: str, namespace: str | None, **selectors) -> list[tuple[str, str]] | None:
    """(namespace, name) of every object of ``kind``, or None when the list is not allowed or fails."""
    from kubectl_podfix.cluster.api import ApiError

    try:
        return [(dig(o, "metadata.namespace", "") or "", dig(o, "metadata.name", "") or "")
                for o in cluster.list(kind, namespace, **selectors)]
    except (ApiError, PodfixError):
        return None


def namespace_missing(cluster, namespace: str) -> PodfixError | None:
    """A one-line error when ``namespace`` does not exist (one GET, only on an error or empty path)."""
    from kubectl_podfix.cluster.api import ApiError

    try:
        cluster.get("Namespace", None, namespace)
        return None
    except ApiError as exc:
        if exc.status != 404:
            return None  # forbidden or unknown: say nothing rather than guess
    known = [n for _, n in _names(cluster, "Namespace", None) or []]
    close = difflib.get_close_matches(namespace, known, n=3, cutoff=0.6)
    hint = f'did you mean {", ".join(close)}?' if close else \
        (f'namespaces: {", ".join(known[:8])}{"..." if len(known) > 8 else ""}' if known else
         "see kubectl get namespaces")
    return PodfixError(f'namespace "{namespace}" does not exist: {hint}')


def pod_not_found(cluster, namespace: str, name: str) -> PodfixError:
    """The 404 answer for ``explain POD``: similar pods here, the same name in other namespaces."""
    head = f'pod "{name}" not found in namespace "{namespace}"'
    missing_ns = namespace_missing(cluster, namespace)
    if missing_ns is not None:
        return PodfixError(f"{head}: that namespace does not exist ({missing_ns.message.split(': ', 1)[1]})")
    hints = []
    here = sorted(n for _, n in _names(cluster, "Pod", namespace) or [])
    similar = [n for n in here if n.startswith(name + "-")][:3]
    similar += [n for n in difflib.get_close_matches(name, here, n=3, cutoff=0.6) if n not in similar]
    if similar:
        hints.append(f"similar pods here: {', '.join(similar[:3])}")
    elsewhere = sorted({ns for ns, _ in _names(cluster, "Pod", None, field_selector=f"metadata.name={name}") or []
                        if ns != namespace})
    if elsewhere:
        flags = " or ".join(f"-n {ns}" for ns in elsewhere[:3])
        hints.append(f"a pod with that name exists in namespace {', '.join(elsewhere[:3])} (use {flags})")
    if not hints:
        hints.append(f"list pods with kubectl get pods -n {namespace}, or pass -n NAMESPACE")
    return PodfixError(f"{head}: {'; '.join(hints)}")


def gather_scope(cluster, namespace: str | None, **kw) -> Snapshot:
    """``_gather_scope`` with the cyclic garbage collector paused.

    Decoding thousands of pods and events creates millions of dicts and lists, none
    in a reference cycle (plain JSON), and the collector's full passes over that
    growing heap cost about a third of a large scan (measured: 5,000 pods, 20,000
    events). Reference counting still frees every page once it is read. Afterwards
    the snapshot is frozen (``gc.freeze``), so the rules' allocations do not make
    the collector walk it again (measured: a second saved in the workload phase).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _gather_scope(cluster, namespace, **kw)
    finally:
        # NB: what was read stays alive until the process ends: moved out of the collector's reach, so the
        # collections the diagnosis phase triggers (pods, then workloads) do not walk it again each time.
        gc.freeze()
        if enabled:
            gc.enable()


def _gather_scope(cluster, namespace: str | None, *, label_selector: str | None = None,
                  field_selector: str | None = None, progress: Callable[[str], None] | None = None,
                  target: dict | None = None) -> Snapshot:
    """Everything needed to explain the pods of a namespace (or all, with namespace None).

    One paginated LIST per kind for the whole scope: pods, Warning events, the
    owners (ReplicaSets, Jobs) and, for pull failures, Secrets or ServiceAccounts.
    Healthy pods are kept only as far as the workload totals need (namespace and
    owner), and only the events of suspect pods are kept, so memory follows the
    number of failing pods rather than the size of the scope.

    Workloads: a scan (no -l/--field-selector) lists the workload kinds too (one LIST
    each), since a workload whose pods are never created has no pod to find; with
    ``target`` (the workload ``explain TYPE/NAME`` asked for, already read) only its
    children. Events: Warning events of every kind for a scan, every event of the
    namespace for a target. Quotas, LimitRanges, PVCs and StorageClasses only when a
    create failure or a claim's event speaks of them (``workload_needs``).
    """
    snap = Snapshot(source="cluster")
    note = progress or (lambda _msg: None)
    note("listing pods")
    suspects: list[dict] = []
    others: list[dict] = []  # healthy pods, slimmed to what top_owner reads
    seen = 0
    for pod in cluster.list("Pod", namespace, label_selector=label_selector, field_selector=field_selector):
        seen += 1
        if is_suspect(pod):
            suspects.append(pod)
        else:
            others.append(_slim(pod))
        if seen % 500 == 0:
            note(f"listing pods ({seen} so far, {len(suspects)} to check)")
    if not seen and namespace and target is None:  # (a target was just read: its namespace exists)
        missing_ns = namespace_missing(cluster, namespace)  # an empty answer: is it a typo?
        if missing_ns is not None:
            raise missing_ns
    snap.pods = suspects
    short: list[dict] = []
    quota_namespaces: set[str] = set()
    if target is not None:
        snap.add(target)
        short = [target]
    elif not label_selector and not field_selector:
        # ReplicaSets too: one with no controller is a workload of its own, and one whose pods are never created
        # (a quota, an admission webhook) has no pod to find; -A listed them for its pods' owners, -n NS did not
        for kind in (*WORKLOAD_LIST_KINDS, "ReplicaSet"):
            note(f"listing {kind.lower()}s")
            _try_list(snap, cluster, kind, namespace)
        short = [o for (k, _, _), o in snap.objects.items() if (k in WORKLOAD_LIST_KINDS or (
            k == "ReplicaSet" and not any(isinstance(r, dict) and r.get("controller")
                                          for r in dig(o, "metadata.ownerReferences", []) or [])))
                 and workload_suspect(o)]
        _slim_workloads(snap)
    if suspects or short:
        uids = {dig(p, "metadata.uid") for p in suspects} - {None, ""}
        names = {(dig(p, "metadata.namespace", ""), dig(p, "metadata.name", "")) for p in suspects}

        def wanted(ev: dict) -> bool:
            inv = ev.get("involvedObject") or ev.get("regarding") or {}
            if inv.get("uid"):
                return inv["uid"] in uids
            return (inv.get("namespace") or dig(ev, "metadata.namespace", ""), inv.get("name") or "") in names

        def wanted_any(ev: dict) -> bool:
            inv = ev.get("involvedObject") or ev.get("regarding") or {}
            return inv.get("kind") in WORKLOAD_EVENT_KINDS or wanted(ev)

        note(f"listing events ({len(suspects)} of {seen} pods to check)")
        if target is not None:  # one workload: every event of its namespace (Normal ones say a lot here)
            _try_list(snap, cluster, "Event", namespace, keep=wanted_any, progress=note)
        else:
            _try_list(snap, cluster, "Event", namespace,
                      field_selector="type=Warning" if short else "type=Warning,involvedObject.kind=Pod",
                      keep=wanted_any if short else wanted, progress=note)
        owner_kinds = {r.get("kind") for p in suspects for r in dig(p, "metadata.ownerReferences", []) or []}
        if any(o.get("kind") == "Deployment" for o in short):
            owner_kinds.add("ReplicaSet")
        if any(o.get("kind") == "CronJob" for o in short) and target is not None:
            owner_kinds.add("Job")
        for kind in ("ReplicaSet", "Job"):
            if kind in owner_kinds and (kind, namespace or "*") not in snap.listed:
                note(f"listing {kind.lower()}s")
                _try_list(snap, cluster, kind, namespace)
        if target is None and (label_selector or field_selector):
            # -l/--field-selector: the ReplicaSets and Jobs were listed to name the selected pods' owners, not
            # to explain every other one (a failing Job or a Rollout's ReplicaSet the selector left out)
            owners = {(r.get("kind"), dig(p, "metadata.namespace", "") or "", r.get("name"))
                      for p in suspects + others for r in dig(p, "metadata.ownerReferences", []) or []
                      if isinstance(r, dict)}
            for key in [k for k in snap.objects if k[0] in ("ReplicaSet", "Job") and k not in owners]:
                del snap.objects[key]
        _fetch_crons_of_failed_runs(snap, cluster, suspects)
        if target is None:
            _slim_workloads(snap)
        else:
            # explain TYPE/NAME shows only the target's pods: a CronJob has no selector (its namespace's pods were
            # listed) and labels may match another workload's pods; none of theirs is read (logs, nodes, secrets)
            kind, name = target.get("kind"), dig(target, "metadata.name")
            suspects = [p for p in suspects if top_owner(p, snap) == {"kind": kind, "name": name}
                        or any(r.get("kind") == kind and r.get("name") == name
                               for r in dig(p, "metadata.ownerReferences", []) or [] if isinstance(r, dict))]
            snap.pods = suspects
        if target is None and any(needs_kill_events(p) for p in suspects):
            _try_list(snap, cluster, "Event", namespace, field_selector="reason=Killing", keep=wanted)
        _fetch_related(snap, cluster, suspects, scope=namespace)
        if any(needs_node(p) for p in suspects):
            _try_list(snap, cluster, "Node", None)
        by_uid: dict[str, list[dict]] = {}
        for ev in snap.events:
            by_uid.setdefault(dig(ev, "involvedObject.uid", "") or "", []).append(ev)
        need = workload_needs(snap) if short else {}
        quota_namespaces = need.get("ResourceQuota", set())
        pvc_namespaces = {dig(p, "metadata.namespace", "") for p in suspects
                          if needs_pvcs(p, by_uid.get(dig(p, "metadata.uid", "") or "-", []))}
        pvc_namespaces |= need.get("PersistentVolumeClaim", set())
        for ns in sorted(pvc_namespaces):
            _try_list(snap, cluster, "PersistentVolumeClaim", ns)
        for kind in ("ResourceQuota", "LimitRange"):
            namespaces = sorted(need.get(kind, set()))
            if namespace is None and len(namespaces) > 1:
                namespaces = [None]  # the whole cluster: one LIST
            for ns in namespaces:
                note(f"listing {kind.lower()}s")
                _try_list(snap, cluster, kind, ns)
        if need.get("StorageClass"):
            _try_list(snap, cluster, "StorageClass", None)
        if target is not None and need.get("ResourceQuota"):
            # who uses the quota: every pod of the namespace, slimmed (one more LIST)
            mine = {dig(p, "metadata.uid") for p in suspects + others}
            for pod in cluster.list("Pod", dig(target, "metadata.namespace")):
                if dig(pod, "metadata.uid") not in mine:
                    snap.quiet_pods.append(_slim(pod))
        if any(oom_killed(p) for p in suspects):
            _fetch_metrics(snap, cluster, namespace, None)
        note("reading logs")
        _fetch_logs(snap, cluster, suspects, scope=True)
    snap.owners_of_all = [(dig(p, "metadata.namespace", ""), top_owner(p, snap)) for p in suspects + others]
    if quota_namespaces:  # who uses a quota that rejects pods: the healthy pods of those namespaces
        snap.quiet_pods.extend(p for p in others if dig(p, "metadata.namespace", "") in quota_namespaces)
    return snap


_BULKY = ("template", "jobTemplate", "volumeClaimTemplates")


def _slim_workloads(snap: Snapshot) -> None:
    """Healthy workloads keep what the rules read of them (metadata, replicas, selector, status), not their
    pod templates: a scan holds every Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and CronJob."""
    for key, obj in list(snap.objects.items()):
        if key[0] in WORKLOAD_EVENT_KINDS and key[0] != "PersistentVolumeClaim" and not workload_suspect(obj) \
                and any(k in (obj.get("spec") or {}) for k in _BULKY):
            meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
            spec = {k: v for k, v in (obj.get("spec") or {}).items() if k not in _BULKY}
            snap.objects[key] = {**obj, "metadata": meta, "spec": spec}


def _slim(pod: dict) -> dict:
    """The parts of a healthy pod that top_owner reads (namespace, owners, pod-template-hash)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    slim = {"metadata": {"namespace": meta.get("namespace"), "name": meta.get("name"),
                         "ownerReferences": meta.get("ownerReferences") or [],
                         "labels": {"pod-template-hash": labels["pod-template-hash"]}
                         if "pod-template-hash" in labels else {}}}
    containers = dig(pod, "spec.containers") or []
    if any("resources" in c for c in containers if isinstance(c, dict)):  # what a quota counts (shared, not copied)
        slim["spec"] = {"containers": [{"resources": c.get("resources") or {}} for c in containers
                                       if isinstance(c, dict)]}
    return slim


def _try_list(snap: Snapshot, cluster, kind: str, namespace: str | None, *,
              keep: Callable[[dict], bool] | None = None, progress: Callable[[str], None] | None = None,
              **selectors) -> bool:
    from kubectl_podfix.cluster.api import ApiError

    count = 0
    try:
        for obj in cluster.list(kind, namespace, **selectors):
            count += 1
            if progress and count % 2000 == 0:
                progress(f"listing {kind.lower()}s ({count} so far)")
            if kind == "Event":
                obj = normalize_event(obj)
                if keep is None or keep(obj):
                    snap.events.append(obj)
            elif keep is None or keep(obj):
                snap.add(obj)
    except ApiError as exc:
        if _forbidden(exc) or exc.status == 404:
            snap.missing.add(kind.lower() + "s")
            return False
        raise
    if not selectors.get("field_selector") and not selectors.get("label_selector"):
        snap.listed.add((kind, namespace or "*"))
    return True


def _try_get(snap: Snapshot, cluster, kind: str, namespace: str | None, name: str) -> None:
    from kubectl_podfix.cluster.api import ApiError

    try:
        snap.add(cluster.get(kind, namespace, name))
    except ApiError as exc:
        if exc.status == 403:
            snap.missing.add(kind.lower() + "s")
        elif exc.status != 404:
            raise


def _fetch_metrics(snap: Snapshot, cluster, namespace: str | None, pod: str | None) -> None:
    """PodMetrics from metrics.k8s.io, when the cluster serves it (404/503 = no metrics-server)."""
    from kubectl_podfix.cluster.api import ApiError

    try:
        items = [cluster.get("PodMetrics", namespace, pod)] if pod else list(cluster.list("PodMetrics", namespace))
    except ApiError as exc:
        if exc.status in (403, 404, 503):
            snap.missing.add("metrics")
            return
        raise
    for item in items:
        meta = item.get("metadata") or {}
        snap.metrics[(meta.get("namespace") or namespace or "", meta.get("name") or "")] = item


def _fetch_related(snap: Snapshot, cluster, pods: list[dict], scope: str | None = "") -> None:
    """Pull secrets and ServiceAccounts for pods that fail to pull, one request per kind and namespace."""
    from kubectl_podfix.cluster.api import ApiError

    failing = [p for p in pods if pull_failing(p)]
    if not failing:
        return
    namespaces = sorted({dig(p, "metadata.namespace", "") for p in failing})
    single = len(pods) == 1 and scope == ""
    if scope is None and len(namespaces) > 1:
        # The whole cluster: one LIST per kind rather than one per namespace; when that is
        # forbidden (namespace-scoped RBAC), fall back to the namespaces below.
        kinds = {"Secret" if any(s for p in failing if dig(p, "metadata.namespace", "") == ns
                                 for s in dig(p, "spec.imagePullSecrets", []) or []) else "ServiceAccount"
                 for ns in namespaces}
        for kind in sorted(kinds):
            if not _try_list(snap, cluster, kind, None):
                snap.missing.discard(kind.lower() + "s")  # said again below if a namespace refuses too
                for ns in namespaces:
                    _try_list(snap, cluster, kind, ns)
        return
    for ns in namespaces:
        ns_pods = [p for p in failing if dig(p, "metadata.namespace", "") == ns]
        names = sorted({s.get("name") for p in ns_pods for s in dig(p, "spec.imagePullSecrets", []) or []
                        if isinstance(s, dict) and s.get("name")})
        if names:
            if single and len(names) == 1:
                # One named secret: a GET answers "does it exist" as well as a LIST would,
                # and the rules only ask about the secrets the pod names.
                try:
                    snap.add(cluster.get("Secret", ns, names[0]))
                    snap.listed.add(("Secret", ns))
                except ApiError as exc:
                    if exc.status == 404:
                        snap.listed.add(("Secret", ns))
                    elif exc.status == 403:
                        snap.missing.add("secrets")
                    else:
                        raise
            else:
                _try_list(snap, cluster, "Secret", ns)
        elif single and auth_suspected(ns_pods[:1], snap.events):
            sa = dig(ns_pods[0], "spec.serviceAccountName") or "default"
            try:
                snap.add(cluster.get("ServiceAccount", ns, sa))
            except ApiError as exc:
                if exc.status not in (403, 404):
                    raise
                if exc.status == 403:
                    snap.missing.add("serviceaccounts")
        elif not single and auth_suspected(ns_pods, snap.events):
            _try_list(snap, cluster, "ServiceAccount", ns)


def _fetch_logs(snap: Snapshot, cluster, pods: list[dict], scope: bool = False) -> None:
    """Last-run logs of the containers the crash rules quote, bounded, LOG_WORKERS at a time.

    For a scope, replicas of one workload crash the same way and the report shows one
    of them per group: one pod per (namespace, workload, container) is read, for the
    SCOPE_LOG_FETCHES workloads with the most failing pods.
    """
    from kubectl_podfix.cluster.api import ApiError

    wanted = [(dig(p, "metadata.namespace", ""), dig(p, "metadata.name", ""), c) for p in pods for c in needs_logs(p)]
    if not wanted:
        return
    limit = MAX_LOG_FETCHES
    if scope:
        by_pod = {(dig(p, "metadata.namespace", ""), dig(p, "metadata.name", "")): p for p in pods}
        groups: dict[tuple, list[tuple[str, str, str]]] = {}
        for key in wanted:
            owner = top_owner(by_pod[key[:2]], snap) or {"kind": "Pod", "name": key[1]}
            groups.setdefault((key[0], owner.get("kind"), owner.get("name"), key[2]), []).append(key)
        ranked = sorted(groups.values(), key=lambda keys: -len(keys))
        wanted = [keys[0] for keys in ranked]
        limit = SCOPE_LOG_FETCHES
    if len(wanted) > limit:
        snap.missing.add("logs-sampled" if scope else "logs")  # only the first ``limit`` containers
        wanted = wanted[:limit]
    current = {(dig(p, "metadata.namespace", ""), dig(p, "metadata.name", ""), s.get("name")) for p in pods
               for s in _statuses(p) if dig(s, "state.terminated") and not s.get("restartCount")}

    def fetch(key: tuple[str, str, str]) -> tuple[tuple[str, str, str], str | None]:
        ns, pod, container = key
        try:
            # a container that ended and was not restarted: its last run is the current log
            return key, cluster.log(ns, pod, container, previous=key not in current, tail=LOG_LINES)
        except ApiError as exc:
            if exc.status in (400, 404):  # no previous container (yet)
                return key, None
            if exc.status == 403 or exc.status == 429 or exc.status >= 500:
                # NB: logs only add detail, and a 5xx here usually means the node's kubelet is unreachable
                # (common in the very incidents podfix is used in): diagnose without them.
                snap.missing.add("logs")
                return key, None
            raise
        except PodfixError:  # a timeout or a dropped connection while reading the log: the same
            snap.missing.add("logs")
            return key, None

    from kubectl_podfix.cluster.threads import daemon_map

    # NB: daemon threads: a log read blocked on an unanswering kubelet must not hold Ctrl-C
    for key, text in daemon_map(fetch, wanted, LOG_WORKERS):
        if text is not None:
            snap.logs[key] = text


def gather_target(cluster, *, target: str | None, namespace: str, all_namespaces: bool = False,
                  label_selector: str | None = None, field_selector: str | None = None,
                  progress: Callable[[str], None] | None = None) -> tuple[Snapshot, str | None, str | None]:
    """What ``explain`` asks for: one pod, a workload's pods, a namespace or the cluster.

    Returns the snapshot and the target's (kind, name), or (None, None) for a scope.
    """
    kind, name = parse_target(target) if target else (None, None)
    if kind == "Pod":
        return gather_pod(cluster, namespace, name), kind, name
    ns_scope: str | None = None if all_namespaces else namespace
    workload = None
    if kind:
        workload = _get_workload(cluster, kind, namespace, name)
        workload.setdefault("kind", kind)
        workload.setdefault("apiVersion", RESOURCES_API.get(kind, ""))
        selector = dig(workload, "spec.selector") if kind != "CronJob" else None
        if selector:
            label_selector = selector_string(selector)
        ns_scope = namespace
    snap = gather_scope(cluster, ns_scope, label_selector=label_selector, field_selector=field_selector,
                        progress=progress, target=workload)
    return snap, kind, name


RESOURCES_API = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
                 "Job": "batch/v1", "CronJob": "batch/v1"}


def _get_workload(cluster, kind: str, namespace: str, name: str) -> dict:
    from kubectl_podfix.cluster.api import ApiError

    try:
        return cluster.get(kind, namespace, name)
    except ApiError as exc:
        if exc.status == 404:
            raise PodfixError(f'{kind.lower()} "{name}" not found in namespace "{namespace}"') from None
        raise


def enrich(snap: Snapshot, cluster, pods: list[dict], namespace: str | None, *, single: bool = False) -> None:
    """Read what the rules want beyond pods and events, for ``pods`` already in ``snap`` (from a watch).

    The same bounded reads a scan makes for its suspects: pull secrets or ServiceAccounts for pull
    failures (one request per kind and namespace), Nodes, PVCs, pod metrics when a rule needs them, and
    the previous logs of crashing containers. ``single``: one pod, read as ``explain POD`` does.
    """
    if not pods:
        return
    _fetch_related(snap, cluster, pods, scope="" if single else namespace)
    if any(needs_node(p) for p in pods):
        if single:
            _try_get(snap, cluster, "Node", None, dig(pods[0], "spec.nodeName"))
        else:
            _try_list(snap, cluster, "Node", None)
    by_uid: dict[str, list[dict]] = {}
    for ev in snap.events:
        by_uid.setdefault(dig(ev, "involvedObject.uid", "") or "", []).append(ev)
    for ns in sorted({dig(p, "metadata.namespace", "") for p in pods
                      if needs_pvcs(p, by_uid.get(dig(p, "metadata.uid", "") or "-", []))}):
        _try_list(snap, cluster, "PersistentVolumeClaim", ns)
    if any(oom_killed(p) for p in pods):
        _fetch_metrics(snap, cluster, namespace, dig(pods[0], "metadata.name") if single else None)
    _fetch_logs(snap, cluster, pods, scope=not single)


def enrich_workload(snap: Snapshot, cluster, namespace: str) -> None:
    """Read what the workload rules want beyond the workload, its children, pods and events (already in ``snap``,
    from a watch), as ``explain TYPE/NAME`` reads it: ResourceQuotas and LimitRanges when a create failure names
    them, PVCs and StorageClasses for a claim that fails (``workload_needs``), and, for a quota, the namespace's
    other pods, slimmed (who uses the quota). One LIST per kind, only when needed: for a diagnosis about to be
    shown, never while following."""
    need = workload_needs(snap)
    for kind in ("PersistentVolumeClaim", "ResourceQuota", "LimitRange"):
        if need.get(kind) and (kind, namespace) not in snap.listed:
            _try_list(snap, cluster, kind, namespace)
    if need.get("StorageClass") and ("StorageClass", "*") not in snap.listed:
        _try_list(snap, cluster, "StorageClass", None)
    if need.get("ResourceQuota"):
        mine = {dig(p, "metadata.uid") for p in snap.pods} - {None, ""}
        try:
            snap.quiet_pods.extend(_slim(p) for p in cluster.list("Pod", namespace)
                                   if dig(p, "metadata.uid") not in mine)
        except PodfixError:
            snap.missing.add("pods")
