"""qa live2: a realistic cluster (tests/cluster/live_world.py: managedFields, controller ownerReferences,
events.k8s.io events in their core view, mirror pods, pods of custom resources, a NotReady node, an evicted
leftover of a healthy Deployment, a Job that completed after a failed attempt) served by the loopback API
server and explained through the real kubectl, in the forms users type. Each test failed before its fix
(its docstring says how).
"""

from __future__ import annotations

import pytest
from clitools import cli_env, have_kubectl, run_podfix
from live_world import CP, DOWN, EXPECT_PODS, NOW, kubectl_podfix, loud, world

pytestmark = pytest.mark.skipif(not have_kubectl(), reason="needs kubectl on PATH")


@pytest.fixture
def cluster(api, kubeconfig):
    api.add(*world())
    api.logs[("prod", "api-6b7c8d9f5-p9s4m", "app", True)] = "panic: DATABASE_URL not set\n"
    return kubectl_podfix(api, kubeconfig)


def api_requests(api) -> list[str]:
    return [f"{r.method} {r.path}" for r in api.requests if r.path.startswith(("/api/", "/apis/"))]


def test_cluster_scan_reports_the_broken_and_spares_the_healthy(cluster):
    """`explain -A --exit-code`: every broken pod first-diagnosed, every healthy one silent, fixed LISTs."""
    run = cluster("explain", "-A", "-o", "json", "--exit-code")
    assert run.code == 3, run.err  # real errors: a crash loop, an image, an OOM, a lost node
    pods = {(p["namespace"], p["name"]): p for p in run.json["pods"]}
    problems = []
    for key, want in EXPECT_PODS.items():
        got = pods.get(key)
        findings = got["findings"] if got else []
        if want == "ok" and loud(findings):
            problems.append(f"{key}: healthy, got {loud(findings)}")
        elif want == "noerror" and any(s == "error" for _, s in loud(findings)):
            problems.append(f"{key}: history or going away, got {loud(findings)}")
        elif want.startswith("error:") and (not findings or (findings[0]["code"], findings[0]["severity"])
                                             != (want[6:], "error")):
            problems.append(f"{key}: expected {want[6:]}, got {loud(findings)}")
    assert not problems, "\n".join(problems)
    left = pods[("prod", "web-5c6f8d7b9-qq7zl")]["findings"][0]
    assert (left["code"], left["severity"]) == ("pod.evicted", "warning")
    assert any("wants no pods now" in e for e in left["evidence"])
    attempt = pods[("batch", "migrate-2026-11-20-8xk2p")]["findings"][0]
    assert attempt["severity"] == "warning" and any("job/migrate-2026-11-20 completed" in e
                                                   for e in attempt["evidence"])
    lost = pods[("monitoring", next(n for ns, n in pods if ns == "monitoring"))]
    assert lost["findings"][0]["code"] == "pod.node-lost" and DOWN in lost["findings"][0]["title"]
    assert pods[("argo", "cart-5d6f7b8c9-zz9yx")]["owner"] == {"kind": "Rollout", "name": "cart"}
    run_before = pods[("batch", "cleanup-2948103-fail0x")]["findings"][0]
    assert run_before["severity"] == "warning" and any("cronjob/cleanup has succeeded since" in e
                                                      for e in run_before["evidence"])
    workloads = {(w["kind"], w["namespace"], w["name"]): w for w in run.json["workloads"]}
    assert ("Deployment", "prod", "web") not in workloads  # 3/3 ready: its leftover is the pod's own block
    assert ("Deployment", "queue", "consumer") not in workloads  # 2/2 ready, a pod stuck Terminating elsewhere
    assert workloads[("Deployment", "prod", "api")]["findings"][0]["code"] == "workload.rollout-stuck"
    assert not any(k[1] in ("batch", "kube-system", "virt", "shop") for k in workloads), list(workloads)
    # one LIST per kind, nothing per pod (the crash's previous log is the one read a rule quotes)
    reqs = api_requests(cluster.api)
    per_pod = [r for r in reqs if "/pods/" in r and not r.endswith("/log")]
    assert not per_pod, per_pod
    assert len(reqs) == len(set(reqs)) and len(reqs) <= 13, reqs


