"""Reading the kubelet's and the runtime's image-pull messages.

Two layers of text. The kubelet wraps the runtime's error in its own words
(``Failed to pull image "X": <error>``, ``Back-off pulling image "X":
ErrImagePull: <error>``, ``failed to "StartContainer" for "app" with
ErrImagePull: "<error>"``...): ``cause_from_waiting`` and ``cause_from_event``
take the wrapper off and keep the error as a ``Cause``.

The runtime's error text then decides the cause: ``classify`` maps it to an
``image.*`` code through the ``CAUSES`` table. containerd, CRI-O (containers/
image) and Docker Engine word the same failure differently, and the
``rpc error: code = ... desc =`` wrapper comes and goes across kubelet and
runtime versions, so matching never depends on it. The rows are checked in a
deliberate order: the specific, unambiguous failures first (a platform
mismatch says ``code = NotFound`` too, a DNS failure can end in ``i/o
timeout``, a TLS *handshake timeout* is not a certificate problem), the
ambiguous "access denied" family last.

Nothing here looks at the pod: these are pure string functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.diagnose.rules import common

# --------------------------------------------------------------------------------------------
# The kubelet's wrappers
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
# FailedToRetrieveImagePullSecret: "Unable to retrieve some image pull secrets (a, b); attempting to ..."
SECRET_NAMES = re.compile(r"Unable to retrieve some image pull secrets \(([^)]*)\)")
_RPC = re.compile(r"rpc error: code = (\w+) desc = ")

# A waiting message other than the back-off one: (its wording, the kubelet reason it stands for).
_WAITING_FORMS = ((_DEFAULT_TAG, "InvalidImageName"), (_INSPECT, "ImageInspectError"), (_NEVER, "ErrImageNeverPull"))


def clean(message: str | None) -> str:
    """An event message without the "(combined from similar events)" prefix."""
    return _COMBINED.sub("", (message or "").strip())


def strip_rpc(text: str) -> str:
    """The error without its ``rpc error: code = ... desc =`` wrappers."""
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


def cause_from_waiting(reason: str, message: str) -> Cause | None:
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
    for rx, kind in _WAITING_FORMS:
        m = rx.match(message)
        if m:
            return Cause(message, m.group(1), "waiting", quote, kubelet_reason=kind)
    return Cause(message, None, "waiting", quote, kubelet_reason=reason)


def cause_from_event(ev: dict, now) -> Cause | None:
    """The cause carried by one kubelet event, or None for events that carry none."""
    reason = ev.get("reason") or ""
    message = clean(ev.get("message"))
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


def is_pull_noise(ev: dict) -> bool:
    """Pull-related events that carry no cause (BackOff, "Error: ErrImagePull")."""
    reason = ev.get("reason") or ""
    message = clean(ev.get("message"))
    if reason == "BackOff" and message.startswith("Back-off pulling image"):
        return True
    return reason == "Failed" and bool(_GENERIC_ERROR.match(message))


def failed_sync_container(ev: dict) -> str | None:
    """The container an old kubelet's pod-level FailedSync event is about."""
    m = _FAILED_SYNC.search(clean(ev.get("message")))
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# Classifying the runtime's error text
# --------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    code: str
    kind: str  # finer cause inside the code, e.g. "dns", "http-to-https", "ambiguous"
    detail: str = ""  # a fragment worth quoting (platform, status line...)


def _has(text: str, *needles: str) -> bool:
    return any(n in text for n in needles)


_OLD_KUBELET_BOILERPLATE = "this may be because there are no credentials on this request"
_PLATFORM = re.compile(r"no matching manifest for ([\w/.()-]+)|architecture (\w+), variant \"?(\w*)\"?, os (\w+)|"
                       r"does not match the specified platform \(([^)]*)\)")
# Docker Engine on Windows (and on Linux, the reverse): the image's OS, not its architecture.
_IMAGE_OS = re.compile(r'image operating system \\?"?(\w+)\\?"? cannot be used on this platform')
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
                  "invalid username/password", "artifactregistry.repositories.downloadartifacts",
                  "unauthenticated request",
                  # ECR: a pull secret made from `aws ecr get-login-password` (valid 12 hours) that went stale,
                  # or an expired or revoked STS session (portainer#6764, kubernetes#69141)
                  "authorization token has expired", "security token included in the request is invalid",
                  "security token included in the request is expired")
