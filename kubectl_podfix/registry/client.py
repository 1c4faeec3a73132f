"""A small OCI distribution (registry v2 API) client.

Used by ``kubectl podfix secret --verify`` (are these credentials good before
we write a pull secret?) and by the image fix (does this tag exist, which tags
are there, which platforms does a manifest list cover).

Stdlib only, and the network modules are imported on first use, so importing
this module is cheap and it can be vendored into a zipapp.

Rules it keeps:

* TLS is always verified against the default trust store
  (``ssl.create_default_context()``, so ``SSL_CERT_FILE``/``SSL_CERT_DIR`` are
  honoured). ``insecure=True`` is the kubelet's "insecure registry": TLS
  without verification, and plain http (tried after https unless the server
  was given as ``http://...``).
* Credentials go to the registry only after it asks (401), and to a token
  server only at the realm the registry named, and only over https unless
  ``insecure``. ``Authorization`` is dropped on redirects to another origin.
* The password never appears in a message, repr or exception: messages are
  scrubbed, and nothing public holds it.

Failures to reach a server at all raise ``RegistryError`` (step "connect" or
"tls"). What the registry *answers* is a ``RegistryAnswer`` for the checks
(``verify_credentials``, ``manifest_exists``); the functions that return data
(``list_tags``, ``manifest_platforms``) raise ``RegistryError`` carrying the
same answer (``err.answer()``) when the registry refuses.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RegistryAnswer",
    "RegistryError",
    "verify_credentials",
    "list_tags",
    "manifest_exists",
    "manifest_platforms",
    "closest_tags",
    "parse_server",
    "MANIFEST_ACCEPT",
]

DOCKER_HUB_HOST = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
# Without every type it can hold, distribution tries to down-convert to schema 1 and fails.
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1])

_MAX_BODY = 16 << 20
_USER_AGENT = "kubectl-podfix"


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class RegistryAnswer:
    """Outcome of one check, for messages. Never holds a secret."""

    ok: bool
    status: int | None  # HTTP status of the decisive request
    step: str  # "ping" | "token" | "manifest" | "tags" | "connect" | "tls"
    message: str  # one line, plain words, naming what the registry said
    digest: str | None = None  # Docker-Content-Digest of the manifest, when one was found

    def __str__(self) -> str:
        return self.message


class RegistryError(Exception):
    """The registry could not be reached or refused to give the data asked for.

    ``step`` is "connect" or "tls" for network/TLS failures, otherwise the step
    that failed ("ping", "token", "manifest", "tags"); ``status`` is the HTTP
    status when there was one. The message is one line and never holds a secret.
    """

    def __init__(self, message: str, *, host: str | None = None, step: str = "connect",
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.host = host
        self.step = step
        self.status = status
        self._kind = ""  # internal: which network failure, for the insecure http fallback

    def answer(self) -> RegistryAnswer:
        return RegistryAnswer(False, self.status, self.step, self.message)

    def __str__(self) -> str:
        return self.message


class _Refused(Exception):
    """Internal: the auth flow failed with an answer to report."""

    def __init__(self, answer: RegistryAnswer):
        super().__init__(answer.message)
        self.answer = answer


# ------------------------------------------------------------------ servers


def parse_server(server: str) -> tuple[str, str | None]:
    """``(host[:port], scheme or None)`` for a --docker-server value or auths key.

    Docker Hub's spellings ("docker.io", "https://index.docker.io/v1/", ...) all
    become ``registry-1.docker.io`` with https. Any path is dropped: the v2 API
    lives at the root.
    """
    text = (server or "").strip()
    scheme = None
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", text)
    if m:
        scheme = m.group(1).lower()
        text = text[m.end():]
        if scheme not in ("http", "https"):
            raise RegistryError(f"registry server {server.strip()!r} has scheme {scheme!r}; "
                                "use host[:port] or https://host[:port]", step="connect")
    host = text.split("/", 1)[0].split("?", 1)[0]
    if "@" in host:  # never keep userinfo from a URL
        host = host.rsplit("@", 1)[1]
    host = host.lower()
    if not host or any(c.isspace() for c in host):
        raise RegistryError(f"no registry host in {server.strip()!r}; give host[:port]",
                            step="connect")
    name = host[:host.rfind("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
    if name in _HUB_ALIASES:
        return DOCKER_HUB_HOST, "https"
    return host, scheme


def _host_port(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    if parts.port is None:
        host += ":443" if parts.scheme == "https" else ":80"
    return host


def _origin(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme.lower(), _host_port(url).lower()


# ------------------------------------------------------------------ helpers


@dataclass
class _Resp:
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


def _error_codes(resp: _Resp) -> list[str]:
    data = resp.json()
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return [str(e.get("code") or "") for e in data["errors"] if isinstance(e, dict)]
    return []


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _said(resp: _Resp) -> str:
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
    said = "; ".join(p for p in parts if p)
    if not said:
        text = resp.body[:2000].decode("utf-8", "replace").strip()
        if text and not text.lstrip().startswith("<") and data is None:
            said = f"HTTP {resp.status} {resp.reason}: {text.splitlines()[0]}".strip()
        else:
            said = f"HTTP {resp.status} {resp.reason}".strip()
    return _one_line(said)


_AUTH_PARAM = re.compile(
    r"""\s*,?\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)""")
_AUTH_SCHEME = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)")


def parse_challenges(values: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Parse ``WWW-Authenticate`` header values into ``[(scheme, params)]`` (scheme lowercased)."""
    out: list[tuple[str, dict[str, str]]] = []
    for value in values:
        pos, current = 0, None
        while pos < len(value):
            m = _AUTH_PARAM.match(value, pos)
            if m and current is not None:
                raw = m.group(2)
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                current[m.group(1).lower()] = raw
                pos = m.end()
                continue
            m = _AUTH_SCHEME.match(value, pos)
            if not m or m.end() == pos:
                break
            current = {}
            out.append((m.group(1).lower(), current))
            pos = m.end()
    return out