def test_scan_text_gives_a_rollouts_replicaset_no_row_beside_its_pods(cluster):
    """Was: rs/cart-5d6f7b8c9 (SINCE "?") and its replicaset block beside the pod's rollout/cart row."""
    run = cluster("explain", "-n", "argo", "-o", "wide")
    assert run.code == 0, run.err
    table = run.out.split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in table] == ["WORKLOAD", "rollout/cart"], table
    assert " ? " not in run.out
    assert "replicaset argo/cart-5d6f7b8c9" not in run.out


def test_healthy_deployment_with_an_evicted_leftover_passes_exit_code(cluster):
    """Was: deployment prod/web (3/3 ready) workload.pods-failing error for its older ReplicaSet's evicted pod,
    and a Job that completed after a failed attempt exited 3."""
    run = cluster("explain", "deploy/web", "-n", "prod", "-o", "json", "--exit-code")
    assert run.code == 0, (run.out, run.err)
    (wl,) = run.json["workloads"]
    assert wl["summary"] == "3/3 ready" and not loud(wl["findings"]), wl["findings"]
    (leftover,) = run.json["pods"]
    assert loud(leftover["findings"]) == [("pod.evicted", "warning")]
    run = cluster("explain", "job/migrate-2026-11-20", "-n", "batch", "--exit-code")
    assert run.code == 0, (run.out, run.err)
    assert "job batch/migrate-2026-11-20 (1/1 succeeded, 1 failed)" in run.out


def test_a_pod_on_a_node_that_stopped_reporting(cluster):
    """The node controller's mark (Ready=False, ContainersReady=True): was pod.unexplained, the Node unread,
    unless another pod of the scan made it list Nodes."""
    name = next(p["metadata"]["name"] for p in world() if p["kind"] == "Pod"
                and p["spec"].get("nodeName") == DOWN)
    run = cluster("explain", name, "-n", "monitoring", "-o", "json", "--exit-code")
    assert run.code == 3, run.err
    (pod,) = run.json["pods"]
    assert pod["findings"][0]["code"] == "pod.node-lost", loud(pod["findings"])
    assert api_requests(cluster.api) == [f"GET /api/v1/namespaces/monitoring/pods/{name}",
                                         "GET /api/v1/namespaces/monitoring/events",
                                         f"GET /api/v1/nodes/{DOWN}"]
    for args in (["-A", "--field-selector", f"spec.nodeName={DOWN}"], ["ds/node-exporter", "-n", "monitoring"]):
        run = cluster("explain", *args, "-o", "json")
        assert run.code == 0, run.err
        pods = run.json["pods"]
        assert {p["name"] for p in pods if p["namespace"] == "monitoring"} == {name}, pods
        assert all(p["findings"][0]["code"] == "pod.node-lost" for p in pods), [loud(p["findings"]) for p in pods]


def test_selectors_report_only_the_selected_pods_workloads(cluster):
    """Was: `-A -l app=web` also reported argo's failing ReplicaSet (listed to name the web pod's owner)."""
    run = cluster("explain", "-A", "-l", "app=web", "-o", "json")
    assert run.code == 0, run.err
    assert [(p["namespace"], p["name"]) for p in run.json["pods"]] == [("prod", "web-5c6f8d7b9-qq7zl")]
    assert run.json["workloads"] == [], [(w["kind"], w["name"]) for w in run.json["workloads"]]
    run = cluster("explain", "-A", "--field-selector", "status.phase!=Running", "-o", "json")
    assert run.code == 0, run.err
    names = {p["name"] for p in run.json["pods"]}
    assert {"web-5c6f8d7b9-qq7zl", "migrate-2026-11-20-8xk2p", "pi-exec-3", "cart-5d6f7b8c9-zz9yx"} <= names
    assert not {w["name"] for w in run.json["workloads"]} - {"cart-5d6f7b8c9"}
    run = cluster("explain", "-n", "kube-system", "--field-selector", f"spec.nodeName={CP}")
    assert run.code == 0 and run.out.strip() == "No pods with problems found.", run.out


