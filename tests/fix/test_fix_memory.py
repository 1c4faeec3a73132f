"""``kubectl podfix fix memory``: quantity arithmetic, the planner, and the installed command against the
loopback API server (exact patch bodies and content types per workload kind, dry runs, undo through the
real kubectl, GitOps warning, metrics and node capacity).

The workload builders here are shared by the other ``test_fix_*`` modules.
"""

from __future__ import annotations

import json
import shlex
from decimal import Decimal

import pytest
from apiserver import FakeAPIServer
from clitools import have_kubectl
from world import (  # noqa: F401
    JSON_PATCH,
    NS,
    STRATEGIC,
    TPL,
    WRITES,
    act_as_controllers,
    add_workload,
    container,
    guarded,
    kubectl,
    only_change_note,
    oom_status,
    owner_ref,
    patches,
    pod_obj,
    ready_status,
    replicaset,
    sets,
    template,
    tpl_container,
    undo_line,
    world,
    writes,
)

from kubectl_podfix.errors import PodfixError, UsageError
from kubectl_podfix.fix import memory as mem
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.quantity import format_quantity, parse_quantity


@pytest.mark.parametrize("text, value", [
    ("512Ki", 512 * 1024), ("1Mi", 2 ** 20), ("0.5Gi", 2 ** 29), ("500M", 500 * 10 ** 6), ("250m", Decimal("0.25")),
    ("1e3", 1000), ("1.5Gi", 3 * 2 ** 29), ("128974848", 128974848), ("129e6", 129 * 10 ** 6), ("1k", 1000),
])
def test_parse_odd_units(text, value):
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("limit, peak, expected", [
    ("256Mi", None, "512Mi"),   # 2 x 256Mi
    ("0.5Gi", None, "1Gi"),     # 2 x 512Mi
    ("300M", None, "576Mi"),    # 600M = 572.2Mi, rounded up to a multiple of 64Mi
    ("1e3", None, "64Mi"),      # absurdly small: the smallest sensible step
    ("512Ki", None, "64Mi"),
    ("768Mi", None, "1536Mi"),  # above 1Gi: multiples of 256Mi
    ("1Gi", None, "2Gi"),
    ("256Mi", "900Mi", "1280Mi"),  # peak 900Mi + 25% = 1125Mi -> 1280Mi beats 2 x 256Mi
    ("1G", "100Mi", "2048Mi"),  # 2G = 1907.3Mi -> 2048Mi (written 2Gi by format? no: 2048Mi == 2Gi)
])
def test_default_limit_arithmetic(limit, peak, expected):
    got = mem.default_limit(parse_quantity(limit), None, parse_quantity(peak) if peak else None)
    assert got == parse_quantity(expected)
    assert format_quantity(got) == format_quantity(parse_quantity(expected))


def test_format_quantity_spellings():
    assert format_quantity(parse_quantity("1536Mi")) == "1536Mi"
    assert format_quantity(parse_quantity("2048Mi")) == "2Gi"
    assert format_quantity(parse_quantity("0.5Gi")) == "512Mi"
    assert format_quantity(parse_quantity("1e3")) == "1k"
    assert format_quantity(parse_quantity("250m")) == "250m"


def test_no_limit_no_request_no_metrics_needs_memory_flag():
    assert mem.default_limit(None, None, None) is None
    assert mem.default_limit(None, parse_quantity("100Mi"), None) == parse_quantity("256Mi")


# ----------------------------------------------------------------------------- the planner (pure)

@pytest.mark.parametrize("kind, path", [
    ("Deployment", ("spec", "template", "spec")),
    ("StatefulSet", ("spec", "template", "spec")),
    ("DaemonSet", ("spec", "template", "spec")),
    ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
])
def test_planner_patch_body_per_kind(kind, path):
    w, _ = world(kind)
    assert w.top["kind"] == kind
    plan = mem.plan_memory(mem.MemoryInput(w, "app"))
    [step] = plan.steps
    assert (step.verb, step.kind, step.name, step.content_type) == ("patch", kind, "web", JSON_PATCH)
    base = "/" + "/".join(path) + "/containers/0"
    # conditional on what was read: the container's name at its index and the value it replaces
    assert step.body == guarded(base, "app", {"/resources/limits/memory": "256Mi"},
                                [("replace", "/resources/limits/memory", "512Mi")])
    if kind == "CronJob":
        inverse = guarded(base, "app", {"/resources/limits/memory": "512Mi"},
                          [("replace", "/resources/limits/memory", "256Mi")])
        assert step.undo == ("kubectl patch cronjob web -n default --type=json -p "
                             + shlex.quote(json.dumps(inverse, separators=(",", ":"))))
        assert plan.wait is None
    else:
        assert step.undo == f"kubectl rollout undo {kind.lower()}/web -n default"
        assert plan.wait.owner_kind == kind and plan.wait.selector == "app=web"


