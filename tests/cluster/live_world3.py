"""qa live3: more shapes a grader builds on a realistic cluster, added to tests/cluster/live_world.py's world:
a rollout (maxSurge) whose new ReplicaSet crash-loops while the old one serves, an HPA-scaled Deployment mid
scale-up, a StatefulSet (OrderedReady) held at ordinal 1 by a claim no node can take, a DaemonSet pod no node
fits, Jobs past activeDeadlineSeconds / failed by podFailurePolicy / suspended, a CronJob whose last run failed
with no success since, readiness gates, kubectl debug containers, a quota refusing a ReplicaSet, an init container
waiting for a Service for 30 minutes, a pod not Ready for an hour with its events expired, a pod whose only events
were written through events.k8s.io.

EXPECT: (namespace, name) -> "ok" | "noerror" | "warn" (a warning, no error) | "error:<first code>".
"""

from __future__ import annotations

import copy

from live_world import (NODES, cond, container, deployment, healthy_deploy_status, meta, new_event, old_event, pod,
                        ready_conditions, replicaset, running_status, template, terminated_status, uid)


def _rs_pod(ns, rs, hash_, suffix, *, created, node, app, statuses, conditions, image, phase="Running", **kw):
    return pod(ns, f"{rs}-{suffix}", created=created, node=node, owner=("apps/v1", "ReplicaSet", rs, ns),
               labels={"app": app, "pod-template-hash": hash_}, containers=[container("app", image)],
               statuses=statuses, conditions=conditions, phase=phase, **kw)


def not_ready_conditions(at: str, scheduled: str, init_done: bool = True) -> list[dict]:
    return [cond("PodReadyToStartContainers", "True", scheduled),
            cond("Initialized", "True" if init_done else "False", scheduled,
                 None if init_done else "ContainersNotInitialized",
                 None if init_done else "containers with incomplete status: [wait-for-db]"),
            cond("Ready", "False", at, "ContainersNotReady", "containers with unready status: [app]"),
            cond("ContainersReady", "False", at, "ContainersNotReady", "containers with unready status: [app]"),
            cond("PodScheduled", "True", scheduled)]


