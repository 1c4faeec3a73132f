"""The rule ``image_pull``: decide why the kubelet could not get a container's image.

Evidence, freshest first:

1. the container's waiting state. ``ErrImagePull``'s message is the runtime's
   error; ``ImagePullBackOff``'s message is only ``Back-off pulling image "X"``
   before Kubernetes 1.32 and ``Back-off pulling image "X": ErrImagePull:
   <error>`` from 1.32 on (kubernetes PR 127918);
2. the kubelet's events for that container (``Failed``: ``Failed to pull image
   "X": <error>``, ``InspectFailed``, ``ErrImageNeverPull``, and on very old
   kubelets the pod-level ``FailedSync``). Events expire after an hour, so an
   old back-off often has none left;
3. pod-level ``FailedToRetrieveImagePullSecret`` events (kubelet 1.28+), the
   pod's ``spec.imagePullSecrets`` and the redacted Secrets in the snapshot
   (``pull_secrets.py``).

The first piece of evidence that ``messages.classify`` can place decides the
code; the pull secrets may then change it. Ambiguous denials (Docker Hub's
``pull access denied ... may require authorization``/``insufficient_scope``,
GHCR refusing an *anonymous* token) mean "the repository does not exist, or it
is private and you sent no credentials". podfix reports them as
``image.not-found`` when the pod has no credentials for that registry (the
finding says "does not exist or is private" and suggests both ways out) and as
``image.auth-failed`` when a pull secret for that registry was presented.
Official Docker Hub images (``library/...``) are all public, so a denial there
always means not-found (``text.py`` words that). A pull secret the pod names
but that does not exist is the root cause of an auth-ish failure.
"""

from __future__ import annotations

import re
from typing import Iterator

from kubectl_podfix.diagnose.model import Finding, PodContext, dig, event_time, parse_time
from kubectl_podfix.diagnose.rules import common
from kubectl_podfix.diagnose.rules.images.messages import (
    Cause,
    Verdict,
    cause_from_event,
    cause_from_waiting,
    classify,
    failed_sync_container,
    is_pull_noise,
)
from kubectl_podfix.diagnose.rules.images.pull_secrets import secret_facts
from kubectl_podfix.diagnose.rules.images.registries import (
    hides_private,
    host_of,
    node_provider,
    public_only,
    resolved_reference,
)
from kubectl_podfix.diagnose.rules.images.text import Builder
from kubectl_podfix.registry import reference as imagelib

PULL_WAITING_REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError",
    "RegistryUnavailable", "SignatureValidationFailed", "ErrImageNotEnsured",
})
_PULL_EVENT_REASONS = frozenset({"Failed", "BackOff", "InspectFailed", "ErrImageNeverPull", "FailedSync",
                                 "Pulling", "Pulled"})


def image_pull(ctx: PodContext) -> Iterator[Finding]:
    """One finding per container whose image cannot be pulled, ephemeral (debug) containers included."""
    for spec, status, is_init in ctx.containers():
        finding = _diagnose_container(ctx, spec, status, is_init)
        if finding is not None:
            yield finding
    for spec, status, _ in ctx.ephemeral_containers():
        finding = _diagnose_container(ctx, spec, status, False)
        if finding is not None:
            yield as_ephemeral(ctx, finding)


def as_ephemeral(ctx: PodContext, finding: Finding) -> Finding:
    """A debug container's pull failure: never breaks the pod (a warning at most), and says so."""
    if finding.severity == "error":
        finding.severity = "warning"
    finding.fix = None  # the fixers change the workload's template: a debug container is not in it
    # Re-creating the pod to retry the pull would restart the application for a debug session.
    finding.suggestions = [s for s in finding.suggestions if "delete pod" not in s]
    finding.suggestions.append(f"an ephemeral container cannot be removed or changed: start another one with an "
                               f"image the node can pull, kubectl debug -it {ctx.name} -n {ctx.namespace} "
                               f"--image=busybox")
    finding.title += " (ephemeral debug container)"
    finding.explanation = (f"{finding.container} is an ephemeral container (kubectl debug), not part of the "
                           f"application: the app is not affected, but the debug session cannot start "
                           f"(kubectl debug waits for it). " + finding.explanation)
    finding.extra["ephemeral"] = True
    return finding


def _container_events(ctx: PodContext, name: str) -> list[dict]:
    out = []
    for ev in ctx.events:
        reason = ev.get("reason") or ""
        if reason not in _PULL_EVENT_REASONS:
            continue
        path = dig(ev, "involvedObject.fieldPath", "") or ""
        if path:
            if path.endswith(f"{{{name}}}"):
                out.append(ev)
        elif reason == "FailedSync" and failed_sync_container(ev) == name:
            out.append(ev)
    out.sort(key=lambda ev: event_time(ev) or ctx.now)
    return out


def _same_image(a: str | None, b: str) -> bool:
    if not a:
        return True
    if a == b:
        return True
    ra, rb = imagelib.parse_image(a), imagelib.parse_image(b)
    return bool(ra and rb and ra.registry == rb.registry and ra.repository == rb.repository
                and ra.reference == rb.reference)


