"""explain --fix offers every fix the findings carry (memory, probe, image, restart, pull secret, and a workload's
own pod-security and service-account), through the very commands its Fix: lines print: asked fix by fix on a
terminal, printed without one, applied with --yes where no further input is needed."""

from __future__ import annotations

import pytest
from clitools import cli_env, run_in_pty
from world import (NS, RESTRICTED, SA_MISSING, act_as_controllers, add_workload, container, owner_ref, patches,
                   pod_obj, ready_status, refused, tpl_container, writes)

LIVENESS = {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5, "periodSeconds": 10,
            "failureThreshold": 3}
AUTH_IMAGE = "registry.example.com/team/app:1.0"


def killed_by_liveness(server, pod_name):
    """The pod's app container was killed by its liveness probe after 36 s: a slow starter."""
    pod = server.get("Pod", NS, pod_name)
    pod["status"]["containerStatuses"] = [{
        "name": "app", "image": AUTH_IMAGE, "ready": False, "restartCount": 4, "started": False,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 137, "startedAt": "2026-11-20T09:00:00Z",
                                     "finishedAt": "2026-11-20T09:00:36Z"}}}]
    server.add(pod)
    inv = {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "namespace": NS, "uid": pod["metadata"]["uid"],
           "fieldPath": "spec.containers{app}"}
    for i, (reason, message, type_) in enumerate([
            ("Unhealthy", "Liveness probe failed: Get \"http://10.0.0.5:8080/healthz\": dial tcp 10.0.0.5:8080: "
                          "connect: connection refused", "Warning"),
            ("Killing", "Container app failed liveness probe, will be restarted", "Normal")]):
        server.add({"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{pod_name}.{i}", "namespace": NS},
                    "involvedObject": inv, "reason": reason, "message": message, "type": type_, "count": 4,
                    "firstTimestamp": "2026-11-20T09:00:20Z", "lastTimestamp": "2026-11-20T09:00:35Z",
                    "source": {"component": "kubelet"}})


def auth_failing(server, name="web"):
    """deployment NAME whose pod fails to pull with 401 from registry.example.com."""
    pod_name = add_workload(server, "Deployment", name=name, containers=[container(image=AUTH_IMAGE)],
                            pod_statuses=[{"name": "app", "image": AUTH_IMAGE, "ready": False, "restartCount": 0,
                                           "state": {"waiting": {"reason": "ImagePullBackOff", "message":
                                                                 f'Back-off pulling image "{AUTH_IMAGE}"'}}}])
    pod = server.get("Pod", NS, pod_name)
    pod["status"]["phase"] = "Pending"
    server.add(pod)
    server.add({"apiVersion": "v1", "kind": "Event", "metadata": {"name": pod_name + ".pull", "namespace": NS},
                "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": NS, "uid": pod["metadata"]["uid"],
                                   "fieldPath": "spec.containers{app}"},
                "reason": "Failed", "type": "Warning", "count": 3, "source": {"component": "kubelet"},
                "firstTimestamp": "2026-11-20T09:00:00Z", "lastTimestamp": "2026-11-20T09:05:00Z",
                "message": f'Failed to pull image "{AUTH_IMAGE}": failed to pull and unpack image "{AUTH_IMAGE}": '
                           f'failed to resolve reference "{AUTH_IMAGE}": unexpected status from HEAD request to '
                           "https://registry.example.com/v2/team/app/manifests/1.0: 401 Unauthorized"})
    return pod_name


@pytest.fixture
def oom(api):
    pod = add_workload(api, "Deployment")
    act_as_controllers(api)
    return pod


def test_without_a_terminal_the_commands_are_printed_and_nothing_changes(api, podfix, oom):
    r = podfix("explain", oom, "-n", NS, "--fix")
    assert r.code == 0, r.err
    tail = r.out.split("\nFixes (", 1)[1]
    assert f"  # pod {oom}: container.oom-killed: raise the memory limit" in tail
    assert f"\n  kubectl podfix fix memory {oom} -n {NS}\n" in tail
    assert writes(api) == []


