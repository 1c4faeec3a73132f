"""``kubectl podfix node-check`` and ``explain --node-check``: the check pod's exact spec, confirmation, cleanup
in every path, leftovers, admission rejections, the check pod's own pull failure, and the log parser fed with
real tool outputs (tests/nodecheck/fixtures/script_logs.yaml, made by capture.py) and, when busybox is
installed, the script itself run by busybox against loopback endpoints."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from node_endpoints import Blackhole, DNSServer, TLSRegistry, refused_port
from objects import pod as pod_obj
from objects import waiting

from kubectl_podfix.cli.options import connect
from kubectl_podfix.errors import Exit
from kubectl_podfix.nodecheck import parse as check_parse
from kubectl_podfix.nodecheck import run as check_run
from kubectl_podfix.nodecheck import spec as check_spec
from kubectl_podfix.nodecheck.script import SCRIPT

NS = "default"
NODE = "worker-1"
IMAGE = "registry.corp.example:5000/team/app:1.0"
FIXTURES = yaml.safe_load((Path(__file__).parent / "fixtures/script_logs.yaml").read_text())
LOGS = {e["name"]: e["log"] for e in FIXTURES["logs"]}
PROXY_PW = "S3cret-proxy-pw"

UNREACHABLE = (f'failed to pull and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": failed to do '
               'request: Head "https://registry.corp.example:5000/v2/team/app/manifests/1.0": dial tcp '
               '10.20.0.5:5000: i/o timeout')
DISK_FULL = (f'failed to pull and unpack image "{IMAGE}": failed to extract layer sha256:ba314c14dc6d1f56b259ac21956'
             '01b3ce7c1da6d2a7ba35c1766cead711a61a7: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/'
             'snapshots/604/fs/usr/lib/libLLVM.so.20.1: no space left on device: unknown')
POD_SECURITY = ('pods "{name}" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation '
                '!= false (container "check" must set securityContext.allowPrivilegeEscalation=false)')
QUOTA = ('pods "{name}" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=100m, used: '
         'limits.cpu=2, limited: limits.cpu=2')


def node_obj(images=(), taints=None, disk_pressure: str = "False") -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
            "spec": {"taints": taints if taints is not None else [
                {"key": "node-role.kubernetes.io/infra", "effect": "NoSchedule"},
                {"key": "dedicated", "value": "builds", "effect": "NoExecute"}]},
            "status": {"images": [{"names": list(n), "sizeBytes": 4_000_000} for n in images],
                       "capacity": {"ephemeral-storage": "20Gi"}, "allocatable": {"ephemeral-storage": "18Gi"},
                       "conditions": [{"type": "DiskPressure", "status": disk_pressure,
                                       "message": "kubelet has disk pressure" if disk_pressure == "True" else
                                       "kubelet has no disk pressure"}]}}


def failing_pod(message: str = UNREACHABLE, env=None) -> dict:
    container = {"name": "app", "image": IMAGE}
    if env:
        container["env"] = env
    return pod_obj("web", containers=[container], node=NODE,
                   statuses=[waiting("app", "ErrImagePull", message, image=IMAGE)])


def world(api, *, images=(("docker.io/library/busybox:1.36",),), message: str = UNREACHABLE, env=None, node=True):
    api.add(failing_pod(message, env))
    if node:
        api.add(node_obj(images))


def kubelet(api, *, log: str | None = None, phase: str = "Succeeded", waiting_reason: str | None = None,
            waiting_message: str = "", created: list | None = None):
    """Act as the kubelet: when a check pod is created, finish it with ``log`` (or leave it waiting)."""

    def hook(verb, obj):
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if verb != "create" or obj.get("kind") != "Pod" or labels.get(check_spec.CHECK_LABEL) != "true":
            return
        if created is not None:
            created.append(copy.deepcopy(obj))
        name = obj["metadata"]["name"]
        done = copy.deepcopy(obj)
        if waiting_reason:
            done["status"] = {"phase": "Pending", "containerStatuses": [
                {"name": check_spec.CONTAINER, "ready": False, "restartCount": 0,
                 "image": obj["spec"]["containers"][0]["image"],
                 "imageID": "", "state": {"waiting": {"reason": waiting_reason, "message": waiting_message}}}]}
        elif phase:
            done["status"] = {"phase": phase, "containerStatuses": [
                {"name": check_spec.CONTAINER, "ready": False, "restartCount": 0,
                 "image": obj["spec"]["containers"][0]["image"],
                 "state": {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1,
                                          "reason": "Completed" if phase == "Succeeded" else "Error"}}}]}
        api.add(done)
        if log is not None:
            api.logs[(obj["metadata"]["namespace"], name, check_spec.CONTAINER, False)] = log

    api.on_write.append(hook)


def check_pods(api) -> list[dict]:
    return [p for p in api.objects("Pod", NS)
            if (p["metadata"].get("labels") or {}).get(check_spec.CHECK_LABEL) == "true"]


def posts(api):
    return [r for r in api.requests if r.method == "POST" and r.path.endswith("/pods")]


def deletes(api):
    return [r for r in api.requests if r.method == "DELETE"]


@pytest.fixture
def cluster(api, kubeconfig):
    return connect({"kubeconfig": kubeconfig})


def run(cluster, **kw):
    out, err = io.StringIO(), io.StringIO()
    kw.setdefault("poll", 0.02)
    kw.setdefault("timeout", 10)
    report = check_run.run_check(cluster, NS, "web", out=out, err=err, **kw)
    return report, out.getvalue(), err.getvalue()


# -- the manifest --------------------------------------------------------------------------------------

def test_manifest_exact():
    pod = failing_pod(env=[{"name": "HTTPS_PROXY", "value": "http://proxy.corp:3128"},
                           {"name": "NO_PROXY", "value": ".svc,.cluster.local"},
                           {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                           {"name": "http_proxy", "valueFrom": {"secretKeyRef": {"name": "p", "key": "url"}}},
                           {"name": "API_KEY", "value": "not-copied"}])
    m = check_spec.build(pod, node_obj(), image="busybox:1.36", target_image=IMAGE, container="app",
                         name="podfix-node-check-abc123")
    assert m["metadata"] == {
        "name": "podfix-node-check-abc123", "namespace": NS,
        "labels": {"app.kubernetes.io/managed-by": "kubectl-podfix", "podfix.io/node-check": "true",
                   "podfix.io/for": "web"},
        "annotations": {"podfix.io/for-pod": "web", "podfix.io/registry": "registry.corp.example:5000",
                        "podfix.io/image": IMAGE}}
    spec = m["spec"]
    assert spec["nodeName"] == NODE
    assert spec["tolerations"] == [
        {"key": "node-role.kubernetes.io/infra", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Equal", "value": "builds", "effect": "NoExecute"}]
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] == 90
    assert spec["dnsPolicy"] == "Default"  # the node's resolv.conf, as the runtime resolves
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    [c] = spec["containers"]
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65534}
    assert c["resources"] == {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
    assert c["command"] == ["sh", "-c", SCRIPT] and c["imagePullPolicy"] == "IfNotPresent"
    assert c["env"] == [{"name": "REGISTRY_HOST", "value": "registry.corp.example"},
                        {"name": "REGISTRY_PORT", "value": "5000"}, {"name": "CHECK_STEP_TIMEOUT", "value": "6"},
                        {"name": "HTTPS_PROXY", "value": "http://proxy.corp:3128"},
                        {"name": "NO_PROXY", "value": ".svc,.cluster.local"}]
    assert "volumes" not in spec and "hostNetwork" not in spec and "serviceAccountName" not in spec


def restricted_violations(pod: dict) -> list[str]:
    """The Pod Security "restricted" checks (k8s.io/pod-security-admission, latest) that apply to a pod."""
    spec, out = pod["spec"], []
    psc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            out.append(key)
    for v in spec.get("volumes") or []:
        if not set(v) - {"name"} <= {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                     "persistentVolumeClaim", "projected", "secret"}:
            out.append(f"volume {v['name']}")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append("privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append("allowPrivilegeEscalation")
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"] or \
                set((sc.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append("capabilities")
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")) or sc.get("runAsUser", psc.get("runAsUser")) == 0:
            out.append("runAsNonRoot")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append("seccompProfile")
        if c.get("ports") and any(p.get("hostPort") for p in c["ports"]):
            out.append("hostPort")
    return out


def test_manifest_satisfies_pod_security_restricted():
    m = check_spec.build(failing_pod(), node_obj(), image="busybox:1.36", target_image=IMAGE)
    assert restricted_violations(m) == []
    assert m["metadata"]["name"].startswith("podfix-node-check-")
    assert len(m["metadata"]["name"]) == len("podfix-node-check-") + 6


def test_image_prefers_a_cached_known_image_else_busybox():
    node = node_obj(images=[("docker.io/library/nginx@sha256:" + "a" * 64, "docker.io/library/nginx:1.27"),
                            ("docker.io/library/busybox@sha256:" + "b" * 64, "docker.io/library/busybox:1.36.1"),
                            ("docker.io/curlimages/curl:8.10.1",)])
    image, why = check_spec.choose_image(node)
    assert image == "docker.io/curlimages/curl:8.10.1" and "needs no pull" in why
    assert check_spec.choose_image(node_obj(images=[("docker.io/library/busybox:1.36.1",)]))[0] == \
        "docker.io/library/busybox:1.36.1"
    image, why = check_spec.choose_image(node_obj(images=[("registry.k8s.io/pause:3.10",)]))
    assert image == "busybox:1.36" and "pulls it from Docker Hub" in why
    assert check_spec.choose_image(node, "nicolaka/netshoot:v0.13") == \
        ("nicolaka/netshoot:v0.13", "chosen with --image")
    assert check_spec.registry_endpoint("nginx:1.27") == ("registry-1.docker.io", 443)
    assert check_spec.registry_endpoint("ghcr.io/o/r:1") == ("ghcr.io", 443)


# -- end to end through the CLI ----------------------------------------------------------------------------

def test_node_check_yes_creates_the_exact_pod_reads_it_and_deletes_it(api, podfix):
    world(api, images=[("docker.io/library/busybox:1.36",)])
    created: list[dict] = []
    kubelet(api, log=LOGS["busybox-timeout"], created=created)
    r = podfix("node-check", "web", "--yes")
    assert r.code == 0, r.err + r.out
    [post] = posts(api)
    body = post.json
    assert body["spec"]["nodeName"] == NODE and body["spec"]["containers"][0]["image"] == "docker.io/library/busybox:1.36"
    assert body["spec"]["automountServiceAccountToken"] is False and restricted_violations(body) == []
    assert body["spec"]["tolerations"] == check_spec.tolerations(node_obj())
    name = body["metadata"]["name"]
    [d] = deletes(api)
    assert d.path == f"/api/v1/namespaces/{NS}/pods/{name}"
    assert check_pods(api) == []
    log_reqs = [q for q in api.requests if q.path.endswith(f"/pods/{name}/log")]
    assert log_reqs and log_reqs[0].query.get("container") == ["check"] and "previous" not in log_reqs[0].query
    assert "TCP 42099 to 127.0.0.1 times out: a firewall or proxy is blocking the node" in r.out.replace(
        LOGS["busybox-timeout"].split("port=")[1].split()[0], "42099")
    assert f"Cleanup: deleted check pod {name}" in r.out
    assert "Plan: node check of registry registry.corp.example:5000 from node worker-1" in r.out
    assert "Node check of registry.corp.example:5000 from node worker-1" in r.out


def test_node_check_json(api, podfix):
    world(api)
    kubelet(api, log=LOGS["busybox-refused"])
    r = podfix("node-check", "web", "--yes", "-o", "json")
    assert r.code == 0, r.err
    assert {k: r.json[k] for k in ("kind", "apiVersion", "namespace", "pod")} == \
        {"kind": "PodfixNodeCheck", "apiVersion": "podfix.io/v1", "namespace": NS, "pod": "web"}
    check = r.json["check"]
    assert check["checkPod"].startswith("podfix-node-check-") and "probePod" not in check
    assert "probe" not in r.json
    assert check["outcome"] == "completed" and check["verdict"]["failingStep"] == "tcp"
    assert "Plan:" in r.err and "Plan:" not in r.out  # the plan goes to stderr with -o json


def test_without_a_terminal_and_without_yes_nothing_is_created(api, podfix):
    world(api)
    kubelet(api, log=LOGS["busybox-timeout"])
    r = podfix("node-check", "web")
    assert r.code == Exit.REFUSED
    assert "re-run with --yes" in r.err and "nodeName: worker-1" in r.out
    assert posts(api) == [] and deletes(api) == []


def test_old_names_are_hidden_aliases(api, podfix):
    """``probe``, ``--probe-image`` and ``explain --probe``: the names before the rename to node check still work."""
    world(api)
    kubelet(api, log=LOGS["busybox-timeout"])
    r = podfix("probe", "web", "--probe-image", "nicolaka/netshoot:v0.13")
    assert r.code == Exit.REFUSED and "re-run with --yes" in r.err
    assert "Plan: node check of registry registry.corp.example:5000" in r.out
    assert "note: check pod image nicolaka/netshoot:v0.13: chosen with --image" in r.out
    r = podfix("explain", "web", "--probe", "-o", "json")
    assert r.code == Exit.REFUSED
    assert r.json["pods"][0]["findings"][0]["details"]["nodeCheck"]["outcome"] == "not-run"
    assert posts(api) == [] and deletes(api) == []


def test_tty_confirmation_declined_and_accepted(api, cluster):
    world(api)
    kubelet(api, log=LOGS["tools-expired"])
    asked = []
    report, out, err = run(cluster, interactive=True, confirm=lambda q: asked.append(q) or False)
    assert report.outcome == "not-run" and report.code == Exit.REFUSED and "not confirmed" in err
    assert asked and "on node worker-1" in asked[0] and posts(api) == []
    report, out, err = run(cluster, interactive=True, confirm=lambda q: True)
    assert report.outcome == "completed" and report.code == 0
    assert report.verdict.step == "tls" and report.verdict.kind == "expired"
    assert check_pods(api) == [] and len(deletes(api)) == 1
    report, _, _ = run(cluster, yes=True, interactive=True, confirm=lambda q: pytest.fail("asked"))
    assert report.outcome == "completed"


def test_failed_check_pod_is_deleted(api, cluster):
    world(api)
    kubelet(api, log="sh: can't open: Permission denied\n", phase="Failed")
    report, _, _ = run(cluster, yes=True)
    assert report.outcome == "failed" and report.steps == [] and report.code == Exit.ERROR
    assert report.message == "the check pod printed no results: sh: can't open: Permission denied"
    assert report.verdict is None and check_pods(api) == [] and len(deletes(api)) == 1


def test_container_start_failure_is_reported_and_deleted(api, cluster):
    world(api)
    kubelet(api, waiting_reason="CreateContainerConfigError",
            waiting_message="container has runAsNonRoot and image will run as root")
    report, _, _ = run(cluster, yes=True)
    assert report.outcome == "failed" and "CreateContainerConfigError" in report.message
    assert check_pods(api) == []


def test_timeout_deletes_the_pod(api, cluster):
    world(api)
    kubelet(api, phase=None)  # the kubelet never gets to it: Pending forever
    report, _, _ = run(cluster, yes=True, timeout=0.3)
    assert report.outcome == "timeout" and "did not finish within 0s" in report.message
    assert check_pods(api) == [] and len(deletes(api)) == 1


def test_interrupt_deletes_the_pod(api, cluster):
    world(api)
    kubelet(api, phase=None)

    def ctrl_c(_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(cluster, yes=True, sleep=ctrl_c)
    assert len(posts(api)) == 1 and check_pods(api) == [] and len(deletes(api)) == 1


def test_interrupt_in_a_real_process_deletes_the_pod(api, kubeconfig):
    """SIGINT to the real CLI while it waits: the finally deletes the check pod, exit 130."""
    import signal
    import time

    from clitools import BIN, cli_env

    world(api)
    kubelet(api, phase=None)
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), "node-check", "web", "--yes", "--timeout", "60s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(kubeconfig))
    deadline = time.monotonic() + 30
    while not posts(api) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == Exit.INTERRUPTED, err
    assert len(posts(api)) == 1 and check_pods(api) == [] and len(deletes(api)) == 1


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_while_the_create_is_in_flight_still_deletes_the_pod(api, kubeconfig, signame):
    """The create's answer is late (the server stores the pod 2s after the request arrived); the signal
    comes while podfix waits for it. The check pod's name was chosen before sending: podfix deletes it,
    looking again until the late create has landed. Exit 130, no check pod left."""
    import signal
    import time

    from clitools import BIN, cli_env

    world(api)
    kubelet(api, phase=None)
    api.fail("POST", r"/namespaces/default/pods$", None, delay=2.0, times=1)
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), "node-check", "web", "--yes", "--timeout", "60s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(kubeconfig))
    deadline = time.monotonic() + 30
    while not posts(api) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the POST is in flight: the server has not answered (nor stored the pod) yet
    assert check_pods(api) == []
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == Exit.INTERRUPTED, err
    assert err.strip().splitlines()[-1].startswith("error: ")  # "interrupted" or "aborted": cli/root.py words it
    name = posts(api)[0].json["metadata"]["name"]
    assert f"cleanup: deleted check pod {name}" in err
    time.sleep(0.2)
    assert check_pods(api) == [] and len(posts(api)) == 1
    assert any(d.path.endswith(f"/pods/{name}") for d in deletes(api))


def test_a_rejected_create_deletes_nothing(api, cluster):
    """An error answer means nothing was created: no DELETE of a name that may be someone else's."""
    world(api)
    api.fail("POST", r"/namespaces/default/pods$", 409, reason="AlreadyExists", message="pods exists", times=1)
    with pytest.raises(Exception):
        run(cluster, yes=True)
    assert deletes(api) == []


