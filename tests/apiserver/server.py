"""The server itself: ``FakeAPIServer`` (its state, lifecycle and test helpers), the HTTP handler thread,
injected faults, and routing a request to discovery or a resource handler (reads.py, writes.py).

Every request is recorded and checked against the faults (``fail()``) before it is handled; handlers run
with the server's lock held, and hooks (``on_write``/``on_delete``) after it is released.
"""

from __future__ import annotations

import bisect
import copy
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

from .events import event_to_core
from .rbac import access_review, authorize, deny_rule
from .reads import Reads, keystr, render
from .resources import BY_KIND, BY_PATH, GENERATION_KINDS, VERSION, Res, discovery, now, served_groups
from .status import ApiError, not_found, status_body
from .watch import Change, WatchStream
from .wire import Request, read_request, write_response
from .writes import Writes


@dataclass
class _Answer:
    method: str
    regex: re.Pattern
    fn: Callable[[BaseHTTPRequestHandler, Request], Any]
    times: int | None


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


class FakeAPIServer(Reads, Writes):
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
        self._answers: list[_Answer] = []
        self._denied: list[tuple[str, str, str, str | None, str | None]] = []
        self._rv, self._seq, self._compacted = 1000, 0, 0
        # the change log watches read (watch.py): every add/update/patch/delete, through the API or the helpers
        self._log: list[Change] = []
        self._log_rvs: list[int] = []
        self._log_floor = 0  # a watch must start at or after this resourceVersion (compact())
        self._changed = threading.Condition(self._lock)
        self._watches: set[WatchStream] = set()
        self._bookmark_seq = 0
        self._stopping = False
        self.bookmark_interval: float | None = None  # periodic BOOKMARKs (the real server: about 60 s)
        self._httpd: ThreadingHTTPServer | None = None
        self.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        self.add(*objects)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "FakeAPIServer":
        self._stopping = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake, self._httpd.connections = self, set()
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True, name="fake-apiserver").start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._changed.notify_all()
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
        """Store (or replace) objects verbatim, filling uid/resourceVersion/creationTimestamp if missing.

        Watches see an ADDED or MODIFIED event.  Replacing an object with a copy that still carries the
        stored resourceVersion (``add({**get(...), ...})``) gives it a new one, as any change does."""
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
                key = (meta.get("namespace", ""), meta["name"])
                old = self._store.get(res.store, {}).get(key)
                if old is not None and meta.get("resourceVersion") == old["metadata"].get("resourceVersion"):
                    meta.pop("resourceVersion")
                meta.setdefault("uid", self._uid(res, meta))
                meta.setdefault("resourceVersion", self._next_rv())
                meta.setdefault("creationTimestamp", now())
                if res.kind in GENERATION_KINDS:
                    meta.setdefault("generation", 1)
                self._store.setdefault(res.store, {})[key] = obj
                self._record("MODIFIED" if old is not None else "ADDED", res.store, key, obj, old)

    def remove(self, kind: str, namespace: str | None, name: str) -> dict | None:
        """Delete an object without hooks (e.g. simulate the kubelet finishing a pod's deletion)."""
        with self._lock:
            store = BY_KIND[("*", kind)].store
            obj = self._store.get(store, {}).pop((namespace or "", name), None)
            if obj is not None:
                self._record_delete(store, (namespace or "", name), obj)
            return obj

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._lookup(BY_KIND[("*", kind)].store, namespace or "", name))

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            items = sorted(self._store.get(BY_KIND[("*", kind)].store, {}).items(), key=lambda kv: keystr(kv[0]))
            return [copy.deepcopy(o) for (ns, _), o in items if namespace is None or ns == namespace]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method.upper())
                       and (path_prefix is None or r.path.startswith(path_prefix)))

    def compact(self) -> None:
        """Expire every continue token issued so far (the next page gets 410 Expired) and forget the change
        log: a watch from an older resourceVersion than the current one gets 410 (an ERROR event), and so does
        an open watch that had not sent every change yet.  A LIST after this gives a resourceVersion that
        watches fine."""
        with self._lock:
            self._compacted = self._rv + 1
            del self._log[:], self._log_rvs[:]
            self._log_floor = self._rv
            self._changed.notify_all()

    # ------------------------------------------------------------ watch hooks (watch.py)
    def watchers(self, path_prefix: str = "") -> int:
        """How many watch streams are open now (on paths starting with ``path_prefix``)."""
        with self._lock:
            return sum(1 for w in self._watches if w.req.path.startswith(path_prefix) and not w.dropped)

    def wait_for_watchers(self, count: int = 1, path_prefix: str = "", timeout: float = 10.0) -> None:
        """Block until ``count`` watches are open on ``path_prefix`` (a test's sync point); AssertionError after
        ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.watchers(path_prefix) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.watchers(path_prefix)} watches open on {path_prefix!r}, wanted {count}")
            time.sleep(0.01)

    def drop_watches(self, path_prefix: str = "") -> int:
        """Cut the connection of every open watch (on ``path_prefix``), mid-stream; returns how many."""
        with self._lock:
            hit = [w for w in self._watches if w.req.path.startswith(path_prefix) and not w.dropped]
            for w in hit:
                w.dropped = True
            self._changed.notify_all()
            return len(hit)

    def send_bookmarks(self) -> None:
        """Make every open watch that allowed bookmarks send one now."""
        with self._lock:
            self._bookmark_seq += 1
            self._changed.notify_all()

    def _record(self, type_: str, store: str, key: tuple[str, str], obj: dict, old: dict | None = None) -> None:
        """Append a change to the log (lock held).  Its rv is the object's when that is the newest one."""
        rv = obj["metadata"].get("resourceVersion")
        rv = int(rv) if isinstance(rv, str) and rv.isdigit() and int(rv) == self._rv else int(self._next_rv())
        self._log.append(Change(rv, type_, store, key, obj, old))
        self._log_rvs.append(rv)
        self._changed.notify_all()

    def _record_delete(self, store: str, key: tuple[str, str], obj: dict) -> None:
        gone = {**obj, "metadata": {**obj["metadata"], "resourceVersion": self._next_rv()}}
        self._record("DELETED", store, key, gone, obj)

    def fail(self, method: str, path_regex: str, status: int | None, *, reason: str | None = None,
             message: str | None = None, times: int | None = None, retry_after: int | None = None,
             delay: float = 0.0, drop: bool = False, body: dict | None = None) -> None:
        """Matching requests (method or "*", re.search on the path) get this Status error.

        status=None with delay: answer normally, late.  drop=True: close the socket unanswered."""
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, reason, message, times,
                                       retry_after, delay, drop, body))

    def answer(self, method: str, path_regex: str, fn: Callable[[BaseHTTPRequestHandler, Request], Any], *,
               times: int | None = None) -> None:
        """Matching requests are answered by ``fn(handler, request)``, which writes whatever it likes to
        the socket (a misbehaving server: raw bytes, dribbling, gzip bombs, endless pages; see
        tests/hostile.py); ``fn`` returning False serves the request normally. Checked before the faults;
        the request is recorded as usual."""
        with self._lock:
            self._answers.append(_Answer(method.upper(), re.compile(path_regex), fn, times))

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
            answer = next((a for a in self._answers if a.method in ("*", req.method) and a.regex.search(req.path)),
                          None)
            if answer and answer.times is not None:
                answer.times -= 1
                if answer.times <= 0:
                    self._answers.remove(answer)
        if answer and answer.fn(h, req) is not False:  # False: not this one after all, serve it normally
            return
        with self._lock:
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
        if isinstance(payload, WatchStream):
            payload.serve(self, h)
            return
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
            if req.method != "GET" or sub or "watch" not in res.verbs or (name and not res.namespaced and ns):
                raise ApiError(405)
            authorize(self._denied, self.user, "watch", res, None, ns, name)
            stream = WatchStream.admit(self, req, res, ns, name)
            self._watches.add(stream)
            return 200, stream
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
            return 200, render(req, res, obj)
        if verb == "deletecollection":
            return self._delete_collection(req, res, ns, hooks)
        if verb == "delete":
            return self._delete(req, res, ns, name, hooks)
        return self._write(req, res, verb, ns, name, hooks)
