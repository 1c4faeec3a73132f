"""Workloads whose pods never come, against the loopback API server through the real client and the real
kubectl: explain TYPE/NAME with zero pods, namespace and -A scans, request counts, --exit-code.

Message texts are the real ones of tests/diagnose/workloads/workload_texts.yaml (sources there)."""

from __future__ import annotations

import uuid

import pytest
from clitools import have_kubectl, run_podfix
from objects import pod, running

QUOTA_MSG = ('pods "web-6d8f7c9b5d-{}" is forbidden: exceeded quota: compute-quota, requested: limits.cpu=1, '
             'used: limits.cpu=4, limited: limits.cpu=4')
PSA_MSG = ('pods "agent-hxf84" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != '
           'false (container "agent" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
           'capabilities (container "agent" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != '
           'true (pod or container "agent" must set securityContext.runAsNonRoot=true), seccompProfile (pod or '
           'container "agent" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')


def meta(name, ns="shop", **extra):
    return {"name": name, "namespace": ns, "uid": str(uuid.uuid4()), "creationTimestamp": "2026-11-20T09:10:00Z",
            "generation": 1, **extra}


def workload(kind, name, ns="shop", *, replicas=None, status=None, spec=None, owner=None, labels=None):
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    m = meta(name, ns, labels=labels or {"app": name})
    if owner is not None:
        m["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "controller": True,
                                 "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]
    body = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": "ghcr.io/acme/web:1",
                                                  "resources": {"limits": {"cpu": "1"}}}]}}}
    if kind == "CronJob":
        body = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": body["template"]}}}
    if replicas is not None:
        body["replicas"] = replicas
    body.update(spec or {})
    obj = {"apiVersion": api, "kind": kind, "metadata": m, "spec": body}
    if status is not None:
        obj["status"] = {"observedGeneration": 1, **status}
    return obj


def event_on(obj, reason, message, *, type_="Warning", count=3, last="2026-11-20T09:41:17Z"):
    m = obj["metadata"]
    return {"apiVersion": "v1", "kind": "Event", "type": type_, "reason": reason, "message": message, "count": count,
            "firstTimestamp": "2026-11-20T09:10:01Z", "lastTimestamp": last,
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": m["name"],
                               "namespace": m["namespace"], "uid": m["uid"]},
            "source": {"component": "controller"},
            "metadata": {"name": f"{m['name']}.{uuid.uuid4().hex[:12]}", "namespace": m["namespace"]}}


