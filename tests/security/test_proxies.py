"""Proxies exactly like kubectl: the kubeconfig's proxy-url, else Go's ProxyFromEnvironment.

The rules live in one pure function (kubectl_podfix/netproxy.py), checked here against the
cases of Go's own tests (golang.org/x/net/http/httpproxy proxy_test.go). The live tests run
the CLI with a recording loopback proxy (tests/proxyserver.py): the bearer token must never
reach a proxy NO_PROXY excludes, must reach the API server through the proxy when one applies
(inside the CONNECT tunnel for https, where the proxy cannot read it), and proxy credentials
become a Proxy-Authorization header that no output ever shows.
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess

import pytest
import yaml
from apiserver import FakeAPIServer
from clitools import cli_env, run_podfix
from objects import pod, waiting
from proxyserver import RecordingProxy, Relay, local_ipv4

from kubectl_podfix import netproxy
from kubectl_podfix.netproxy import ProxyError, parse_proxy, proxy_for, use_proxy

TOKEN = "PODFIX-TOKEN-sentinel-5e1f0a9d"
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
              "all_proxy", "REQUEST_METHOD")


def env_with(kubeconfig: str, **proxies: str) -> dict:
    """The CLI's environment with exactly these proxy variables (none inherited from the machine)."""
    env = cli_env(kubeconfig)
    for var in PROXY_VARS:
        env.pop(var, None)
    env.update(proxies)
    return env


def write_kubeconfig(path, server: str, *, ca_data: str | None = None, proxy_url: str | None = None) -> str:
    cluster = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    if proxy_url:
        cluster["proxy-url"] = proxy_url
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}]}))
    return str(path)


