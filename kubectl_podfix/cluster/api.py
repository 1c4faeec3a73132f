"""Every request podfix makes to the API server goes through ``Cluster``.

``Cluster`` is the one entry point: the verbs (get, list, log, create,
patch, delete, replace, access_review) over one transport. It reads raw JSON
(no model classes) and redacts Secrets the moment they arrive. The parts it
is built from stand alone:

- transport.py: the urllib3 pool, proxy choice, timeouts, auth header,
  retries (429/5xx, Retry-After), request counting and the ``--debug`` trace,
  transport errors turned into one-line ``PodfixError``s;
- paging.py: LIST pagination with read-ahead;
- resources.py: ``RESOURCES`` and ``path_for``;
- redact.py: ``redact_secret``;
- errors.py: ``ApiError``.

The names importers use (``Cluster``, ``ApiError``, ``RESOURCES``, ``path_for``,
``redact_secret``, ``FIELD_MANAGER``) are all importable from here.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from kubectl_podfix.cluster.errors import ApiError
from kubectl_podfix.cluster.kubeconfig import Connection
from kubectl_podfix.cluster.limits import MAX_DEPTH
from kubectl_podfix.cluster.paging import PAGE_SIZE, pages
from kubectl_podfix.cluster.redact import redact_secret
from kubectl_podfix.cluster.resources import RESOURCES, path_for
from kubectl_podfix.cluster.shapes import TooDeep, shape_problem, without_nulls
from kubectl_podfix.cluster.transport import Transport
from kubectl_podfix.errors import PodfixError

__all__ = ["Cluster", "ApiError", "RESOURCES", "path_for", "redact_secret", "FIELD_MANAGER", "PAGE_SIZE"]

FIELD_MANAGER = "kubectl-podfix"
LOG_BYTES = 64 * 1024


class Cluster:
    """A connection to one API server. Thread-safe for concurrent reads."""

    def __init__(self, conn: Connection, *, timeout: float | None = None, debug: bool = False):
        self.conn = conn
        self.transport = Transport(conn, timeout=timeout, debug=debug)

    @property
    def requests(self) -> int:
        """How many requests were sent (retries included)."""
        return self.transport.requests

    @property
    def trace(self) -> list[str]:
        """With ``debug``: one line per request sent."""
        return self.transport.trace

    # -- requests ----------------------------------------------------------

    def request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                content_type: str | None = None, raw: bool = False) -> Any:
        """Send one request; return parsed JSON (or text with ``raw``). Raises PodfixError or ApiError."""
        data = self.fetch(method, path, query, body, content_type, raw)
        return data.decode("utf-8", "replace") if raw else self.decode(data, method, path)

    def decode(self, data: bytes, method: str = "GET", path: str = "") -> Any:
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise PodfixError(f"the API server at {self.conn.server} answered {method} {path} with something "
                              "that is not JSON: is the server address right?") from None
        except RecursionError:
            raise self.invalid_answer(method, path, "JSON nested too deeply to read") from None

    def invalid_answer(self, method: str, path: str, problem: str) -> PodfixError:
        """The one line for an answer of the wrong shape (``problem`` reads after "answered ... with")."""
        return self.transport.invalid(method, path, problem)

    def fetch(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
              content_type: str | None = None, raw: bool = False, max_bytes: int | None = None) -> bytes:
        """Send one request and return the response body as bytes (retries and error mapping included)."""
        return self.transport.fetch(method, path, query, body, content_type, raw, max_bytes)

    # -- verbs -------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        """One object, checked to be the object asked for and of the shape kubectl would decode."""
        path = path_for(kind, namespace, name)
        data = self.fetch("GET", path)
        if not data.strip():
            raise self.invalid_answer("GET", path, f"an empty body instead of {kind} {_ref(namespace, name)}")
        obj = self._clean(self.decode(data, "GET", path), data, "GET", path)
        problem = _identity_problem(obj, kind, namespace, name) or _shape(obj, kind)
        if problem:
            raise self.invalid_answer("GET", path, problem)
        return redact_secret(obj) if kind == "Secret" else obj

    def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[dict]:
        """LIST with pagination; yields items with ``kind``/``apiVersion`` filled in, each checked for the
        shape kubectl would decode (an item of the wrong shape is an API error naming it)."""
        path = path_for(kind, namespace)
        api_version = RESOURCES[kind][0].removeprefix("/api/").removeprefix("/apis/")
        query = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": page_size}
        listing = pages(lambda q: self.fetch("GET", path, q),
                        lambda data: self._clean(self.decode(data, "GET", path), data, "GET", path), query,
                        what=f"the list GET {path}", invalid=lambda problem: self.invalid_answer("GET", path, problem))
        try:
            for page in listing:
                for index, item in enumerate(page.get("items") or [], start=1):
                    item.setdefault("kind", kind)
                    item.setdefault("apiVersion", api_version)
                    self.check_item(item, kind, path, f"a list whose item {index}")
                    yield redact_secret(item) if kind == "Secret" else item
        finally:
            listing.close()  # stops the read-ahead when the caller stops early

    def check_item(self, item: dict, kind: str, path: str, where: str) -> None:
        """An item of a LIST or a watch event of the shape kubectl would decode; else the one line naming it
        (``where``: "a list whose item 3", "a watch event whose object")."""
        problem = _shape(item, kind)
        if problem:
            meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
            ref = _ref(meta.get("namespace"), meta.get("name"))
            raise self.invalid_answer("GET", path, f"{where} ({kind} {ref}) is malformed: "
                                                   f"{problem.split(' whose ', 1)[1]}")

    def _clean(self, obj: Any, data: bytes, method: str, path: str) -> Any:
        """Nulls mean absent and lone surrogates cannot be printed, as for -f files (shapes.without_nulls);
        the copy is made only when the raw answer may hold either (most never do)."""
        if not _needs_cleaning(data):
            return obj
        try:
            return without_nulls(obj)
        except TooDeep:
            raise self.invalid_answer(method, path, f"an object nested more than {MAX_DEPTH} levels deep") from None

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = True, tail: int = 40) -> str:
        """The tail of a container's log, at most LOG_BYTES whatever the server sends (it may ignore limitBytes)."""
        data = self.fetch("GET", path_for("Pod", namespace, pod, "log"),
                          {"container": container, "previous": "true" if previous else None,
                           "tailLines": tail, "limitBytes": LOG_BYTES}, raw=True, max_bytes=LOG_BYTES)
        return data.decode("utf-8", "replace")

    def create(self, kind: str, namespace: str | None, body: dict, *, dry_run: bool = False) -> dict:
        path = path_for(kind, namespace)
        name = (body.get("metadata") or {}).get("name") if isinstance(body, dict) else None
        return self._written(self.request("POST", path, _write_query(dry_run), body), "POST", path, kind,
                             namespace, name)

    def patch(self, kind: str, namespace: str | None, name: str, body: Any, *,
              content_type: str = "application/strategic-merge-patch+json", dry_run: bool = False) -> dict:
        path = path_for(kind, namespace, name)
        return self._written(self.request("PATCH", path, _write_query(dry_run), body, content_type), "PATCH", path,
                             kind, namespace, name)

    def _written(self, obj: Any, method: str, path: str, kind: str, namespace: str | None, name: str | None) -> Any:
        """A write's answer is the object written (the API server always sends it back): anything else (an empty
        body, another kind, a proxy's 200) is not taken for "done"."""
        problem = _identity_problem(obj, kind, namespace, name)
        if problem:
            raise self.invalid_answer(method, path, f"{problem} (so podfix cannot tell whether it was changed)")
        return obj

    def delete(self, kind: str, namespace: str | None, name: str, *, dry_run: bool = False,
               uid: str | None = None, resource_version: str | None = None) -> dict:
        """DELETE; with ``uid``, only that incarnation of the object, with ``resource_version`` only that
        version of it (preconditions: 409 Conflict otherwise)."""
        query = {"dryRun": "All" if dry_run else None}
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": pre} if pre else None
        return self.request("DELETE", path_for(kind, namespace, name), query, body)

    def replace(self, kind: str, namespace: str | None, name: str, body: dict, *, dry_run: bool = False) -> dict:
        """PUT the whole object (its metadata.resourceVersion makes it fail on a concurrent change)."""
        path = path_for(kind, namespace, name)
        return self._written(self.request("PUT", path, _write_query(dry_run), body), "PUT", path, kind, namespace,
                             name)

    def access_review(self, verb: str, group: str, resource: str, namespace: str | None,
                      name: str | None = None) -> tuple[bool, str]:
        """Ask the API server whether the current user may do ``verb`` on ``resource``: (allowed, reason)."""
        attrs = {"verb": verb, "group": group, "resource": resource}
        if namespace:
            attrs["namespace"] = namespace
        if name:
            attrs["name"] = name
        body = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "spec": {"resourceAttributes": attrs}}
        path = path_for("SelfSubjectAccessReview")
        answer = self.request("POST", path, None, body)
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, dict) or not isinstance(status.get("allowed", False), bool):
            raise self.invalid_answer("POST", path, "something that is not a SelfSubjectAccessReview")
        return status.get("allowed") is True, str(status.get("reason") or status.get("evaluationError") or "")

    def get_secret_raw(self, namespace: str, name: str) -> dict:
        """A Secret WITH its values. Used only by the pull-secret fix to compare the current content with
        the planned one (idempotent re-runs); never rendered, logged or saved."""
        secret = self.request("GET", path_for("Secret", namespace, name))
        remember_secret_values(secret)
        return secret


