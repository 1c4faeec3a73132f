"""The check pod's manifest (pure): pinned to the failing pod's node, harmless, recognisable.

* ``spec.nodeName`` = the failing pod's node (no scheduler involved), a toleration for every taint
  of that node, ``dnsPolicy: Default`` so names are resolved with the node's own resolv.conf, as the
  container runtime does;
* Pod Security ``restricted``: non-root (65534), no privilege escalation, every capability dropped,
  RuntimeDefault seccomp, read-only root filesystem; no ServiceAccount token, no service links;
* small requests and limits, ``restartPolicy: Never`` and a hard ``activeDeadlineSeconds``;
* labels that say it is podfix's (``LEFTOVER_SELECTOR`` and ``is_check_pod`` find leftovers, also those of
  podfix versions before the rename, labelled ``podfix.io/probe``).

The image: one already on the node (``status.images``) from ``KNOWN_IMAGES``, so the check pod
itself needs no pull, else ``DEFAULT_IMAGE``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.nodecheck.script import SCRIPT
from kubectl_podfix.registry import reference as imagelib

MANAGED_BY = "app.kubernetes.io/managed-by"
CHECK_LABEL = "podfix.io/node-check"
OLD_CHECK_LABEL = "podfix.io/probe"  # the label before the rename to node check
FOR_LABEL = "podfix.io/for"
FOR_ANNOTATION = "podfix.io/for-pod"
REGISTRY_ANNOTATION = "podfix.io/registry"
# one LIST finds the check pods of this version and of earlier ones (OLD_CHECK_LABEL): is_check_pod filters
LEFTOVER_SELECTOR = f"{MANAGED_BY}=kubectl-podfix"
CONTAINER = "check"
DEFAULT_IMAGE = "busybox:1.36"
DEADLINE = 90  # activeDeadlineSeconds
STEP_TIMEOUT = 6  # seconds per check inside the script
NOBODY = 65534
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")

# Repositories with a POSIX shell and network tools, best first: (repository, what it adds)
KNOWN_IMAGES: tuple[tuple[str, str], ...] = (
    ("docker.io/nicolaka/netshoot", "openssl, curl, dig, nc"),
    ("docker.io/curlimages/curl", "curl (verifies the certificate chain), busybox nslookup/nc"),
    ("docker.io/library/alpine", "busybox nslookup/nc/wget: DNS, TCP, HTTP; no certificate chain details"),
    ("docker.io/library/busybox", "busybox nslookup/nc/wget: DNS, TCP, HTTP; no certificate chain details"),
)


def _repo(name: str) -> str | None:
    """registry/repository of an image name (tag or digest reference), None when it does not parse."""
    ref = imagelib.parse_image(name)
    return f"{ref.registry}/{ref.repository}" if ref else None


def cached_images(node: dict | None) -> list[str]:
    """Every name (tag or digest reference) the node reports for its images."""
    out: list[str] = []
    for img in dig(node, "status.images", []) or []:
        for name in img.get("names") or [] if isinstance(img, dict) else []:
            if isinstance(name, str):
                out.append(name)
    return out


def choose_image(node: dict | None, override: str | None = None) -> tuple[str, str]:
    """(image, why) for the check pod: ``override``, else a known image cached on the node, else the default."""
    if override:
        return override, "chosen with --image"
    names = cached_images(node)
    for repo, tools in KNOWN_IMAGES:
        tagged = [n for n in names if "@" not in n and _repo(n) == repo]
        if tagged:
            return tagged[0], f"already on the node ({tools}): the check pod needs no pull"
        digested = [n for n in names if "@" in n and _repo(n.split("@")[0]) == repo]
        if digested:
            return digested[0], f"already on the node ({tools}): the check pod needs no pull"
    return DEFAULT_IMAGE, ("not on the node yet (the node reports none of " +
                           ", ".join(r.split("/", 1)[1].removeprefix("library/") for r, _ in KNOWN_IMAGES) +
                           "): the check pod pulls it from Docker Hub; busybox tests DNS, TCP and HTTP but not the "
                           "certificate chain (use --image curlimages/curl:8.10.1 or nicolaka/netshoot for that)")


_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class BadEndpoint(ValueError):
    """A registry host or port that is not a plain host name, IP literal or port number."""


def valid_host(host: str) -> bool:
    """An RFC 1123 host name (labels of letters, digits and inner hyphens, at most 253 characters) or an
    IPv4/IPv6 literal: nothing a shell tool could read as an option ("-e...") or anything else."""
    import ipaddress

    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    return all(_LABEL.fullmatch(label) for label in labels)


def registry_endpoint(image: str) -> tuple[str, int]:
    """(host, port) the runtime connects to for ``image`` (Docker Hub's API host for docker.io), strictly
    validated (``valid_host``, port 1-65535): they end up as arguments of nslookup, nc, openssl, curl.
    Raises BadEndpoint otherwise."""
    registry = imagelib.registry_of(image) or imagelib.DOCKER_HUB
    if registry == imagelib.DOCKER_HUB:
        return "registry-1.docker.io", 443
    host, port = imagelib._split_port(registry)
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    if not valid_host(host) or (bracketed and ":" not in host) or (":" in host and not bracketed):
        raise BadEndpoint(f"the image's registry host {host!r} is not a valid host name or IP address")
    if port == "":
        return host, 443
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise BadEndpoint(f"the image's registry port {port!r} is not a port number (1-65535)")
    return host, int(port)


def tolerations(node: dict | None) -> list[dict]:
    """A toleration for each of the node's taints (Equal with its value, Exists without one)."""
    out: list[dict] = []
    for taint in dig(node, "spec.taints", []) or []:
        if not isinstance(taint, dict) or not taint.get("key"):
            continue
        tol: dict[str, Any] = {"key": taint["key"]}
        if taint.get("value"):
            tol.update(operator="Equal", value=taint["value"])
        else:
            tol["operator"] = "Exists"
        if taint.get("effect"):
            tol["effect"] = taint["effect"]
        if tol not in out:
            out.append(tol)
    return out


def proxy_env(pod: dict, container: str | None) -> list[dict]:
    """The failing container's proxy variables, literal values only (never valueFrom: no Secret reads)."""
    spec = pod.get("spec") or {}
    containers = [c for key in ("initContainers", "containers") for c in spec.get(key) or [] if isinstance(c, dict)]
    chosen = [c for c in containers if c.get("name") == container] or containers
    out: list[dict] = []
    for c in chosen[:1]:
        for env in c.get("env") or []:
            if isinstance(env, dict) and env.get("name") in PROXY_VARS and isinstance(env.get("value"), str) \
                    and env["value"]:
                out.append({"name": env["name"], "value": env["value"]})
    return out


def _label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63]
    return value.strip("-_.") or "pod"


