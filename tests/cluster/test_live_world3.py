"""qa live3: the shapes of tests/cluster/live_world3.py, explained through the real kubectl in the forms users
type (-A, -n, TYPE/NAME, POD, -l, --field-selector): each verdict as the cluster deserves, and the same in every
form. Each test failed before its fix (its docstring says how)."""

from __future__ import annotations

import json

import pytest
import yaml
from clitools import have_kubectl
from live_world import kubectl_podfix, loud, world
from live_world3 import EXPECT, WORKLOADS, world3

pytestmark = pytest.mark.skipif(not have_kubectl(), reason="needs kubectl on PATH")


@pytest.fixture
def cluster(api, kubeconfig):
    api.add(*world(), *world3())
    api.logs[("rollout", "checkout-8f7e6d5c4-new01", "app", True)] = "Error: listen tcp :8080: bind: address in use\n"
    return kubectl_podfix(api, kubeconfig)


def judge(want: str, findings: list[dict]) -> str | None:
    got = loud(findings)
    if want == "ok":
        return None if not got else f"healthy, got {got}"
    if want == "noerror":
        return None if all(s != "error" for _, s in got) else f"no error wanted, got {got}"
    if want == "warn":
        return None if got and all(s != "error" for _, s in got) else f"a warning wanted, got {got}"
    code = want[6:]
    if not findings or findings[0]["severity"] != "error" or code not in ("*", findings[0]["code"]):
        return f"expected {code} error first, got {got}"
    return None


def test_the_scan_gives_each_shape_its_verdict(cluster):
    run = cluster("explain", "-A", "-o", "json", "--exit-code")
    assert run.code == 3, run.err
    pods = {(p["namespace"], p["name"]): p["findings"] for p in run.json["pods"]}
    problems = [f"{k}: {msg}" for k, want in EXPECT.items() if (msg := judge(want, pods.get(k, [])))]
    wls = {(w["kind"], w["namespace"], w["name"]): w["findings"] for w in run.json["workloads"]}
    problems += [f"{k}: {msg}" for k, want in WORKLOADS.items() if (msg := judge(want, wls.get(k, [])))]
    assert not problems, "\n".join(problems)


OWNER_FORMS = {"ReplicaSet": "rs", "Deployment": "deployment.apps", "StatefulSet": "statefulsets",
               "DaemonSet": "ds", "Job": "jobs.batch", "CronJob": "cronjob"}


def test_each_pod_gets_the_same_verdict_in_every_form(cluster):
    """explain POD, TYPE/NAME of its top owner, -n NS, -A --field-selector metadata.name=POD and -l: the first
    finding's code and severity of each pod of the world are those of the -A scan."""
    run = cluster("explain", "-A", "-o", "json")
    scan = {(p["namespace"], p["name"]): p for p in run.json["pods"]}
    diffs = []
    for (ns, name) in EXPECT:
        base = scan.get((ns, name))
        want = (base["findings"][0]["code"], base["findings"][0]["severity"]) if base else None
        forms = [[name, "-n", ns], ["-n", ns], ["-A", "--field-selector", f"metadata.name={name}"]]
        if base and base["owner"] and base["owner"]["kind"] in OWNER_FORMS:
            forms.append([f"{OWNER_FORMS[base['owner']['kind']]}/{base['owner']['name']}", "-n", ns])
        for args in forms:
            got_run = cluster("explain", *args, "-o", "json")
            assert got_run.code == 0, (args, got_run.err)
            pods = {p["name"]: p for p in got_run.json["pods"] if p["namespace"] == ns}
            got = pods.get(name)
            got = (got["findings"][0]["code"], got["findings"][0]["severity"]) if got and got["findings"] else None
            if got != want:
                diffs.append(f"{ns}/{name} {args}: {got}, -A: {want}")
    assert not diffs, "\n".join(diffs)


def test_each_workload_gets_the_same_verdict_asked_for_by_name(cluster):
    run = cluster("explain", "-A", "-o", "json")
    scan = {(w["kind"], w["namespace"], w["name"]): w["findings"] for w in run.json["workloads"]}
    diffs = []
    for kind, ns, name in WORKLOADS:
        want = loud(scan.get((kind, ns, name), []))[:1]  # (a scan leaves out info-only workloads: suspended)
        got_run = cluster("explain", f"{OWNER_FORMS[kind]}/{name}", "-n", ns, "-o", "json")
        assert got_run.code == 0, got_run.err
        (wl,) = got_run.json["workloads"]
        got = loud(wl["findings"])[:1]
        if got != want:
            diffs.append(f"{kind} {ns}/{name}: {got}, -A: {want}")
    assert not diffs, "\n".join(diffs)


