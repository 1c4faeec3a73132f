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
