"""Image references and registry host matching, the way the kubelet sees them.

Pure string work, no I/O: which registry an image comes from, and whether a
pull secret's ``auths`` key covers that registry under the kubelet's
credential keyring rules (host globs like ``*.example.com``, port must match,
path prefix, Docker Hub's many spellings).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
# What `kubectl create secret docker-registry` writes for Docker Hub, and what
# the kubelet's keyring matches docker.io images against.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # host[:port]; "docker.io" for Docker Hub
    repository: str  # "library/nginx"
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """The tag or digest to ask the registry for ("latest" when neither was given)."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> str:
        host = "" if self.registry == DOCKER_HUB else self.registry + "/"
        repo = self.repository
        if not host and repo.startswith("library/"):
            repo = repo[len("library/"):]
        return f"{host}{repo}:{tag}"


def parse_image(image: str) -> ImageRef | None:
    """Parse an image reference; None when it is not a valid reference."""
    if not image or image != image.strip() or any(c.isspace() for c in image):
        return None
    rest, digest = image, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            return None
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            return None
    parts = rest.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, repo_parts = first, parts[1:]
    else:
        registry, repo_parts = DOCKER_HUB, parts
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if not repo_parts or not all(_COMPONENT.match(p) for p in repo_parts):
        return None
    if registry == DOCKER_HUB and len(repo_parts) == 1:
        repo_parts = ["library", *repo_parts]
    return ImageRef(registry, "/".join(repo_parts), tag, digest)


def registry_of(image: str) -> str:
    """The registry host of an image, or "" when the reference does not parse."""
    ref = parse_image(image)
    return ref.registry if ref else ""


def normalize_server(server: str) -> str:
    """Reduce a docker config ``auths`` key or a --docker-server value to host[:port][/path]."""
    text = server.strip()
    text = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", text)
    text = text.rstrip("/")
    host, _, path = text.partition("/")
    host = host.lower()
    if host in _HUB_ALIASES:
        return DOCKER_HUB
    if path == "v1" or path == "v2":
        path = ""
    return f"{host}/{path}" if path else host


def secret_server_key(server: str) -> str:
    """The ``auths`` key to write for ``server`` (Docker Hub gets the kubelet's canonical key)."""
    return DOCKER_HUB_KEY if normalize_server(server) == DOCKER_HUB else server.strip()


def server_matches(key: str, image: str) -> bool:
    """Whether a docker config ``auths`` key would be used by the kubelet to pull ``image``.

    Follows pkg/credentialprovider's URL matching: the key's host may be a glob
    (each dot-separated label matched on its own), the port must be equal, and
    the key's path must prefix the image's repository path.
    """
    ref = parse_image(image)
    if ref is None:
        return False
    key_norm = normalize_server(key)
    key_host, _, key_path = key_norm.partition("/")
    if ref.registry == DOCKER_HUB:
        return key_host == DOCKER_HUB and (not key_path or ref.repository.startswith(key_path))
    img_host, img_port = _split_port(ref.registry)
    k_host, k_port = _split_port(key_host)
    if k_port != img_port:
        return False
    k_labels, i_labels = k_host.split("."), img_host.lower().split(".")
    if len(k_labels) != len(i_labels):
        return False
    if not all(fnmatch.fnmatchcase(i, k) for k, i in zip(k_labels, i_labels)):
        return False
    return not key_path or ref.repository == key_path or ref.repository.startswith(key_path.rstrip("/") + "/")


def dockerconfig_auths(data: dict) -> dict:
    """The ``auths`` map of a pull Secret's ``data`` (``.dockerconfigjson``, or the legacy ``.dockercfg``)."""
    import base64
    import json

    for key in (".dockerconfigjson", ".dockercfg"):
        raw = data.get(key) if isinstance(data, dict) else None
        if not isinstance(raw, str):
            continue
        try:
            doc = json.loads(base64.b64decode(raw))
        except (ValueError, TypeError):
            continue
        auths = doc.get("auths", doc) if key == ".dockerconfigjson" and isinstance(doc, dict) else doc
        if isinstance(auths, dict):
            return auths
    return {}


def dockerconfig_registries(data: dict) -> list[str] | None:
    """The registries a pull Secret's docker config holds credentials for, as the kubelet reads it.

    ``[]`` when the config is readable but names no registry (``{"auths": {}}``, or a ``.dockerconfigjson``
    without ``auths``, which the kubelet reads as empty); None when no docker config could be read.
    """
    import base64
    import json

    for key in (".dockerconfigjson", ".dockercfg"):
        raw = data.get(key) if isinstance(data, dict) else None
        if not isinstance(raw, str) or not raw:
            continue
        try:
            doc = json.loads(base64.b64decode(raw))
        except (ValueError, TypeError):
            continue
        if not isinstance(doc, dict):
            continue
        auths = (doc.get("auths") or {}) if key == ".dockerconfigjson" else doc
        if isinstance(auths, dict):
            # An entry without credentials (a config.json whose secrets live in a credential store,
            # {"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}) gives the kubelet nothing.
            return [str(k) for k, v in auths.items() if isinstance(v, dict) and any(
                v.get(f) for f in ("auth", "username", "password", "identitytoken", "registrytoken"))]
    return None


def _split_port(host: str) -> tuple[str, str]:
    if host.startswith("["):  # IPv6 literal
        end = host.find("]")
        return host[: end + 1], host[end + 2:] if end + 1 < len(host) else ""
    name, _, port = host.partition(":")
    return name, port
