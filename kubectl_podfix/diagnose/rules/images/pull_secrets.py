"""What the pod's pull secrets say about credentials for one image.

The kubelet sends credentials for a registry only from the pod's
``spec.imagePullSecrets`` (the ServiceAccount's are copied there when the pod
is created), and only from Secrets of type ``kubernetes.io/dockerconfigjson``
or ``kubernetes.io/dockercfg`` whose auths keys match the image. The Secrets in
the snapshot are redacted: their ``podfix.io/registries`` annotation lists the
auths keys they hold. Whether a named Secret is missing comes from the listed
Secrets, or else from the kubelet's pod-level ``FailedToRetrieveImagePullSecret``
event (kubelet 1.28+).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_podfix.diagnose.model import PodContext, dig, event_time
from kubectl_podfix.diagnose.rules import common
from kubectl_podfix.diagnose.rules.images.messages import SECRET_NAMES, clean
from kubectl_podfix.registry import reference as imagelib

SECRET_EVENT = "FailedToRetrieveImagePullSecret"
_DOCKER_SECRET_TYPES = ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg")
_REGISTRIES_ANNOTATION = "podfix.io/registries"


@dataclass
class SecretFacts:
    """The pod's pull secrets, as far as the snapshot shows them, for one image."""

    names: list[str] = field(default_factory=list)  # spec.imagePullSecrets, in order
    listed: bool = False  # Secrets of the namespace were read, so absence means absent
    missing: list[str] = field(default_factory=list)  # known not to exist
    missing_source: str = ""  # "snapshot" or "event"
    event: dict | None = None  # the newest FailedToRetrieveImagePullSecret
    covering: list[tuple[str, str]] = field(default_factory=list)  # (secret, auths key) that match the image
    present: list[str] = field(default_factory=list)
    not_docker: list[tuple[str, str]] = field(default_factory=list)  # (secret, type) the kubelet ignores
    unknown_coverage: list[str] = field(default_factory=list)  # present, but registries not known
    keys: dict[str, list[str]] = field(default_factory=dict)  # secret -> auths keys
    sa_secrets: list[str] = field(default_factory=list)  # the ServiceAccount's imagePullSecrets, when known
    sa_name: str = ""


def secret_facts(ctx: PodContext, image: str) -> SecretFacts:
    """Which of the pod's pull secrets exist, and which hold credentials for ``image``'s registry."""
    facts = SecretFacts()
    facts.names = [s.get("name") for s in dig(ctx.pod, "spec.imagePullSecrets", []) or []
                   if isinstance(s, dict) and s.get("name")]
    facts.listed = ctx.knows("Secret")
    secret_events = [ev for ev in common.events_about(ctx, None, {SECRET_EVENT})]
    if secret_events:
        facts.event = max(secret_events, key=lambda ev: event_time(ev) or ctx.now)
    for name in facts.names:
        secret = ctx.related("Secret", name)
        if secret is None:
            continue
        facts.present.append(name)
        stype = secret.get("type") or ""
        if stype and stype not in _DOCKER_SECRET_TYPES:
            facts.not_docker.append((name, stype))
            continue
        raw = dig(secret, "metadata.annotations", {}).get(_REGISTRIES_ANNOTATION)
        if raw is None:
            facts.unknown_coverage.append(name)
            continue
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        facts.keys[name] = keys
        for key in keys:
            if imagelib.server_matches(key, image):
                facts.covering.append((name, key))
    if facts.listed:
        facts.missing = [n for n in facts.names if n not in facts.present]
        facts.missing_source = "snapshot" if facts.missing else ""
    elif facts.event is not None:
        m = SECRET_NAMES.search(clean(facts.event.get("message")))
        named = [n.strip().strip("<>") for n in (m.group(1).split(",") if m else []) if n.strip()]
        facts.missing = [n for n in named if n not in facts.present] or named
        facts.missing_source = "event" if facts.missing else ""
    sa_name = dig(ctx.pod, "spec.serviceAccountName") or dig(ctx.pod, "spec.serviceAccount") or "default"
    facts.sa_name = sa_name
    sa = ctx.related("ServiceAccount", sa_name)
    if sa is not None:
        facts.sa_secrets = [s.get("name") for s in sa.get("imagePullSecrets") or []
                            if isinstance(s, dict) and s.get("name")]
    return facts
