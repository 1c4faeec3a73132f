"""``kubectl podfix wait`` against ``kubectl rollout status`` (qa-wait2): the same objects, the same verdicts.

kubectl's rules are staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go; where the real kubectl
runs, it is asked too (``kubectl rollout status --watch=false``: one look at the object, its line and exit code)."""

from __future__ import annotations

import subprocess
import time

import pytest
from clitools import ROOT, cli_env, have_kubectl
from rollout import Rollout, ago, play, suffix
from test_wait import Waiting, kc  # noqa: F401  (kc: the fixture)

needs_kubectl = pytest.mark.skipif(not have_kubectl(), reason="the real kubectl is not installed")


def kubectl_status(kubeconfig: str, target: str) -> tuple[int, str, str]:
    proc = subprocess.run(["kubectl", "rollout", "status", target, "--watch=false"], capture_output=True,
                          text=True, env=cli_env(kubeconfig), cwd=ROOT, timeout=30)
    return proc.returncode, proc.stdout, proc.stderr


def deployment(api, status: dict, *, generation: int = 2, replicas: int | None = 2, paused: bool = False) -> None:
    spec = {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:2.0"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    if paused:
        spec["paused"] = True
    api.add({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web", "namespace": "shop", "generation": generation,
                          "annotations": {"deployment.kubernetes.io/revision": "2"}},
             "spec": spec, "status": status})


# -- Deployment: done exactly when kubectl says so --------------------------------------------------------

@needs_kubectl
def test_a_deployment_is_done_on_kubectls_counts_not_on_readyreplicas(api, kc):  # noqa: F811
    """kubectl reads updatedReplicas, replicas and availableReplicas, never readyReplicas: a status that has
    no readyReplicas (an older controller, a status written by hand) is rolled out for kubectl, so for wait."""
    deployment(api, {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
    code, out, _ = kubectl_status(kc, "deploy/web")
    assert (code, out) == (0, 'deployment "web" successfully rolled out\n')
    w = Waiting(api, kc, "deploy/web", "--timeout", "10s").result()
    assert (w.code, w.out) == (0, out), w.err


@needs_kubectl
@pytest.mark.parametrize("status, generation, replicas, line", [
    ({"observedGeneration": 1}, 2, 2, "Waiting for deployment spec update to be observed..."),
    ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}, 2, 2,
     'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...'),
    ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}, 2, 2,
     'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'),
    ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "readyReplicas": 2},
     2, 2, 'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...'),
])
def test_a_deployment_on_its_way_says_what_kubectl_says(api, kc, status, generation, replicas, line):  # noqa: F811
    deployment(api, status, generation=generation, replicas=replicas)
    code, out, _ = kubectl_status(kc, "deploy/web")
    assert (code, out) == (0, line + "\n")
    w = Waiting(api, kc, "deploy/web", "--timeout", "1s").result()
    assert w.code == 3 and w.err.splitlines()[0] == line, w.err


@needs_kubectl
@pytest.mark.parametrize("replicas", [0, None])
def test_a_deployment_scaled_to_zero_or_without_replicas_is_done_like_kubectl(api, kc, replicas):  # noqa: F811
    deployment(api, {"observedGeneration": 2}, replicas=replicas)
    code, out, _ = kubectl_status(kc, "deploy/web")
    w = Waiting(api, kc, "deploy/web", "--timeout", "5s").result()
    assert (w.code, w.out) == (code, out) == (0, 'deployment "web" successfully rolled out\n'), w.err


# -- nothing is known of the new revision before the controller has seen the spec -----------------------

