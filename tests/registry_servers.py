"""Real and fake container registries for the registry client's tests.

* ``RealRegistry``: Debian's ``docker-registry`` (distribution v2) on
  127.0.0.1, TLS with a throw-away CA made by ``openssl``, ``auth: htpasswd``
  with a bcrypt file made by ``htpasswd -Bbn``, filesystem storage in a temp
  dir. ``push_test_images`` uploads a small real image and an OCI index over
  the HTTP API, the way ``docker push`` does.
* ``FakeTokenRegistry``: a stdlib ``http.server`` pair, a registry that only
  answers ``401 WWW-Authenticate: Bearer realm=...`` and a token endpoint that
  checks basic auth. The real registry cannot do the token flow with htpasswd.

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_BIN_ENV = "PODFIX_REGISTRY_BIN"
REQUIRE_ENV = "PODFIX_REQUIRE_REGISTRY"
DEFAULT_REGISTRY_BIN = "/usr/bin/docker-registry"

USER = "alice"
# A sentinel: tests assert it never shows up in any str/repr of results or errors.
PASSWORD = "S3ntinel-pw-7f3a9c"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry_binary() -> str | None:
    """Path of the distribution registry binary, or None when not installed."""
    candidate = os.environ.get(REGISTRY_BIN_ENV) or DEFAULT_REGISTRY_BIN
    if os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("docker-registry")


def missing_tools() -> list[str]:
    missing = []
    if registry_binary() is None:
        missing.append(f"{DEFAULT_REGISTRY_BIN} (apt-get install docker-registry)")
    if shutil.which("htpasswd") is None:
        missing.append("htpasswd (apt-get install apache2-utils)")
    if shutil.which("openssl") is None:
        missing.append("openssl (apt-get install openssl)")
    return missing


def need(tools: list[str]) -> None:
    """Skip a test that needs ``tools`` (missing), or fail it when REQUIRE_ENV=1 (CI) says it must run."""
    import pytest

    if not tools:
        return
    reason = "needs " + ", ".join(tools)
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 says the real registry must be tested")
    pytest.skip(reason)


# --------------------------------------------------------------------- TLS


@dataclass
class TestCA:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_ca(directory: Path) -> TestCA:
    """A self-signed CA and a server certificate for 127.0.0.1 and localhost."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = d / "ca.key", d / "ca.crt"
    key, csr, cert = d / "server.key", d / "server.csr", d / "server.crt"
    ext = d / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "2",
        "-subj", "/CN=podfix test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return TestCA(ca_cert, cert, key)


# ------------------------------------------------------------ real registry


@dataclass
class RealRegistry:
    host: str  # "127.0.0.1:PORT"
    ca: TestCA
    root: Path
    process: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False)
    images: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
  tls:
    certificate: {cert}
    key: {key}
auth:
  htpasswd:
    realm: podfix-test
    path: {root}/htpasswd
"""


def start_registry(root: Path, *, user: str = USER, password: str = PASSWORD,
                   ca: TestCA | None = None, timeout: float = 10.0) -> RealRegistry:
    """Start docker-registry on a free 127.0.0.1 port; return once /v2/ answers."""
    binary = registry_binary()
    if binary is None:
        raise FileNotFoundError(DEFAULT_REGISTRY_BIN)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ca = ca or make_ca(root / "tls")
    out = subprocess.run(["htpasswd", "-Bbn", user, password], check=True,
                         capture_output=True, text=True).stdout
    (root / "htpasswd").write_text(out.strip() + "\n")
    last_error = ""
    for _attempt in range(3):  # a free port can be taken between probe and bind
        port = free_port()
        config = root / "config.yml"
        config.write_text(REGISTRY_CONFIG.format(
            root=root, port=port, secret=secrets.token_hex(16),
            cert=ca.server_cert, key=ca.server_key))
        log_path = root / "registry.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        reg = RealRegistry(f"127.0.0.1:{port}", ca, root, proc, log_path)
        if _wait_ready(reg, timeout):
            return reg
        reg.stop()
        last_error = log_path.read_text(errors="replace")[-2000:]
        if "address already in use" not in last_error:
            break
    raise RuntimeError(f"docker-registry did not become ready:\n{last_error}")


def _direct(ctx: ssl.SSLContext):
    """A urllib opener that ignores HTTP(S)_PROXY: the test registry is on loopback, which urllib's
    own proxy rules (unlike Go's and podfix's) would send to a proxy."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))