def test_json_stays_json(api, podfix, oom):
    r = podfix("explain", oom, "-n", NS, "--fix", "-o", "json")
    assert r.code == 0, r.err
    assert r.json["pods"][0]["findings"][0]["fix"]["id"] == "memory"
    assert f"kubectl podfix fix memory {oom} -n {NS}" in r.err


def test_yes_applies_the_fixes_that_need_no_input(api, podfix, oom):
    r = podfix("explain", oom, "-n", NS, "--fix", "--yes", "--request-timeout", "20s")
    assert r.code == 0, r.err + r.out
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "512Mi"
    assert "Applied:" in r.out and "Result: deployment/web: new pod" in r.out
    assert f"Fix 1/1: pod {oom}: container.oom-killed" in r.err


def test_yes_applies_a_probe_fix_too(api, podfix):
    pod = add_workload(api, "Deployment", containers=[container(limit=None, request=None,
                                                                livenessProbe=dict(LIVENESS))])
    killed_by_liveness(api, pod)
    act_as_controllers(api)
    r = podfix("explain", pod, "-n", NS, "--fix", "--yes")
    assert r.code == 0, r.err + r.out
    assert "startupProbe" in tpl_container(api, "Deployment")
    [patch] = patches(api)
    assert patch.path.endswith("/deployments/web")


def test_yes_does_not_create_a_pull_secret_without_a_password(api, podfix):
    pod = auth_failing(api)
    r = podfix("explain", pod, "-n", NS, "--fix", "--yes")
    assert r.code == 0, r.err
    assert "not applied: a pull secret needs the registry password" in r.err
    assert f"kubectl podfix secret regcred --for {pod} -n {NS}" in r.err
    assert writes(api) == []


def test_one_fix_per_workload_in_a_scan(api, podfix):
    add_workload(api, "Deployment", replicas=2)
    second = pod_obj("web-5d4f8b7c9d-fghij", api.get("Pod", NS, "web-5d4f8b7c9d-abcde")["metadata"]["ownerReferences"][0],
                     labels={"app": "web", "pod-template-hash": "5d4f8b7c9d"})
    api.add(second)
    r = podfix("explain", "--fix")
    assert r.code == 0, r.err
    assert r.out.count("kubectl podfix fix memory ") == 1 + 1  # the Fix: line of the group, and one offer


def test_on_a_terminal_each_fix_is_asked_then_its_plan_confirmed(api, kubeconfig, oom):
    run = run_in_pty(["explain", oom, "-n", NS, "--fix"], columns=120, env=cli_env(kubeconfig),
                     input_lines=["y", "y"])
    assert run.code == 0, run.out
    assert "Run this fix" in run.out and "Apply these 1 change(s)?" in run.out
    assert tpl_container(api, "Deployment")["resources"]["limits"]["memory"] == "512Mi"


def test_on_a_terminal_a_declined_fix_changes_nothing(api, kubeconfig, oom):
    run = run_in_pty(["explain", oom, "-n", NS, "--fix"], columns=120, env=cli_env(kubeconfig), input_lines=["n"])
    assert run.code == 0, run.out
    assert writes(api) == []


# -- a workload's own fixes: pods refused at creation, so no pod to take a fix from ------------------------

def test_a_workload_s_own_fixes_are_printed_without_a_terminal(api, podfix):
    refused(api, RESTRICTED)
    r = podfix("explain", "deploy/web", "-n", NS, "--fix")
    assert r.code == 0, r.err
    tail = r.out.split("\nFixes (", 1)[1]
    assert ("  # deployment/web: workload.pod-security-violated: set the securityContext fields the violations "
            "name on the pod template\n  kubectl podfix fix pod-security deploy/web -n default\n") in tail
    assert writes(api) == []