def test_the_old_revisions_crashing_pods_do_not_fail_a_rollout_the_controller_has_not_seen_yet(api, kc):  # noqa: F811
    """The fix for a crash-looping Deployment is applied (generation 2; the controller has not observed it: the
    revision annotation still names the old ReplicaSet). Its crashing pods are the old revision's: kubectl
    waits for the spec update to be observed, and so does wait; then the fixed rollout completes."""
    r = Rollout(api, replicas=1).create()
    d = r.deployment()
    old_rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "web-7c9d8b6f5d", "namespace": "shop",
                           "labels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"},
                           "annotations": {"deployment.kubernetes.io/revision": "1"},
                           "ownerReferences": [Rollout._ref(d)]},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"}},
                       "template": d["spec"]["template"]},
              "status": {"replicas": 1, "observedGeneration": 1}}
    api.add(old_rs)
    old = f"web-7c9d8b6f5d-{suffix()}"
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": old, "namespace": "shop", "creationTimestamp": ago(600),
                          "labels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"},
                          "ownerReferences": [Rollout._ref(api.get("ReplicaSet", "shop", "web-7c9d8b6f5d"))]},
             "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "registry.example.com/shop/web:1.9"}]},
             "status": {"phase": "Running"}})
    r.pods.append(old)
    r.crash(old, restarts=5)
    r.pods.remove(old)
    w = Waiting(api, kc, "deploy/web", "--timeout", "30s").watching(4)
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()  # the spec update is not observed: nothing to judge yet
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.ready(pods[0]),
         lambda: api.remove("Pod", "shop", old), r.sync).join()
    w.result()
    assert w.code == 0, w.err + w.out
    assert w.err.splitlines()[0] == "Waiting for deployment spec update to be observed..."


# -- --timeout: kubectl's durations ----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "0s", "1h2m3s", "90s", "1.5m", "500ms"])
def test_timeout_takes_kubectls_durations(api, kc, value):  # noqa: F811
    deployment(api, {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                     "readyReplicas": 2})
    w = Waiting(api, kc, "deploy/web", "--timeout", value).result()
    assert (w.code, w.out) == (0, 'deployment "web" successfully rolled out\n'), w.err


@needs_kubectl
@pytest.mark.parametrize("value", ["5", "300", "5 m", "1d", "-1s", "s"])
def test_timeout_without_a_unit_is_a_usage_error_like_kubectls(api, kc, value):  # noqa: F811
    """`kubectl rollout status --timeout 5`: `invalid argument "5" for "--timeout" flag: time: missing unit in
    duration "5"` (a Go duration; only 0 goes without a unit)."""
    deployment(api, {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
    if value in ("5", "300"):
        proc = subprocess.run(["kubectl", "rollout", "status", "deploy/web", "--timeout", value],
                              capture_output=True, text=True, env=cli_env(kc), cwd=ROOT, timeout=30)
        assert proc.returncode != 0 and "missing unit in duration" in proc.stderr
    w = Waiting(api, kc, "deploy/web", "--timeout", value).result()
    assert (w.code, w.out) == (2, ""), w.err
    assert f"invalid --timeout {value!r}" in w.err and w.err.count("\n") == 1


# -- StatefulSet ------------------------------------------------------------------------------------------

def statefulset(api, status: dict, strategy: dict | None) -> None:
    spec = {"replicas": 3, "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}}
    if strategy is not None:
        spec["updateStrategy"] = strategy
    api.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": {"name": "db", "namespace": "shop", "generation": 2}, "spec": spec, "status": status})


@needs_kubectl
def test_a_statefulset_without_a_strategy_is_judged_as_the_api_server_defaults_it(api, kc):  # noqa: F811
    """No updateStrategy: the API server defaults it to RollingUpdate with rollingUpdate.partition 0, and kubectl
    then reads the partition rule (done when updatedReplicas reaches replicas, whatever currentRevision says)."""
    status = {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3,
              "currentReplicas": 0, "currentRevision": "db-1", "updateRevision": "db-2"}
    statefulset(api, status, {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})  # as the server stores it
    code, out, _ = kubectl_status(kc, "sts/db")
    assert (code, out) == (0, "partitioned roll out complete: 3 new pods have been updated...\n")
    statefulset(api, status, None)
    w = Waiting(api, kc, "sts/db", "--timeout", "5s").result()
    assert (w.code, w.out) == (0, out), w.err


# -- fail fast: a grace that runs out with nothing new happening ------------------------------------------

def test_a_missing_secret_fails_once_its_grace_is_over_even_when_nothing_else_changes(api, kc):  # noqa: F811
    """CreateContainerConfigError (a Secret that does not exist) is permanent after 15 s (it may be applied just
    after the workload). A cluster that says it once and then is quiet (no new event, no new status) must still
    fail the wait when the 15 s are over, not at --timeout."""
    from rollout import container_waiting

    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "60s").watching(4)
    pods = []

    def config_error():
        p = r.pod(pods[0])
        p["metadata"]["creationTimestamp"] = ago(12)
        p["spec"]["nodeName"] = "node-1"
        p["status"].update(phase="Pending", containerStatuses=[container_waiting(
            "web", r.image, "CreateContainerConfigError", 'secret "db-creds" not found')])
        api.add(p)
        r.event(p, "Failed", 'Error: secret "db-creds" not found', container="web")
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, config_error).join()
    time.sleep(1.0)
    assert w.proc.poll() is None, w.proc.communicate()  # 12 s old: within its grace
    w.result(timeout=20)
    assert w.code == 3, w.err + w.out
    assert w.elapsed < 20
    assert f"pod {pods[0]}: container.config-error [web]" in w.err


def test_a_configmap_volume_that_does_not_exist_fails_after_its_grace(api, kc):  # noqa: F811
    """The commonest missing ConfigMap: a configMap volume. The pod stays ContainerCreating and the kubelet says
    FailedMount `configmap "web-config" not found`: as permanent as the env var's CreateContainerConfigError,
    after the same 15 s (it may be applied just after the workload)."""
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "60s").watching(4)
    pods = []

    def mount_failed():
        r.schedule(pods[0])
        p = r.pod(pods[0])
        p["metadata"]["creationTimestamp"] = ago(12)
        p["spec"]["volumes"] = [{"name": "config", "configMap": {"name": "web-config"}}]
        api.add(p)
        r.event(p, "FailedMount", 'MountVolume.SetUp failed for volume "config" : configmap "web-config" not found')
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, mount_failed).join()
    time.sleep(1.0)
    assert w.proc.poll() is None, w.proc.communicate()  # 12 s old: within its grace
    w.result(timeout=20)
    assert w.code == 3, w.err + w.out
    assert f"pod {pods[0]}: pod.volume-mount-failed" in w.err and "web-config" in w.err