def _wait_ready(reg: RealRegistry, timeout: float) -> bool:
    ctx = ssl.create_default_context(cafile=str(reg.ca.ca_cert))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reg.process.poll() is not None:
            return False
        try:
            _direct(ctx).open(f"{reg.url}/v2/", timeout=1).close()
            return True
        except urllib.error.HTTPError as e:  # 401: up and asking for credentials
            e.close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# ------------------------------------------------------------------ pushing


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar layer; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), _digest(tar_bytes)


class Pusher:
    """Just enough of `docker push`: blob uploads and manifest PUTs with basic auth."""

    def __init__(self, base_url: str, user: str, password: str, cafile: Path | None):
        self.base = base_url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.auth = f"Basic {token}"
        self.ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None

    def _call(self, method: str, url: str, data: bytes | None = None,
              headers: dict | None = None):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": self.auth, **(headers or {})})
        with _direct(self.ctx).open(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()

    def blob(self, repo: str, data: bytes) -> str:
        digest = _digest(data)
        status, headers, _ = self._call("POST", f"/v2/{repo}/blobs/uploads/", b"")
        assert status == 202, status
        location = urllib.parse.urljoin(self.base + "/", headers["Location"])
        sep = "&" if "?" in location else "?"
        status, _, _ = self._call("PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}",
                                  data, {"Content-Type": "application/octet-stream"})
        assert status == 201, status
        return digest

    def manifest(self, repo: str, reference: str, media_type: str, body: bytes) -> str:
        status, headers, _ = self._call("PUT", f"/v2/{repo}/manifests/{reference}", body,
                                        {"Content-Type": media_type})
        assert status == 201, status
        return headers.get("Docker-Content-Digest") or _digest(body)


def _image(p: Pusher, repo: str, arch: str, *, oci: bool, variant: str | None = None,
           tag: str | None = None) -> dict:
    layer, diff_id = make_layer({"etc/podfix-test": f"hello from {arch}\n".encode()})
    config = {"architecture": arch, "os": "linux",
              "config": {"Cmd": ["/bin/true"]},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config, sort_keys=True).encode()
    p.blob(repo, layer)
    p.blob(repo, config_bytes)
    media = OCI_MANIFEST if oci else DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": media,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                   "digest": _digest(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "digest": _digest(layer), "size": len(layer)}],
    }
    body = json.dumps(manifest).encode()
    digest = p.manifest(repo, tag or _digest(body), media, body)
    return {"digest": digest, "size": len(body), "media_type": media, "arch": arch,
            "variant": variant}


def push_test_images(reg_url: str, cafile: Path | None, *, repo: str = "team/app",
                     extra_tags: tuple[str, ...] = (), user: str = USER,
                     password: str = PASSWORD) -> dict:
    """Push a docker v2 image as ``repo:1.0`` (+ ``extra_tags``) and an OCI index
    with linux/amd64 and linux/arm64/v8 as ``repo:multi``."""
    p = Pusher(reg_url, user, password, cafile)
    single = _image(p, repo, "amd64", oci=False, tag="1.0")
    manifest_body = p._call("GET", f"/v2/{repo}/manifests/1.0", None,
                            {"Accept": DOCKER_MANIFEST})[2]
    for tag in extra_tags:
        p.manifest(repo, tag, DOCKER_MANIFEST, manifest_body)
    amd = _image(p, repo, "amd64", oci=True)
    arm = _image(p, repo, "arm64", oci=True, variant="v8")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": m["media_type"], "digest": m["digest"], "size": m["size"],
             "platform": {"os": "linux", "architecture": m["arch"],
                          **({"variant": m["variant"]} if m["variant"] else {})}}
            for m in (amd, arm)
        ],
    }
    index_digest = p.manifest(repo, "multi", OCI_INDEX, json.dumps(index).encode())
    return {"repo": repo, "single": single["digest"], "index": index_digest,
            "tags": sorted({"1.0", "multi", *extra_tags})}


