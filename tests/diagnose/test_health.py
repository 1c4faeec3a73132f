"""diagnose.health: the one definition of "not healthy", and the scan filter that must honour it.

Shapes come from real objects: kubectl output pasted in public issues, and the pod
fixtures other diagnostic tools test with (k8sgpt's pkg/analyzer/pod_test.go, popeye's
internal/lint/container_status_test.go and testdata/core/pod/2.yaml), which carry
statuses without names, specs or timestamps.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_podfix.cluster.gather import is_suspect
from kubectl_podfix.diagnose import health
from kubectl_podfix.diagnose.health import assess

NOW = dt.datetime(2026, 11, 20, 12, 0, 0, tzinfo=dt.timezone.utc)


def ts(ago: float) -> str:
    return (NOW - dt.timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(phase="Running", statuses=None, containers=None, created=3600, **status_extra) -> dict:
    statuses = statuses if statuses is not None else [running("app")]
    spec_containers = containers if containers is not None else [{"name": s.get("name"), "image": "x"}
                                                                 for s in statuses]
    return {"metadata": {"name": "p", "namespace": "default", "creationTimestamp": ts(created)},
            "spec": {"containers": spec_containers},
            "status": {"phase": phase, "containerStatuses": statuses, **status_extra}}


def running(name="app", ago=3600, ready=True, restarts=0, last=None) -> dict:
    st_ = {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ts(ago)}}}
    if last:
        st_["lastState"] = {"terminated": last}
    return st_


def waiting(name="app", reason="ContainerCreating", message=None, restarts=0) -> dict:
    w = {"reason": reason} if reason is not None else {}
    if message:
        w["message"] = message
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": w}}


def kinds(p) -> list[tuple[str, str, str | None]]:
    return [(x.kind, x.severity, x.container) for x in assess(p, NOW).problems]


# -- healthy -----------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [
    pod(),
    pod(phase="Succeeded", statuses=[{"name": "app", "ready": False, "state": {"terminated": {"exitCode": 0}}}]),
    pod(phase="Pending", statuses=[waiting()], created=10),  # pulling for a few seconds
    pod(phase="Pending", statuses=[], created=5),  # scheduling for a few seconds
    pod(statuses=[running(ago=20, ready=False)], containers=[{"name": "app"}]),  # inside READY_GRACE
    pod(statuses=[running(ago=100, ready=False)],
        containers=[{"name": "app", "readinessProbe": {"initialDelaySeconds": 60, "periodSeconds": 10,
                                                       "failureThreshold": 6}}]),  # budget 120s
    pod(statuses=[running(ago=7200, restarts=4, last={"exitCode": 1, "finishedAt": ts(7201)})]),  # recovered
    # popeye "cool": Ready, no state recorded
    pod(statuses=[{"name": "c1", "ready": True, "restartCount": 0, "state": {}}]),
    # popeye testdata p1/p5: Running, no statuses, conditions null
    {"metadata": {"name": "p1"}, "spec": {}, "status": {"conditions": None, "phase": "Running"}},
    # an init container that finished, an app container that runs
    {**pod(), "status": {"phase": "Running", "containerStatuses": [running()],
                         "initContainerStatuses": [{"name": "init", "ready": False,
                                                    "state": {"terminated": {"exitCode": 0}}}]}},
])
def test_healthy(p):
    assert assess(p, NOW).healthy, kinds(p)


def test_deletion_inside_its_grace_period_is_going_away():
    p = pod(statuses=[waiting(reason="CrashLoopBackOff")])
    p["metadata"]["deletionTimestamp"] = ts(-20)  # deadline 20s from now
    assert assess(p, NOW).state == "terminating"
    p["metadata"]["deletionTimestamp"] = ts(200)
    assert kinds(p) == [("stuck-terminating", "warning", None)]
    p["metadata"]["deletionTimestamp"] = ts(900)
    assert kinds(p) == [("stuck-terminating", "error", None)]


def test_succeeded_pod_with_a_stuck_deletion_is_not_done():
    p = pod(phase="Succeeded", statuses=[])
    p["metadata"]["deletionTimestamp"] = ts(7200)
    assert kinds(p) == [("stuck-terminating", "error", None)]


# -- not healthy -------------------------------------------------------------------------------

@pytest.mark.parametrize("p,want", [
    (pod(phase="Failed"), [("failed", "error", None)]),
    (pod(phase="Unknown"), [("phase-unknown", "error", None)]),
    ({"metadata": {"name": "p"}, "status": {}}, [("no-status", "warning", None)]),
    (pod(statuses=[waiting(reason="RandomReason", message="x")]), [("waiting", "error", "app")]),
    (pod(statuses=[waiting(reason="")]), [("starting-stuck", "error", "app")]),  # waiting: {} for an hour
    (pod(phase="Pending", statuses=[waiting()], created=120), [("starting-stuck", "warning", "app")]),
    (pod(phase="Pending", statuses=[waiting()], created=100000), [("starting-stuck", "error", "app")]),
    (pod(phase="Pending", statuses=[], created=100000), [("pending", "error", None)]),
    (pod(statuses=[running(ago=7200, ready=False)]), [("not-ready", "error", "app")]),
    (pod(statuses=[running(ago=60, ready=True, restarts=2, last={"exitCode": 1, "finishedAt": ts(61)})]),
     [("restarting", "warning", "app")]),
    (pod(statuses=[running(ago=10, ready=False, restarts=5, last={"exitCode": 137, "finishedAt": ts(11)})]),
     [("restarting", "error", "app")]),
    # popeye restartedLimit: Ready, 11 restarts, nothing recorded about when
    (pod(statuses=[{"name": "c1", "ready": True, "restartCount": 11}]), [("restarting", "warning", "c1")]),
    # popeye notReady / waiting with no reason, no timestamps at all
    (pod(statuses=[{"name": "c1", "ready": False, "restartCount": 0, "state": {}}]),
     [("not-ready", "warning", "c1")]),
    (pod(statuses=[{"name": "c1", "ready": False, "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]),
     [("terminated", "error", "c1")]),
])
def test_not_healthy(p, want):
    assert kinds(p) == want


def test_k8sgpt_status_without_names_specs_or_times():
    # k8sgpt pod_test.go "Container status state waiting but no event reported": k8sgpt stays quiet,
    # but a Pending pod whose age cannot be told is not known to be fine: a warning, never silence.
    p = {"metadata": {"name": "Pod1", "namespace": "default"},
         "status": {"phase": "Pending", "containerStatuses": [
             {"ready": False, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert kinds(p) == [("starting-stuck", "warning", "")]
    assert assess(p, NOW).problems[0].in_spec is False


def test_app_containers_waiting_for_a_running_init_container_are_not_blamed():
    p = pod(phase="Pending", statuses=[waiting(reason="PodInitializing")], created=200)
    p["status"]["initContainerStatuses"] = [running("migrate", ago=190, ready=False)]
    assert assess(p, NOW).healthy  # initializing for less than STUCK_AFTER
    p["metadata"]["creationTimestamp"] = ts(4000)
    p["status"]["initContainerStatuses"] = [running("migrate", ago=3990, ready=False)]
    assert kinds(p) == [("initializing", "warning", "migrate")]


def test_readiness_gate_missing_or_false():
    p = pod(conditions=[{"type": "ContainersReady", "status": "True", "lastTransitionTime": ts(600)},
                        {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady"}])
    p["spec"]["readinessGates"] = [{"conditionType": "cloud.google.com/load-balancer-neg-ready"}]
    assert kinds(p) == [("readiness-gate", "error", None)]
    p["status"]["conditions"][0]["lastTransitionTime"] = ts(30)
    assert assess(p, NOW).healthy  # the controller gets GATE_GRACE
    p["status"]["conditions"][0]["lastTransitionTime"] = ts(600)
    p["status"]["conditions"][1] = {"type": "Ready", "status": "True"}
    p["status"]["conditions"].append({"type": "cloud.google.com/load-balancer-neg-ready", "status": "True"})
    assert assess(p, NOW).healthy


def test_ephemeral_containers_never_break_the_pod():
    p = pod()
    p["status"]["ephemeralContainerStatuses"] = [
        {"name": "debugger-r2gq7", "ready": False, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]
    assert kinds(p) == [("ephemeral", "warning", "debugger-r2gq7")]
    p["status"]["ephemeralContainerStatuses"] = [{"name": "debugger-2gz25", "ready": False,
                                                  "state": {"waiting": {}}}]
    assert assess(p, NOW).healthy
    p["status"]["ephemeralContainerStatuses"] = [{"name": "d", "ready": False,
                                                  "state": {"terminated": {"exitCode": 130}}}]
    assert assess(p, NOW).healthy  # a debug session that ended


def test_start_budget():
    assert health.start_budget({}) == health.READY_GRACE
    assert health.start_budget({"readinessProbe": {"initialDelaySeconds": 60, "periodSeconds": 10,
                                                   "failureThreshold": 2}}) == 80
    assert health.start_budget({"startupProbe": {"periodSeconds": 10, "failureThreshold": 30},
                                "readinessProbe": {}}) == 330


# -- the scan filter -------------------------------------------------------------------------------

statuses = st.lists(st.one_of(
    st.builds(running, name=st.sampled_from(["a", "b", ""]), ago=st.integers(-100, 10 ** 5), ready=st.booleans(),
              restarts=st.integers(0, 50),
              last=st.one_of(st.none(), st.builds(lambda c, a: {"exitCode": c, "finishedAt": ts(a)},
                                                  st.sampled_from([0, 1, 137, None]), st.integers(0, 10 ** 5)))),
    st.builds(waiting, name=st.sampled_from(["a", "b"]),
              reason=st.sampled_from(["ContainerCreating", "PodInitializing", "", None, "CrashLoopBackOff", "Foo"]),
              restarts=st.integers(0, 5)),
    st.fixed_dictionaries({"name": st.sampled_from(["a", "b"]), "ready": st.booleans(),
                           "state": st.sampled_from([{}, {"terminated": {"exitCode": 0}},
                                                     {"terminated": {"exitCode": 1}}, {"terminated": {}}])}),
), max_size=3)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(phase=st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown", None]), sts=statuses,
       init=statuses, created=st.one_of(st.none(), st.integers(-60, 10 ** 5)),
       deleted=st.one_of(st.none(), st.integers(-60, 10 ** 4)),
       conditions=st.lists(st.fixed_dictionaries({
           "type": st.sampled_from(["Ready", "ContainersReady", "PodScheduled", "example.com/gate"]),
           "status": st.sampled_from(["True", "False", "Unknown"]),
           "lastTransitionTime": st.integers(0, 10 ** 4).map(ts)}), max_size=3),
       gates=st.lists(st.just({"conditionType": "example.com/gate"}), max_size=1))
def test_scan_never_drops_a_pod_health_calls_unhealthy(phase, sts, init, created, deleted, conditions, gates):
    p = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"readinessGates": gates},
         "status": {"containerStatuses": sts, "initContainerStatuses": init, "conditions": conditions}}
    if phase:
        p["status"]["phase"] = phase
    if created is not None:
        p["metadata"]["creationTimestamp"] = ts(created)
    if deleted is not None:
        p["metadata"]["deletionTimestamp"] = ts(deleted)
    if not assess(p, NOW).healthy:
        assert is_suspect(p, NOW)


def test_a_running_pod_re_running_its_init_containers():
    # After its sandbox is recreated (a node reboot) a Running pod runs its init containers again: fine for a
    # while, a warning when one has run for more than STUCK_AFTER (a wait-for loop that never ends).
    p = pod(statuses=[waiting(reason="PodInitializing", restarts=1)])
    p["status"]["initContainerStatuses"] = [running("wait-for-db", ago=60, ready=False)]
    assert assess(p, NOW).healthy
    p["status"]["initContainerStatuses"] = [running("wait-for-db", ago=3600, ready=False)]
    assert kinds(p) == [("initializing", "warning", "wait-for-db")]
