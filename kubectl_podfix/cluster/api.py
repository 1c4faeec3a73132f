"""Every request podfix makes to the API server goes through ``Cluster``.

It uses the official client's transport (auth, TLS, exec plugins, proxies)
but reads raw JSON with ``_preload_content=False``: no model classes. It
counts requests (tests and ``--debug`` rely on it), retries 429 and 5xx a
bounded number of times honouring Retry-After, redacts Secrets the moment
they arrive, and turns transport and API errors into one-line
``PodfixError``s.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from typing import Any, Iterator
from urllib.parse import quote, urlencode

from kubectl_podfix.cluster.kubeconfig import Connection, client_configuration
from kubectl_podfix.errors import Exit, PodfixError, _short, api_error, transport_error
from kubectl_podfix.registry.reference import dockerconfig_auths

FIELD_MANAGER = "kubectl-podfix"
PAGE_SIZE = 500
MAX_RETRIES = 3
REDACTED_ANNOTATION = "podfix.io/registries"

# kind -> (API prefix, plural, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "Pod": ("/api/v1", "pods", True),
    "Event": ("/api/v1", "events", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims", True),
    "Node": ("/api/v1", "nodes", False),
    "Namespace": ("/api/v1", "namespaces", False),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
    "PodMetrics": ("/apis/metrics.k8s.io/v1beta1", "pods", True),
    "SelfSubjectAccessReview": ("/apis/authorization.k8s.io/v1", "selfsubjectaccessreviews", False),
}


def path_for(kind: str, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    prefix, plural, namespaced = RESOURCES[kind]
    path = prefix
    if namespaced and namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{plural}"
    if name:
        path += f"/{quote(name, safe='')}"
    if sub:
        path += f"/{sub}"
    return path


def redact_secret(secret: dict) -> dict:
    """A copy of a Secret without any value: data keys kept (values emptied), registries listed."""
    out = {k: v for k, v in secret.items() if k not in ("data", "stringData")}
    meta = dict(out.get("metadata") or {}) if isinstance(out.get("metadata"), dict) else {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    annotations = {k: v for k, v in annotations.items() if k != "kubectl.kubernetes.io/last-applied-configuration"}
    # NB: malformed data/stringData (a string, a list) is dropped whole: never echo what might be a value.
    data = secret.get("data") if isinstance(secret.get("data"), dict) else {}
    string_data = secret.get("stringData") if isinstance(secret.get("stringData"), dict) else {}
    registries = [str(k) for k in dockerconfig_auths(data)]
    if registries:
        annotations[REDACTED_ANNOTATION] = ",".join(registries)
    meta["annotations"] = annotations
    out["metadata"] = meta
    keys = {str(k) for k in data} | {str(k) for k in string_data}
    out["data"] = {k: "" for k in sorted(keys)}
    return out


class Cluster:
    """A connection to one API server. Thread-safe for concurrent reads."""

    def __init__(self, conn: Connection, *, timeout: float | None = None, debug: bool = False):
        from kubectl_podfix.cluster import client as kube

        self.conn = conn
        self.timeout = timeout
        self.debug = debug
        self.cfg = client_configuration(conn)
        self.base = self.cfg.host.rstrip("/")
        self.pool = kube.pool_manager(self.cfg, _proxy_for(self.base, self.cfg.proxy))
        self._lock = threading.Lock()
        self.requests = 0
        self.trace: list[str] = []

    # -- transport -------------------------------------------------------

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

    def fetch(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
              content_type: str | None = None, raw: bool = False) -> bytes:
        """Send one request and return the response body as bytes (retries and error mapping included)."""
        params = [(k, v) for k, v in (query or {}).items() if v is not None and v != ""]
        headers = {"Accept": "text/plain, */*" if raw else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        headers["User-Agent"] = USER_AGENT
        auth = self._authorization()
        if auth:
            headers["Authorization"] = auth
        url = self.base + path + ("?" + urlencode(params) if params else "")
        payload = json.dumps(body).encode() if body is not None else None
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.requests += 1
            started = time.monotonic()
            try:
                resp = self.pool.request(method, url, body=payload, headers=headers, timeout=self._timeout(),
                                         retries=False, redirect=False, preload_content=True)
            except Exception as exc:  # urllib3 transport errors: refused, DNS, TLS, timeouts, resets
                self._note(method, path, params, None, started)
                if attempt <= 1 and method == "GET" and _is_reset(exc):
                    continue
                raise self._transport_error(exc, method, path) from None
            self._note(method, path, params, resp.status, started)
            if 200 <= resp.status < 300:
                return resp.data
            answer = HTTPAnswer(resp.status, resp.reason or "", resp.data, resp.headers)
            retry = _retry_delay(answer, attempt, method)
            if retry is not None:
                time.sleep(retry)
                continue
            raise ApiError.from_exception(answer, method, path, query=dict(params), attempts=attempt) from None

    def _authorization(self) -> str | None:
        cfg = self.cfg
        for identifier in ("BearerToken", "authorization"):  # the key's name changed across client versions
            value = cfg.get_api_key_with_prefix(identifier)
            if value:
                return value
        if cfg.username or cfg.password:
            return cfg.get_basic_auth_token()
        return None

    def _timeout(self) -> Any:
        if not self.timeout:
            return None
        import urllib3

        return urllib3.Timeout(total=self.timeout)

    def _note(self, method: str, path: str, params: list, status: int | None, started: float) -> None:
        if not self.debug:
            return
        ms = (time.monotonic() - started) * 1000
        line = f"{method} {path}{'?' + urlencode(params) if params else ''} -> {status or 'no answer'} ({ms:.0f} ms)"
        with self._lock:
            self.trace.append(line)
        print(f"podfix: {line}", file=sys.stderr)

    def _transport_error(self, exc: Exception, method: str = "", path: str = "") -> PodfixError:
        # NB: urllib3 wraps the cause (an SSL or socket error) in its own exceptions: name the whole chain.
        chain, seen, cur = [], set(), exc
        while cur is not None and id(cur) not in seen:
            seen.add(id(cur))
            chain.append(f"{type(cur).__name__}: {cur}")
            cur = cur.__cause__ or cur.__context__
        text = " <- ".join(reversed(chain))
        return PodfixError(transport_error(text, self.conn.server, self.conn.context, method, path),
                           detail=f"{method} {path}: {text}")

    # -- verbs -------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        obj = self.request("GET", path_for(kind, namespace, name))
        return redact_secret(obj) if kind == "Secret" else obj

    def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[dict]:
        """LIST with pagination; yields items with ``kind``/``apiVersion`` filled in."""
        path = path_for(kind, namespace)
        api_version = RESOURCES[kind][0].removeprefix("/api/").removeprefix("/apis/")
        query = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": page_size}
        data = self.fetch("GET", path, query)
        prefetcher = None
        try:
            while True:
                # NB: the list's metadata (with the continue token) precedes its items, so the next
                # page can be requested before this one is decoded: the server prepares page N+1
                # while podfix decodes page N.
                early = _continue_token(data)
                upcoming = None
                if early:
                    if prefetcher is None:
                        from concurrent.futures import ThreadPoolExecutor

                        prefetcher = ThreadPoolExecutor(max_workers=1)
                    upcoming = prefetcher.submit(self.fetch, "GET", path, dict(query, **{"continue": early}))
                page = self.decode(data, "GET", path)
                for item in page.get("items") or []:
                    item.setdefault("kind", kind)
                    item.setdefault("apiVersion", api_version)
                    yield redact_secret(item) if kind == "Secret" else item
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    return
                if upcoming is not None and token == early:
                    data = upcoming.result()
                else:  # no early token (unusual layout): fetch the next page now
                    data = self.fetch("GET", path, dict(query, **{"continue": token}))
        finally:
            if prefetcher is not None:
                prefetcher.shutdown(wait=True, cancel_futures=True)

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = True, tail: int = 40) -> str:
        return self.request("GET", path_for("Pod", namespace, pod, "log"),
                            {"container": container, "previous": "true" if previous else None,
                             "tailLines": tail, "limitBytes": 64 * 1024}, raw=True)

    def create(self, kind: str, namespace: str | None, body: dict, *, dry_run: bool = False) -> dict:
        return self.request("POST", path_for(kind, namespace), _write_query(dry_run), body)

    def patch(self, kind: str, namespace: str | None, name: str, body: Any, *,
              content_type: str = "application/strategic-merge-patch+json", dry_run: bool = False) -> dict:
        return self.request("PATCH", path_for(kind, namespace, name), _write_query(dry_run), body, content_type)

    def delete(self, kind: str, namespace: str | None, name: str, *, dry_run: bool = False,
               uid: str | None = None) -> dict:
        """DELETE; with ``uid``, only that incarnation of the object (a precondition: 409 otherwise)."""
        query = {"dryRun": "All" if dry_run else None}
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}} if uid else None
        return self.request("DELETE", path_for(kind, namespace, name), query, body)

    def replace(self, kind: str, namespace: str | None, name: str, body: dict, *, dry_run: bool = False) -> dict:
        """PUT the whole object (its metadata.resourceVersion makes it fail on a concurrent change)."""
        return self.request("PUT", path_for(kind, namespace, name), _write_query(dry_run), body)

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
        status = self.request("POST", path_for("SelfSubjectAccessReview"), None, body).get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or status.get("evaluationError") or "")

    def get_secret_raw(self, namespace: str, name: str) -> dict:
        """A Secret WITH its values. Used only by the pull-secret fix to compare the current content with
        the planned one (idempotent re-runs); never rendered, logged or saved."""
        return self.request("GET", path_for("Secret", namespace, name))


_CONTINUE = re.compile(rb'"continue"\s*:\s*"([^"\\]*)"')


def _continue_token(data: bytes) -> str | None:
    """The list's continue token, read from the metadata ahead of the items without decoding the page."""
    head = data[:8192]
    end = head.find(b'"items"')
    match = _CONTINUE.search(head, 0, end) if end > 0 else None
    return match.group(1).decode() if match else None


