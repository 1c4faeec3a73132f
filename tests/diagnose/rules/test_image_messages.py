"""Reading image-pull messages (kubectl_podfix/diagnose/rules/images/messages.py): which cause an error
text names, whatever runtime or kubelet wrote it. The whole rule on real texts is in test_images.py."""

from __future__ import annotations

import pytest

from kubectl_podfix.diagnose.rules.images.messages import classify


@pytest.mark.parametrize("text,code", [
    ("no match for platform in manifest: not found", "image.platform-mismatch"),
    ("rpc error: code = Unknown desc = Error response from daemon: Get https://registry-1.docker.io/v2/: "
     "net/http: TLS handshake timeout", "image.pull-timeout"),
    ("Get https://r.example.com/v2/: dial tcp 10.0.0.1:443: i/o timeout", "image.registry-unreachable"),
    ("failed to do request: Head \"https://r.example.com/v2/a/manifests/1\": x509: certificate has expired or is "
     "not yet valid", "image.tls-error"),
    ("reading manifest v1 in quay.io/org/app: manifest unknown", "image.not-found"),
    ("initializing source docker://quay.io/org/app:v1: reading manifest v1 in quay.io/org/app: unauthorized: "
     "authentication required", "image.auth-failed"),
    ("writing blob: storing blob to file \"/var/tmp/storage1/2\": write /var/tmp/storage1/2: no space left on device",
     "image.node-disk-full"),
    ("Error response from daemon: unauthorized: incorrect username or password", "image.auth-failed"),
    ("something nobody has seen before", "image.pull-failed"),
])
def test_classify_snippets(text, code):
    assert classify(text).code == code


@pytest.mark.parametrize("text,code,kind", [
    # A proxy asking for its own credentials is not the registry refusing the pull.
    ('failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": '
     "Proxy Authentication Required", "image.registry-unreachable", "proxy-auth"),
    ('Get "https://r.example.com/v2/": proxyconnect tcp: dial tcp 10.0.0.9:3128: connect: connection refused',
     "image.registry-unreachable", "connect"),
    ('failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": '
     "proxyconnect tcp: x509: certificate signed by unknown authority", "image.tls-error", "unknown-authority"),
    # Docker Engine's "API error (500)" wraps any daemon error; the refusal inside decides.
    ("API error (500): Get https://1.dkr.ecr.eu-west-1.amazonaws.com/v2/zre/manifests/latest: no basic auth "
     "credentials", "image.auth-failed", "denied"),
    # One attempt got a 5xx, the other a refusal: the refusal is the cause.
    ("[Get https://a.azurecr.io/v2/x/manifests/1: received unexpected HTTP status: 500 Internal Server Error, "
     "Get https://a.azurecr.io/v2/x/manifests/1: unauthorized: authentication required]", "image.auth-failed", "denied"),
    ("initializing source docker://quay.io/a/b:1: Requesting bearer token: invalid status code from registry 500 "
     "(Internal Server Error)", "image.registry-unreachable", "server-error"),
    ('Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": Get "https://auth.docker.io/token": '
     "Bad Gateway", "image.registry-unreachable", "server-error"),
    # EOF right after a URL: no response at all. EOF while reading a layer: a cut-off download.
    ("Error response from daemon: Get https://registry-1.docker.io/v2/: unexpected EOF",
     "image.registry-unreachable", "connect"),
    ("failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://cdn.example.com/blob\": EOF",
     "image.registry-unreachable", "connect"),
    ("writing blob: happened during read: unexpected EOF", "image.pull-failed", "corrupt"),
    # Credentials problems stay auth even inside the ambiguous "pull access denied" wording.
    ("pull access denied, repository does not exist or may require authorization: authorization failed: "
     "no basic auth credentials", "image.auth-failed", "denied"),
    ("pull access denied for 1.dkr.ecr.us-west-2.amazonaws.com/a, repository does not exist or may require "
     "'docker login': denied: User: arn:aws:iam::1:user/u is not authorized to perform: ecr:BatchGetImage on "
     "resource: x", "image.auth-failed", "denied"),
    # The node's snapshotter "not found" is not a missing image.
    ("rpc error: code = NotFound desc = failed to pull and unpack image \"a/b:1\": failed to prepare extraction "
     "snapshot \"extract-1 sha256:aa\": parent snapshot sha256:bb does not exist: not found", "image.pull-failed",
     "unpack"),
    ("failed to extract layer sha256:aa: hcsshim::ImportLayer failed in Win32: The system cannot find the path "
     "specified. (0x3): unknown", "image.pull-failed", "unpack"),
    ("failed to extract layer sha256:aa: write /var/lib/containerd/x: no space left on device",
     "image.node-disk-full", "enospc"),
    # containers/image signature policy rejections.
    ("Source image rejected: A signature was required, but no signature exists", "image.pull-failed", "signature"),
    ("Source image rejected: Running image docker://quay.io/a/b:latest is rejected by policy.",
     "image.pull-failed", "signature"),
])
def test_classify_precedence_of_new_variants(text, code, kind):
    v = classify(text)
    assert (v.code, v.kind) == (code, kind)


