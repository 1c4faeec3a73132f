"""HTTP to one API server: the one place podfix's API requests go out.

It uses the official client's transport pieces (the ``Configuration`` that
kubeconfig.py fills, so auth, TLS and exec plugins, and the urllib3 pool
built the way the client builds it) but no model classes: ``fetch`` returns
the raw body. Around each request it chooses the proxy, applies the timeout,
counts requests (tests and ``--debug`` rely on it), retries 429 and 5xx a
bounded number of times honouring Retry-After (and a GET once after a
connection reset), and turns transport failures into one-line
``PodfixError``s and error answers into ``ApiError``.

What a request means (paths, verbs, decoding, paging) is api.py's and
paging.py's business.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

from kubectl_podfix.cluster.errors import ApiError
from kubectl_podfix.cluster.kubeconfig import Connection, client_configuration
from kubectl_podfix.errors import PodfixError, transport_error
from kubectl_podfix.netproxy import Proxy, ProxyError, excluded_by, parse_proxy, proxy_for

USER_AGENT = "kubectl-podfix"
MAX_RETRIES = 3


class Transport:
    """Requests to one API server. Thread-safe."""

    def __init__(self, conn: Connection, *, timeout: float | None = None, debug: bool = False):
        from kubectl_podfix.cluster import client as kube

        self.conn = conn
        self.timeout = timeout
        self.debug = debug
        self.cfg = client_configuration(conn)
        self.base = self.cfg.host.rstrip("/")
        self.proxy = self._choose_proxy()
        self.pool = kube.pool_manager(self.cfg, self.proxy.url if self.proxy else None,
                                      {"Proxy-Authorization": self.proxy.authorization}
                                      if self.proxy and self.proxy.authorization else None)
        self._lock = threading.Lock()
        self.requests = 0
        self.trace: list[str] = []

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

    def _choose_proxy(self) -> Proxy | None:
        """kubectl's choice: the kubeconfig's proxy-url for every request, else Go's ProxyFromEnvironment.

        ``cfg.proxy`` holds the proxy-url and nothing else (kubeconfig.client_configuration drops the
        client's own copy of HTTP(S)_PROXY, which ignored NO_PROXY).
        """
        import os

        try:
            if self.cfg.proxy:
                proxy = parse_proxy(str(self.cfg.proxy), "the kubeconfig's proxy-url", strict=True)
            else:
                proxy = proxy_for(self.base, os.environ)
        except ProxyError as exc:
            raise PodfixError(f"cannot use the proxy for the API server {self.conn.server} "
                              f"(context {self.conn.context}): {exc}") from None
        if self.debug:
            if proxy:
                print(f"podfix: proxy {proxy.display} ({proxy.source}) for {self.base}", file=sys.stderr)
            elif excluded_by(self.base, os.environ):
                print(f"podfix: no proxy for {self.base} (NO_PROXY or loopback)", file=sys.stderr)
        return proxy

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
        proxy = f"{self.proxy.display} ({self.proxy.source})" if self.proxy else None
        return PodfixError(transport_error(text, self.conn.server, self.conn.context, method, path, proxy=proxy),
                           detail=f"{method} {path}: {text}")


class HTTPAnswer:
    """An error answer from the API server (status, reason, body, headers)."""

    def __init__(self, status: int, reason: str, body: bytes, headers: Any):
        self.status, self.reason, self.body, self.headers = status, reason, body, headers


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