@pytest.mark.parametrize("probe, code", [("liveness", "container.liveness-probe-failed"),
                                         ("startup", "container.startup-probe-failed"),
                                         (None, "container.completed-restarting")])
def test_a_container_its_probe_keeps_killing_is_a_crash_loop(api, kc, probe, code):  # noqa: F811
    """The kubelet kills the container each time its liveness (or startup) probe fails past its budget, or the
    process exits 0 under restartPolicy Always: CrashLoopBackOff either way. A first restart may be a slow
    dependency; from the second, like a crash loop, it will not heal by itself."""
    from rollout import container_running, container_waiting

    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "60s").watching(4)
    pods = []

    def killed(restarts):
        def step():
            p = r.pod(pods[0])
            if probe:
                p["spec"]["containers"][0][f"{probe}Probe"] = {"httpGet": {"path": "/healthz", "port": 8080},
                                                               "periodSeconds": 10, "failureThreshold": 3}
            last = {"terminated": {"exitCode": 137 if probe else 0, "reason": "Error" if probe else "Completed",
                                   "startedAt": ago(40), "finishedAt": ago(5)}}
            state = container_waiting("web", r.image, "CrashLoopBackOff", "back-off 20s restarting failed container",
                                      restarts=restarts, last=last) if restarts > 1 else \
                container_running("web", r.image, ready=False, restarts=restarts, last=last)
            p["status"].update(phase="Running", containerStatuses=[state])
            api.add(p)
            if probe:
                r.event(p, "Unhealthy", f'{probe.title()} probe failed: Get "http://10.1.0.5:8080/healthz": dial tcp '
                        "10.1.0.5:8080: connect: connection refused", container="web")
                r.event(p, "Killing", f"Container web failed {probe} probe, will be restarted", type_="Normal",
                        container="web")
            else:
                r.event(p, "BackOff", "Back-off restarting failed container web", container="web")
        return step
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.schedule(pods[0]), killed(1)).join()
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()  # one restart: may be a dependency starting
    killed(2)()
    w.result(timeout=20)
    assert w.code == 3, w.err + w.out
    assert f"pod {pods[0]}: {code} [web]" in w.err


# -- DaemonSet ---------------------------------------------------------------------------------------------

def _ds_pod(api, name: str, generation: str, node: str, status: dict) -> None:
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "namespace": "shop", "creationTimestamp": ago(30),
                          "labels": {"app": "agent", "pod-template-generation": generation},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                               "uid": "", "controller": True}]},
             "spec": {"nodeName": node, "containers": [{"name": "agent", "image": f"agent:{generation}"}]},
             "status": {"phase": "Running", "containerStatuses": [status]}})


