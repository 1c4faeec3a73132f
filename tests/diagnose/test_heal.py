"""diagnose/heal.py: which failures will not heal by themselves (pure, over real diagnoses: a pod's, and a
workload's over what ``wait`` follows)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from objects import event, pod, waiting

from kubectl_podfix.diagnose import heal
from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.model import Finding, Snapshot, pin_now
from kubectl_podfix.diagnose.report import PodResult as PodResultOf
from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.workloads import explain_workloads

NOW = dt.datetime(2026, 11, 20, 9, 10, tzinfo=dt.timezone.utc)
IMAGE = "registry.example.com/shop/web:2.0"
NOT_FOUND = (f'Failed to pull image "{IMAGE}": failed to pull and unpack image "{IMAGE}": failed to resolve '
             f'reference "{IMAGE}": {IMAGE}: not found')
UNREACHABLE = (f'Failed to pull image "{IMAGE}": rpc error: code = DeadlineExceeded desc = failed to pull and '
               f'unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": failed to do request: Head '
               '"https://registry.example.com/v2/shop/web/manifests/2.0": dial tcp 10.0.0.7:443: i/o timeout')
NO_ROOM = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not "
           "helpful for scheduling.")


def decide(p: dict, *events: dict, now=NOW):
    snap = Snapshot(pods=[p], events=list(events))
    (ctx,) = contexts(snap)
    ctx.now = now
    findings = diagnose(ctx)
    return heal.permanent(findings, p, ctx.events, now), findings


def crash_status(restarts: int) -> dict:
    return {"name": "app", "image": "nginx:1.27", "ready": False, "restartCount": restarts, "started": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-20T09:08:00Z",
                                         "finishedAt": "2026-11-20T09:09:50Z"}}}


def pending(message: str = NO_ROOM, since: str = "2026-11-20T09:00:00Z") -> dict:
    p = pod("web-1", node=None, phase="Pending")
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": message, "lastTransitionTime": since}]
    return p


def test_an_image_that_does_not_exist_is_permanent():
    p = pod("web-1", containers=[{"name": "app", "image": IMAGE}],
            statuses=[waiting("app", "ImagePullBackOff", f'Back-off pulling image "{IMAGE}"', image=IMAGE)])
    found, _ = decide(p, event(p, "Failed", NOT_FOUND, container="app", count=3))
    assert found is not None and found.code == "image.not-found"


def test_a_registry_that_does_not_answer_may_come_back():
    p = pod("web-1", containers=[{"name": "app", "image": IMAGE}],
            statuses=[waiting("app", "ErrImagePull", UNREACHABLE.split(": ", 1)[1], image=IMAGE)])
    found, findings = decide(p, event(p, "Failed", UNREACHABLE, container="app"))
    assert found is None and findings[0].code == "image.registry-unreachable"


def test_pulling_is_not_a_failure():
    p = pod("web-1", statuses=[waiting("app", "ContainerCreating")])
    assert decide(p, event(p, "Pulling", 'Pulling image "nginx:1.27"', type_="Normal", container="app"))[0] is None


@pytest.mark.parametrize("restarts, permanent", [(1, False), (2, True), (5, True)])
def test_a_crash_loop_is_permanent_from_its_second_restart(restarts, permanent):
    p = pod("web-1", phase="Running", statuses=[crash_status(restarts)])
    found, findings = decide(p)
    assert findings[0].code == "container.crash-loop"
    assert (found is not None) == permanent


def test_a_missing_config_map_is_permanent():
    p = pod("web-1", statuses=[waiting("app", "CreateContainerConfigError", 'configmap "web-config" not found')])
    found, _ = decide(p)
    assert found is not None and found.code == "container.config-error"


def test_a_config_map_missing_for_seconds_may_still_be_applied():
    """`kubectl apply -f k8s/` may create the ConfigMap just after the Deployment: the kubelet retries."""
    p = pod("web-1", created="2026-11-20T09:09:55Z",  # 5 s before NOW
            statuses=[waiting("app", "CreateContainerConfigError", 'configmap "web-config" not found')])
    found, findings = decide(p)
    assert found is None and findings[0].code == "container.config-error"


def test_unschedulable_waits_for_an_autoscaler():
    p = pending(since="2026-11-20T09:09:50Z")  # 10 s ago: the autoscaler has not had its say yet
    assert decide(p, event(p, "FailedScheduling", NO_ROOM, component="default-scheduler"))[0] is None
    p = pending()  # 10 minutes ago, no scale-up: nothing is coming
    found, _ = decide(p, event(p, "FailedScheduling", NO_ROOM, component="default-scheduler"))
    assert found is not None and found.code == "pod.unschedulable"


@pytest.mark.parametrize("reason, component, permanent", [
    ("TriggeredScaleUp", "cluster-autoscaler", False),
    ("Nominated", "karpenter", False),
    ("NotTriggerScaleUp", "cluster-autoscaler", True),
])
def test_what_the_autoscaler_says_decides(reason, component, permanent):
    p = pending(since="2026-11-20T09:09:55Z")
    found, _ = decide(p, event(p, "FailedScheduling", NO_ROOM, component="default-scheduler"),
                      event(p, reason, "pod triggered scale-up: [{pool-1 3->4 (max: 10)}]" if reason != "Nominated"
                            else "Pod should schedule on: nodeclaim/default-x7k2p", type_="Normal",
                            component=component))
    assert (found is not None) == permanent


def test_unschedulable_where_preemption_could_help_keeps_waiting():
    p = pending("0/3 nodes are available: 3 Insufficient cpu.")
    assert decide(p, event(p, "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.",
                           component="default-scheduler"))[0] is None


def test_only_errors_with_a_row_count():
    f = Finding("image.not-found", "warning", "app", "t", "e")
    assert heal.permanent([f], pod("x"), [], NOW) is None
    f = Finding("image.pull-failed", "error", "app", "t", "e")
    assert heal.permanent([f], pod("x"), [], NOW) is None
    f2 = Finding("image.not-found", "error", "app", "t", "e")
    assert heal.permanent([f, f2], pod("x"), [], NOW) is f2


def test_every_row_is_a_known_code_and_docs_wait_md_lists_them():
    from kubectl_podfix.diagnose.rules import CODES
    from kubectl_podfix.diagnose.workloads import CODES as WORKLOAD_CODES
    assert {r.code for r in heal.RULES} <= set(CODES) | set(WORKLOAD_CODES)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "wait.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z.-]+)` \| (.+?) \|$", doc, re.M))
    assert {code: rows.get(code) for code in heal.BY_CODE} == {r.code: r.when for r in heal.RULES}


# -- workload findings: pods the API server refuses, claims, controllers that gave up ----------------------

QUOTA = ('Error creating: pods "web-new-2wm8j" is forbidden: exceeded quota: namespace-quota, requested: '
         'limits.cpu=1,limits.memory=2Gi, used: limits.cpu=6,limits.memory=12Gi, limited: limits.cpu=6,'
         'limits.memory=12Gi')
QUOTA_UNKNOWN = 'Error creating: pods "web-new-2wm8j" is forbidden: status unknown for quota: namespace-quota'
PSA = ('Error creating: pods "web-new-x" is forbidden: violates PodSecurity "restricted:latest": '
       'allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false)')
WEBHOOK = ('Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: policy '
           'Deployment/shop/web for resource violation: require-labels: check-team: label team is required')
WEBHOOK_DOWN = ('Error creating: Internal error occurred: failed calling webhook "validate.kyverno.svc-fail": '
                'failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/validate/fail?timeout=10s": '
                'context deadline exceeded')
SA_MISSING = ('Error creating: pods "web-new-" is forbidden: error looking up service account shop/robot: '
              'serviceaccount "robot" not found')
TERMINATING = ('Error creating: pods "web-new-x" is forbidden: unable to create new content in namespace shop '
               'because it is being terminated')
BUSY = "Error creating: The POST operation against Pod could not be completed at this time, please try again."
AT = "2026-11-20T09:05:00Z"


@pytest.fixture
def pinned():
    pin_now(NOW)
    yield
    pin_now(None)


def deployment(**status) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "d1", "generation": 2,
                         "creationTimestamp": "2026-11-01T00:00:00Z",
                         "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
            "status": {"observedGeneration": 2, "replicas": 0, "updatedReplicas": 0, "readyReplicas": 0, **status}}


def replicaset(name: str, revision: int, replicas: int, have: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "shop", "uid": name,
                         "creationTimestamp": f"2026-11-20T0{revision}:00:00Z",
                         "labels": {"app": "web", "pod-template-hash": name[-3:]},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1", "controller": True}]},
            "spec": {"replicas": replicas}, "status": {"replicas": have}}


def failed_create(message: str, kind: str = "ReplicaSet", name: str = "web-new", first: str = AT) -> dict:
    return {"apiVersion": "v1", "kind": "Event", "reason": "FailedCreate", "type": "Warning", "message": message,
            "count": 3, "involvedObject": {"kind": kind, "name": name, "namespace": "shop", "uid": name},
            "metadata": {"name": f"{name}.1", "namespace": "shop"}, "firstTimestamp": first, "lastTimestamp": AT}


def decide_workload(obj: dict, *others: dict, pods: tuple = (), events: tuple = ()):
    """(the finding wait would stop on, the workload's findings): the workload rules over what wait follows."""
    snap = Snapshot(pods=list(pods), events=list(events))
    for o in (obj, *others):
        snap.add(o)
    results = [PodResultOf(ctx, diagnose(ctx)) for ctx in contexts(snap)]
    (w,) = explain_workloads(snap, results, target=(obj["kind"], "shop", obj["metadata"]["name"]))
    return heal.permanent(w.findings, obj, w.ctx.events, NOW), w.findings


@pytest.mark.parametrize("message, code, permanent", [
    (QUOTA, "workload.quota-exceeded", True),
    ("(combined from similar events): " + QUOTA, "workload.quota-exceeded", True),
    (QUOTA_UNKNOWN, "workload.quota-exceeded", False),  # the quota controller has not caught up yet
    (PSA, "workload.pod-security-violated", True),
    (WEBHOOK, "workload.webhook-denied", True),
    (WEBHOOK_DOWN, "workload.webhook-unreachable", False),  # not a policy: the webhook may come back
    (TERMINATING, "workload.create-failed", True),
    (BUSY, "workload.create-failed", False),
    (SA_MISSING, "workload.serviceaccount-missing", True),  # refused for 5 minutes
])
def test_refused_pods_of_the_new_replicaset(pinned, message, code, permanent):
    found, findings = decide_workload(deployment(), replicaset("web-new", 2, 2, 0), replicaset("web-old", 1, 0, 0),
                                      events=[failed_create(message)])
    assert findings[0].code == code and findings[0].severity == "error"
    assert (found is findings[0]) == permanent


def test_a_missing_service_account_may_be_applied_just_after_the_workload(pinned):
    """kubectl apply -f k8s/ may create the ServiceAccount a file later: permanent after 15 s of refusals."""
    found, findings = decide_workload(deployment(), replicaset("web-new", 2, 2, 0),
                                      events=[failed_create(SA_MISSING, first="2026-11-20T09:09:55Z")])
    assert findings[0].code == "workload.serviceaccount-missing" and found is None


def test_a_full_quota_while_pods_terminate_keeps_waiting(pinned):
    """Their end frees room (a rolling update at the quota's edge): a warning, not a failure."""
    old = pod("web-old-abcde", namespace="shop", phase="Running", owner=("ReplicaSet", "web-old"),
              labels={"app": "web", "pod-template-hash": "old"})
    old["metadata"]["deletionTimestamp"] = "2026-11-20T09:09:30Z"
    found, findings = decide_workload(deployment(), replicaset("web-new", 2, 2, 0), replicaset("web-old", 1, 0, 1),
                                      pods=[old], events=[failed_create(QUOTA)])
    quota = next(f for f in findings if f.code == "workload.quota-exceeded")
    assert quota.severity == "warning" and found is None


def test_refusals_of_a_replicaset_that_is_not_short_are_history(pinned):
    found, findings = decide_workload(deployment(), replicaset("web-new", 2, 2, 0), replicaset("web-old", 1, 0, 0),
                                      events=[failed_create(QUOTA, name="web-old")])
    assert found is None and "workload.quota-exceeded" not in [f.code for f in findings]


def test_the_replica_failure_condition_alone(pinned):
    d = deployment(conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                "message": QUOTA.split(": ", 1)[1], "lastTransitionTime": AT}])
    found, _ = decide_workload(d, replicaset("web-new", 2, 2, 0))
    assert found is not None and found.code == "workload.quota-exceeded"
    assert "condition ReplicaFailure=True (FailedCreate)" in found.evidence[0]