# A request that failed before any HTTP response arrived ends in EOF right after its URL (Go's
# url.Error: `Get "https://...": EOF`); a body cut off mid-download has no URL in front of it.
_REQUEST_EOF = re.compile(r"\b(get|head|post) \"?https?://[^\s\"]+\"?: (unexpected )?eof\s*$")
# The node's own image store or snapshotter failed while unpacking: nothing about the registry.
_UNPACK = ("failed to prepare extraction snapshot", "hcsshim::", "failed to register layer", "re-exec error",
           "failed to extract layer", "mount callback failed", "failed to create sandbox layer",
           "failed to unpack image on snapshotter")
_SIGNATURE = ("source image rejected", "is rejected by policy", "signature was required",
              "none of the signatures were accepted", "signature verification failed", "invalid signature",
              "signature validation failed", "no matching signatures")


# Matchers that need more than one look at the text. Each gets the error lowercased without its rpc
# wrapper (``t``) and the whole error lowercased (``full``).

def _server_error(t: str, full: str) -> bool:
    return bool(_STATUS_5XX.search(t) and not _AUTH_REFUSAL.search(t))


def _anonymous_refused(t: str, full: str) -> bool:
    """GHCR and others refusing an anonymous token: missing or private, like Docker Hub's denial."""
    return bool("anonymous token" in t and re.search(r"\b(401|403)\b", t))


# A registry refusing the manifest (or the repository) with a bare 403/"denied" that names no reason:
# Docker `Head https://ghcr.io/v2/a/b/manifests/1: denied` / `...: denied: denied` / `...: Forbidden`,
# containerd `unexpected status from HEAD request to https://.../manifests/1: 403 Forbidden`, GitLab
# `denied: access forbidden`, CRI-O `reading manifest 1 in host/a/b: denied: ...`. Like Docker Hub's
# "pull access denied", it does not tell a missing repository from a private one (pull.py decides).
_MANIFEST_REFUSAL = re.compile(
    r"(/manifests/\S*?|reading manifest \S+ in \S+|pulling from host \S+ failed with status code \[manifests[^\]]*\])"
    r"\"?:? (403 forbidden|forbidden|denied(: (denied|access forbidden|forbidden))?)\s*$")


def _bare_refusal(t: str, full: str) -> bool:
    return bool(_MANIFEST_REFUSAL.search(t.strip().rstrip(".")))


def _not_found_rpc(t: str, full: str) -> bool:
    return "code = notfound" in full and "not found" in t


def _deadline_rpc(t: str, full: str) -> bool:
    return bool(re.search(r"code = (deadlineexceeded|canceled|4) desc", full))


# Kinds read off the text once a row matched: (kind, detail).

def _platform(t: str) -> tuple[str, str]:
    os_m = _IMAGE_OS.search(t)
    if os_m:
        return "os", os_m.group(1)
    m = _PLATFORM.search(t)
    detail = ""
    if m:
        if m.group(1):
            detail = m.group(1)
            # Docker 24+: "windows(10.0.17763)/amd64" -> "windows/amd64 10.0.17763", as older Dockers wrote it.
            v = re.match(r"^(\w+)\(([\d.]+)\)(/[\w/]+)$", detail)
            if v:
                detail = f"{v.group(1)}{v.group(3)} {v.group(2)}"
        elif m.group(2):
            detail = f"{m.group(4)}/{m.group(2)}" + (f"/{m.group(3)}" if m.group(3) else "")
        elif m.group(5):
            detail = m.group(5)
    return "platform", detail


def _rate_limiter(t: str) -> tuple[str, str]:
    return ("docker-hub" if _has(t, "docker.com/increase-rate-limit", "docker.io", "registry-1.docker.io")
            else "429"), ""


def _certificate_problem(t: str) -> tuple[str, str]:
    kind = "unknown-authority" if "unknown authority" in t else (
        "expired" if "expired" in t else ("hostname" if _has(t, "valid for", "doesn't contain any ip sans",
                                                            "legacy common name field") else "tls"))
    return kind, ""


Matcher = Union[str, re.Pattern, Callable[[str, str], bool]]
Kind = Union[str, Callable[[str], tuple]]

