"""A write is conditional on the state it was planned from: a concurrent change is never overwritten.

"Someone else" changes the object between podfix's read and its write: through the fake API server's
``before_write`` hook (right before the PATCH is handled), or from the engine's confirm callback (while
the user reads the diff). With ``--yes`` (or no terminal) podfix refuses with exit 4 and one line saying
what changed; on a terminal it plans again from the new state, shows the new diff and asks again.
"""

from __future__ import annotations

import copy
import io

import pytest
from world import NS, TPL, act_as_controllers, add_workload, container, patches, tpl_container

from kubectl_podfix.cli.options import connect
from kubectl_podfix.errors import Exit
from kubectl_podfix.fix import engine
from kubectl_podfix.fix import memory as mem
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import JSON_PATCH, Step, what_changed


def raise_limit_to(api, value, kind="Deployment"):
    """Someone else sets the template's memory limit of container app to ``value``."""
    obj = api.get(kind, NS, "web")
    spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else obj["spec"]["template"]["spec"]
    spec["containers"][0]["resources"]["limits"]["memory"] = value
    obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
    obj["metadata"].pop("resourceVersion")
    api.add(obj)


def once_before_patch(api, kind, action):
    done = []

    def hook(verb, k, ns, name):
        if verb == "patch" and k == kind and not done:
            done.append(True)
            action()
    api.before_write = [hook]
    return done


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_concurrent_memory_raise_is_never_lowered_with_yes(api, podfix, kind):
    pod = add_workload(api, kind)
    once_before_patch(api, kind, lambda: raise_limit_to(api, "2Gi", kind))
    api.clear_requests()
    r = podfix("fix", "memory", pod, "-n", NS, "--yes", "--no-wait")
    assert r.code == Exit.REFUSED, r.out + r.err
    ref = f"{'cronjob' if kind == 'CronJob' else 'deployment'}/web"
    assert r.err.strip().splitlines()[-1] == (
        f"error: {ref} changed since it was read (memory limit is now 2Gi): nothing was changed; run the "
        "command again to plan against the new state")
    assert tpl_container(api, kind)["resources"]["limits"]["memory"] == "2Gi"  # never lowered to 512Mi
    assert "FAILED" in r.out and "changed after podfix read it" in r.out  # the step report, on stdout
    [patch] = patches(api)  # one conditional PATCH, refused; nothing sent after it but the re-read
    assert [t["op"] for t in patch.json] == ["test", "test", "replace"]
    assert [(q.method, q.path.rsplit("/", 1)[-1]) for q in api.requests[api.requests.index(patch) + 1:]] == \
        [("GET", "web")]


def test_rerun_after_a_conflict_plans_against_the_new_state(api, podfix):
    pod = add_workload(api, "Deployment")
    once_before_patch(api, "Deployment", lambda: raise_limit_to(api, "2Gi"))
    assert podfix("fix", "memory", pod, "-n", NS, "--yes", "--no-wait").code == Exit.REFUSED
    r = podfix("fix", "memory", pod, "-n", NS, "--yes", "--no-wait")
    assert r.code == 0, r.err
    assert "2Gi -> 4Gi" in r.out
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "4Gi"


def test_status_updates_during_a_rollout_do_not_conflict(api, podfix):
    """A Deployment's resourceVersion changes with every status update: the JSON patch tests only the
    fields it changes, so status churn between read and write is no conflict."""
    pod = add_workload(api, "Deployment")

    def status_update():
        dep = api.get("Deployment", NS, "web")
        dep["status"] = {"observedGeneration": 1, "replicas": 1, "unavailableReplicas": 1}
        dep["metadata"].pop("resourceVersion")
        api.add(dep)
    once_before_patch(api, "Deployment", status_update)
    r = podfix("fix", "memory", pod, "-n", NS, "--yes", "--no-wait")
    assert r.code == 0, r.err + r.out
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "512Mi"


def test_a_container_moved_in_the_template_is_a_conflict(api, podfix):
    pod = add_workload(api, "Deployment")

    def insert_sidecar():
        dep = api.get("Deployment", NS, "web")
        dep["spec"]["template"]["spec"]["containers"].insert(0, container("sidecar", limit="64Mi"))
        dep["metadata"].pop("resourceVersion")
        api.add(dep)
    once_before_patch(api, "Deployment", insert_sidecar)
    r = podfix("fix", "memory", pod, "-n", NS, "--yes", "--no-wait")
    assert r.code == Exit.REFUSED
    assert "container app is no longer where it was" in r.err
    sidecar, app = api.get("Deployment", NS, "web")["spec"]["template"]["spec"]["containers"]
    assert sidecar["resources"]["limits"]["memory"] == "64Mi" and app["resources"]["limits"]["memory"] == "256Mi"