def test_leftovers_are_removed_young_ones_of_another_run_kept(api, cluster):
    world(api)
    kubelet(api, log=LOGS["busybox-refused"])
    old = check_spec.build(failing_pod(), node_obj(), image="busybox:1.36", target_image=IMAGE,
                           name="podfix-node-check-old111")
    old["metadata"]["creationTimestamp"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    old["status"] = {"phase": "Running"}
    done = check_spec.build(failing_pod(), node_obj(), image="busybox:1.36", target_image=IMAGE,
                            name="podfix-node-check-done22")
    done["status"] = {"phase": "Succeeded"}
    young = check_spec.build(failing_pod(), node_obj(), image="busybox:1.36", target_image=IMAGE,
                             name="podfix-node-check-young3")
    young["status"] = {"phase": "Running"}
    # left by a podfix from before the rename: another name, label and container
    legacy = check_spec.build(failing_pod(), node_obj(), image="busybox:1.36", target_image=IMAGE,
                              name="podfix-probe-legacy")
    legacy["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "kubectl-podfix", "podfix.io/probe": "true",
                                    "podfix.io/for": "web"}
    legacy["spec"]["containers"][0]["name"] = "probe"
    legacy["status"] = {"phase": "Failed"}
    # managed by podfix but not a check pod: never touched
    other = pod_obj("podfix-something-else", containers=[{"name": "app", "image": IMAGE}], node=NODE)
    other["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "kubectl-podfix"}
    api.add(old, done, young, legacy, other)
    report, out, _ = run(cluster, yes=True)
    assert ("delete leftover check pod(s) of earlier runs: podfix-node-check-done22, podfix-node-check-old111, "
            "podfix-probe-legacy") in out
    assert "another run still going on are left alone: podfix-node-check-young3" in out
    assert [p["metadata"]["name"] for p in check_pods(api)] == ["podfix-node-check-young3"]
    names = [p["metadata"]["name"] for p in api.objects("Pod", NS)]
    assert "podfix-something-else" in names and "podfix-probe-legacy" not in names
    lists = [q for q in api.requests if q.method == "GET" and q.path == f"/api/v1/namespaces/{NS}/pods"]
    assert len(lists) == 1  # one LIST finds both labels
    assert lists[0].query["labelSelector"] == ["app.kubernetes.io/managed-by=kubectl-podfix"]
    assert "deleted leftover pod podfix-node-check-old111" in report.cleanup
    assert "deleted leftover pod podfix-probe-legacy" in report.cleanup


@pytest.mark.parametrize("message, said", [(POD_SECURITY, "rejected by Pod Security admission"),
                                           (QUOTA, "rejected by a ResourceQuota")])
def test_admission_rejection_is_one_clear_line(api, podfix, message, said):
    world(api)
    api.fail("POST", r"/namespaces/default/pods$", 403, reason="Forbidden",
             message=message.format(name="podfix-node-check-x"))
    r = podfix("node-check", "web", "--yes")
    assert r.code == Exit.REFUSED
    [line] = [x for x in r.err.splitlines() if x.startswith("error:")]
    assert said in line and message.format(name="podfix-node-check-x") in line
    assert deletes(api) == [] and check_pods(api) == []


def test_rbac_denial_says_what_is_needed(api, podfix):
    world(api)
    api.deny("create", "pods")
    r = podfix("node-check", "web", "--yes")
    assert r.code == Exit.REFUSED
    assert "may not create pods in namespace default" in r.err and "get on pods/log" in r.err


def test_check_image_pull_failure_is_evidence(api, cluster):
    world(api, images=[])
    kubelet(api, waiting_reason="ErrImagePull",
            waiting_message='failed to pull and unpack image "docker.io/library/busybox:1.36": failed to resolve '
                            'reference "docker.io/library/busybox:1.36": failed to do request: Head '
                            '"https://registry-1.docker.io/v2/library/busybox/manifests/1.36": dial tcp '
                            '54.227.20.253:443: i/o timeout')
    report, _, _ = run(cluster, yes=True)
    assert report.outcome == "pull-failed" and report.image == "busybox:1.36"
    assert report.verdict.headline == ("from worker-1: the node cannot pull busybox:1.36 from Docker Hub either: "
                                       "a node-wide problem")
    assert report.verdict.kind == "image.registry-unreachable" and report.verdict.node_wide
    assert any("could not pull the check pod's image busybox:1.36 either" in e for e in report.evidence())
    assert check_pods(api) == []


def test_disk_finding_reads_node_conditions_and_kubelet_summary(api, cluster):
    world(api, message=DISK_FULL)
    api.remove("Node", None, NODE)
    api.add(node_obj(images=[("docker.io/library/busybox:1.36",)], disk_pressure="True"))
    kubelet(api, log=LOGS["busybox-reachable"])
    summary = {"node": {"nodeName": NODE, "fs": {"capacityBytes": 21474836480, "availableBytes": 2147483648,
                                                   "usedBytes": 19327352832},
                        "runtime": {"imageFs": {"capacityBytes": 21474836480, "availableBytes": 1073741824,
                                                "usedBytes": 20401094656}}}, "pods": []}
    api.fail("GET", rf"/api/v1/nodes/{NODE}/proxy/stats/summary$", 200, body=summary)
    report, _, _ = run(cluster, yes=True)
    assert report.finding == "image.node-disk-full"
    disk = report.node_disk
    assert disk["diskPressure"] == "True" and disk["imageFs"]["usedPercent"] == 95
    assert disk["ephemeralStorageCapacity"] == "20Gi"
    assert report.verdict.step == "disk" and "95% used, DiskPressure" in report.verdict.headline
    assert any(e.startswith("node worker-1 disk: DiskPressure=True") for e in report.evidence())


def test_disk_summary_forbidden_is_said(api, cluster):
    world(api, message=DISK_FULL)
    kubelet(api, log=LOGS["busybox-reachable"])
    api.fail("GET", rf"/api/v1/nodes/{NODE}/proxy/stats/summary$", 403, reason="Forbidden",
             message=f'nodes "{NODE}" is forbidden: User "u" cannot get resource "nodes/proxy" in API group "" '
                     'at the cluster scope')
    report, _, _ = run(cluster, yes=True)
    assert report.node_disk["summaryApi"].startswith("forbidden")
    assert report.verdict.kind == "space-now"  # 22% used on the check pod's filesystem, no DiskPressure


def test_explain_node_check_json_attaches_results_to_the_finding(api, podfix):
    world(api, env=[{"name": "HTTPS_PROXY", "value": f"http://alice:{PROXY_PW}@proxy.corp:3128"}])
    kubelet(api, log=LOGS["tools-proxy-refused"])
    r = podfix("explain", "web", "--node-check", "--yes", "-o", "json")
    assert r.code == 0, r.err
    [pod] = r.json["pods"]
    [finding] = [f for f in pod["findings"] if f["code"].startswith("image.")]
    assert finding["code"] == "image.registry-unreachable"
    check = finding["details"]["nodeCheck"]
    assert check["outcome"] == "completed" and check["node"] == NODE and check["finding"] == finding["code"]
    assert [s["check"] for s in check["steps"]] == ["dns", "tcp", "tls", "v2", "v2proxy", "disk"]
    assert check["verdict"]["failingStep"] == "tls" and check["verdict"]["kind"] == "untrusted"
    assert check["steps"][2]["certificate"]["sans"] == ["DNS:registry.test", "DNS:localhost", "IP:127.0.0.1"]
    assert any(e.startswith("node check on worker-1: tcp: ok") for e in finding["evidence"])
    assert any(e.startswith("node check verdict: from worker-1") for e in finding["evidence"])
    assert check["cleanup"][0].startswith("deleted check pod podfix-node-check-")
    assert PROXY_PW not in r.out + r.err
    [post] = posts(api)
    assert {"name": "HTTPS_PROXY", "value": f"http://alice:{PROXY_PW}@proxy.corp:3128"} in \
        post.json["spec"]["containers"][0]["env"]  # the proxy is used, its password never shown
    assert check_pods(api) == []


def test_explain_node_check_refuses_scopes_and_non_tty(api, podfix):
    world(api)
    r = podfix("explain", "--node-check")
    assert r.code == Exit.USAGE and "--node-check needs one POD" in r.err
    r = podfix("explain", "web", "--node-check", "-o", "json")
    assert r.code == Exit.REFUSED and posts(api) == []
    assert r.json["pods"][0]["findings"][0]["details"]["nodeCheck"]["outcome"] == "not-run"


def test_unscheduled_pod_has_no_node_to_check_from(api, podfix):
    api.add(pod_obj("web", node=None, statuses=[waiting("app", "ErrImagePull", UNREACHABLE, image=IMAGE)],
                    containers=[{"name": "app", "image": IMAGE}]))
    r = podfix("node-check", "web", "--yes")
    assert r.code == Exit.ERROR and "not on a node yet" in r.err and posts(api) == []
    r = podfix("explain", "web", "--node-check", "--yes", "-o", "json")  # the diagnosis still comes out
    assert r.code == Exit.ERROR and r.json["pods"][0]["findings"]
    assert any("not on a node yet" in w for w in r.json.get("warnings", [])), r.out


# -- the parser, on real tool outputs ---------------------------------------------------------------------

EXPECTED = {  # fixture -> (failing step, kind)
    "busybox-reachable": (None, "reachable"),
    "tools-trusted": (None, "reachable"),
    "tools-self-signed": ("tls", "untrusted"),
    "tools-proxy-refused": ("tls", "untrusted"),
    "tools-expired": ("tls", "expired"),
    "tools-wrong-host": ("tls", "hostname"),
    "busybox-plain-http": ("tls", "not-tls"),
    "tools-plain-http": ("tls", "not-tls"),
    "busybox-handshake": ("tls", "inconclusive"),
    "busybox-nxdomain": ("dns", "nxdomain"),
    "tools-nxdomain": ("dns", "nxdomain"),
    "busybox-dns-timeout": ("dns", "timeout"),
    "busybox-refused": ("tcp", "refused"),
    "tools-refused": ("tcp", "refused"),
    "busybox-timeout": ("tcp", "timeout"),
    "tools-timeout": ("tcp", "timeout"),
}


def test_every_fixture_has_an_expectation():
    assert set(LOGS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parser_on_captured_logs(name):
    log = check_parse.parse(LOGS[name])
    assert log.complete and log.version == "v1" and log.host
    steps = check_parse.interpret(log)
    v = check_parse.verdict(log, steps, node="worker-1", code="image.registry-unreachable")
    assert (v.step, v.kind) == EXPECTED[name]
    assert v.headline.startswith("from worker-1")
    disk = next(s for s in steps if s.name == "disk")
    assert disk.ok is True and disk.data["usedPercent"] < 85


def test_parser_details():
    log = check_parse.parse(LOGS["tools-wrong-host"])
    tls = next(s for s in check_parse.interpret(log) if s.name == "tls")
    assert tls.data["verify"] == "62 (hostname mismatch)"
    assert tls.data["certificate"]["sans"] == ["DNS:other.example"]
    assert tls.summary == "the certificate is not valid for localhost: it names DNS:other.example"
    log = check_parse.parse(LOGS["tools-expired"])
    tls = next(s for s in check_parse.interpret(log) if s.name == "tls")
    assert tls.data["certificate"]["notAfter"] == "Feb  1 00:00:00 2025 GMT"
    v2 = next(s for s in check_parse.interpret(check_parse.parse(LOGS["tools-self-signed"])) if s.name == "v2")
    assert v2.data == {"tool": "curl", "status": 401, "auth": "Bearer", "realm": "https://auth.registry.test/token"}
    dns = next(s for s in check_parse.interpret(check_parse.parse(LOGS["busybox-reachable"])) if s.name == "dns")
    assert dns.data["addresses"] == ["127.0.0.1"] and dns.data["resolver"] == "127.0.0.1"
    plain = check_parse.parse(LOGS["tools-plain-http"])
    v = check_parse.verdict(plain, check_parse.interpret(plain), node="n1")
    assert "Over plain http /v2/ answers 401" in v.meaning


def test_reachable_meaning_depends_on_the_finding():
    log = check_parse.parse(LOGS["tools-trusted"])
    steps = check_parse.interpret(log)
    assert "not reproduced" in check_parse.verdict(log, steps, node="n", code="image.registry-unreachable").meaning
    assert "node's trust store or its clock" in \
        check_parse.verdict(log, steps, node="n", code="image.tls-error").meaning


def test_proxy_credentials_never_survive_parsing():
    text = ("PODFIX-CHECK begin v1 host=r.example port=443 uid=65534\n"
            f"PODFIX-CHECK proxy HTTPS_PROXY=http://bob:{PROXY_PW}@proxy:3128\n"
            "PODFIX-CHECK v2proxy fail rc=56 tool=curl\n"
            f"PODFIX-OUT v2proxy Proxy-Authorization: Basic Ym9iOnB3\n"
            f"PODFIX-OUT v2proxy curl: (56) CONNECT tunnel failed, response 403 via http://bob:{PROXY_PW}@proxy:3128\n")
    log = check_parse.parse(text)
    dumped = json.dumps([s.to_dict() for s in check_parse.interpret(log)]) + json.dumps(log.proxies) + \
        json.dumps([c.output for c in log.checks.values()])
    assert PROXY_PW not in dumped and "Ym9iOnB3" not in dumped


# -- the script itself, under busybox, against loopback endpoints -------------------------------------------

@pytest.fixture(scope="module")
def busybox_path(tmp_path_factory):
    bb = shutil.which("busybox")
    if not bb:
        if os.environ.get("PODFIX_REQUIRE_BUSYBOX") == "1":  # .ci/run: the script must be tested in CI
            pytest.fail("busybox is not installed (apt-get install busybox), and PODFIX_REQUIRE_BUSYBOX=1 says the "
                        "node-check script must run under it")
        pytest.skip("busybox is not installed (apt-get install busybox)")
    d = tmp_path_factory.mktemp("busybox")
    for applet in subprocess.run([bb, "--list"], capture_output=True, text=True, check=True).stdout.split():
        os.symlink(bb, d / applet)
    return d


def run_script(path: Path, **env: str) -> check_parse.CheckLog:
    proc = subprocess.run([str(path / "sh"), "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(path), "CHECK_STEP_TIMEOUT": "2", **env})
    assert proc.returncode == 0, proc.stderr
    return check_parse.parse(proc.stdout)


def live_verdict(log: check_parse.CheckLog) -> tuple[str | None, str]:
    v = check_parse.verdict(log, check_parse.interpret(log), node="here")
    return v.step, v.kind


def test_script_under_busybox(busybox_path):
    with DNSServer({"localhost": "127.0.0.1"}) as dns, TLSRegistry() as reg, Blackhole() as hole:
        hook = {"PODFIX_DNS_SERVER": "127.0.0.1", "PODFIX_DNS_PORT": str(dns.port)}
        log = run_script(busybox_path, REGISTRY_HOST="localhost", REGISTRY_PORT=str(reg.port),
                         HTTPS_PROXY=f"http://u:{PROXY_PW}@127.0.0.1:{refused_port()}", **hook)
        assert live_verdict(log) == (None, "reachable") and log.complete
        assert PROXY_PW not in json.dumps(log.proxies) and "v2proxy" in log.checks
        assert live_verdict(run_script(busybox_path, REGISTRY_HOST="localhost", REGISTRY_PORT=str(refused_port()),
                                       **hook)) == ("tcp", "refused")
        assert live_verdict(run_script(busybox_path, REGISTRY_HOST="127.0.0.1", REGISTRY_PORT=str(hole.port))) == \
            ("tcp", "timeout")
        assert live_verdict(run_script(busybox_path, REGISTRY_HOST="nosuch.invalid")) == ("dns", "nxdomain")
    with TLSRegistry(tls=False) as plain, DNSServer({"localhost": "127.0.0.1"}) as dns:
        log = run_script(busybox_path, REGISTRY_HOST="localhost", REGISTRY_PORT=str(plain.port),
                         PODFIX_DNS_SERVER="127.0.0.1", PODFIX_DNS_PORT=str(dns.port))
        assert live_verdict(log) == ("tls", "not-tls") and "v2http" in log.checks


@pytest.mark.parametrize("host, ok", [
    ("registry.example.com", True), ("r-1.example.com", True), ("localhost", True), ("10.0.0.5", True),
    ("::1", True), ("fe80::1", True), ("example.com.", True),
    ("-e.example.com", False), ("a_b.example.com", False), ("reg$(id).example.com", False), ("", False),
    ("a..b", False), ("x" * 64 + ".com", False), ("host name", False), ("-V", False),
])
def test_registry_hosts_are_validated_strictly(host, ok):
    assert check_spec.valid_host(host) is ok


@pytest.mark.parametrize("image, why", [
    ("-e.example.com/team/app:1.0", "not a valid host name"),
    ("registry.example.com:99999/team/app:1.0", "not a port number"),
    ("registry.example.com:0/team/app:1.0", "not a port number"),
])
def test_a_hostile_registry_host_never_reaches_the_check_pod(api, podfix, image, why):
    api.add(pod_obj("web", containers=[{"name": "app", "image": image}], node=NODE,
                    statuses=[waiting("app", "ErrImagePull", "pull failed", image=image)]), node_obj())
    r = podfix("node-check", "web", "--yes")
    assert r.code == Exit.REFUSED, r.out + r.err
    assert why in r.err and "nothing was created" in r.err
    assert posts(api) == []


def test_endpoints_reach_the_tools_after_a_double_dash():
    assert 'getent hosts -- "$H"' in SCRIPT and 'nc -w "$T" -- "$H" "$P"' in SCRIPT
    assert '--max-time "$T" -- "$URL"' in SCRIPT and '--no-check-certificate -- "$URL"' in SCRIPT
    assert check_spec.registry_endpoint("[::1]:5000/team/app:1") == ("::1", 5000)
