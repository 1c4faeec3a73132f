"""The one scrubber (kubectl_podfix/redact.py): every value podfix holds as secret is removed from every
message it prints, whatever its source and in whatever form it is echoed.

Each test puts a sentinel password where a real system would echo it back: a proxy URL with an
unencoded ``@``, ``/`` and space (scheme-less too) in the node check's plan and log; an admission
webhook quoting the Secret's ``.dockerconfigjson`` (base64) and the password; a registry echoing the
password percent-encoded and base64 of ``user:password``. Needles: test_leaks.needles (raw, base64
fragments, double base64) plus the percent-encoded and JSON-escaped spellings.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from objects import pod as pod_obj
from objects import waiting
from test_leaks import needles

from kubectl_podfix import redact
from kubectl_podfix.cli.options import connect
from kubectl_podfix.nodecheck import run as check_run

PW = "PODFIX-SENTINEL p@ss/w0rd 7e3f"  # an unencoded "@", "/" and a space
PW2 = "PODFIX-SENTINEL-scheme-less-41c2"
REGISTRY_PW = "PODFIX-SENTINEL-registry-5d6e7f"
NS = "default"


def all_needles(secret: str) -> set[str]:
    return needles(secret) | {urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
                              json.dumps(secret)[1:-1]}


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        for needle in all_needles(secret):
            assert needle not in text, f"{secret!r} leaked as {needle!r}"
    # the password's own pieces, around the characters a naive redaction stops at
    for secret in secrets:
        for piece in secret.replace("@", " ").replace("/", " ").split():
            if len(piece) >= 8 and "SENTINEL" not in piece:
                assert piece not in text, f"a piece of {secret!r} leaked: {piece!r}"


@pytest.fixture(autouse=True)
def fresh_scrubber():
    redact.forget_all()
    yield
    redact.forget_all()


def test_scrubber_knows_every_form():
    redact.remember_login("bob", PW)
    encoded = base64.b64encode(json.dumps({"auths": {"r": {"password": PW}}}).encode()).decode()
    text = (f"raw {PW} / {urllib.parse.quote(PW)} / {urllib.parse.quote_plus(PW)} / "
            f"{base64.b64encode(f'bob:{PW}'.encode()).decode()} / {encoded} / {base64.b64encode(encoded.encode()).decode()}")
    assert_clean(redact.scrub(text), PW)
    assert redact.scrub("nothing secret here") == "nothing secret here"


@pytest.mark.parametrize("url, info", [
    (f"http://bob:{PW}@proxy.corp:3128", f"bob:{PW}"),
    (f"bob:{PW2}@proxy.corp:3128", f"bob:{PW2}"),
    ("http://proxy.corp:3128", None),
])
def test_proxy_userinfo_ends_at_the_last_at(url, info):
    found = redact.userinfo(url)
    assert (found[0] if found else None) == info


def test_proxy_credentials_never_reach_the_node_check_plan_or_log(api, kubeconfig):
    """The pod's proxy variables carry passwords with "@", "/" and a space, one without a scheme; the
    check pod's log echoes them raw (a tool printing its proxy, the script's sed outwitted)."""
    image = "registry.corp.example:5000/team/app:1.0"
    env = [{"name": "HTTPS_PROXY", "value": f"http://bob:{PW}@proxy.corp:3128"},
           {"name": "HTTP_PROXY", "value": f"bob:{PW2}@proxy.corp:3128"}]
    api.add(pod_obj("web", containers=[{"name": "app", "image": image, "env": env}], node="worker-1",
                    statuses=[waiting("app", "ErrImagePull", "dial tcp 10.0.0.5:5000: i/o timeout", image=image)]))
    log = ("PODFIX-CHECK begin v1 host=registry.corp.example port=5000 uid=65534\n"
           f"PODFIX-CHECK proxy HTTPS_PROXY=ss/w0rd 7e3f@proxy.corp:3128\n"
           f"PODFIX-CHECK proxy HTTP_PROXY={PW2}@proxy.corp:3128\n"
           "PODFIX-CHECK v2proxy fail rc=56 tool=curl\n"
           f"PODFIX-OUT v2proxy * Uses proxy env variable https_proxy == 'http://bob:{PW}@proxy.corp:3128'\n"
           f"PODFIX-OUT v2proxy curl: (56) CONNECT tunnel failed via bob:{PW2}@proxy.corp:3128\n"
           f"PODFIX-OUT v2proxy proxy said: {urllib.parse.quote(PW, safe='')}\n"
           "PODFIX-CHECK end\n")

    def kubelet(verb, obj):
        if verb == "create" and obj.get("kind") == "Pod" and obj["metadata"]["name"].startswith("podfix-node-check"):
            obj = json.loads(json.dumps(obj))
            obj["status"] = {"phase": "Succeeded"}
            api.add(obj)
            api.logs[(NS, obj["metadata"]["name"], "check", False)] = log
    api.on_write.append(kubelet)
    cluster = connect({"kubeconfig": kubeconfig})
    out, err = io.StringIO(), io.StringIO()
    report = check_run.run_check(cluster, NS, "web", yes=True, out=out, err=err, poll=0.02, timeout=10)
    text = out.getvalue() + err.getvalue() + check_run.report_text(report) + json.dumps(report.to_dict())
    assert "proxy.corp:3128" in text  # the proxy is named, without its credentials
    assert_clean(text, PW, PW2)
    # the check pod itself got the pod's own values (they go where the pod sends them)
    created = [r for r in api.requests if r.method == "POST" and r.path.endswith("/pods")][0].json
    assert {e["value"] for e in created["spec"]["containers"][0]["env"]} >= {env[0]["value"], env[1]["value"]}


def test_webhook_denial_quoting_the_docker_config_is_scrubbed(api, podfix):
    """An admission webhook denies the Secret and quotes it: the password, the docker config's base64,
    the auth field. Neither the error line nor the --debug detail shows any of it."""
    auth = base64.b64encode(f"u:{REGISTRY_PW}".encode()).decode()
    config = json.dumps({"auths": {"registry.example.com": {"username": "u", "password": REGISTRY_PW, "auth": auth}}},
                        separators=(",", ":"))
    said = (f'admission webhook "secrets.policy.example" denied the request: secret regcred: '
            f'.dockerconfigjson={base64.b64encode(config.encode()).decode()} holds a plain password '
            f'"{REGISTRY_PW}" (auth {auth})')
    api.fail("POST", r"/secrets$", 403, reason="Forbidden", message=said)
    run = podfix("secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
                 "--password-stdin", "-n", NS, "--yes", "--debug", stdin=REGISTRY_PW + "\n")
    assert run.code == 4, run.out + run.err
    assert "rejected by admission" in run.out + run.err and "secrets.policy.example" in run.out + run.err
    assert_clean(run.out + run.err, REGISTRY_PW)


class EchoingRegistry:
    """/v2/ asks for Basic auth, then answers 401 echoing what it got: the password percent-encoded and
    the Authorization header's base64 of user:password (as some misbehaving registries and proxies do)."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                got = self.headers.get("Authorization", "")
                body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
                if got.startswith("Basic "):
                    user, _, pw = base64.b64decode(got[6:]).decode().partition(":")
                    body["errors"][0]["message"] = (f"bad login {user}:{urllib.parse.quote(pw, safe='')} "
                                                    f"(header {got})")
                data = json.dumps(body).encode()
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="echo"')
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


def test_registry_echoing_the_password_url_encoded_is_scrubbed(api, podfix):
    reg = EchoingRegistry()
    try:
        run = podfix("secret", "regcred", "--docker-server", reg.host, "--docker-username", "u",
                     "--password-stdin", "-n", NS, "--verify", "--insecure-registry", "--yes", "--debug",
                     stdin=PW + "\n")
    finally:
        reg.close()
    assert run.code == 4, run.out + run.err
    assert "rejected the credentials for user 'u'" in run.err and "bad login u:***" in run.err
    assert_clean(run.out + run.err, PW)
