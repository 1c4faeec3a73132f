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
import math
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

from kubectl_podfix.cluster.errors import ApiError
from kubectl_podfix.cluster.deadline import Watch, watch, watched_pools
from kubectl_podfix.cluster.kubeconfig import Connection, client_configuration, impersonation_headers
from kubectl_podfix.cluster.limits import limit
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
        self.impersonation = impersonation_headers(conn)
        self.base = self.cfg.host.rstrip("/")
        self.proxy = self._choose_proxy()
        self.pool = watched_pools(kube.pool_manager(self.cfg, self.proxy.url if self.proxy else None,
                                                    {"Proxy-Authorization": self.proxy.authorization}
                                                    if self.proxy and self.proxy.authorization else None))
        self._lock = threading.Lock()
        self.requests = 0
        self.trace: list[str] = []

    def fetch(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
              content_type: str | None = None, raw: bool = False, max_bytes: int | None = None) -> bytes:
        """Send one request and return the response body as bytes (retries and error mapping included).

        The body is read as a stream, decoded here when the server gzips it unasked, and capped:
        past PODFIX_MAX_RESPONSE_BYTES the request fails; with ``max_bytes`` the body is cut there
        instead (a log read: the server may ignore limitBytes).
        """
        params = [(k, v) for k, v in (query or {}).items() if v is not None and v != ""]
        headers = self.headers("text/plain, */*" if raw else "application/json")
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        url = self.base + path + ("?" + urlencode(params) if params else "")
        payload = json.dumps(body).encode() if body is not None else None
        # NB: like kubectl, --request-timeout bounds the whole request: every attempt, every read.
        deadline = time.monotonic() + self.timeout if self.timeout else None
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic() if deadline is not None else None
            if remaining is not None and remaining <= 0:
                raise self._timed_out(method, path)
            with self._lock:
                self.requests += 1
            started = time.monotonic()
            resp = None
            with watch(remaining) as clock:
                try:
                    resp = self.pool.request(method, url, body=payload, headers=headers,
                                             timeout=self._timeout(remaining), retries=False, redirect=False,
                                             preload_content=False, decode_content=False)
                    data = self._read_body(resp, method, path, max_bytes, clock)
                except PodfixError:
                    self._note(method, path, params, resp.status if resp is not None else None, started)
                    raise
                except Exception as exc:  # urllib3 transport errors: refused, DNS, TLS, timeouts, resets
                    self._note(method, path, params, None, started)
                    if resp is not None:
                        resp.close()
                    if clock is not None and clock.expired():
                        raise self._timed_out(method, path) from None
                    if attempt <= 1 and method == "GET" and _is_reset(exc):
                        continue
                    raise self._transport_error(exc, method, path) from None
            self._note(method, path, params, resp.status, started)
            if 200 <= resp.status < 300:
                return data
            answer = HTTPAnswer(resp.status, resp.reason or "", data, resp.headers)
            retry = _retry_delay(answer, attempt, method)
            if retry is not None and (deadline is None or time.monotonic() + retry < deadline):
                time.sleep(retry)
                continue
            raise ApiError.from_exception(answer, method, path, query=dict(params), attempts=attempt) from None

    def _read_body(self, resp: Any, method: str, path: str, max_bytes: int | None, clock: Watch | None) -> bytes:
        """The whole body, gzip/deflate decoded in bounded steps, at most the cap (see ``fetch``), before
        the request's deadline (``clock``: the watchdog ends a read blocked past it)."""
        import zlib

        cap = max_bytes if max_bytes is not None else limit("PODFIX_MAX_RESPONSE_BYTES")
        encoding = (resp.headers.get("Content-Encoding") or "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = _Deflate()
        elif encoding in ("", "identity"):
            decoder = None
        else:
            resp.close()
            raise self.invalid(method, path, f"a body in the {encoding!r} encoding, which podfix did not ask for")
        buf = bytearray()
        try:
            while len(buf) <= cap:
                chunk = resp.read(_CHUNK, decode_content=False)
                if clock is not None and clock.expired():
                    resp.close()
                    raise self._timed_out(method, path)
                if not chunk:
                    break
                if decoder is None:
                    buf += chunk
                    continue
                while chunk and len(buf) <= cap:
                    buf += decoder.decompress(chunk, cap + 1 - len(buf))
                    chunk = decoder.unconsumed_tail
                    if not chunk and decoder.eof and decoder.unused_data:  # another gzip member follows
                        chunk, decoder = decoder.unused_data, zlib.decompressobj(16 + zlib.MAX_WBITS)
        except zlib.error:
            resp.close()
            raise self.invalid(method, path, f"a {encoding} body that does not decompress") from None
        if len(buf) > cap:
            resp.close()  # the rest is never read: the connection cannot be reused
            if max_bytes is not None:
                return bytes(buf[:cap])
            raise PodfixError(f"the API server at {self.conn.server} answered {method} {path} with more than "
                              f"{_size(cap)}{' (after gzip decoding)' if decoder else ''}: podfix stopped "
                              "reading there (set PODFIX_MAX_RESPONSE_BYTES to read more)")
        resp.release_conn()
        return bytes(buf)

    def invalid(self, method: str, path: str, problem: str) -> PodfixError:
        """The one line for an answer podfix cannot use (``problem`` reads after "answered ... with")."""
        return PodfixError(f"the API server at {self.conn.server} answered {method} {path} with {problem}: "
                           "check the server address and any proxy or gateway in front of it")

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

    def headers(self, accept: str) -> Any:
        """The headers of every request: Accept, User-Agent, the credentials and kubectl's Impersonate-*
        headers (one header per group: a urllib3 ``HTTPHeaderDict`` keeps repeated names apart)."""
        from urllib3 import HTTPHeaderDict

        headers = HTTPHeaderDict({"Accept": accept, "User-Agent": USER_AGENT})
        auth = self._authorization()
        if auth:
            headers["Authorization"] = auth
        for name, value in self.impersonation:
            headers.add(name, value)
        return headers

    def _authorization(self) -> str | None:
        cfg = self.cfg
        if self.conn.server_login:  # NB: Go's http.Client sets a URL's userinfo before the auth round trippers
            import base64

            return "Basic " + base64.b64encode(":".join(self.conn.server_login).encode()).decode("ascii")
        for identifier in ("BearerToken", "authorization"):  # the key's name changed across client versions
            value = cfg.get_api_key_with_prefix(identifier)
            if value:
                return value
        if cfg.username or cfg.password:
            return cfg.get_basic_auth_token()
        return None

    def _timeout(self, remaining: float | None) -> Any:
        if remaining is None:
            return None
        import urllib3

        return urllib3.Timeout(connect=remaining, read=remaining)

    def _timed_out(self, method: str, path: str) -> PodfixError:
        return PodfixError(f"the API server {self.conn.server} (context {self.conn.context}) did not answer "
                           f"{method} {path} in time (--request-timeout {self.timeout:g}s, for the whole answer): "
                           "raise --request-timeout or check the cluster's health",
                           detail=f"{method} {path}: deadline of {self.timeout:g}s passed")

    def _note(self, method: str, path: str, params: list, status: int | None, started: float) -> None:
        if not self.debug:
            return
        ms = (time.monotonic() - started) * 1000
        line = f"{method} {path}{'?' + urlencode(params) if params else ''} -> {status or 'no answer'} ({ms:.0f} ms)"
        with self._lock:
            self.trace.append(line)
        sys.stderr.write(f"podfix: {line}\n")  # one write: watches trace from several threads

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


_CHUNK = 64 << 10


class _Deflate:
    """Content-Encoding: deflate, which servers send zlib-wrapped or raw (as Go's reader accepts both)."""

    def __init__(self) -> None:
        import zlib

        self._obj: Any = None
        self._zlib = zlib

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._obj is None:
            raw = not (len(data) >= 2 and (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0)
            self._obj = self._zlib.decompressobj(-self._zlib.MAX_WBITS if raw else self._zlib.MAX_WBITS)
        return self._obj.decompress(data, max_length)

    @property
    def unconsumed_tail(self) -> bytes:
        return self._obj.unconsumed_tail if self._obj is not None else b""

    @property
    def eof(self) -> bool:
        return False  # no members after a deflate stream

    @property
    def unused_data(self) -> bytes:
        return b""


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


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
    backoff = 0.5 * 2 ** (attempt - 1)
    try:
        delay = float(after) if after is not None else backoff
    except ValueError:  # an HTTP date, or garbage
        delay = 1.0
    if not math.isfinite(delay):  # "nan", "inf", "1e400": not a number of seconds to wait
        delay = backoff
    return min(max(delay, 0.0), 10.0)


def _is_reset(exc: Exception) -> bool:
    text = str(exc).lower()
    return "reset" in text or "remotedisconnected" in text or "connection aborted" in text or "protocolerror" in text

