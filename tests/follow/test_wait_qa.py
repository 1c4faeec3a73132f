"""Acceptance (qa-diagnosis): ``kubectl podfix wait`` on scripted rollouts built from another rollout gate's own
fixtures (Shopify/krane test/unit/krane/kubernetes_resource/pod_test.rb and deployment_test.rb: which states krane
calls doomed and which transient). A failure that heals must keep the wait going; one that will not must end it
with exit 3 at once."""

from __future__ import annotations

import time

from rollout import Rollout, container_waiting, now, play
from test_wait import Waiting, kc  # noqa: F401  (kc: the fixture)


def _state(r: Rollout, name: str, status: dict, phase: str = "Pending") -> None:
    p = r.pod(name)
    if not p["spec"].get("nodeName"):
        r.schedule(name)
        p = r.pod(name)
    p["status"].update(phase=phase, containerStatuses=[status])
    r.api.add(p)


def test_a_deadline_verdict_of_the_previous_spec_does_not_fail_a_fixed_rollout(api, kc):  # noqa: F811
    """krane test_deploy_timed_out_based_on_progress_deadline_ignores_statuses_for_older_generations: the last
    rollout exceeded its progress deadline; the fix is applied (generation 2, observedGeneration still 1, the old
    ProgressDeadlineExceeded condition still there). kubectl rollout status waits for the spec to be observed;
    so must podfix, and the fixed rollout completes."""
    r = Rollout(api, replicas=1).create()
    d = r.deployment()
    d["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                  "message": 'ReplicaSet "web-7c9d8b6f5d" has timed out progressing.',
                                  "lastUpdateTime": now(), "lastTransitionTime": now()}]
    api.add(d)
    w = Waiting(api, kc, "deploy/web", "--timeout", "30s").watching(4)
    time.sleep(1.0)
    assert w.proc.poll() is None, w.proc.communicate()  # not failed on the previous spec's verdict
    pods = []
    t = play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.ready(pods[0]), r.sync)
    w.result()
    t.join()
    assert w.code == 0, w.err + w.out
    assert w.out == 'deployment "web" successfully rolled out\n'
    assert w.err.splitlines()[0] == "Waiting for deployment spec update to be observed..."


def test_an_intermittent_pull_error_keeps_waiting_and_the_rollout_completes(api, kc):  # noqa: F811
    """krane test_deploy_failed_is_false_for_intermittent_image_error: `net/http: request canceled` is not
    doomed; the next pull works."""
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "30s").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: _state(r, pods[0], container_waiting(
        "web", r.image, "ErrImagePull",
        f"Failed to pull image '{r.image}': rpc error: code = 2 desc = net/http: request canceled"))).join()
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()
    play(lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err + w.out


def test_a_runtime_that_cannot_start_a_missing_command_fails_at_once(api, kc):  # noqa: F811
    """krane test_deploy_failed_is_true_for_container_cannot_run_error: ContainerCannotRun, exit 127,
    `/not/a/command: no such file or directory`, on the first try: doomed, no restart needed to know it."""
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "60s").watching(4)
    pods = []
    status = {"name": "web", "image": r.image, "imageID": "", "ready": False, "started": False, "restartCount": 0,
              "lastState": {}, "state": {"terminated": {"exitCode": 127, "reason": "ContainerCannotRun",
                                                        "message": "/not/a/command: no such file or directory",
                                                        "startedAt": now(), "finishedAt": now()}}}
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: _state(r, pods[0], status, "Running")).join()
    w.result()
    assert w.code == 3, w.err + w.out
    assert w.elapsed < 15
    assert f"pod {pods[0]}: container.command-not-found [web]" in w.err
    assert "/not/a/command" in w.out


def test_a_transient_container_cannot_run_128_keeps_waiting(api, kc):  # noqa: F811
    """krane test_deploy_failed_is_false_for_container_cannot_run_error_with_128_exit_code: the daemon's
    `grpc: the client connection is closing` on a first start is transient (the next start works)."""
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "30s").watching(4)
    pods = []
    status = {"name": "web", "image": r.image, "imageID": "", "ready": False, "started": False, "restartCount": 0,
              "lastState": {}, "state": {"terminated": {
                  "exitCode": 128, "reason": "ContainerCannotRun", "startedAt": now(), "finishedAt": now(),
                  "message": "Error: failed to start container 'foo': Error response from daemon: grpc: the client"
                             "connection is closing"}}}
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: _state(r, pods[0], status, "Running")).join()
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()
    play(lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err + w.out


def _sts_pod(api, name: str, revision: str, status: dict, phase: str = "Running") -> None:
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "namespace": "shop", "creationTimestamp": now(),
                          "labels": {"app": "failss", "controller-revision-hash": revision,
                                     "statefulset.kubernetes.io/pod-name": name},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "failss",
                                               "uid": "", "controller": True}]},
             "spec": {"nodeName": "node-1", "containers": [{"name": "failss", "image": "debian:7.8",
                                                           "command": ["exit"], "args": ["1"]}]},
             "status": {"phase": phase, "containerStatuses": [status]}})


def test_a_statefulset_whose_ordinal_0_cannot_start_its_command_fails_fast(api, kc):  # noqa: F811
    """kubernetes#57865 (command ["exit"]: a shell builtin, no such file): failss-0 never starts, so failss-1 is
    never created (OrderedReady). The runtime's 127 is final on the first try: exit 3 at once."""
    api.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": {"name": "failss", "namespace": "shop", "generation": 1},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "failss"}}, "serviceName": "failss",
                      "updateStrategy": {"type": "RollingUpdate"},
                      "template": {"metadata": {"labels": {"app": "failss"}},
                                   "spec": {"containers": [{"name": "failss", "image": "debian:7.8",
                                                            "command": ["exit"], "args": ["1"]}]}}},
             "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0, "currentReplicas": 1,
                        "updatedReplicas": 1, "updateRevision": "failss-5d8f7c9b5d",
                        "currentRevision": "failss-5d8f7c9b5d"}})
    w = Waiting(api, kc, "sts/failss", "--timeout", "60s").watching(3)
    term = {"exitCode": 127, "reason": "ContainerCannotRun", "startedAt": now(), "finishedAt": now(),
            "message": 'OCI runtime create failed: container_linux.go:348: starting container process caused '
                       '"exec: \\"exit\\": executable file not found in $PATH": unknown'}
    status = {"name": "failss", "image": "debian:7.8", "imageID": "", "ready": False, "started": False,
              "restartCount": 0, "lastState": {}, "state": {"terminated": term}}
    play(lambda: _sts_pod(api, "failss-0", "failss-5d8f7c9b5d", status)).join()
    w.result()
    assert w.code == 3, w.err + w.out
    assert w.elapsed < 15
    assert "pod failss-0: container.command-not-found [failss]" in w.err
    assert '"exit"' in w.out