def test_request_follows_when_it_would_exceed_the_limit():
    w, _ = world("Deployment", containers=[container(limit="1Gi", request="1Gi")])
    plan = mem.plan_memory(mem.MemoryInput(w, "app"), memory="768Mi")
    assert sets(plan.steps[0].body) == {"/resources/limits/memory": "768Mi", "/resources/requests/memory": "768Mi"}
    assert any("not above the current limit" in x for x in plan.warnings)


def test_init_container_is_patched_under_init_containers():
    w, _ = world("Deployment", containers=[container()])
    w.top["spec"]["template"]["spec"]["initContainers"] = [container("migrate", limit="64Mi", request=None)]
    step = mem.plan_memory(mem.MemoryInput(w, "migrate")).steps[0]
    assert step.body == guarded("/spec/template/spec/initContainers/0", "migrate", {"/resources/limits/memory": "64Mi"},
                                [("replace", "/resources/limits/memory", "128Mi")])


def test_refuses_more_than_the_largest_node():
    w, _ = world("Deployment")
    with pytest.raises(PodfixError) as err:
        mem.plan_memory(mem.MemoryInput(w, "app", node_max=parse_quantity("4Gi"), node_max_name="n1"),
                        memory="6Gi")
    assert err.value.code == 4
    assert "largest node (n1) has only 4Gi allocatable" in err.value.message


def test_observed_peak_wins_over_twice_the_limit():
    w, _ = world("Deployment")
    plan = mem.plan_memory(mem.MemoryInput(w, "app", peak=parse_quantity("700Mi")))
    assert sets(plan.steps[0].body) == {"/resources/limits/memory": "896Mi"}
    assert "observed peak" in plan.steps[0].description


def test_bare_pod_is_explained_with_a_manifest():
    server = FakeAPIServer()
    server.add(pod_obj("lonely"))
    w = wl.Workload(NS, pod=server.get("Pod", NS, "lonely"), pods=[server.get("Pod", NS, "lonely")])
    with pytest.raises(wl.NotPatchable) as err:
        mem.plan_memory(mem.MemoryInput(w, "app"))
    text = "\n".join(err.value.plan.warnings)
    assert "bare pod" in text and "kubectl delete pod lonely -n default" in text
    assert "memory: 512Mi" in text  # the manifest carries the new limit


def test_standalone_job_is_not_patched():
    w, _ = world("Job")
    with pytest.raises(wl.NotPatchable) as err:
        mem.plan_memory(mem.MemoryInput(w, "app"))
    assert "immutable" in err.value.message
    assert "kubectl create -f" in err.value.plan.warnings[0] and "memory: 512Mi" in err.value.plan.warnings[0]


def test_bad_memory_flag_is_a_usage_error():
    w, _ = world("Deployment")
    with pytest.raises(UsageError):
        mem.plan_memory(mem.MemoryInput(w, "app"), memory="lots")


@pytest.mark.parametrize("flag, said", [("512m", "that is 0.512 bytes"), ("0.0000001", "that is 0.0000001 bytes"),
                                        ("0", "must be more than 0")])
def test_a_memory_flag_of_fractional_bytes_is_refused_before_connecting(api, podfix, flag, said):
    # `--memory 512m` (meant: 512Mi) planned a 0.512-byte limit: with --yes the workload could not start at all
    pod = add_workload(api, "Deployment")
    api.clear_requests()
    r = podfix("fix", "memory", pod, "-n", NS, "--memory", flag, "--yes")
    assert r.code == 2, r.err + r.out
    assert r.err.count("\n") == 1 and r.err.startswith(f"error: invalid --memory '{flag}': {said}"), r.err
    assert api.requests == []
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "256Mi"


# ----------------------------------------------------------------------------- the command, live

@pytest.fixture
def oom_deploy(api):
    pod = add_workload(api, "Deployment")
    act_as_controllers(api)
    return pod


