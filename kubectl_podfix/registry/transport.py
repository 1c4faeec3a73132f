"""HTTP to one registry host: the wire rules of the registry client.

* TLS is always verified against the default trust store
  (``ssl.create_default_context()``, so ``SSL_CERT_FILE``/``SSL_CERT_DIR`` are
  honoured). ``insecure=True`` is the kubelet's "insecure registry": TLS
  without verification, and plain http (tried after https unless the server
  was given as ``http://...``).
* Redirects never go from https to plain http (unless ``insecure``), and
  ``Authorization`` is dropped on redirects to another origin.
* Failures to reach the server become a one-line ``RegistryError`` (step
  "connect" or "tls") saying what to check; every message is scrubbed of the
  secrets the owner names (``secrets``).

It sends whatever ``Authorization`` it is given: which credentials go where
is auth.py's business. Stdlib only, with the network modules imported on
first use, so importing it is cheap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from kubectl_podfix.netproxy import ProxyError, proxy_for
from kubectl_podfix.registry.errors import RegistryError, one_line

MAX_BODY = 16 << 20
USER_AGENT = "kubectl-podfix"
# A request as a whole (connect, headers, body, redirects) gets this many times the per-step timeout: the
# socket timeout bounds each read, so a registry (or a proxy) sending a byte every few seconds would
# otherwise hold podfix for days. At the deadline the exchange's sockets are shut down.
WHOLE_EXCHANGE = 3


def host_port(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    if parts.port is None:
        host += ":443" if parts.scheme == "https" else ":80"
    return host


def origin_of(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme.lower(), host_port(url).lower()


@dataclass
class Response:
    """One answer, read whole (up to MAX_BODY)."""

    status: int
    reason: str
    headers: Any  # email.message.Message
    body: bytes
    url: str

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None


def error_codes(resp: Response) -> list[str]:
    """The ``code`` of each entry in a distribution error body (``{"errors": [...]}``)."""
    data = resp.json()
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return [str(e.get("code") or "") for e in data["errors"] if isinstance(e, dict)]
    return []


def said(resp: Response) -> str:
    """What the server said, from its JSON error body, else the HTTP status line."""
    data = resp.json()
    parts: list[str] = []
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list):
            for e in errors:
                if isinstance(e, dict):
                    code, msg = e.get("code"), e.get("message")
                    parts.append(": ".join(str(x) for x in (code, msg) if x))
        for key in ("details", "detail", "message"):
            if not parts and isinstance(data.get(key), str) and data[key]:
                parts.append(data[key])
        if not parts and isinstance(data.get("error"), str):
            desc = data.get("error_description")
            parts.append(data["error"] + (f": {desc}" if isinstance(desc, str) and desc else ""))
    summary = "; ".join(p for p in parts if p)
    if not summary:
        text = resp.body[:2000].decode("utf-8", "replace").strip()
        if text and not text.lstrip().startswith("<") and data is None:
            summary = f"HTTP {resp.status} {resp.reason}: {text.splitlines()[0]}".strip()
        else:
            summary = f"HTTP {resp.status} {resp.reason}".strip()
    return one_line(summary)


class Transport:
    """Requests to one registry host: scheme choice, the urllib opener, error mapping, scrubbing."""

    def __init__(self, host: str, scheme: str | None, insecure: bool, timeout: float,
                 secrets: Callable[[], Iterable[str]] = tuple):
        self.host = host
        self.insecure = bool(insecure)
        self.timeout = timeout
        if not self.insecure:
            self.scheme, self._may_fall_back = "https", False
        elif scheme:
            self.scheme, self._may_fall_back = scheme, False
        else:  # like dockerd for insecure registries: https without verification, then http
            self.scheme, self._may_fall_back = "https", True
        self._secrets = secrets
        self._opener = None

    def __repr__(self) -> str:
        return f"<registry transport {self.scheme}://{self.host}>"

    def scrub(self, text: str) -> str:
        """``text`` with every secret the owner names (tokens too) and every secret podfix holds
        (kubectl_podfix.redact: also percent-encoded and base64 forms) replaced by ``***``."""
        from kubectl_podfix.redact import remember, scrub

        remember(*[s for s in self._secrets() if s])
        return scrub(text)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.scheme}://{self.host}{path}"

    @property
    def origin(self) -> tuple[str, str]:
        return origin_of(self.url("/"))

    def _build_opener(self):
        import ssl
        import urllib.error
        import urllib.request

        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        insecure = self.insecure

        class Redirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                new = super().redirect_request(req, fp, code, msg, headers, newurl)
                if new is None:
                    return None
                if not new.full_url.lower().startswith(("http://", "https://")):
                    return None  # ftp:// (which urllib follows): never; the 3xx is reported
                if (not insecure and req.full_url.lower().startswith("https:")
                        and new.full_url.lower().startswith("http:")):
                    return None  # no downgrade to plain http; the 3xx is reported
                if origin_of(new.full_url) != origin_of(req.full_url):
                    new.remove_header("Authorization")
                return new

        class EnvProxy(urllib.request.BaseHandler):
            """Go's ProxyFromEnvironment for every request, redirects included (urllib's own
            ProxyHandler has other NO_PROXY rules: no CIDRs, no loopback exemption)."""

            handler_order = 100  # before the http/https handlers, like urllib's ProxyHandler

            def _route(self, req):
                import os

                try:
                    proxy = proxy_for(req.full_url, os.environ)
                except ProxyError as exc:
                    raise urllib.error.URLError(exc) from None
                if proxy is not None:
                    if proxy.scheme != "http":
                        raise urllib.error.URLError(ProxyError(
                            f"{proxy.source} is an {proxy.scheme} proxy; the registry client supports "
                            "http proxies only"))
                    if proxy.authorization:
                        # unredirected: a redirect to a host reached directly must not carry it
                        req.add_unredirected_header("Proxy-Authorization", proxy.authorization)
                    req.set_proxy(proxy.url.split("://", 1)[1], "http")
                return None  # the http/https handler sends it (through the tunnel for https)

            http_open = https_open = _route

        import http.client

        class Plain(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(_watched(http.client.HTTPConnection), req)

        class Secure(urllib.request.HTTPSHandler):
            def https_open(self, req):
                kw = {"context": self._context}
                if getattr(self, "_check_hostname", None) is not None:  # Python < 3.12
                    kw["check_hostname"] = self._check_hostname
                return self.do_open(_watched(http.client.HTTPSConnection), req, **kw)

        class OnlyHTTP(urllib.request.BaseHandler):
            """A registry (a redirect, a token realm) never makes podfix open ftp://, file:// or data: URLs,
            which urllib's default opener would (an FTP connection to any host, a local file)."""

            handler_order = 100

            def _refuse(self, req):
                raise urllib.error.URLError(f"a {req.type}: URL, which a registry client never opens")

            ftp_open = file_open = data_open = _refuse

        return urllib.request.build_opener(urllib.request.ProxyHandler({}), OnlyHTTP(), EnvProxy(), Plain(),
                                           Secure(context=ctx), Redirects())

    def send(self, method: str, path: str, headers: dict[str, str] | None = None,
             auth: str | None = None) -> Response:
        """One HTTP exchange; network and TLS failures become RegistryError."""
        try:
            resp = self.send_once(method, self.url(path), headers, auth)
        except RegistryError as err:
            # like dockerd: an insecure registry's https failing means "try plain http",
            # except when nothing listens, the name does not resolve or it timed out.
            fall_back = err.step == "tls" or err._kind == "other"
            if not (self._may_fall_back and fall_back and not path.startswith("http")):
                raise
            self.scheme = "http"  # insecure registry speaking plain http
            self._may_fall_back = False
            return self.send_once(method, self.url(path), headers, auth)
        if not path.startswith("http"):
            self._may_fall_back = False
        return resp

    def send_once(self, method: str, url: str, headers: dict[str, str] | None,
                  auth: str | None) -> Response:
        """One HTTP exchange with ``url`` as given (no http fallback); failures become RegistryError."""
        import http.client
        import urllib.error
        import urllib.request

        if self._opener is None:
            self._opener = self._build_opener()
        req = urllib.request.Request(url, method=method)
        req.add_header("User-Agent", USER_AGENT)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if auth:
            req.add_header("Authorization", auth)
        whole = self.timeout * WHOLE_EXCHANGE
        with _Deadline(whole) as deadline:
            try:
                try:
                    raw = self._opener.open(req, timeout=self.timeout)
                except urllib.error.HTTPError as e:
                    raw = e
                try:
                    body = b"" if method == "HEAD" or raw.fp is None else raw.read(MAX_BODY)
                finally:
                    raw.close()
            except urllib.error.URLError as e:
                if deadline.fired:
                    raise self._timed_out(url, whole) from None
                raise self._network_error(e.reason, url) from e
            except (OSError, http.client.HTTPException) as e:
                if deadline.fired:
                    raise self._timed_out(url, whole) from None
                raise self._network_error(e, url) from e
            if deadline.fired:  # a body cut at the deadline may read as complete: it is not
                raise self._timed_out(url, whole)
        status = raw.status if getattr(raw, "status", None) else raw.code
        return Response(status, getattr(raw, "reason", "") or "", raw.headers, body, raw.geturl())

    def _timed_out(self, url: str, whole: float) -> RegistryError:
        hp = host_port(url)
        err = RegistryError(self.scrub(one_line(f"{hp} did not answer in full within {whole:g}s (a request as a "
                                                "whole); check the address, firewall and proxy settings", 400)),
                            host=hp, step="connect")
        err._kind = "timeout"
        return err

    def _network_error(self, reason: Any, url: str) -> RegistryError:
        import socket
        import ssl

        hp = host_port(url)
        name = hp.rsplit(":", 1)[0]
        if isinstance(reason, ProxyError):
            msg, step, kind = f"cannot use the proxy for {hp}: {reason}", "connect", "proxy"
        elif isinstance(reason, ssl.SSLCertVerificationError):
            why = getattr(reason, "verify_message", None) or reason.reason or str(reason)
            msg = (f"cannot verify the TLS certificate of {hp} ({why}): trust the registry's CA "
                   f"(add it to the system store, or point SSL_CERT_FILE at a bundle with it), "
                   f"or use --insecure-registry to skip verification")
            step, kind = "tls", "cert"
        elif isinstance(reason, ssl.SSLError):
            why = reason.reason or reason.strerror or str(reason)
            msg = (f"TLS handshake with {hp} failed ({why}); if the registry serves plain http, "
                   f"use --insecure-registry")
            step, kind = "tls", "tls"
        elif isinstance(reason, ConnectionRefusedError):
            msg = (f"cannot connect to {hp}: connection refused; check the server name and port "
                   f"and that the registry is running")
            step, kind = "connect", "refused"
        elif isinstance(reason, socket.gaierror):
            msg = (f"cannot resolve {name}: {reason.strerror or reason}; check the server name "
                   f"(and DNS or proxy settings)")
            step, kind = "connect", "dns"
        elif isinstance(reason, (TimeoutError, socket.timeout)):
            msg = (f"{hp} did not answer within {self.timeout:g}s; check the address, "
                   f"firewall and proxy settings")
            step, kind = "connect", "timeout"
        elif isinstance(reason, OSError):
            msg = f"cannot connect to {hp}: {reason.strerror or reason}; check the address and network"
            step, kind = "connect", "other"
        else:
            msg = f"cannot talk to {hp}: {reason or type(reason).__name__}"
            step, kind = "connect", "other"
        err = RegistryError(self.scrub(one_line(msg, 400)), host=hp, step=step)
        err._kind = kind
        return err