def test_an_autoscalers_scale_up_is_catching_up_in_every_form(cluster):
    """deploy/frontend scaled 3 -> 5 twenty seconds ago, its two new pods starting: explain deploy/frontend (which
    reads the ScalingReplicaSet event) said info, the -A scan (Warning events only) 'is degraded: 3/5 ready. No rule
    found a cause' (warning) with SINCE '?'. Now both tell it from the starting pods."""
    for args in (["-A"], ["-n", "hpa"], ["deploy/frontend", "-n", "hpa"]):
        run = cluster("explain", *args, "-o", "json", "--exit-code")
        wl = [w for w in run.json["workloads"] if w["name"] == "frontend"]
        if args[0] == "deploy/frontend":
            (wl,) = wl
            (f,) = wl["findings"]
            assert (f["code"], f["severity"]) == ("workload.not-ready", "info"), f
            assert "catching up" in f["title"]
            assert any(e.startswith("2 pods starting, healthy so far: frontend-6d5c4b3a2-p3xyz (created 20s ago)")
                       for e in f["evidence"]), f["evidence"]
            assert run.code == 0, run.err
        else:
            assert not wl or not loud(wl[0]["findings"]), wl
    run = cluster("explain", "-A")
    assert " ? " not in run.out.split("\n\n", 1)[0], run.out.split("\n\n", 1)[0]


@pytest.mark.parametrize("args", [["-A"], ["-n", "gates"], ["deploy/checkout", "-n", "rollout"],
                                  ["pg-1", "-n", "sts"], ["-A", "-l", "app=web"]])
def test_yaml_and_json_are_the_same_report(cluster, args):
    """-o yaml parses to what -o json says, every pod and workload with the same keys."""
    as_json = cluster("explain", *args, "-o", "json")
    as_yaml = cluster("explain", *args, "-o", "yaml")
    assert as_json.code == as_yaml.code == 0, (as_json.err, as_yaml.err)
    data = yaml.safe_load(as_yaml.out)
    assert data == json.loads(as_json.out)
    assert {"kind", "apiVersion", "pods", "workloads"} <= set(data)
    for p in data["pods"]:
        assert {"namespace", "name", "phase", "owner", "controlledBy", "findings"} <= set(p), p.keys()
        for f in p["findings"]:
            assert {"code", "severity", "container", "title", "explanation", "evidence", "suggestions", "fix"} \
                <= set(f), f.keys()


@pytest.mark.parametrize("args, code", [
    (["-n", "gates"], 3),  # web-gated-stuck: an error
    (["api-debug-pull", "-n", "gates"], 0),  # a debug container's pull failure: a warning only
    (["deploy/frontend", "-n", "hpa"], 0),  # scaling up
    (["job/etl-queued", "-n", "jobs"], 0),  # suspended: info
    (["cronjob/report", "-n", "jobs"], 3),  # its last run failed, no success since
    (["-n", "quota"], 3),
])
def test_exit_code_is_3_only_for_errors(cluster, args, code):
    run = cluster("explain", *args, "--exit-code")
    assert run.code == code, (run.out[-600:], run.err)
    assert cluster("explain", *args).code == 0  # without --exit-code, a diagnosis is a success


def test_an_init_container_waiting_for_a_service_says_what_to_read(cluster):
    """Init:0/1 for 29 minutes (until nslookup db): container.init-not-finishing, a warning (an error from 30
    minutes), never silent, in every form; was 'The scheduler and the kubelet record why a pod is still starting
    in its events' (they record nothing about it)."""
    for args in (["orders-7c6b5a4d3-w4it1", "-n", "slow"], ["deploy/orders", "-n", "slow"], ["-A"]):
        run = cluster("explain", *args, "-o", "json")
        (pod,) = [p for p in run.json["pods"] if p["name"] == "orders-7c6b5a4d3-w4it1"]
        first = pod["findings"][0]
        assert (first["severity"], first["container"]) == ("warning", "wait-for-db"), loud(pod["findings"])
        assert "scheduler and the kubelet record why" not in first["explanation"]
        assert first["code"] == "container.init-not-finishing", loud(pod["findings"])
        assert "sh -c until nslookup db; do sleep 2; done" in first["explanation"], first["explanation"]
        assert "Its log shows what it keeps waiting for" in first["explanation"], first["explanation"]
        assert "kubectl logs orders-7c6b5a4d3-w4it1 -c wait-for-db -n slow" in first["suggestions"]