def test_interactive_conflict_replans_shows_the_new_diff_and_asks_again(api, kubeconfig):
    pod = add_workload(api, "Deployment")
    act_as_controllers(api)
    cluster = connect({"kubeconfig": kubeconfig})
    asked = []

    def confirm(question):  # the user reads the diff; meanwhile someone raises the limit to 2Gi
        asked.append(question)
        if len(asked) == 1:
            raise_limit_to(api, "2Gi")
        return True

    def plan(w=None):
        return mem.plan_memory(mem.MemoryInput(w or wl.resolve(cluster, NS, pod), "app"))

    out, err = io.StringIO(), io.StringIO()
    result = engine.run(plan(), cluster, interactive=True, confirm=confirm, out=out, err=err, replan=plan)
    text = out.getvalue()
    assert result.code == Exit.OK and result.error is None, text + err.getvalue()
    assert len(asked) == 2
    assert "deployment/web changed since it was read (memory limit is now 2Gi): nothing was changed. " \
           "Planning again against its current state:" in text
    first, second = text.split("Planning again against its current state:")
    assert "+            memory: 512Mi" in first
    assert "-            memory: 2Gi" in second and "+            memory: 4Gi" in second
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "4Gi"


def test_interactive_without_a_replan_refuses(api, kubeconfig):
    pod = add_workload(api, "Deployment")
    cluster = connect({"kubeconfig": kubeconfig})
    w = wl.resolve(cluster, NS, pod)

    def confirm(question):
        raise_limit_to(api, "2Gi")
        return True
    result = engine.run(mem.plan_memory(mem.MemoryInput(w, "app")), cluster, interactive=True, confirm=confirm,
                        out=io.StringIO(), err=io.StringIO())
    assert result.code == Exit.REFUSED and "memory limit is now 2Gi" in result.error
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "2Gi"


def test_concurrent_pull_secret_added_to_the_template_is_kept(api, podfix):
    add_workload(api, "Deployment")
    dep = api.get("Deployment", NS, "web")
    dep["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "old"}]
    api.add(dep)
    pod = next(p["metadata"]["name"] for p in api.objects("Pod", NS))
    api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}})

    def theirs():
        d = api.get("Deployment", NS, "web")
        d["spec"]["template"]["spec"]["imagePullSecrets"].append({"name": "theirs"})
        d["metadata"].pop("resourceVersion")
        api.add(d)
    once_before_patch(api, "Deployment", theirs)
    r = podfix("secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
               "--password-stdin", "--for", pod, "-n", NS, "--yes", "--no-wait", stdin="pw-concurrency\n")
    assert r.code == Exit.REFUSED, r.out + r.err
    assert "error: deployment/web changed since it was read (imagePullSecrets changed)" in r.err
    assert api.get("Deployment", NS, "web")["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "old"}, {"name": "theirs"}]


# -- what_changed (pure) ------------------------------------------------------------------------------

def _step(ops):
    return Step("patch", "Deployment", NS, "web", body=ops, content_type=JSON_PATCH)


def test_what_changed_names_the_field_and_its_new_value():
    before = {"spec": {"template": {"spec": {"containers": [container()]}}}}
    ops = [{"op": "test", "path": f"{TPL}/name", "value": "app"},
           {"op": "test", "path": f"{TPL}/resources/limits/memory", "value": "256Mi"}]
    now = copy.deepcopy(before)
    assert what_changed(_step(ops), now) == "it was modified"  # nothing differs (another field did)
    now["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "2Gi"
    assert what_changed(_step(ops), now) == "memory limit is now 2Gi"
    del now["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert what_changed(_step(ops), now) == "memory limit was removed"
    assert what_changed(_step(ops), None) == "it was deleted"
    # a field that was absent: its parent was tested; the first difference inside it is named
    parent = [{"op": "test", "path": f"{TPL}/resources", "value": {"requests": {"memory": "128Mi"}}}]
    now = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"requests": {"memory": "128Mi"}, "limits": {"memory": "1Gi"}}}]}}}}
    assert what_changed(_step(parent), now) == "memory limit is now 1Gi"


def test_an_object_created_by_someone_else_meanwhile_is_kept_and_refused_with_exit_4(api, podfix):
    """A create is planned because the object did not exist: when someone else creates it before podfix does
    (the chart that names the ServiceAccount, with its cloud identity annotation), the 409 AlreadyExists is
    a conflict like any other: exit 4, one line, theirs kept, never "delete it first"."""
    from world import SA_MISSING, refused

    refused(api, SA_MISSING, sa="robot")
    theirs = {"apiVersion": "v1", "kind": "ServiceAccount",
              "metadata": {"name": "robot", "namespace": NS, "annotations": {"eks.amazonaws.com/role-arn": "arn"}}}
    done = []

    def hook(verb, kind, ns, name):
        if verb == "create" and kind == "ServiceAccount" and not done:
            done.append(api.add(theirs))
    api.before_write = [hook]
    r = podfix("fix", "service-account", "deploy/web", "-n", NS, "--yes", "--no-wait")
    assert r.code == Exit.REFUSED, r.out + r.err
    assert r.err.strip().splitlines() == [
        "error: serviceaccount/robot changed since it was read (it was created meanwhile): nothing was changed; run "
        "the command again to plan against the new state"]
    assert "delete it first" not in r.out + r.err
    assert api.get("ServiceAccount", NS, "robot")["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn"}
    again = podfix("fix", "service-account", "deploy/web", "-n", NS, "--yes", "--no-wait")
    assert again.code == 0 and "nothing to create" in again.out
