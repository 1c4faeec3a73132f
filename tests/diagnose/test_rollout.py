"""diagnose/rollout.py: kubectl rollout status's rules and words, the new revision's pods.

(Refused pod creation is a workload finding: tests/diagnose/test_heal.py decides when it stops ``wait``.)"""

from __future__ import annotations

import pytest

from kubectl_podfix.diagnose import rollout


def deploy(gen=2, observed=2, want=3, **status):
    return {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "generation": gen, "uid": "d1",
                                               "annotations": {rollout.REVISION: "2"}},
            "spec": {"replicas": want}, "status": {"observedGeneration": observed, **status}}


@pytest.mark.parametrize("obj, message, done", [
    (deploy(observed=1), "Waiting for deployment spec update to be observed...", False),
    (deploy(updatedReplicas=1), 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have '
     "been updated...", False),
    (deploy(updatedReplicas=3, replicas=4), 'Waiting for deployment "web" rollout to finish: 1 old replicas are '
     "pending termination...", False),
    (deploy(updatedReplicas=3, replicas=3, availableReplicas=2), 'Waiting for deployment "web" rollout to finish: '
     "2 of 3 updated replicas are available...", False),
    (deploy(updatedReplicas=3, replicas=3, availableReplicas=3, readyReplicas=3),
     'deployment "web" successfully rolled out', True),
    (deploy(want=0), 'deployment "web" successfully rolled out', True),
])
def test_deployment(obj, message, done):
    state = rollout.status("Deployment", obj)
    assert (state.message, state.done, state.failed) == (message, done, None)


def test_deployment_progress_deadline():
    obj = deploy(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    assert rollout.deployment(obj).failed == 'deployment "web" exceeded its progress deadline'


def sts(**kw):
    spec = {"replicas": 3, "updateStrategy": kw.pop("strategy", {"type": "RollingUpdate"})}
    return {"metadata": {"name": "db", "generation": 2}, "spec": spec, "status": {"observedGeneration": 2, **kw}}


@pytest.mark.parametrize("obj, message, done", [
    (sts(readyReplicas=1), "Waiting for 2 pods to be ready...", False),
    (sts(readyReplicas=3, updatedReplicas=1, updateRevision="db-2", currentRevision="db-1"),
     "waiting for statefulset rolling update to complete 1 pods at revision db-2...", False),
    (sts(readyReplicas=3, updatedReplicas=3, currentReplicas=3, updateRevision="db-2", currentRevision="db-2"),
     "statefulset rolling update complete 3 pods at revision db-2...", True),
    (sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}, readyReplicas=3, updatedReplicas=0),
     "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...", False),
    (sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}, readyReplicas=3, updatedReplicas=1),
     "partitioned roll out complete: 1 new pods have been updated...", True),
    (sts(observedGeneration=0), "Waiting for statefulset spec update to be observed...", False),
])
def test_statefulset(obj, message, done):
    state = rollout.statefulset(obj)
    assert (state.message, state.done) == (message, done)


def test_on_delete_has_no_rollout_status():
    assert rollout.statefulset(sts(strategy={"type": "OnDelete"})).unsupported == \
        "rollout status is only available for RollingUpdate strategy type"
    ds = {"metadata": {"name": "agent"}, "spec": {"updateStrategy": {"type": "OnDelete"}}}
    assert rollout.daemonset(ds).unsupported


@pytest.mark.parametrize("status, message, done", [
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 1},
     'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...', False),
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
     'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...', False),
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3},
     'daemon set "agent" successfully rolled out', True),
    ({}, 'daemon set "agent" successfully rolled out', True),  # no node wants it
])
def test_daemonset(status, message, done):
    ds = {"metadata": {"name": "agent", "generation": 1}, "spec": {}, "status": {"observedGeneration": 1, **status}}
    state = rollout.daemonset(ds)
    assert (state.message, state.done) == (message, done)