def _next_link(values: list[str]) -> str | None:
    for value in values:
        for m in re.finditer(r"<([^>]*)>([^,<]*)", value):
            if re.search(r"""rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?""", m.group(2)):
                return m.group(1)
    return None


# ------------------------------------------------------------------ client


class _Client:
    """One conversation with one registry: scheme choice, auth state, tokens."""

    def __init__(self, server: str, username: str | None, password: str | None,
                 insecure: bool, timeout: float):
        self.host, explicit = parse_server(server)
        self.username = username or None
        self._password = password if password is not None else ""
        self.insecure = bool(insecure)
        self.timeout = timeout
        if not self.insecure:
            self.scheme, self._may_fall_back = "https", False
        elif explicit:
            self.scheme, self._may_fall_back = explicit, False
        else:  # like dockerd for insecure registries: https without verification, then http
            self.scheme, self._may_fall_back = "https", True
        self._basic = False
        self._tokens: dict[str, str] = {}
        self._last_token: str | None = None
        self.used_credentials = False
        self._opener = None
        secrets = []
        if self._password:
            secrets.append(self._password)
        if self.username is not None:
            secrets.append(self._basic_value())
        self._secrets = [s for s in secrets if len(s) >= 4]

    def __repr__(self) -> str:  # never the password
        return f"<registry client {self.scheme}://{self.host} user={self.username!r}>"

    # -- plumbing --------------------------------------------------------

    def _basic_value(self) -> str:
        raw = f"{self.username or ''}:{self._password}".encode("utf-8")
        return base64.b64encode(raw).decode("ascii")

    def scrub(self, text: str) -> str:
        for s in self._secrets + list(self._tokens.values()):
            if s and len(s) >= 4:
                text = text.replace(s, "***")
        return text

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.scheme}://{self.host}{path}"

    @property
    def origin(self) -> tuple[str, str]:
        return _origin(self.url("/"))

    def _build_opener(self):
        import ssl
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
                if (not insecure and req.full_url.lower().startswith("https:")
                        and new.full_url.lower().startswith("http:")):
                    return None  # no downgrade to plain http; the 3xx is reported
                if _origin(new.full_url) != _origin(req.full_url):
                    new.remove_header("Authorization")
                return new

        return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), Redirects())

    def send(self, method: str, path: str, headers: dict[str, str] | None = None,
             auth: str | None = None) -> _Resp:
        """One HTTP exchange; network and TLS failures become RegistryError."""
        try:
            resp = self._send_once(method, self.url(path), headers, auth)
        except RegistryError as err:
            # like dockerd: an insecure registry's https failing means "try plain http",
            # except when nothing listens, the name does not resolve or it timed out.
            fall_back = err.step == "tls" or err._kind == "other"
            if not (self._may_fall_back and fall_back and not path.startswith("http")):
                raise
            self.scheme = "http"  # insecure registry speaking plain http
            self._may_fall_back = False
            return self._send_once(method, self.url(path), headers, auth)
        if not path.startswith("http"):
            self._may_fall_back = False
        return resp

    def _send_once(self, method: str, url: str, headers: dict[str, str] | None,
                   auth: str | None) -> _Resp:
        import http.client
        import urllib.error
        import urllib.request

        if self._opener is None:
            self._opener = self._build_opener()
        req = urllib.request.Request(url, method=method)
        req.add_header("User-Agent", _USER_AGENT)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if auth:
            req.add_header("Authorization", auth)
        try:
            try:
                raw = self._opener.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as e:
                raw = e
            try:
                body = b"" if method == "HEAD" or raw.fp is None else raw.read(_MAX_BODY)
            finally:
                raw.close()
        except urllib.error.URLError as e:
            raise self._network_error(e.reason, url) from e
        except (OSError, http.client.HTTPException) as e:
            raise self._network_error(e, url) from e
        status = raw.status if getattr(raw, "status", None) else raw.code
        return _Resp(status, getattr(raw, "reason", "") or "", raw.headers, body, raw.geturl())

    def _network_error(self, reason: Any, url: str) -> RegistryError:
        import socket
        import ssl

        hp = _host_port(url)
        name = hp.rsplit(":", 1)[0]
        if isinstance(reason, ssl.SSLCertVerificationError):
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
        err = RegistryError(self.scrub(_one_line(msg, 400)), host=hp, step=step)
        err._kind = kind
        return err

    # -- auth ------------------------------------------------------------

    def who(self) -> str:
        return f"user {self.username!r}" if self.username else "anonymous access"

    def auth_header(self, url: str, scope: str | None) -> str | None:
        if _origin(self.url(url)) != self.origin:
            return None  # never hand our credentials to another host (pagination links...)
        if self._basic:
            return f"Basic {self._basic_value()}"
        token = self._tokens.get(scope or "") or self._last_token
        return f"Bearer {token}" if token else None

    def request(self, method: str, path: str, *, scope: str | None = None,
                accept: str | None = None) -> _Resp:
        """A request with the registry's challenge/response auth (one retry after a 401)."""
        headers = {"Accept": accept} if accept else {}
        resp = self.send(method, path, headers, self.auth_header(path, scope))
        if resp.status != 401 or _origin(self.url(path)) != self.origin:
            return resp
        challenges = parse_challenges(resp.headers.get_all("WWW-Authenticate") or [])
        if not self._answer_challenge(challenges, scope):
            return resp
        return self.send(method, path, headers, self.auth_header(path, scope))

    def _answer_challenge(self, challenges, scope: str | None) -> bool:
        """Get credentials ready for a retry; False when a retry cannot help."""
        schemes = dict(challenges)
        if "bearer" in schemes:
            params = schemes["bearer"]
            want = params.get("scope") or scope
            token = self._fetch_token(params, want)
            self._tokens[want or ""] = token
            self._tokens[scope or ""] = token
            self._last_token = token
            return True
        if "basic" in schemes:
            if self.username is None or self._basic:
                return False
            self._basic = True
            self.used_credentials = True
            return True
        return False

    def _fetch_token(self, params: dict[str, str], scope: str | None) -> str:
        from urllib.parse import urlencode, urlsplit

        realm = params.get("realm") or ""
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _Refused(RegistryAnswer(False, 401, "token", self.scrub(_one_line(
                f"{self.host} asked for a Bearer token but named no usable token server "
                f"(realm {realm!r})"))))
        realm_host = _host_port(realm)
        if parts.scheme == "http" and not self.insecure:
            raise _Refused(RegistryAnswer(False, 401, "token", _one_line(
                f"{self.host} sends logins to a plain-http token server ({realm_host}); "
                f"refusing to send credentials without TLS (use --insecure-registry to allow it)")))
        query = []
        if params.get("service"):
            query.append(("service", params["service"]))
        if scope:
            query.append(("scope", scope))
        if self.username:
            query.append(("account", self.username))
        url = realm + (("&" if parts.query else "?") + urlencode(query) if query else "")
        auth = None
        if self.username is not None:
            auth = f"Basic {self._basic_value()}"
            self.used_credentials = True
        resp = self._send_once("GET", url, {"Accept": "application/json"}, auth)
        if resp.status != 200:
            said = _said(resp)
            if resp.status in (401, 403):
                if self.username:
                    msg = (f"token server {realm_host} rejected the credentials for {self.who()} "
                           f"(HTTP {resp.status}, it said: {said})")
                else:
                    msg = (f"token server {realm_host} refused anonymous access "
                           f"(HTTP {resp.status}, it said: {said}); credentials are needed")
            else:
                msg = f"token server {realm_host} answered HTTP {resp.status} (it said: {said})"
            raise _Refused(RegistryAnswer(False, resp.status, "token", self.scrub(_one_line(msg, 400))))
        data = resp.json()
        token = None
        if isinstance(data, dict):
            token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise _Refused(RegistryAnswer(False, resp.status, "token", _one_line(
                f"token server {realm_host} answered without a token")))
        return token

    # -- registry operations ---------------------------------------------

    def repo(self, repository: str) -> str:
        repo = repository.strip().strip("/")
        if not repo:
            raise ValueError("empty repository name")
        if self.host == DOCKER_HUB_HOST and "/" not in repo:
            repo = "library/" + repo
        return repo

    def manifest_path(self, repo: str, reference: str) -> str:
        from urllib.parse import quote

        return f"/v2/{quote(repo, safe='/')}/manifests/{quote(reference, safe=':')}"

    def check_manifest(self, repo: str, reference: str, step: str = "manifest") -> RegistryAnswer:
        scope = f"repository:{repo}:pull"
        path = self.manifest_path(repo, reference)
        resp = self.request("HEAD", path, scope=scope, accept=MANIFEST_ACCEPT)
        if resp.status == 200:
            return self._found(repo, reference, resp)
        # HEAD has no body: ask again with GET to read the registry's error code.
        full = self.request("GET", path, scope=scope, accept=MANIFEST_ACCEPT)
        if full.status == 200:
            return self._found(repo, reference, full)
        return self.manifest_failure(repo, reference, full, step)

    def _found(self, repo: str, reference: str, resp: _Resp) -> RegistryAnswer:
        digest = resp.headers.get("Docker-Content-Digest")
        sep = "@" if ":" in reference else ":"
        msg = f"{repo}{sep}{reference} exists on {self.host}"
        if self.username and not self.used_credentials:
            msg += " (the registry did not ask for credentials, so they were not checked)"
        elif self.username:
            msg += f" and {self.who()} may pull it"
        return RegistryAnswer(True, resp.status, "manifest", self.scrub(msg), digest)

    def manifest_failure(self, repo: str, reference: str, resp: _Resp,
                         step: str = "manifest") -> RegistryAnswer:
        said = _said(resp)
        status = resp.status
        what = "manifest" if ":" in reference else "tag"
        if status == 404:
            codes = _error_codes(resp)
            repo_missing = "NAME_UNKNOWN" in codes
            if not repo_missing:
                # distribution answers MANIFEST_UNKNOWN for a missing repository too;
                # its tags list tells the two apart (NAME_UNKNOWN).
                tags = self.request("GET", f"/v2/{repo}/tags/list?n=1",
                                    scope=f"repository:{repo}:pull")
                if tags.status == 404 and "NAME_UNKNOWN" in _error_codes(tags):
                    repo_missing, said = True, _said(tags)
            if repo_missing:
                msg = f"repository {repo!r} not found on {self.host} (registry said: {said})"
            else:
                msg = (f"{what} {reference!r} not found in repository {repo!r} on {self.host} "
                       f"(registry said: {said})")
        elif status == 401:
            if self.username:
                msg = (f"{self.host} refused {self.who()} access to {repo!r} (HTTP 401, registry "
                       f"said: {said}); the credentials are wrong, lack pull access, or the "
                       f"repository does not exist")
            else:
                msg = (f"{self.host} needs credentials to read {repo!r} (HTTP 401, registry said: "
                       f"{said})")
        elif status == 403:
            msg = (f"{self.host} denied {self.who()} access to {repo!r} (HTTP 403, registry "
                   f"said: {said})")
        else:
            msg = (f"{self.host} answered HTTP {status} for {repo}:{reference} "
                   f"(registry said: {said})")
        return RegistryAnswer(False, status, step, self.scrub(_one_line(msg, 500)))