def _diagnose_container(ctx: PodContext, spec: dict, status: dict | None, is_init: bool) -> Finding | None:
    name = spec.get("name") or ""
    image = spec.get("image") or ""
    reason, message = common.waiting(status)
    if dig(status or {}, "state.running") or dig(status or {}, "state.terminated"):
        return None
    events = _container_events(ctx, name)
    # Events about another image are from before the spec changed: not this attempt.
    causes: list[Cause] = []
    for ev in events:
        c = cause_from_event(ev, ctx.now)
        if c is not None and _same_image(c.image, image):
            causes.append(c)
    last_run = common.terminated(status, last=True)
    since = parse_time(last_run.get("finishedAt")) if last_run else None
    if since is not None:
        fresh = [c for c in causes if (event_time(c.event) or since) >= since]
        causes = fresh or causes
    noise = [ev for ev in events if is_pull_noise(ev)]
    pulled_after = [ev for ev in events if (ev.get("reason") == "Pulled")]

    if reason not in PULL_WAITING_REASONS:
        # Only a container still being created, with fresh pull failures, is ours.
        if reason not in ("", "ContainerCreating") or not causes:
            return None
        newest_fail = max(event_time(c.event) or ctx.now for c in causes)
        if any((event_time(ev) or ctx.now) > newest_fail for ev in pulled_after):
            return None

    waiting_cause = cause_from_waiting(reason, message) if reason in PULL_WAITING_REASONS else None
    ordered: list[Cause] = ([waiting_cause] if waiting_cause else []) + list(reversed(causes))
    chosen: Cause | None = None
    verdict: Verdict | None = None
    for c in ordered:
        v = classify(c.text, c.kubelet_reason)
        if chosen is None:
            chosen, verdict = c, v
        if v.code != "image.pull-failed" or v.kind != "other":
            chosen, verdict = c, v
            break
    if verdict is None:
        # Only the waiting reason is known (no message with a cause, no event left).
        fixed = {"InvalidImageName": "image.invalid-name", "ErrImageNeverPull": "image.never-pull",
                 "RegistryUnavailable": "image.registry-unreachable"}.get(reason)
        verdict = Verdict(fixed, "reason-only") if fixed else Verdict("image.pull-failed", "unknown")

    # A short name may have been resolved to another registry than Docker Hub (CRI-O's search list).
    target = resolved_reference(image, chosen.text if chosen else "") or image
    secrets = secret_facts(ctx, target)
    verdict = settle_refusal(verdict, host_of(target), bool(secrets.covering), chosen.text if chosen else "")
    code = verdict.code
    # A pull secret that does not exist is the root cause of an auth-ish failure.
    # Some registries answer a private repository's anonymous pull with a plain "not found": with the
    # pod's pull secret missing, that is the likelier cause too.
    hidden = code == "image.not-found" and hides_private(host_of(target))
    if secrets.missing and (code in ("image.auth-failed",) or (code == "image.not-found" and verdict.kind == "ambiguous")
                            or hidden or (code == "image.pull-failed" and verdict.kind in ("unknown", "other"))):
        code = "image.pull-secret-missing"
    # An ambiguous denial while credentials for the registry were presented: auth.
    if code == "image.not-found" and verdict.kind == "ambiguous" and secrets.covering:
        code = "image.auth-failed"
    builder = Builder(ctx, spec, status, is_init, reason, message, chosen, verdict, code, secrets, events, noise)
    return builder.build()


def settle_refusal(verdict: Verdict, host: str, covered: bool, text: str) -> Verdict:
    """Decide what a refusal that names no reason means, from who was asked and what was sent.

    A bare 403/"denied" on the manifest (``refused``) and the ambiguous denials (Docker Hub's
    "pull access denied", an anonymous token refused) read the same for a missing repository and for a
    private one pulled without credentials:

    * credentials for the registry were presented: they were refused (auth-failed);
    * a registry where every image is public (registry.k8s.io, mcr.microsoft.com, public mirrors): the
      403 comes from what stands in front of it, not from credentials (auth-failed, kind ``blocked``);
    * a cloud registry whose nodes authenticate themselves (ECR, Artifact Registry/GCR, ACR): its
      repositories are private and the node's identity is what was refused (auth-failed);
    * otherwise: missing or private (not-found, kind ``ambiguous``).
    """
    if verdict.kind not in ("refused", "ambiguous") and not (verdict.code == "image.auth-failed"
                                                              and verdict.kind in ("denied", "blocked")):
        return verdict
    low = text.lower()
    refusal_403 = bool(re.search(r"\b403\b|forbidden|\bdenied\b", low)) and "401" not in low
    if public_only(host) and not covered and (verdict.kind in ("refused", "blocked") or refusal_403):
        return Verdict("image.auth-failed", "blocked", verdict.detail)
    if verdict.kind not in ("refused", "ambiguous"):
        return verdict
    if covered or node_provider(host):
        return Verdict("image.auth-failed", "ambiguous", verdict.detail or verdict.kind)
    return Verdict("image.not-found", "ambiguous", verdict.detail or verdict.kind)
