"""The registry operations: a small OCI distribution (registry v2 API) client.

Used by ``kubectl podfix secret --verify`` (are these credentials good before
we write a pull secret?) and by the image fix (does this tag exist, which tags
are there, which platforms does a manifest list cover).

This module holds what podfix asks a registry and how it words the answers;
the layers below stand alone: transport.py (HTTP, TLS, redirects, network
errors, scrubbing), auth.py (challenges, Basic, Bearer tokens), errors.py
(``RegistryAnswer``, ``RegistryError``), and suggest.py ranks tags. The
names callers use are all importable from here.

Stdlib only, and the network modules are imported on first use, so importing
this module is cheap and it can be vendored into a zipapp.

Failures to reach a server at all raise ``RegistryError`` (step "connect" or
"tls"). What the registry *answers* is a ``RegistryAnswer`` for the checks
(``verify_credentials``, ``manifest_exists``); the functions that return data
(``list_tags``, ``manifest_platforms``) raise ``RegistryError`` carrying the
same answer (``err.answer()``) when the registry refuses.
"""

from __future__ import annotations

import re
from typing import Any

from kubectl_podfix.registry.auth import Auth, Credentials, parse_challenges
from kubectl_podfix.registry.errors import RegistryAnswer, RegistryError, Refused, one_line
from kubectl_podfix.registry.suggest import closest_tags
from kubectl_podfix.registry.transport import Response, Transport, error_codes, host_port, origin_of, said

