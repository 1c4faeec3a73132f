"""``kubectl podfix wait`` against scripted rollouts on the loopback API server (the console script, as CI runs it)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest
from clitools import BIN, ROOT, cli_env
from rollout import QUOTA, Cluster, JobRun, Rollout, ago, now, play, suffix

WAIT = ("wait",)
WEBHOOK_DOWN = ('Error creating: Internal error occurred: failed calling webhook "validate.kyverno.svc-fail": '
                'failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/validate/fail?timeout=10s": '
                'context deadline exceeded')


class Waiting:
    """``kubectl-podfix wait ...`` running in the background while the test plays the controllers."""

    def __init__(self, api, kubeconfig, *args: str):
        self.api = api
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(BIN / "kubectl-podfix"), "wait", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=cli_env(kubeconfig), cwd=ROOT)

    def watching(self, count: int, timeout: float = 20) -> "Waiting":
        """Block until the command has opened ``count`` watches (its LISTs are done)."""
        try:
            self.api.wait_for_watchers(count, timeout=timeout)
        except AssertionError:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"{err}\n{out}") from None
        return self

    def result(self, timeout: float = 30):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"still waiting after {timeout}s:\n{err}\n{out}") from None
        self.elapsed = time.monotonic() - self.started
        self.code, self.out, self.err = self.proc.returncode, out, err
        return self


@pytest.fixture
def kc(api, tmp_path):
    return api.write_kubeconfig(str(tmp_path / "kc-shop"), namespace="shop")


def shapes(api):
    """(kind of request, path) of every request: LIST or WATCH (or the method)."""
    return [("WATCH" if r.q("watch") else "LIST" if r.method == "GET" and not r.path.endswith(("/log",))
             and r.path.rsplit("/", 1)[-1] in ("deployments", "replicasets", "pods", "events", "jobs", "secrets",
                                               "serviceaccounts", "statefulsets", "daemonsets", "nodes")
             else r.method, r.path) for r in api.requests]


DEPLOY_KINDS = ["/apis/apps/v1/namespaces/shop/deployments", "/apis/apps/v1/namespaces/shop/replicasets",
                "/api/v1/namespaces/shop/pods", "/api/v1/namespaces/shop/events"]


def one_list_one_watch(api, paths=DEPLOY_KINDS, extra=()):
    got = sorted(shapes(api))
    want = sorted([("LIST", p) for p in paths] + [("WATCH", p) for p in paths] + list(extra))
    assert got == want


def test_a_deployment_that_completes(api, kc):
    r = Rollout(api, replicas=3).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "60s").watching(4)
    pods = []
    t = play(r.observe, *[lambda: pods.append(r.add_pod())] * 3, r.sync,
             *[lambda i=i: r.pulling(pods[i]) for i in range(3)],
             lambda: r.ready(pods[0]), r.sync, lambda: r.ready(pods[1]), r.sync, lambda: r.ready(pods[2]), r.sync)
    w.result()
    t.join()
    assert w.code == 0, w.err
    assert w.out == 'deployment "web" successfully rolled out\n'
    lines = w.err.splitlines()
    head = 'Waiting for deployment "web" rollout to finish: '
    expected = ["Waiting for deployment spec update to be observed...",
                head + "0 out of 3 new replicas have been updated...",
                *[head + f"{n} out of 3 new replicas have been updated..." for n in (1, 2)],
                *[head + f"{n} of 3 updated replicas are available..." for n in (0, 1, 2)]]
    assert lines[0] == expected[0] and head + "2 of 3 updated replicas are available..." in lines
    assert len(lines) == len(set(lines)) and set(lines) <= set(expected)  # one line per change, no repeats
    assert lines == sorted(lines, key=expected.index)  # in order
    one_list_one_watch(api)
    watches = [q for q in api.requests if q.q("watch")]
    assert all(q.q("resourceVersion") and q.q("allowWatchBookmarks") == "true" for q in watches)
    assert next(q for q in watches if q.path.endswith("/deployments")).q("fieldSelector") == "metadata.name=web"
    assert next(q for q in watches if q.path.endswith("/pods")).q("labelSelector") == "app=web"


def test_an_image_typo_fails_fast_with_explains_diagnosis(api, kc, podfix):
    r = Rollout(api, replicas=3, image="registry.example.com/shop/web:2.O").create()
    w = Waiting(api, kc, "deploy/web", "-o", "json").watching(4)
    pods = []
    t = play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.pulling(pods[0]),
             lambda: r.image_not_found(pods[0]))
    w.result()
    t.join()
    assert w.code == 3, w.err
    report = json.loads(w.out)
    assert report["kind"] == "PodfixReport"
    (pod,) = report["pods"]
    assert (pod["name"], pod["findings"][0]["code"]) == (pods[0], "image.not-found")
    assert report["wait"]["result"] == "failed" and report["wait"]["seconds"] < 10
    assert report["wait"]["reason"]["pod"] == pods[0] and report["wait"]["reason"]["code"] == "image.not-found"
    assert w.err.splitlines()[-1].startswith(f'error: deployment "web" rollout failed after ')
    assert f"pod {pods[0]}: image.not-found [web]" in w.err and "will not heal by itself" in w.err
    one_list_one_watch(api)  # and nothing per pod: a not-found diagnosis reads nothing more
    # the same diagnosis explain gives
    explained = podfix("explain", pods[0], "-n", "shop", "-o", "json")
    keys = ("code", "severity", "container", "title", "explanation", "suggestions", "fix")
    assert [{k: f[k] for k in keys} for f in explained.json["pods"][0]["findings"]] == \
        [{k: f[k] for k in keys} for f in pod["findings"]]  # (evidence: events may still be on their way)


def test_a_crash_loop_fails_after_its_second_restart_not_its_first(api, kc):
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.crash(pods[0], restarts=1)).join()
    time.sleep(1.0)
    assert w.proc.poll() is None  # a first restart may be a dependency starting: still waiting
    r.crash(pods[0], restarts=2)
    w.result()
    assert w.code == 3, w.err
    assert "container.crash-loop [web]" in w.err
    assert "panic: cannot connect to database" in w.out  # the previous log, read once for the diagnosis
    logs = [q for q in api.requests if q.path.endswith("/log")]
    assert len(logs) == 1 and logs[0].q("previous") == "true"


def test_a_quota_rejection_fails_fast(api, kc):
    r = Rollout(api, replicas=2).create()
    w = Waiting(api, kc, "deploy/web").watching(4)
    play(r.observe, r.rejected).join()
    w.result()
    assert w.code == 3, w.err
    assert "workload.quota-exceeded" in w.out and "exceeded quota: compute-resources" in w.out
    assert "\ndeployment shop/web (0/2 ready)\n" in w.out  # the workload's block, as explain deploy/web prints it
    # the FailedCreate event and/or the ReplicaFailure condition (two streams: either may arrive first)
    assert re.search(r"FailedCreate \([^)]*\) on replicaset/web-5d4f8b7c9d", w.out) \
        or "ReplicaFailure=True (FailedCreate)" in w.out
    assert ('deployment/web: workload.quota-exceeded: ResourceQuota "compute-resources" is full: new pods are '
            "rejected (limits.cpu, limits.memory)") in w.err
    assert QUOTA.split("{pod}")[1][:40] in w.out
    # one LIST and one WATCH per kind while waiting; at the end, what explain reads for a quota: the quota (its
    # headroom now) and the namespace's pods (who uses it), one LIST each
    one_list_one_watch(api, extra=[("GET", "/api/v1/namespaces/shop/resourcequotas"),
                                   ("LIST", "/api/v1/namespaces/shop/pods")])


def test_json_is_explains_report_with_the_workload(api, kc, podfix):
    r = Rollout(api, replicas=2).create()
    w = Waiting(api, kc, "deploy/web", "-o", "json").watching(4)
    play(r.observe, r.rejected).join()
    w.result()
    assert w.code == 3, w.err
    report = json.loads(w.out)
    assert report["kind"] == "PodfixReport" and report["pods"] == []
    (workload,) = report["workloads"]
    assert (workload["kind"], workload["namespace"], workload["name"], workload["summary"]) == \
        ("Deployment", "shop", "web", "0/2 ready")
    reason = report["wait"]["reason"]
    assert reason["pod"] is None and reason["code"] == "workload.quota-exceeded" == workload["findings"][0]["code"]
    explained = podfix("explain", "deploy/web", "-n", "shop", "-o", "json").json
    keys = ("code", "severity", "title", "explanation", "suggestions", "fix")
    assert [{k: f[k] for k in keys} for f in explained["workloads"][0]["findings"]] == \
        [{k: f[k] for k in keys} for f in workload["findings"]]  # (evidence: "0s ago" may have become "1s ago")


def test_a_webhook_that_cannot_be_called_keeps_waiting(api, kc):
    """Not a policy decision: the webhook may come back. At the timeout, its finding is the diagnosis."""
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "3s").watching(4)
    play(r.observe, lambda: r.rejected(WEBHOOK_DOWN)).join()
    w.result()
    assert w.code == 3 and w.elapsed >= 3, w.err
    assert 'error: timed out after 3s waiting for deployment "web"' in w.err
    assert "\ndeployment shop/web (0/1 ready)\n  ✗ workload.webhook-unreachable  " in w.out


def test_a_full_quota_while_old_pods_terminate_keeps_waiting(api, kc):
    """A rolling update at the quota's edge: the old pods' end frees room. Once they are gone, it fails."""
    r = Rollout(api, replicas=1).create()
    old = f"web-7c9d8b6f5d-{suffix()}"
    api.add({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": old, "namespace": "shop", "deletionTimestamp": now(),
                          "labels": {"app": "web", "pod-template-hash": "7c9d8b6f5d"}},
             "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:1.9"}]},
             "status": {"phase": "Running"}})
    w = Waiting(api, kc, "deploy/web").watching(4)
    play(r.observe, r.rejected).join()
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()  # a warning: keep waiting
    play(lambda: api.remove("Pod", "shop", old), r.rejected).join()
    w.result()
    assert w.code == 3, w.err
    assert "workload.quota-exceeded" in w.err


def test_a_claim_that_cannot_be_provisioned_fails_a_statefulset(api, kc):
    api.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": {"name": "db", "namespace": "shop", "generation": 1},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
                      "updateStrategy": {"type": "RollingUpdate"},
                      "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                                "spec": {"storageClassName": "fast",
                                                         "accessModes": ["ReadWriteOnce"],
                                                         "resources": {"requests": {"storage": "1Gi"}}}}],
                      "template": {"metadata": {"labels": {"app": "db"}},
                                   "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}},
             "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0, "updateRevision": "db-1",
                        "currentRevision": "db-1"}})
    c = Cluster(api)
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "data-db-0", "namespace": "shop", "uid": ""}}
    w = Waiting(api, kc, "sts/db").watching(3)
    # (the provisioner has said so for a minute: a StorageClass applied with the workload would be there by now)
    play(lambda: c.event(claim, "ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found',
                         component="persistentvolume-controller")).join()
    old = api.get("Event", "shop", next(e["metadata"]["name"] for e in api.objects("Event", "shop")))
    old["firstTimestamp"] = ago(60)
    api.add(old)
    w.result()
    assert w.code == 3, w.err
    assert 'statefulset/db: workload.pvc-provisioning-failed: PVC data-db-0 cannot be provisioned' in w.err
    assert "\nstatefulset shop/db (0/1 ready)\n" in w.out
    lists = [q.path for q in api.requests if not q.q("watch")]
    assert "/api/v1/namespaces/shop/persistentvolumeclaims" in lists  # what explain reads for it, at the end


def test_an_unschedulable_pod_keeps_waiting_while_a_node_is_added(api, kc):
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.unschedulable(pods[0]),
         lambda: r.scale_up(pods[0])).join()  # (the autoscaler answers within the grace it gets)
    time.sleep(1.5)
    assert w.proc.poll() is None, w.proc.communicate()  # the autoscaler is adding a node: keep waiting
    play(lambda: r.node("node-4"), lambda: r.schedule(pods[0], "node-4"), lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err
    assert 'deployment "web" successfully rolled out' in w.out


def test_an_unschedulable_pod_no_autoscaler_will_help_fails(api, kc):
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync,
         lambda: r.unschedulable(pods[0], since="2026-01-01T00:00:00Z")).join()
    w.result(timeout=60)  # (a pod created under PENDING_GRACE (30 s) ago is a warning, not yet a failure)
    assert w.code == 3 and "pod.unschedulable" in w.err


def test_timeout_diagnoses_what_is_not_ready(api, kc):
    r = Rollout(api, replicas=2).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "4s", "-o", "json").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), lambda: pods.append(r.add_pod()), r.sync,
         lambda: r.ready(pods[0]), lambda: r.registry_unreachable(pods[1]), r.sync)
    w.result()
    assert w.code == 3
    report = json.loads(w.out)
    assert report["wait"]["result"] == "timeout" and 4 <= report["wait"]["seconds"] < 8
    assert [p["name"] for p in report["pods"]] == [pods[1]]
    assert report["pods"][0]["findings"][0]["code"] == "image.registry-unreachable"  # may heal: waited
    assert "error: timed out after 4s waiting for deployment \"web\": 1 of 2 updated replicas are available" in w.err


def test_no_fail_fast_waits_for_the_timeout(api, kc):
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "--timeout", "3s", "--no-fail-fast").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.image_not_found(pods[0])).join()
    w.result()
    assert w.code == 3 and w.elapsed >= 3
    assert "timed out after 3s" in w.err and "image.not-found" in w.out


def test_the_progress_deadline_is_a_failure_like_kubectls(api, kc):
    r = Rollout(api, replicas=1, progress_deadline=1).create()
    w = Waiting(api, kc, "deploy/web", "--no-fail-fast").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.image_not_found(pods[0]),
         r.deadline_exceeded).join()
    w.result()
    assert w.code == 3
    assert w.err.splitlines()[-1] == 'error: deployment "web" exceeded its progress deadline'
    assert "image.not-found" in w.out
    # the diagnosis is the workload's: the rollout is stuck, and why (the new ReplicaSet's pods' own diagnosis)
    assert "\ndeployment shop/web (0/1 ready)\n  ✗ workload.rollout-stuck  Rollout of deployment/web exceeded its " \
        "progress deadline: new pods fail with image.not-found" in w.out


def test_a_dropped_watch_is_resumed_from_its_resource_version(api, kc):
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "-v").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync).join()
    time.sleep(0.3)
    seen = api.get("Pod", "shop", pods[0])["metadata"]["resourceVersion"]
    assert api.drop_watches("/api/v1/namespaces/shop/pods") == 1
    api.wait_for_watchers(1, "/api/v1/namespaces/shop/pods")
    play(lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err
    pod_watches = [q for q in api.requests if q.q("watch") and q.path == "/api/v1/namespaces/shop/pods"]
    assert len(pod_watches) == 2 and int(pod_watches[1].q("resourceVersion")) >= int(seen)
    assert len([q for q in api.requests if not q.q("watch") and q.path == "/api/v1/namespaces/shop/pods"]) == 1
    assert "the watch of pods in namespace shop (app=web) was interrupted" in w.err  # said with -v


def test_410_gone_lists_again(api, kc):
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "-v").watching(4)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync).join()
    time.sleep(0.3)
    with api._lock:  # podfix falls behind a compaction: its resourceVersion is gone when it resumes
        api.drop_watches("/api/v1/namespaces/shop/pods")
        r.ready(pods[0])
        api.compact()
    deadline = time.monotonic() + 10
    while len([q for q in api.requests if q.path == "/api/v1/namespaces/shop/pods" and not q.q("watch")]) < 2:
        assert time.monotonic() < deadline, "the pods were not listed again"
        time.sleep(0.02)
    r.sync()
    w.result()
    assert w.code == 0, w.err
    pods_requests = [("WATCH" if q.q("watch") else "LIST") for q in api.requests
                     if q.path == "/api/v1/namespaces/shop/pods"]
    # the resume got 410 Expired, so one LIST, then (unless the rollout was done by then) a WATCH from it
    assert pods_requests[:4] == ["LIST", "WATCH", "WATCH", "LIST"] and pods_requests[4:] in ([], ["WATCH"])
    assert "the watch of pods in namespace shop (app=web) is too old to resume (410 Expired): listing again" in w.err


def test_a_refused_watch_falls_back_to_polling(api, kc):
    api.deny("watch", "pods", "shop")
    r = Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web", "-v").watching(3)
    pods = []
    play(r.observe, lambda: pods.append(r.add_pod()), r.sync, lambda: r.ready(pods[0]), r.sync).join()
    w.result()
    assert w.code == 0, w.err
    assert ("podfix: the API server refused to watch pods in namespace shop (app=web) (403 Forbidden): "
            "listing every 2s instead") in w.err


def test_ctrl_c_exits_130_without_a_traceback(api, kc):
    Rollout(api, replicas=1).create()
    w = Waiting(api, kc, "deploy/web").watching(4)
    w.proc.send_signal(signal.SIGINT)
    w.result()
    assert w.code == 130
    assert "Traceback" not in w.err and "Exception" not in w.err
    assert w.err.splitlines()[-1] in ("error: interrupted", "error: aborted")  # (click calls Ctrl-C "Abort")


def test_a_job_to_completion(api, kc):
    j = JobRun(api).create()
    w = Waiting(api, kc, "job/migrate").watching(3)
    pods = []
    play(lambda: pods.append(j.add_pod()), lambda: j.schedule(pods[0]), lambda: j.pod_done(pods[0]), j.complete).join()
    w.result()
    assert w.code == 0, w.err
    assert w.out == 'job "migrate" completed\n'
    assert 'Waiting for job "migrate" to complete: 0 of 1 completions succeeded, 1 active...' in w.err
    one_list_one_watch(api, ["/apis/batch/v1/namespaces/shop/jobs", "/api/v1/namespaces/shop/pods",
                             "/api/v1/namespaces/shop/events"])


def test_a_job_to_failure(api, kc):
    j = JobRun(api).create(backoff_limit=0)
    w = Waiting(api, kc, "job/migrate").watching(3)
    pods = []
    play(lambda: pods.append(j.add_pod()), lambda: j.pod_done(pods[0], exit_code=2), j.fail).join()
    w.result()
    assert w.code == 3, w.err
    assert w.err.splitlines()[-1] == 'error: job "migrate" failed: Job has reached the specified backoff limit'
    assert pods[0] in w.out and "exit code 2" in w.out
    assert "✗ workload.job-backoff-limit  job/migrate failed: its pods failed 1 time (backoffLimit 0)" in w.out


def test_a_pod_to_ready(api, kc):
    r = Rollout(api, replicas=1).create()
    r.observe()
    name = r.add_pod()
    w = Waiting(api, kc, name).watching(2)
    play(lambda: r.schedule(name), lambda: r.ready(name)).join()
    w.result()
    assert w.code == 0 and w.out == f'pod "{name}" is ready\n'
    one_list_one_watch(api, ["/api/v1/namespaces/shop/pods", "/api/v1/namespaces/shop/events"])
    pod_list = next(q for q in api.requests if q.path.endswith("/pods"))
    assert pod_list.q("fieldSelector") == f"metadata.name={name}"


@pytest.mark.parametrize("args, code, words", [
    (("rs/web",), 2, "wait follows deploy/NAME, sts/NAME, ds/NAME, job/NAME or a pod"),
    (("deploy/web", "--timeout", "soon"), 2, "invalid --timeout 'soon'"),
    (("deploy/nope",), 1, 'deployment "nope" not found in namespace "shop"'),
    (("nope",), 1, 'pod "nope" not found in namespace "shop"'),
])
def test_usage_and_not_found(api, kc, args, code, words):
    Rollout(api).create()
    w = Waiting(api, kc, *args).result()
    assert (w.code, w.out) == (code, "")
    assert words in w.err and w.err.count("\n") == 1


def statefulset(api, strategy):
    api.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": {"name": "db", "namespace": "shop", "generation": 2},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
                      "updateStrategy": strategy,
                      "template": {"metadata": {"labels": {"app": "db"}},
                                   "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}},
             "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2}})


def test_a_statefulset_follows_kubectls_rules(api, kc):
    statefulset(api, {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})

    def status(**st):
        s = api.get("StatefulSet", "shop", "db")
        s["status"] = {"observedGeneration": 2, "replicas": 2, "updateRevision": "db-2", "currentRevision": "db-1",
                       **st}
        api.add(s)
    w = Waiting(api, kc, "sts/db").watching(3)
    play(lambda: status(readyReplicas=1, updatedReplicas=1), lambda: status(readyReplicas=2, updatedReplicas=2)).join()
    w.result()
    assert w.code == 0, w.err
    assert "Waiting for statefulset spec update to be observed..." in w.err
    assert "Waiting for 1 pods to be ready..." in w.err
    assert w.out == "partitioned roll out complete: 2 new pods have been updated...\n"


def test_on_delete_has_no_rollout_to_wait_for(api, kc):
    statefulset(api, {"type": "OnDelete"})
    w = Waiting(api, kc, "sts/db").result()
    assert w.code == 1
    assert w.err == ('error: statefulset "db" uses the OnDelete update strategy: its pods change only when they are '
                     "deleted, so there is no rollout to wait for (kubectl rollout status refuses it too: \"rollout "
                     "status is only available for RollingUpdate strategy type\")\n")
