"""A loopback HTTP server that behaves like the Kubernetes API server, for tests.

It is the only fake in the project: the real ``kubernetes`` client, real kubeconfig
loading and the real ``kubectl`` binary talk to it over HTTP on 127.0.0.1.  It copies
the real server's wire behaviour for what podfix uses: URL shapes, query parameters,
``metav1.Status`` error bodies, list metadata, content types, RBAC messages.

Choices worth knowing:

* ``add()`` seeds objects verbatim (status included, no hooks).  Writes through the
  API behave like the real server: status is kept from the stored object on
  update/patch and reset on create, pods get a few defaults, pod specs are immutable.
* Core ``v1`` events and ``events.k8s.io/v1`` events share one store (as in a real
  cluster); objects are kept in the core shape and converted when served under
  ``/apis/events.k8s.io/v1``.
* List items carry no ``kind``/``apiVersion`` (the real server strips them);
  ``metadata.continue`` is present only when there is a next page and
  ``remainingItemCount`` only when no selector was given.  A page is full before a
  continue token is issued, so the last page of a filtered list may be empty.
* Continue tokens look like the real ones; a malformed token gets 400, a token older
  than the last ``compact()`` gets 410 Expired.  Later pages read the current store.
* ``page_default`` caps every page (the server may return fewer items than ``limit``).
* ``deny("get", "pods")`` does not deny ``pods/log`` (RBAC semantics); use
  ``deny("get", "pods/log")``.  A resource may be qualified: ``"deployments.apps"``.
* ``fail(path_regex=...)`` is ``re.search``-ed against the path without the query.
* Unknown paths (``/openapi/v2``, ``/openapi/v3``...) get 404: kubectl get/describe/logs/
  patch/delete/auth can-i cope; ``kubectl create|apply -f`` need ``--validate=false``.
* ``kubectl auth can-i`` posts its SelfSubjectAccessReview as protobuf; that one body is
  decoded (``Request.json`` shows it).  Everything else is JSON (or YAML) only.
* Not supported: watch (405), server-side apply (415), garbage collection.

Client behaviour worth knowing when counting requests: the Python client (urllib3's
default ``Retry(3)``) retries GETs by itself after a dropped connection, a read timeout,
or a 429/503 that carries ``Retry-After``; kubectl (the gcloud dispatcher build) sends
``GET /version`` before every command.
"""

from __future__ import annotations

import base64
import bisect
import copy
import json
import re
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import yaml

from .defaults import apply_defaults
from .events import event_to_core, event_to_new
from .patches import json_patch, merge_patch, strategic_merge  # noqa: F401 (tests)
from .rbac import access_review, authorize, deny_rule
from .resources import BY_KIND, BY_PATH, GENERATION_KINDS, STATUS_KINDS, VERSION, Res, dig, discovery, now, \
    served_groups
from .selector import field_filter, labels_match, parse_field_selector, parse_label_selector  # noqa: F401 (tests)
from .status import ApiError, not_found, status_body, status_details
from .tables import to_table
from .validation import validate
from .wire import Request, int_param, read_request, write_response


EXPIRED = ("The provided continue parameter is too old to display a consistent list result. You can start a "
           "new list without the continue parameter, or use the continue token in this response to retrieve "
           "the remainder of the results. Continuing with the provided token results in an inconsistent list "
           "- objects that were created, modified, or deleted between the time the first chunk was returned "
           "and now may show up in the list.")


def _keystr(key: tuple[str, str]) -> str:  # etcd orders by "ns/name"
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


# ---------------------------------------------------------------- the server

@dataclass
class _Fault:
    method: str
    regex: re.Pattern
    status: int | None
    reason: str | None
    message: str | None
    times: int | None
    retry_after: int | None
    delay: float
    drop: bool
    body: dict | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body in two writes cost a 40 ms delayed ACK

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        super().finish()
        self.server.connections.discard(self.connection)

    def do_GET(self):
        self.server.fake._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def log_message(self, *args):
        pass