def remember_secret_values(secret: dict) -> None:
    """Tell the one scrubber (kubectl_podfix.redact) every value of a raw Secret: as stored (base64) and
    decoded, and the passwords of a docker config in it."""
    import base64

    from kubectl_podfix import redact

    for key in ("data", "stringData"):
        values = secret.get(key) if isinstance(secret, dict) else None
        for value in (values or {}).values() if isinstance(values, dict) else []:
            if not isinstance(value, str):
                continue
            redact.remember(value)
            decoded = value
            if key == "data":
                try:
                    decoded = base64.b64decode(value).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    continue
                redact.remember(decoded)
            redact.remember_docker_config(decoded)


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_NULL = re.compile(rb"null")
# Nulls the real API server writes in every answer, for timestamps the rules read with parse_time/dig
# (None-safe): a pod condition's lastProbeTime, a core Event's eventTime, a pod template's
# creationTimestamp. Copying every page to drop them cost a third of a 5,000-pod scan (docs/benchmarks.md).
_USUAL_NULLS = frozenset({b"lastProbeTime", b"eventTime", b"creationTimestamp"})
_SPACE = b" \t\r\n"


def _needs_cleaning(data: bytes) -> bool:
    """Whether an answer may hold a null the rules could trip on, or a lone surrogate (then it is copied
    through ``without_nulls``). Each ``null`` is judged by what precedes it: ``"key":`` with a key in
    _USUAL_NULLS is fine; a list item, another key, or anything unclear means cleaning (a ``null`` in
    a string's text can only make this over-cautious)."""
    if _SURROGATE.search(data):
        return True
    for m in _NULL.finditer(data):
        i = m.start() - 1
        while i >= 0 and data[i] in _SPACE:
            i -= 1
        if i < 0:
            return True
        before = data[i]
        if before in b"[,":
            return True
        if before != 0x3A:  # ":" -- otherwise a word inside some text ("nullable", "is null")
            continue
        i -= 1
        while i >= 0 and data[i] in _SPACE:
            i -= 1
        end = i
        start = data.rfind(b'"', 0, end)
        if end < 0 or data[end] != 0x22 or start < 0 or data[start - 1:start] == b"\\" \
                or data[start + 1:end] not in _USUAL_NULLS:
            return True
    return False