def world3() -> list[dict]:
    objs: list[dict] = []
    add = objs.append

    # -- rollout: deploy/checkout 3 replicas, maxSurge 1: the new ReplicaSet's surge pod crash-loops, old serves 3
    ns = "rollout"
    d = deployment(ns, "checkout", 3, "ghcr.io/acme/checkout:2.1", {
        "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1,
        "conditions": [cond("Available", "True", "2026-11-19T10:02:00Z", "MinimumReplicasAvailable",
                            "Deployment has minimum availability.", probe=False),
                       cond("Progressing", "True", "2026-11-20T11:55:00Z", "ReplicaSetUpdated",
                            'ReplicaSet "checkout-8f7e6d5c4" is progressing.', probe=False)]}, gen=3, rev="3")
    d["spec"]["strategy"]["rollingUpdate"] = {"maxUnavailable": 0, "maxSurge": 1}
    add(d)
    add(replicaset(ns, "checkout-7b6c5d4e3", "Deployment", "checkout", 3, "ghcr.io/acme/checkout:2.0", "7b6c5d4e3",
                   {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "fullyLabeledReplicas": 3}, rev="2"))
    add(replicaset(ns, "checkout-8f7e6d5c4", "Deployment", "checkout", 1, "ghcr.io/acme/checkout:2.1", "8f7e6d5c4",
                   {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0, "fullyLabeledReplicas": 1}, rev="3"))
    for i, n in enumerate(NODES):
        add(_rs_pod(ns, "checkout-7b6c5d4e3", "7b6c5d4e3", f"old0{i}", created="2026-11-19T10:00:00Z", node=n,
                    app="checkout", image="ghcr.io/acme/checkout:2.0",
                    statuses=[running_status("app", "ghcr.io/acme/checkout:2.0", "2026-11-19T10:00:10Z")],
                    conditions=ready_conditions("2026-11-19T10:00:11Z")))
    crash = _rs_pod(ns, "checkout-8f7e6d5c4", "8f7e6d5c4", "new01", created="2026-11-20T11:50:00Z", node=NODES[0],
                    app="checkout", image="ghcr.io/acme/checkout:2.1", statuses=[{
                        **running_status("app", "ghcr.io/acme/checkout:2.1", "2026-11-20T11:58:00Z", ready=False,
                                         restarts=6),
                        "started": False,
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message":
                                              "back-off 2m40s restarting failed container=app pod=checkout-8f7e6d5c4-"
                                              "new01_rollout(x)"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                     "startedAt": "2026-11-20T11:57:00Z",
                                                     "finishedAt": "2026-11-20T11:57:02Z"}}}],
                    conditions=not_ready_conditions("2026-11-20T11:50:05Z", "2026-11-20T11:50:00Z"))
    add(crash)
    add(new_event(crash, "BackOff", "Back-off restarting failed container app in pod checkout-8f7e6d5c4-new01_"
                  "rollout(x)", series=(30, "2026-11-20T11:59:30.000000Z"), time="2026-11-20T11:50:30.000000Z",
                  field_path="spec.containers{app}"))

    # -- hpa: deploy/frontend scaled 3 -> 5 by its HPA 20 s ago: two new pods still starting (not an error)
    ns = "hpa"
    fe = deployment(ns, "frontend", 5, "ghcr.io/acme/frontend:4", {
        "replicas": 5, "updatedReplicas": 5, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 2,
        "conditions": [cond("Available", "True", "2026-11-19T10:02:00Z", "MinimumReplicasAvailable",
                            "Deployment has minimum availability.", probe=False),
                       cond("Progressing", "True", "2026-11-19T10:02:00Z", "NewReplicaSetAvailable",
                            'ReplicaSet "frontend-6d5c4b3a2" has successfully progressed.', probe=False)]})
    add(fe)
    add(new_event(fe, "ScalingReplicaSet", "Scaled up replica set frontend-6d5c4b3a2 from 3 to 5", type_="Normal",
                  controller="deployment-controller", time="2026-11-20T11:59:40.000000Z"))
    add(replicaset(ns, "frontend-6d5c4b3a2", "Deployment", "frontend", 5, "ghcr.io/acme/frontend:4", "6d5c4b3a2",
                   {"replicas": 5, "readyReplicas": 3, "availableReplicas": 3, "fullyLabeledReplicas": 5}))
    # (its HorizontalPodAutoscaler set spec.replicas 5: the loopback server does not serve autoscaling/v2)
    for i in range(5):
        fresh = i >= 3
        add(_rs_pod(ns, "frontend-6d5c4b3a2", "6d5c4b3a2", f"p{i}xyz",
                    created="2026-11-20T11:59:40Z" if fresh else "2026-11-19T10:00:00Z", node=NODES[i % 3],
                    app="frontend", image="ghcr.io/acme/frontend:4",
                    statuses=[running_status("app", "ghcr.io/acme/frontend:4",
                                             "2026-11-20T11:59:45Z" if fresh else "2026-11-19T10:00:10Z",
                                             ready=not fresh)],
                    conditions=not_ready_conditions("2026-11-20T11:59:45Z", "2026-11-20T11:59:40Z") if fresh
                    else ready_conditions("2026-11-19T10:00:11Z")))

    # -- sts: statefulset/pg OrderedReady, 3 replicas: pg-0 Ready, pg-1 Pending (its claim waits for a consumer no
    # node can take: the zone's nodes are full), pg-2 never created
    ns = "sts"
    add({"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": meta("StatefulSet", ns, "pg", "2026-11-20T11:00:00Z", labels={"app": "pg"}, generation=1),
         "spec": {"replicas": 3, "serviceName": "pg", "podManagementPolicy": "OrderedReady",
                  "selector": {"matchLabels": {"app": "pg"}}, "template": template("pg", "postgres:16"),
                  "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                      "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3-wffc",
                      "resources": {"requests": {"storage": "100Gi"}}}}]},
         "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "currentReplicas": 2,
                    "updatedReplicas": 2, "availableReplicas": 1, "currentRevision": "pg-5d4c3b2a1",
                    "updateRevision": "pg-5d4c3b2a1", "collisionCount": 0}})
    add({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": meta("StorageClass", None, "gp3-wffc", "2026-10-01T10:00:00Z"),
         "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete",
         "allowedTopologies": [{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone",
                                                           "values": ["us-east-1c"]}]}]})
    for i in (0, 1):
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": meta("PersistentVolumeClaim", ns, f"data-pg-{i}", "2026-11-20T11:00:00Z",
                                labels={"app": "pg"}),
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3-wffc", "volumeMode": "Filesystem",
                        "resources": {"requests": {"storage": "100Gi"}}, **({"volumeName": "pvc-0"} if i == 0 else {})},
               "status": {"phase": "Bound" if i == 0 else "Pending"}}
        add(pvc)
        if i == 1:
            add(new_event(pvc, "WaitForFirstConsumer", "waiting for first consumer to be created before binding",
                          type_="Normal", controller="persistentvolume-controller",
                          time="2026-11-20T11:05:00.000000Z", series=(220, "2026-11-20T11:59:50.000000Z")))
    labels = {"app": "pg", "controller-revision-hash": "pg-5d4c3b2a1"}
    for i in (0, 1):
        p = pod(ns, f"pg-{i}", created=f"2026-11-20T11:0{i * 5}:00Z", node=NODES[0] if i == 0 else None,
                owner=("apps/v1", "StatefulSet", "pg", ns), phase="Running" if i == 0 else "Pending",
                labels={**labels, "statefulset.kubernetes.io/pod-name": f"pg-{i}", "apps.kubernetes.io/pod-index":
                        str(i)},
                containers=[container("app", "postgres:16")],
                statuses=[running_status("app", "postgres:16", "2026-11-20T11:00:20Z")] if i == 0 else None,
                conditions=ready_conditions("2026-11-20T11:00:21Z") if i == 0 else [
                    cond("PodScheduled", "False", "2026-11-20T11:05:00Z", "Unschedulable",
                         "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/"
                         "control-plane: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 "
                         "node(s) didn't find available persistent volumes to bind. preemption: 0/5 nodes are "
                         "available: 5 Preemption is not helpful for scheduling.")],
                ip=None if i else "10.244.1.9", extra_spec={"hostname": f"pg-{i}", "subdomain": "pg"})
        p["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": f"data-pg-{i}"}})
        add(p)
        if i == 1:
            add(new_event(p, "FailedScheduling", p["status"]["conditions"][0]["message"],
                          controller="default-scheduler", time="2026-11-20T11:05:00.000000Z",
                          series=(12, "2026-11-20T11:55:00.000000Z")))

    # -- ds: daemonset/log-agent on 3 workers: one pod Pending, its node is full (Insufficient memory)
    ns = "logging"
    add({"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": meta("DaemonSet", ns, "log-agent", "2026-11-20T11:00:00Z", labels={"app": "log-agent"},
                          generation=1),
         "spec": {"selector": {"matchLabels": {"app": "log-agent"}}, "template": template("log-agent", "fluent-bit:3"),
                  "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
         "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                    "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2, "numberUnavailable": 1,
                    "numberMisscheduled": 0}})
    for i, n in enumerate(NODES):
        aff = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]}]}}}}
        ok = i < 2
        p = pod(ns, f"log-agent-{'abcde'[i]}{i}x9z", created="2026-11-20T11:00:00Z", node=n if ok else None,
                owner=("apps/v1", "DaemonSet", "log-agent", ns), phase="Running" if ok else "Pending",
                labels={"app": "log-agent", "controller-revision-hash": "6c5b4a", "pod-template-generation": "1"},
                containers=[container("app", "fluent-bit:3",
                                      resources={"requests": {"cpu": "100m", "memory": "2Gi"}})],
                statuses=[running_status("app", "fluent-bit:3", "2026-11-20T11:00:10Z")] if ok else None,
                conditions=ready_conditions("2026-11-20T11:00:11Z") if ok else [
                    cond("PodScheduled", "False", "2026-11-20T11:00:00Z", "Unschedulable",
                         "0/5 nodes are available: 1 Insufficient memory, 4 node(s) didn't match Pod's node "
                         "affinity/selector. preemption: 0/5 nodes are available: 1 No preemption victims found for "
                         "incoming pod, 4 Preemption is not helpful for scheduling.")],
                extra_spec=aff, ip=None if not ok else "10.244.2.7")
        add(p)
        if not ok:
            add(new_event(p, "FailedScheduling", p["status"]["conditions"][0]["message"],
                          controller="default-scheduler", time="2026-11-20T11:00:01.000000Z",
                          series=(40, "2026-11-20T11:58:00.000000Z")))

    # -- jobs: past its activeDeadlineSeconds (pods deleted), failed by a podFailurePolicy FailJob rule, suspended
    ns = "jobs"

    def job(name, conds, status, spec=None, created="2026-11-20T11:00:00Z"):
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": meta("Job", ns, name, created, generation=1,
                                 labels={"batch.kubernetes.io/job-name": name}),
                "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, **(spec or {}),
                         "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid("Job", ns, name)}},
                         "template": {"metadata": {"labels": {"batch.kubernetes.io/job-name": name}},
                                      "spec": {"containers": [container("main", "ghcr.io/acme/etl:5")],
                                               "restartPolicy": "Never"}}},
                "status": {**status, "conditions": conds, "ready": 0, "terminating": 0,
                           "uncountedTerminatedPods": {}}}
    add(job("etl-slow", [cond("FailureTarget", "True", "2026-11-20T11:10:00Z", "DeadlineExceeded",
                              "Job was active longer than specified deadline"),
                         cond("Failed", "True", "2026-11-20T11:10:01Z", "DeadlineExceeded",
                              "Job was active longer than specified deadline")],
            {"startTime": "2026-11-20T11:00:00Z", "failed": 1}, {"activeDeadlineSeconds": 600}))
    msg = ("Container main for pod jobs/etl-strict-k2j4h failed with exit code 42 matching FailJob rule at index 0")
    pj = job("etl-strict", [cond("FailureTarget", "True", "2026-11-20T11:20:05Z", "PodFailurePolicy", msg),
                            cond("Failed", "True", "2026-11-20T11:20:06Z", "PodFailurePolicy", msg)],
             {"startTime": "2026-11-20T11:20:00Z", "failed": 1},
             {"podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
                 "containerName": "main", "operator": "In", "values": [42]}}]}})
    add(pj)
    add(pod(ns, "etl-strict-k2j4h", created="2026-11-20T11:20:00Z", node=NODES[1],
            owner=("batch/v1", "Job", "etl-strict", ns), restart_policy="Never", phase="Failed",
            labels={"batch.kubernetes.io/job-name": "etl-strict", "job-name": "etl-strict",
                    "batch.kubernetes.io/controller-uid": uid("Job", ns, "etl-strict")},
            containers=[container("main", "ghcr.io/acme/etl:5")],
            statuses=[terminated_status("main", "ghcr.io/acme/etl:5", "2026-11-20T11:20:02Z",
                                        "2026-11-20T11:20:04Z", code=42, reason="Error")],
            conditions=[cond("Ready", "False", "2026-11-20T11:20:05Z", "PodFailed"),
                        cond("PodScheduled", "True", "2026-11-20T11:20:00Z")]))
    add(job("etl-queued", [cond("Suspended", "True", "2026-11-20T11:30:00Z", "JobSuspended", "Job suspended")],
            {}, {"suspend": True}))

    # -- cron: cronjob/report whose last run (11:00) failed, no success since the 10:00 one (error)
    add({"apiVersion": "batch/v1", "kind": "CronJob",
         "metadata": meta("CronJob", ns, "report", "2026-10-01T10:00:00Z", generation=1),
         "spec": {"schedule": "0 * * * *", "concurrencyPolicy": "Forbid", "suspend": False,
                  "successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 1,
                  "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
                      "containers": [container("report", "ghcr.io/acme/report:1")], "restartPolicy": "Never"}}}}},
         "status": {"lastScheduleTime": "2026-11-20T11:00:00Z", "lastSuccessfulTime": "2026-11-20T10:00:40Z"}})
    rj = {"apiVersion": "batch/v1", "kind": "Job",
          "metadata": meta("Job", ns, "report-29391540", "2026-11-20T11:00:00Z",
                           owner=("batch/v1", "CronJob", "report", ns), generation=1,
                           labels={"batch.kubernetes.io/job-name": "report-29391540"}),
          "spec": {"backoffLimit": 0, "completions": 1, "parallelism": 1,
                   "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid":
                                                uid("Job", ns, "report-29391540")}},
                   "template": {"spec": {"containers": [container("report", "ghcr.io/acme/report:1")],
                                         "restartPolicy": "Never"}}},
          "status": {"startTime": "2026-11-20T11:00:00Z", "failed": 1, "ready": 0, "terminating": 0,
                     "uncountedTerminatedPods": {},
                     "conditions": [cond("FailureTarget", "True", "2026-11-20T11:00:30Z", "BackoffLimitExceeded",
                                         "Job has reached the specified backoff limit"),
                                    cond("Failed", "True", "2026-11-20T11:00:31Z", "BackoffLimitExceeded",
                                         "Job has reached the specified backoff limit")]}}
    add(rj)
    add(pod(ns, "report-29391540-z8x7c", created="2026-11-20T11:00:00Z", node=NODES[2],
            owner=("batch/v1", "Job", "report-29391540", ns), restart_policy="Never", phase="Failed",
            labels={"batch.kubernetes.io/job-name": "report-29391540", "job-name": "report-29391540",
                    "batch.kubernetes.io/controller-uid": uid("Job", ns, "report-29391540")},
            containers=[container("report", "ghcr.io/acme/report:1")],
            statuses=[terminated_status("report", "ghcr.io/acme/report:1", "2026-11-20T11:00:05Z",
                                        "2026-11-20T11:00:29Z", code=1, reason="Error")],
            conditions=[cond("Ready", "False", "2026-11-20T11:00:30Z", "PodFailed"),
                        cond("PodScheduled", "True", "2026-11-20T11:00:00Z")]))

    # -- gates: a pod whose readiness gate (an AWS load balancer target) never turned True (15 min), one whose did;
    # a pod with a finished kubectl debug container and one whose debug image cannot be pulled
    ns = "gates"
    gate = {"readinessGates": [{"conditionType": "target-health.elbv2.k8s.aws/k8s-gates-web-abc123"}]}
    for name, ok in (("web-gated-ok", True), ("web-gated-stuck", False)):
        conds = ready_conditions("2026-11-20T11:45:10Z")
        for c in conds:
            if c["type"] == "Ready" and not ok:
                c.update(status="False", reason="ReadinessGatesNotReady",
                         message="corresponding condition of pod readiness gate \"target-health.elbv2.k8s.aws/"
                                 "k8s-gates-web-abc123\" does not exist.")
        if ok:
            conds.append(cond("target-health.elbv2.k8s.aws/k8s-gates-web-abc123", "True", "2026-11-20T11:45:30Z"))
        add(pod(ns, name, created="2026-11-20T11:45:00Z", node=NODES[0], owner=None, labels={"app": "web"},
                statuses=[running_status("app", "nginx:1.27", "2026-11-20T11:45:09Z")], conditions=conds,
                extra_spec=gate))
    for name, debug_state in (("api-debugged", {"terminated": {"exitCode": 0, "reason": "Completed",
                                                               "startedAt": "2026-11-20T11:40:00Z",
                                                               "finishedAt": "2026-11-20T11:44:00Z"}}),
                              ("api-debug-pull", {"waiting": {"reason": "ImagePullBackOff", "message":
                                                              'Back-off pulling image "busybox:latestt"'}})):
        p = pod(ns, name, created="2026-11-20T10:00:00Z", node=NODES[1], owner=None, labels={"app": "api"},
                statuses=[running_status("app", "nginx:1.27", "2026-11-20T10:00:09Z")],
                conditions=ready_conditions("2026-11-20T10:00:10Z"))
        image = "busybox:1.36" if "terminated" in debug_state else "busybox:latestt"
        p["spec"]["ephemeralContainers"] = [{"name": "debugger-x7k2p", "image": image, "targetContainerName": "app",
                                             "stdin": True, "tty": True, "imagePullPolicy": "IfNotPresent",
                                             "terminationMessagePolicy": "File",
                                             "terminationMessagePath": "/dev/termination-log"}]
        p["status"]["ephemeralContainerStatuses"] = [{"name": "debugger-x7k2p", "image": image, "imageID": "",
                                                      "ready": False, "restartCount": 0, "lastState": {},
                                                      "state": debug_state}]
        add(p)

    # -- quota: deploy/batch-api whose ReplicaSet the namespace's quota refuses (limits.memory)
    ns = "quota"
    add({"apiVersion": "v1", "kind": "ResourceQuota",
         "metadata": meta("ResourceQuota", ns, "compute", "2026-10-01T10:00:00Z"),
         "spec": {"hard": {"limits.memory": "1Gi", "requests.cpu": "2"}},
         "status": {"hard": {"limits.memory": "1Gi", "requests.cpu": "2"},
                    "used": {"limits.memory": "1Gi", "requests.cpu": "400m"}}})
    add(deployment(ns, "batch-api", 2, "ghcr.io/acme/batch-api:3", {
        "replicas": 0, "updatedReplicas": 0, "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 2,
        "conditions": [cond("Available", "False", "2026-11-20T11:30:00Z", "MinimumReplicasUnavailable",
                            "Deployment does not have minimum availability.", probe=False),
                       cond("ReplicaFailure", "True", "2026-11-20T11:30:00Z", "FailedCreate",
                            'pods "batch-api-5f4e3d2c1-" is forbidden: exceeded quota: compute, requested: '
                            'limits.memory=512Mi, used: limits.memory=1Gi, limited: limits.memory=1Gi', probe=False),
                       cond("Progressing", "True", "2026-11-20T11:30:00Z", "NewReplicaSetCreated",
                            'Created new replica set "batch-api-5f4e3d2c1"', probe=False)]}, gen=1, rev="1"))
    rs = replicaset(ns, "batch-api-5f4e3d2c1", "Deployment", "batch-api", 2, "ghcr.io/acme/batch-api:3", "5f4e3d2c1",
                    {"replicas": 0, "conditions": [cond("ReplicaFailure", "True", "2026-11-20T11:30:00Z",
                                                        "FailedCreate", 'pods "batch-api-5f4e3d2c1-" is forbidden: '
                                                        "exceeded quota: compute, requested: limits.memory=512Mi, "
                                                        "used: limits.memory=1Gi, limited: limits.memory=1Gi",
                                                        probe=False)]}, rev="1")
    add(rs)
    add(old_event(rs, "FailedCreate", 'Error creating: pods "batch-api-5f4e3d2c1-8kq2w" is forbidden: exceeded quota: '
                  "compute, requested: limits.memory=512Mi, used: limits.memory=1Gi, limited: limits.memory=1Gi",
                  component="replicaset-controller", count=14, first="2026-11-20T11:30:00Z",
                  last="2026-11-20T11:58:00Z"))
    add(pod(ns, "other-app", created="2026-11-19T10:00:00Z", node=NODES[0], owner=None, labels={"app": "other"},
            containers=[container("app", "nginx:1.27", resources={"limits": {"memory": "1Gi"},
                                                                  "requests": {"cpu": "400m"}})],
            statuses=[running_status("app", "nginx:1.27", "2026-11-19T10:00:09Z")],
            conditions=ready_conditions("2026-11-19T10:00:10Z")))

    # -- slow: an init container waiting for a Service for 30 minutes (Init:0/1); a pod Running, not Ready for an
    # hour, its events expired; a pod whose only events came through events.k8s.io (a failing readiness probe)
    ns = "slow"
    add(deployment(ns, "orders", 1, "ghcr.io/acme/orders:9", {
        "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 1,
        "conditions": [cond("Available", "False", "2026-11-20T11:30:00Z", "MinimumReplicasUnavailable",
                            "Deployment does not have minimum availability.", probe=False),
                       cond("Progressing", "False", "2026-11-20T11:40:01Z", "ProgressDeadlineExceeded",
                            'ReplicaSet "orders-7c6b5a4d3" has timed out progressing.', probe=False)]}, gen=1,
                   rev="1"))
    add(replicaset(ns, "orders-7c6b5a4d3", "Deployment", "orders", 1, "ghcr.io/acme/orders:9", "7c6b5a4d3",
                   {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0, "fullyLabeledReplicas": 1}, rev="1"))
    init = [container("wait-for-db", "busybox:1.36", command=["sh", "-c", "until nslookup db; do sleep 2; done"])]
    add(_rs_pod(ns, "orders-7c6b5a4d3", "7c6b5a4d3", "w4it1", created="2026-11-20T11:30:00Z", node=NODES[2],
                app="orders", image="ghcr.io/acme/orders:9", phase="Pending", init=init,
                init_statuses=[{**running_status("wait-for-db", "busybox:1.36", "2026-11-20T11:30:03Z",
                                                 ready=False), "started": True}],
                statuses=[{"name": "app", "image": "ghcr.io/acme/orders:9", "imageID": "", "ready": False,
                           "started": False, "restartCount": 0, "lastState": {},
                           "state": {"waiting": {"reason": "PodInitializing"}}}],
                conditions=not_ready_conditions("2026-11-20T11:30:00Z", "2026-11-20T11:30:00Z", init_done=False)))
    probe = {"readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10,
                                "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}}
    for name, started in (("ledger-0", "2026-11-20T10:55:00Z"), ("ledger-new", "2026-11-20T11:40:00Z")):
        p = pod(ns, name, created=started, node=NODES[1], owner=None, labels={"app": "ledger"},
                containers=[container("app", "ghcr.io/acme/ledger:2", **probe)],
                statuses=[running_status("app", "ghcr.io/acme/ledger:2", started, ready=False)],
                conditions=not_ready_conditions(started, started))
        add(p)
        if name == "ledger-new":
            add(new_event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                          time="2026-11-20T11:40:30.000000Z", series=(118, "2026-11-20T11:59:50.000000Z"),
                          field_path="spec.containers{app}"))
    return [o for o in copy.deepcopy(objs) if o is not None]


