"""Every kubeconfig authentication method: sent as kubectl sends it, or refused in one line, never
a request as the wrong user (impersonation dropped) or as nobody (an auth provider podfix cannot use).

The real kubectl is the oracle where it can run against the loopback API server: the Impersonate-*
headers podfix sends are the ones kubectl sends for the same kubeconfig.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time

import pytest
import yaml
from clitools import ROOT, cli_env, have_kubectl, run_podfix
from objects import pod, waiting

PASSWORD = "PODFIX-URL-PASSWORD-sentinel-77c1"


def kubeconfig(tmp_path, server: str, user: dict, cluster: dict | None = None) -> str:
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}]}))
    return str(path)


@pytest.fixture
def shop(api):
    api.add(pod("web-1", namespace="shop", statuses=[waiting("app", "ImagePullBackOff", "Back-off pulling image")]))
    return api


def impersonation(requests) -> list[list[tuple[str, str]]]:
    return [[(k, v) for k, v in r.header_list if k.startswith("impersonate-")] for r in requests]


def jwt(exp: float) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'RS256'})}.{enc({'sub': 'alice', 'exp': int(exp)})}.c2ln"


IMPERSONATE = {"token": "t", "as": "bob", "as-uid": "1234", "as-groups": ["devs", "oncall"],
               "as-user-extra": {"scopes.example.com/team x": ["a", "b"]}}
# header names as the server reads them (lower case; client-go percent-encodes the extra key)
EXPECTED = [("impersonate-user", "bob"), ("impersonate-uid", "1234"), ("impersonate-group", "devs"),
            ("impersonate-group", "oncall"), ("impersonate-extra-scopes.example.com%2fteam%20x", "a"),
            ("impersonate-extra-scopes.example.com%2fteam%20x", "b")]


def test_impersonation_is_sent_on_every_request_like_kubectl(shop, tmp_path):
    path = kubeconfig(tmp_path, shop.url, IMPERSONATE)
    run = run_podfix(["explain", "web-1"], kubeconfig=path)
    assert run.code == 0, run.err
    sent = impersonation(shop.requests)
    assert sent and all(sorted(s) == sorted(EXPECTED) for s in sent), sent
    if have_kubectl():  # the oracle: the same headers for the same kubeconfig
        shop.clear_requests()
        subprocess.run(["kubectl", "get", "pod", "web-1", "-n", "shop", "--request-timeout", "10s"], env=cli_env(path),
                       capture_output=True, timeout=60, cwd=ROOT)
        kubectl = [s for s, r in zip(impersonation(shop.requests), shop.requests) if r.path.endswith("/web-1")]
        assert kubectl and sorted(kubectl[0]) == sorted(EXPECTED)


def test_impersonation_reaches_the_watch_too(shop, tmp_path):
    path = kubeconfig(tmp_path, shop.url, IMPERSONATE)
    run = run_podfix(["wait", "web-1", "--timeout", "2s"], kubeconfig=path)
    assert "Traceback" not in run.err
    watches = [r for r in shop.requests if r.query.get("watch")]
    assert watches and all(sorted(s) == sorted(EXPECTED) for s in impersonation(watches))


@pytest.mark.parametrize("user, words", [
    ({"token": "t", "as-groups": ["devs"]}, "requesting uid, groups or user-extra for u without impersonating a user"),
    ({"token": "t", "as": "bob\nImpersonate-Group: system:masters"}, "is not a single line of text"),
    ({"token": "t", "username": "a", "password": "b"}, "more than one authentication method found for u; found "
                                                       "[token basicAuth], only one is allowed"),
    ({"auth-provider": {"name": "gcp", "config": {"access-token": "x"}}}, "The gcp auth plugin has been removed"),
    ({"auth-provider": {"name": "azure", "config": {"access-token": "x"}}}, "The azure auth plugin has been removed"),
    ({"auth-provider": {"name": "nope"}}, 'no Auth Provider found for name "nope"'),
    ({"auth-provider": {"name": "oidc", "config": {"id-token": "not-a-jwt"}}}, "is not a valid JWT"),
    ({"auth-provider": {"name": "oidc", "config": {"id-token": jwt(time.time() - 60),
                                                   "refresh-token": "r"}}}, "has expired"),
    ({"auth-provider": {"name": "oidc", "config": {"client-id": "c"}}}, "has no id-token"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "true"},
      "auth-provider": {"name": "oidc"}}, "authProvider cannot be provided in combination with an exec plugin"),
    # an exec section client-go refuses, with kubectl's words (these were a KeyError's text, or ran the plugin)
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true", "interactiveMode": "Bogus"}},
     'invalid interactiveMode for u: "Bogus"'),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true", "interactiveMode": "Never",
               "env": [{"value": "x"}]}}, "env variable name must be specified for u"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true", "interactiveMode": "Never",
               "args": [5]}}, "exec args must be strings"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Never"}},
     "command must be specified for u"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true", "interactiveMode": "Always"}},
     "needs a terminal (interactiveMode: Always), and standard input is not a terminal"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/nonexistent/cloud-login",
               "interactiveMode": "Never", "installHint": "install it:\n  brew install cloud-login"}},
     "(install it: brew install cloud-login)"),
])
def test_unusable_credentials_are_one_line_and_no_request_is_sent(shop, tmp_path, user, words):
    run = run_podfix(["explain", "web-1"], kubeconfig=kubeconfig(tmp_path, shop.url, user), stdin="")
    assert run.code == 1, run.err
    assert words in run.err and len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err, run.err
    assert shop.requests == []  # never an anonymous request, never one as the wrong user


def test_oidc_id_token_is_sent_while_it_is_valid(shop, tmp_path):
    token = jwt(time.time() + 3600)
    path = kubeconfig(tmp_path, shop.url, {"auth-provider": {"name": "oidc", "config": {"id-token": token}}})
    run = run_podfix(["explain", "web-1"], kubeconfig=path)
    assert run.code == 0, run.err
    assert {r.headers.get("authorization") for r in shop.requests} == {f"Bearer {token}"}


def test_server_url_credentials_are_never_printed_and_go_as_basic_auth(shop, tmp_path):
    url = shop.url.replace("http://", f"http://alice:{PASSWORD}@")
    run = run_podfix(["explain", "web-1", "--debug"], kubeconfig=kubeconfig(tmp_path, url, {}))
    assert run.code == 0, run.err
    basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert {r.headers.get("authorization") for r in shop.requests} == {basic}  # Go's http.Client does the same
    for where, port in (("refused", "1"), ("not a URL", None)):
        server = f"http://alice:{PASSWORD}@127.0.0.1:{port}" if port else f"http://alice:{PASSWORD}@[::1"
        run = run_podfix(["explain", "web-1", "--debug"], kubeconfig=kubeconfig(tmp_path, server, {}))
        assert run.code == 1 and "Traceback" not in run.err, run.err
        assert PASSWORD not in run.out + run.err, (where, run.err)


def test_insecure_skip_tls_verify_with_a_ca_is_refused_like_kubectl(tmp_path):
    path = kubeconfig(tmp_path, "https://127.0.0.1:1", {"token": "t"},
                      {"insecure-skip-tls-verify": True, "certificate-authority": os.devnull})
    run = run_podfix(["explain", "web-1"], kubeconfig=path)
    assert run.code == 1
    assert "specifying a root certificates file with the insecure flag is not allowed" in run.err
    assert len(run.err.strip().splitlines()) == 1


EXEC_TOKEN = "PODFIX-EXEC-TOKEN-sentinel-4b2e"


@pytest.mark.parametrize("status, words", [
    ({"token": f"{EXEC_TOKEN}\nX-Injected: 1"}, "returned a token that is not a single line of text"),
    ({"token": 12345678}, "returned a malformed ExecCredential (status.token is not a string)"),
    ({"clientCertificateData": 5, "clientKeyData": 6}, "(status.clientCertificateData is not a string)"),
    ([EXEC_TOKEN], "returned a malformed ExecCredential (its status is not a mapping)"),
])
def test_a_malformed_exec_credential_is_one_line_and_never_shows_the_token(shop, tmp_path, status, words):
    """An exec plugin's answer is checked like kubectl's decoding checks it: a token with a newline used to
    reach http.client, whose refusal quoted the header, token included, in the error line."""
    plugin = tmp_path / "plugin"
    plugin.write_text("#!/bin/sh\ncat <<'EOF'\n" + json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": status}) + "\nEOF\n")
    plugin.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}}
    run = run_podfix(["explain", "web-1", "--debug"], kubeconfig=kubeconfig(tmp_path, shop.url, user))
    assert run.code == 1, run.err
    assert words in run.err and "Traceback" not in run.err and "internal error" not in run.err, run.err
    assert EXEC_TOKEN not in run.out + run.err
    assert shop.requests == []


def test_an_exec_env_entry_with_a_name_alone_is_an_empty_value(shop, tmp_path):
    plugin = tmp_path / "plugin"
    plugin.write_text("#!/bin/sh\n[ -z \"$EMPTY\" ] && echo '" + json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "from-exec"}})
        + "'\n")
    plugin.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never",
                     "env": [{"name": "EMPTY"}]}}
    run = run_podfix(["explain", "web-1"], kubeconfig=kubeconfig(tmp_path, shop.url, user))
    assert run.code == 0, run.err
    assert {r.headers.get("authorization") for r in shop.requests} == {"Bearer from-exec"}


@pytest.mark.parametrize("user, cluster, words", [
    ({"client-certificate-data": "aGVsbG8="}, {},
     "client-key-data or client-key must be specified for u to use the clientCert authentication method"),
    ({"client-key": os.devnull}, {}, "client-certificate-data or client-certificate must be specified for u"),
    ({"client-certificate": "/nonexistent/cert", "client-key": "/nonexistent/key"}, {},
     "unable to read client-cert /nonexistent/cert for u due to open /nonexistent/cert: no such file or directory"),
    ({"token": "t"}, {"certificate-authority": "/nonexistent/ca"},
     "unable to read certificate-authority /nonexistent/ca for c due to open /nonexistent/ca: no such file"),
    ({"token": "t"}, {"certificate-authority": "/"}, "unable to read certificate-authority / for c due to read /: "
                                                     "is a directory"),
    ({"token": "t"}, {"certificate-authority": "FIFO"}, "due to read FIFO: not a regular file"),
    ({"client-certificate": os.devnull, "client-key": "FIFO"}, {}, "unable to read client-cert /dev/null for u due "
                                                                 "to read /dev/null: not a regular file"),
    ({"token": "t"}, {"certificate-authority": os.devnull, "certificate-authority-data": "aGVsbG8="},
     "certificate-authority-data and certificate-authority are both specified for c"),
    ({"client-certificate": os.devnull, "client-certificate-data": "aGVsbG8=", "client-key": os.devnull}, {},
     "client-cert-data and client-cert are both specified for u"),
])
def test_certificate_fields_kubectl_refuses_are_refused_before_any_request(shop, tmp_path, user, cluster, words):
    """A client certificate without its key sent the requests anonymously; a missing file failed later as a
    TLS error or a dropped connection. kubectl refuses each of these files, in these words."""
    fifo = tmp_path / "fifo"  # a FIFO nobody writes: OpenSSL's read of it held podfix until Ctrl-C
    os.mkfifo(fifo)
    user = {k: str(fifo) if v == "FIFO" else v for k, v in user.items()}
    cluster = {k: str(fifo) if v == "FIFO" else v for k, v in cluster.items()}
    words = words.replace("FIFO", str(fifo))
    run = run_podfix(["explain", "web-1"], kubeconfig=kubeconfig(tmp_path, shop.url.replace("http:", "https:"), user,
                                                                 cluster), timeout=20)
    assert run.code == 1, run.err
    assert words in run.err and len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err, run.err
    assert shop.requests == []
