"""What podfix knows about particular registries, for deciding and for wording.

Registry hosts as the runtime sees them (Docker Hub's real endpoint), the
registries that hide private repositories behind "not found", and the cloud
registries whose nodes authenticate on their own through a kubelet credential
provider.
"""

from __future__ import annotations

import re

from kubectl_podfix.registry import reference as imagelib

_NODE_CREDENTIAL_PROVIDERS = (
    (re.compile(r"^\d+\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"), "Amazon ECR",
     "the node's IAM role (ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer) through the "
     "kubelet's ECR credential provider"),
    (re.compile(r"^([a-z0-9-]+\.)?gcr\.io$|^([a-z0-9-]+-)?docker\.pkg\.dev$"), "Google Artifact Registry/GCR",
     "the node's Google service account (roles/artifactregistry.reader) through the kubelet's GCP credential provider"),
    (re.compile(r"^[^./]+\.azurecr\.(io|cn|us)$"), "Azure Container Registry",
     "the cluster's kubelet identity with the AcrPull role (az aks update --attach-acr)"),
)


# Registries (and public mirrors of them) that serve every image to anyone and hold nothing private:
# a 403 there is not about credentials but about what stands in front of them (an IP block, a mirror's
# allow-list, a proxy).
_PUBLIC_ONLY = re.compile(r"^(registry\.k8s\.io|k8s\.gcr\.io|mcr\.microsoft\.com|public\.ecr\.aws|"
                          r"[a-z0-9-]+\.azk8s\.cn|[a-z0-9-]+\.m\.daocloud\.io)$")


def public_only(host: str) -> bool:
    """Registries and mirrors where every image is public, so credentials never decide a pull."""
    return bool(_PUBLIC_ONLY.match(host or ""))


def is_mirror(host: str) -> bool:
    """Public mirrors that only serve what their allow-list names, under the upstream's paths."""
    return host.endswith(".m.daocloud.io") or host.endswith(".azk8s.cn")


def hides_private(host: str) -> bool:
    """Registries that answer an anonymous pull of a private repository with "not found"."""
    return host == "ghcr.io" or host == "gitlab.com" or host.endswith(".gitlab.com")


def node_provider(host: str) -> tuple[str, str] | None:
    """(registry label, how the node authenticates) for registries with a kubelet credential provider."""
    for rx, label, how in _NODE_CREDENTIAL_PROVIDERS:
        if rx.match(host):
            return label, how
    return None


def host_of(image: str) -> str:
    """The registry host of an image, even when the reference does not parse."""
    ref = imagelib.parse_image(image)
    if ref:
        return ref.registry
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", image.strip(), flags=re.I)
    first, sep, _ = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return imagelib.DOCKER_HUB


def registry_endpoint(host: str) -> str:
    """Where the runtime actually connects for a registry host."""
    return "registry-1.docker.io" if host == imagelib.DOCKER_HUB else host


def registry_label(host: str) -> str:
    return "Docker Hub (docker.io)" if host == imagelib.DOCKER_HUB else host


# Where CRI-O (containers/image) says it went for an image: "initializing source docker://quay.io/a/b:1",
# "reading manifest 1 in quay.io/a/b", "pinging container registry quay.io".
_TRIED = re.compile(r"initializing source docker://(?P<src>[^\s:/]+(?::\d+)?/[^\s:]+(?::[\w.-]+)?)|"
                    r"reading manifest (?P<tag>\S+) in (?P<repo>[^\s:]+(?::\d+)?/[^\s:]+)|"
                    r"pinging (?:container|docker) registry (?P<host>[^\s:/]+(?::\d+)?)")


def is_short_name(image: str) -> bool:
    """An image without a registry host ("nginx", "bitnami/redis:7"): the runtime decides where it comes from."""
    first, sep, _ = (image or "").partition("/")
    return bool(image) and not (sep and ("." in first or ":" in first or first == "localhost"))


def resolved_reference(image: str, text: str) -> str | None:
    """The fully qualified reference a short name was resolved to, when the error names another registry.

    CRI-O resolves short names through registries.conf (unqualified-search-registries, aliases); with
    ``["docker.io", "quay.io"]`` the error shown can be quay.io's. Only a single registry other than Docker
    Hub counts: a message that names several attempts (or Docker Hub) says nothing new.
    """
    if not is_short_name(image):
        return None
    found: dict[str, str] = {}
    for m in _TRIED.finditer(text or ""):
        if m.group("src"):
            ref = m.group("src")
        elif m.group("repo"):
            ref = f"{m.group('repo')}:{m.group('tag')}" if not m.group("tag").startswith("sha256:") else m.group("repo")
        else:
            ref = m.group("host") + "/"
        host = ref.split("/", 1)[0].lower()
        if not ("." in host or ":" in host or host == "localhost"):
            continue
        host = imagelib.normalize_server(host)
        found.setdefault(host, ref)
    if len(found) != 1:
        return None
    host, ref = next(iter(found.items()))
    if host == imagelib.DOCKER_HUB:
        return None
    if ref.endswith("/"):  # only the host is known: the short name's path on that registry
        path = image.split("@", 1)[0]
        ref = host + "/" + path
    return ref
