"""qa live2: a realistic cluster (tests/cluster/live_world.py: managedFields, controller ownerReferences,
events.k8s.io events in their core view, mirror pods, pods of custom resources, a NotReady node, an evicted
leftover of a healthy Deployment, a Job that completed after a failed attempt) served by the loopback API
server and explained through the real kubectl, in the forms users type. Each test failed before its fix
(its docstring says how).
"""

from __future__ import annotations

import pytest
from clitools import cli_env, have_kubectl, run_podfix
from live_world import CP, DOWN, EXPECT_PODS, NOW, world

pytestmark = pytest.mark.skipif(not have_kubectl(), reason="needs kubectl on PATH")


@pytest.fixture
def cluster(api, kubeconfig):
    api.add(*world())
    api.logs[("prod", "api-6b7c8d9f5-p9s4m", "app", True)] = "panic: DATABASE_URL not set\n"

    def run(*args: str):
        api.clear_requests()
        return run_podfix(list(args), kubeconfig=kubeconfig, via_kubectl=True,
                          env=cli_env(kubeconfig, PODFIX_NOW=NOW))
    run.api = api
    return run


def loud(findings: list[dict]) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in findings if f["severity"] in ("error", "warning")]


def api_requests(api) -> list[str]:
    return [f"{r.method} {r.path}" for r in api.requests if r.path.startswith(("/api/", "/apis/"))]


def test_scan_text_gives_a_rollouts_replicaset_no_row_beside_its_pods(cluster):
    """Was: rs/cart-5d6f7b8c9 (SINCE "?") and its replicaset block beside the pod's rollout/cart row."""
    run = cluster("explain", "-n", "argo", "-o", "wide")
    assert run.code == 0, run.err
    table = run.out.split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in table] == ["WORKLOAD", "rollout/cart"], table
    assert " ? " not in run.out
    assert "replicaset argo/cart-5d6f7b8c9" not in run.out


def test_healthy_deployment_with_an_evicted_leftover_passes_exit_code(cluster):
    """Was: deployment prod/web (3/3 ready) workload.pods-failing error for its older ReplicaSet's evicted pod,
    and a Job that completed after a failed attempt exited 3."""
    run = cluster("explain", "deploy/web", "-n", "prod", "-o", "json", "--exit-code")
    assert run.code == 0, (run.out, run.err)
    (wl,) = run.json["workloads"]
    assert wl["summary"] == "3/3 ready" and not loud(wl["findings"]), wl["findings"]
    (leftover,) = run.json["pods"]
    assert loud(leftover["findings"]) == [("pod.evicted", "warning")]
    run = cluster("explain", "job/migrate-2026-11-20", "-n", "batch", "--exit-code")
    assert run.code == 0, (run.out, run.err)
    assert "job batch/migrate-2026-11-20 (1/1 succeeded, 1 failed)" in run.out


def test_a_pod_on_a_node_that_stopped_reporting(cluster):
    """The node controller's mark (Ready=False, ContainersReady=True): was pod.unexplained, the Node unread,
    unless another pod of the scan made it list Nodes."""
    name = next(p["metadata"]["name"] for p in world() if p["kind"] == "Pod"
                and p["spec"].get("nodeName") == DOWN)
    run = cluster("explain", name, "-n", "monitoring", "-o", "json", "--exit-code")
    assert run.code == 3, run.err
    (pod,) = run.json["pods"]
    assert pod["findings"][0]["code"] == "pod.node-lost", loud(pod["findings"])
    assert api_requests(cluster.api) == [f"GET /api/v1/namespaces/monitoring/pods/{name}",
                                         "GET /api/v1/namespaces/monitoring/events",
                                         f"GET /api/v1/nodes/{DOWN}"]
    for args in (["-A", "--field-selector", f"spec.nodeName={DOWN}"], ["ds/node-exporter", "-n", "monitoring"]):
        run = cluster("explain", *args, "-o", "json")
        assert run.code == 0, run.err
        (pod,) = run.json["pods"]
        assert pod["findings"][0]["code"] == "pod.node-lost", (args, loud(pod["findings"]))


def test_an_events_k8s_io_series_is_counted(cluster):
    """An event written through events.k8s.io, core view (no count, series.count 88): was "(49s ago)"."""
    run = cluster("explain", "api-6b7c8d9f5-p9s4m", "-n", "prod")
    assert run.code == 0, run.err
    assert "event Warning BackOff (x88 over 23m)" in run.out, run.out
