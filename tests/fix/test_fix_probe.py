"""``kubectl podfix fix probe``: the planner's defaults and flags, and a liveness-killed slow starter fixed
with one command against the loopback API server."""

from __future__ import annotations

import pytest
from clitools import have_kubectl
from world import (
    NS,
    JSON_PATCH,
    TPL,
    act_as_controllers,
    add_workload,
    container,
    kubectl,
    only_change_note,
    patches,
    tpl_container,
    guarded,
    sets,
    undo_line,
    world,
)

from kubectl_podfix.errors import Exit, Refused
from kubectl_podfix.fix import probe as pr

LIVENESS = {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5, "periodSeconds": 10,
            "failureThreshold": 3, "timeoutSeconds": 1}
READINESS = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5}


def slow(**extra):
    return container(limit=None, request=None, livenessProbe=dict(LIVENESS), **extra)


def killed_status(ran_seconds=36):
    return {"name": "app", "image": "registry.example.com/team/app:1.0", "ready": False, "restartCount": 4,
            "started": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 137, "startedAt": "2026-11-20T09:00:00Z",
                                         "finishedAt": f"2026-11-20T09:00:{ran_seconds:02d}Z"}}}


def add_events(server, pod_name):
    pod = server.get("Pod", NS, pod_name)
    inv = {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "namespace": NS, "uid": pod["metadata"]["uid"],
           "fieldPath": "spec.containers{app}"}
    for i, (reason, message, count) in enumerate([
            ("Unhealthy", 'Liveness probe failed: Get "http://10.1.2.3:8080/healthz": dial tcp 10.1.2.3:8080: '
                          "connect: connection refused", 12),
            ("Killing", "Container app failed liveness probe, will be restarted", 4)]):
        server.add({"apiVersion": "v1", "kind": "Event", "type": "Warning" if reason == "Unhealthy" else "Normal",
                    "reason": reason, "message": message, "count": count, "involvedObject": inv,
                    "firstTimestamp": "2026-11-20T09:00:15Z", "lastTimestamp": "2026-11-20T09:00:35Z",
                    "source": {"component": "kubelet", "host": "node-1"},
                    "metadata": {"name": f"{pod_name}.{i}", "namespace": NS}})


# ----------------------------------------------------------------------------- planner

def test_liveness_kill_adds_a_mirroring_startup_probe():
    w, _ = world("Deployment", containers=[slow()], pod_statuses=[killed_status()])
    plan = pr.plan_probe(pr.ProbeInput(w, "app", "liveness", result="connection-refused", last_run=36))
    [step] = plan.steps
    assert step.content_type == JSON_PATCH
    # budget: max(2 x 36s, 3 x 35s, 120s) = 120s -> 12 x 10s; the liveness delay is kept. The container had
    # no startupProbe: the container as read is tested whole (a startupProbe added meanwhile fails the test)
    assert step.body == guarded(TPL, "app", {"": w.top["spec"]["template"]["spec"]["containers"][0]}, [
        ("add", "/startupProbe", {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10,
                                  "timeoutSeconds": 1, "failureThreshold": 12, "initialDelaySeconds": 5})])
    assert "liveness probe only runs once it has succeeded" in step.description


def test_observed_start_sets_the_budget():
    w, _ = world("Deployment", containers=[slow()])
    plan = pr.plan_probe(pr.ProbeInput(w, "app", "liveness", observed_start=190, last_run=36))
    assert sets(plan.steps[0].body)["/startupProbe"]["failureThreshold"] == 38
    assert "twice the longest start seen (3m)" in plan.steps[0].description


def test_existing_startup_probe_gets_a_higher_threshold():
    startup = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10, "failureThreshold": 3}
    w, _ = world("StatefulSet", containers=[slow(startupProbe=startup)])
    plan = pr.plan_probe(pr.ProbeInput(w, "app", "startup", last_run=30))
    assert plan.steps[0].body == guarded(TPL, "app", {"/startupProbe/failureThreshold": 3},
                                         [("replace", "/startupProbe/failureThreshold", 12)])
    assert plan.steps[0].undo == "kubectl rollout undo statefulset/web -n default"


def test_explicit_flags_change_only_those_fields():
    w, _ = world("DaemonSet", containers=[slow()])
    plan = pr.plan_probe(pr.ProbeInput(w, "app", "liveness"), initial_delay=60, timeout_seconds=3,
                         failure_threshold=3)
    assert sets(plan.steps[0].body) == {"/livenessProbe/initialDelaySeconds": 60, "/livenessProbe/timeoutSeconds": 3}


def test_long_runner_is_not_a_slow_starter():
    w, _ = world("Deployment", containers=[slow()])
    with pytest.raises(Refused, match="not a slow start") as refused:  # on its merits: exit 4, not 2
        pr.plan_probe(pr.ProbeInput(w, "app", "liveness", result="http-500", last_run=3600))
    assert refused.value.code == Exit.REFUSED == 4
    plan = pr.plan_probe(pr.ProbeInput(w, "app", "liveness", result="timeout", last_run=3600))
    assert sets(plan.steps[0].body) == {"/livenessProbe/timeoutSeconds": 5}