@pytest.mark.parametrize("target, ns, kind, name", [
    ("deployment.apps/checkout", "rollout", "Deployment", "checkout"),
    ("deployments/checkout", "rollout", "Deployment", "checkout"),
    ("Deployment/checkout", "rollout", "Deployment", "checkout"),
    ("statefulset.apps/pg", "sts", "StatefulSet", "pg"),
    ("sts/pg", "sts", "StatefulSet", "pg"),
    ("daemonsets.apps/log-agent", "logging", "DaemonSet", "log-agent"),
    ("cj/report", "jobs", "CronJob", "report"),
    ("cronjobs.batch/report", "jobs", "CronJob", "report"),
    ("job.batch/etl-strict", "jobs", "Job", "etl-strict"),
    ("rs/checkout-8f7e6d5c4", "rollout", "ReplicaSet", "checkout-8f7e6d5c4"),
    ("replicasets.apps/checkout-8f7e6d5c4", "rollout", "ReplicaSet", "checkout-8f7e6d5c4"),
])
def test_every_kubectl_spelling_of_a_workload(cluster, target, ns, kind, name):
    run = cluster("explain", target, "-n", ns, "-o", "json", "--exit-code")
    assert run.code == 3, (run.out[-500:], run.err)
    assert [(w["kind"], w["name"]) for w in run.json["workloads"]] == [(kind, name)]


@pytest.mark.parametrize("target", ["pg-1", "pod/pg-1", "po/pg-1", "pods/pg-1", "Pod/pg-1"])
def test_every_kubectl_spelling_of_a_pod(cluster, target):
    run = cluster("explain", target, "-n", "sts", "-o", "json", "--exit-code")
    assert run.code == 3, (run.out[-500:], run.err)
    assert [(p["name"], p["findings"][0]["code"]) for p in run.json["pods"]] == [("pg-1", "pod.unschedulable")]


def test_the_bigger_world_costs_the_same_lists(cluster):
    """-A over both worlds: one LIST per kind (plus the crash's previous log), nothing per pod, no GET of a
    CronJob (the scan lists them), whatever the number of shapes."""
    run = cluster("explain", "-A", "-o", "json")
    assert run.code == 0, run.err
    reqs = [f"{r.method} {r.path}" for r in cluster.api.requests if r.path.startswith(("/api/", "/apis/"))]
    assert not [r for r in reqs if "/pods/" in r and not r.endswith("/log")], reqs
    assert not [r for r in reqs if "/cronjobs/" in r], reqs
    assert len(reqs) == len(set(reqs)) and len(reqs) <= 20, reqs


def test_a_bare_replicaset_refused_by_a_quota_is_not_silent_in_a_namespace_scan(cluster):
    """A ReplicaSet nothing owns, its pods refused by the quota: -A and rs/NAME said workload.quota-exceeded (error),
    `-n quota` said nothing and exited 0 (it listed ReplicaSets only for the owners of failing pods, and there were
    none). A namespace scan now lists ReplicaSets as -A does."""
    rs = cluster.api.get("ReplicaSet", "quota", "batch-api-5f4e3d2c1")
    del rs["metadata"]["ownerReferences"], rs["metadata"]["resourceVersion"]
    cluster.api.remove("Deployment", "quota", "batch-api")
    cluster.api.add(rs)
    for args in (["-n", "quota"], ["-A"], ["rs/batch-api-5f4e3d2c1", "-n", "quota"]):
        run = cluster("explain", *args, "-o", "json", "--exit-code")
        assert run.code == 3, (args, run.err)
        got = [(w["kind"], w["name"], w["findings"][0]["code"]) for w in run.json["workloads"]
               if w["namespace"] == "quota"]
        assert got == [("ReplicaSet", "batch-api-5f4e3d2c1", "workload.quota-exceeded")], (args, got)