# What the error says -> the cause, first matching row wins. A row matches when the kubelet's reason is
# one of its reasons, or when one of its matchers is in the error text: a string is a lowercase
# substring, a regex is searched, a function decides. The kind is fixed, or read off the text.
CAUSES: tuple[tuple[tuple[str, ...], tuple[Matcher, ...], str, Kind], ...] = (
    # kubelet reasons, matchers, code, kind
    (("ErrImageNeverPull",), ("is not present with pull policy of never",), "image.never-pull", "never"),
    (("InvalidImageName",), ("failed to apply default image tag", "couldn't parse image reference",
                             "couldn't parse image name"), "image.invalid-name", "unparsable"),
    ((), ("no registries configured while trying to pull an unqualified image", "short-name resolution enforced",
          "short name mode is enforcing", "returns ambiguous list",
          "did not resolve to an alias and no unqualified-search registries",
          "did not resolve to an alias and no containers-registries.conf"), "image.invalid-name", "short-name"),
    ((), ("no match for platform in manifest", "no matching manifest for", "no image found in manifest list",
          "does not match the specified platform", "choosing an image from manifest list",
          "error choosing image instance", _IMAGE_OS), "image.platform-mismatch", _platform),
    ((), ("no space left on device",), "image.node-disk-full", "enospc"),
    ((), _UNPACK, "image.pull-failed", "unpack"),
    (("SignatureValidationFailed",), _SIGNATURE, "image.pull-failed", "signature"),
    ((), ("proxy authentication required", re.compile(r"\b407\b.{0,3}proxy|status(?: code)?:? 407\b")),
     "image.registry-unreachable", "proxy-auth"),
    # The kubelet's own limiter (registryPullQPS/registryBurst), not the registry.
    ((), ("pull qps exceeded",), "image.rate-limited", "kubelet-qps"),
    ((), ("toomanyrequests", "429 too many requests", "too many requests", "pull rate limit", "rate limit exceeded",
          "rate limited"), "image.rate-limited", _rate_limiter),
    ((), ("tls handshake timeout",), "image.pull-timeout", "tls-handshake-timeout"),
    ((), ("server gave http response to https client", "first record does not look like a tls handshake"),
     "image.tls-error", "http-to-https"),
    ((), ("x509:", "tls: failed to verify certificate", "certificate signed by unknown authority",
          "certificate has expired", "certificate is valid for", "certificate is not valid for", "remote error: tls:",
          "tls: bad certificate", "tls: handshake failure"), "image.tls-error", _certificate_problem),
    # Any other failure on the way to the node's HTTP(S) proxy (EOF, reset, DNS of the proxy host).
    ((), ("proxyconnect tcp",), "image.registry-unreachable", "connect"),
    ((), ("no such host", "server misbehaving", "temporary failure in name resolution",
          "no address associated with hostname", "name or service not known",
          re.compile(r"lookup [^\s:]+( on [^\s]+)?: (read udp [^\s]+: )?(i/o timeout|try again)")),
     "image.registry-unreachable", "dns"),
    ((), ("connection refused", "no route to host", "network is unreachable", "connection reset by peer",
          "request canceled while waiting for connection", "client.timeout exceeded while awaiting headers",
          "unable to ping registry endpoint", "dial tcp"), "image.registry-unreachable", "connect"),
    (("RegistryUnavailable",), (_server_error, "because the registry is unavailable"),
     "image.registry-unreachable", "server-error"),
    ((), (re.compile(r"pinging (container|docker) registry [^\s]+: .*(: eof|eof)$"), _REQUEST_EOF),
     "image.registry-unreachable", "connect"),
    (("ErrImageNotEnsured",), ("does not have the proper auth",), "image.auth-failed", "not-ensured"),
    # The "access denied" family: explicit credentials problems, then the ambiguous denials, then the
    # unambiguous not-found, then the remaining refusals.
    ((), _EXPLICIT_AUTH, "image.auth-failed", "denied"),
    ((), ("pull access denied", "may require authorization", "may require 'docker login'", "insufficient_scope",
          "does not exist or no pull access", "requested access to the resource is denied", _anonymous_refused),
     "image.not-found", "ambiguous"),
    # A 403 page from a proxy, CDN or firewall in front of the registry (HTML where the registry API
    # answers JSON): not the registry judging credentials.
    ((), ("error parsing http 403 response body",),
     "image.auth-failed", "blocked"),
    # A web page where the registry API answers JSON: not a registry at that address (a web server, a wrong
    # port or path), or a proxy, captive portal or firewall page in between.
    ((), (re.compile(r"error parsing http \d+ response body: invalid character '<'"),
          re.compile(r"unexpected media type text/html")), "image.registry-unreachable", "html"),
    # Google: the project in the path has no Container Registry (wrong project id, or GCR turned off).
    ((), ("enable the google container registry api", "containerregistry.googleapis.com",
          re.compile(r"project '[^']*' not found or deleted")), "image.not-found", "gcr-project"),
    # Quay: a tag past its expiry (quay.expires-after) or deleted.
    ((), ("was deleted or has expired",), "image.not-found", "missing"),
    ((), ("manifest unknown", "name unknown", "not found: manifest", "does not exist in the registry",
          "repository does not exist", "not found in repository", re.compile(r"manifest for \S+ not found"),
          re.compile(r"(^|: )\S+: not found$"), re.compile(r"\bimage \S+ not found\b"), _not_found_rpc),
     "image.not-found", "missing"),
    ((), (re.compile(r"/manifests/\S+:? 404 not found\s*$"),), "image.not-found", "missing"),
    ((), (_bare_refusal,), "image.not-found", "refused"),
    ((), ("401 unauthorized", "403 forbidden", "unauthorized", "authentication required", "no basic auth credentials",
          "incorrect username or password", "invalid username/password", "not authorized", "access denied",
          "denied:", "failed to authorize", "failed to fetch oauth token", "please login", "authorization failed",
          "forbidden"), "image.auth-failed", "denied"),
    ((), ("context deadline exceeded", "deadlineexceeded", "context canceled", "net/http: request canceled",
          "i/o timeout",
          "timeout awaiting response headers", "operation timed out", "because of no progress", "timed out",
          _deadline_rpc), "image.pull-timeout", "deadline"),
    ((), ("failed commit on ref", "unexpected commit digest", "unexpected commit size", "unexpected eof",
          "short read", "digest mismatch", "digest did not match"), "image.pull-failed", "corrupt"),
    (("ImageInspectError",), ("failed to inspect image",), "image.pull-failed", "inspect"),
)