def quota_world(api):
    """deploy/web: 0 of 3, its ReplicaSet's creations rejected by compute-quota; deploy/api uses the quota."""
    failure = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
               "message": QUOTA_MSG.format("k2x9p"), "lastTransitionTime": "2026-11-20T09:10:01Z"}
    web = workload("Deployment", "web", replicas=3, status={"replicas": 0, "unavailableReplicas": 3,
                                                            "conditions": [failure]})
    rs = workload("ReplicaSet", "web-6d8f7c9b5d", replicas=3, owner=web, labels={"app": "web"},
                  status={"replicas": 0, "conditions": [failure]})
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("compute-quota"),
             "spec": {"hard": {"limits.cpu": "4"}},
             "status": {"hard": {"limits.cpu": "4"}, "used": {"limits.cpu": "4"}}}
    api_dep = workload("Deployment", "api", replicas=2, status={"replicas": 2, "readyReplicas": 2,
                                                                "updatedReplicas": 2, "availableReplicas": 2})
    api_rs = workload("ReplicaSet", "api-58c9d7f6b4", replicas=2, owner=api_dep,
                      status={"replicas": 2, "readyReplicas": 2})
    pods = []
    for i in range(2):
        p = pod(f"api-58c9d7f6b4-{i:05d}", namespace="shop", owner=("ReplicaSet", "api-58c9d7f6b4"),
                labels={"app": "api", "pod-template-hash": "58c9d7f6b4"}, statuses=[running("app")],
                phase="Running", containers=[{"name": "app", "image": "ghcr.io/acme/api:1",
                                              "resources": {"limits": {"cpu": "2"}}}])
        p["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
        pods.append(p)
    api.add(web, rs, quota, api_dep, api_rs, *pods,
            event_on(rs, "FailedCreate", "(combined from similar events): Error creating: " + QUOTA_MSG.format("8m2tq"),
                     count=19),
            event_on(web, "ScalingReplicaSet", "Scaled up replica set web-6d8f7c9b5d to 3", type_="Normal", count=1))


def api_requests(api) -> list[str]:
    return [f"{r.method} {r.path}" for r in api.requests if r.path.startswith(("/api/", "/apis/"))]


@pytest.mark.skipif(not have_kubectl(), reason="needs kubectl on PATH")
def test_explain_deploy_with_zero_pods_through_kubectl(api, kubeconfig):
    quota_world(api)
    api.clear_requests()
    run = run_podfix(["explain", "deploy/web", "-n", "shop", "-o", "json", "--exit-code"], kubeconfig=kubeconfig,
                     via_kubectl=True)
    assert run.code == 3, run.err  # a workload error counts for --exit-code
    doc = run.json
    assert doc["kind"] == "PodfixReport" and doc["pods"] == []
    (wl,) = doc["workloads"]
    assert (wl["kind"], wl["namespace"], wl["name"]) == ("Deployment", "shop", "web")
    first = wl["findings"][0]
    assert first["code"] == "workload.quota-exceeded"
    assert first["details"]["quota"] == "compute-quota"
    assert first["details"]["resources"]["limits.cpu"]["left"] == "0"
    assert "deployment/api" in first["explanation"] and "limits.cpu=4" in first["explanation"]
    reqs = api_requests(api)
    assert len(reqs) <= 6, reqs
    assert reqs[0] == "GET /apis/apps/v1/namespaces/shop/deployments/web"
    assert "GET /api/v1/namespaces/shop/resourcequotas" in reqs


def test_explain_deploy_text_names_the_workload(api, podfix):
    quota_world(api)
    run = podfix("explain", "deploy/web", "-n", "shop")
    assert run.code == 0, run.err
    assert "deployment shop/web (0/3 ready)" in run.out
    assert "workload.quota-exceeded" in run.out and "compute-quota" in run.out
    assert "No pods with problems found." not in run.out


def test_namespace_scan_lists_the_workload_with_no_pods(api, podfix):
    quota_world(api)
    api.clear_requests()
    run = podfix("explain", "-n", "shop")
    assert run.code == 0, run.err
    head = run.out.split("\n\n")[0]
    row = next(line for line in head.splitlines() if "deploy/web" in line)
    assert row.split()[:2] == ["deploy/web", "3/3"] and row.split()[3] == "workload.quota-exceeded"
    assert "deploy/api" not in head  # healthy
    reqs = api_requests(api)
    # pods, 5 workload kinds, Warning events, ReplicaSets (a Deployment is short), the quota
    assert len(reqs) == 9, reqs
    assert "GET /api/v1/namespaces/shop/resourcequotas" in reqs
    j = podfix("explain", "-n", "shop", "-o", "json")
    assert [w["name"] for w in j.json["workloads"]] == ["web"]


def test_all_namespaces_scan_and_exit_code(api, podfix):
    quota_world(api)
    ds = workload("DaemonSet", "agent", ns="ops", status={"desiredNumberScheduled": 3, "currentNumberScheduled": 0,
                                                          "numberReady": 0},
                  spec={"template": {"metadata": {"labels": {"app": "agent"}},  # the container PSA_MSG names
                                     "spec": {"containers": [{"name": "agent", "image": "ghcr.io/acme/agent:1"}]}}})
    api.add(ds, event_on(ds, "FailedCreate", "Error creating: " + PSA_MSG))
    run = podfix("explain", "-A", "--exit-code")
    assert run.code == 3, run.err
    head = run.out.split("\n\n")[0]
    assert "workload.pod-security-violated" in head and "ds/agent" in head
    assert "workload.quota-exceeded" in head
    assert "kubectl podfix fix pod-security ds/agent -n ops" in run.out


def test_job_failed_after_its_pods_were_deleted(api, podfix):
    job = workload("Job", "nightly-export", status={"failed": 7, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit", "lastTransitionTime": "2026-11-20T09:30:00Z"}]})
    api.add(job, event_on(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit", count=1))
    run = podfix("explain", "job/nightly-export", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    first = run.json["workloads"][0]["findings"][0]
    assert first["code"] == "workload.job-backoff-limit"
    assert "pods are gone" in first["explanation"]


def test_statefulset_claim_storageclass_missing_lists_storage_classes(api, podfix):
    sts = workload("StatefulSet", "db", replicas=1, status={"replicas": 1, "readyReplicas": 0},
                   spec={"volumeClaimTemplates": [{"metadata": {"name": "data"},
                                                   "spec": {"storageClassName": "fast"}}]})
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data-db-0"),
           "spec": {"storageClassName": "fast"}, "status": {"phase": "Pending"}}
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard"},
          "provisioner": "rancher.io/local-path"}
    api.add(sts, pvc, sc, event_on(pvc, "ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found',
                                   count=30))
    api.clear_requests()
    run = podfix("explain", "sts/db", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    first = run.json["workloads"][0]["findings"][0]
    assert first["code"] == "workload.pvc-provisioning-failed"
    assert "standard" in first["explanation"]
    reqs = api_requests(api)
    assert "GET /apis/storage.k8s.io/v1/storageclasses" in reqs and len(reqs) <= 6, reqs


def test_healthy_workloads_stay_silent(api, podfix):
    done = workload("Deployment", "web", replicas=2, status={"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                                                             "availableReplicas": 2})
    zero = workload("Deployment", "idle", replicas=0, status={})
    suspended = workload("Job", "queued", spec={"suspend": True}, status={})
    between = workload("CronJob", "report", status={"lastScheduleTime": "2026-11-20T09:00:00Z",
                                                    "lastSuccessfulTime": "2026-11-20T09:00:40Z"})
    ds = workload("DaemonSet", "gpu", spec={"template": {"spec": {"nodeSelector": {"gpu": "true"}}}},
                  status={"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1,
                          "numberAvailable": 1, "updatedNumberScheduled": 1})
    gone = workload("Job", "nightly-28999000", status={})  # cleaned up by its TTL: only its events are left
    api.add(done, zero, suspended, between, ds,
            event_on(gone, "BackoffLimitExceeded", "Job has reached the specified backoff limit", count=1))
    run = podfix("explain", "-n", "shop", "--exit-code")
    assert run.code == 0, run.err
    assert run.out.strip() == "No pods with problems found."
    j = podfix("explain", "-n", "shop", "-o", "json")
    assert j.json["workloads"] == []
    info = podfix("explain", "deploy/idle", "-n", "shop", "-o", "json", "--exit-code")
    assert info.code == 0
    assert [f["code"] for f in info.json["workloads"][0]["findings"]] == ["workload.scaled-to-zero"]


def test_statefulset_ordinal_blocked_and_rollout_deadline(api, podfix):
    sts = workload("StatefulSet", "db", replicas=3, status={"replicas": 1, "readyReplicas": 0, "currentReplicas": 1})
    msg = ("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption "
           "victims found for incoming pod.")
    p = pod("db-0", namespace="shop", owner=("StatefulSet", "db"), node=None, labels={"app": "db"})
    p["metadata"]["ownerReferences"][0]["uid"] = sts["metadata"]["uid"]
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": msg}]
    api.add(sts, p, event_on(p, "FailedScheduling", msg))
    run = podfix("explain", "sts/db", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    first = run.json["workloads"][0]["findings"][0]
    assert first["code"] == "workload.ordinal-blocked"
    assert first["details"]["pod"]["code"] == "pod.unschedulable" and first["details"]["blocked"] == 2


def test_cronjob_blocked_by_a_stuck_job(api, podfix):
    cj = workload("CronJob", "nightly", spec={"concurrencyPolicy": "Forbid"}, status={"active": [{"name": "x"}]})
    job = workload("Job", "nightly-29012345", owner=cj, status={"active": 1, "startTime": "2026-11-19T09:00:00Z"})
    img = "ghcr.io/acme/web:1"
    p = pod("nightly-29012345-x7k2p", namespace="shop", owner=("Job", "nightly-29012345"),
            labels={"app": "nightly-29012345"}, phase="Pending",
            statuses=[{"name": "app", "image": img, "ready": False, "restartCount": 0, "lastState": {},
                       "state": {"waiting": {"reason": "ImagePullBackOff",
                                             "message": f'Back-off pulling image "{img}"'}}}],
            containers=[{"name": "app", "image": img}])
    p["metadata"]["ownerReferences"][0]["uid"] = job["metadata"]["uid"]
    pull = event_on(p, "Failed", f'Failed to pull image "{img}": rpc error: code = NotFound desc = failed to pull '
                                 f'and unpack image "{img}": failed to resolve reference "{img}": {img}: not found')
    pull["involvedObject"]["fieldPath"] = "spec.containers{app}"
    api.add(cj, job, p, pull, event_on(cj, "JobAlreadyActive", "Not starting job because prior execution is running "
                                       "and concurrency policy is Forbid", type_="Normal", count=60))
    run = podfix("explain", "cronjob/nightly", "-n", "shop", "-o", "json")
    assert run.code == 0, run.err
    codes = [f["code"] for f in run.json["workloads"][0]["findings"]]
    assert codes[0] == "workload.cronjob-blocked", codes
    assert run.json["workloads"][0]["findings"][0]["details"]["pod"]["code"] == "image.not-found"


def test_save_then_explain_offline_reproduces_a_zero_pod_workload(api, podfix, tmp_path):
    quota_world(api)
    bundle = str(tmp_path / "web.yaml")
    live = podfix("explain", "deploy/web", "-n", "shop", "-o", "json", "--save", bundle)
    assert live.code == 0, live.err
    offline = run_podfix(["explain", "-f", bundle, "deploy/web", "-o", "json"])
    assert offline.code == 0, offline.err
    assert offline.json["workloads"][0]["findings"][0]["code"] == "workload.quota-exceeded"
    assert offline.json["workloads"][0]["findings"][0]["title"] == live.json["workloads"][0]["findings"][0]["title"]


def test_offline_bundle_with_no_pods_and_nothing_to_diagnose_is_an_error(tmp_path):
    empty = tmp_path / "cm.yaml"
    empty.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n")
    run = run_podfix(["explain", "-f", str(empty)])
    assert run.code == 1 and "no Pod objects" in run.err


def test_workload_lists_forbidden_still_diagnose_the_pods(api, podfix):
    """Namespace-scoped RBAC without list on the workload kinds: the pods are still explained, with a note."""
    quota_world(api)
    api.deny("list", "deployments.apps")
    api.deny("list", "cronjobs.batch")
    run = podfix("explain", "-n", "shop")
    assert run.code == 0, run.err
    assert "deployments could not be listed" in run.out and "cronjobs could not be listed" in run.out
