"""A live copy of the followed objects: Followers (cluster/watch.py) feed one queue, the caller's thread
applies what they report, so the copy is only ever touched by one thread.

``snapshot`` turns the copy into the ``Snapshot`` the rules read, for some of the pods, with their events and
the owners known; ``cluster.gather.enrich`` then adds what a diagnosis reads beyond that (pull secrets,
logs...), only for the pods about to be shown.
"""

from __future__ import annotations

import queue
from typing import Callable

from kubectl_podfix.cluster.errors import ApiError
from kubectl_podfix.cluster.gather import normalize_event
from kubectl_podfix.cluster.watch import Change, Follower
from kubectl_podfix.diagnose.model import Snapshot, dig
from kubectl_podfix.errors import PodfixError

Key = tuple[str, str]


def key_of(obj: dict) -> Key:
    return dig(obj, "metadata.namespace", "") or "", dig(obj, "metadata.name", "") or ""


def pod_of_event(ev: dict) -> tuple[str, Key] | None:
    """(uid or "", (namespace, name)) of the pod an event is about, or None when it is not about a pod."""
    inv = ev.get("involvedObject") or {}
    if inv.get("kind") not in (None, "", "Pod"):
        return None
    return inv.get("uid") or "", (inv.get("namespace") or dig(ev, "metadata.namespace", "") or "",
                                  inv.get("name") or "")


class Live:
    """Followers of some kinds, and the objects they reported, by kind and (namespace, name)."""

    def __init__(self, cluster, note: Callable[[str], None] | None = None):
        self.cluster = cluster
        self.note = note or (lambda _text: None)
        self.sink: "queue.Queue[Change]" = queue.Queue()
        self.objects: dict[str, dict[Key, dict]] = {}
        self.followers: list[Follower] = []
        self.missing: set[str] = set()

    def follow(self, kind: str, namespace: str | None, *, optional: bool = False, **options) -> list[dict]:
        """LIST ``kind`` now, then WATCH it. ``optional``: a 403/404 on the LIST only notes it as missing
        (like explain's degraded evidence) instead of failing."""
        follower = Follower(self.cluster, kind, namespace, sink=self.sink, **options)
        try:
            items = follower.start()
        except ApiError as exc:
            if optional and exc.status in (403, 404):
                self.missing.add(kind.lower() + "s")
                self.objects.setdefault(kind, {})
                return []
            raise
        self.followers.append(follower)
        self._replace(kind, items)
        return items

    def stop(self) -> None:
        for follower in self.followers:
            follower.stop()

    def items(self, kind: str) -> list[dict]:
        return list(self.objects.get(kind, {}).values())

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self.objects.get(kind, {}).get((namespace or "", name))

    def _prepare(self, kind: str, obj: dict) -> dict:
        return normalize_event(obj) if kind == "Event" else obj

    def _replace(self, kind: str, items: list[dict]) -> list[tuple[str, dict, dict | None]]:
        """A full list: what was added, changed or removed compared with the copy."""
        old = self.objects.get(kind, {})
        new = {}
        for item in items:
            item = self._prepare(kind, item)
            new[key_of(item)] = item
        self.objects[kind] = new
        changed = []
        for k, obj in new.items():
            before = old.get(k)
            if before is None:
                changed.append(("ADDED", obj, None))
            elif dig(before, "metadata.resourceVersion") != dig(obj, "metadata.resourceVersion"):
                changed.append(("MODIFIED", obj, before))
        changed += [("DELETED", obj, obj) for k, obj in old.items() if k not in new]
        return changed

    def poll(self, timeout: float) -> list[tuple[str, str, dict, dict | None]]:
        """Wait up to ``timeout`` seconds for changes, apply all that arrived: [(kind, type, obj, before)].

        NOTEs go to ``note``; a follower that stopped for good raises its error."""
        out: list[tuple[str, str, dict, dict | None]] = []
        try:
            first = self.sink.get(timeout=max(timeout, 0.0)) if timeout > 0 else self.sink.get_nowait()
        except queue.Empty:
            return out
        batch = [first]
        while True:
            try:
                batch.append(self.sink.get_nowait())
            except queue.Empty:
                break
        for change in batch:
            if change.type == "NOTE":
                self.note(change.text)
            elif change.type == "FAILED":
                raise change.error or PodfixError(f"the watch of {change.kind} stopped")
            elif change.type == "SYNC":
                out += [(change.kind, t, o, b) for t, o, b in self._replace(change.kind, change.items or [])]
            elif change.obj is not None:
                obj = self._prepare(change.kind, change.obj)
                store = self.objects.setdefault(change.kind, {})
                before = store.get(key_of(obj))
                if change.type == "DELETED":
                    store.pop(key_of(obj), None)
                else:
                    store[key_of(obj)] = obj
                out.append((change.kind, change.type, obj, before))
        return out

    def owners(self) -> Snapshot:
        """A Snapshot holding only the owners this copy knows (ReplicaSets, Jobs), for ``top_owner``."""
        snap = Snapshot(source="cluster")
        for kind in ("ReplicaSet", "Job"):
            for obj in self.items(kind):
                snap.add(obj)
        return snap

    def snapshot(self, pods: list[dict]) -> Snapshot:
        """A Snapshot of ``pods`` with their events and the owners this copy knows."""
        snap = Snapshot(source="cluster")
        snap.pods = list(pods)
        uids = {dig(p, "metadata.uid") for p in pods} - {None, ""}
        names = {key_of(p) for p in pods}
        for ev in self.items("Event"):
            about = pod_of_event(ev)
            if about is not None and (about[0] in uids if about[0] else about[1] in names):
                snap.events.append(ev)
        for kind in ("ReplicaSet", "Job"):
            for obj in self.items(kind):
                snap.add(obj)
        snap.missing |= self.missing
        return snap