def test_readiness_defaults():
    w, _ = world("Deployment", containers=[slow(readinessProbe=dict(READINESS))])
    with pytest.raises(Refused, match="would not cure"):
        pr.plan_probe(pr.ProbeInput(w, "app", "readiness", result="http-503"))
    plan = pr.plan_probe(pr.ProbeInput(w, "app", "readiness", result="timeout"))
    assert sets(plan.steps[0].body) == {"/readinessProbe/timeoutSeconds": 5}


def test_missing_probe_is_refused():
    w, _ = world("Deployment", containers=[container()])
    with pytest.raises(Refused, match="no liveness probe"):
        pr.plan_probe(pr.ProbeInput(w, "app", "liveness"))


# ----------------------------------------------------------------------------- the command, live

@pytest.fixture
def slow_starter(api):
    pod = add_workload(api, "Deployment", containers=[slow()], pod_statuses=[killed_status()])
    add_events(api, pod)
    act_as_controllers(api)
    return pod


def test_liveness_killed_slow_starter_fixed_in_one_command(api, podfix, slow_starter):
    api.clear_requests()
    r = podfix("fix", "probe", slow_starter, "-n", NS, "--yes", "--timeout", "20s")
    assert r.code == 0, r.err + r.out
    [patch] = patches(api)
    assert patch.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert patch.content_type == JSON_PATCH
    assert sets(patch.json)["/startupProbe"]["failureThreshold"] == 12
    assert "+        startupProbe:" in r.out
    assert "undo: kubectl rollout undo deployment/web -n default" in r.out
    assert "Ready" in r.out.split("Result:", 1)[1]
    c = tpl_container(api, "Deployment")
    assert c["livenessProbe"] == LIVENESS and c["startupProbe"]["httpGet"] == LIVENESS["httpGet"]


def test_probe_dry_run_server_changes_nothing(api, podfix, slow_starter):
    before = api.get("Deployment", NS, "web")
    api.clear_requests()
    r = podfix("fix", "probe", slow_starter, "-n", NS, "--dry-run=server")
    assert r.code == 0, r.err
    assert [p.query.get("dryRun") for p in patches(api)] == [["All"]]
    assert api.get("Deployment", NS, "web") == before
    assert len(api.objects("Pod", NS)) == 1


@pytest.mark.skipif(not have_kubectl(), reason="needs kubectl")
def test_added_startup_probe_is_removed_by_the_printed_undo(api, kubeconfig, podfix, slow_starter):
    before = tpl_container(api, "Deployment")
    r = podfix("fix", "probe", slow_starter, "-n", NS, "--yes", "--no-wait")
    assert r.code == 0, r.err
    assert "startupProbe" in tpl_container(api, "Deployment")
    inverse = only_change_note(r.out)
    assert '{"op":"remove","path":"/spec/template/spec/containers/0/startupProbe"}' in inverse
    done = kubectl(kubeconfig, inverse)
    assert done.returncode == 0, done.stderr
    assert tpl_container(api, "Deployment") == before
    # and the rollout history way
    r = podfix("fix", "probe", "deploy/web", "-n", NS, "-c", "app", "--probe", "liveness", "--yes", "--no-wait")
    assert r.code == 0, r.err
    done = kubectl(kubeconfig, undo_line(r.out))
    assert done.returncode == 0, done.stderr
    # kubectl writes the template back from its typed form, with "resources: {}" (as the real server
    # stores every container): compare without empty maps
    after = {k: v for k, v in tpl_container(api, "Deployment").items() if v != {}}
    assert after == before


def test_flags_through_the_command(api, podfix):
    pod = add_workload(api, "StatefulSet", containers=[slow()], pod_statuses=[killed_status()])
    api.clear_requests()
    r = podfix("fix", "probe", pod, "-n", NS, "--probe", "liveness", "--failure-threshold", "6",
               "--initial-delay", "30", "--yes", "--no-wait")
    assert r.code == 0, r.err + r.out
    [patch] = patches(api)
    assert patch.path == "/apis/apps/v1/namespaces/default/statefulsets/web"
    assert sets(patch.json) == {"/livenessProbe/initialDelaySeconds": 30, "/livenessProbe/failureThreshold": 6}


def test_bad_flag_value_is_a_usage_error(podfix):
    r = podfix("fix", "probe", "x", "--failure-threshold", "0")
    assert r.code == 2


def test_a_refusal_on_its_merits_exits_4_not_2(api, podfix):
    """A liveness probe failing long after the start: fix probe refuses (loosening it would hide a hang).
    That is a refusal (4), with no pointer at --help, not a usage error (2)."""
    pod = add_workload(api, "Deployment", containers=[slow()], pod_statuses=[killed_status(ran_seconds=59)])
    status = api.get("Pod", NS, pod)
    status["status"]["containerStatuses"][0]["lastState"]["terminated"]["startedAt"] = "2026-11-20T08:00:00Z"
    api.add(status)
    add_events(api, pod)
    api.clear_requests()
    r = podfix("fix", "probe", pod, "-n", NS, "--yes")
    assert r.code == Exit.REFUSED == 4, r.err
    assert "not a slow start" in r.err and "--help" not in r.err
    assert patches(api) == []