def test_a_statefulset_s_refused_pod(pinned):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": "shop", "uid": "db", "generation": 1},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}},
                    "template": {"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}},
           "status": {"observedGeneration": 1, "replicas": 0}}
    ev = failed_create("create Pod db-0 in StatefulSet db failed error: " + QUOTA.split(": ", 1)[1],
                       kind="StatefulSet", name="db")
    found, _ = decide_workload(sts, events=[ev])
    assert found is not None and found.code == "workload.quota-exceeded"


@pytest.mark.parametrize("reason, message, code", [
    ("BackoffLimitExceeded", "Job has reached the specified backoff limit", "workload.job-backoff-limit"),
    ("DeadlineExceeded", "Job was active longer than specified deadline", "workload.job-deadline-exceeded"),
    ("PodFailurePolicy", "Container main for pod shop/migrate-x failed with exit code 42 matching FailJob rule at "
     "index 0", "workload.job-pod-failure-policy"),
    ("MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes",
     "workload.job-failed"),
])
def test_a_failed_job_is_final(pinned, reason, message, code):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "shop", "uid": "j"},
           "spec": {"backoffLimit": 0, "template": {"spec": {"containers": [{"name": "m", "image": "m:1"}]}}},
           "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": reason,
                                                   "message": message, "lastTransitionTime": AT}]}}
    found, _ = decide_workload(job)
    assert found is not None and found.code == code


