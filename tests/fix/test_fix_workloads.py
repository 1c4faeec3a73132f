"""``fix pod-security`` and ``fix service-account``: the planners (fields per violation, refusals) and the
installed commands against the loopback API server, on workloads whose pods are rejected at creation and so
have no pod at all. Violation texts are real (tests/diagnose/workloads/workload_texts.yaml)."""

from __future__ import annotations

import uuid

import pytest
from world import NS, add_workload, patches, tpl_container, world, writes

from kubectl_podfix.diagnose.workloads.messages import classify
from kubectl_podfix.errors import Exit, PodfixError
from kubectl_podfix.fix import pod_security as psa
from kubectl_podfix.fix.plan import JSON_PATCH

RESTRICTED = ('Error creating: pods "web-5d4f8b7c9d-2dd4n" is forbidden: violates PodSecurity "restricted:latest": '
              'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation'
              '=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]'
              '), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), '
              'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to '
              '"RuntimeDefault" or "Localhost")')
PRIVILEGED = ('Error creating: pods "web-5d4f8b7c9d-hxf84" is forbidden: violates PodSecurity "baseline:latest": '
              'hostPath volumes (volumes "varlog", "data"), privileged (container "app" must not set '
              'securityContext.privileged=true)')
SA_MISSING = ('Error creating: pods "web-5d4f8b7c9d-" is forbidden: error looking up service account default/robot: '
              'serviceaccount "robot" not found')


def violations(message):
    return classify(message)["violations"]


# ----------------------------------------------------------------------------- the planner