# ------------------------------------------------------------------ public API


def verify_credentials(server: str, username: str, password: str, *,
                       repository: str | None = None, reference: str | None = None,
                       insecure: bool = False, timeout: float = 10) -> RegistryAnswer:
    """Check that ``username``/``password`` log in to ``server`` (and, when
    ``repository`` and ``reference`` are given, may read that manifest).

    Does what ``docker login`` does: ping ``/v2/``; on 401 answer the challenge
    (Basic, or Bearer via the token server the registry names, scoped to
    ``repository:REPO:pull`` when the repository is known) and ping again. Then
    HEAD the manifest. Raises RegistryError when the server cannot be reached.
    """
    client = _Client(server, username, password, insecure, timeout)
    repo = client.repo(repository) if repository else None
    scope = f"repository:{repo}:pull" if repo else None
    try:
        resp = client.request("GET", "/v2/", scope=scope)
        if resp.status == 401:
            said = _said(resp)
            if not client.username:
                msg = f"{client.host} needs credentials (HTTP 401, registry said: {said})"
            elif client.used_credentials:
                msg = (f"{client.host} rejected the credentials for {client.who()} "
                       f"(HTTP 401, registry said: {said})")
            else:
                msg = (f"{client.host} asked for credentials in a way podfix cannot answer "
                       f"(HTTP 401, registry said: {said})")
            return RegistryAnswer(False, 401, "ping", client.scrub(_one_line(msg, 400)))
        if resp.status != 200:
            msg = (f"{client.host} answered HTTP {resp.status} at /v2/ (it said: {_said(resp)}); "
                   f"is this a container registry?")
            return RegistryAnswer(False, resp.status, "ping", client.scrub(_one_line(msg, 400)))
        if repo and reference:
            return client.check_manifest(repo, reference)
    except _Refused as refused:
        return refused.answer
    if client.used_credentials:
        msg = f"{client.host} accepted the credentials for {client.who()}"
    else:
        msg = (f"{client.host} did not ask for credentials, so they were not checked "
               f"(anonymous access is allowed)")
    return RegistryAnswer(True, resp.status, "ping", client.scrub(msg))


