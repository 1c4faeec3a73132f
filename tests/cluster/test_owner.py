"""`owner` is the same however a pod is asked for: the top controller (Deployment over ReplicaSet,
CronJob over Job), in the JSON report and in the text header; `controlledBy` is the pod's own controller.

Against the loopback API server: ``explain POD``, ``explain TYPE/NAME`` and the namespace scan of the
same pods must agree. The scan lists ReplicaSets and Jobs; ``explain POD`` used to read neither, so it
reported a CronJob's pods as owned by their Job (and a ReplicaSet another controller owns as itself).
"""

from __future__ import annotations

import uuid

import pytest
from objects import pod, waiting

NS = "default"


def _ref(kind: str, name: str, uid: str, api_version: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True,
            "blockOwnerDeletion": True}


def crashing_pod(name: str, owner: dict, labels: dict) -> dict:
    p = pod(name, namespace=NS, labels=labels, phase="Running",
            statuses=[waiting("app", "CrashLoopBackOff", f"back-off 5m0s restarting failed container=app pod={name}",
                              restarts=7)])
    p["metadata"]["ownerReferences"] = [owner]
    return p


def deployment_world(api) -> tuple[str, dict, dict]:
    dep_uid, rs_uid = str(uuid.uuid4()), str(uuid.uuid4())
    api.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS, "uid": dep_uid},
             "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": []}}}},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "web-7c9d8b6f5d", "namespace": NS, "uid": rs_uid,
                          "ownerReferences": [_ref("Deployment", "web", dep_uid, "apps/v1")]},
             "spec": {"selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"}}}},
            crashing_pod("web-7c9d8b6f5d-x2lqp", _ref("ReplicaSet", "web-7c9d8b6f5d", rs_uid, "apps/v1"),
                         {"app": "web", "pod-template-hash": "7c9d8b6f5d"}))
    return "web-7c9d8b6f5d-x2lqp", {"kind": "Deployment", "name": "web"}, {"kind": "ReplicaSet",
                                                                            "name": "web-7c9d8b6f5d"}


def cronjob_world(api) -> tuple[str, dict, dict]:
    cj_uid, job_uid = str(uuid.uuid4()), str(uuid.uuid4())
    api.add({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": NS, "uid": cj_uid},
             "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}},
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": {"name": "nightly-29000000", "namespace": NS, "uid": job_uid,
                          "ownerReferences": [_ref("CronJob", "nightly", cj_uid, "batch/v1")]},
             "spec": {"template": {"spec": {"containers": []}}}},
            crashing_pod("nightly-29000000-q8d2f", _ref("Job", "nightly-29000000", job_uid, "batch/v1"),
                         {"job-name": "nightly-29000000"}))
    return "nightly-29000000-q8d2f", {"kind": "CronJob", "name": "nightly"}, {"kind": "Job",
                                                                               "name": "nightly-29000000"}


def rollout_world(api) -> tuple[str, dict, dict]:
    """A ReplicaSet owned by another controller (an Argo Rollout): no pod-template-hash to infer from."""
    rs_uid = str(uuid.uuid4())
    api.add({"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "shop-6f7d8c9b5", "namespace": NS, "uid": rs_uid,
                          "ownerReferences": [_ref("Rollout", "shop", str(uuid.uuid4()), "argoproj.io/v1alpha1")]},
             "spec": {"selector": {"matchLabels": {"app": "shop"}}}},
            crashing_pod("shop-6f7d8c9b5-abcde", _ref("ReplicaSet", "shop-6f7d8c9b5", rs_uid, "apps/v1"),
                         {"app": "shop", "rollouts-pod-template-hash": "6f7d8c9b5"}))
    return "shop-6f7d8c9b5-abcde", {"kind": "Rollout", "name": "shop"}, {"kind": "ReplicaSet",
                                                                          "name": "shop-6f7d8c9b5"}


@pytest.mark.parametrize("world", [deployment_world, cronjob_world, rollout_world])
def test_owner_is_the_top_controller_every_way_a_pod_is_asked_for(api, podfix, world):
    name, owner, direct = world(api)
    one = podfix("explain", name, "-o", "json")
    scan = podfix("explain", "-o", "json")
    assert one.code == scan.code == 0, one.err + scan.err
    (pod_one,) = one.json["pods"]
    (pod_scan,) = [p for p in scan.json["pods"] if p["name"] == name]
    assert pod_one["owner"] == pod_scan["owner"] == owner
    assert pod_one["controlledBy"] == pod_scan["controlledBy"] == direct
    header = f"pod {NS}/{name} (Running, {owner['kind']}/{owner['name']})"
    assert podfix("explain", name).out.splitlines()[0] == header
    assert header in podfix("explain").out.splitlines()


def test_owner_by_workload_target_and_saved_bundle(api, podfix, tmp_path):
    name, owner, direct = cronjob_world(api)
    by_workload = podfix("explain", "cronjob/nightly", "-o", "json")
    assert by_workload.code == 0, by_workload.err
    assert [(p["owner"], p["controlledBy"]) for p in by_workload.json["pods"]] == [(owner, direct)]
    saved = tmp_path / "bundle.yaml"
    assert podfix("explain", name, "--save", str(saved)).code == 0
    again = podfix("explain", "-f", str(saved), "-o", "json")
    assert [(p["owner"], p["controlledBy"]) for p in again.json["pods"]] == [(owner, direct)]


def test_explain_pod_reads_the_controller_only_when_needed(api, podfix):
    """A Deployment's pod: the pod-template-hash names the Deployment, no request for it. A Job's pod: one GET
    of the Job tells whether a CronJob owns it."""
    name, _, _ = deployment_world(api)
    api.clear_requests()
    assert podfix("explain", name).code == 0
    assert not [r.path for r in api.requests if "replicasets" in r.path or "deployments" in r.path]
    name, _, _ = cronjob_world(api)
    api.clear_requests()
    assert podfix("explain", name).code == 0
    paths = [r.path for r in api.requests]
    assert paths.count(f"/apis/batch/v1/namespaces/{NS}/jobs/nightly-29000000") == 1
    assert not [p for p in paths if "cronjobs" in p]


def test_an_unreadable_controller_degrades_to_the_pods_own_view(api, podfix):
    name, _, direct = cronjob_world(api)
    api.deny("get", "jobs", NS)
    run = podfix("explain", name, "-o", "json")
    assert run.code == 0, run.err
    assert run.json["pods"][0]["owner"] == direct == run.json["pods"][0]["controlledBy"]