# ------------------------------------------------------- fake token registry


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class FakeTokenRegistry:
    """A registry that wants Bearer tokens, plus the token endpoint that issues them.

    The registry answers 401 + ``WWW-Authenticate: Bearer realm=...`` without a
    valid token; the token endpoint checks basic auth against ``user:password``.
    ``repo:tag`` exists; anything else is MANIFEST_UNKNOWN, other repositories
    are NAME_UNKNOWN and ``private/*`` answers 403 DENIED. ``/v2/repo/tags/list``
    paginates like distribution v3 (``n``/``last`` with a ``Link`` header),
    which Debian's distribution 2.8 does not do. ``registry_tls`` serves the registry over
    https with ``ca``'s server certificate (the token endpoint stays http).
    """

    def __init__(self, *, user: str = USER, password: str = PASSWORD, repo: str = "x",
                 tag: str = "latest", registry_tls: TestCA | None = None,
                 tags: tuple[str, ...] = ("latest", "1.0", "1.1", "1.2", "2.0", "edge")):
        self.user, self.password, self.repo, self.tag = user, password, repo, tag
        self.tags = list(tags)
        self.tag_pages = 0
        self.token = "tok-" + secrets.token_hex(8)
        self.token_requests: list[dict] = []
        self.registry_requests: list[tuple[str, str, str | None]] = []
        fake = self

        class TokenHandler(_Quiet):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                auth = self.headers.get("Authorization", "")
                fake.token_requests.append({"path": url.path, "query": query,
                                            "has_auth": bool(auth)})
                good = "Basic " + base64.b64encode(
                    f"{fake.user}:{fake.password}".encode()).decode()
                if url.path != "/token":
                    return self._send(404, {"details": "not found"})
                if auth != good:
                    return self._send(401, {"details": "incorrect username or password"})
                self._send(200, {"token": fake.token, "expires_in": 300})

        class RegistryHandler(_Quiet):
            def _challenge(self, scope: str | None):
                params = f'realm="{fake.realm}",service="fake"'
                if scope:
                    params += f',scope="{scope}"'
                self._send(401, {"errors": [{"code": "UNAUTHORIZED",
                                             "message": "authentication required",
                                             "detail": None}]},
                           {"WWW-Authenticate": f"Bearer {params}"})

            def do_GET(self):
                fake.registry_requests.append(
                    (self.command, self.path, self.headers.get("Authorization")))
                authorized = self.headers.get("Authorization") == f"Bearer {fake.token}"
                split = urllib.parse.urlsplit(self.path)
                path = split.path
                if path == "/v2/":
                    return self._send(200, {}) if authorized else self._challenge(None)
                if path == f"/v2/{fake.repo}/tags/list":
                    if not authorized:
                        return self._challenge(f"repository:{fake.repo}:pull")
                    return self._tags(dict(urllib.parse.parse_qsl(split.query)))
                parts = path[len("/v2/"):].split("/manifests/")
                if len(parts) != 2:
                    return self._send(404, {"errors": [{"code": "NOT_FOUND",
                                                        "message": "not found"}]})
                repo, ref = parts
                if not authorized:
                    return self._challenge(f"repository:{repo}:pull")
                if repo.startswith("private/"):
                    return self._send(403, {"errors": [{
                        "code": "DENIED",
                        "message": "requested access to the resource is denied"}]})
                if repo != fake.repo:
                    return self._send(404, {"errors": [{
                        "code": "NAME_UNKNOWN",
                        "message": "repository name not known to registry"}]})
                if ref != fake.tag:
                    return self._send(404, {"errors": [{"code": "MANIFEST_UNKNOWN",
                                                        "message": "manifest unknown"}]})
                self._send(200, {"schemaVersion": 2, "mediaType": OCI_MANIFEST},
                           {"Docker-Content-Digest": "sha256:" + "0" * 64})

            do_HEAD = do_GET

            def _tags(self, query):
                """Distribution-style pagination: sorted tags after ``last``, ``n`` per page."""
                names = sorted(fake.tags)
                if "last" in query:
                    names = [t for t in names if t > query["last"]]
                headers = {}
                if "n" in query:
                    n = int(query["n"])
                    if len(names) > n:
                        names = names[:n]
                        nxt = urllib.parse.urlencode({"n": n, "last": names[-1]})
                        headers["Link"] = f'</v2/{fake.repo}/tags/list?{nxt}>; rel="next"'
                fake.tag_pages += 1
                self._send(200, {"name": fake.repo, "tags": names}, headers)

        self._token_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
        self._registry_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RegistryHandler)
        self.scheme = "http"
        if registry_tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(registry_tls.server_cert), str(registry_tls.server_key))
            self._registry_server.socket = ctx.wrap_socket(self._registry_server.socket,
                                                           server_side=True)
            self.scheme = "https"
        self.realm = f"http://127.0.0.1:{self._token_server.server_address[1]}/token"
        self.host = f"127.0.0.1:{self._registry_server.server_address[1]}"
        self._threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True)
                         for s in (self._token_server, self._registry_server)]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def __enter__(self) -> "FakeTokenRegistry":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        for s in (self._token_server, self._registry_server):
            s.shutdown()
            s.server_close()
