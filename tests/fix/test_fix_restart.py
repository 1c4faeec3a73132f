"""``kubectl podfix fix restart``: failing pods of a workload deleted (uid preconditions) and replaced;
bare pods never deleted without --recreate-bare; dry runs delete nothing."""

from __future__ import annotations

import pytest
from world import NS, act_as_controllers, add_workload, oom_status, pod_obj, ready_status, world, writes

from kubectl_podfix.fix import restart as rst
from kubectl_podfix.fix import workload as wl


def deletes(api):
    return [r for r in api.requests if r.method == "DELETE"]


def test_planner_deletes_only_failing_pods_with_uid_preconditions():
    w, server = world("Deployment")
    healthy = pod_obj("web-5d4f8b7c9d-zzzzz", w.pods[0]["metadata"]["ownerReferences"][0],
                      statuses=[ready_status()], labels=w.pods[0]["metadata"]["labels"], ready=True)
    server.add(healthy)
    w.pods.append(server.get("Pod", NS, "web-5d4f8b7c9d-zzzzz"))
    plan = rst.plan_restart(w)
    assert [(s.verb, s.name) for s in plan.steps] == [("delete", "web-5d4f8b7c9d-abcde")]
    assert plan.steps[0].uid == w.pods[0]["metadata"]["uid"]
    assert plan.wait.selector == "app=web" and plan.wait.expect == 1
    assert set(plan.wait.old_uids) == {p["metadata"]["uid"] for p in w.pods}


def test_planner_never_plans_a_bare_pod_deletion_without_the_flag():
    w = wl.Workload(NS, pod=pod_obj("lonely"), pods=[pod_obj("lonely")])
    with pytest.raises(wl.NotPatchable) as err:
        rst.plan_restart(w, only_pod=True)
    assert err.value.plan.steps == [] and "--recreate-bare" in err.value.plan.warnings[0]
    plan = rst.plan_restart(w, only_pod=True, recreate_bare=True)
    assert [(s.verb, s.kind, s.name) for s in plan.steps] == [("delete", "Pod", "lonely"), ("create", "Pod", "lonely")]
    assert "nodeName" not in plan.steps[1].body["spec"]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "CronJob"])
def test_restart_workload_end_to_end(api, podfix, kind):
    pod = add_workload(api, kind)
    uid = api.get("Pod", NS, pod)["metadata"]["uid"]
    act_as_controllers(api)
    target = f"{wl.KUBECTL_NAMES[kind]}/web"
    api.clear_requests()
    r = podfix("fix", "restart", target, "-n", NS, "--yes", "--timeout", "20s")
    assert r.code == 0, r.err + r.out
    [d] = deletes(api)
    assert d.path == f"/api/v1/namespaces/default/pods/{pod}"
    assert d.json["preconditions"] == {"uid": uid}
    assert [w.method for w in writes(api) if "selfsubjectaccessreviews" not in w.path] == ["DELETE"]
    assert api.get("Pod", NS, pod) is None
    assert "Ready" in r.out.split("Result:", 1)[1]


def test_restart_dry_run_server_deletes_nothing(api, podfix):
    pod = add_workload(api, "Deployment")
    api.clear_requests()
    r = podfix("fix", "restart", pod, "-n", NS, "--dry-run=server")
    assert r.code == 0, r.err
    assert [d.query.get("dryRun") for d in deletes(api)] == [["All"]]
    assert api.get("Pod", NS, pod) is not None


def test_bare_pod_is_never_silently_deleted(api, podfix):
    api.add(pod_obj("lonely", statuses=[oom_status()]))
    api.clear_requests()
    r = podfix("fix", "restart", "lonely", "-n", NS, "--yes")
    assert r.code == 4 and "nothing was changed" in r.err
    assert deletes(api) == [] and api.get("Pod", NS, "lonely") is not None
    assert "no controller" in r.out and "--recreate-bare" in r.out
    # asked explicitly, but no terminal and no --yes: still nothing
    r = podfix("fix", "restart", "lonely", "-n", NS, "--recreate-bare")
    assert r.code == 4 and deletes(api) == []
    # asked explicitly and confirmed
    r = podfix("fix", "restart", "lonely", "-n", NS, "--recreate-bare", "--yes", "--no-wait")
    assert r.code == 0, r.err + r.out
    # one request more than before this hardening: the server dry run of the re-create, before the delete
    sent = [x for x in writes(api) if "selfsubjectaccessreviews" not in x.path]
    assert [(x.method, x.query.get("dryRun")) for x in sent] == [("POST", ["All"]), ("DELETE", None), ("POST", None)]
    assert api.get("Pod", NS, "lonely") is not None


def test_pod_target_restarts_only_that_pod(api, podfix):
    pod = add_workload(api, "Deployment", replicas=2)
    owner = api.get("Pod", NS, pod)["metadata"]["ownerReferences"][0]
    api.add(pod_obj("web-5d4f8b7c9d-other", owner, labels={"app": "web", "pod-template-hash": "5d4f8b7c9d"}))
    r = podfix("fix", "restart", pod, "-n", NS, "--dry-run=client")
    assert r.code == 0, r.err
    assert f"delete pod/{pod}" in r.out and "delete pod/web-5d4f8b7c9d-other" not in r.out
    assert "other failing pods of deployment/web: web-5d4f8b7c9d-other" in r.out


def test_unreadable_owner_is_not_nothing_to_change(api, podfix):
    pod = add_workload(api, "Deployment")
    api.deny("get", "replicasets", NS)
    r = podfix("fix", "restart", pod, "-n", NS, "--yes")
    assert r.code == 4, r.err
    assert "Nothing to change" not in r.out
    assert f"kubectl delete pod {pod} -n {NS}" in r.out and "could not be read" in r.err
    assert writes(api) == []


def test_a_pod_replaced_since_it_was_read_is_not_deleted_and_refused_with_exit_4(api, podfix):
    """A StatefulSet recreates a pod under the same name: the uid precondition makes the server refuse the
    delete (409), and podfix treats it as every other conditional write refused: exit 4, one line saying what
    changed, the new pod untouched."""
    pod = add_workload(api, "StatefulSet")

    def replace_it(verb, kind, ns, name):
        if verb == "delete" and kind == "Pod":
            api.before_write = []
            fresh = api.get("Pod", NS, name)
            fresh["metadata"].pop("uid")
            fresh["metadata"].pop("resourceVersion")
            api.remove("Pod", NS, name)
            api.add(fresh)
    api.before_write = [replace_it]
    r = podfix("fix", "restart", pod, "-n", NS, "--yes", "--no-wait")
    assert r.code == 4, r.out + r.err
    assert r.err.strip().splitlines() == [
        f"error: pod/{pod} changed since it was read (it was replaced by a new pod of the same name): nothing was "
        "changed; run the command again to plan against the new state"]
    new_uid = api.get("Pod", NS, pod)["metadata"]["uid"]
    assert new_uid and deletes(api)[-1].json["preconditions"]["uid"] != new_uid