_exchange: Any = None  # the thread-local list of the current exchange's sockets (created on first use)


def _sockets() -> Any:
    global _exchange
    if _exchange is None:
        import threading

        _exchange = threading.local()
    return _exchange


def _watched(conn_cls: Any) -> Any:
    """``conn_cls`` whose sockets join the current exchange's (``_Deadline`` shuts them down)."""
    cached = _WATCHED.get(conn_cls)
    if cached is None:
        class Watched(conn_cls):
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                create = self._create_connection

                def created(*a: Any, **k: Any) -> Any:
                    sock = create(*a, **k)
                    found = getattr(_sockets(), "list", None)
                    if found is not None:
                        found.append(sock)
                    return sock

                self._create_connection = created

        cached = _WATCHED[conn_cls] = Watched
    return cached


_WATCHED: dict[Any, Any] = {}


class _Deadline:
    """``with _Deadline(seconds) as d:`` the sockets this thread's exchange opens are shut down after
    ``seconds`` (``d.fired`` says so), which ends any read blocked on them."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fired = False
        self._socks: list[Any] = []
        self._timer: Any = None

    def _fire(self) -> None:
        import socket

        self.fired = True
        for sock in list(self._socks):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass

    def __enter__(self) -> "_Deadline":
        import threading

        _sockets().list = self._socks
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        _sockets().list = None