def _write_query(dry_run: bool) -> dict[str, Any]:
    return {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}


USER_AGENT = "kubectl-podfix"


class HTTPAnswer:
    """An error answer from the API server (status, reason, body, headers)."""

    def __init__(self, status: int, reason: str, body: bytes, headers: Any):
        self.status, self.reason, self.body, self.headers = status, reason, body, headers


def _proxy_for(base: str, configured: str | None) -> str | None:
    """The proxy to use: the kubeconfig's proxy-url, else HTTPS_PROXY/HTTP_PROXY unless NO_PROXY matches
    (client-go's ProxyFromEnvironment)."""
    if configured:
        return configured
    import urllib.request
    from urllib.parse import urlsplit

    host = urlsplit(base).hostname or ""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(urlsplit(base).scheme or "https")
    if not proxy or host in ("127.0.0.1", "localhost", "::1") or urllib.request.proxy_bypass_environment(host):
        return None
    return proxy


def _retry_delay(exc: Any, attempt: int, method: str) -> float | None:
    status = getattr(exc, "status", None) or 0
    if attempt > MAX_RETRIES or not (status == 429 or status >= 500):
        return None
    if status >= 500 and method not in ("GET", "HEAD") and status != 503:
        return None  # a write may have happened: don't repeat it blindly
    headers = getattr(exc, "headers", None) or {}
    after = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        delay = float(after) if after is not None else 0.5 * 2 ** (attempt - 1)
    except ValueError:
        delay = 1.0
    return min(max(delay, 0.0), 10.0)