def _matches(matcher: Matcher, t: str, full: str) -> bool:
    if isinstance(matcher, str):
        return matcher in t
    if isinstance(matcher, re.Pattern):
        return bool(matcher.search(t))
    return matcher(t, full)


def classify(text: str, kubelet_reason: str = "") -> Verdict:
    """Map a runtime/kubelet error text to an ``image.*`` code (pure string work)."""
    t = strip_rpc(text).lower().replace(_OLD_KUBELET_BOILERPLATE, "")
    full = text.lower()
    for reasons, matchers, code, kind in CAUSES:
        if kubelet_reason in reasons or any(_matches(m, t, full) for m in matchers):
            if callable(kind):
                return Verdict(code, *kind(t))
            return Verdict(code, kind)
    return Verdict("image.pull-failed", "other")


# --------------------------------------------------------------------------------------------
# Which runtime wrote the error
# --------------------------------------------------------------------------------------------

# Node.status.nodeInfo.containerRuntimeVersion prefix -> runtime.
_RUNTIME_VERSIONS = (("containerd", "containerd"), ("cri-o", "cri-o"), ("docker", "docker"))
# Without the Node: words only one runtime uses -> runtime.
_RUNTIME_WORDS = (
    ("docker", ("error response from daemon", "api error (500)", "failed to register layer")),
    ("containerd", ("failed to pull and unpack image", "failed to resolve reference", "httpreadseeker",
                    "failed to do request", "failed to resolve image", "failed to extract layer")),
    ("cri-o", ("initializing source docker://", "reading manifest", "pinging container registry",
               "pinging docker registry", "error choosing image instance", "choosing an image from manifest list",
               "writing blob", "unable to pull image or oci artifact")),
)


def detect_runtime(text: str, node: dict | None = None) -> str:
    """The runtime behind an error: "containerd", "cri-o", "docker", or "" when neither node nor text says."""
    version = (dig(node or {}, "status.nodeInfo.containerRuntimeVersion", "") or "").lower()
    for prefix, name in _RUNTIME_VERSIONS:
        if version.startswith(prefix):
            return name
    t = text.lower()
    for name, needles in _RUNTIME_WORDS:
        if _has(t, *needles):
            return name
    return ""