class FakeAPIServer:
    def __init__(self, objects: list[dict] = (), *, page_default: int | None = None, token: str | None = None,
                 user: str = "system:serviceaccount:default:test"):
        self.page_default, self.token, self.user = page_default, token, user
        self.url = ""
        self.requests: list[Request] = []
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        self.on_delete: list[Callable[[dict], Any]] = []
        self.on_write: list[Callable[[str, dict], Any]] = []
        self._lock = threading.RLock()
        # store -> (namespace or "", name) -> object.  Stored objects are never mutated in place (every
        # write stores a new dict), so responses may share them and be serialised outside the lock.
        self._store: dict[str, dict[tuple[str, str], dict]] = {}
        self._key_cache: dict[tuple[str, str | None], tuple] = {}
        self._faults: list[_Fault] = []
        self._denied: list[tuple[str, str, str, str | None, str | None]] = []
        self._rv, self._seq, self._compacted = 1000, 0, 0
        self._httpd: ThreadingHTTPServer | None = None
        self.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        self.add(*objects)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "FakeAPIServer":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake, self._httpd.connections = self, set()
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True, name="fake-apiserver").start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            for conn in list(self._httpd.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._httpd = None

    def __enter__(self) -> "FakeAPIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ test helpers
    def add(self, *objs: dict) -> None:
        """Store (or replace) objects verbatim, filling uid/resourceVersion/creationTimestamp if missing."""
        with self._lock:
            for obj in objs:
                obj = copy.deepcopy(obj)
                group = obj.get("apiVersion", "").rpartition("/")[0] if "apiVersion" in obj else "*"
                res = BY_KIND.get((group, obj.get("kind"))) or BY_KIND.get(("*", obj.get("kind")))
                if res is None:
                    raise ValueError(f"FakeAPIServer does not serve kind {obj.get('kind')!r}")
                if res.kind == "Event":
                    obj = event_to_core(obj)
                obj.setdefault("apiVersion", res.api_version)
                meta = obj.setdefault("metadata", {})
                if not res.namespaced:
                    meta.pop("namespace", None)
                else:
                    meta.setdefault("namespace", "default")
                    if not self._lookup("namespaces", "", meta["namespace"]):
                        self.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": meta["namespace"]}})
                if res.kind == "Namespace":
                    obj.setdefault("status", {"phase": "Active"})
                meta.setdefault("uid", self._uid(res, meta))
                meta.setdefault("resourceVersion", self._next_rv())
                meta.setdefault("creationTimestamp", now())
                if res.kind in GENERATION_KINDS:
                    meta.setdefault("generation", 1)
                self._store.setdefault(res.store, {})[(meta.get("namespace", ""), meta["name"])] = obj

    def remove(self, kind: str, namespace: str | None, name: str) -> dict | None:
        """Delete an object without hooks (e.g. simulate the kubelet finishing a pod's deletion)."""
        with self._lock:
            return self._store.get(BY_KIND[("*", kind)].store, {}).pop((namespace or "", name), None)

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._lookup(BY_KIND[("*", kind)].store, namespace or "", name))

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            items = sorted(self._store.get(BY_KIND[("*", kind)].store, {}).items(), key=lambda kv: _keystr(kv[0]))
            return [copy.deepcopy(o) for (ns, _), o in items if namespace is None or ns == namespace]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method.upper())
                       and (path_prefix is None or r.path.startswith(path_prefix)))

    def compact(self) -> None:
        """Expire every continue token issued so far (the next page gets 410 Expired)."""
        with self._lock:
            self._compacted = self._rv + 1

    def fail(self, method: str, path_regex: str, status: int | None, *, reason: str | None = None,
             message: str | None = None, times: int | None = None, retry_after: int | None = None,
             delay: float = 0.0, drop: bool = False, body: dict | None = None) -> None:
        """Matching requests (method or "*", re.search on the path) get this Status error.

        status=None with delay: answer normally, late.  drop=True: close the socket unanswered."""
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, reason, message, times,
                                       retry_after, delay, drop, body))

    def deny(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """RBAC: forbid verb ("*" for all) on resource ("pods", "pods/log", "deployments.apps", "*")."""
        with self._lock:
            self._denied.append(deny_rule(verb, resource, namespace))

    def write_kubeconfig(self, path, *, context: str = "fake", namespace: str = "default",
                         token: str | None = None, user: str = "test-user"):
        """A kubeconfig pointing at self.url; token defaults to the server's token or "test-token"."""
        config = {"apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
                  "clusters": [{"name": context, "cluster": {"server": self.url}}],
                  "users": [{"name": user, "user": {"token": token or self.token or "test-token"}}],
                  "contexts": [{"name": context, "context": {"cluster": context, "user": user,
                                                             "namespace": namespace}}]}
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        return path

    # ------------------------------------------------------------ internals
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _uid(self, res: Res, meta: dict) -> str:
        self._seq += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{res.kind}/{meta.get('namespace')}/{meta.get('name')}/{self._seq}"))

    def _lookup(self, store: str, ns: str, name: str) -> dict | None:
        return self._store.get(store, {}).get((ns, name))

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        req = read_request(h)
        with self._lock:
            self.requests.append(req)
            fault = next((f for f in self._faults if f.method in ("*", req.method) and f.regex.search(req.path)),
                         None)
            if fault and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        hooks: list[Callable[[], Any]] = []
        extra_headers = {}
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.drop:
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault.status:
            details = {"retryAfterSeconds": fault.retry_after} if fault.retry_after is not None else None
            code, payload = fault.status, fault.body or status_body(fault.status, fault.message, fault.reason,
                                                                     details)
            if fault.retry_after is not None:
                extra_headers["Retry-After"] = str(fault.retry_after)
        else:
            try:
                with self._lock:
                    code, payload = self._dispatch(req, hooks)
            except ApiError as e:
                code, payload = e.code, e.body
            except Exception as e:  # a bug in the fake: say so loudly instead of dropping the connection
                traceback.print_exc()
                code, payload = 500, status_body(500, f"FakeAPIServer bug: {e!r}")
            for hook in hooks:
                hook()
        write_response(h, req.method, code, payload, extra_headers)

    def _groups(self) -> list[tuple[str, str]]:
        metrics = any(self._store.get(k) for k in ("pods.metrics.k8s.io", "nodes.metrics.k8s.io"))
        return served_groups(metrics)

    def _dispatch(self, req: Request, hooks: list) -> tuple[int, Any]:
        if self.token and req.headers.get("authorization") != f"Bearer {self.token}":
            raise ApiError(401)
        path = req.path.rstrip("/") or "/"
        groups = self._groups()
        if path == "/version":
            return 200, VERSION
        if path == "/api":
            host = req.headers.get("host", "127.0.0.1")
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}
        group_docs = {g: {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                          "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}} for g, v in groups}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(group_docs.values())}
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) == 2 and parts[1] in group_docs:
            return 200, {"kind": "APIGroup", "apiVersion": "v1", **group_docs[parts[1]]}
        elif parts[0] == "apis" and len(parts) >= 3 and (parts[1], parts[2]) in groups:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, details={})
        if not rest:
            return 200, discovery(group, version)
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and (group, version, rest[2]) in BY_PATH:
            ns, rest = rest[1], rest[2:]
        res = BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 3 or (ns is not None and not res.namespaced) or \
                (res.namespaced and ns is None and len(rest) > 1):
            raise ApiError(404, details={})
        name, sub = (rest + [None, None])[1:3]
        if sub and not (res.kind == "Pod" and sub == "log" and not res.group):
            raise ApiError(404, details={})
        if req.q("watch") in ("1", "t", "T", "true", "True", "TRUE"):
            raise ApiError(405, "watch is not supported by FakeAPIServer")
        verb = {"GET": "get" if name else "list", "HEAD": "get" if name else "list", "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}[req.method]
        if verb not in res.verbs or (verb == "create" and name) or (not name and verb in ("update", "patch")) \
                or (sub and verb != "get") or (verb in ("create", "deletecollection") and res.namespaced and not ns):
            raise ApiError(405)
        authorize(self._denied, self.user, verb, res, sub, ns, name)
        if res.kind == "SelfSubjectAccessReview":
            return 201, access_review(self._denied, req.json or {})
        if sub == "log":
            return self._pod_log(req, ns, name)
        if verb == "list":
            return self._list(req, res, ns)
        if verb == "get":
            obj = self._lookup(res.store, ns or "", name)
            if obj is None:
                raise not_found(res, name)
            return 200, self._render(req, res, obj)
        if verb == "deletecollection":
            return self._delete_collection(req, res, ns, hooks)
        if verb == "delete":
            return self._delete(req, res, ns, name, hooks)
        return self._write(req, res, verb, ns, name, hooks)

    # ------------------------------------------------------------ reads
    def _render(self, req: Request, res: Res, obj: dict) -> dict:
        obj = event_to_new(obj) if res.kind == "Event" and res.group else dict(obj)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if "as=Table" in req.headers.get("accept", ""):
            return to_table(res, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                            req.q("includeObject") or "Metadata")
        return {"kind": res.kind, "apiVersion": res.api_version, **obj}

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
            token = {"v": "meta.k8s.io/v1", "rv": rv, "start": _keystr(keys[last]) + "\x00"}
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
            keys = sorted((k for k in objs if ns is None or k[0] == ns), key=_keystr)
            cached = self._key_cache[(store, ns)] = (stamp, keys, [_keystr(k) for k in keys])
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

    # ------------------------------------------------------------ writes
    def _dry_run(self, req: Request, body: dict | None = None) -> bool:
        values = req.query.get("dryRun") or (body or {}).get("dryRun") or []
        if any(v != "All" for v in values):
            raise ApiError(422, f'dryRun: Unsupported value: "{values[0]}": supported values: "All"')
        return bool(values)

    def _parse_patch(self, req: Request, res: Res, old: dict) -> dict:
        ctype = req.content_type.split(";")[0].strip().lower()
        current = copy.deepcopy(event_to_new(old) if res.kind == "Event" and res.group else old)
        try:
            body = json.loads(req.body or b"null")
        except ValueError as e:
            raise ApiError(400, f"error decoding patch: {e}")
        if ctype == "application/strategic-merge-patch+json":
            if not isinstance(body, dict):
                raise ApiError(400, f"json: cannot unmarshal {type(body).__name__} into Go value of type "
                                    "map[string]interface {}")
            return strategic_merge(current, body)
        if ctype == "application/merge-patch+json":
            return merge_patch(current, body)
        if ctype == "application/json-patch+json":
            if not isinstance(body, list):
                raise ApiError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            try:
                return json_patch(current, body)
            except (ValueError, TypeError, AttributeError) as e:
                raise ApiError(422, details={"causes": [{"reason": "UnexpectedServerResponse", "message": str(e)}]})
        raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                            "application/json-patch+json, application/merge-patch+json, "
                            "application/strategic-merge-patch+json")

    def _write(self, req: Request, res: Res, verb: str, ns: str | None, name: str | None, hooks) -> tuple[int, dict]:
        old = self._lookup(res.store, ns or "", name) if name else None
        if verb in ("update", "patch") and old is None:
            raise not_found(res, name)
        if verb == "patch":
            obj = self._parse_patch(req, res, old)
        else:
            if req.content_type.split(";")[0].strip() not in ("application/json", "application/yaml", ""):
                raise ApiError(415, 'the body of the request was in an unknown format - accepted media types '
                                    'include: application/json, application/yaml')
            obj = copy.deepcopy(req.json)
            if not isinstance(obj, dict):
                raise ApiError(400, "the body of the request was in an unknown format")
        if res.kind == "Event":
            obj = event_to_core(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if res.namespaced:
            if meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "the namespace of the provided object does not match the namespace sent on "
                                    "the request")
            meta["namespace"] = ns
        if verb != "create" and meta.get("name") != name:
            raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match the name on the "
                                f"URL ({name})")
        dry = self._dry_run(req)
        obj["apiVersion"], obj["kind"] = "v1" if res.kind == "Event" else res.api_version, res.kind
        if verb == "create":
            if not meta.get("name") and meta.get("generateName"):
                self._seq += 1
                meta["name"] = meta["generateName"] + uuid.uuid5(uuid.NAMESPACE_URL, str(self._seq)).hex[:5]
            if ns and not self._lookup("namespaces", "", ns):
                raise ApiError(404, f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})
            validate(res, obj, None)
            if self._lookup(res.store, ns or "", meta["name"]):
                raise ApiError(409, f'{res.gr} "{meta["name"]}" already exists', "AlreadyExists",
                               status_details(res, meta["name"]))
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "uid"):
                meta.pop(k, None)
            apply_defaults(res, obj)
            meta["uid"], meta["creationTimestamp"] = self._uid(res, meta), now()
            if res.kind in GENERATION_KINDS:
                meta["generation"] = 1
        else:
            if meta.get("resourceVersion") not in (None, "", old["metadata"]["resourceVersion"]):
                raise ApiError(409, f'Operation cannot be fulfilled on {res.gr} "{name}": the object has been '
                                    "modified; please apply your changes to the latest version and try again",
                               "Conflict", status_details(res, name))
            validate(res, obj, old)
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
                meta.pop(k, None)
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
            if res.kind in STATUS_KINDS:
                obj.pop("status", None)
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
            if res.kind in GENERATION_KINDS and obj.get("spec") != old.get("spec"):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if res.kind == "Secret" and obj.get("stringData"):  # write-only convenience field
            obj.setdefault("data", {}).update({k: base64.b64encode(v.encode()).decode()
                                              for k, v in obj.pop("stringData").items()})
        old_rv = old["metadata"].get("resourceVersion") if old else None
        if old is not None and {**obj, "metadata": {**meta, "resourceVersion": old_rv}} == old:
            meta["resourceVersion"] = old_rv  # a no-op write keeps its resourceVersion, like the real server
        elif not dry:
            meta["resourceVersion"] = self._next_rv()
        if not dry:
            if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
                self._store[res.store].pop((ns or "", name))
                hooks.extend(lambda h=h, o=copy.deepcopy(obj): h(o) for h in self.on_delete)
            else:
                self._store.setdefault(res.store, {})[(ns or "", meta["name"])] = obj
            hooks.extend(lambda h=h, o=copy.deepcopy(obj): h(verb, o) for h in self.on_write)
        return (201 if verb == "create" else 200), self._render(req, res, obj)

    def _delete(self, req: Request, res: Res, ns: str | None, name: str, hooks) -> tuple[int, dict]:
        obj = self._lookup(res.store, ns or "", name)
        if obj is None:
            raise not_found(res, name)
        opts = req.json if isinstance(req.json, dict) else {}
        pre = opts.get("preconditions") or {}
        for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if pre.get(key) and pre[key] != obj["metadata"].get(key):
                raise ApiError(409, f"Precondition failed: {label} in precondition: {pre[key]}, {label} in object "
                                    f"meta: {obj['metadata'].get(key)}", "Conflict", status_details(res, name))
        dry = self._dry_run(req, opts)
        obj = copy.deepcopy(obj)
        if obj["metadata"].get("finalizers"):  # stays until its finalizers are removed
            obj["metadata"].setdefault("deletionTimestamp", now())
            obj["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            if not dry:
                obj["metadata"]["resourceVersion"] = self._next_rv()
                self._store[res.store][(ns or "", name)] = obj
            return 200, self._render(req, res, obj)
        if not dry:
            del self._store[res.store][(ns or "", name)]
            if res.kind == "Namespace":
                for store in self._store.values():
                    for key in [k for k in store if k[0] == name]:
                        del store[key]
            hooks.extend(lambda h=h, o=copy.deepcopy(obj): h(o) for h in self.on_delete)
        return 200, self._render(req, res, obj)

    def _delete_collection(self, req: Request, res: Res, ns: str, hooks) -> tuple[int, dict]:
        sub = Request(req.method, req.path, {k: v for k, v in req.query.items() if k not in ("limit", "continue")},
                      {}, b"", None, "")
        _, listed = self._list(sub, res, ns)
        for item in listed["items"]:
            self._delete(req, res, ns, item["metadata"]["name"], hooks)
        return 200, listed
