"""kubectl_podfix.registry.client against a real distribution registry (TLS + htpasswd)
and a fake Bearer-token registry. Everything listens on 127.0.0.1 only.

The real registry is Debian's ``docker-registry`` (apt-get install
docker-registry apache2-utils openssl). Without it these tests skip, unless
PODFIX_REQUIRE_REGISTRY=1 (CI), where they fail instead.
"""

from __future__ import annotations

import base64
import json

import pytest
import registry_servers as rs

from kubectl_podfix.registry import client as registry
from kubectl_podfix.registry.client import (
    RegistryAnswer,
    RegistryError,
    closest_tags,
    list_tags,
    manifest_exists,
    manifest_platforms,
    verify_credentials,
)

WRONG = "Wr0ng-sentinel-pw-0d1e"
SECRETS = (rs.PASSWORD, WRONG,
           base64.b64encode(f"{rs.USER}:{rs.PASSWORD}".encode()).decode(),
           base64.b64encode(f"{rs.USER}:{WRONG}".encode()).decode())


def assert_no_secret(*things) -> None:
    for thing in things:
        for text in (str(thing), repr(thing), repr(getattr(thing, "args", ""))):
            for secret in SECRETS:
                assert secret not in text, f"secret leaked into {text!r}"


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def trusted(monkeypatch, test_ca):
    """Trust the test CA the way a user would: SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_cert))


@pytest.fixture
def reg(real_registry, trusted):
    return real_registry


@pytest.fixture
def untrusted(monkeypatch, tmp_path):
    """A trust store without the test CA."""
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    (tmp_path / "certs").mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "certs"))


@pytest.fixture
def fake():
    with rs.FakeTokenRegistry() as f:
        yield f


# ------------------------------------------------------------------ servers


@pytest.mark.parametrize("server, expected", [
    ("registry.example.com", ("registry.example.com", None)),
    ("registry.example.com:5000", ("registry.example.com:5000", None)),
    ("https://Registry.Example.com/", ("registry.example.com", "https")),
    ("http://localhost:5000/v2/", ("localhost:5000", "http")),
    ("docker.io", ("registry-1.docker.io", "https")),
    ("index.docker.io", ("registry-1.docker.io", "https")),
    ("https://index.docker.io/v1/", ("registry-1.docker.io", "https")),
    ("registry-1.docker.io", ("registry-1.docker.io", "https")),
    ("[::1]:5000", ("[::1]:5000", None)),
])
def test_parse_server(server, expected):
    assert registry.parse_server(server) == expected


def test_parse_server_rejects_nonsense():
    with pytest.raises(RegistryError):
        registry.parse_server("  ")
    with pytest.raises(RegistryError):
        registry.parse_server("ftp://host")


def test_parse_challenges():
    got = registry.parse_challenges([
        'Bearer realm="https://auth.example.com/token",service="reg",'
        'scope="repository:a/b:pull,push", Basic realm="x"'])
    assert got == [("bearer", {"realm": "https://auth.example.com/token", "service": "reg",
                               "scope": "repository:a/b:pull,push"}),
                   ("basic", {"realm": "x"})]


# ------------------------------------------------------------------ real registry: credentials


def test_right_credentials(reg):
    ans = verify_credentials(reg.host, rs.USER, rs.PASSWORD)
    assert ans.ok and ans.status == 200 and ans.step == "ping"
    assert "accepted the credentials" in ans.message and rs.USER in ans.message


def test_right_credentials_and_manifest(reg):
    ans = verify_credentials(f"https://{reg.host}/", rs.USER, rs.PASSWORD,
                             repository="team/app", reference="1.0")
    assert ans.ok and ans.step == "manifest" and ans.status == 200
    assert ans.digest == reg.images["single"]
    assert "team/app:1.0 exists" in ans.message


def test_wrong_password(reg):
    ans = verify_credentials(reg.host, rs.USER, WRONG, repository="team/app", reference="1.0")
    assert not ans.ok
    assert ans.status == 401 and ans.step == "ping"
    assert "UNAUTHORIZED: authentication required" in ans.message
    assert "rejected the credentials" in ans.message
    assert_no_secret(ans)


def test_unknown_tag(reg):
    ans = verify_credentials(reg.host, rs.USER, rs.PASSWORD, repository="team/app",
                             reference="lates")
    assert not ans.ok and ans.step == "manifest" and ans.status == 404
    assert "tag 'lates' not found in repository 'team/app'" in ans.message
    assert "MANIFEST_UNKNOWN" in ans.message


def test_missing_repository(reg):
    ans = verify_credentials(reg.host, rs.USER, rs.PASSWORD, repository="team/nope",
                             reference="1.0")
    assert not ans.ok and ans.step == "manifest" and ans.status == 404
    assert "repository 'team/nope' not found" in ans.message
    assert "NAME_UNKNOWN" in ans.message


def test_manifest_exists(reg):
    ans = manifest_exists(reg.host, "team/app", "multi", username=rs.USER, password=rs.PASSWORD)
    assert ans.ok and ans.digest == reg.images["index"]
    by_digest = manifest_exists(reg.host, "team/app", reg.images["index"],
                                username=rs.USER, password=rs.PASSWORD)
    assert by_digest.ok and "team/app@sha256:" in by_digest.message
    missing = manifest_exists(reg.host, "team/app", "sha256:" + "1" * 64,
                              username=rs.USER, password=rs.PASSWORD)
    assert not missing.ok and "manifest 'sha256:111" in missing.message and "not found" in missing.message


def test_manifest_exists_anonymous_is_refused(reg):
    ans = manifest_exists(reg.host, "team/app", "1.0")
    assert not ans.ok and ans.status == 401 and "needs credentials" in ans.message


# ------------------------------------------------------------------ real registry: TLS and network


def test_tls_verification_fails_without_ca(real_registry, untrusted):
    with pytest.raises(RegistryError) as err:
        verify_credentials(real_registry.host, rs.USER, rs.PASSWORD)
    msg = str(err.value)
    assert err.value.step == "tls"
    assert real_registry.host in msg and "certificate" in msg
    assert "SSL_CERT_FILE" in msg and "--insecure-registry" in msg
    assert err.value.answer() == RegistryAnswer(False, None, "tls", msg)
    assert_no_secret(err.value)


def test_insecure_skips_verification(real_registry, untrusted):
    ans = verify_credentials(real_registry.host, rs.USER, rs.PASSWORD, insecure=True,
                             repository="team/app", reference="1.0")
    assert ans.ok, ans.message


def test_connection_refused_names_host_port():
    port = rs.free_port()
    with pytest.raises(RegistryError) as err:
        verify_credentials(f"127.0.0.1:{port}", rs.USER, rs.PASSWORD, timeout=3)
    assert f"127.0.0.1:{port}" in str(err.value) and "refused" in str(err.value)
    assert err.value.step == "connect"
    assert_no_secret(err.value)


def test_plain_http_registry_needs_insecure(fake):
    with pytest.raises(RegistryError) as err:
        verify_credentials(fake.host, rs.USER, rs.PASSWORD, timeout=3)
    assert err.value.step == "tls" and "--insecure-registry" in str(err.value)


# ------------------------------------------------------------------ real registry: data


def test_list_tags(reg):
    tags = list_tags(reg.host, "team/app", username=rs.USER, password=rs.PASSWORD)
    assert sorted(tags) == sorted(reg.images["tags"])


def test_list_tags_missing_repository_and_anonymous(reg):
    with pytest.raises(RegistryError) as err:
        list_tags(reg.host, "team/nope", username=rs.USER, password=rs.PASSWORD)
    assert err.value.status == 404 and "not found" in str(err.value)
    with pytest.raises(RegistryError) as err:
        list_tags(reg.host, "team/app")
    assert err.value.status == 401 and err.value.step == "tags"


def test_manifest_platforms_index(reg):
    got = manifest_platforms(reg.host, "team/app", "multi", username=rs.USER, password=rs.PASSWORD)
    assert got == ["linux/amd64", "linux/arm64/v8"]


def test_manifest_platforms_single_manifest_reads_config(reg):
    got = manifest_platforms(reg.host, "team/app", "1.0", username=rs.USER, password=rs.PASSWORD)
    assert got == ["linux/amd64"]


def test_manifest_platforms_unknown_tag_raises(reg):
    with pytest.raises(RegistryError) as err:
        manifest_platforms(reg.host, "team/app", "nope", username=rs.USER, password=rs.PASSWORD)
    assert err.value.status == 404 and "not found" in str(err.value)


# ------------------------------------------------------------------ Bearer token flow


def test_bearer_flow_ok(fake):
    ans = verify_credentials(fake.host, rs.USER, rs.PASSWORD, repository="x",
                             reference="latest", insecure=True)
    assert ans.ok and ans.step == "manifest", ans.message
    first = fake.token_requests[0]
    assert first["query"]["service"] == "fake"
    assert first["query"]["scope"] == "repository:x:pull"
    assert first["has_auth"]
    # the token, not the password, went to the registry
    sent = [auth for _, _, auth in fake.registry_requests if auth]
    assert sent and all(a == f"Bearer {fake.token}" for a in sent)


def test_bearer_flow_without_repository_has_no_scope(fake):
    ans = verify_credentials(fake.host, rs.USER, rs.PASSWORD, insecure=True)
    assert ans.ok and ans.step == "ping"
    assert "scope" not in fake.token_requests[0]["query"]


def test_bearer_wrong_password(fake):
    ans = verify_credentials(fake.host, rs.USER, WRONG, repository="x", reference="latest",
                             insecure=True)
    assert not ans.ok and ans.step == "token" and ans.status == 401
    assert "incorrect username or password" in ans.message
    assert_no_secret(ans)


@pytest.mark.parametrize("repo, ref, status, words", [
    ("x", "nope", 404, ["tag 'nope' not found", "MANIFEST_UNKNOWN"]),
    ("y", "latest", 404, ["repository 'y' not found", "NAME_UNKNOWN"]),
    ("private/z", "latest", 403,
     ["HTTP 403", "DENIED: requested access to the resource is denied"]),
])
def test_bearer_manifest_answers(fake, repo, ref, status, words):
    ans = verify_credentials(fake.host, rs.USER, rs.PASSWORD, repository=repo, reference=ref,
                             insecure=True)
    assert not ans.ok and ans.step == "manifest" and ans.status == status
    for w in words:
        assert w in ans.message


def test_list_tags_follows_pagination(fake):
    tags = list_tags(fake.host, "x", username=rs.USER, password=rs.PASSWORD, insecure=True,
                     page_size=2)
    assert tags == sorted(fake.tags)
    assert fake.tag_pages == 3


def test_plain_http_realm_gets_no_credentials(test_ca, trusted):
    with rs.FakeTokenRegistry(registry_tls=test_ca) as f:
        ans = verify_credentials(f.host, rs.USER, rs.PASSWORD)
        assert not ans.ok and ans.step == "token"
        assert "plain-http token server" in ans.message
        assert f.token_requests == []


# ------------------------------------------------------------------ secrets


def test_password_never_shown(reg, fake):
    things = [
        verify_credentials(reg.host, rs.USER, rs.PASSWORD, repository="team/app",
                           reference="1.0"),
        verify_credentials(reg.host, rs.USER, WRONG),
        verify_credentials(fake.host, rs.USER, WRONG, insecure=True),
        manifest_exists(reg.host, "team/app", "nope", username=rs.USER, password=rs.PASSWORD),
        registry._Client(reg.host, rs.USER, rs.PASSWORD, False, 5),
    ]
    for call in (
        lambda: list_tags(reg.host, "team/app", username=rs.USER, password=WRONG),
        lambda: manifest_platforms(fake.host, "x", "latest", username=rs.USER, password=WRONG,
                                   insecure=True),
        lambda: verify_credentials(f"127.0.0.1:{rs.free_port()}", rs.USER, rs.PASSWORD),
    ):
        with pytest.raises(RegistryError) as err:
            call()
        things.append(err.value)
        things.append(err.value.answer())
    assert_no_secret(*things)


# ------------------------------------------------------------------ suggestions

TAGS = ["latest", "stable", "1.0", "1.24-alpine", "1.25", "1.25.3-alpine", "1.25.4-alpine",
        "1.25-alpine3.19", "1.25-bookworm", "alpine", "v1.2.3", "v1.2.4", "v1.23.3", "v1.3.3"]


@pytest.mark.parametrize("wanted, expected", [
    ("lates", ["latest"]),
    ("latset", ["latest"]),
    ("stabel", ["stable"]),
    ("v1.2.33", ["v1.2.3", "v1.2.4"]),
    ("1.25-alpine", ["1.25.4-alpine", "1.25.3-alpine", "1.25-alpine3.19"]),
    ("1.25-bookwrm", ["1.25-bookworm"]),
    ("latest", ["latest"]),
])
def test_closest_tags(wanted, expected):
    got = closest_tags(wanted, TAGS)
    assert got[:len(expected)] == expected, got


def test_closest_tags_nothing_related():
    assert closest_tags("9.9.9-nanoserver", ["latest", "stable"]) == []
    assert closest_tags("x", []) == []
    assert len(closest_tags("1.25", TAGS, n=2)) == 2


# -- a redirect of the login check to another server is no login ----------------------------------------

class _Redirecting:
    """/v2/ asks for Basic auth, then answers a logged-in request with a 302 to ``other`` (another origin)
    that answers 200 to anything: before the fix, "accepted the credentials"."""

    def __init__(self, other_url: str | None = None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, self.headers.get("Authorization")))
                if other_url is None:  # the other server: 200 to anything
                    self._answer(200, {})
                elif not self.headers.get("Authorization"):
                    self._answer(401, {}, {"WWW-Authenticate": 'Basic realm="r"'})
                else:
                    self._answer(302, {}, {"Location": other_url + "/v2/"})

            def _answer(self, code, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_cross_origin_redirect_of_the_login_check_is_not_accepted():
    other = _Redirecting()
    reg = _Redirecting(f"http://{other.host}")
    try:
        answer = registry.verify_credentials(reg.host, "u", "pw-redirect-1234", insecure=True, timeout=5)
    finally:
        reg.close()
        other.close()
    assert not answer.ok
    assert answer.message == (
        f"{reg.host} redirected the login check (/v2/) to another server ({other.host}, HTTP 200): podfix does "
        "not take an answer from another server as the credentials being accepted; check --docker-server (the "
        "registry's own host)")
    assert other.seen == [("/v2/", None)]  # the credentials never went there


def test_secret_verify_with_a_cross_origin_redirect_is_one_line(api, podfix):
    other = _Redirecting()
    reg = _Redirecting(f"http://{other.host}")
    try:
        run = podfix("secret", "regcred", "--docker-server", reg.host, "--docker-username", "u", "--password-stdin",
                     "--verify", "--insecure-registry", "--yes", stdin="pw-redirect-1234\n")
    finally:
        reg.close()
        other.close()
    assert run.code == 4
    assert run.err.strip().splitlines() == [
        f"error: --verify failed: {reg.host} redirected the login check (/v2/) to another server ({other.host}, "
        "HTTP 200): podfix does not take an answer from another server as the credentials being accepted; check "
        "--docker-server (the registry's own host). Nothing was created"]
    assert api.get("Secret", "default", "regcred") is None


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_registry_that_dribbles_its_answer_is_cut_at_the_whole_request_deadline(headers_too):
    """The socket timeout bounds each read: a registry (or a proxy) sending a byte a second kept `secret
    --verify` waiting for days. A request as a whole gets WHOLE_EXCHANGE times the timeout."""
    import socket
    import threading
    import time

    from kubectl_podfix.registry.transport import WHOLE_EXCHANGE

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=dribble, args=(conn,), daemon=True).start()

    def dribble(conn):
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
                b"Docker-Distribution-API-Version: registry/2.0\r\n\r\n")
        try:
            conn.recv(65536)
            if not headers_too:
                conn.sendall(head)
            for byte in (head if headers_too else b"") + b" " * 100000:
                if stop.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(RegistryError) as err:
            verify_credentials(f"127.0.0.1:{server.getsockname()[1]}", rs.USER, rs.PASSWORD, insecure=True,
                               timeout=1)
    finally:
        stop.set()
        server.close()
    assert time.monotonic() - started < 2 * WHOLE_EXCHANGE + 3  # https, then plain http: each one bounded
    assert "did not answer in full within 3s (a request as a whole)" in str(err.value)
    assert_no_secret(err.value)


@pytest.mark.parametrize("answer", ["redirect", "realm"])
def test_a_registry_never_makes_podfix_open_ftp_or_file_urls(answer, tmp_path):
    """urllib's default opener follows a redirect to ftp:// (an FTP connection to any host the registry
    names, past HTTPS_PROXY) and opens file:// and ftp:// token realms (a local file read as the token
    answer). The registry client opens http and https URLs only."""
    import http.server
    import socket
    import threading

    ftp = socket.socket()
    ftp.bind(("127.0.0.1", 0))
    ftp.listen(5)
    ftp.settimeout(0.5)
    secret_file = tmp_path / "local.json"
    secret_file.write_text('{"token": "LOCAL-FILE-CONTENT"}')
    target = f"ftp://127.0.0.1:{ftp.getsockname()[1]}/x" if answer == "redirect" else secret_file.as_uri()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if answer == "redirect":
                self.send_response(302)
                self.send_header("Location", target)
            else:
                self.send_response(401)
                self.send_header("WWW-Authenticate", f'Bearer realm="{target}",service="x"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        try:
            ans = verify_credentials(f"127.0.0.1:{server.server_address[1]}", rs.USER, rs.PASSWORD, insecure=True,
                                     timeout=3)
            assert not ans.ok
            said = ans.message
        except RegistryError as err:
            said = str(err)
        try:
            conn, _ = ftp.accept()
            conn.close()
            connected = True
        except OSError:
            connected = False
    finally:
        server.shutdown()
        ftp.close()
    assert not connected, "podfix opened an FTP connection the registry named"
    assert "LOCAL-FILE-CONTENT" not in said and rs.PASSWORD not in said
