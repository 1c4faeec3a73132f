"""From a snapshot and its diagnosed pods to one ``WorkloadContext`` per workload (pure).

Workloads are the top controllers: a ReplicaSet a Deployment owns is part of
that Deployment (its child), a Job a CronJob owns part of that CronJob, unless
it is the very object asked for. Events are joined by involvedObject (uid, or
kind and name for saved files), once for all workloads.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import Snapshot, dig, event_time, parse_time, report_now
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.workloads.model import WORKLOAD_KINDS, WorkloadContext

_EVENT_KINDS = set(WORKLOAD_KINDS) | {"PersistentVolumeClaim"}


def controller(obj: dict) -> dict | None:
    return next((r for r in dig(obj, "metadata.ownerReferences", []) or [] if r.get("controller")), None)


def is_top(obj: dict) -> bool:
    """Whether ``obj`` is a workload of its own (no Deployment/CronJob above it)."""
    ref = controller(obj)
    if not ref:
        return True
    return not ((obj.get("kind") == "ReplicaSet" and ref.get("kind") == "Deployment")
                or (obj.get("kind") == "Job" and ref.get("kind") == "CronJob"))


def workloads(snapshot: Snapshot) -> list[dict]:
    """Every top-level workload in the snapshot, sorted by namespace, kind, name."""
    out = [o for (kind, _, _), o in snapshot.objects.items() if kind in WORKLOAD_KINDS and is_top(o)]
    return sorted(out, key=lambda o: (dig(o, "metadata.namespace", ""), WORKLOAD_KINDS.index(o["kind"]),
                                      dig(o, "metadata.name", "")))


def _children_index(snapshot: Snapshot) -> dict[tuple, list[dict]]:
    """ReplicaSets and Jobs by (kind of owner, namespace, owner uid) and (..., owner name), newest first."""
    index: dict[tuple, list[dict]] = {}
    for (kind, ns, _), child in snapshot.objects.items():
        if kind not in ("ReplicaSet", "Job"):
            continue
        ref = controller(child)
        if not ref or ref.get("kind") not in ("Deployment", "CronJob"):
            continue
        if ref.get("uid"):
            index.setdefault((ref["kind"], ns, "uid", ref["uid"]), []).append(child)
        index.setdefault((ref["kind"], ns, "name", ref.get("name")), []).append(child)
    for children in index.values():
        children.sort(key=lambda c: parse_time(dig(c, "metadata.creationTimestamp")) or report_now(), reverse=True)
    return index


def _children(index: dict[tuple, list[dict]], obj: dict) -> list[dict]:
    kind = obj.get("kind")
    if kind not in ("Deployment", "CronJob"):
        return []
    meta = obj.get("metadata") or {}
    ns, uid = meta.get("namespace") or "", meta.get("uid")
    by_uid = index.get((kind, ns, "uid", uid), []) if uid else []
    by_name = [c for c in index.get((kind, ns, "name", meta.get("name")), [])
               if not (uid and (controller(c) or {}).get("uid"))]  # NB: a uid-less ref (saved files) by name
    if not by_name:
        return list(by_uid)
    both = by_uid + [c for c in by_name if c not in by_uid]
    return sorted(both, key=lambda c: parse_time(dig(c, "metadata.creationTimestamp")) or report_now(), reverse=True)


def claim_names(obj: dict, children: list[dict]) -> set[str]:
    """PVC names the workload's pods use: template claims, and a StatefulSet's claim templates per ordinal."""
    tmpl = dig(obj, "spec.jobTemplate.spec.template" if obj.get("kind") == "CronJob" else "spec.template", {}) or {}
    names = {dig(v, "persistentVolumeClaim.claimName") for v in dig(tmpl, "spec.volumes", []) or []
             if isinstance(v, dict)} - {None}
    if obj.get("kind") == "StatefulSet":
        replicas = dig(obj, "spec.replicas")
        replicas = 1 if replicas is None else replicas
        for t in dig(obj, "spec.volumeClaimTemplates", []) or []:
            for i in range(min(int(replicas or 0), 200)):
                names.add(f"{dig(t, 'metadata.name', '')}-{dig(obj, 'metadata.name', '')}-{i}")
    return names


def workload_contexts(snapshot: Snapshot, results: Iterable[PodResult], *,
                      target: tuple[str, str, str] | None = None, now=None) -> list[WorkloadContext]:
    """One context per top-level workload (or only ``target``: (kind, namespace, name))."""
    now = now or report_now()
    if target:
        obj = snapshot.get(*target)
        objs = [obj] if obj else []
    else:
        objs = workloads(snapshot)
    if not objs:
        return []
    by_key: dict[tuple[str, str, str], list[dict]] = {}
    by_uid: dict[str, list[dict]] = {}
    for ev in snapshot.events:
        inv = ev.get("involvedObject") or {}
        if inv.get("kind") not in _EVENT_KINDS:
            continue
        ns = inv.get("namespace") or dig(ev, "metadata.namespace", "") or ""
        by_key.setdefault((inv.get("kind"), ns, inv.get("name") or ""), []).append(ev)
        if inv.get("uid"):
            by_uid.setdefault(inv["uid"], []).append(ev)
    pods_by_owner: dict[tuple[str, str, str], list[PodResult]] = {}
    for r in results:
        owners = {(r.ctx.owner or {}).get("kind"): (r.ctx.owner or {}).get("name")}
        for ref in dig(r.ctx.pod, "metadata.ownerReferences", []) or []:
            owners.setdefault(ref.get("kind"), ref.get("name"))
        for kind, name in owners.items():
            if kind:
                pods_by_owner.setdefault((kind, r.ctx.namespace, name), []).append(r)
    totals: dict[tuple[str, str, str], int] = {}
    for ns, owner in snapshot.owners_of_all:
        if owner:
            key = (owner.get("kind"), ns, owner.get("name"))
            totals[key] = totals.get(key, 0) + 1

    def events_of(obj: dict) -> list[dict]:
        key = (obj.get("kind"), dig(obj, "metadata.namespace", "") or "", dig(obj, "metadata.name", "") or "")
        uid = dig(obj, "metadata.uid")
        evs = by_key.get(key, [])
        if uid:  # NB: an event about an earlier object of the same name does not belong to this one
            evs = [e for e in evs if not dig(e, "involvedObject.uid") or dig(e, "involvedObject.uid") == uid]
        return evs

    index = _children_index(snapshot)
    out = []
    for obj in objs:
        ns, name, kind = dig(obj, "metadata.namespace", "") or "", dig(obj, "metadata.name", "") or "", obj["kind"]
        children = _children(index, obj)
        events = list(events_of(obj))
        for child in children:
            events.extend(events_of(child))
        pvcs = []
        for claim in sorted(claim_names(obj, children)):
            pvc = snapshot.get("PersistentVolumeClaim", ns, claim)
            if pvc is not None:
                pvcs.append(pvc)
                events.extend(events_of(pvc))
            else:
                events.extend(by_key.get(("PersistentVolumeClaim", ns, claim), []))
        events.sort(key=lambda e: event_time(e) or now)
        pods = list(pods_by_owner.get((kind, ns, name), []))
        if kind == "CronJob":
            for child in children:
                pods.extend(p for p in pods_by_owner.get(("Job", ns, dig(child, "metadata.name", "")), [])
                            if p not in pods)
        out.append(WorkloadContext(workload=obj, snapshot=snapshot, events=events, pods=pods, children=children,
                                   pvcs=pvcs, pod_total=totals.get((kind, ns, name)), now=now))
    return out