def test_oom_deployment_fixed_in_one_command(api, podfix, oom_deploy):
    api.clear_requests()
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--yes", "--timeout", "20s")
    assert r.code == 0, r.err + r.out
    [patch] = patches(api)
    assert patch.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert patch.content_type == JSON_PATCH
    assert patch.json == guarded(TPL, "app", {"/resources/limits/memory": "256Mi"},
                                 [("replace", "/resources/limits/memory", "512Mi")])
    assert patch.query.get("fieldManager") == ["kubectl-podfix"]
    assert [r.method for r in writes(api) if "selfsubjectaccessreviews" not in r.path] == ["PATCH"]
    # the diff, the undo, the verdict
    assert "-            memory: 256Mi" in r.out and "+            memory: 512Mi" in r.out
    assert "undo: kubectl rollout undo deployment/web -n default" in r.out
    assert "Ready" in r.out.split("Result:", 1)[1]
    c = tpl_container(api, "Deployment")
    assert c["resources"] == {"limits": {"memory": "512Mi"}, "requests": {"memory": "128Mi"}}
    assert api.get("ReplicaSet", NS, "web-5d4f8b7c9d")["spec"]["template"]["spec"]["containers"][0][
        "resources"]["limits"]["memory"] == "256Mi"  # never the ReplicaSet


def test_workload_target_is_accepted(api, podfix, oom_deploy):
    r = podfix("fix", "memory", "deploy/web", "-n", NS, "--yes", "--memory", "768Mi", "--no-wait")
    assert r.code == 0, r.err
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "768Mi"


@pytest.mark.parametrize("mode", ["server", "client"])
def test_dry_run_changes_nothing(api, podfix, oom_deploy, mode):
    before = api.get("Deployment", NS, "web")
    api.clear_requests()
    r = podfix("fix", "memory", oom_deploy, "-n", NS, f"--dry-run={mode}")
    assert r.code == 0, r.err
    assert api.get("Deployment", NS, "web") == before
    assert len(api.objects("Pod", NS)) == 1
    sent = [x for x in patches(api)]
    if mode == "server":
        assert len(sent) == 1 and sent[0].query.get("dryRun") == ["All"]
        assert "nothing was persisted" in r.out
    else:
        assert sent == [] and "nothing was changed" in r.out


@pytest.mark.skipif(not have_kubectl(), reason="needs kubectl")
def test_printed_rollout_undo_reverts_the_patch(api, kubeconfig, podfix, oom_deploy):
    before = tpl_container(api, "Deployment")
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--yes", "--timeout", "20s")
    assert r.code == 0, r.err
    assert tpl_container(api, "Deployment") != before
    undo = undo_line(r.out)
    assert undo == "kubectl rollout undo deployment/web -n default"
    done = kubectl(kubeconfig, undo)
    assert done.returncode == 0, done.stderr
    assert tpl_container(api, "Deployment") == before


@pytest.mark.skipif(not have_kubectl(), reason="needs kubectl")
@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet", "Deployment"])
def test_printed_inverse_patch_reverts_only_this_change(api, kubeconfig, podfix, kind):
    pod = add_workload(api, kind, containers=[container(limit="256Mi", request=None)])
    act_as_controllers(api)
    before = tpl_container(api, kind)
    r = podfix("fix", "memory", pod, "-n", NS, "--yes", "--memory", "1Gi", "--timeout", "20s")
    assert r.code == 0, r.err + r.out
    assert tpl_container(api, kind)["resources"]["limits"]["memory"] == "1Gi"
    assert undo_line(r.out) == f"kubectl rollout undo {kind.lower()}/web -n default"
    done = kubectl(kubeconfig, only_change_note(r.out))
    assert done.returncode == 0, done.stderr
    assert tpl_container(api, kind) == before


@pytest.mark.skipif(not have_kubectl(), reason="needs kubectl")
def test_cronjob_patch_and_inverse_undo(api, kubeconfig, podfix):
    pod = add_workload(api, "CronJob", containers=[container(limit="256Mi", request="200Mi")])
    before = tpl_container(api, "CronJob")
    api.clear_requests()
    r = podfix("fix", "memory", pod, "-n", NS, "--yes", "--memory", "150Mi")
    assert r.code == 0, r.err + r.out
    [patch] = patches(api)
    assert patch.path == "/apis/batch/v1/namespaces/default/cronjobs/web"
    assert patch.content_type == JSON_PATCH
    base = "/spec/jobTemplate/spec/template/spec/containers/0"
    assert patch.json == guarded(base, "app", {"/resources/limits/memory": "256Mi",
                                               "/resources/requests/memory": "200Mi"},
                                 [("replace", "/resources/limits/memory", "150Mi"),
                                  ("replace", "/resources/requests/memory", "150Mi")])
    assert api.get("Job", NS, "web-29000000")["spec"]["template"]["spec"]["containers"][0]["resources"][
        "limits"]["memory"] == "256Mi"
    undo = undo_line(r.out)
    assert undo.startswith("kubectl patch cronjob web -n default --type=json -p ")
    done = kubectl(kubeconfig, undo)
    assert done.returncode == 0, done.stderr
    assert tpl_container(api, "CronJob") == before


