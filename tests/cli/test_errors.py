"""The error matrix: every failure mode gives one clear line, the documented exit code, no traceback.

Each case runs the installed CLI against the loopback API server configured to fail
(tests/apiserver/: fail(), deny(), token auth, slow answers, dropped connections).
docs/errors.md is the table these tests hold to.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from decimal import Decimal

import pytest
import yaml
from apiserver import FakeAPIServer
from clitools import run_podfix
from objects import event, pod, waiting

from kubectl_podfix import errors
from kubectl_podfix.errors import Exit, PodfixError, UsageError


def one_line(run, code: int, *fragments: str) -> str:
    """Assert the run failed with ``code`` and exactly one ``error:`` line holding every fragment."""
    assert run.code == code, (run.code, run.err)
    assert "Traceback" not in run.err + run.out
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def crashing(name="web-1", namespace="shop"):
    return pod(name, namespace=namespace, phase="Running",
               statuses=[waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container", restarts=7)])


# -- connection and credentials ----------------------------------------------------------------

def test_unreachable_names_server_and_context(tmp_path):
    server = FakeAPIServer().start()
    cfg = server.write_kubeconfig(str(tmp_path / "kc"), context="prod-eu")
    server.stop()
    line = one_line(run_podfix(["explain", "x"], kubeconfig=cfg), Exit.ERROR, "cannot reach the API server",
                    server.url, "prod-eu", "connection refused")
    assert "VPN" in line


def test_unresolvable_host(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://api.does-not-exist.invalid:6443"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    one_line(run_podfix(["explain", "x", "--request-timeout", "5s"], kubeconfig=str(kc)), Exit.ERROR,
             "api.does-not-exist.invalid", "context c")


@pytest.fixture
def tls_server(tmp_path):
    """A TLS listener with a self-signed certificate the client does not trust."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(5)
                ctx.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    sock.close()


def test_tls_verification_failure(tls_server, tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "tls",
        "clusters": [{"name": "tls", "cluster": {"server": tls_server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "tls", "context": {"cluster": "tls", "user": "u"}}]}))
    one_line(run_podfix(["explain", "x"], kubeconfig=str(kc)), Exit.ERROR, "TLS verification", tls_server,
             "certificate verify failed", "certificate-authority")


def test_expired_credentials_401(tmp_path):
    with FakeAPIServer(token="the-right-token") as server:
        cfg = server.write_kubeconfig(str(tmp_path / "kc"), token="an-expired-token")
        line = one_line(run_podfix(["explain", "x", "-n", "shop"], kubeconfig=cfg), Exit.ERROR, "401",
                        "expired", "log in again")
        assert "an-expired-token" not in line


def test_exec_plugin_failure_is_surfaced_not_sent_unauthenticated(tmp_path):
    with FakeAPIServer(token="t0k") as server:
        kc = tmp_path / "kc"
        kc.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "eks",
            "clusters": [{"name": "eks", "cluster": {"server": server.url}}],
            "users": [{"name": "u", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
                "args": ["-c", "echo 'the SSO session has expired' >&2; exit 1"], "interactiveMode": "Never"}}}],
            "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "u"}}]}))
        run = run_podfix(["explain", "x"], kubeconfig=str(kc))
        one_line(run, Exit.ERROR, "exec credential plugin", "'sh'", "eks")
        assert server.requests == []  # nothing was sent without credentials


# -- RBAC ------------------------------------------------------------------------------------

def test_forbidden_get_names_verb_resource_namespace_and_rule(api, podfix):
    api.add(crashing())
    api.deny("get", "pods", "shop")
    line = one_line(podfix("explain", "web-1", "-n", "shop"), Exit.ERROR, 'cannot get resource "pods"',
                    'namespace "shop"', "kubectl create role", "--verb=get --resource=pods -n shop")
    assert "rolebinding" in line


def test_forbidden_list_in_scope_and_group_qualified_resource(api, podfix):
    api.add(crashing())
    api.deny("list", "pods", "shop")
    one_line(podfix("explain", "-n", "shop"), Exit.ERROR, 'cannot list resource "pods"',
             "--verb=list --resource=pods -n shop")
    api.deny("get", "deployments.apps", "shop")
    one_line(podfix("explain", "deploy/web", "-n", "shop"), Exit.ERROR, 'cannot get resource "deployments"',
             "--resource=deployments.apps -n shop")