def test_an_events_k8s_io_series_is_counted(cluster):
    """An event written through events.k8s.io, core view (no count, series.count 88): was "(49s ago)"."""
    run = cluster("explain", "api-6b7c8d9f5-p9s4m", "-n", "prod")
    assert run.code == 0, run.err
    assert "event Warning BackOff (x88 over 23m)" in run.out, run.out


def test_forbidden_events_and_replicasets_still_spare_the_healthy_deployment(cluster):
    """RBAC without `list events` and `list replicasets`: a note each, and the 3/3 Deployment's evicted leftover
    (its ReplicaSet unread) is still history, from the Deployment's own status. Was: pods-failing, exit 3."""
    cluster.api.deny("list", "events")
    cluster.api.deny("list", "replicasets.apps")
    run = cluster("explain", "deploy/web", "-n", "prod", "--exit-code")
    assert run.code == 0, (run.out, run.err)
    assert "deployment prod/web (3/3 ready)\n  ok: no problems found" in run.out
    assert "deployment/web has all its 3 pods updated and ready without this one" in run.out
    assert "note: events could not be listed (forbidden)" in run.out
    assert "note: replicasets could not be listed" in run.out
    run = cluster("explain", "-A", "-o", "json", "--exit-code")
    assert run.code == 3, run.err
    pods = {p["name"]: p for p in run.json["pods"]}
    assert loud(pods["web-5c6f8d7b9-qq7zl"]["findings"]) == [("pod.evicted", "warning")]
    assert pods["api-6b7c8d9f5-p9s4m"]["findings"][0]["code"] == "container.crash-loop"
    assert pods["cart-5d6f7b8c9-zz9yx"]["owner"] == {"kind": "ReplicaSet", "name": "cart-5d6f7b8c9"}


def test_fix_memory_of_a_spark_executor_names_the_executor_not_its_driver(cluster):
    """A Spark executor's controller is its driver pod. Was: the fixer took the driver pod for the workload and
    refused because 'container spark-kubernetes-driver of pod/pi-driver was not OOM-killed'."""
    run = cluster("fix", "memory", "pi-exec-3", "-n", "spark", "--dry-run=server")
    assert run.code == 4, (run.out, run.err)
    assert "container spark-kubernetes-executor of pod/pi-exec-3" in run.out
    assert "created by another pod, Pod/pi-driver" in run.out and "spark-kubernetes-driver" not in run.out
    assert run.err.strip() == "error: nothing was changed: Pod/pi-driver made the pod (see the warning above)"
    assert not [r for r in cluster.api.requests if r.method != "GET"]


