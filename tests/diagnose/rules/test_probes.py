"""Probe family rules, table-driven from failure_texts.yaml (beside this file)."""

from __future__ import annotations

import pytest
from cases import build_ctx, check_case, load_cases

from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.rules.probes import describe_probe, kill_budget, probe_result

CASES = load_cases("probes")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_probe_case(case):
    check_case(case)


def test_every_probe_code_has_real_texts():
    from kubectl_podfix.diagnose.rules import probes
    assert set(probes.CODES) <= {c["expect"].get("code") for c in CASES}


@pytest.mark.parametrize("case_id", ["live-http-500", "startup-probe-kill", "ready-grpc-timeout"])
def test_probe_fix_pointer(case_id):
    case = next(c for c in CASES if c["id"] == case_id)
    f = diagnose(build_ctx(case))[0]
    assert f.fix is not None and f.fix.id == "probe"
    assert f.fix.command == "kubectl podfix fix probe web-7d9f8b6c5-x2x4q -n default"


@pytest.mark.parametrize("case_id", ["ready-http-500", "ready-tcp-refused", "live-exec-docs"])
def test_no_probe_fix_where_fix_probe_refuses(case_id):
    """A readiness probe that does not time out, or a liveness probe failing long after the start: a longer
    probe would only hide the problem, so `fix probe` refuses and the finding offers no fix."""
    case = next(c for c in CASES if c["id"] == case_id)
    f = diagnose(build_ctx(case))[0]
    assert f.code.startswith("container.") and f.fix is None


def test_kill_budget_defaults():
    assert kill_budget({"httpGet": {"port": 80}}) == 30
    assert kill_budget({"initialDelaySeconds": 15, "periodSeconds": 20, "failureThreshold": 5}) == 115


def test_describe_probe_like_kubectl():
    probe = {"httpGet": {"path": "/health-check", "port": 8085}, "timeoutSeconds": 1}
    assert describe_probe(probe) == ("http-get http://:8085/health-check delay=0s timeout=1s period=10s "
                                     "#success=1 #failure=3")
    assert describe_probe({"exec": {"command": ["cat", "/tmp/healthy"]}}).startswith("exec [cat /tmp/healthy]")


@pytest.mark.parametrize("message,kind", [
    ("Liveness probe failed: HTTP probe failed with statuscode: 500", "http-500"),
    ('Liveness probe failed: Get "http://10.0.0.5:8080/healthz": dial tcp 10.0.0.5:8080: connect: connection refused',
     "connection-refused"),
    ('Liveness probe failed: Get "http://10.0.0.5:8080/healthz": context deadline exceeded (Client.Timeout exceeded '
     'while awaiting headers)', "timeout"),
    ("Readiness probe failed: dial tcp 10.244.1.5:6379: i/o timeout", "timeout"),
    ("Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory", "exec-output"),
    ('Liveness probe failed: OCI runtime exec failed: exec failed: unable to start container process: exec: "curl": '
     'executable file not found in $PATH: unknown', "exec-missing"),
    ('Readiness probe failed: service unhealthy (responded with "NOT_SERVING")', "grpc-not-serving"),
    ("Readiness probe failed: Get \"https://10.1.2.3:8443/readyz\": http: server gave HTTP response to HTTPS client",
     "tls"),
    ("Liveness probe errored: rpc error: code = Unknown desc = container not running", "error"),
])
def test_probe_result(message, kind):
    assert probe_result(message)[0] == kind