def test_forbidden_cluster_scope_needs_a_clusterrole(api, podfix):
    api.add(crashing())
    api.deny("list", "pods")
    one_line(podfix("explain", "-A"), Exit.ERROR, "at the cluster scope",
             "kubectl create clusterrole", "--verb=list --resource=pods")


def test_forbidden_events_degrades_to_a_warning_not_an_error(api, podfix):
    p = crashing()
    api.add(p, event(p, "BackOff", "Back-off restarting failed container", container="app"))
    api.deny("list", "events", "shop")
    run = podfix("explain", "web-1", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    assert any("events could not be listed" in w for w in run.json.get("warnings", [])), run.json


def test_forbidden_write_is_refused_exit_code():
    message, code = errors.api_error(403, "Forbidden", 'pods "a" is forbidden: User "u" cannot delete resource '
                                     '"pods" in API group "" in the namespace "shop"', "DELETE",
                                     "/api/v1/namespaces/shop/pods/a")
    assert code == Exit.REFUSED
    assert "--verb=delete --resource=pods -n shop" in message


@pytest.mark.parametrize("said", [
    'admission webhook "validate.kyverno.svc-fail" denied the request: policy require-labels: label app is required',
    'pods "p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
    'pods "p" is forbidden: exceeded quota: compute, requested: memory=2Gi, used: memory=7Gi, limited: memory=8Gi',
    'pods "p" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi',
])
def test_admission_denial_is_reported_as_admission_not_rbac(said):
    message, code = errors.api_error(403, "Forbidden", said, "POST", "/api/v1/namespaces/shop/pods")
    assert code == 4 and message.startswith(f"rejected by admission: {said}.")
    assert "not a missing permission" in message and "create role" not in message
    rbac = 'pods "p" is forbidden: User "u" cannot create resource "pods" in API group "" in the namespace "shop"'
    assert "create role" in errors.api_error(403, "Forbidden", rbac, "POST", "/api/v1/namespaces/shop/pods")[0]


def test_rbac_attributes_of_paths():
    attrs = errors.request_attributes("GET", "/api/v1/namespaces/shop/pods/web-1/log")
    assert attrs == {"verb": "get", "group": "", "resource": "pods/log", "namespace": "shop", "name": "web-1"}
    attrs = errors.request_attributes("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web")
    assert (attrs["verb"], attrs["group"], attrs["resource"]) == ("patch", "apps", "deployments")
    assert errors.request_attributes("GET", "/api/v1/nodes")["verb"] == "list"
    assert errors.request_attributes("DELETE", "/api/v1/namespaces/x/pods")["verb"] == "deletecollection"
    assert "--resource=pods/log -n shop" in errors.rbac_rule("get", "", "pods/log", "shop")
    assert "--resource=deployments.apps/scale" in errors.rbac_rule("update", "apps", "deployments/scale", "shop")


# -- not found ---------------------------------------------------------------------------------

def test_pod_not_found_suggests_similar_names_and_other_namespaces(api, podfix):
    api.add(crashing("web-7c9d8b6f5d-x2lqp"), crashing("web-7c9d8b6f5d-k8d9w"), crashing("db-0"),
            crashing("db-0", namespace="prod"), crashing("db-0", namespace="staging"))
    line = one_line(podfix("explain", "web", "-n", "shop"), Exit.ERROR, 'pod "web" not found in namespace "shop"',
                    "similar pods here", "web-7c9d8b6f5d-k8d9w")
    assert "db-0" not in line
    line = one_line(podfix("explain", "db-1", "-n", "shop"), Exit.ERROR, "db-0")
    line = one_line(podfix("explain", "db-0", "-n", "default"), Exit.ERROR, 'not found in namespace "default"',
                    "prod", "staging", "-n prod")


def test_pod_not_found_elsewhere_search_is_skipped_when_forbidden(api, podfix):
    api.add(crashing("web-1"), crashing("api-1", namespace="prod"))
    api.deny("list", "pods")  # cluster-wide and per namespace
    one_line(podfix("explain", "api-1", "-n", "shop"), Exit.ERROR, 'pod "api-1" not found in namespace "shop"',
             "kubectl get pods -n shop")


def test_pod_not_found_costs_requests_only_on_the_error_path(api, podfix):
    api.add(crashing("web-1"))
    api.clear_requests()
    run = podfix("explain", "web-1", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    assert not any(r.path.startswith("/api/v1/namespaces/shop/pods") and not r.path.endswith(("web-1", "log"))
                   for r in api.requests)
    assert api.count("GET", "/api/v1/namespaces/shop") == len(api.requests)  # no namespace lookups


def test_unknown_namespace(api, podfix):
    api.add(crashing("web-1"))
    one_line(podfix("explain", "web-1", "-n", "shpo"), Exit.ERROR, 'pod "web-1" not found in namespace "shpo"',
             "that namespace does not exist", "shop")
    one_line(podfix("explain", "-n", "shpo"), Exit.ERROR, 'namespace "shpo" does not exist', "did you mean shop")


def test_workload_not_found(api, podfix):
    api.add(crashing("web-1"))
    one_line(podfix("explain", "deploy/nope", "-n", "shop"), Exit.ERROR, 'deployment "nope" not found')


def test_api_not_installed_404():
    message, code = errors.api_error(404, "NotFound", "the server could not find the requested resource", "GET",
                                     "/apis/metrics.k8s.io/v1beta1/namespaces/x/pods")
    assert code == Exit.ERROR and "does not serve" in message and "metrics" in message


# -- conflicts and validation (the write path, through Cluster itself) -------------------------------

@pytest.fixture
def cluster(api, kubeconfig):
    from kubectl_podfix.cluster.api import Cluster
    from kubectl_podfix.cluster.kubeconfig import load

    return Cluster(load(kubeconfig=kubeconfig))


def test_409_already_exists_and_conflict(api, cluster):
    from kubectl_podfix.cluster.api import ApiError

    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
            "data": {"a": "1"}}
    created = cluster.create("ConfigMap", "shop", body)
    with pytest.raises(ApiError) as info:
        cluster.create("ConfigMap", "shop", body)
    assert info.value.status == 409 and info.value.code == Exit.ERROR
    assert info.value.message.startswith("already exists: ") and '"cfg" already exists' in info.value.message
    stale = dict(created, data={"a": "2"})
    cluster.replace("ConfigMap", "shop", "cfg", dict(created, data={"a": "3"}))
    with pytest.raises(ApiError) as info:
        cluster.replace("ConfigMap", "shop", "cfg", stale)
    assert info.value.status == 409
    assert info.value.message.startswith("conflict: ") and "run the command again" in info.value.message
    assert "\n" not in info.value.message


def test_422_quotes_the_servers_message(api, cluster):
    from kubectl_podfix.cluster.api import ApiError

    api.fail("POST", "/configmaps$", 422, reason="Invalid",
             message='ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase '
                     'RFC 1123 subdomain must consist of lower case alphanumeric characters')
    with pytest.raises(ApiError) as info:
        cluster.create("ConfigMap", "shop", {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": "Bad_Name"}})
    assert info.value.status == 422
    assert info.value.message == ('the API server rejected the request as invalid: ConfigMap "Bad_Name" is invalid: '
                                  'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must '
                                  'consist of lower case alphanumeric characters')


def test_writes_are_not_retried_on_500(api, cluster):
    from kubectl_podfix.cluster.api import ApiError

    api.fail("POST", "/configmaps$", 500, message="etcdserver: request timed out")
    with pytest.raises(ApiError) as info:
        cluster.create("ConfigMap", "shop", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert api.count("POST") == 1
    assert "etcdserver: request timed out" in info.value.message


# -- throttling, server errors, slow and dropped answers -------------------------------------------

def test_429_is_retried_honouring_retry_after(api, podfix):
    api.add(crashing())
    api.fail("GET", "/pods/web-1$", 429, retry_after=1, times=2)
    started = time.monotonic()
    run = podfix("explain", "web-1", "-n", "shop")
    assert run.code == 0, run.err
    assert time.monotonic() - started >= 2.0
    assert api.count("GET", "/api/v1/namespaces/shop/pods/web-1") >= 3


def test_429_forever_is_bounded(api, podfix):
    api.add(crashing())
    api.fail("GET", "/pods/web-1$", 429, retry_after=0)
    line = one_line(podfix("explain", "web-1", "-n", "shop"), Exit.ERROR, "429", "throttling", "4 attempts")
    assert api.count("GET", "/api/v1/namespaces/shop/pods/web-1") == 4, line


def test_5xx_is_retried_then_reported(api, podfix):
    api.add(crashing())
    api.fail("GET", "/pods/web-1$", 503, times=1)
    assert podfix("explain", "web-1", "-n", "shop").code == 0
    api.fail("GET", "/pods/web-1$", 500, message="etcdserver: leader changed", retry_after=0)
    one_line(podfix("explain", "web-1", "-n", "shop"), Exit.ERROR, "failed to get pods 'web-1'",
             "500", "etcdserver: leader changed", "after 4 attempts", "cluster's health")


def test_slow_server_times_out_with_request_timeout(api, podfix):
    api.add(crashing())
    api.fail("GET", "/pods/web-1$", None, delay=4)
    started = time.monotonic()
    one_line(podfix("explain", "web-1", "-n", "shop", "--request-timeout", "1s"), Exit.ERROR,
             "did not answer", "in time", "--request-timeout", api.url)
    assert time.monotonic() - started < 3.9


def test_dropped_connection(api, podfix):
    api.add(crashing())
    api.fail("GET", "/pods/web-1$", None, drop=True, times=1)  # once: the read is retried
    assert podfix("explain", "web-1", "-n", "shop").code == 0
    api.fail("GET", "/pods/web-1$", None, drop=True)
    one_line(podfix("explain", "web-1", "-n", "shop"), Exit.ERROR, "closed the connection without answering",
             api.url)


def test_not_json_answer():
    # a proxy's HTML error page where the API server should be
    from kubectl_podfix.errors import transport_error

    assert "connection refused" in transport_error("Max retries exceeded (Caused by NewConnectionError("
                                                   "'Failed to establish a new connection: [Errno 111] Connection "
                                                   "refused'))", "https://x:6443", "c")


# -- local input: kubeconfig, flags, files ------------------------------------------------------------

def test_bad_request_timeout_is_usage(api, podfix):
    one_line(podfix("explain", "x", "--request-timeout", "soon"), Exit.USAGE, "invalid --request-timeout 'soon'")


@pytest.mark.parametrize("args", [("explain", "web-1", "--request-timeout", "99999999999h"),
                                  ("explain", "--request-timeout", "9223372037"),
                                  ("wait", "deploy/web", "--timeout", "2562048h"),
                                  ("fix", "memory", "web-1", "--timeout", "99999999999h"),
                                  ("node-check", "web-1", "--timeout", "99999999999h")])
def test_a_duration_longer_than_go_holds_is_usage_not_a_traceback(api, podfix, args):
    # kubectl refuses it (time.ParseDuration); podfix used to crash its deadline thread (OverflowError)
    one_line(podfix(*args), Exit.USAGE, "invalid --")
    assert api.requests == []


def test_unknown_context(api, podfix):
    one_line(podfix("explain", "x", "--context", "nope"), Exit.USAGE, 'context "nope" does not exist',
             "known contexts: fake")


def test_malformed_and_missing_kubeconfig(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n  - name: x\n    cluster: {server: \n")
    one_line(run_podfix(["explain", "x"], kubeconfig=str(bad)), Exit.ERROR, str(bad), "not valid YAML", "line")
    one_line(run_podfix(["explain", "x", "--kubeconfig", str(tmp_path / "nope")]), Exit.ERROR,
             "not found", "--kubeconfig")
    listy = tmp_path / "list"
    listy.write_text("- a\n- b\n")
    one_line(run_podfix(["explain", "x"], kubeconfig=str(listy)), Exit.ERROR, "is not a kubeconfig")
    from clitools import cli_env
    env = cli_env(str(tmp_path / "absent"), HOME=str(tmp_path))
    one_line(run_podfix(["explain", "x"], env=env), Exit.ERROR, "no kubeconfig found", "-f FILE")


def test_invalid_flag_values_are_usage(api, podfix):
    one_line(podfix("explain", "-o", "table"), Exit.USAGE, "'table' is not one of", "--help")
    one_line(podfix("explain", "--no-such-flag"), Exit.USAGE, "No such option")
    one_line(podfix("explain", "widget/x"), Exit.USAGE, "invalid target 'widget/x'", "TYPE/NAME")
    one_line(podfix("explain", "deploy/"), Exit.USAGE, "invalid target")
    one_line(podfix("explain", "x", "-A"), Exit.USAGE, "cannot be combined")


def test_invalid_selectors_are_usage(api, podfix):
    api.add(crashing())
    one_line(podfix("explain", "-n", "shop", "-l", "app in (web"), Exit.USAGE, "invalid -l/--selector 'app in (web'")
    one_line(podfix("explain", "-n", "shop", "-l", "a=b=c"), Exit.USAGE, "invalid -l/--selector")
    one_line(podfix("explain", "-n", "shop", "--field-selector", "spec.color=red"), Exit.USAGE,
             "invalid --field-selector 'spec.color=red'", "spec.color")


@pytest.mark.parametrize("text,fragments", [
    ("kind: Pod\nmetadata: {name: a\n", ["document 1", "line"]),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n- 1\n- [2\n", ["document 2", "line"]),
    ("---\n42\n", ["document 1", "expected a Kubernetes object, got int"]),
    ("kind: List\nitems:\n- {kind: Pod, metadata: {name: a}}\n- {metadata: {name: b}}\n",
     ["document 1, item 2", "no kind"]),
    ("kind: Pod\nmetadata: [a]\n", ["document 1, item 1", "metadata must be a mapping, not a list"]),
    ("kind: List\nitems:\n- kind: Pod\n  metadata: {name: web-1}\n  spec: {containers: [{name: a, resources: "
     "{limits: 5}}]}\n", ["document 1, item 1 (Pod web-1)", "spec.containers[0].resources.limits must be a mapping"]),
    ("---\n---\nkind: Pod\nmetadata: {name: a}\nstatus: {containerStatuses: [{restartCount: many}]}\n",
     ["document 2", "status.containerStatuses[0].restartCount must be an integer, not a string"]),
])
def test_malformed_bundle_files_name_file_document_and_problem(tmp_path, text, fragments):
    f = tmp_path / "broken.yaml"
    f.write_text(text)
    one_line(run_podfix(["explain", "-f", str(f)]), Exit.ERROR, str(f), *fragments)


def test_bundle_file_problems(tmp_path):
    one_line(run_podfix(["explain", "-f", str(tmp_path / "gone.yaml")]), Exit.ERROR, "gone.yaml: no such file")
    (tmp_path / "empty").mkdir()
    one_line(run_podfix(["explain", "-f", str(tmp_path / "empty")]), Exit.ERROR, "a directory with no .yaml")
    binary = tmp_path / "x.yaml"
    binary.write_bytes(b"\xff\xfe\x00kind")
    one_line(run_podfix(["explain", "-f", str(binary)]), Exit.ERROR, "not a text file")
    empty = tmp_path / "empty.yaml"
    empty.write_text("---\n")
    one_line(run_podfix(["explain", "-f", str(empty)]), Exit.ERROR, "no Pod objects")


# -- quantities (fix memory --limit and friends) -------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("1Ki", 1024), ("768Mi", 768 * 2 ** 20), ("0.5Gi", 2 ** 29), ("1M", 10 ** 6), ("250m", Decimal("0.25")),
    ("1e3", 1000), ("1E3", 1000), ("1.5", Decimal("1.5")), (".5", Decimal("0.5")), ("2k", 2000),
])
def test_parse_quantity(text, value):
    from kubectl_podfix.fix.quantity import parse_quantity

    assert parse_quantity(text, "--limit") == Decimal(value)


@pytest.mark.parametrize("text", ["Ki", "M", "NaN", "1_000", " 1", "1 Gi", "2ki", "1GB", "", "0x10", "1e", "Infinity"])
def test_parse_quantity_rejects_with_the_flag_name(text):
    from kubectl_podfix.fix.quantity import parse_quantity

    with pytest.raises(UsageError) as info:
        parse_quantity(text, "--limit")
    assert info.value.code == Exit.USAGE and "invalid --limit" in info.value.message


def test_negative_quantity_and_formatting():
    from kubectl_podfix.fix.quantity import format_quantity, parse_quantity

    with pytest.raises(UsageError):
        parse_quantity("-1Gi", "--memory")
    assert parse_quantity("-1", "--delta", allow_negative=True) == -1
    assert [format_quantity(v) for v in (768 * 2 ** 20, 2 ** 30, 1536 * 2 ** 20, 2 ** 29, 1000, 10 ** 9)] == \
        ["768Mi", "1Gi", "1536Mi", "512Mi", "1k", "1G"]
    assert format_quantity(2 ** 30 + 1) == "1025Mi"  # rounded up, never down
    assert format_quantity(Decimal("0.25")) == "250m"
    assert format_quantity(parse_quantity("0.5Gi")) == "512Mi"
    assert format_quantity(0) == "0"


def test_quantity_does_not_import_the_whole_client():
    # Only the quantity module is loaded, through kube.py's light package stubs (which also work
    # inside the zipapp): no client, config or models.
    code = ("import sys; from kubectl_podfix.fix.quantity import parse_quantity; parse_quantity('1Gi'); "
            "print(' '.join(sorted(m for m in sys.modules if m == 'kubernetes' or m.startswith('kubernetes.'))))")
    out = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["kubernetes", "kubernetes.utils", "kubernetes.utils.quantity"]


# -- --debug ----------------------------------------------------------------------------------------------

def test_debug_shows_requests_and_underlying_error_but_no_traceback(api, podfix):
    api.add(crashing())
    api.deny("get", "pods", "shop")
    for flag in ("--debug", "-v"):
        run = podfix("explain", "web-1", "-n", "shop", flag)
        assert run.code == Exit.ERROR
        assert "Traceback" not in run.err
        assert "GET /api/v1/namespaces/shop/pods/web-1 -> 403" in run.err  # the request made
        assert '"reason":"Forbidden"' in run.err.replace(" ", "")  # the underlying Status
        assert run.err.strip().splitlines()[-1].startswith("error: forbidden")


def test_debug_on_transport_error_shows_the_exception(tmp_path):
    server = FakeAPIServer().start()
    cfg = server.write_kubeconfig(str(tmp_path / "kc"))
    server.stop()
    run = run_podfix(["explain", "x", "--debug"], kubeconfig=cfg)
    assert run.code == Exit.ERROR and "Traceback" not in run.err
    assert "MaxRetryError" in run.err or "NewConnectionError" in run.err or "Connection refused" in run.err


def test_every_error_is_a_podfix_error_with_a_documented_code():
    documented = {int(c) for c in Exit}
    for status in (400, 401, 403, 404, 405, 409, 410, 415, 422, 429, 500, 502, 503, 504):
        for method in ("GET", "POST", "PATCH", "DELETE"):
            message, code = errors.api_error(status, "X", "m", method, "/api/v1/namespaces/a/pods/b",
                                             query={"labelSelector": "a"})
            assert code in documented and message and "\n" not in message
    assert isinstance(UsageError("x"), PodfixError)
    json.dumps({"ok": True})


# -- RBAC preflight before writes (the fix engine's; tested here only when the secret command exists) --------

def _has_secret_command() -> bool:
    import click

    from kubectl_podfix.cli.root import cli
    return cli.get_command(click.Context(cli), "secret") is not None


@pytest.mark.skipif(not _has_secret_command(), reason="the secret command is not there yet")
def test_denied_preflight_writes_nothing(api, podfix):
    image = "registry.example.com/team/api:1.4"
    p = pod("api-1", namespace="shop", owner=("ReplicaSet", "api-7d9f"), pull_secrets=["regcred"],
            containers=[{"name": "api", "image": image}],
            statuses=[waiting("api", "ImagePullBackOff", f'Back-off pulling image "{image}"', image=image)])
    api.add(p, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}})
    api.deny("create", "secrets", "shop")
    api.clear_requests()
    run = podfix("secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
                 "--password-stdin", "-n", "shop", "--for", "api-1", "--restart", "--yes", stdin="pw\n")
    assert run.code == Exit.REFUSED, run.err + run.out
    assert "Traceback" not in run.err
    assert "create secrets" in run.out + run.err and 'namespace "shop"' in run.out + run.err
    writes = [(r.method, r.path) for r in api.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert writes and all(path.endswith("/selfsubjectaccessreviews") for _, path in writes), writes
    assert api.get("Secret", "shop", "regcred") is None
    assert api.get("Pod", "shop", "api-1") is not None