def manifest_exists(server: str, repository: str, reference: str, *,
                    username: str | None = None, password: str | None = None,
                    insecure: bool = False, timeout: float = 10) -> RegistryAnswer:
    """Whether ``repository:reference`` (tag or digest) exists; ``answer.digest`` is set when it does."""
    client = _Client(server, username, password, insecure, timeout)
    try:
        return client.check_manifest(client.repo(repository), reference)
    except _Refused as refused:
        return refused.answer


def list_tags(server: str, repository: str, *, username: str | None = None,
              password: str | None = None, insecure: bool = False, timeout: float = 10,
              page_size: int | None = 1000, max_pages: int = 1000) -> list[str]:
    """All tags of ``repository``, following ``Link: <...>; rel="next"`` pagination.

    Raises RegistryError (step "tags", with the status) when the registry refuses.
    """
    client = _Client(server, username, password, insecure, timeout)
    repo = client.repo(repository)
    scope = f"repository:{repo}:pull"
    from urllib.parse import quote, urljoin

    base = f"/v2/{quote(repo, safe='/')}/tags/list"
    path = f"{base}?n={int(page_size)}" if page_size else base
    tags: list[str] = []
    seen: set[str] = set()
    first = True
    try:
        while path and len(seen) < max_pages:
            seen.add(client.url(path))
            resp = client.request("GET", path, scope=scope)
            if first and resp.status == 400 and page_size:
                path, page_size = base, None  # some registries cap n: let them choose
                continue
            first = False
            if resp.status != 200:
                raise RegistryError(_tags_failure(client, repo, resp), host=client.host,
                                    step="tags", status=resp.status)
            data = resp.json()
            page = data.get("tags") if isinstance(data, dict) else None
            if page:
                tags.extend(t for t in page if isinstance(t, str))
            nxt = _next_link(resp.headers.get_all("Link") or [])
            path = urljoin(resp.url, nxt) if nxt else None
            if path and path in seen:
                break
    except _Refused as refused:
        a = refused.answer
        raise RegistryError(a.message, host=client.host, step=a.step, status=a.status) from None
    return list(dict.fromkeys(tags))


