"""Image-pull failures (``image.*``): why the kubelet could not get a container's image.

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
   pod's ``spec.imagePullSecrets`` and the redacted Secrets in the snapshot,
   whose ``podfix.io/registries`` annotation lists the registry keys they hold.

The runtime's error text decides the cause. containerd, CRI-O (containers/
image) and Docker Engine word the same failure differently, and the
``rpc error: code = ... desc =`` wrapper comes and goes across kubelet and
runtime versions, so matching never depends on it. The patterns are checked
in a deliberate order: the specific, unambiguous failures first (a platform
mismatch says ``code = NotFound`` too, a DNS failure can end in ``i/o
timeout``, a TLS *handshake timeout* is not a certificate problem), the
ambiguous "access denied" family last.

Ambiguous denials (Docker Hub's ``pull access denied ... may require
authorization``/``insufficient_scope``, GHCR refusing an *anonymous* token)
mean "the repository does not exist, or it is private and you sent no
credentials". podfix reports them as ``image.not-found`` when the pod has no
credentials for that registry (the finding says "does not exist or is
private" and suggests both ways out) and as ``image.auth-failed`` when a pull
secret for that registry was presented. Official Docker Hub images
(``library/...``) are all public, so a denial there always means not-found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from kubectl_podfix.diagnose.model import Finding, Fix, PodContext, dig, event_first_time, event_time, parse_time
from kubectl_podfix.diagnose.rules import common
from kubectl_podfix.registry import reference as imagelib

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

PULL_WAITING_REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError",
    "RegistryUnavailable", "SignatureValidationFailed", "ErrImageNotEnsured",
})
_PULL_EVENT_REASONS = frozenset({"Failed", "BackOff", "InspectFailed", "ErrImageNeverPull", "FailedSync",
                                 "Pulling", "Pulled"})
SECRET_EVENT = "FailedToRetrieveImagePullSecret"
_DOCKER_SECRET_TYPES = ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg")
_REGISTRIES_ANNOTATION = "podfix.io/registries"

# --------------------------------------------------------------------------------------------
# Reading the kubelet's messages
# --------------------------------------------------------------------------------------------

_COMBINED = re.compile(r"^\(combined from similar events\):\s*", re.I)
_FAILED_PULL = re.compile(r'^Failed to pull image "([^"]*)":\s*(.*)$', re.S)
_BACKOFF = re.compile(r'^Back-off pulling image "([^"]*)"(?::\s*(.*))?$', re.S)
_ERR_PREFIX = re.compile(r"^(ErrImagePull|RegistryUnavailable|SignatureValidationFailed|ImagePullBackOff|"
                         r"InvalidImageName|ErrImageNeverPull|ImageInspectError):\s*(.*)$", re.S)
_INSPECT = re.compile(r'^Failed to inspect image "([^"]*)":\s*(.*)$', re.S)
_DEFAULT_TAG = re.compile(r'^Failed to apply default image tag "([^"]*)":\s*(.*)$', re.S)
_NEVER = re.compile(r'^Container image "([^"]*)" is not present with pull policy of Never', re.S)
_FAILED_SYNC = re.compile(r'failed to "StartContainer" for "([^"]+)" with (ErrImagePull|ImagePullBackOff|'
                          r'InvalidImageName|ErrImageNeverPull|ImageInspectError|RegistryUnavailable): "(.*)"$', re.S)
_GENERIC_ERROR = re.compile(r"^Error: (ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull|"
                            r"ImageInspectError|RegistryUnavailable|SignatureValidationFailed)\s*$")
_SECRET_NAMES = re.compile(r"Unable to retrieve some image pull secrets \(([^)]*)\)")
_RPC = re.compile(r"rpc error: code = (\w+) desc = ")


def _clean(message: str | None) -> str:
    return _COMBINED.sub("", (message or "").strip())


def _strip_rpc(text: str) -> str:
    return _RPC.sub("", text)


@dataclass
class Cause:
    """One piece of evidence that carries (or may carry) the pull error."""

    text: str  # the runtime's error, without the kubelet's prefix
    image: str | None  # the image the message names, when it names one
    origin: str  # "waiting" or "event"
    quote: str  # the evidence line to show
    event: dict | None = None
    kubelet_reason: str = ""  # ErrImagePull, InvalidImageName, ...


def _cause_from_waiting(reason: str, message: str) -> Cause | None:
    """The cause carried by a waiting state, or None when the message carries none."""
    message = (message or "").strip()
    quote = f"waiting: {reason}" + (f": {message}" if message else "")
    if not message:
        return None
    m = _BACKOFF.match(message)
    if m:
        rest = (m.group(2) or "").strip()
        if not rest:
            return None  # kubelet < 1.32: "Back-off pulling image \"X\"" and nothing else
        e = _ERR_PREFIX.match(rest)
        kind, text = (e.group(1), e.group(2)) if e else ("ErrImagePull", rest)
        return Cause(text, m.group(1), "waiting", quote, kubelet_reason=kind)
    for rx, kind in ((_DEFAULT_TAG, "InvalidImageName"), (_INSPECT, "ImageInspectError"),
                     (_NEVER, "ErrImageNeverPull")):
        m = rx.match(message)
        if m:
            return Cause(message, m.group(1), "waiting", quote, kubelet_reason=kind)
    return Cause(message, None, "waiting", quote, kubelet_reason=reason)


def _cause_from_event(ev: dict, now) -> Cause | None:
    """The cause carried by one kubelet event, or None for events that carry none."""
    reason = ev.get("reason") or ""
    message = _clean(ev.get("message"))
    quote = common.describe_event(ev, now)
    if reason == "Failed":
        m = _FAILED_PULL.match(message)
        if m:
            return Cause(m.group(2), m.group(1), "event", quote, ev, "ErrImagePull")
        m = _DEFAULT_TAG.match(message)
        if m:
            return Cause(message, m.group(1), "event", quote, ev, "InvalidImageName")
        return None
    if reason == "InspectFailed":
        m = _DEFAULT_TAG.match(message)
        if m:
            return Cause(message, m.group(1), "event", quote, ev, "InvalidImageName")
        m = _INSPECT.match(message)
        return Cause(message, m.group(1) if m else None, "event", quote, ev, "ImageInspectError")
    if reason == "ErrImageNeverPull":
        m = _NEVER.match(message)
        return Cause(message, m.group(1) if m else None, "event", quote, ev, "ErrImageNeverPull")
    if reason == "FailedSync":
        m = _FAILED_SYNC.search(message)
        if m and m.group(2) != "ImagePullBackOff":
            return Cause(m.group(3).replace('\\"', '"'), None, "event", quote, ev, m.group(2))
    return None


def _is_pull_noise(ev: dict) -> bool:
    """Pull-related events that carry no cause (BackOff, "Error: ErrImagePull")."""
    reason = ev.get("reason") or ""
    message = _clean(ev.get("message"))
    if reason == "BackOff" and message.startswith("Back-off pulling image"):
        return True
    return reason == "Failed" and bool(_GENERIC_ERROR.match(message))


def _failed_sync_container(ev: dict) -> str | None:
    m = _FAILED_SYNC.search(_clean(ev.get("message")))
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# Classifying an error text
# --------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    code: str
    kind: str  # finer cause inside the code, e.g. "dns", "http-to-https", "ambiguous"
    detail: str = ""  # a fragment worth quoting (platform, status line...)


def _has(text: str, *needles: str) -> bool:
    return any(n in text for n in needles)


_OLD_KUBELET_BOILERPLATE = "this may be because there are no credentials on this request"
_PLATFORM = re.compile(r"no matching manifest for ([\w/.-]+)|architecture (\w+), variant \"?(\w*)\"?, os (\w+)|"
                       r"does not match the specified platform \(([^)]*)\)")
_STATUS_5XX = re.compile(r"\b5\d\d \(?(internal server error|bad gateway|service unavailable|gateway time-?out|"
                         r"service temporarily unavailable)\b|received unexpected http status: 5\d\d|"
                         r"unexpected status (code|from \w+ request to)[^\n]*?: 5\d\d\b|"
                         r"invalid status code from registry 5\d\d|: (bad gateway|service unavailable|gateway time-?out)\s*$")
# Words that only a credentials refusal uses. When one attempt got a 5xx and another a refusal (the old
# kubelet's "[err1, err2]" list), or Docker Engine wrapped the refusal as "API error (500)", the refusal
# is the cause: a 5xx clears itself, a refusal does not.
_AUTH_REFUSAL = re.compile(r"\bunauthorized\b|authentication required|no basic auth credentials|401 unauthorized|"
                           r"incorrect username or password|is not authorized to perform")
# Credentials problems that are not ambiguous even inside Docker Hub's "pull access denied ... may
# require authorization" wording: ECR naming the IAM principal that lacks ecr:BatchGetImage, or a
# registry saying no credentials arrived at all.
_EXPLICIT_AUTH = ("no basic auth credentials", "is not authorized to perform", "incorrect username or password",
                  "invalid username/password")
# A request that failed before any HTTP response arrived ends in EOF right after its URL (Go's
# url.Error: `Get "https://...": EOF`); a body cut off mid-download has no URL in front of it.
_REQUEST_EOF = re.compile(r"\b(get|head|post) \"?https?://[^\s\"]+\"?: (unexpected )?eof\s*$")
# The node's own image store or snapshotter failed while unpacking: nothing about the registry.
_UNPACK = ("failed to prepare extraction snapshot", "hcsshim::", "failed to register layer", "re-exec error",
           "failed to extract layer", "mount callback failed", "failed to create sandbox layer")
_SIGNATURE = ("source image rejected", "is rejected by policy", "signature was required",
              "none of the signatures were accepted", "signature verification failed", "invalid signature",
              "signature validation failed", "no matching signatures")


def classify(text: str, kubelet_reason: str = "") -> Verdict:
    """Map a runtime/kubelet error text to an ``image.*`` code (pure string work)."""
    t = _strip_rpc(text).lower().replace(_OLD_KUBELET_BOILERPLATE, "")
    full = text.lower()
    if kubelet_reason == "ErrImageNeverPull" or "is not present with pull policy of never" in t:
        return Verdict("image.never-pull", "never")
    if kubelet_reason == "InvalidImageName" or _has(t, "failed to apply default image tag",
                                                    "couldn't parse image reference", "couldn't parse image name"):
        return Verdict("image.invalid-name", "unparsable")
    if _has(t, "no registries configured while trying to pull an unqualified image",
            "short-name resolution enforced", "short name mode is enforcing", "returns ambiguous list",
            "did not resolve to an alias and no unqualified-search registries",
            "did not resolve to an alias and no containers-registries.conf"):
        return Verdict("image.invalid-name", "short-name")
    if _has(t, "no match for platform in manifest", "no matching manifest for", "no image found in manifest list",
            "does not match the specified platform", "choosing an image from manifest list",
            "error choosing image instance"):
        m = _PLATFORM.search(t)
        detail = ""
        if m:
            if m.group(1):
                detail = m.group(1)
            elif m.group(2):
                detail = f"{m.group(4)}/{m.group(2)}" + (f"/{m.group(3)}" if m.group(3) else "")
            elif m.group(5):
                detail = m.group(5)
        return Verdict("image.platform-mismatch", "platform", detail)
    if "no space left on device" in t:
        return Verdict("image.node-disk-full", "enospc")
    if _has(t, *_UNPACK):
        return Verdict("image.pull-failed", "unpack")
    if kubelet_reason == "SignatureValidationFailed" or _has(t, *_SIGNATURE):
        return Verdict("image.pull-failed", "signature")
    if "proxy authentication required" in t or re.search(r"\b407\b.{0,3}proxy|status(?: code)?:? 407\b", t):
        return Verdict("image.registry-unreachable", "proxy-auth")
    if "pull qps exceeded" in t:
        # The kubelet's own limiter (registryPullQPS/registryBurst), not the registry.
        return Verdict("image.rate-limited", "kubelet-qps")
    if _has(t, "toomanyrequests", "429 too many requests", "too many requests", "pull rate limit",
            "rate limit exceeded", "rate limited"):
        return Verdict("image.rate-limited", "docker-hub" if _has(t, "docker.com/increase-rate-limit",
                                                                  "docker.io", "registry-1.docker.io") else "429")
    if "tls handshake timeout" in t:
        return Verdict("image.pull-timeout", "tls-handshake-timeout")
    if "server gave http response to https client" in t or "first record does not look like a tls handshake" in t:
        return Verdict("image.tls-error", "http-to-https")
    if _has(t, "x509:", "tls: failed to verify certificate", "certificate signed by unknown authority",
            "certificate has expired", "certificate is valid for", "certificate is not valid for",
            "remote error: tls:", "tls: bad certificate", "tls: handshake failure"):
        kind = "unknown-authority" if "unknown authority" in t else (
            "expired" if "expired" in t else ("hostname" if _has(t, "valid for", "doesn't contain any ip sans",
                                                                "legacy common name field") else "tls"))
        return Verdict("image.tls-error", kind)
    if "proxyconnect tcp" in t:
        # Any other failure on the way to the node's HTTP(S) proxy (EOF, reset, DNS of the proxy host).
        return Verdict("image.registry-unreachable", "connect")
    if _has(t, "no such host", "server misbehaving", "temporary failure in name resolution",
            "no address associated with hostname", "name or service not known") or \
            re.search(r"lookup [^\s:]+( on [^\s]+)?: (read udp [^\s]+: )?(i/o timeout|try again)", t):
        return Verdict("image.registry-unreachable", "dns")
    if _has(t, "connection refused", "no route to host", "network is unreachable", "connection reset by peer",
            "request canceled while waiting for connection", "client.timeout exceeded while awaiting headers",
            "unable to ping registry endpoint", "dial tcp"):
        return Verdict("image.registry-unreachable", "connect")
    if (_STATUS_5XX.search(t) and not _AUTH_REFUSAL.search(t)) or kubelet_reason == "RegistryUnavailable" or \
            "because the registry is unavailable" in t:
        return Verdict("image.registry-unreachable", "server-error")
    if re.search(r"pinging (container|docker) registry [^\s]+: .*(: eof|eof)$", t) or _REQUEST_EOF.search(t):
        return Verdict("image.registry-unreachable", "connect")
    if kubelet_reason == "ErrImageNotEnsured" or "does not have the proper auth" in t:
        return Verdict("image.auth-failed", "not-ensured")
    # The "access denied" family: explicit credentials problems, then the ambiguous denials, then the
    # unambiguous not-found, then the remaining refusals.
    if _has(t, *_EXPLICIT_AUTH):
        return Verdict("image.auth-failed", "denied")
    anonymous_refused = "anonymous token" in t and re.search(r"\b(401|403)\b", t)
    if _has(t, "pull access denied", "may require authorization", "may require 'docker login'",
            "insufficient_scope", "does not exist or no pull access", "requested access to the resource is denied") \
            or anonymous_refused:
        return Verdict("image.not-found", "ambiguous")
    if _has(t, "manifest unknown", "name unknown", "not found: manifest", "does not exist in the registry",
            "repository does not exist", "not found in repository") or \
            re.search(r"manifest for \S+ not found", t) or re.search(r"(^|: )\S+: not found$", t) or \
            re.search(r"\bimage \S+ not found\b", t) or (
                "code = notfound" in full and "not found" in t):
        return Verdict("image.not-found", "missing")
    if _has(t, "401 unauthorized", "403 forbidden", "unauthorized", "authentication required",
            "no basic auth credentials", "incorrect username or password", "invalid username/password",
            "not authorized", "access denied", "denied:", "failed to authorize",
            "failed to fetch oauth token", "please login", "authorization failed", "forbidden"):
        return Verdict("image.auth-failed", "denied")
    if _has(t, "context deadline exceeded", "deadlineexceeded", "context canceled", "i/o timeout",
            "timeout awaiting response headers", "operation timed out", "because of no progress",
            "timed out") or re.search(r"code = (deadlineexceeded|canceled|4) desc", full):
        return Verdict("image.pull-timeout", "deadline")
    if _has(t, "failed commit on ref", "unexpected commit digest", "unexpected commit size", "unexpected eof",
            "short read", "digest mismatch", "digest did not match"):
        return Verdict("image.pull-failed", "corrupt")
    if kubelet_reason == "ImageInspectError" or "failed to inspect image" in t:
        return Verdict("image.pull-failed", "inspect")
    return Verdict("image.pull-failed", "other")


def detect_runtime(text: str, node: dict | None = None) -> str:
    version = (dig(node or {}, "status.nodeInfo.containerRuntimeVersion", "") or "").lower()
    for prefix, name in (("containerd", "containerd"), ("cri-o", "cri-o"), ("docker", "docker")):
        if version.startswith(prefix):
            return name
    t = text.lower()
    if _has(t, "error response from daemon", "api error (500)", "failed to register layer"):
        return "docker"
    if _has(t, "failed to pull and unpack image", "failed to resolve reference", "httpreadseeker",
            "failed to do request", "failed to resolve image", "failed to extract layer"):
        return "containerd"
    if _has(t, "initializing source docker://", "reading manifest", "pinging container registry",
            "pinging docker registry", "error choosing image instance", "choosing an image from manifest list",
            "writing blob", "unable to pull image or oci artifact"):
        return "cri-o"
    return ""


# --------------------------------------------------------------------------------------------
# Pull secrets
# --------------------------------------------------------------------------------------------

@dataclass
class SecretFacts:
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


def _secret_facts(ctx: PodContext, image: str) -> SecretFacts:
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
        m = _SECRET_NAMES.search(_clean(facts.event.get("message")))
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


# --------------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------------

def image_pull(ctx: PodContext) -> Iterator[Finding]:
    for spec, status, is_init in ctx.containers():
        finding = _diagnose_container(ctx, spec, status, is_init)
        if finding is not None:
            yield finding


RULES = (image_pull,)


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
        elif reason == "FailedSync" and _failed_sync_container(ev) == name:
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
        c = _cause_from_event(ev, ctx.now)
        if c is not None and _same_image(c.image, image):
            causes.append(c)
    last_run = common.terminated(status, last=True)
    since = parse_time(last_run.get("finishedAt")) if last_run else None
    if since is not None:
        fresh = [c for c in causes if (event_time(c.event) or since) >= since]
        causes = fresh or causes
    noise = [ev for ev in events if _is_pull_noise(ev)]
    pulled_after = [ev for ev in events if (ev.get("reason") == "Pulled")]

    if reason not in PULL_WAITING_REASONS:
        # Only a container still being created, with fresh pull failures, is ours.
        if reason not in ("", "ContainerCreating") or not causes:
            return None
        newest_fail = max(event_time(c.event) or ctx.now for c in causes)
        if any((event_time(ev) or ctx.now) > newest_fail for ev in pulled_after):
            return None

    waiting_cause = _cause_from_waiting(reason, message) if reason in PULL_WAITING_REASONS else None
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

    secrets = _secret_facts(ctx, image)
    code = verdict.code
    # A pull secret that does not exist is the root cause of an auth-ish failure.
    # Some registries answer a private repository's anonymous pull with a plain "not found": with the
    # pod's pull secret missing, that is the likelier cause too.
    hidden = code == "image.not-found" and hides_private(_host_of(image))
    if secrets.missing and (code in ("image.auth-failed",) or (code == "image.not-found" and verdict.kind == "ambiguous")
                            or hidden or (code == "image.pull-failed" and verdict.kind in ("unknown", "other"))):
        code = "image.pull-secret-missing"
    # An ambiguous denial while credentials for the registry were presented: auth.
    if code == "image.not-found" and verdict.kind == "ambiguous" and secrets.covering:
        code = "image.auth-failed"
    builder = _Builder(ctx, spec, status, is_init, reason, message, chosen, verdict, code, secrets, events, noise)
    return builder.build()


# --------------------------------------------------------------------------------------------
# Writing the finding
# --------------------------------------------------------------------------------------------

_NODE_CREDENTIAL_PROVIDERS = (
    (re.compile(r"^\d+\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"), "Amazon ECR",
     "the node's IAM role (ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer) through the "
     "kubelet's ECR credential provider"),
    (re.compile(r"^([a-z0-9-]+\.)?gcr\.io$|^([a-z0-9-]+-)?docker\.pkg\.dev$"), "Google Artifact Registry/GCR",
     "the node's Google service account (roles/artifactregistry.reader) through the kubelet's GCP credential provider"),
    (re.compile(r"^[a-z0-9]+\.azurecr\.(io|cn|us)$"), "Azure Container Registry",
     "the cluster's kubelet identity with the AcrPull role (az aks update --attach-acr)"),
)


def hides_private(host: str) -> bool:
    """Registries that answer an anonymous pull of a private repository with "not found"."""
    return host == "ghcr.io" or host == "gitlab.com" or host.endswith(".gitlab.com")


def _node_provider(host: str) -> tuple[str, str] | None:
    for rx, label, how in _NODE_CREDENTIAL_PROVIDERS:
        if rx.match(host):
            return label, how
    return None


def _host_of(image: str) -> str:
    """The registry host of an image, even when the reference does not parse."""
    ref = imagelib.parse_image(image)
    if ref:
        return ref.registry
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", image.strip(), flags=re.I)
    first, sep, _ = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return imagelib.DOCKER_HUB


def _endpoint(host: str) -> str:
    """Where the runtime actually connects for a registry host."""
    return "registry-1.docker.io" if host == imagelib.DOCKER_HUB else host


def _registry_label(host: str) -> str:
    return "Docker Hub (docker.io)" if host == imagelib.DOCKER_HUB else host


class _Builder:
    def __init__(self, ctx, spec, status, is_init, reason, message, cause, verdict, code, secrets, events, noise):
        self.ctx, self.spec, self.status, self.is_init = ctx, spec, status, is_init
        self.reason, self.message = reason, message
        self.cause, self.verdict, self.code, self.secrets = cause, verdict, code, secrets
        self.events, self.noise = events, noise
        self.name = spec.get("name") or ""
        self.image = spec.get("image") or ""
        self.ref = imagelib.parse_image(self.image)
        self.host = self.ref.registry if self.ref else _host_of(self.image)
        self.node = dig(ctx.pod, "spec.nodeName") or ""
        self.pod = ctx.name
        self.ns = ctx.namespace
        self.runtime = detect_runtime(cause.text if cause else "", ctx.node())
        self.evidence: list[str] = []
        self.suggestions: list[str] = []
        self._secrets_shown = False

    # -- shared pieces ------------------------------------------------------------------------

    def kubectl(self, *args: str) -> str:
        return common.kubectl(self.ctx, *args)

    def where(self) -> str:
        kind = "init container" if self.is_init else "container"
        return f'{kind} "{self.name}"'

    def repo_path(self) -> str:
        return f"{self.ref.registry}/{self.ref.repository}" if self.ref else self.image

    def secret_command(self, secret: str) -> str:
        server = imagelib.secret_server_key(self.host or imagelib.DOCKER_HUB)
        return (f"kubectl podfix secret {secret} --for {self.pod} -n {self.ns} --docker-server {server} "
                "--docker-username USERNAME --password-stdin --verify --restart")

    def image_fix(self) -> Fix:
        return Fix(id="image", description=f'Pick an image reference for {self.where()} that exists in the '
                   "registry (podfix lists the repository's tags) and update the workload",
                   command=f"kubectl podfix fix image {self.pod} -n {self.ns} --check-registry")

    def secret_fix(self, secret: str, missing: bool) -> Fix:
        what = (f'Create the missing pull secret "{secret}"' if missing
                else f'Create or update the pull secret "{secret}"')
        return Fix(id="pull-secret", description=f"{what} with credentials for {_registry_label(self.host)}, "
                   "check them against the registry, and restart the pod",
                   command=self.secret_command(secret))

    def base_evidence(self) -> None:
        if self.reason:
            self.evidence.append(f"{self.where()} waiting: {self.reason}"
                                 + (f": {self.message.strip()}" if self.message.strip() else ""))
        if self.cause is not None and self.cause.origin == "event":
            self.evidence.append(self.cause.quote)
        elif self.cause is None:
            for ev in self.noise[-2:]:
                self.evidence.append(common.describe_event(ev, self.ctx.now))

    def secret_evidence(self) -> None:
        if self._secrets_shown:
            return
        self._secrets_shown = True
        s = self.secrets
        if not s.names:
            self.evidence.append("the pod has no imagePullSecrets")
        else:
            self.evidence.append("pod imagePullSecrets: " + ", ".join(s.names))
        if s.missing:
            how = ("not in the namespace's Secrets" if s.missing_source == "snapshot"
                   else "reported missing by the kubelet")
            self.evidence.append(f"pull secret(s) {', '.join(s.missing)}: {how}")
        if s.event is not None:
            self.evidence.append(common.describe_event(s.event, self.ctx.now))
            m = _SECRET_NAMES.search(_clean(s.event.get("message")))
            named = [n.strip().strip("<>") for n in (m.group(1).split(",") if m else [])]
            for name in named:
                if s.listed and name in s.present:
                    self.evidence.append(f"secret {name} exists now: the event predates it, and the next pull "
                                         "attempt uses it")
        if s.names and not s.listed and not s.missing:
            self.evidence.append("Secrets were not listed, so whether the pull secrets exist could not be checked")
        for name, key in s.covering:
            self.evidence.append(f'secret {name} covers registry {self.host} (auths key "{key}")')
        for name in s.present:
            if name in s.keys and not any(n == name for n, _ in s.covering):
                keys = ", ".join(s.keys[name]) or "no registry"
                self.evidence.append(f"secret {name} holds credentials for {keys}, not for {self.host}")
        for name, stype in s.not_docker:
            self.evidence.append(f"secret {name} has type {stype}; the kubelet only uses "
                                 "kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg secrets")
        for name in s.unknown_coverage:
            self.evidence.append(f"secret {name} exists; which registries it covers is not known")
        if not s.names and s.sa_secrets:
            self.evidence.append(f"service account {s.sa_name} lists imagePullSecrets {', '.join(s.sa_secrets)}, "
                                 "but the pod has none: they are copied into the pod only when it is created")

    def hub_key_note(self) -> str:
        if self.host != imagelib.DOCKER_HUB:
            return ""
        return (f' For Docker Hub the kubelet looks the credentials up under "{imagelib.DOCKER_HUB_KEY}" '
                '(also accepted: docker.io, index.docker.io, registry-1.docker.io).')

    def since(self) -> str | None:
        times = [event_first_time(ev) for ev in self.events if ev.get("reason") in ("Failed", "InspectFailed",
                                                                                    "ErrImageNeverPull", "BackOff")]
        times = [t for t in times if t is not None]
        if not times:
            return None
        return min(times).strftime("%Y-%m-%dT%H:%M:%SZ")

    def finding(self, title: str, explanation: str, fix: Fix | None) -> Finding:
        if self.secrets.missing:
            self.secret_evidence()  # a missing pull secret is always worth knowing
        extra = {"image": self.image, "registry": self.host, "runtime": self.runtime or None,
                 "cause": self.cause.text if self.cause else None,
                 "cause_source": self.cause.origin if self.cause else None,
                 "kind": self.verdict.kind}
        if self.ref:
            extra["repository"] = self.ref.repository
            extra["reference"] = self.ref.reference
        if self.secrets.names:
            extra["pull_secrets"] = list(self.secrets.names)
        if self.secrets.missing:
            extra["missing_secrets"] = list(self.secrets.missing)
        if self.secrets.covering:
            extra["covering_secrets"] = sorted({n for n, _ in self.secrets.covering})
        if self.verdict.detail:
            extra["detail"] = self.verdict.detail
        extra = {k: v for k, v in extra.items() if v not in (None, "", [])}
        explanation = re.sub(r"\s{2,}", " ", explanation).strip()
        return Finding(code=self.code, severity="error", container=self.name, title=title,
                       explanation=explanation, evidence=self.evidence, suggestions=self.suggestions,
                       fix=fix, since=self.since(), extra=extra)

    def cause_sentence(self) -> str:
        if self.cause is None:
            return ""
        where = "the container's waiting message" if self.cause.origin == "waiting" else "the kubelet's last pull event"
        return f" The error, from {where}: {_strip_rpc(self.cause.text).strip()}"

    # -- per code -----------------------------------------------------------------------------

    def build(self) -> Finding:
        self.base_evidence()
        method = getattr(self, "_" + self.code.split(".", 1)[1].replace("-", "_"))
        return method()

    def _invalid_name(self) -> Finding:
        problems = _name_problems(self.image)
        short = self.verdict.kind == "short-name"
        if short:
            title = f'Image "{self.image}" is a short name the node\'s runtime cannot resolve'
            explanation = ("The runtime (CRI-O/containers-image) has no unqualified-search registries for short "
                           "image names, or its short-name mode refuses an ambiguous one. Write the full "
                           "reference with the registry host, e.g. docker.io/library/nginx:1.27." + self.cause_sentence())
            self.suggestions += [f"use a fully qualified image, e.g. docker.io/{self.ref.repository if self.ref else self.image}",
                                 "or configure unqualified-search-registries in /etc/containers/registries.conf on the nodes"]
        else:
            title = f'Image name "{self.image}" is not a valid image reference'
            explanation = ("The kubelet could not parse the image field, so it never contacted a registry. "
                           "A reference is [host[:port]/]path[:tag][@sha256:digest], lowercase path, no scheme, "
                           "one tag." + (" Problem: " + "; ".join(problems) + "." if problems else "")
                           + self.cause_sentence())
            self.suggestions += [f"fix the image in the workload's pod template: {self.kubectl('get', 'pod', self.pod, '-o', 'jsonpath={..image}')}",
                                 "check templated values (Helm/kustomize variables that rendered empty, 'None', or a tag appended twice)"]
        self.evidence.append(f'image field: {self.image!r}')
        return self.finding(title, explanation, None)

    def _never_pull(self) -> Finding:
        node = self.node or "the node"
        title = f'Image "{self.image}" is not on node {node} and imagePullPolicy is Never'
        explanation = ("With imagePullPolicy: Never the kubelet only uses images already in the node's container "
                       "runtime store and never pulls. The image is not there — typical when it was built or "
                       "loaded into a different runtime or node (e.g. a local Docker Engine while the cluster uses "
                       "containerd, or only one node of several)." + self.cause_sentence())
        self.suggestions += [
            "load the image into every node's runtime (kind load docker-image / minikube image load / "
            "ctr -n k8s.io images import), or push it to a registry",
            "or set imagePullPolicy: IfNotPresent (or Always) so the kubelet can pull it",
        ]
        if self.node:
            self.suggestions.append(f"list the images on the node: crictl images | grep {self.ref.repository.split('/')[-1] if self.ref else self.image}  (on {self.node})")
        return self.finding(title, explanation, None)

    def _pull_secret_missing(self) -> Finding:
        s = self.secrets
        missing = s.missing
        names = ", ".join(f'"{n}"' for n in missing)
        plural = "s" if len(missing) > 1 else ""
        title = (f'Pull secret{plural} {names} do{"" if plural else "es"} not exist; '
                 f'"{self.image}" is pulled without {"them" if plural else "it"}')
        checked = ("The namespace's Secrets were listed and " if s.missing_source == "snapshot"
                   else "The kubelet reported (FailedToRetrieveImagePullSecret) that ")
        explanation = (f"{checked}the pod's imagePullSecrets name{'' if plural else 's'} {names}, which "
                       f"do{'' if plural else 'es'} not exist in namespace {self.ns}. The kubelet does not stop on "
                       "a missing pull secret: it pulls without those credentials. "
                       + (f"{_registry_label(self.host)} then refused the pull." + self.cause_sentence()
                          if self.cause is not None else
                          "The pull failed; its error is no longer visible (the kubelet's events expire after an "
                          "hour), but pulling without the credentials this pod was meant to use is the likely cause.")
                       + " Secrets are per namespace: a secret with that name in another namespace does not count.")
        self.secret_evidence()
        target = missing[0]
        self.suggestions += [
            self.secret_command(target),
            f"or with kubectl: kubectl create secret docker-registry {target} --docker-server="
            f"{imagelib.secret_server_key(self.host or imagelib.DOCKER_HUB)} --docker-username=USERNAME "
            f"--docker-password=<token> -n {self.ns}",
            f"check the name: {self.kubectl('get', 'secrets', '--field-selector', 'type=kubernetes.io/dockerconfigjson')}",
        ]
        return self.finding(title, explanation, self.secret_fix(target, missing=True))

    def _auth_failed(self) -> Finding:
        s = self.secrets
        label = _registry_label(self.host)
        title = f'{label} refused to let the node pull "{self.image}"'
        provider = _node_provider(self.host)
        parts = [f"The registry answered the pull of {self.repo_path()} with an authorization error."]
        if s.covering:
            covering = ", ".join(sorted({n for n, _ in s.covering}))
            parts.append(f"The pod's pull secret {covering} holds credentials for {self.host}, so they were sent "
                         "and rejected: the password/token is wrong or expired, the account has no pull access to "
                         "this repository, or (registries that hide private repositories) the repository does not exist.")
        elif s.names and not s.listed and not s.missing:
            parts.append(f"The pod names imagePullSecrets ({', '.join(s.names)}), but the Secrets were not read, so "
                         f"whether one of them holds credentials for {self.host} could not be checked: see the "
                         "commands below.")
        elif s.names:
            parts.append(f"The pod has imagePullSecrets ({', '.join(s.names)}) but none of them "
                         f"{'is known to cover' if s.unknown_coverage else 'covers'} {self.host}, so no credentials "
                         "were sent for this registry.")
        else:
            parts.append(f"The pod has no imagePullSecrets, so the kubelet passed no credentials for {self.host}.")
        cause_text = (self.cause.text if self.cause else "").lower()
        if not s.covering and "oauth token" in cause_text and "anonymous" not in cause_text:
            parts.append("The runtime still presented credentials (it asked for an OAuth token with them), so they "
                         "come from the node's runtime configuration or a credential provider, and were rejected.")
        if provider:
            parts.append(f"For {provider[0]} the node itself can authenticate through {provider[1]}; "
                         "check that before adding a pull secret.")
        if self.verdict.kind == "ambiguous":
            parts.append("The registry's answer cannot tell a missing repository from a private one.")
        if "is not authorized to perform" in cause_text:
            parts.append("The registry named the identity it saw and the permission it lacks (e.g. "
                         "ecr:BatchGetImage): grant it in the IAM policy or the repository policy. ECR gives the "
                         "same answer for a repository that does not exist in that account, so check the name too.")
        if self.host and "blobs/" in (self.cause.text if self.cause else ""):
            parts.append("The refusal came while downloading a layer (the manifest was readable): often a proxy "
                         "or storage/VPC endpoint policy in front of the registry's blob storage.")
        explanation = " ".join(parts) + self.hub_key_note() + self.cause_sentence()
        self.secret_evidence()
        secret = (sorted({n for n, _ in s.covering})[0] if s.covering else "regcred")
        self.suggestions.append(self.secret_command(secret))
        self.suggestions.append(f"test the credentials from a workstation: crane auth login {self.host} -u USERNAME "
                                f"--password-stdin && crane manifest {self.image}")
        if provider:
            self.suggestions.append(f"check the node's registry access ({provider[0]}): {provider[1]}")
        if not s.names and s.sa_secrets:
            self.suggestions.append(f"the service account {s.sa_name} has pull secrets the pod lacks: re-create the "
                                    f"pod (kubectl delete pod {self.pod} -n {self.ns}) so admission copies them")
        return self.finding(title, explanation, self.secret_fix(secret, missing=False))

    def _not_found(self) -> Finding:
        s = self.secrets
        ref = self.ref
        tag = ref.reference if ref else ""
        library = bool(ref and ref.registry == imagelib.DOCKER_HUB and ref.repository.startswith("library/"))
        ambiguous = self.verdict.kind == "ambiguous" and not library
        if ambiguous:
            title = f'Image "{self.image}" does not exist in {self.repo_path()}, or it is private'
            explanation = (f"The registry {_registry_label(self.host)} denied access to {self.repo_path()} and its "
                           "answer does not say whether the repository is missing or private. ")
            if s.names:
                explanation += (f"None of the pod's pull secrets ({', '.join(s.names)}) is known to cover "
                                f"{self.host}, so the request went without credentials. ")
            else:
                explanation += f"The pod has no pull secret for {self.host}, so the request went without credentials. "
            explanation += ("Either the name is wrong (typo, missing organisation or registry prefix, an image "
                            "that was never pushed) or the repository is private and needs a pull secret.")
        else:
            title = f'Image "{self.image}" does not exist in {self.repo_path()}'
            if library and self.verdict.kind == "ambiguous":
                explanation = (f"{self.repo_path()} would be an official Docker Hub image, and those are all public, "
                               "so Docker Hub's 'pull access denied / may require authorization' answer here almost "
                               "always means there is no such repository: check the spelling, or add the "
                               "organisation (e.g. bitnami/redis instead of redis-bitnami). ")
            else:
                explanation = (f"The registry has no manifest for {tag!r} in {self.repo_path()}: the tag or digest "
                               "does not exist (typo, not pushed yet, deleted, or the repository name is wrong). ")
                if not s.covering and hides_private(self.host):
                    explanation += ("This registry also answers 'not found' for private repositories when no "
                                    "credentials are sent. ")
        explanation += self.hub_key_note() if ambiguous else ""
        explanation += self.cause_sentence()
        self.secret_evidence()
        repo_ref = self.repo_path()
        self.suggestions += [
            f"list the repository's tags: crane ls {repo_ref}   (or: skopeo list-tags docker://{repo_ref})",
            f"check the exact reference: crane manifest {self.image}",
        ]
        if ambiguous:
            self.suggestions.append("if the repository is private: " + self.secret_command("regcred"))
        return self.finding(title, explanation, self.image_fix())

    def _platform_mismatch(self) -> Finding:
        arch = dig(self.ctx.node() or {}, "status.nodeInfo.architecture") or ""
        osname = dig(self.ctx.node() or {}, "status.nodeInfo.operatingSystem") or ""
        platform = self.verdict.detail or (f"{osname}/{arch}" if arch else "")
        node = self.node or "the node"
        target = platform or "the node's platform"
        title = (f'Image "{self.image}" has no variant for {target}'
                 + (f" (node {self.node})" if self.node else ""))
        explanation = (f"The image exists, but its manifest list has no entry for the OS/architecture of {node}"
                       + (f" ({platform})" if platform else "") + ". The runtime words this as 'not found' "
                       "(containerd: 'no match for platform in manifest'), which is not a missing tag. "
                       "Use a multi-arch tag, an image built for this architecture, or schedule the pod onto "
                       "matching nodes (nodeSelector kubernetes.io/arch)." + self.cause_sentence())
        self.suggestions += [
            f"see which platforms the image has: crane manifest {self.image} | jq '.manifests[].platform'   "
            f"(or: docker manifest inspect {self.image})",
            "or schedule it onto nodes of an architecture the image has, e.g. nodeSelector: {kubernetes.io/arch: amd64}",
        ]
        if self.node:
            self.suggestions.append(f"kubectl get node {self.node} -o jsonpath='{{.status.nodeInfo.architecture}}'")
        return self.finding(title, explanation, self.image_fix())

    def _rate_limited(self) -> Finding:
        hub = self.host == imagelib.DOCKER_HUB or self.verdict.kind == "docker-hub"
        if self.verdict.kind == "kubelet-qps":
            node = self.node or "the node"
            title = f'The kubelet on {node} throttled its own image pulls (pull QPS exceeded) for "{self.image}"'
            explanation = ("The registry was not asked: the kubelet limits how many pulls it starts per second "
                           "(KubeletConfiguration registryPullQPS, default 5, with registryBurst 10) and refused "
                           "this one. It happens when many pods start on one node at once (a mass reschedule, "
                           "evictions). It clears by itself on the next back-off; raise registryPullQPS (0 means "
                           "no limit) if it keeps happening." + self.cause_sentence())
            self.suggestions += [
                (f"kubectl get --raw /api/v1/nodes/{self.node}/proxy/configz   (registryPullQPS, registryBurst)"
                 if self.node else "kubectl get --raw /api/v1/nodes/<node>/proxy/configz"),
                f"kubectl get events -n {self.ns} --field-selector involvedObject.name={self.pod} -w",
            ]
            return self.finding(title, explanation, None)
        if hub:
            title = f'Docker Hub pull rate limit reached while pulling "{self.image}"'
            who = (f"The pod sends Docker Hub credentials (secret {', '.join(sorted({n for n, _ in self.secrets.covering}))}), "
                   "so that account's own limit was reached. " if self.secrets.covering else
                   "The pod sends no Docker Hub credentials, so the anonymous limit applies. ")
            explanation = ("Docker Hub limits anonymous pulls per source IP (a whole cluster behind one NAT shares "
                           "it) and, more generously, pulls per authenticated account over a rolling window; it "
                           "answered 429 Too Many Requests. " + who + "Authenticate the pulls with a Docker Hub "
                           "account in a pull secret, pull through a mirror/pull-through cache, or copy the image "
                           "to your own registry." + self.hub_key_note() + self.cause_sentence())
        else:
            title = f'Registry {self.host} rate-limited the pull of "{self.image}"'
            explanation = ("The registry answered 429 Too Many Requests. Authenticated pulls usually get a higher "
                           "limit; a pull-through cache or mirror avoids repeated pulls." + self.cause_sentence())
        self.secret_evidence()
        self.suggestions += [
            self.secret_command("regcred"),
            "configure a registry mirror / pull-through cache on the nodes (containerd hosts.toml, CRI-O registries.conf)",
            "copy the image to a registry you control: crane copy " + self.image + " <your-registry>/<repo>:<tag>",
            "the kubelet keeps retrying with back-off (at most 5 minutes between attempts); it recovers once the limit resets",
        ]
        return self.finding(title, explanation, None)

    def _tls_error(self) -> Finding:
        kind = self.verdict.kind
        node = self.node or "the node"
        if kind == "http-to-https":
            title = f"Registry {self.host} speaks plain HTTP but the runtime uses HTTPS"
            explanation = (f"The runtime on {node} tried HTTPS and the registry answered in plain HTTP. Either "
                           "serve the registry over TLS, or declare it insecure/plain-HTTP in the runtime's "
                           "registry configuration on every node (containerd: /etc/containerd/certs.d/"
                           f"{self.host}/hosts.toml with server = \"http://{self.host}\"; CRI-O: insecure = true "
                           "in registries.conf; Docker: insecure-registries)." + self.cause_sentence())
        else:
            text = self.cause.text if self.cause else ""
            low = text.lower()
            via_proxy = "proxyconnect" in low
            # The host whose certificate failed: a proxy, or a blob/CDN host the registry redirected to.
            m = re.search(r'https?://([^/\s"]+)[^\s"]*"?: (?:tls: failed to verify certificate: )?x509', text)
            served_by = m.group(1) if m else ""
            other_host = served_by if served_by and served_by not in (self.host, _endpoint(self.host)) else ""
            whose = ("the HTTPS proxy's certificate" if via_proxy else
                     f"the certificate of {other_host} (where {self.host} sent the runtime to download the image)"
                     if other_host else "the registry's certificate")
            m = re.search(r"certificate is valid for (.+?), not ([^\s,\"]+)", text)
            if kind == "expired":
                title = f"TLS certificate of registry {self.host} has expired (or node {node}'s clock is wrong)"
                reason = ("has expired or is not yet valid. Renew it on the server; if it is in fact valid, the "
                          f"clock of {node} is wrong (check timedatectl/chrony)")
            elif kind == "hostname":
                title = f"TLS certificate presented for registry {self.host} is for another host name"
                reason = ("was issued for other names" + (f" ({m.group(1)}, not {m.group(2)})" if m else "")
                          + ": the name resolves to the wrong server (DNS, ingress default certificate) or a "
                          "TLS-intercepting proxy/gateway answered in its place")
            else:
                title = (f"TLS certificate of the proxy in front of registry {self.host} is not trusted by node {node}"
                         if via_proxy else f"TLS certificate of registry {self.host} is not trusted by node {node}")
                reason = {"unknown-authority": "is signed by a CA the node does not trust (private CA or a "
                                               "TLS-intercepting proxy)"}.get(kind, "was rejected")
            if kind in ("expired", "hostname"):
                fix = (" Installing a CA on the nodes does not help here: the certificate itself (or the node's clock"
                       " or DNS) must be fixed." if kind == "expired" else
                       " Installing a CA on the nodes does not help here: make the name reach the real registry (DNS,"
                       " ingress, proxy bypass via NO_PROXY) or serve a certificate that covers it.")
            else:
                fix = (f" The runtime on {node}, not the pod, must trust it: install the CA on every node (containerd: "
                       f"/etc/containerd/certs.d/{self.host}/ca.crt or the system trust store, then restart the "
                       "runtime; CRI-O/Docker: /etc/containers/certs.d or "
                       f"/etc/docker/certs.d/{self.host}/ca.crt).")
            explanation = f"{whose[0].upper() + whose[1:]} {reason}.{fix}" + self.cause_sentence()
        self.suggestions += [
            f"inspect the certificate from the node: openssl s_client -connect {self.host if ':' in self.host else self.host + ':443'} -servername {self.host.split(':')[0]} </dev/null",
            f"from the node: crictl pull {self.image}",
        ]
        return self.finding(title, explanation, None)

    def _registry_unreachable(self) -> Finding:
        kind = self.verdict.kind
        node = self.node or "the node"
        text = self.cause.text if self.cause else ""
        endpoint = _endpoint(self.host)
        # The host the failing request went to: a redirect target (blob CDN, token service, mirror) when
        # the registry sent the runtime elsewhere.
        hosts = re.findall(r'\b(?:get|head|post) "?https?://([^/\s"]+)', text, re.I)
        redirected = hosts[-1] if hosts and hosts[-1].lower() not in (endpoint.lower(), self.host.lower()) else ""
        if kind == "connect" and redirected:
            endpoint = redirected
        m = re.search(r"lookup ([^\s:]+)(?: on ([^\s]+?))?:", text)
        looked_up = m.group(1) if m else endpoint.split(":")[0]
        dns_server = m.group(2) if m and m.group(2) else ""
        if kind == "dns":
            title = f"Node {node} cannot resolve registry host {looked_up}"
            explanation = (f"The runtime on {node} could not resolve {looked_up}"
                           + (f" (asking DNS server {dns_server})" if dns_server else "") + ". The runtime resolves "
                           "registry names with the node's own resolver (/etc/resolv.conf on the host), not with the "
                           "pod's DNS settings, so a cluster Service name only works if the node can resolve it. "
                           "This is not a missing image: the registry was never asked.")
        elif kind == "server-error":
            title = f'Registry {self.host} is failing (server error) for "{self.image}"'
            explanation = ("The registry, or a proxy/mirror in front of it, answered with a 5xx server error (or the "
                           "kubelet reported it unavailable). This is usually transient; the kubelet retries on its "
                           "back-off, at most 5 minutes apart.")
        elif kind == "proxy-auth" or "proxyconnect" in text.lower():
            m = re.search(r"proxyconnect tcp: (?:dial tcp )?([^\s:]+:\d+)", text)
            proxy = m.group(1) if m else ""
            title = (f"The HTTP(S) proxy of node {node}'s runtime" + (f" ({proxy})" if proxy else "")
                     + (" requires authentication" if kind == "proxy-auth" else " cannot be reached")
                     + f" while pulling from {endpoint}")
            explanation = (f"The runtime on {node} sends registry traffic through the proxy set in its environment "
                           "(HTTPS_PROXY in the containerd/CRI-O/docker systemd unit), and "
                           + ("the proxy answered 407 Proxy Authentication Required: put the proxy credentials in "
                              "the proxy URL (http://user:password@proxy:port) or allow the registry without "
                              "authentication." if kind == "proxy-auth" else
                              "the connection to that proxy failed. A proxy on 127.0.0.1 means the node's own "
                              "loopback, not your workstation; fix the proxy address or add the registry to NO_PROXY.")
                           + " The registry itself was never asked.")
        else:
            title = f"Node {node} cannot connect to registry {endpoint}"
            explanation = (f"The runtime on {node} could not open a connection to {endpoint} (refused, no route, "
                           "timed out, reset, closed before any answer (EOF), or a proxy/firewall in the way). This "
                           "is not a missing image: the registry never answered."
                           + (f" {endpoint} is where {self.host} sent the runtime (token service, mirror or "
                              "download host): the node must reach it too." if redirected else "")
                           + (" 'localhost' in an image name means the node itself, not your workstation."
                              if endpoint.split(":")[0] in ("localhost", "127.0.0.1") else ""))
        explanation += self.cause_sentence()
        self.suggestions += [
            f"from the node: nslookup {looked_up}; curl -v https://{endpoint}/v2/",
            f"from the node: crictl pull {self.image}",
            "check the runtime's proxy settings (HTTPS_PROXY/NO_PROXY in the containerd/CRI-O/docker systemd unit) "
            "and the egress firewall",
        ]
        if self.node:
            self.suggestions.append(f"kubectl describe node {self.node}")
        return self.finding(title, explanation, None)

    def _pull_timeout(self) -> Finding:
        tls = self.verdict.kind == "tls-handshake-timeout"
        endpoint = _endpoint(self.host)
        title = (f"TLS handshake with registry {endpoint} timed out" if tls
                 else f'Pulling "{self.image}" timed out')
        if tls:
            explanation = (f"The node reached {endpoint} but the TLS handshake did not complete in time: a slow or "
                           "filtering proxy/firewall, MTU problems, or an overloaded registry. It is a network "
                           "timeout, not a certificate problem.")
        else:
            explanation = ("The pull started but was cancelled or hit a deadline before it finished. The kubelet "
                           "itself puts no time limit on a pull; the runtime does when a download makes no progress "
                           "(containerd's image_pull_progress_timeout, cri-dockerd's --image-pull-progress-deadline), "
                           "so the usual causes are a large image on a slow link or a proxy/registry that stalls a "
                           "layer download.")
        explanation += self.cause_sentence()
        self.suggestions += [
            f"from the node: time crictl pull {self.image}   (does it finish, and how long does it take?)",
            f"check the image size: crane manifest {self.image}",
            "use a registry or mirror closer to the cluster, a smaller image, or pre-pull large images on the nodes",
        ]
        if self.node:
            self.suggestions.append(f"kubectl describe node {self.node}")
        return self.finding(title, explanation, None)

    def _node_disk_full(self) -> Finding:
        node = self.node or "the node"
        title = f'Node {node} ran out of disk space while pulling "{self.image}"'
        explanation = ("Writing or unpacking the image's layers failed with 'no space left on device'. The "
                       "runtime's storage (/var/lib/containerd, /var/lib/containers, /var/lib/docker, or CRI-O's "
                       "temporary directory /var/tmp) is full. The kubelet's image garbage collection starts at "
                       "--image-gc-high-threshold (85% by default) and may not free enough for a large image."
                       + self.cause_sentence())
        self.suggestions += [
            (f"kubectl describe node {self.node}   (DiskPressure condition, ephemeral-storage)" if self.node
             else "kubectl describe node <node>"),
            "on the node: df -h /var/lib/containerd /var/lib/containers /var/tmp; crictl rmi --prune",
            "grow the node's disk or use a smaller image",
        ]
        return self.finding(title, explanation, None)

    def _pull_failed(self) -> Finding:
        kind = self.verdict.kind
        node = self.node or "the node"
        if kind in ("unknown", "reason-only") or self.cause is None:
            title = f'Pulling "{self.image}" failed; the cause is no longer visible'
            parts = [f"The {self.where()} is in {self.reason or 'a pull failure'}, but no message with the pull "
                     "error is left."]
            if self.reason == "ImagePullBackOff":
                parts.append("Before Kubernetes 1.32 the ImagePullBackOff message is only 'Back-off pulling image' "
                             "without the cause, and the kubelet's 'Failed to pull image' events expire after an "
                             "hour (the API server's --event-ttl).")
            if "events" in self.ctx.missing:
                parts.append("The pod's events could not be read.")
            parts.append("podfix does not guess: the next pull attempt will show the cause. The kubelet retries "
                         "on its own back-off (10s doubling to at most 5 minutes); the container stays waiting "
                         "meanwhile.")
            explanation = " ".join(parts)
            self.suggestions += [
                f"watch the next attempt: kubectl get events -n {self.ns} --field-selector involvedObject.name={self.pod} -w",
                f"or re-create the pod to pull immediately: kubectl delete pod {self.pod} -n {self.ns}   "
                "(if a controller owns it)",
                f"or pull by hand on the node: crictl pull {self.image}",
            ]
        elif kind == "inspect":
            title = f'The runtime on {node} could not inspect image "{self.image}"'
            explanation = ("ImageInspectError: the kubelet asked the runtime whether the image is present and the "
                           "runtime failed. The image store on the node is inconsistent or the runtime is "
                           "unhealthy — not a registry problem." + self.cause_sentence())
            self.suggestions += [f"on the node: crictl inspecti {self.image}; crictl rmi {self.image}",
                                 "restart the runtime on the node, then delete the pod",
                                 f"kubectl describe node {self.node or '<node>'}"]
        elif kind == "unpack":
            title = f'The runtime on {node} could not unpack "{self.image}" into its image store'
            explanation = ("The layers were downloaded, but storing or unpacking them on the node failed (the "
                           "snapshotter or layer store: a missing parent snapshot, a remote snapshotter such as "
                           "SOCI/stargz, or Windows' hcsshim layer import). This is the node's image store, not "
                           "the registry or the image name." + self.cause_sentence())
            self.suggestions += [f"on the node: crictl rmi {self.image} (remove the partial image) and let the kubelet retry",
                                 "check the runtime's log on the node (journalctl -u containerd / crio / docker) "
                                 "and restart the runtime if its store is inconsistent",
                                 f"kubectl describe node {self.node or '<node>'}"]
        elif kind == "corrupt":
            title = f'The download of "{self.image}" was corrupted or cut off'
            explanation = ("A layer arrived with the wrong size or digest, or the connection ended early: a proxy "
                           "or mirror truncating large layers, or a corrupt partial download left in the runtime's "
                           "content store." + self.cause_sentence())
            self.suggestions += [f"on the node: crictl rmi {self.image} and retry; containerd: ctr -n k8s.io content prune references",
                                 "check proxies/mirrors between the node and the registry"]
        elif kind == "signature":
            title = f'Signature verification of "{self.image}" failed'
            explanation = ("The node's image signature policy (/etc/containers/policy.json for CRI-O, or a "
                           "sigstore/cosign verification) rejected the image: it is unsigned, signed with another key, "
                           "or the key the policy names is missing on the node. Nothing is wrong with the registry "
                           "or the name." + self.cause_sentence())
            self.suggestions += ["check the runtime's policy.json and the image's signatures (cosign verify)"]
        else:
            title = f'Pulling "{self.image}" failed'
            explanation = "The runtime reported an error podfix does not classify." + self.cause_sentence()
            self.suggestions += [f"from the node: crictl pull {self.image}",
                                 f"kubectl get events -n {self.ns} --field-selector involvedObject.name={self.pod}"]
        self.secret_evidence()
        return self.finding(title, explanation, None)


def _name_problems(image: str) -> list[str]:
    out = []
    if image != image.strip() or any(c.isspace() for c in image):
        out.append("it contains whitespace")
    odd = [c for c in image if ord(c) > 126 or (ord(c) < 32)]
    if odd:
        out.append("it contains invisible or non-ASCII characters (" + ", ".join(f"U+{ord(c):04X}" for c in odd[:3]) + ")")
    if re.match(r"^[a-z][a-z0-9+.-]*://", image, re.I):
        out.append("it starts with a URL scheme; drop the 'https://'-style prefix")
    if image.startswith("/"):
        out.append("it starts with '/': the registry part is empty (an unset variable?)")
    name = re.sub(r"^[a-z][a-z0-9+.-]*://", "", image.split("@", 1)[0], flags=re.I)
    first, _, rest = name.partition("/")
    after_host = rest if ("." in first or ":" in first or first == "localhost") and rest else name
    if after_host.count(":") > 1:
        out.append("it has more than one ':tag' (a tag appended twice?)")
    path = name.split("/", 1)[1] if "/" in name and ("." in name.split("/")[0] or ":" in name.split("/")[0]) else name
    path = path.split(":")[0]
    if path != path.lower():
        out.append("the repository path has uppercase letters (must be lowercase)")
    if image in ("None:None", "None", "null", "<no value>") or image.startswith("None:"):
        out.append("it looks like an unset template value")
    return out