EXPECT = {
    ("rollout", "checkout-7b6c5d4e3-old00"): "ok",
    ("rollout", "checkout-8f7e6d5c4-new01"): "error:container.crash-loop",
    ("hpa", "frontend-6d5c4b3a2-p0xyz"): "ok",
    ("hpa", "frontend-6d5c4b3a2-p3xyz"): "noerror",  # 20 s old
    ("sts", "pg-0"): "ok",
    ("sts", "pg-1"): "error:*",
    ("logging", "log-agent-a0x9z"): "ok",
    ("logging", "log-agent-c2x9z"): "error:pod.unschedulable",
    ("jobs", "etl-strict-k2j4h"): "error:*",
    ("jobs", "report-29391540-z8x7c"): "error:*",
    ("gates", "web-gated-ok"): "ok",
    ("gates", "web-gated-stuck"): "error:*",
    ("gates", "api-debugged"): "ok",
    ("gates", "api-debug-pull"): "noerror",
    ("quota", "other-app"): "ok",
    ("slow", "orders-7c6b5a4d3-w4it1"): "warn",
    ("slow", "ledger-0"): "error:container.readiness-probe-failed",  # was pod.unexplained
    ("slow", "ledger-new"): "error:*",
}
WORKLOADS = {
    ("Deployment", "rollout", "checkout"): "error:*",
    ("Deployment", "hpa", "frontend"): "noerror",
    ("StatefulSet", "sts", "pg"): "error:*",
    ("DaemonSet", "logging", "log-agent"): "error:*",
    ("Job", "jobs", "etl-slow"): "error:workload.job-deadline-exceeded",
    ("Job", "jobs", "etl-strict"): "error:workload.job-pod-failure-policy",
    ("Job", "jobs", "etl-queued"): "noerror",
    ("CronJob", "jobs", "report"): "error:workload.job-backoff-limit",
    ("Deployment", "quota", "batch-api"): "error:*",
    ("Deployment", "slow", "orders"): "error:*",
}
