"""The error contract on hostile answers and files: one clear line, never a crash or a wrong hint.

Retry-After values that are not a number of seconds, a proxy's HTML 403 (not RBAC), kubeconfig
fields of the wrong type (as kubectl refuses them), unquoted YAML timestamps in -f files (read
as kubectl reads them).
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from clitools import cli_env, one_error_line, run_podfix
from hostile import raw
from objects import pod
from proxyserver import RecordingProxy

from kubectl_podfix.cluster import bundle


@pytest.mark.parametrize("retry_after", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-5"])
def test_retry_after_that_is_not_a_number_of_seconds_does_not_crash(api, podfix, retry_after):
    api.add(pod("web-1", namespace="shop"))
    api.fail("GET", r"/pods/web-1$", 503, retry_after=retry_after)
    started = time.monotonic()
    line = one_error_line(podfix("explain", "web-1", "-n", "shop"))
    assert "503" in line and "after 4 attempts" in line
    assert time.monotonic() - started < 10  # the default back-off (0.5 + 1 + 2 s), not a 10 s wait each


def test_a_huge_retry_after_does_not_outlast_the_request_timeout(api, podfix):
    api.add(pod("web-1", namespace="shop"))
    api.fail("GET", r"/pods/web-1$", 429, retry_after="99999999999")
    started = time.monotonic()
    line = one_error_line(podfix("explain", "web-1", "-n", "shop", "--request-timeout", "3s"))
    assert "429" in line and time.monotonic() - started < 6


HTML = (b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1>"
        b"<p>Request blocked by the corporate proxy.</p></body></html>")


def test_an_html_403_is_not_rbac(api, podfix):
    api.answer("GET", r"/pods/web-1$", raw(HTML, status=403, headers={"Content-Type": "text/html"}))
    line = one_error_line(podfix("explain", "web-1", "-n", "shop"))
    assert "a proxy or gateway in front of the API server refused GET /api/v1/namespaces/shop/pods/web-1" in line
    assert "an HTML page: 403 Forbidden" in line and "not RBAC" in line
    assert "kubectl create role" not in line and "<" not in line


def test_a_proxys_html_403_is_not_rbac(api, tmp_path):
    with RecordingProxy(html_403=True) as proxy:
        cfg = api.write_kubeconfig(str(tmp_path / "kc"))
        doc = yaml.safe_load(open(cfg))
        doc["clusters"][0]["cluster"]["server"] = api.url.replace("127.0.0.1", "api.podfix.test")
        open(cfg, "w").write(yaml.safe_dump(doc))
        env = cli_env(cfg, HTTP_PROXY=proxy.url)
        env.pop("NO_PROXY", None), env.pop("no_proxy", None)
        line = one_error_line(run_podfix(["explain", "web-1", "-n", "shop"], env=env))
        assert "refused GET" in line and "not RBAC" in line and "kubectl create role" not in line
        assert proxy.records


def test_a_real_403_still_gets_its_rbac_rule(api, podfix):
    api.deny("get", "pods", "shop")
    line = one_error_line(podfix("explain", "web-1", "-n", "shop"))
    assert "forbidden:" in line and "kubectl create role" in line


def write_kc(tmp_path, api, *, cluster=None, user=None, context=None):
    c = {"server": api.url, **(cluster or {})}
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": c}], "users": [{"name": "u", "user": {"token": "t", **(user or {})}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", **(context or {})}}]}))
    return str(path)


@pytest.mark.parametrize("section, field, value, words", [
    ("cluster", "insecure-skip-tls-verify", "false", "insecure-skip-tls-verify must be true or false, not a string"),
    ("cluster", "certificate-authority-data", 5, "certificate-authority-data must be a string, not a number"),
    ("cluster", "server", "http://[::1", "server address that is not a URL"),
    ("cluster", "server", "ftp://example.com", "not an http(s) URL"),
    ("user", "client-key-data", ["x"], "client-key-data must be a string, not a list"),
    ("user", "token", True, "token must be a string, not true or false"),
    ("context", "namespace", 5, "namespace must be a string, not a number"),
    ("context", "cluster", {"a": 1}, "cluster must be a string, not a mapping"),
])
def test_kubeconfig_fields_of_the_wrong_type_are_refused_like_kubectl(api, tmp_path, section, field, value, words):
    cfg = write_kc(tmp_path, api, **{section: {field: value}})
    line = one_error_line(run_podfix(["explain", "web-1"], kubeconfig=cfg))
    assert words in line
    assert api.requests == []


def test_a_server_address_without_a_scheme_is_http_like_client_go(api, tmp_path):
    api.add(pod("web-1", namespace="default"))
    cfg = write_kc(tmp_path, api, cluster={"server": api.url.removeprefix("http://")})
    run = run_podfix(["explain", "web-1", "-o", "json"], kubeconfig=cfg)
    assert run.code == 0, run.err
    assert run.err == ""  # no urllib3 warning about the scheme


def test_unquoted_yaml_timestamps_are_read_as_kubectl_reads_them(tmp_path):
    text = """apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  creationTimestamp: 2024-01-01T00:00:00Z
  labels: {released: 2024-01-01}
  annotations: {at: 2024-01-01 10:00:00 +2}
spec:
  containers: [{name: app, image: nginx}]
status:
  phase: Running
  startTime: 2024-01-01T00:00:05.5Z
  containerStatuses:
  - name: app
    image: nginx
    restartCount: 3
    ready: false
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState: {terminated: {exitCode: 1, reason: Error, startedAt: 2024-01-01T00:00:10Z, finishedAt: 2024-01-01T00:00:12Z}}
"""
    f = tmp_path / "pod.yaml"
    f.write_text(text)
    (number, doc), = list(bundle._documents(str(f), text))
    assert doc["metadata"]["creationTimestamp"] == "2024-01-01T00:00:00Z"
    assert doc["metadata"]["labels"] == {"released": "2024-01-01"}  # a date alone stays as written
    assert doc["metadata"]["annotations"] == {"at": "2024-01-01T08:00:00Z"}  # RFC 3339, UTC
    assert doc["status"]["startTime"] == "2024-01-01T00:00:05.5Z"
    run = run_podfix(["explain", "-f", str(f), "-o", "json"])
    assert run.code == 0, run.err
    (result,) = json.loads(run.out)["pods"]
    assert result["findings"][0]["code"] == "container.crash-loop"
    assert any("ran 2024-01-01T00:00:10Z to 2024-01-01T00:00:12Z" in e for e in result["findings"][0]["evidence"])