__all__ = [
    "RegistryAnswer",
    "RegistryError",
    "verify_credentials",
    "list_tags",
    "manifest_exists",
    "manifest_platforms",
    "closest_tags",
    "parse_server",
    "parse_challenges",
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


def _next_link(values: list[str]) -> str | None:
    for value in values:
        for m in re.finditer(r"<([^>]*)>([^,<]*)", value):
            if re.search(r"""rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?""", m.group(2)):
                return m.group(1)
    return None


# ------------------------------------------------------------------ client


class _Client:
    """One conversation with one registry: the operations, over auth and transport."""

    def __init__(self, server: str, username: str | None, password: str | None,
                 insecure: bool, timeout: float):
        self.host, scheme = parse_server(server)
        self.creds = Credentials(username, password)
        self.username = self.creds.username
        self.http = Transport(self.host, scheme, insecure, timeout, secrets=self.creds.secrets)
        self.auth = Auth(self.http, self.creds)

    def __repr__(self) -> str:  # never the password
        return f"<registry client {self.http.scheme}://{self.host} user={self.username!r}>"

    # -- shorthands --------------------------------------------------------

    @property
    def used_credentials(self) -> bool:
        return self.creds.used

    def who(self) -> str:
        return self.creds.who()

    def scrub(self, text: str) -> str:
        return self.http.scrub(text)

    def url(self, path: str) -> str:
        return self.http.url(path)

    def request(self, method: str, path: str, *, scope: str | None = None,
                accept: str | None = None) -> Response:
        """A request with the registry's challenge/response auth (one retry after a 401)."""
        return self.auth.request(method, path, scope=scope, accept=accept)

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

    def _found(self, repo: str, reference: str, resp: Response) -> RegistryAnswer:
        digest = resp.headers.get("Docker-Content-Digest")
        sep = "@" if ":" in reference else ":"
        msg = f"{repo}{sep}{reference} exists on {self.host}"
        if self.username and not self.used_credentials:
            msg += " (the registry did not ask for credentials, so they were not checked)"
        elif self.username:
            msg += f" and {self.who()} may pull it"
        return RegistryAnswer(True, resp.status, "manifest", self.scrub(msg), digest)

    def manifest_failure(self, repo: str, reference: str, resp: Response,
                         step: str = "manifest") -> RegistryAnswer:
        told = said(resp)
        status = resp.status
        what = "manifest" if ":" in reference else "tag"
        if status == 404:
            codes = error_codes(resp)
            repo_missing = "NAME_UNKNOWN" in codes
            if not repo_missing:
                # distribution answers MANIFEST_UNKNOWN for a missing repository too;
                # its tags list tells the two apart (NAME_UNKNOWN).
                tags = self.request("GET", f"/v2/{repo}/tags/list?n=1",
                                    scope=f"repository:{repo}:pull")
                if tags.status == 404 and "NAME_UNKNOWN" in error_codes(tags):
                    repo_missing, told = True, said(tags)
            if repo_missing:
                msg = f"repository {repo!r} not found on {self.host} (registry said: {told})"
            else:
                msg = (f"{what} {reference!r} not found in repository {repo!r} on {self.host} "
                       f"(registry said: {told})")
        elif status == 401:
            if self.username:
                msg = (f"{self.host} refused {self.who()} access to {repo!r} (HTTP 401, registry "
                       f"said: {told}); the credentials are wrong, lack pull access, or the "
                       f"repository does not exist")
            else:
                msg = (f"{self.host} needs credentials to read {repo!r} (HTTP 401, registry said: "
                       f"{told})")
        elif status == 403:
            msg = (f"{self.host} denied {self.who()} access to {repo!r} (HTTP 403, registry "
                   f"said: {told})")
        else:
            msg = (f"{self.host} answered HTTP {status} for {repo}:{reference} "
                   f"(registry said: {told})")
        return RegistryAnswer(False, status, step, self.scrub(one_line(msg, 500)))


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
        if origin_of(resp.url) != client.http.origin:
            # a redirect to another server is no login: its answer says nothing about these credentials
            # (and they were not sent there: the transport drops Authorization across origins)
            msg = (f"{client.host} redirected the login check (/v2/) to another server ({host_port(resp.url)}, "
                   f"HTTP {resp.status}): podfix does not take an answer from another server as the credentials "
                   f"being accepted; check --docker-server (the registry's own host)")
            return RegistryAnswer(False, resp.status, "ping", client.scrub(one_line(msg, 400)))
        if resp.status == 401:
            told = said(resp)
            if not client.username:
                msg = f"{client.host} needs credentials (HTTP 401, registry said: {told})"
            elif client.used_credentials:
                msg = (f"{client.host} rejected the credentials for {client.who()} "
                       f"(HTTP 401, registry said: {told})")
            else:
                msg = (f"{client.host} asked for credentials in a way podfix cannot answer "
                       f"(HTTP 401, registry said: {told})")
            return RegistryAnswer(False, 401, "ping", client.scrub(one_line(msg, 400)))
        if resp.status != 200:
            msg = (f"{client.host} answered HTTP {resp.status} at /v2/ (it said: {said(resp)}); "
                   f"is this a container registry?")
            return RegistryAnswer(False, resp.status, "ping", client.scrub(one_line(msg, 400)))
        if repo and reference:
            return client.check_manifest(repo, reference)
    except Refused as refused:
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
    except Refused as refused:
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
    except Refused as refused:
        a = refused.answer
        raise RegistryError(a.message, host=client.host, step=a.step, status=a.status) from None
    return list(dict.fromkeys(tags))


def _tags_failure(client: _Client, repo: str, resp: Response) -> str:
    told = said(resp)
    if resp.status == 404:
        msg = f"repository {repo!r} not found on {client.host} (registry said: {told})"
    elif resp.status in (401, 403) and client.username:
        msg = (f"{client.host} refused to list the tags of {repo!r} for {client.who()} "
               f"(HTTP {resp.status}, registry said: {told})")
    elif resp.status in (401, 403):
        msg = (f"{client.host} needs credentials to list the tags of {repo!r} "
               f"(HTTP {resp.status}, registry said: {told})")
    else:
        msg = f"{client.host} answered HTTP {resp.status} for the tags of {repo!r} (registry said: {told})"
    return client.scrub(one_line(msg, 400))


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
            raise RegistryError(client.scrub(one_line(
                f"{client.host} answered HTTP {blob.status} for the config blob of "
                f"{repo}:{reference} (registry said: {said(blob)})", 400)),
                host=client.host, step="manifest", status=blob.status)
        p = _platform(blob.json())
        return [p] if p else []
    except Refused as refused:
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