def test_bare_pod_prints_manifest_and_changes_nothing(api, podfix):
    api.add(pod_obj("lonely"))
    api.clear_requests()
    r = podfix("fix", "memory", "lonely", "-n", NS, "--yes")
    assert r.code == 4
    assert writes(api) == []
    assert "bare pod" in r.out and "kubectl create -f" in r.out and "memory: 512Mi" in r.out
    assert "nothing was changed" in r.err


@pytest.mark.parametrize("labels, annotations, words", [
    ({"app": "web", "app.kubernetes.io/instance": "shop"}, {"argocd.argoproj.io/tracking-id":
                                                            "shop:apps/Deployment:default/web"}, "Argo CD (application shop)"),
    ({"app": "web", "kustomize.toolkit.fluxcd.io/name": "apps",
      "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}, None, "Flux (Kustomization flux-system/apps)"),
    ({"app": "web", "helm.toolkit.fluxcd.io/name": "web"}, None, "Flux (HelmRelease flux-system/web)"),
])
def test_gitops_warning(api, podfix, labels, annotations, words):
    pod = add_workload(api, "Deployment", labels=labels, annotations=annotations)
    r = podfix("fix", "memory", pod, "-n", NS, "--dry-run=client")
    assert r.code == 0, r.err
    assert words in r.out and "revert this change" in r.out


def test_metrics_peak_and_node_allocatable(api, podfix, oom_deploy):
    api.add({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
             "metadata": {"name": oom_deploy, "namespace": NS},
             "timestamp": "2026-11-20T09:00:00Z", "window": "30s",
             "containers": [{"name": "app", "usage": {"cpu": "10m", "memory": "700Mi"}}]})
    api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
             "status": {"allocatable": {"memory": "8010948Ki", "cpu": "4"}}})
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--dry-run=client")
    assert r.code == 0, r.err
    assert "256Mi -> 896Mi" in r.out  # 700Mi x 1.25 = 875Mi -> 896Mi
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--memory", "8Gi", "--dry-run=client")
    assert r.code == 4
    assert "largest node (node-1) has only" in r.err


def test_no_metrics_server_and_forbidden_nodes_fall_back(api, podfix, oom_deploy):
    api.deny("list", "nodes")
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--dry-run=client")
    assert r.code == 0, r.err
    assert "256Mi -> 512Mi" in r.out
    assert "no metrics-server" in r.out
    assert "nodes could not be listed" in r.out


def test_explain_fix_command_matches_this_cli(api, podfix, oom_deploy):
    r = podfix("explain", oom_deploy, "-n", NS, "-o", "json")
    if r.code != 0:
        pytest.skip(f"explain not runnable here: {r.err}")
    doc = r.json
    pods = doc if isinstance(doc, list) else doc.get("pods") or doc.get("items") or [doc]
    fixes = [f["fix"]["command"] for p in pods for f in p.get("findings", []) if f.get("fix")
             and f["fix"]["id"] == "memory"]
    assert fixes == [f"kubectl podfix fix memory {oom_deploy} -n {NS}"]
    parts = shlex.split(fixes[0])[2:]
    r = podfix(*parts, "--dry-run=client")
    assert r.code == 0, r.err


def test_a_container_that_was_not_oom_killed_is_left_alone_without_memory(api, podfix):
    pod = add_workload(api, "Deployment", pod_statuses=[ready_status()], ready=True)
    api.clear_requests()
    r = podfix("fix", "memory", pod, "-n", NS, "--yes")
    assert r.code == 4
    assert "was not OOM-killed" in r.err and "--memory" in r.err
    assert writes(api) == []