def test_job_and_pod():
    job = {"metadata": {"name": "migrate"}, "spec": {"completions": 2}, "status": {"succeeded": 1, "active": 1}}
    assert rollout.job(job).message == ('Waiting for job "migrate" to complete: 1 of 2 completions succeeded, '
                                        "1 active...")
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert rollout.job(job).done
    job["status"]["conditions"] = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                                    "message": "Job was active longer than specified deadline"}]
    assert rollout.job(job).failed == 'job "migrate" failed: Job was active longer than specified deadline'
    p = {"metadata": {"name": "web-1"}, "spec": {}, "status": {"phase": "Pending"}}
    assert rollout.pod(p).message == 'Waiting for pod "web-1" to be ready: not scheduled yet...'
    p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    assert rollout.pod(p).done
    assert rollout.pod({"metadata": {"name": "x"}, "status": {"phase": "Failed"}}).failed


def rs(name, revision, owner="d1", hash_=None):
    return {"metadata": {"name": name, "uid": name, "labels": {"pod-template-hash": hash_ or name[-3:]},
                         "annotations": {rollout.REVISION: str(revision)},
                         "ownerReferences": [{"uid": owner, "controller": True}]}}


def pod(name, hash_, deleting=False, **labels):
    meta = {"name": name, "labels": {"pod-template-hash": hash_, **labels}}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-20T09:00:00Z"
    return {"metadata": meta}


def test_new_pods_are_the_new_revisions():
    sets = [rs("web-old", 1), rs("web-new", 2), rs("web-other", 9, owner="someone-else")]
    pods = [pod("a", "old"), pod("b", "new"), pod("c", "new", deleting=True)]
    assert [p["metadata"]["name"] for p in rollout.new_pods("Deployment", deploy(), pods, sets)] == ["b"]
    assert rollout.new_pods("Deployment", deploy(), pods, [rs("web-old", 1)]) == []  # the new one is not there yet
    s = {"status": {"updateRevision": "db-2"}}
    sts_pods = [pod("db-0", "", **{"controller-revision-hash": "db-1"}),
                pod("db-1", "", **{"controller-revision-hash": "db-2"})]
    assert [p["metadata"]["name"] for p in rollout.new_pods("StatefulSet", s, sts_pods)] == ["db-1"]
    ds = {"metadata": {"annotations": {rollout.DS_GENERATION: "3"}}}
    ds_pods = [pod("x", "", **{"pod-template-generation": "2"}), pod("y", "", **{"pod-template-generation": "3"})]
    assert [p["metadata"]["name"] for p in rollout.new_pods("DaemonSet", ds, ds_pods)] == ["y"]


def test_an_ordered_statefulset_is_blocked_by_any_pod_and_says_which_revision():
    """kubernetes#67250: with OrderedReady (the default) every pod counts, whatever its revision; Parallel only the
    new revision's. Only a pod labelled with another revision is called the previous revision's."""
    def pod(name, rev=None):
        labels = {"controller-revision-hash": rev} if rev else {}
        return {"metadata": {"name": name, "namespace": "shop", "labels": labels}}
    obj = {"kind": "StatefulSet", "spec": {}, "status": {"updateRevision": "db-2", "currentRevision": "db-1"}}
    pods = [pod("db-0", "db-1"), pod("db-1", "db-2"), pod("db-2")]
    assert [p["metadata"]["name"] for p in rollout.blocking_pods("StatefulSet", obj, pods)] == ["db-1", "db-0", "db-2"]
    parallel = {**obj, "spec": {"podManagementPolicy": "Parallel"}}
    assert [p["metadata"]["name"] for p in rollout.blocking_pods("StatefulSet", parallel, pods)] == ["db-1"]
    assert "previous revision (db-1)" in rollout.held_back("StatefulSet", obj, pods[0])
    assert "kubectl delete pod db-0 -n shop" in rollout.held_back("StatefulSet", obj, pods[0])
    assert rollout.held_back("StatefulSet", obj, pods[1]) is None and rollout.held_back("StatefulSet", obj, pods[2]) is None