def _crashing_mirror(api) -> str:
    mirror = api.get("Pod", "kube-system", f"etcd-{CP}")
    st = mirror["status"]["containerStatuses"][0]
    st.update(ready=False, started=False, restartCount=14,
              lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-20T11:55:00Z",
                                        "finishedAt": "2026-11-20T11:55:01Z"}},
              state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}})
    for c in mirror["status"]["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c["status"] = "False"
    api.add(mirror)
    return mirror["metadata"]["name"]


@pytest.mark.parametrize("fix", [["restart"], ["restart", "--recreate-bare"], ["memory", "--memory", "1Gi"]])
def test_a_static_pods_mirror_is_never_deleted_or_recreated(cluster, fix):
    """A static pod's mirror (owner Node, kubernetes.io/config.mirror) was taken for a bare pod: 'kubectl delete
    pod, then kubectl create -f this manifest' (the API refuses a pod with that annotation; deleting the copy
    restarts nothing), and --recreate-bare planned exactly that."""
    name = _crashing_mirror(cluster.api)
    run = cluster("explain", "-n", "kube-system", "-o", "json", "--exit-code")
    assert run.code == 3 and [(p["name"], p["owner"]) for p in run.json["pods"]] == [(name, None)]
    run = cluster("fix", fix[0], name, "-n", "kube-system", *fix[1:], "--dry-run=server")
    assert run.code == 4, (run.out, run.err)
    assert f"pod {name} is the mirror of a static pod: the kubelet on node {CP} runs it from a manifest" in run.out
    assert "/etc/kubernetes/manifests/" in run.out and "kubectl create -f" not in run.out
    assert run.err.strip() == f"error: nothing was changed: pod {name} is a static pod's mirror (see the warning above)"
    assert not [r for r in cluster.api.requests if r.method != "GET"]


def test_a_pull_secret_for_a_static_pods_mirror_deletes_nothing(cluster):
    """Was: 'delete pod etcd-cp-1 (failing to pull) so its node cp-1 creates a new one' (deleting the API's copy
    restarts nothing, and a static pod cannot use a Secret)."""
    mirror = cluster.api.get("Pod", "kube-system", f"etcd-{CP}")
    mirror["status"]["containerStatuses"][0].update(ready=False, started=False, state={"waiting": {
        "reason": "ImagePullBackOff", "message": 'Back-off pulling image "registry.k8s.io/etcd:3.5.15-0": '
                                                 'ErrImagePull: failed to authorize: 401 Unauthorized'}})
    cluster.api.add(mirror)
    cluster.api.clear_requests()
    run = run_podfix(["secret", "regcred", "--for", f"etcd-{CP}", "-n", "kube-system", "--docker-server",
                      "registry.k8s.io", "--docker-username", "u", "--password-stdin", "--restart",
                      "--dry-run=server"], kubeconfig=cluster.kubeconfig, stdin="pw\n", via_kubectl=True,
                     env=cli_env(cluster.kubeconfig, PODFIX_NOW=NOW))
    assert run.code == 0, run.err
    assert f"pod etcd-{CP} is the mirror of a static pod" in run.out and "a static pod cannot use a Secret" in run.out
    assert "delete pod" not in run.out


def test_explain_cronjob_reads_nothing_of_other_pods(cluster):
    """A CronJob has no selector, so explain cronjob/NAME lists its namespace's pods. Was: the previous log of
    another Job's failed pod (job/migrate-...) was read too, one request per such pod."""
    run = cluster("explain", "cronjob/cleanup", "-n", "batch", "-o", "json", "--exit-code")
    assert run.code == 0, run.err
    assert {p["name"] for p in run.json["pods"]} == {"cleanup-2948103-fail0x", "cleanup-2948103-fail1x"}
    assert [(w["name"], w["findings"]) for w in run.json["workloads"]] == [("cleanup", [])]
    reqs = api_requests(cluster.api)
    assert not [r for r in reqs if "migrate" in r], reqs
    assert len(reqs) <= 6, reqs


def test_the_scan_table_puts_what_fails_now_above_history(cluster):
    """Was: cronjob/cleanup's failed 10:30 run (2 pods, warnings: a later run succeeded) headed the -A table,
    above the pods that fail now (the table was biggest group first, whatever the severity)."""
    run = cluster("explain", "-A")
    assert run.code == 0, run.err
    rows = [line.split()[1] for line in run.out.split("\n\n", 1)[0].splitlines()[1:]]
    # history: deploy/consumer's pod Terminating on the lost node was replaced (qa live3: it was an error)
    assert set(rows[-4:]) == {"cronjob/cleanup", "job/migrate-2026-11-20", "deploy/web", "deploy/consumer"}, rows
    assert {"rollout/cart", "deploy/api", "ds/node-exporter", "pod/big-batch"} <= set(rows[:-4]), rows


@pytest.mark.parametrize("ns, name, reads", [
    ("prod", "web-5c6f8d7b9-qq7zl", ["replicasets/web-5c6f8d7b9"]),
    ("batch", "migrate-2026-11-20-8xk2p", ["jobs/migrate-2026-11-20"]),
    ("batch", "cleanup-2948103-fail0x", ["jobs/cleanup-2948103", "cronjobs/cleanup"]),
])
def test_explain_pod_tells_history_as_the_scan_does(cluster, ns, name, reads):
    """explain POD gave these leftovers an error (exit 3) where the scan, which lists ReplicaSets and Jobs, said
    warning: a failed pod's ReplicaSet (and a failed run's CronJob) now costs one GET each."""
    run = cluster("explain", name, "-n", ns, "-o", "json", "--exit-code")
    assert run.code == 0, (run.out, run.err)
    (pod,) = run.json["pods"]
    assert pod["findings"][0]["severity"] == "warning", loud(pod["findings"])
    gets = [r.split("/", 6)[-1] for r in api_requests(cluster.api) if "/pods" not in r and "/events" not in r]
    assert gets == reads, api_requests(cluster.api)


def test_forbidden_nodes_get_a_note(cluster):
    """RBAC without nodes (common for namespace-scoped users): the pod on the lost node can only be
    pod.unexplained, and nothing said why. Was: no note at all."""
    cluster.api.deny("list", "nodes")
    cluster.api.deny("get", "nodes")
    note = "note: nodes could not be read (forbidden): a pod's node (lost, not Ready, its architecture) is not checked"
    for args in (["-A"], ["node-exporter-di9k3", "-n", "monitoring"]):
        run = cluster("explain", *args)
        assert run.code == 0, run.err
        assert note in run.out.splitlines(), run.out[-400:]


@pytest.mark.parametrize("args", [
    ["-A", "--field-selector", "metadata.name=cleanup-2948103-fail0x"],
    ["-n", "batch", "-l", "batch.kubernetes.io/job-name=cleanup-2948103"],
    ["job/cleanup-2948103", "-n", "batch"],
    ["jobs.batch/cleanup-2948103", "-n", "batch"],
])
def test_a_cronjobs_replaced_run_is_history_in_every_form(cluster, args):
    """-A said warning (a later run succeeded: the CronJob's lastSuccessfulTime) but -A --field-selector, -l and
    explain job/X said error and exited 3: the CronJob was not listed there. Now one GET of the CronJob."""
    run = cluster("explain", *args, "-o", "json", "--exit-code")
    pods = {p["name"]: p for p in run.json["pods"]}
    first = pods["cleanup-2948103-fail0x"]["findings"][0]
    assert first["severity"] == "warning", loud(pods["cleanup-2948103-fail0x"]["findings"])
    assert any("cronjob/cleanup has succeeded since" in e for e in first["evidence"])
    reqs = api_requests(cluster.api)
    assert reqs.count("GET /apis/batch/v1/namespaces/batch/cronjobs/cleanup") == 1, reqs
    assert run.code == 0, (run.out, [(w["name"], loud(w["findings"])) for w in run.json["workloads"]])


def test_a_replaced_pod_stuck_terminating_on_a_lost_node_is_cleanup_not_an_error(cluster):
    """A Deployment's pod left Terminating on a lost node, its ReplicaSet 2/2 ready without it: was pod.node-lost
    error and exit 3 on a healthy Deployment. Now a warning saying the replacement runs and how to clean up."""
    for args in (["consumer-5b8c7d9f6-l0st1", "-n", "queue"], ["deploy/consumer", "-n", "queue"],
                 ["-A", "--field-selector", f"spec.nodeName={DOWN},metadata.namespace=queue"], ["-n", "queue"]):
        run = cluster("explain", *args, "-o", "json", "--exit-code")
        pods = {p["name"]: p for p in run.json["pods"]}
        first = pods["consumer-5b8c7d9f6-l0st1"]["findings"][0]
        assert (first["code"], first["severity"]) == ("pod.node-lost", "warning"), (args, first)
        assert any("replicaset/consumer-5b8c7d9f6 has its 2 ready pods without this one: the pod being deleted was "
                   "replaced" in e for e in first["evidence"]), first["evidence"]
        assert any("--force --grace-period=0" in s for s in first["suggestions"])
        assert run.code == (3 if args == ["-n", "queue"] else 0), (args, run.err)  # -n queue: big-batch


def test_a_statefulset_pod_stuck_terminating_on_a_lost_node_stays_an_error(cluster):
    """The same pod of a StatefulSet blocks its own replacement (same name): an error, whatever else is ready."""
    api = cluster.api
    stuck = api.get("Pod", "queue", "consumer-5b8c7d9f6-l0st1")
    api.remove("Pod", "queue", "consumer-5b8c7d9f6-l0st1")
    stuck["metadata"].update(name="kafka-1", labels={"app": "kafka", "statefulset.kubernetes.io/pod-name": "kafka-1"},
                             ownerReferences=[{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "kafka",
                                               "uid": "sts-kafka", "controller": True, "blockOwnerDeletion": True}])
    stuck["metadata"].pop("uid", None)
    stuck["metadata"].pop("resourceVersion", None)
    api.add(stuck, {"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": {"name": "kafka", "namespace": "queue", "uid": "sts-kafka", "generation": 1,
                                 "creationTimestamp": "2026-10-01T10:00:00Z"},
                    "spec": {"replicas": 3, "serviceName": "kafka", "selector": {"matchLabels": {"app": "kafka"}},
                             "template": {"metadata": {"labels": {"app": "kafka"}},
                                          "spec": {"containers": [{"name": "app", "image": "kafka:3"}]}}},
                    "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 2, "currentReplicas": 3,
                               "updatedReplicas": 3, "availableReplicas": 2}})
    for args in (["kafka-1", "-n", "queue"], ["sts/kafka", "-n", "queue"]):
        run = cluster("explain", *args, "-o", "json", "--exit-code")
        assert run.code == 3, (args, run.err)
        (pod,) = run.json["pods"]
        assert (pod["findings"][0]["code"], pod["findings"][0]["severity"]) == ("pod.node-lost", "error")
    (wl,) = run.json["workloads"]
    expl = wl["findings"][0]["explanation"]
    # was: "The pod's own diagnosis is the cause; fix it and the controller replaces the pods."
    assert "controller replaces the pods" not in expl and "replacement, of the same name, only once the old pod " \
        "is gone" in expl and "Force-delete it once the machine is confirmed down" in expl, expl