@pytest.mark.parametrize("message, kind, first, permanent", [
    ('storageclass.storage.k8s.io "fast" not found', "storageclass-missing", "2026-11-20T09:05:00Z", True),
    ('storageclass.storage.k8s.io "fast" not found', "storageclass-missing", "2026-11-20T09:09:55Z", False),
    ('failed to provision volume with StorageClass "ebs-sc": rpc error: code = DeadlineExceeded desc = context '
     'deadline exceeded', "timeout", "2026-11-20T09:05:00Z", False),  # the CSI driver retries
])
def test_a_claim_that_cannot_be_provisioned(pinned, message, kind, first, permanent):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": "shop", "uid": "db", "generation": 1},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
                    "template": {"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}},
           "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0}}
    ev = {"apiVersion": "v1", "kind": "Event", "reason": "ProvisioningFailed", "type": "Warning", "message": message,
          "count": 2, "involvedObject": {"kind": "PersistentVolumeClaim", "name": "data-db-0", "namespace": "shop"},
          "metadata": {"name": "data-db-0.1", "namespace": "shop"}, "firstTimestamp": first, "lastTimestamp": AT}
    found, findings = decide_workload(sts, events=[ev])
    first_finding = findings[0]
    assert first_finding.code == "workload.pvc-provisioning-failed" and first_finding.extra["kind"] == kind
    assert (found is first_finding) == permanent


def test_every_workload_row_is_a_workload_code():
    from kubectl_podfix.diagnose.workloads import CODES as WORKLOAD_CODES
    from kubectl_podfix.diagnose.workloads import CREATION_REJECTED
    rows = {r.code for r in heal.RULES if r.code.startswith("workload.")}
    assert rows <= set(WORKLOAD_CODES)
    assert "workload.webhook-unreachable" not in rows  # an unreachable webhook may come back: keep waiting
    # every other "pod creation rejected" code (diagnose.workloads.creation_rejected) stops a wait
    assert CREATION_REJECTED - {"workload.webhook-unreachable"} <= rows
