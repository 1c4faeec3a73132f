"""From a snapshot to the per-pod contexts rules read (pure).

A pod's events are joined by ``involvedObject.uid`` (by name for saved files
without uids), and its owner is followed up to the top controller through the
snapshot, without another request.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import PodContext, Snapshot, dig, event_time, report_now


def top_owner(pod: dict, snapshot: Snapshot) -> dict | None:
    """{"kind", "name"} of the pod's top controller, following ownerReferences through the snapshot."""
    refs = dig(pod, "metadata.ownerReferences", []) or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not ref:
        return None
    kind, name = ref.get("kind"), ref.get("name")
    ns = dig(pod, "metadata.namespace", "")
    if kind == "Node":  # a static pod's mirror: no controller to change
        return None
    for _ in range(4):
        owner = snapshot.get(kind, ns, name)
        if owner is None:
            break
        up = [r for r in dig(owner, "metadata.ownerReferences", []) or [] if r.get("controller")]
        if not up:
            break
        kind, name = up[0].get("kind"), up[0].get("name")
    if kind == "ReplicaSet" and snapshot.get("ReplicaSet", ns, name) is None:
        # NB: a Deployment names its ReplicaSets "<deployment>-<pod-template-hash>" and labels
        # the pods with that hash, so the Deployment is known without another request.
        hash_ = dig(pod, "metadata.labels", {}).get("pod-template-hash")
        if isinstance(hash_, str) and hash_ and isinstance(name, str) and name.endswith("-" + hash_):
            return {"kind": "Deployment", "name": name[: -len(hash_) - 1]}
    return {"kind": kind, "name": name}


def contexts(snapshot: Snapshot, pods: Iterable[dict] | None = None) -> list[PodContext]:
    """Build one PodContext per pod, joining events by involvedObject uid (or name for uid-less files)."""
    by_uid: dict[str, list[dict]] = {}
    by_name: dict[tuple[str, str], list[dict]] = {}
    for ev in snapshot.events:
        inv = ev.get("involvedObject") or {}
        if inv.get("kind") not in (None, "", "Pod"):
            continue
        ns = inv.get("namespace") or dig(ev, "metadata.namespace", "")
        if inv.get("uid"):
            by_uid.setdefault(inv["uid"], []).append(ev)
        by_name.setdefault((ns, inv.get("name") or ""), []).append(ev)
    now = report_now()
    out = []
    for pod in (snapshot.pods if pods is None else pods):
        uid = dig(pod, "metadata.uid")
        key = (dig(pod, "metadata.namespace", "") or "", dig(pod, "metadata.name", "") or "")
        if uid and uid in by_uid:
            events = by_uid[uid]
        else:
            events = [ev for ev in by_name.get(key, []) if not (dig(ev, "involvedObject.uid") and uid)]
        events = sorted(events, key=lambda e: event_time(e) or now)
        out.append(PodContext(pod=pod, events=events, snapshot=snapshot, owner=top_owner(pod, snapshot), now=now))
    return out
