"""Logging in to a registry the way ``docker login`` does: answer its challenge.

Credentials go to the registry only after it asks (401 with
``WWW-Authenticate``): as Basic, or to a token server for a Bearer token, only
at the realm the registry named and only over https unless ``insecure``. They
never go to another origin (pagination links, redirects). The password never
appears in a message or repr: ``Credentials.secrets()`` is what the transport
scrubs from every message.

Built on transport.py (which sends whatever header it is given); the registry
operations in client.py build on this.
"""

from __future__ import annotations

import base64
import re

from kubectl_podfix import redact
from kubectl_podfix.registry.errors import RegistryAnswer, Refused, one_line
from kubectl_podfix.registry.transport import Response, Transport, host_port, origin_of, said

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


class Credentials:
    """Who podfix is to one registry, and what the registry handed out for it (Basic, tokens)."""

    def __init__(self, username: str | None, password: str | None):
        self.username = username or None
        self._password = password if password is not None else ""
        self.basic = False  # the registry asked for Basic: send it with every request
        self.tokens: dict[str, str] = {}  # scope -> Bearer token
        self.last_token: str | None = None
        self.used = False  # the credentials were sent (to the registry or its token server)
        secrets = []
        if self._password:
            secrets.append(self._password)
        if self.username is not None:
            secrets.append(self.basic_value())
        self._secrets = [s for s in secrets if len(s) >= 4]
        redact.remember_login(self.username, self._password)

    def __repr__(self) -> str:  # never the password
        return f"<registry credentials user={self.username!r}>"

    def basic_value(self) -> str:
        raw = f"{self.username or ''}:{self._password}".encode("utf-8")
        return base64.b64encode(raw).decode("ascii")

    def secrets(self) -> list[str]:
        """Everything a message must not show: the password, its Basic form, the tokens."""
        return self._secrets + list(self.tokens.values())

    def who(self) -> str:
        return f"user {self.username!r}" if self.username else "anonymous access"


class Auth:
    """The registry's challenge/response around each request, over one transport."""

    def __init__(self, http: Transport, creds: Credentials):
        self.http = http
        self.creds = creds

    def __repr__(self) -> str:
        return f"<registry auth {self.http!r} {self.creds!r}>"

    def header(self, url: str, scope: str | None) -> str | None:
        """The ``Authorization`` value for ``url``, or None."""
        if origin_of(self.http.url(url)) != self.http.origin:
            return None  # never hand our credentials to another host (pagination links...)
        if self.creds.basic:
            return f"Basic {self.creds.basic_value()}"
        token = self.creds.tokens.get(scope or "") or self.creds.last_token
        return f"Bearer {token}" if token else None

    def request(self, method: str, path: str, *, scope: str | None = None,
                accept: str | None = None) -> Response:
        """A request with the registry's challenge/response auth (one retry after a 401)."""
        headers = {"Accept": accept} if accept else {}
        resp = self.http.send(method, path, headers, self.header(path, scope))
        if resp.status != 401 or origin_of(self.http.url(path)) != self.http.origin:
            return resp
        challenges = parse_challenges(resp.headers.get_all("WWW-Authenticate") or [])
        if not self._answer_challenge(challenges, scope):
            return resp
        return self.http.send(method, path, headers, self.header(path, scope))

    def _answer_challenge(self, challenges, scope: str | None) -> bool:
        """Get credentials ready for a retry; False when a retry cannot help."""
        creds = self.creds
        schemes = dict(challenges)
        if "bearer" in schemes:
            params = schemes["bearer"]
            want = params.get("scope") or scope
            token = self._fetch_token(params, want)
            creds.tokens[want or ""] = token
            creds.tokens[scope or ""] = token
            creds.last_token = token
            return True
        if "basic" in schemes:
            if creds.username is None or creds.basic:
                return False
            creds.basic = True
            creds.used = True
            return True
        return False

    def _fetch_token(self, params: dict[str, str], scope: str | None) -> str:
        """A Bearer token from the realm the registry named; raises Refused with the reason."""
        from urllib.parse import urlencode, urlsplit

        realm = params.get("realm") or ""
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Refused(RegistryAnswer(False, 401, "token", self.http.scrub(one_line(
                f"{self.http.host} asked for a Bearer token but named no usable token server "
                f"(realm {realm!r})"))))
        realm_host = host_port(realm)
        if parts.scheme == "http" and not self.http.insecure:
            raise Refused(RegistryAnswer(False, 401, "token", one_line(
                f"{self.http.host} sends logins to a plain-http token server ({realm_host}); "
                f"refusing to send credentials without TLS (use --insecure-registry to allow it)")))
        query = []
        if params.get("service"):
            query.append(("service", params["service"]))
        if scope:
            query.append(("scope", scope))
        if self.creds.username:
            query.append(("account", self.creds.username))
        url = realm + (("&" if parts.query else "?") + urlencode(query) if query else "")
        auth = None
        if self.creds.username is not None:
            auth = f"Basic {self.creds.basic_value()}"
            self.creds.used = True
        resp = self.http.send_once("GET", url, {"Accept": "application/json"}, auth)
        if resp.status != 200:
            told = said(resp)
            if resp.status in (401, 403):
                if self.creds.username:
                    msg = (f"token server {realm_host} rejected the credentials for {self.creds.who()} "
                           f"(HTTP {resp.status}, it said: {told})")
                else:
                    msg = (f"token server {realm_host} refused anonymous access "
                           f"(HTTP {resp.status}, it said: {told}); credentials are needed")
            else:
                msg = f"token server {realm_host} answered HTTP {resp.status} (it said: {told})"
            raise Refused(RegistryAnswer(False, resp.status, "token", self.http.scrub(one_line(msg, 400))))
        data = resp.json()
        token = None
        if isinstance(data, dict):
            token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise Refused(RegistryAnswer(False, resp.status, "token", one_line(
                f"token server {realm_host} answered without a token")))
        return token