def _tags_failure(client: _Client, repo: str, resp: _Resp) -> str:
    said = _said(resp)
    if resp.status == 404:
        msg = f"repository {repo!r} not found on {client.host} (registry said: {said})"
    elif resp.status in (401, 403) and client.username:
        msg = (f"{client.host} refused to list the tags of {repo!r} for {client.who()} "
               f"(HTTP {resp.status}, registry said: {said})")
    elif resp.status in (401, 403):
        msg = (f"{client.host} needs credentials to list the tags of {repo!r} "
               f"(HTTP {resp.status}, registry said: {said})")
    else:
        msg = f"{client.host} answered HTTP {resp.status} for the tags of {repo!r} (registry said: {said})"
    return client.scrub(_one_line(msg, 400))


def manifest_platforms(server: str, repository: str, reference: str, *,
                       username: str | None = None, password: str | None = None,
                       insecure: bool = False, timeout: float = 10) -> list[str]:
    """Platforms an image provides: ``["linux/amd64", "linux/arm64/v8"]``.

    From the entries of an OCI index / docker manifest list (attestation
    entries skipped), or for a single manifest from its config blob's
    os/architecture/variant. Raises RegistryError when the registry refuses.
    """
    client = _Client(server, username, password, insecure, timeout)
    repo = client.repo(repository)
    scope = f"repository:{repo}:pull"
    try:
        resp = client.request("GET", client.manifest_path(repo, reference), scope=scope,
                              accept=MANIFEST_ACCEPT)
        if resp.status != 200:
            a = client.manifest_failure(repo, reference, resp)
            raise RegistryError(a.message, host=client.host, step=a.step, status=a.status)
        doc = resp.json()
        if not isinstance(doc, dict):
            raise RegistryError(f"{client.host} sent a manifest for {repo}:{reference} that is not JSON",
                                host=client.host, step="manifest", status=resp.status)
        if isinstance(doc.get("manifests"), list):
            found = []
            for entry in doc["manifests"]:
                if not isinstance(entry, dict):
                    continue
                ann = entry.get("annotations") or {}
                if isinstance(ann, dict) and ann.get("vnd.docker.reference.type"):
                    continue  # buildx attestation manifests ("unknown/unknown")
                p = _platform(entry.get("platform"))
                if p:
                    found.append(p)
            return list(dict.fromkeys(found))
        if doc.get("schemaVersion") == 1:
            arch = doc.get("architecture")
            return [f"linux/{arch}"] if arch else []
        config = doc.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str):
            return []
        from urllib.parse import quote

        blob = client.request("GET", f"/v2/{quote(repo, safe='/')}/blobs/{quote(digest, safe=':')}",
                              scope=scope)
        if blob.status != 200:
            raise RegistryError(client.scrub(_one_line(
                f"{client.host} answered HTTP {blob.status} for the config blob of "
                f"{repo}:{reference} (registry said: {_said(blob)})", 400)),
                host=client.host, step="manifest", status=blob.status)
        p = _platform(blob.json())
        return [p] if p else []
    except _Refused as refused:
        a = refused.answer
        raise RegistryError(a.message, host=client.host, step=a.step, status=a.status) from None


