"""Property tests for podfix's first promise: never silent on a broken pod, never loud on a healthy one.

Pods are generated from scenarios written down here, independently of diagnose.health (what a person
would call broken or healthy), with real event texts around them. Reproducible: derandomize=True.

* a broken pod (crash loop, a waiting reason podfix may not know, stuck creating, failed, unknown, not Ready
  for an hour, unschedulable for an hour, a failed init container, a readiness gate nobody sets, a stuck
  deletion, an empty status...) always gets a finding of severity warning or error, and health agrees it
  is not healthy; a degraded one (restarted minutes ago and Ready again, a debug container that cannot
  start) gets at least a warning;
* a healthy or recovering pod (running and Ready, restarted long ago, still inside its start budget,
  Succeeded, a few seconds old, being deleted inside its grace period) never gets an error, whatever stale
  events surround it.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz import FRAGMENTS, coherent_cases, snapshot_of

from kubectl_podfix.cluster.gather import is_suspect
from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.health import assess
from kubectl_podfix.diagnose.model import PodContext, Snapshot
from kubectl_podfix.diagnose.rules import diagnose

NOW = dt.datetime(2026, 11, 20, 12, 0, 0, tzinfo=dt.timezone.utc)
PROPERTY = settings(max_examples=250, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def ts(ago: float) -> str:
    return (NOW - dt.timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- building blocks ------------------------------------------------------------------------------------

names = st.sampled_from(["app", "web", "worker", "proxy"])
probe = st.fixed_dictionaries({"httpGet": st.just({"path": "/healthz", "port": 8080})}, optional={
    "initialDelaySeconds": st.integers(0, 60), "periodSeconds": st.integers(1, 20),
    "failureThreshold": st.integers(1, 10), "timeoutSeconds": st.integers(1, 5)})
probes = st.fixed_dictionaries({}, optional={"livenessProbe": probe, "readinessProbe": probe, "startupProbe": probe})
# Real event texts (test_fuzz's fragments are quoted from real failures) and reasons the kubelet uses.
warning_reasons = st.sampled_from(["Failed", "BackOff", "Unhealthy", "FailedMount", "FailedScheduling",
                                   "FailedCreatePodSandBox", "FailedPostStartHook", "FailedPreStopHook",
                                   "NetworkNotReady", "FailedCreatePodContainer", "FailedPrepareDynamicResources",
                                   "NodeNotReady", "Evicted", "ProbeWarning", "InspectFailed", "FailedSync"])
texts = st.sampled_from([f for f in FRAGMENTS if f.strip()])
odd_reasons = st.one_of(st.sampled_from(["CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "RunContainerError",
                                         "CreateContainerError", "CreateContainerConfigError", "InvalidImageName",
                                         "PreStartHookError", "PostStartHookError", "KillContainerError",
                                         "CreatePodSandboxError", "RandomReason", "ProviderFailed", "blah"]),
                        st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=3, max_size=12)
                        .filter(lambda r: r not in ("ContainerCreating", "PodInitializing")))


def pod(containers, statuses, *, phase="Running", created=86400, conditions=None, init=None, init_statuses=None,
        **spec_extra) -> dict:
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "creationTimestamp": ts(created)},
         "spec": {"containers": containers, "restartPolicy": "Always", "nodeName": "worker-1", **spec_extra},
         "status": {"phase": phase, "startTime": ts(created), "containerStatuses": statuses}}
    if conditions is not None:
        p["status"]["conditions"] = conditions
    if init is not None:
        p["spec"]["initContainers"] = init
        p["status"]["initContainerStatuses"] = init_statuses or []
    return p


def event(reason: str, message: str, ago: float, *, container: str | None = None, type_: str = "Warning") -> dict:
    inv = {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "u1"}
    if container:
        inv["fieldPath"] = f"spec.containers{{{container}}}"
    return {"apiVersion": "v1", "kind": "Event", "type": type_, "reason": reason, "message": message, "count": 1,
            "firstTimestamp": ts(ago), "lastTimestamp": ts(ago), "involvedObject": inv,
            "metadata": {"name": f"e{ago}", "namespace": "shop"}}


def ready_conditions(since: float) -> list[dict]:
    return [{"type": t, "status": "True", "lastTransitionTime": ts(since)}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]


def run(p: dict, events: list[dict], missing: frozenset = frozenset()) -> list:
    snap = Snapshot()
    snap.pods.append(p)
    snap.events.extend(events)
    snap.missing.update(missing)
    ctx = PodContext(pod=p, events=sorted(events, key=lambda e: e["lastTimestamp"]), snapshot=snap, now=NOW)
    return diagnose(ctx)


# -- broken pods ----------------------------------------------------------------------------------------

@st.composite
def broken_pods(draw):
    """(pod, events, "broken" or "degraded"): a pod a person would call not healthy, with real texts around it."""
    name = draw(names)
    spec = {"name": name, "image": "registry.example.com/shop/web:1", **draw(probes)}
    kind = draw(st.sampled_from(["crash-loop", "odd-waiting", "empty-waiting", "creating-long", "failed",
                                 "unknown", "not-ready-long", "pending-long", "init-failed", "gate-missing",
                                 "restarted-recently", "status-empty", "stuck-deleting", "exited-never",
                                 "ephemeral-failing"]))
    events = [event(draw(warning_reasons), draw(texts), draw(st.integers(0, 7200)),
                     container=draw(st.sampled_from([name, None]))) for _ in range(draw(st.integers(0, 3)))]
    restarts = draw(st.integers(1, 60))
    last = {"terminated": {"exitCode": draw(st.sampled_from([1, 2, 126, 127, 134, 137, 139, 143, 255])),
                           "reason": draw(st.sampled_from(["Error", "OOMKilled", "StartError", "Completed"])),
                           "startedAt": ts(100), "finishedAt": ts(draw(st.integers(20, 90)))}}
    waiting = lambda reason, **extra: {"name": name, "ready": False, "restartCount": 0,  # noqa: E731
                                       "state": {"waiting": ({"reason": reason} if reason else {}) | extra}}
    severity = "broken"
    if kind == "crash-loop":
        st_ = waiting("CrashLoopBackOff") | {"restartCount": restarts, "lastState": last}
        p = pod([spec], [st_])
    elif kind == "odd-waiting":
        p = pod([spec], [waiting(draw(odd_reasons), message=draw(texts))])
    elif kind == "empty-waiting":
        p = pod([spec], [waiting(None)])
    elif kind == "creating-long":
        p = pod([spec], [waiting(draw(st.sampled_from(["ContainerCreating", "PodInitializing"])))],
                phase=draw(st.sampled_from(["Pending", "Running"])))
    elif kind == "failed":
        st_ = {"name": name, "ready": False, "restartCount": 0,
               "state": {"terminated": {"exitCode": draw(st.integers(1, 255)), "reason": "Error"}}}
        p = pod([spec], draw(st.sampled_from([[st_], []])), phase="Failed", restartPolicy="Never")
        p["status"].update(draw(st.fixed_dictionaries({}, optional={"reason": odd_reasons, "message": texts})))
    elif kind == "unknown":
        p = pod([spec], [{"name": name, "ready": False, "state": {"running": {"startedAt": ts(7200)}}}],
                phase="Unknown")
    elif kind == "not-ready-long":
        st_ = {"name": name, "ready": False, "restartCount": 0, "state": {"running": {"startedAt": ts(3600 * 5)}}}
        p = pod([spec], [st_], conditions=draw(st.sampled_from([None, [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": ts(3600)}]])))
    elif kind == "pending-long":
        p = pod([spec], [], phase="Pending", conditions=draw(st.sampled_from([None, [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "",
             "lastTransitionTime": ts(3600)}]])))
        if draw(st.booleans()):
            del p["spec"]["nodeName"]
    elif kind == "init-failed":
        init_st = {"name": "init", "ready": False, "restartCount": restarts, "lastState": last,
                   "state": draw(st.sampled_from([{"waiting": {"reason": "CrashLoopBackOff"}},
                                                  {"terminated": {"exitCode": 1, "reason": "Error"}}]))}
        p = pod([spec], [waiting("PodInitializing")], phase="Pending", init=[{"name": "init", "image": "busybox"}],
                init_statuses=[init_st])
    elif kind == "gate-missing":
        st_ = {"name": name, "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ts(3600)}}}
        gate = draw(st.sampled_from(["target-health.elbv2.k8s.aws/k8s-default-web-0a1b2c3d4e",
                                     "cloud.google.com/load-balancer-neg-ready", "example.com/custom-gate"]))
        conds = [{"type": "ContainersReady", "status": "True", "lastTransitionTime": ts(3600)},
                 {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
                  "message": f'corresponding condition of pod readiness gate "{gate}" does not exist.'}]
        if draw(st.booleans()):
            conds.append({"type": gate, "status": "False", "reason": "Target.FailedHealthChecks",
                          "message": "Health checks failed"})
        p = pod([spec], [st_], conditions=conds, readinessGates=[{"conditionType": gate}])
    elif kind == "restarted-recently":
        severity = "degraded"
        since = draw(st.integers(1, 500))
        st_ = {"name": name, "ready": True, "restartCount": restarts, "state": {"running": {"startedAt": ts(since)}}}
        if draw(st.booleans()):
            st_["lastState"] = {"terminated": {"exitCode": draw(st.sampled_from([0, 1, 137, 143])), "reason": "Error",
                                               "startedAt": ts(since + 60), "finishedAt": ts(since + 1)}}
        spec.pop("startupProbe", None)
        spec.pop("readinessProbe", None)
        p = pod([spec], [st_])
        events = [e for e in events if e["lastTimestamp"] < ts(since + 2)]  # recovering: only older events
    elif kind == "status-empty":
        severity = "degraded"
        p = pod([spec], [])
        p["status"] = {}
        events = []  # nothing else is known (with failure events, an error is right)
    elif kind == "stuck-deleting":
        st_ = {"name": name, "ready": True, "state": {"running": {"startedAt": ts(7200)}}}
        p = pod([spec], [st_], conditions=ready_conditions(7000))
        p["metadata"]["deletionTimestamp"] = ts(draw(st.integers(900, 86400)))
    elif kind == "exited-never":
        st_ = {"name": name, "ready": False, "restartCount": 0,
               "state": {"terminated": {"exitCode": draw(st.integers(1, 255)), "reason": "Error"}}}
        p = pod([spec], [st_], restartPolicy="Never")
    else:  # ephemeral-failing: the app runs; the debug container cannot start
        severity = "degraded"
        st_ = {"name": name, "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ts(7200)}}}
        p = pod([spec], [st_], conditions=ready_conditions(7000),
                ephemeralContainers=[{"name": "debugger-x1", "image": "bogus"}])
        p["status"]["ephemeralContainerStatuses"] = [
            {"name": "debugger-x1", "ready": False, "state": {"waiting": {"reason": draw(odd_reasons)}}}]
        events = []
    return p, events, severity


@PROPERTY
@given(case=broken_pods(), events_missing=st.booleans())
def test_a_broken_pod_is_never_silent(case, events_missing):
    p, events, severity = case
    missing = frozenset({"events"}) if events_missing else frozenset()
    findings = run(p, [] if events_missing else events, missing)
    loud = [f for f in findings if f.severity in ("error", "warning")]
    assert loud, (p["status"], [(f.code, f.severity) for f in findings])
    health = assess(p, NOW)
    assert not health.healthy, p["status"]
    if severity == "broken":
        assert health.severity == "error", health.problems
    else:  # degraded pods are never errors, neither in health nor in findings
        assert health.severity == "warning", health.problems
        assert not [f for f in findings if f.severity == "error"], [(f.code, f.title) for f in findings]
    assert is_suspect(p, NOW)


# -- healthy and recovering pods -------------------------------------------------------------------------

@st.composite
def healthy_pods(draw):
    """(pod, events): a pod a person would call healthy or recovering, with stale or expected events."""
    name = draw(names)
    spec = {"name": name, "image": "registry.example.com/shop/web:1", **draw(probes)}
    kind = draw(st.sampled_from(["running", "recovered", "restarted-ready", "starting", "succeeded", "young",
                                 "terminating", "init-done", "startup-early"]))
    started = draw(st.integers(700, 10 ** 6))
    # Warning events from before the current container started: history.
    stale = [event(draw(warning_reasons), draw(texts), started + draw(st.integers(5, 3000)),
                   container=draw(st.sampled_from([name, None]))) for _ in range(draw(st.integers(0, 5)))]
    running = {"name": name, "ready": True, "restartCount": 0, "started": True,
               "state": {"running": {"startedAt": ts(started)}}}
    conds = ready_conditions(started - 5)
    if kind == "running":
        return pod([spec], [running], conditions=draw(st.sampled_from([conds, None]))), stale
    if kind == "recovered":
        running |= {"restartCount": draw(st.integers(1, 500)), "lastState": {"terminated": {
            "exitCode": draw(st.sampled_from([0, 1, 137, 143, 255])),
            "reason": draw(st.sampled_from(["Error", "OOMKilled", "Completed"])),
            "startedAt": ts(started + 400), "finishedAt": ts(started + 1)}}}
        return pod([spec], [running], conditions=conds), stale
    if kind == "restarted-ready":  # recovering: restarted minutes ago, Ready again
        since = draw(st.integers(31, 590))
        running |= {"restartCount": draw(st.integers(1, 40)), "state": {"running": {"startedAt": ts(since)}},
                    "lastState": {"terminated": {"exitCode": draw(st.sampled_from([0, 1, 2, 137, 143])),
                                                 "reason": draw(st.sampled_from(["Error", "Completed", "OOMKilled"])),
                                                 "startedAt": ts(since + 300), "finishedAt": ts(since + 1)}}}
        return pod([spec], [running], conditions=ready_conditions(since - 1)), [
            e for e in stale if e["lastTimestamp"] < ts(since + 2)]
    if kind == "starting":  # not Ready yet, inside the readiness probe's budget, failing as it boots
        rp = {"httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": draw(st.integers(10, 60)),
              "periodSeconds": 10, "failureThreshold": draw(st.integers(3, 10))}
        spec = {"name": name, "image": spec["image"], "readinessProbe": rp}
        budget = rp["initialDelaySeconds"] + 10 * rp["failureThreshold"]
        up = draw(st.integers(1, budget - 1))
        st_ = {"name": name, "ready": False, "restartCount": 0, "state": {"running": {"startedAt": ts(up)}}}
        fails = [event("Unhealthy", 'Readiness probe failed: Get "http://10.0.0.7:8080/ready": dial tcp '
                                    '10.0.0.7:8080: connect: connection refused', draw(st.integers(0, up)),
                       container=name)]
        return pod([spec], [st_], created=up + 20,
                   conditions=[{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                "lastTransitionTime": ts(up)}]), fails
    if kind == "startup-early":  # a startup probe failing in the first half of its budget
        sp = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10,
              "failureThreshold": draw(st.integers(6, 60))}
        spec = {"name": name, "image": spec["image"], "startupProbe": sp}
        up = draw(st.integers(1, 10 * sp["failureThreshold"] // 2 - 1))
        st_ = {"name": name, "ready": False, "started": False, "restartCount": 0,
               "state": {"running": {"startedAt": ts(up)}}}
        fails = [event("Unhealthy", 'Startup probe failed: Get "http://10.0.0.7:8080/healthz": EOF',
                       draw(st.integers(0, up)), container=name)]
        return pod([spec], [st_], created=up + 20), fails
    if kind == "succeeded":
        done = {"name": name, "ready": False, "restartCount": draw(st.integers(0, 3)),
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ts(started),
                                         "finishedAt": ts(started - 30)}}}
        return pod([spec], [done], phase="Succeeded", restartPolicy=draw(st.sampled_from(["Never", "OnFailure"]))), \
            stale
    if kind == "young":  # scheduling or pulling for a few seconds
        age_ = draw(st.integers(0, 25))
        scheduled = draw(st.booleans())
        p = pod([spec], [{"name": name, "ready": False, "restartCount": 0,
                          "state": {"waiting": {"reason": "ContainerCreating"}}}] if scheduled else [],
                phase="Pending", created=age_)
        evs = [event("Pulling", f'Pulling image "{spec["image"]}"', max(0, age_ - 2), container=name,
                     type_="Normal")] if scheduled else []
        if not scheduled:
            del p["spec"]["nodeName"]
            msg = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No " \
                  "preemption victims found for incoming pod."
            p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                          "message": msg, "lastTransitionTime": ts(age_)}]
            evs.append(event("FailedScheduling", msg, max(0, age_ - 1)))
        return p, evs
    if kind == "terminating":  # being deleted, inside its grace period, whatever its state
        st_ = draw(st.sampled_from([running, {"name": name, "ready": False, "restartCount": 9,
                                              "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                              "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                                           "startedAt": ts(200),
                                                                           "finishedAt": ts(190)}}}]))
        p = pod([spec], [st_], conditions=conds)
        p["metadata"]["deletionTimestamp"] = ts(draw(st.integers(-30, 100)))
        p["metadata"]["deletionGracePeriodSeconds"] = 30
        return p, stale + [event(draw(warning_reasons), draw(texts), draw(st.integers(0, 120)),
                                 container=draw(st.sampled_from([name, None])))]
    # init-done: init containers finished, the app runs
    init_st = {"name": "init", "ready": True, "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ts(started + 60),
                                        "finishedAt": ts(started + 1)}}}
    return pod([spec], [running], conditions=conds, init=[{"name": "init", "image": "busybox"}],
               init_statuses=[init_st]), stale


@PROPERTY
@given(case=healthy_pods())
def test_a_healthy_or_recovering_pod_gets_no_error(case):
    p, events = case
    findings = run(p, events)
    assert not [f for f in findings if f.severity == "error"], \
        (p["status"], [(f.code, f.severity, f.title) for f in findings])
    assert not [f for f in findings if f.code == "pod.unexplained"], [(f.code, f.title) for f in findings]


# -- any pod: the definition, the findings and the scan filter agree ---------------------------------------

@PROPERTY
@given(case=coherent_cases(), missing=st.sets(st.sampled_from(["events", "logs", "nodes"])))
def test_any_pod_health_calls_unhealthy_gets_a_warning_and_is_scanned(case, missing):
    snap = snapshot_of(*case, missing, set(), "cluster")
    for ctx in contexts(snap):
        ctx.now = NOW
        health = assess(ctx.pod, NOW)
        findings = diagnose(ctx)
        if not health.healthy:
            assert [f for f in findings if f.severity in ("error", "warning")], health.problems
            assert is_suspect(ctx.pod, NOW)
        if health.state == "terminating":
            assert not [f for f in findings if f.severity == "error"]


def test_a_stale_node_not_ready_event_is_history():
    # Found while checking the property above: a Running pod with Ready containers, no Ready condition in the data
    # (a partial object) and a NodeNotReady event from before its containers started was pod.node-lost.
    p = pod([{"name": "app", "image": "x"}], [{"name": "app", "ready": True, "restartCount": 0,
                                                "state": {"running": {"startedAt": ts(5000)}}}])
    assert run(p, [event("NodeNotReady", "Node is not ready", 6000)]) == []