def test_fix_restart_of_a_spark_executor_says_its_driver_made_it(cluster):
    """Was: "pod pi-exec-3's controller Pod/pi-driver could not be read (not found, forbidden, or a custom
    resource)" and "error: nothing was changed: Pod/pi-driver could not be read": the driver was read fine."""
    run = cluster("fix", "restart", "pi-exec-3", "-n", "spark", "--dry-run=server")
    assert run.code == 4, (run.out, run.err)
    assert "could not be read" not in run.out + run.err, run.out
    assert "pod pi-exec-3 was created by another pod, Pod/pi-driver" in run.out
    assert "kubectl delete pod pi-exec-3 -n spark" in run.out
    assert run.err.strip() == "error: nothing was changed: Pod/pi-driver made the pod (see the warning above)"
    assert not [r for r in cluster.api.requests if r.method != "GET"]


def test_a_pod_inside_its_grace_period_costs_no_replicaset_read(cluster):
    """A pod going away inside its grace period has no error to soften: explain POD reads no ReplicaSet for it
    (the one GET is for a pod still there past its deletion deadline, as consumer-...-l0st1)."""
    run = cluster("explain", "worker-66d9b8c7f4-old01", "-n", "prod", "-o", "json")
    assert run.code == 0, run.err
    assert not [r for r in api_requests(cluster.api) if "replicasets" in r], api_requests(cluster.api)
    run = cluster("explain", "consumer-5b8c7d9f6-l0st1", "-n", "queue", "-o", "json")
    assert "GET /apis/apps/v1/namespaces/queue/replicasets/consumer-5b8c7d9f6" in api_requests(cluster.api)