def test_fields_for_the_four_restricted_checks():
    pod, per, refused = psa.fields_for(violations(RESTRICTED))
    assert refused == []
    assert pod == {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}
    assert per == {"app": {"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}}


def test_fields_for_plural_containers_and_unconfined():
    msg = ('violates PodSecurity "restricted:latest": unrestricted capabilities (containers "kube-rbac-proxy", '
           '"manager" must set securityContext.capabilities.drop=["ALL"]), seccompProfile (pod and container '
           '"manager" must not set securityContext.seccompProfile.type to "Unconfined")')
    pod, per, refused = psa.fields_for(violations(msg))
    assert set(per) == {"kube-rbac-proxy", "manager"}
    assert per["manager"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod == {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}


def test_planner_patch_is_conditional_and_has_an_undo():
    w, _ = world("Deployment")
    plan = psa.plan_pod_security(w, violations(RESTRICTED), "restricted:latest")
    (step,) = plan.steps
    assert (step.verb, step.kind, step.content_type) == ("patch", "Deployment", JSON_PATCH)
    ops = step.body
    first_change = next(i for i, op in enumerate(ops) if op["op"] != "test")
    assert all(op["op"] == "test" for op in ops[:first_change])  # every precondition before any change
    assert {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"} in ops
    changes = {op["path"]: op["value"] for op in ops[first_change:]}
    assert changes == {
        "/spec/template/spec/securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "/spec/template/spec/containers/0/securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}
    assert step.undo == "kubectl rollout undo deployment/web -n default"
    assert any("runAsNonRoot" in n and "runAsUser" in n for n in plan.notes)


def test_unfixable_violations_refuse_and_say_why():
    w, _ = world("Deployment")
    with pytest.raises(PodfixError) as exc:
        psa.plan_pod_security(w, violations(PRIVILEGED), "baseline:latest")
    assert exc.value.code == Exit.REFUSED
    assert "hostPath volumes" in exc.value.message and "privileged" in exc.value.message
    assert "Nothing was changed" in exc.value.message


# ----------------------------------------------------------------------------- the commands, live

def _rejected(api, message, *, sa=None):
    """deploy/web with no pod: its ReplicaSet's creations are rejected with ``message``."""
    add_workload(api, "Deployment")
    for p in list(api.objects("Pod", NS)):
        api.remove("Pod", NS, p["metadata"]["name"])
    dep = api.get("Deployment", NS, "web")
    dep["status"] = {"observedGeneration": 1, "replicas": 0, "readyReplicas": 0}
    if sa:
        dep["spec"]["template"]["spec"]["serviceAccountName"] = sa
    api.add(dep)
    rs = api.get("ReplicaSet", NS, "web-5d4f8b7c9d")
    rs["status"] = {"replicas": 0}
    api.add(rs)
    api.add({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedCreate", "message": message,
             "count": 12, "firstTimestamp": "2026-11-20T09:10:01Z", "lastTimestamp": "2026-11-20T09:41:17Z",
             "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8b7c9d",
                                "namespace": NS, "uid": rs["metadata"].get("uid", "")},
             "source": {"component": "replicaset-controller"},
             "metadata": {"name": f"web-5d4f8b7c9d.{uuid.uuid4().hex[:12]}", "namespace": NS}})


def test_explain_offers_the_fix_then_fix_patches_the_template(api, podfix):
    _rejected(api, RESTRICTED)
    r = podfix("explain", "deploy/web", "-n", NS)
    assert "workload.pod-security-violated" in r.out
    assert "Fix: kubectl podfix fix pod-security deploy/web -n default" in r.out
    api.clear_requests()
    r = podfix("fix", "pod-security", "deploy/web", "-n", NS, "--yes", "--no-wait")
    assert r.code == 0, r.err + r.out
    (patch,) = patches(api)
    assert patch.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert patch.content_type == JSON_PATCH
    c = tpl_container(api, "Deployment")
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    spec = api.get("Deployment", NS, "web")["spec"]["template"]["spec"]
    assert spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert "+        runAsNonRoot: true" in r.out and "undo: kubectl rollout undo deployment/web" in r.out


def test_dry_run_changes_nothing(api, podfix):
    _rejected(api, RESTRICTED)
    api.clear_requests()
    r = podfix("fix", "pod-security", "deploy/web", "-n", NS, "--dry-run=client")
    assert r.code == 0, r.err
    assert [w for w in writes(api) if "selfsubjectaccessreviews" not in w.path] == []
    assert "allowPrivilegeEscalation: false" in r.out


def test_refusal_changes_nothing_and_exits_4(api, podfix):
    _rejected(api, PRIVILEGED)
    api.clear_requests()
    r = podfix("fix", "pod-security", "deploy/web", "-n", NS, "--yes")
    assert r.code == 4, r.out + r.err
    assert "cannot be fixed by setting a field" in r.err and "hostPath" in r.err
    assert writes(api) == []


def test_nothing_rejected_is_refused(api, podfix):
    add_workload(api, "Deployment")
    r = podfix("fix", "pod-security", "deploy/web", "-n", NS, "--yes")
    assert r.code == 4 and "no Pod Security rejection" in r.err


def test_service_account_created(api, podfix):
    _rejected(api, SA_MISSING, sa="robot")
    r = podfix("explain", "deploy/web", "-n", NS, "-o", "json")
    first = r.json["workloads"][0]["findings"][0]
    assert first["code"] == "workload.serviceaccount-missing"
    assert first["fix"]["command"] == "kubectl podfix fix service-account deploy/web -n default"
    api.clear_requests()
    r = podfix("fix", "service-account", "deploy/web", "-n", NS, "--yes", "--no-wait")
    assert r.code == 0, r.err + r.out
    (post,) = [w for w in writes(api) if "selfsubjectaccessreviews" not in w.path]
    assert (post.method, post.path) == ("POST", "/api/v1/namespaces/default/serviceaccounts")
    assert post.json["metadata"]["name"] == "robot"
    assert "undo: kubectl delete serviceaccount robot -n default" in r.out
    again = podfix("fix", "service-account", "deploy/web", "-n", NS, "--yes", "--no-wait")
    assert again.code == 0 and "nothing to create" in again.out