@pytest.mark.parametrize("text,code,kind", [
    ('failed to do request: Head "https://x.io/v2/a/manifests/1": proxyconnect tcp: EOF',
     "image.registry-unreachable", "connect"),
    ("unexpected status from HEAD request to https://x.io/v2/a/manifests/1: 504 Gateway Time-out",
     "image.registry-unreachable", "server-error"),
    ("failed to copy: httpReadSeeker: failed open: unexpected status code https://x.io/v2/a/blobs/sha256:aa: "
     "503 Service Unavailable", "image.registry-unreachable", "server-error"),
    ("x509: cannot validate certificate for 10.0.0.5 because it doesn't contain any IP SANs", "image.tls-error",
     "hostname"),
    ('short-name "nginx" did not resolve to an alias and no unqualified-search registries are defined in '
     '"/etc/containers/registries.conf"', "image.invalid-name", "short-name"),
    # The kubelet's own pull limiter (registryPullQPS): mapped to rate-limited, explained as the kubelet's.
    ("pull QPS exceeded", "image.rate-limited", "kubelet-qps"),
])
def test_classify_more_variants(text, code, kind):
    v = classify(text)
    assert (v.code, v.kind) == (code, kind)


def test_image_names_do_not_trigger_signature_or_unpack_words():
    # The error text carries the image name; a repository called "cosign" is still just not found.
    v = classify('failed to resolve reference "gcr.io/projectsigstore/cosign:v9": '
                 "gcr.io/projectsigstore/cosign:v9: not found")
    assert v.code == "image.not-found"


@pytest.mark.parametrize("text,code,kind", [
    # A bare refusal of the manifest names no reason: pull.py decides between missing/private and auth.
    ("Error response from daemon: Head https://ghcr.io/v2/a/b/manifests/v1: denied", "image.not-found", "refused"),
    ('Error response from daemon: Head "https://ghcr.io/v2/a/b/manifests/v1": denied: denied', "image.not-found",
     "refused"),
    ("failed to resolve reference \"r.example.com/a:1\": unexpected status from HEAD request to "
     "https://r.example.com/v2/a/manifests/1: 403 Forbidden", "image.not-found", "refused"),
    ('Head "https://europe-west3-docker.pkg.dev/v2/p/images/a/manifests/v4.0.0": Forbidden', "image.not-found",
     "refused"),
    ("Get https://gitlab.example.com/v2/a/b/manifests/latest: denied: access forbidden", "image.not-found", "refused"),
    # ...but not a refusal that says why.
    ('Head "https://europe-docker.pkg.dev/v2/p/r/a/manifests/1": denied: Permission '
     '"artifactregistry.repositories.downloadArtifacts" denied on resource '
     '"projects/p/locations/europe/repositories/r" '
     "(or it may not exist)", "image.auth-failed", "denied"),
    ('Head "https://r.example.com/v2/a/manifests/1": 401 Unauthorized', "image.auth-failed", "denied"),
    # An HTML 403 page is a proxy/CDN/firewall, not the registry.
    ("Error response from daemon: error parsing HTTP 403 response body: invalid character '<' looking for beginning "
     "of value: \"<html>403 Forbidden</html>\"", "image.auth-failed", "blocked"),
    ("Get https://gcr.io/v2/p/a/manifests/latest: denied: Please enable or contact project owners to enable the "
     "Google Container Registry API in Cloud Console", "image.not-found", "gcr-project"),
    # Docker Engine refusing an image for its OS (not its architecture).
    ('image operating system "linux" cannot be used on this platform', "image.platform-mismatch", "os"),
    ('image operating system "windows" cannot be used on this platform', "image.platform-mismatch", "os"),
])
def test_classify_refusals(text, code, kind):
    v = classify(text)
    assert (v.code, v.kind) == (code, kind)