def _platform(p: Any) -> str | None:
    if not isinstance(p, dict):
        return None
    os_, arch = p.get("os"), p.get("architecture")
    if not os_ or not arch or os_ == "unknown" or arch == "unknown":
        return None
    variant = p.get("variant")
    return f"{os_}/{arch}/{variant}" if variant else f"{os_}/{arch}"


# ------------------------------------------------------------------ suggestions

_NUMS = re.compile(r"\d+")


def _tag_shape(tag: str) -> tuple[list[int], frozenset[str]]:
    """Leading version numbers ("v1.25.3-alpine" -> [1, 25, 3]) and the flavor words ({"alpine"})."""
    text = tag.lower()
    m = re.match(r"v?(\d+(?:[._]\d+)*)", text)
    nums = [int(x) for x in _NUMS.findall(m.group(1))] if m else []
    rest = text[m.end():] if m else text
    words = frozenset(w for w in re.findall(r"[a-z]+", rest))
    return nums, words


def closest_tags(wanted: str, tags: list[str], n: int = 3) -> list[str]:
    """The ``n`` tags most likely meant by ``wanted`` (best first).

    Ranked by: same flavor words (``-alpine``, ``-slim``), then how many leading
    version numbers agree, then difflib similarity, then newest version first.
    "lates" -> "latest", "v1.2.33" -> "v1.2.3", "1.25-alpine" -> "1.25.x-alpine".
    Tags that share neither spelling nor version line with ``wanted`` are left out.
    """
    import difflib

    if n <= 0 or not tags:
        return []
    w_nums, w_words = _tag_shape(wanted)
    w_low = wanted.lower()
    scored = []
    for tag in dict.fromkeys(tags):
        if tag == wanted:
            scored.append(((0, 0, 0.0, (), ""), tag))  # sorts first
            continue
        nums, words = _tag_shape(tag)
        ratio = difflib.SequenceMatcher(None, w_low, tag.lower(), autojunk=False).ratio()
        common = 0
        for a, b in zip(w_nums, nums):
            if a != b:
                break
            common += 1
        same_flavor = words == w_words
        if ratio < 0.6 and not (common >= 1 and same_flavor):
            continue
        key = (0 if same_flavor else 1, -common, -round(ratio, 3),
               tuple(-x for x in nums), tag)
        scored.append(((1,) + key, tag))
    scored.sort(key=lambda item: item[0])
    return [tag for _, tag in scored[:n]]
