"""Image-pull failures (``image.*``): why the kubelet could not get a container's image.

The family in four steps, one module each:

* ``messages``: read the kubelet's and the runtime's messages (take the
  kubelet's wrapper off, classify the runtime's error through one table);
* ``pull_secrets``: what the pod's pull secrets say about credentials;
* ``pull``: the rule ``image_pull``, which decides the cause per container;
* ``text``: write the finding (title, explanation, suggestions, fix).

``registries`` holds what podfix knows about particular registries.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.rules.images.messages import Cause, Verdict, classify, detect_runtime
from kubectl_podfix.diagnose.rules.images.pull import PULL_WAITING_REASONS, image_pull
from kubectl_podfix.diagnose.rules.images.pull_secrets import SECRET_EVENT
from kubectl_podfix.diagnose.rules.images.registries import hides_private

__all__ = ["CODES", "SUPERSEDES", "RULES", "image_pull", "classify", "Verdict", "Cause", "detect_runtime",
           "PULL_WAITING_REASONS", "SECRET_EVENT", "hides_private"]

CODES: dict[str, str] = {
    "image.invalid-name": "the image reference in the pod spec cannot be parsed (typo, URL scheme, stray characters)",
    "image.never-pull": "imagePullPolicy is Never and the image is not on the node",
    "image.pull-secret-missing": "an imagePullSecret the pod names does not exist, so the pull goes without those credentials",
    "image.auth-failed": "the registry refused the credentials (or their absence) for this repository",
    "image.not-found": "the repository or tag does not exist in the registry (or it is private and no credentials were sent)",
    "image.platform-mismatch": "the image has no variant for the node's OS/architecture",
    "image.rate-limited": "the registry throttled the pull (Docker Hub's pull rate limit, HTTP 429)",
    "image.tls-error": "TLS failed between the node and the registry (untrusted or wrong certificate, HTTP-only registry)",
    "image.registry-unreachable": "the node cannot reach the registry (DNS, connection refused or timed out, proxy, registry 5xx)",
    "image.pull-timeout": "the pull started but did not finish in time (deadline exceeded, cancelled, TLS handshake timeout)",
    "image.node-disk-full": "the node ran out of disk space while storing or unpacking the image",
    "image.pull-failed": "the image could not be pulled and the cause is unknown or uncommon (events expired, corrupt download, inspect error)",
}

# One finding per container; should another family ever report the same
# container's pull failure more vaguely, the specific code wins.
SUPERSEDES: dict[str, frozenset[str]] = {
    "image.pull-secret-missing": frozenset({"image.auth-failed", "image.not-found", "image.pull-failed"}),
}

RULES = (image_pull,)