@pytest.mark.parametrize("host,covered,text,code,kind", [
    ("ghcr.io", False, "manifests/1: denied", "image.not-found", "ambiguous"),
    ("ghcr.io", True, "manifests/1: denied", "image.auth-failed", "ambiguous"),
    ("123.dkr.ecr.us-east-1.amazonaws.com", False, "manifests/1: 403 Forbidden", "image.auth-failed", "ambiguous"),
    ("myacr.azurecr.io", False, "failed to fetch anonymous token: 401", "image.auth-failed", "ambiguous"),
    ("registry.k8s.io", False, "manifests/1: 403 Forbidden", "image.auth-failed", "blocked"),
    ("k8s.m.daocloud.io", False, "manifests/1: 403 Forbidden", "image.auth-failed", "blocked"),
])
def test_settle_refusal(host, covered, text, code, kind):
    from kubectl_podfix.diagnose.rules.images.messages import Verdict
    from kubectl_podfix.diagnose.rules.images.pull import settle_refusal
    first = "ambiguous" if "anonymous" in text else "refused"
    v = settle_refusal(Verdict("image.not-found", first), host, covered, text)
    assert (v.code, v.kind) == (code, kind)


@pytest.mark.parametrize("image,text,want", [
    ("tusc/ntopng-udm:latest", "Error initializing source docker://quay.io/tusc/ntopng-udm:latest: Error reading "
     "manifest latest in quay.io/tusc/ntopng-udm: unauthorized", "quay.io/tusc/ntopng-udm:latest"),
    ("debian:stable", "reading manifest stable in quay.io/debian: manifest unknown", "quay.io/debian:stable"),
    ("app:1", "pinging container registry registry.example.com: Get \"https://registry.example.com/v2/\": EOF",
     "registry.example.com/app:1"),
    # Docker Hub, several registries, or a qualified name: nothing to say.
    ("debian:stable", "initializing source docker://debian:stable: reading manifest stable in "
     "docker.io/library/debian: toomanyrequests", None),
    ("x/y:1", "* initializing source docker://quay.io/x/y:1: unauthorized * initializing source "
     "docker://registry.fedoraproject.org/x/y:1: manifest unknown", None),
    ("quay.io/x/y:1", "initializing source docker://quay.io/x/y:1: reading manifest 1 in quay.io/x/y: unauthorized",
     None),
])
def test_short_name_resolved_to_another_registry(image, text, want):
    from kubectl_podfix.diagnose.rules.images.registries import resolved_reference
    assert resolved_reference(image, text) == want


@pytest.mark.parametrize("text,code,kind", [
    ('failed to resolve reference "x": unexpected media type text/html for sha256:abc: not found',
     "image.registry-unreachable", "html"),
    ("Error response from daemon: error parsing HTTP 404 response body: invalid character '<' looking for beginning "
     "of value", "image.registry-unreachable", "html"),
    ("Error response from daemon: Get https://quay.io/v2/x/manifests/1: unknown: Tag 1 was deleted or has expired. "
     "To pull, revive via time machine", "image.not-found", "missing"),
    ("Error response from daemon: Get https://gcr.io/v2/x/y/manifests/z: unknown: Project 'project:x' not found or "
     "deleted.", "image.not-found", "gcr-project"),
    ('failed to resolve reference "x": unexpected status from HEAD request to https://x/v2/a/manifests/b: '
     '404 Not Found',
     "image.not-found", "missing"),
    ('rpc error: code = NotFound desc = failed to pull and unpack image "x": failed to unpack image on snapshotter '
     "overlayfs: unexpected media type application/octet-stream for sha256:y: not found", "image.pull-failed",
     "unpack"),
])
def test_classify_more_registry_answers(text, code, kind):
    v = classify(text)
    assert (v.code, v.kind) == (code, kind)