def test_yes_applies_a_workload_s_pod_security_fix(api, podfix):
    refused(api, RESTRICTED)
    act_as_controllers(api)  # the patched template rolls out: a new pod, Ready
    r = podfix("explain", "deploy/web", "-n", NS, "--fix", "--yes")
    assert r.code == 0, r.err + r.out
    assert "Fix 1/1: deployment/web: workload.pod-security-violated" in r.err
    (patch,) = patches(api)
    assert patch.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert tpl_container(api, "Deployment")["securityContext"] == {"allowPrivilegeEscalation": False,
                                                                   "capabilities": {"drop": ["ALL"]}}


def test_yes_creates_a_missing_service_account(api, podfix):
    refused(api, SA_MISSING, sa="robot")

    def controller_retries(verb, obj):  # the ReplicaSet controller's next try is admitted: a new pod, Ready
        if verb == "create" and obj.get("kind") == "ServiceAccount":
            api.add(pod_obj("web-5d4f8b7c9d-zx9k2", owner_ref(api, "ReplicaSet", "web-5d4f8b7c9d"),
                            labels={"app": "web", "pod-template-hash": "5d4f8b7c9d"}, ready=True,
                            statuses=[ready_status()]))
    api.on_write.append(controller_retries)
    r = podfix("explain", "deploy/web", "-n", NS, "--fix", "--yes")
    assert r.code == 0, r.err + r.out
    assert "Fix 1/1: deployment/web: workload.serviceaccount-missing: create ServiceAccount robot" in r.err
    (post,) = [w for w in writes(api) if "selfsubjectaccessreviews" not in w.path]
    assert (post.method, post.path, post.json["metadata"]["name"]) == \
        ("POST", "/api/v1/namespaces/default/serviceaccounts", "robot")


def test_on_a_terminal_a_workload_fix_is_asked_then_its_plan_confirmed(api, kubeconfig):
    refused(api, RESTRICTED)
    act_as_controllers(api)
    run = run_in_pty(["explain", "deploy/web", "-n", NS, "--fix"], columns=120, env=cli_env(kubeconfig),
                     input_lines=["y", "y"])
    assert run.code == 0, run.out
    assert "Fix 1/1: deployment/web: workload.pod-security-violated" in run.out and "Run this fix" in run.out
    assert tpl_container(api, "Deployment")["securityContext"]["allowPrivilegeEscalation"] is False


def test_a_workload_finding_that_carries_its_pods_fix_is_offered_once(api, podfix, oom):
    r = podfix("explain", "deploy/web", "-n", NS, "--fix")
    assert r.code == 0, r.err
    report, tail = r.out.split("\nFixes (", 1)
    assert "workload.pods-failing" in report  # its Fix: line is the pod's
    assert tail.count(f"kubectl podfix fix memory {oom} -n {NS}") == 1 and tail.count("\n  # ") == 1
    assert f"  # pod {oom}: container.oom-killed" in tail


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_during_one_fix_starts_no_later_fix(api, kubeconfig, signame):
    # Ctrl-C while fix 1 waited for its new pod went on to apply fix 2 (a PATCH after the interrupt) and to
    # wait again: the user had to kill podfix
    import signal
    import subprocess
    import time

    from clitools import BIN, ROOT

    add_workload(api, "Deployment")
    add_workload(api, "Deployment", ns="other")  # no controller acts: fix 1 waits for a new pod
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), "explain", "-A", "--fix", "--yes"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(kubeconfig), cwd=ROOT)
    deadline = time.monotonic() + 30
    while not patches(api) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into fix 1's wait
    proc.send_signal(getattr(signal, signame))
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert len(patches(api)) == 1, [p.path for p in patches(api)]
    assert "Fix 2/2" not in err and "Traceback" not in err
    assert "the change stays applied" in err and "undo it:" in err
    assert err.rstrip().splitlines()[-1] == ("error: interrupted" if signame == "SIGINT" else
                                             "error: interrupted (SIGTERM)")
