"""A failed pod its controller no longer needs is history (rules.left_behind): its errors become warnings with an
evidence line saying why; a failed pod whose controller still lacks pods keeps its error (qa live2)."""

from __future__ import annotations

import datetime as dt

import pytest
from objects import pod

from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.model import Snapshot
from kubectl_podfix.diagnose.rules import diagnose

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
EVICTED = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi. "


def evicted(owner=("ReplicaSet", "web-7d4b9c8f6"), labels=None):
    p = pod("web-7d4b9c8f6-x2k9p", namespace="shop", owner=owner, phase="Failed", statuses=[],
            labels=labels or {"app": "web", "pod-template-hash": "7d4b9c8f6"})
    p["status"].update(reason="Evicted", message=EVICTED)
    return p


def rs(replicas, ready, name="web-7d4b9c8f6"):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"replicas": replicas}, "status": {"replicas": ready, "readyReplicas": ready}}


def deploy(replicas, ready, updated, generation=2, observed=2):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": generation},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": updated,
                       "availableReplicas": ready}}


def first(p, *objects):
    snap = Snapshot(pods=[p])
    for o in objects:
        snap.add(o)
    (ctx,) = contexts(snap)
    ctx.now = NOW
    f = diagnose(ctx)[0]
    return f.code, f.severity, f.evidence[-1]


@pytest.mark.parametrize("objects, words", [
    ([rs(0, 0)], "replicaset/web-7d4b9c8f6 wants no pods now (an older revision)"),
    ([rs(3, 3)], "replicaset/web-7d4b9c8f6 has its 3 ready pods without this one"),
    ([deploy(3, 3, 3)], "deployment/web has all its 3 pods updated and ready without this one"),
])
def test_a_replaced_evicted_pod_is_a_warning(objects, words):
    code, severity, last = first(evicted(), *objects)
    assert (code, severity) == ("pod.evicted", "warning") and words in last


@pytest.mark.parametrize("objects", [
    [], [rs(3, 2)], [deploy(3, 2, 3)], [deploy(3, 3, 3, generation=3)], [rs(3, 3, name="other")],
], ids=["nothing-read", "rs-short", "deploy-short", "deploy-not-observed", "another-rs"])
def test_a_failed_pod_whose_controller_lacks_pods_stays_an_error(objects):
    code, severity, _ = first(evicted(), *objects)
    assert (code, severity) == ("pod.evicted", "error")


def test_a_bare_failed_pod_stays_an_error():
    p = evicted(owner=None, labels={})
    assert first(p)[:2] == ("pod.evicted", "error")


def stuck(owner=("ReplicaSet", "web-7d4b9c8f6")):
    """A pod deleted 20 minutes ago and still there: stuck-terminating, an error from 10 minutes (qa live3)."""
    p = pod("web-7d4b9c8f6-x2k9p", namespace="shop", owner=owner, phase="Running",
            labels={"app": "web", "pod-template-hash": "7d4b9c8f6"})
    p["metadata"].update(deletionTimestamp="2026-11-20T11:40:00Z", deletionGracePeriodSeconds=30)
    return p


@pytest.mark.parametrize("objects, words", [
    ([rs(3, 3)], "replicaset/web-7d4b9c8f6 has its 3 ready pods without this one: the pod being deleted was "
                 "replaced"),
    ([rs(0, 0)], "replicaset/web-7d4b9c8f6 wants no pods now (an older revision): this pod being deleted is no "
                 "longer needed; it is cleanup now: it stays until its node confirms"),
    ([deploy(3, 3, 3)], "deployment/web has all its 3 pods updated and ready without this one: the pod being "
                        "deleted was replaced"),
])
def test_a_replaced_pod_stuck_terminating_is_cleanup(objects, words):
    code, severity, last = first(stuck(), *objects)
    assert severity == "warning" and words in last, (code, severity, last)


@pytest.mark.parametrize("p, objects", [
    (stuck(), []), (stuck(), [rs(3, 2)]), (stuck(owner=("StatefulSet", "web")), []),
    (stuck(owner=("Job", "web")), []),
], ids=["nothing-read", "rs-short", "statefulset", "job"])
def test_a_pod_stuck_terminating_whose_controller_needs_it_stays_an_error(p, objects):
    assert first(p, *objects)[1] == "error"
