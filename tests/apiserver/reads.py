"""Reads: objects as served (``render``), lists with selectors and pagination, pod logs.

Lists: items carry no ``kind``/``apiVersion`` (the real server strips them); ``metadata.continue`` is
present only when there is a next page and ``remainingItemCount`` only when no selector was given.  A
page is full before a continue token is issued, so the last page of a filtered list may be empty.
Continue tokens look like the real ones; a malformed token gets 400, a token older than the last
``compact()`` gets 410 Expired.  Later pages read the current store.  ``page_default`` caps every page.
"""

from __future__ import annotations

import base64
import bisect
import json

from .events import event_to_new
from .resources import BY_PATH, Res, dig
from .selector import field_filter, labels_match, parse_label_selector
from .status import ApiError, not_found
from .tables import to_table
from .wire import Request, int_param

EXPIRED = ("The provided continue parameter is too old to display a consistent list result. You can start a "
           "new list without the continue parameter, or use the continue token in this response to retrieve "
           "the remainder of the results. Continuing with the provided token results in an inconsistent list "
           "- objects that were created, modified, or deleted between the time the first chunk was returned "
           "and now may show up in the list.")


def keystr(key: tuple[str, str]) -> str:  # etcd orders by "ns/name"
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


def render(req: Request, res: Res, obj: dict) -> dict:
    """A stored object as served under ``res`` (events.k8s.io shape if asked there), or as a Table."""
    obj = event_to_new(obj) if res.kind == "Event" and res.group else dict(obj)
    obj["apiVersion"], obj["kind"] = res.api_version, res.kind
    if "as=Table" in req.headers.get("accept", ""):
        return to_table(res, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                        req.q("includeObject") or "Metadata")
    return {"kind": res.kind, "apiVersion": res.api_version, **obj}


class Reads:
    """FakeAPIServer's list and pod-log handlers, called with its lock held.

    They read the server's ``_store`` (via ``_lookup`` too), ``_rv``, ``_compacted``, ``page_default``,
    ``logs`` and keep ``_key_cache``.
    """

    def _list(self, req: Request, res: Res, ns: str | None) -> tuple[int, dict]:
        try:
            reqs = parse_label_selector(req.q("labelSelector") or "")
        except ValueError as e:
            raise ApiError(400, str(e))
        fmatch = field_filter(req.q("fieldSelector") or "", res)
        limit = int_param(req, "limit") or 0
        if self.page_default:
            limit = min(limit, self.page_default) if limit > 0 else self.page_default
        rv, start = self._rv, None
        if req.q("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(req.q("continue") + "=="))
                rv, start = int(token["rv"]), token["start"].rstrip("\x00")
            except (ValueError, KeyError, TypeError) as e:
                raise ApiError(400, f"continue key is not valid: {e}")
            if rv < self._compacted:
                raise ApiError(410, EXPIRED, "Expired")
        keys = self._sorted_keys(res.store, ns)
        if start is not None:
            keys = keys[bisect.bisect_right(self._sorted_strs(res.store, ns), start):]
        items, last = [], None
        for i, key in enumerate(keys):
            if limit and len(items) >= limit:
                break
            obj, last = self._store[res.store][key], i
            if labels_match(reqs, obj["metadata"].get("labels") or {}) and fmatch(obj):
                items.append(obj)
        meta = {"resourceVersion": str(rv)}
        if last is not None and limit and last + 1 < len(keys):
            token = {"v": "meta.k8s.io/v1", "rv": rv, "start": keystr(keys[last]) + "\x00"}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
            if not reqs and not req.q("fieldSelector"):
                meta["remainingItemCount"] = len(keys) - last - 1
        new_events = res.kind == "Event" and res.group
        rendered = [{k: v for k, v in (event_to_new(o) if new_events else o).items() if k not in ("kind", "apiVersion")}
                    for o in items]
        if "as=Table" in req.headers.get("accept", ""):
            return 200, to_table(res, rendered, meta, req.q("includeObject") or "Metadata")
        return 200, {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta, "items": rendered}

    def _sorted_cache(self, store: str, ns: str | None) -> tuple[list, list]:
        """Keys of a store (in one namespace or all) in list order, cached until the store changes:
        sorting 20,000 events for every page made the benchmark measure this server."""
        objs = self._store.get(store, {})
        stamp = (self._rv, len(objs))
        cached = self._key_cache.get((store, ns))
        if cached is None or cached[0] != stamp:
            keys = sorted((k for k in objs if ns is None or k[0] == ns), key=keystr)
            cached = self._key_cache[(store, ns)] = (stamp, keys, [keystr(k) for k in keys])
        return cached[1], cached[2]

    def _sorted_keys(self, store: str, ns: str | None) -> list:
        return self._sorted_cache(store, ns)[0]

    def _sorted_strs(self, store: str, ns: str | None) -> list:
        return self._sorted_cache(store, ns)[1]

    def _pod_log(self, req: Request, ns: str, name: str) -> tuple[int, str]:
        pod = self._lookup("pods", ns, name)
        res = BY_PATH[("", "v1", "pods")]
        if pod is None:
            raise not_found(res, name)
        spec = pod.get("spec") or {}
        names = {k: [c["name"] for c in spec.get(k) or []] for k in ("containers", "initContainers",
                                                                    "ephemeralContainers")}
        container = req.q("container")
        if not container:
            if len(names["containers"]) != 1:
                msg = f"a container name must be specified for pod {name}"
                if names["containers"]:
                    msg += f", choose one of: [{' '.join(names['containers'])}]"
                for k, label in (("initContainers", "init"), ("ephemeralContainers", "ephemeral")):
                    if names[k]:
                        msg += f" or one of the {label} containers: [{' '.join(names[k])}]"
                raise ApiError(400, msg)
            container = names["containers"][0]
        if not any(container in v for v in names.values()):
            raise ApiError(400, f"container {container} is not valid for pod {name}")
        previous = req.q("previous") in ("1", "t", "T", "true", "True", "TRUE")  # Go's strconv.ParseBool
        key = (ns, name, container, previous)
        if key not in self.logs and spec.get("nodeName"):  # unscheduled: the real server answers ""
            if previous:
                raise ApiError(400, f'previous terminated container "{container}" in pod "{name}" not found')
            statuses = sum((pod.get("status", {}).get(k) or [] for k in (
                "containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")), [])
            waiting = next((dig(s, "state.waiting") for s in statuses if s.get("name") == container
                            and dig(s, "state.waiting") is not None), None)
            if waiting is not None:
                why = {"ErrImagePull": "image can't be pulled", "ImagePullBackOff": "trying and failing to pull image"}
                reason = waiting.get("reason") or "ContainerCreating"
                raise ApiError(400, f'container "{container}" in pod "{name}" is waiting to start: '
                                    f'{why.get(reason, reason)}')
        text = self.logs.get(key, "")
        tail, limit = int_param(req, "tailLines"), int_param(req, "limitBytes")
        if tail is not None:
            text = "".join(text.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
        if limit is not None:
            text = text.encode()[:limit].decode(errors="ignore")
        return 200, text