def crashing_pod():
    return pod("web-1", namespace="shop", phase="Running",
               statuses=[waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container", restarts=3)])


@pytest.fixture
def api():
    server = FakeAPIServer([crashing_pod()], token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def proxy():
    with RecordingProxy() as p:
        yield p


def explain(kubeconfig: str, *extra: str, **proxies: str):
    return run_podfix(["explain", "web-1", *extra], env=env_with(kubeconfig, **proxies))


# -- the rules (pure) ------------------------------------------------------------------------------------

@pytest.mark.parametrize("env, url, want", [
    ({"HTTP_PROXY": "127.0.0.1:8080"}, "http://example.com", "http://127.0.0.1:8080"),
    ({"HTTP_PROXY": "cache.corp.example.com:1234"}, "http://example.com", "http://cache.corp.example.com:1234"),
    ({"HTTP_PROXY": "cache.corp.example.com"}, "http://example.com", "http://cache.corp.example.com:80"),
    ({"HTTP_PROXY": "localhost"}, "http://example.com", "http://localhost:80"),
    ({"HTTP_PROXY": "https://cache.corp.example.com"}, "http://example.com", "https://cache.corp.example.com:443"),
    ({"HTTP_PROXY": "http://127.0.0.1:8080"}, "http://example.com", "http://127.0.0.1:8080"),
    ({"HTTP_PROXY": "http.proxy.tld", "HTTPS_PROXY": "secure.proxy.tld"}, "http://insecure.tld/",
     "http://http.proxy.tld:80"),
    ({"HTTP_PROXY": "http.proxy.tld", "HTTPS_PROXY": "secure.proxy.tld"}, "https://secure.tld/",
     "http://secure.proxy.tld:80"),
    ({"HTTP_PROXY": "http.proxy.tld", "HTTPS_PROXY": "https://secure.proxy.tld"}, "https://secure.tld/",
     "https://secure.proxy.tld:443"),
    ({"HTTP_PROXY": "http.proxy.tld"}, "https://secure.tld/", None),
    ({"HTTP_PROXY": "http.proxy.tld"}, "ftp://insecure.tld/", None),
    ({"HTTPS_PROXY": "https://secure.proxy.tld", "REQUEST_METHOD": "GET"}, "https://secure.tld/",
     "https://secure.proxy.tld:443"),  # HTTPS_PROXY is still used under CGI (Go's historical behaviour)
    ({}, "http://example.com", None),
    ({"NO_PROXY": "example.com", "HTTP_PROXY": "proxy"}, "http://example.com/", None),
    ({"NO_PROXY": ".example.com", "HTTP_PROXY": "proxy"}, "http://example.com/", "http://proxy:80"),
    ({"NO_PROXY": "ample.com", "HTTP_PROXY": "proxy"}, "http://example.com/", "http://proxy:80"),
    ({"NO_PROXY": "example.com", "HTTP_PROXY": "proxy"}, "http://foo.example.com/", None),
    ({"NO_PROXY": ".foo.com", "HTTP_PROXY": "proxy"}, "http://example.com/", "http://proxy:80"),
    ({"NO_PROXY": ".示例.com", "HTTP_PROXY": "proxy"}, "http://www.示例.com", None),
    ({"NO_PROXY": "xn--fsq092h.com", "HTTP_PROXY": "proxy"}, "http://www.示例.com", None),
    ({"NO_PROXY": "示例.com", "HTTP_PROXY": "proxy"}, "http://www.xn--fsq092h.com", None),
    # the upper-case name wins; the lower-case one is used when the upper-case one is empty
    ({"HTTPS_PROXY": "upper:1", "https_proxy": "lower:2"}, "https://api:6443", "http://upper:1"),
    ({"HTTPS_PROXY": "", "https_proxy": "lower:2"}, "https://api:6443", "http://lower:2"),
    ({"HTTPS_PROXY": "p:1", "NO_PROXY": "", "no_proxy": "api"}, "https://api:6443", None),
])
def test_proxy_choice_matches_go_httpproxy(env, url, want):
    got = proxy_for(url, env)
    assert (got.url if got else None) == want


# Go's TestUseProxy: the same NO_PROXY and hosts, requests to port 80.
GO_NO_PROXY = ("foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, "
               "2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64")


@pytest.mark.parametrize("host, proxied", [
    ("localhost", False), ("127.0.0.1", False), ("127.0.0.2", False), ("[::1]", False), ("[::2]", True),
    ("::ffff:127.0.0.1", False),
    ("192.168.1.1", False), ("192.168.1.2", True), ("192.168.1.3", False), ("192.168.1.4", True),
    ("10.0.0.2", False), ("[2001:db8::52:0:1]", False), ("[2001:db8::52:0:2]", True), ("[2001:db8::52:0:3]", False),
    ("[2002:db8:a::123]", False), ("[fe80::424b:c8be:1643:a1b6]", True),
    ("barbaz.net", True), ("www.barbaz.net", False), ("foobar.com", False), ("www.foobar.com", False),
    ("foofoobar.com", True), ("baz.com", True), ("localhost.net", True), ("local.localhost", True),
    ("barbarbaz.net", True), ("wildcard.io", True), ("nested.wildcard.io", False), ("awildcard.io", True),
])
def test_no_proxy_matching_matches_go_httpproxy(host, proxied):
    assert use_proxy(host, "80", GO_NO_PROXY) is proxied
    assert use_proxy(host, "80", "*") is False
    assert use_proxy("example.com", "80", ":1") is True  # a malformed entry is ignored


def test_cgi_environment_refuses_http_proxy_like_go():
    with pytest.raises(ProxyError, match="CGI"):
        proxy_for("http://10.1.2.3:8080", {"HTTP_PROXY": "http://10.1.2.3:8080", "REQUEST_METHOD": "GET"})


def test_proxy_credentials_become_basic_auth_and_never_show():
    proxy = parse_proxy("http://alice:s3cr%40t@proxy.corp:3128", "HTTPS_PROXY")
    assert proxy.authorization == "Basic " + base64.b64encode(b"alice:s3cr@t").decode()
    assert proxy.url == proxy.display == "http://proxy.corp:3128"
    assert "s3cr" not in repr(proxy) + str(proxy) + proxy.display


@pytest.mark.parametrize("value, strict, words", [
    ("socks5://127.0.0.1:1080", False, "socks5 proxy, which podfix does not support"),
    ("socks5://127.0.0.1:1080", True, "socks5 proxy, which podfix does not support"),
    ("foo://host", False, 'unsupported scheme "foo"'),
    ("proxy:3128", True, 'unsupported scheme "proxy"'),  # client-go's parseProxyURL: no http:// guessing
    # a URL with a scheme that does not parse is not read again as http://http://...: the proxy host was "http"
    ("http://bob:PX-secret@127.0.0.1:99999", False, "not a valid proxy URL"),
    ("http://proxy.corp:abc", False, "not a valid proxy URL"),
    ("http://[::1", False, "not a valid proxy URL"),
    ("http://proxy.corp:0", False, "not a valid proxy URL"),
    ("http://bob:PX-secret@127.0.0.1:99999", True, "not a valid proxy URL"),
])
def test_unusable_proxy_values_are_one_line_errors(value, strict, words):
    with pytest.raises(ProxyError, match=words) as err:
        parse_proxy(value, "the kubeconfig's proxy-url" if strict else "HTTPS_PROXY", strict=strict)
    assert "PX-secret" not in str(err.value)


def test_netproxy_is_pure():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(netproxy))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "base64", "ipaddress", "dataclasses", "typing", "urllib"}


# -- the API server, live -----------------------------------------------------------------------------

def test_loopback_api_server_is_reached_directly_whatever_the_proxy_variables(api, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kc", api.url)
    run = explain(cfg, "-o", "json", HTTPS_PROXY="http://127.0.0.1:1", HTTP_PROXY="http://127.0.0.1:1")
    assert run.code == 0, run.err
    assert run.json["pods"][0]["findings"]


def test_http_api_server_goes_through_http_proxy(api, proxy, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kc", api.url.replace("127.0.0.1", "api.podfix.test"))
    run = explain(cfg, "-o", "json", HTTP_PROXY=proxy.url, HTTPS_PROXY="http://127.0.0.1:1")
    assert run.code == 0, run.err
    targets = [r.target for r in proxy.records]
    assert targets and all(t.startswith("http://api.podfix.test:") for t in targets), targets
    assert proxy.records[0].headers.get("Authorization") == f"Bearer {TOKEN}"  # plain http: as kubectl sends it


def test_token_never_reaches_a_proxy_no_proxy_excludes(api, proxy, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kc", api.url.replace("127.0.0.1", "api.podfix.test"))
    for no_proxy in ("podfix.test", ".podfix.test", "api.podfix.test", f"api.podfix.test:{api.url.rsplit(':', 1)[1]}",
                     "*", "example.com, *.podfix.test"):
        run = explain(cfg, "--request-timeout", "5s", HTTP_PROXY=proxy.url, NO_PROXY=no_proxy)
        assert run.code == 1
        assert "cannot resolve the API server's host name" in run.err  # it went direct: the name is not in DNS
    assert proxy.records == []
    assert TOKEN not in proxy.seen()


def test_no_proxy_cidr_reaches_a_cluster_directly(api, tmp_path):
    ip = local_ipv4()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address to listen on")
    with Relay(ip, int(api.url.rsplit(":", 1)[1])) as relay:
        cfg = write_kubeconfig(tmp_path / "kc", f"http://{ip}:{relay.port}")
        dead = "http://127.0.0.1:1"
        for no_proxy in (f"{ip.rsplit('.', 1)[0]}.0/24", ip, f"{ip}:{relay.port}"):
            run = explain(cfg, "-o", "json", HTTP_PROXY=dead, HTTPS_PROXY=dead, no_proxy=no_proxy)
            assert run.code == 0, (no_proxy, run.err)


def test_proxy_credentials_are_sent_as_proxy_authorization_and_never_printed(api, tmp_path):
    auth = "Basic " + base64.b64encode(b"alice:s3cr@t-PROXYPW").decode()
    with RecordingProxy(require_auth=auth) as proxy:
        cfg = write_kubeconfig(tmp_path / "kc", api.url.replace("127.0.0.1", "api.podfix.test"))
        user_url = proxy.url.replace("http://", "http://alice:s3cr%40t-PROXYPW@")
        run = explain(cfg, "-o", "json", "--debug", HTTP_PROXY=user_url)
        assert run.code == 0, run.err
        assert f"podfix: proxy {proxy.url} (HTTP_PROXY)" in run.err
        assert "PROXYPW" not in run.out + run.err and base64.b64encode(b"alice:s3cr@t-PROXYPW").decode() not in run.err
        assert all(r.headers.get("Proxy-Authorization") == auth for r in proxy.records)
        wrong = explain(cfg, HTTP_PROXY=proxy.url.replace("http://", "http://alice:nope-PROXYPW@"))
        assert wrong.code == 1 and "PROXYPW" not in wrong.err and "Traceback" not in wrong.err
        assert "407" in wrong.err and "proxy" in wrong.err


def test_kubeconfig_proxy_url_overrides_the_environment(api, proxy, tmp_path):
    # client-go: proxy-url is used for every request, loopback included, and NO_PROXY does not apply
    cfg = write_kubeconfig(tmp_path / "kc", api.url, proxy_url=proxy.url)
    run = explain(cfg, "-o", "json", HTTP_PROXY="http://127.0.0.1:1", NO_PROXY="*")
    assert run.code == 0, run.err
    assert [r.target.split("?")[0] for r in proxy.records][:1] == [f"{api.url}/api/v1/namespaces/shop/pods/web-1"]


@pytest.mark.parametrize("proxy_url, words", [
    ("socks5://127.0.0.1:1080", "socks5 proxy, which podfix does not support"),
    ("proxy.corp:3128", 'unsupported scheme "proxy.corp"'),
])
def test_unusable_proxy_url_is_one_line(api, tmp_path, proxy_url, words):
    cfg = write_kubeconfig(tmp_path / "kc", api.url, proxy_url=proxy_url)
    run = explain(cfg)
    assert run.code == 1 and "Traceback" not in run.err
    assert run.err.count("\n") == 1 and words in run.err and "proxy-url" in run.err


def test_cgi_environment_refuses_http_proxy(api, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kc", api.url)
    run = explain(cfg, HTTP_PROXY="http://127.0.0.1:1", REQUEST_METHOD="GET")
    assert run.code == 1 and run.err.count("\n") == 1 and "CGI" in run.err


# -- https: the token travels inside the CONNECT tunnel --------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    d = tmp_path_factory.mktemp("pki")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=podfix-test-ca")
    (d / "ext.cnf").write_text("subjectAltName=DNS:api.podfix.test,IP:127.0.0.1")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=api")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "srv.crt", "-days", "2", "-extfile", "ext.cnf")
    return d


@pytest.fixture
def https_api(pki):
    server = FakeAPIServer([crashing_pod()], token=TOKEN).start()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "srv.crt"), str(pki / "srv.key"))
    server._httpd.socket = ctx.wrap_socket(server._httpd.socket, server_side=True)
    server.url = server.url.replace("http://", "https://")
    yield server
    server.stop()


def test_https_token_goes_only_inside_the_connect_tunnel(https_api, pki, tmp_path):
    auth = "Basic " + base64.b64encode(b"bob:tunnel-PROXYPW").decode()
    with RecordingProxy(require_auth=auth) as proxy:
        server = https_api.url.replace("127.0.0.1", "api.podfix.test")
        ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
        cfg = write_kubeconfig(tmp_path / "kc", server, ca_data=ca)
        run = explain(cfg, "-o", "json", HTTPS_PROXY=proxy.url.replace("http://", "bob:tunnel-PROXYPW@"),
                      HTTP_PROXY="http://127.0.0.1:1")
        assert run.code == 0, run.err
        assert [r.method for r in proxy.records] == ["CONNECT"]
        assert proxy.records[0].target == server.removeprefix("https://")
        assert proxy.records[0].headers.get("Proxy-Authorization") == auth
        assert len(proxy.records[0].tunneled) > 0 and TOKEN not in proxy.seen()  # TLS: the proxy cannot read it
        excluded = explain(cfg, "--request-timeout", "5s", HTTPS_PROXY=proxy.url, NO_PROXY="podfix.test")
        assert excluded.code == 1 and "cannot resolve" in excluded.err
        assert len(proxy.records) == 1


def test_refused_tunnel_names_the_proxy(https_api, pki, tmp_path):
    with RecordingProxy(require_auth="Basic nobody") as proxy:
        ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
        cfg = write_kubeconfig(tmp_path / "kc", https_api.url.replace("127.0.0.1", "api.podfix.test"), ca_data=ca)
        run = explain(cfg, HTTPS_PROXY=proxy.url)
        assert run.code == 1 and run.err.count("\n") == 1 and "Traceback" not in run.err
        assert f"through the proxy {proxy.url} (HTTPS_PROXY)" in run.err and "407" in run.err


# -- the registry client uses the same rules -------------------------------------------------------------

@pytest.fixture
def clean_proxy_env(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_registry_client_honours_no_proxy_like_the_api_server(clean_proxy_env, proxy):
    from kubectl_podfix.registry.errors import RegistryError
    from kubectl_podfix.registry.transport import Transport

    with FakeAPIServer() as endpoint:  # any HTTP server: /v2/ answers 404
        port = endpoint.url.rsplit(":", 1)[1]
        clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
        resp = Transport(f"registry.podfix.test:{port}", "http", True, 5).send("GET", "/v2/")
        assert resp.status == 404
        assert [r.target for r in proxy.records] == [f"http://registry.podfix.test:{port}/v2/"]
        for no_proxy in ("podfix.test", ".podfix.test", "*"):
            clean_proxy_env.setenv("no_proxy", no_proxy)
            with pytest.raises(RegistryError, match="cannot resolve"):
                Transport(f"registry.podfix.test:{port}", "http", True, 5).send("GET", "/v2/")
        assert len(proxy.records) == 1
        # loopback is never proxied (urllib's own rules would send it to the proxy)
        clean_proxy_env.delenv("no_proxy")
        clean_proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:1")
        assert Transport(f"127.0.0.1:{port}", "http", True, 5).send("GET", "/v2/").status == 404


def test_registry_client_refuses_cgi_http_proxy(clean_proxy_env):
    from kubectl_podfix.registry.errors import RegistryError
    from kubectl_podfix.registry.transport import Transport

    clean_proxy_env.setenv("HTTP_PROXY", "http://10.1.2.3:8080")
    clean_proxy_env.setenv("REQUEST_METHOD", "GET")
    with pytest.raises(RegistryError, match="CGI"):
        Transport("registry.podfix.test:5000", "http", True, 5).send("GET", "/v2/")


def test_environment_is_read_per_run_not_at_import(clean_proxy_env):
    clean_proxy_env.setenv("HTTPS_PROXY", "p:1")
    assert proxy_for("https://api.example.com", os.environ).url == "http://p:1"
    clean_proxy_env.setenv("NO_PROXY", "example.com")
    assert proxy_for("https://api.example.com", os.environ) is None