def test_unreadable_owner_says_what_is_unknown_and_the_value_to_set(api, podfix, oom_deploy):
    """The ReplicaSet cannot be read: podfix cannot tell which workload holds the template. It changes nothing,
    says so once (no "Nothing to change: everything is already in place" beside the error) and gives the value
    to set by hand."""
    api.deny("get", "replicasets", NS)
    api.clear_requests()
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--yes")
    assert r.code == 4, r.err
    assert "Nothing to change" not in r.out and "already in place" not in r.out
    assert "ReplicaSet/web-5d4f8b7c9d could not be read" in r.out
    assert "(probably deployment/web), container app: resources.limits.memory: 512Mi" in r.out
    assert ("kubectl patch deployment web -n default --type=strategic -p "
            "'{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"resources\":{\"limits\":"
            "{\"memory\":\"512Mi\"}}}]}}}}'") in r.out
    assert r.err == "error: nothing was changed: ReplicaSet/web-5d4f8b7c9d could not be read (see the warning above)\n"
    assert [q for q in api.requests if q.method != "GET"] == []


def test_ctrl_c_while_waiting_leaves_the_change_and_says_how_to_follow_and_undo(api, kubeconfig):
    """No controller acts here, so no new pod comes: podfix waits. Ctrl-C (SIGINT) then must not look like
    a failure to apply: the change is in the cluster; podfix says how to follow it and how to undo it, 130."""
    import signal
    import subprocess
    import time

    from clitools import BIN, ROOT, cli_env

    pod = add_workload(api, "Deployment")
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), "fix", "memory", pod, "-n", NS, "--yes", "--timeout", "2m"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(kubeconfig), cwd=ROOT)
    deadline = time.monotonic() + 30
    while not patches(api) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert patches(api), "the change was never applied"
    time.sleep(0.5)  # into the wait
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Applied:" in out and "Traceback" not in err
    assert "interrupted while waiting: the change stays applied" in err
    assert "follow it: kubectl rollout status deployment/web -n default" in err
    assert "undo it:\n    kubectl rollout undo deployment/web -n default" in err
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "512Mi"  # still applied


def test_interrupted_text_for_restarts_and_unapplied_plans():
    from kubectl_podfix.fix import engine
    from kubectl_podfix.fix.plan import Plan, Step, WaitSpec

    plan = Plan("restart", "restart", NS, steps=[Step("delete", "Pod", NS, "web-1", undo="")],
                wait=WaitSpec(NS, "StatefulSet", "db", "app=db"))
    done = engine.EngineResult(0, applied=True, results=[engine.StepResult(plan.steps[0], "done")])
    text = engine.interrupted_text(plan, done)
    assert "follow it: kubectl rollout status statefulset/db -n default" in text
    assert "nothing to undo by a command" in text
    bare = Plan("restart", "restart", NS, wait=WaitSpec(NS, pod_name="web-1"))
    assert "podfix changed nothing" in engine.interrupted_text(bare, engine.EngineResult(0))
    assert "kubectl get pod web-1 -n default -w" in engine.interrupted_text(bare, engine.EngineResult(0))


def test_a_failed_patch_ends_with_one_error_line_on_stderr(api, podfix, oom_deploy):
    api.fail("PATCH", r"/deployments/web$", 403, reason="Forbidden",
             message='admission webhook "limits.example" denied the request: memory above 384Mi needs approval')
    r = podfix("fix", "memory", oom_deploy, "-n", NS, "--yes", "--no-wait")
    assert r.code == 4
    assert "FAILED" in r.out and "patch deployment/web -n default" in r.out
    assert r.err.strip().splitlines() == [
        'error: patch deployment/web -n default failed: rejected by admission: admission webhook "limits.example" '
        "denied the request: memory above 384Mi needs approval. This is a policy of the cluster (an admission "
        "webhook, Pod Security, a ResourceQuota or LimitRange), not a missing permission: change the object to "
        "satisfy it, or ask the cluster's admins about the policy"]


@pytest.mark.parametrize("args", [["--dry-run"], ["--dry-run", "-n", NS], ["--dry-run=client"]])
def test_a_bare_dry_run_is_client_as_in_kubectl(api, podfix, oom_deploy, args):
    api.clear_requests()
    r = podfix("fix", "memory", oom_deploy, *(args if "-n" in args else [*args, "-n", NS]))
    assert r.code == 0, r.err
    assert "256Mi -> 512Mi" in r.out
    writes = [(q.method, q.path) for q in api.requests if q.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert all(path.endswith("/selfsubjectaccessreviews") for _, path in writes), writes