@needs_kubectl
def test_a_daemonset_rollout_old_generation_crashing_then_new_image_missing(api, kc):  # noqa: F811
    """kubectl's daemon set lines; an old-generation pod crash-looping while it waits for its turn does not fail
    the rollout; a pod of the new template generation whose image does not exist does."""
    from rollout import Cluster, container_running, container_waiting

    api.add({"apiVersion": "apps/v1", "kind": "DaemonSet",
             "metadata": {"name": "agent", "namespace": "shop", "generation": 2,
                          "annotations": {"deprecated.daemonset.template.generation": "2"}},
             "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": {"type": "RollingUpdate"},
                      "template": {"metadata": {"labels": {"app": "agent"}},
                                   "spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}},
             "status": {"observedGeneration": 2, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
                        "updatedNumberScheduled": 0, "numberAvailable": 1, "numberUnavailable": 1}})
    code, out, _ = kubectl_status(kc, "ds/agent")
    assert (code, out) == (0, 'Waiting for daemon set "agent" rollout to finish: 0 out of 2 new pods have been '
                              'updated...\n')
    last = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(20), "finishedAt": ago(5)}}
    _ds_pod(api, "agent-old1", "1", "node-1", container_waiting("agent", "agent:1", "CrashLoopBackOff",
                                                                "back-off 40s", restarts=4, last=last))
    _ds_pod(api, "agent-old2", "1", "node-2", container_running("agent", "agent:1"))
    w = Waiting(api, kc, "ds/agent", "--timeout", "60s").watching(3)
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()  # the old generation's crash loop: not this rollout's
    c = Cluster(api)
    api.remove("Pod", "shop", "agent-old1")
    _ds_pod(api, "agent-new1", "2", "node-1", container_waiting(
        "agent", "agent:2", "ErrImagePull", 'rpc error: code = NotFound desc = failed to pull and unpack image '
        '"docker.io/library/agent:2": failed to resolve reference "docker.io/library/agent:2": '
        '"docker.io/library/agent:2": not found'))
    c.event(api.get("Pod", "shop", "agent-new1"), "Failed", 'Failed to pull image "agent:2": rpc error: code = '
            'NotFound desc = failed to pull and unpack image "docker.io/library/agent:2": failed to resolve '
            'reference "docker.io/library/agent:2": docker.io/library/agent:2: not found', container="agent")
    w.result()
    assert w.code == 3, w.err + w.out
    assert w.err.splitlines()[0] == out.strip()
    assert "pod agent-new1: image.not-found [agent]" in w.err


def _db_pod(api, name: str, revision: str, status: dict) -> None:
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "namespace": "shop", "creationTimestamp": ago(300),
                          "labels": {"app": "db", "controller-revision-hash": revision,
                                     "statefulset.kubernetes.io/pod-name": name},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                               "uid": "", "controller": True}]},
             "spec": {"nodeName": "node-1", "containers": [{"name": "db", "image": "postgres:17"}]},
             "status": {"phase": "Running", "containerStatuses": [status]}})


@pytest.mark.parametrize("policy, fails", [(None, True), ("OrderedReady", True), ("Parallel", False)])
def test_an_old_statefulset_pod_that_will_not_heal_blocks_an_ordered_rollout_for_good(api, kc, policy, fails):  # noqa: F811
    """kubernetes#67250 ("forced rollback"): a StatefulSet with podManagementPolicy OrderedReady (the default) does
    not go past a pod that is not Running and Ready, whatever its revision: the broken template's db-0 is never
    replaced by the fixed one until someone deletes it. It will not heal by itself: wait says so, and what to do.
    With Parallel, the controller replaces it: keep waiting."""
    from rollout import container_running, container_waiting

    statefulset(api, {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 0,
                      "currentReplicas": 2, "currentRevision": "db-1", "updateRevision": "db-2"},
                {"type": "RollingUpdate"})
    s = api.get("StatefulSet", "shop", "db")
    s["spec"]["replicas"] = 2
    if policy:
        s["spec"]["podManagementPolicy"] = policy
    api.add(s)
    last = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(20), "finishedAt": ago(5)}}
    _db_pod(api, "db-0", "db-1", container_waiting("db", "postgres:17", "CrashLoopBackOff", "back-off 40s",
                                                   restarts=4, last=last))
    _db_pod(api, "db-1", "db-1", container_running("db", "postgres:17"))
    w = Waiting(api, kc, "sts/db", "--timeout", "4s").result()
    assert w.code == 3, w.err + w.out
    if not fails:
        assert "timed out after 4s" in w.err
        return
    assert w.elapsed < 4
    verdict = w.err.splitlines()[-1]
    assert "pod db-0: container.crash-loop [db]" in verdict
    assert "previous revision" in verdict and "kubectl delete pod db-0 -n shop" in verdict