def is_check_pod(pod: dict) -> bool:
    """A check pod of podfix: managed by it and labelled as a check pod (today's label or the old one)."""
    labels = dig(pod, "metadata.labels") or {}
    return labels.get(MANAGED_BY) == "kubectl-podfix" and \
        any(labels.get(key) == "true" for key in (CHECK_LABEL, OLD_CHECK_LABEL))


def check_pod_name(suffix: str | None = None) -> str:
    return f"podfix-node-check-{suffix or secrets.token_hex(3)}"


def build(pod: dict, node: dict | None, *, image: str, target_image: str, container: str | None = None,
          name: str | None = None, deadline: int = DEADLINE, step_timeout: int = STEP_TIMEOUT) -> dict:
    """The check Pod for ``pod`` (failing to pull ``target_image``), on the pod's node."""
    meta = pod.get("metadata") or {}
    pod_name = meta.get("name") or ""
    host, port = registry_endpoint(target_image)
    env = [{"name": "REGISTRY_HOST", "value": host}, {"name": "REGISTRY_PORT", "value": str(port)},
           {"name": "CHECK_STEP_TIMEOUT", "value": str(step_timeout)}] + proxy_env(pod, container)
    spec: dict[str, Any] = {
        "nodeName": dig(pod, "spec.nodeName"),
        "restartPolicy": "Never",
        "activeDeadlineSeconds": deadline,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "dnsPolicy": "Default",
        "terminationGracePeriodSeconds": 1,
        "securityContext": {"runAsNonRoot": True, "runAsUser": NOBODY, "runAsGroup": NOBODY,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": CONTAINER,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", SCRIPT],
            "env": env,
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": NOBODY},
        }],
    }
    tols = tolerations(node)
    if tols:
        spec["tolerations"] = tols
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name or check_pod_name(),
            "namespace": meta.get("namespace") or "default",
            "labels": {MANAGED_BY: "kubectl-podfix", CHECK_LABEL: "true", FOR_LABEL: _label_value(pod_name)},
            "annotations": {FOR_ANNOTATION: pod_name, REGISTRY_ANNOTATION: f"{host}:{port}",
                            "podfix.io/image": target_image},
        },
        "spec": spec,
    }