def _is_reset(exc: Exception) -> bool:
    text = str(exc).lower()
    return "reset" in text or "remotedisconnected" in text or "connection aborted" in text or "protocolerror" in text


class ApiError(PodfixError):
    """The API server answered with an error Status."""

    def __init__(self, message: str, status: int, reason: str, server_message: str, method: str, path: str,
                 code: int = Exit.ERROR):
        super().__init__(message, code)
        self.status = status
        self.reason = reason
        self.server_message = server_message
        self.method = method
        self.path = path

    @classmethod
    def from_exception(cls, exc: Any, method: str, path: str, *, query: dict | None = None,
                       attempts: int = 1) -> "ApiError":
        """Map an error Status through the one error map (errors.api_error)."""
        status = int(getattr(exc, "status", 0) or 0)
        body = getattr(exc, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        reason, server_message = getattr(exc, "reason", "") or "", ""
        try:
            doc = json.loads(body) if body else {}
            if isinstance(doc, dict):
                reason = doc.get("reason") or reason
                server_message = str(doc.get("message") or "")
        except ValueError:
            server_message = (body or "").strip()[:200]
        message, code = api_error(status, reason, server_message, method, path, query=query, attempts=attempts)
        err = cls(message, status, reason, server_message, method, path, code)
        err.detail = f"{method} {path} -> {status} {reason}: {_short(str(body or ''), 2000)}"
        return err