def _ref(namespace: Any, name: Any) -> str:
    name = name if isinstance(name, str) and name else "(no name)"
    return f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name


def _identity_problem(obj: Any, kind: str, namespace: str | None, name: str | None) -> str | None:
    """Why ``obj`` is not the ``kind`` ``namespace/name`` a GET asked for (None when it is; any name when
    ``name`` is None: a create with generateName)."""
    wanted = f"{kind} {_ref(namespace, name)}"
    if not isinstance(obj, dict):
        return f"{_a(obj)} instead of {wanted}"
    got_kind = obj.get("kind")
    if got_kind is not None and got_kind != kind:
        return f"{_a(got_kind) if not isinstance(got_kind, str) else 'a ' + got_kind} instead of {wanted}"
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        return f"an object without metadata.name instead of {wanted}" if obj else f"an empty object instead of {wanted}"
    got_ns = meta.get("namespace")
    if (name is not None and meta.get("name") != name) or (namespace and got_ns is not None and got_ns != namespace):
        return f"{kind} {_ref(got_ns, meta.get('name'))} instead of {wanted}"
    return None


def _shape(obj: dict, kind: str) -> str | None:
    problem = shape_problem(obj)
    return f"a {kind} whose {problem}" if problem else None


def _a(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def _write_query(dry_run: bool) -> dict[str, Any]:
    return {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}