# -- a rolling update at the quota's edge: the refusal comes before the old pods start terminating ------------

def test_a_quota_refusal_just_before_the_old_replicaset_is_scaled_down_keeps_waiting(api, kc):  # noqa: F811
    """The deployment controller scales the new ReplicaSet up (maxSurge) in one sync and the old one down
    (maxUnavailable) in the next: the new ReplicaSet's FailedCreate (`exceeded quota`) can reach the watch a
    moment before the old pods' deletion. Their end frees the quota, so the rollout completes: a refusal is
    confirmed with what is already on its way before it fails the wait."""
    from rollout import QUOTA

    r = Rollout(api, replicas=1).create()
    old = f"web-7c9d8b6f5d-{suffix()}"
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": old, "namespace": "shop",
                          "labels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"}},
             "spec": {"nodeName": "node-1",
                      "containers": [{"name": "web", "image": "registry.example.com/shop/web:1.9"}]},
             "status": {"phase": "Running"}})
    w = Waiting(api, kc, "deploy/web", "--timeout", "30s").watching(4)

    def refused_then_scaled_down():
        r.rejected(QUOTA)
        time.sleep(0.05)
        p = api.get("Pod", "shop", old)
        p["metadata"]["deletionTimestamp"] = ago(0)
        api.add(p)
    play(r.observe, refused_then_scaled_down).join()
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()  # the old pod's end frees the quota: keep waiting
    pods = []

    def freed():  # the old pod is gone: the ReplicaSet controller creates the pod and clears ReplicaFailure
        api.remove("Pod", "shop", old)
        pods.append(r.add_pod())
        rs = api.get("ReplicaSet", "shop", r.rs)
        rs["status"].pop("conditions", None)
        api.add(rs)
        d = r.deployment()
        d["status"]["conditions"] = [c for c in d["status"]["conditions"] if c["type"] != "ReplicaFailure"]
        api.add(d)
        r.sync()
    play(freed, lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err + w.out


def test_a_quota_refusal_from_before_the_old_pods_ended_waits_for_the_controllers_next_try(api, kc):  # noqa: F811
    """The old pods have ended and freed the quota; the ReplicaSet controller retries after its back-off (seconds,
    more after many refusals). Until then its last FailedCreate (and the ReplicaFailure condition) predate the
    freed quota: they do not fail the wait; the next try does (refused again: the quota is too small) or the pod
    appears. Here it appears."""
    from rollout import QUOTA

    r = Rollout(api, replicas=1).create()
    old = f"web-7c9d8b6f5d-{suffix()}"
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": old, "namespace": "shop", "deletionTimestamp": ago(5),
                          "labels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"}},
             "spec": {"nodeName": "node-1",
                      "containers": [{"name": "web", "image": "registry.example.com/shop/web:1.9"}]},
             "status": {"phase": "Running"}})
    w = Waiting(api, kc, "deploy/web", "--timeout", "30s").watching(4)
    play(r.observe, lambda: r.rejected(QUOTA)).join()
    time.sleep(1.2)  # (the refusal's second is over)
    api.remove("Pod", "shop", old)
    time.sleep(2.5)  # the controller's back-off
    assert w.proc.poll() is None, w.proc.communicate()  # the refusal predates the freed quota: keep waiting
    pods = []

    def created():
        pods.append(r.add_pod())
        rs = api.get("ReplicaSet", "shop", r.rs)
        rs["status"].pop("conditions", None)
        api.add(rs)
        d = r.deployment()
        d["status"]["conditions"] = [c for c in d["status"]["conditions"] if c["type"] != "ReplicaFailure"]
        api.add(d)
        r.sync()
    play(created, lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err + w.out
