"""Benchmark: podfix's cluster-scale triage against the loopback API server.

Run from a clean clone with ``make bench`` (or ``.venv/bin/python tests/bench.py``;
``--quick`` for a small smoke run). It

* starts ``FakeAPIServer`` (tests/apiserver/) in this process, on 127.0.0.1 only,
  seeded with a synthetic but realistic cluster (Deployments with ReplicaSets,
  including half-done rollouts; StatefulSets; DaemonSets; Jobs, some from CronJobs;
  10% failing pods across N workloads: ImagePullBackOff with containerd's messages,
  CrashLoopBackOff with lastState and previous logs, Pending unschedulable,
  failed Job pods; events mostly Warning, with counts, plus some Normal);
* runs the installed ``kubectl-podfix`` console script as a child process for every
  case: wall time with ``time.perf_counter`` (median of several runs), the child's
  peak RSS from ``os.wait4``'s rusage, API requests from the server's request log;
* runs ``kubectl describe pod`` on the same server for the single-pod comparison,
  and a naive per-pod strategy (this file's ``--naive-worker`` mode: the same
  ``Cluster`` class, one events LIST and one owner GET per failing pod);
* checks the triage table against the generator's ground truth (pods per workload);
* plays a scripted rollout on a fresh server (5 pods appear, 4 become Ready, one fails to pull) for
  ``kubectl podfix wait`` and for ``kubectl rollout status`` (which waits for the Deployment's
  progressDeadlineSeconds, ``--deadline``): time to exit, time from the failing status change to the
  printed diagnosis, requests;
* prints markdown tables (paste them into docs/benchmarks.md).

Why the server runs in this process: while a child runs, this process only waits in
``wait4``, so the server thread has this process (one core) to itself and the child
the other core: the same split as a separate server process, without shipping the
request log across processes. The server's own handling time is measured and shown
(``server s``) because this Python stand-in is much slower than a real API server
(it re-sorts the whole store on every page); the client's share is wall minus that.

Everything is bounded: every child has a timeout (killed after it), the server
listens on 127.0.0.1 only and stops at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

PAGE = 500
CHILD_TIMEOUT = 300.0
NAMESPACES = ("shop", "payments", "search", "data", "platform")
REGISTRY = "registry.example.com"
NODES = 12


# ----------------------------------------------------------------------------- synthetic cluster

def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Workload:
    namespace: str
    kind: str  # Deployment, StatefulSet, DaemonSet, Job, CronJob
    name: str
    replicas: int
    failing: int = 0
    mode: str = ""  # image-notfound, image-denied, crash, pending, job-error

    @property
    def short(self) -> str:
        return {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "Job": "job",
                "CronJob": "cronjob"}[self.kind] + "/" + self.name


@dataclass
class SynthCluster:
    objects: list[dict] = field(default_factory=list)
    logs: dict = field(default_factory=dict)  # FakeAPIServer.logs entries
    workloads: list[Workload] = field(default_factory=list)
    pods: int = 0
    events: int = 0
    warnings: int = 0
    failing_pods: list[tuple[str, str, str]] = field(default_factory=list)  # (ns, pod, mode)
    rejected: list[tuple[str, str, int]] = field(default_factory=list)  # (ns, "deploy/x", replicas): no pods at all

    def truth(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(namespace, "deploy/web") -> (failing or missing pods, pods of the workload) for every failing
        workload, those with no pod at all included."""
        out = {(w.namespace, w.short): (w.failing, w.replicas) for w in self.workloads if w.failing}
        out.update({(ns, short): (n, n) for ns, short, n in self.rejected})
        return out


class Gen:
    """Builds the objects; deterministic for a seed."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.out = SynthCluster()

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, n: int = 5) -> str:
        return "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))

    def ago(self, lo_min: float, hi_min: float) -> str:
        return _ts(self.now - dt.timedelta(minutes=self.rng.uniform(lo_min, hi_min)))

    # -- object shapes ----------------------------------------------------------

    @staticmethod
    def managed(manager: str, op: str, t: str, sub: str | None = None) -> dict:
        entry = {"manager": manager, "operation": op, "apiVersion": "v1", "time": t, "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}, "f:spec": {"f:containers": {}}}}
        if sub:
            entry["subresource"] = sub
        return entry

    def container(self, app: str, image: str) -> dict:
        return {
            "name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "APP_NAME", "value": app}, {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10,
                              "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 5,
                               "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
            "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                              "readOnly": True}],
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        }

    def pod_spec(self, app: str, image: str, restart: str = "Always") -> dict:
        return {
            "containers": [self.container(app, image)],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                               "fieldPath": "metadata.namespace"}}]}}]}}],
            "restartPolicy": restart, "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "securityContext": {},
            "imagePullSecrets": [{"name": "regcred"}], "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
        }

    def pod(self, w: Workload, name: str, labels: dict, owner: tuple[str, str, str], image: str,
            restart: str = "Always") -> dict:
        created = self.ago(60, 60 * 24 * 10)
        okind, oname, ouid = owner
        group = "batch/v1" if okind == "Job" else "apps/v1"
        return {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "generateName": name.rsplit("-", 1)[0] + "-", "namespace": w.namespace,
                         "uid": self.uid(), "creationTimestamp": created, "labels": labels,
                         "ownerReferences": [{"apiVersion": group, "kind": okind, "name": oname, "uid": ouid,
                                              "controller": True, "blockOwnerDeletion": True}],
                         "managedFields": [self.managed("kube-controller-manager", "Update", created),
                                           self.managed("kubelet", "Update", created, "status")]},
            "spec": self.pod_spec(w.name, image, restart),
            "status": {},
        }

    def node_name(self) -> str:
        return f"worker-{self.rng.randrange(NODES) + 1}"

    def ip(self) -> str:
        return f"10.{self.rng.randrange(1, 250)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"

    def healthy(self, p: dict) -> None:
        started = p["metadata"]["creationTimestamp"]
        p["spec"]["nodeName"] = self.node_name()
        img = p["spec"]["containers"][0]["image"]
        p["status"] = {
            "phase": "Running", "hostIP": self.ip(), "podIP": (ip := self.ip()), "podIPs": [{"ip": ip}],
            "startTime": started, "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
                           for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                     "PodScheduled")],
            "containerStatuses": [{"name": "app", "image": img, "imageID": f"{img.split(':')[0]}@sha256:"
                                   + uuid.UUID(int=self.rng.getrandbits(128)).hex * 2,
                                   "containerID": "containerd://" + uuid.UUID(int=self.rng.getrandbits(128)).hex * 2,
                                   "ready": True, "started": True, "restartCount": 0, "lastState": {},
                                   "state": {"running": {"startedAt": started}}}],
        }

    def succeeded(self, p: dict) -> None:
        self.healthy(p)
        st = p["status"]
        st["phase"] = "Succeeded"
        st["conditions"] = [{"type": "Ready", "status": "False", "reason": "PodCompleted",
                             "lastTransitionTime": st["startTime"]}]
        cs = st["containerStatuses"][0]
        cs.update(ready=False, started=False, state={"terminated": {
            "exitCode": 0, "reason": "Completed", "startedAt": st["startTime"], "finishedAt": st["startTime"]}})

    def not_ready(self, p: dict, reason: str = "ContainersNotReady") -> None:
        for c in p["status"]["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                c.update(status="False", reason=reason,
                         message="containers with unready status: [app]")

    # -- events -------------------------------------------------------------------

    def event(self, ns: str, inv: dict, reason: str, message: str, *, type_: str = "Warning", count: int = 1,
              component: str = "kubelet", host: str = "", field_path: str | None = None) -> dict:
        first = self.ago(30, 600)
        last = self.ago(0, 30)
        inv = dict(inv)
        if field_path:
            inv["fieldPath"] = field_path
        return {"apiVersion": "v1", "kind": "Event", "type": type_, "reason": reason, "message": message,
                "count": count, "firstTimestamp": first, "lastTimestamp": last, "involvedObject": inv,
                "source": {"component": component, **({"host": host} if host else {})},
                "reportingComponent": component, "reportingInstance": host,
                "metadata": {"name": f"{inv['name']}.{self.rng.getrandbits(64):016x}", "namespace": ns,
                             "creationTimestamp": first}}

    @staticmethod
    def pod_ref(p: dict) -> dict:
        m = p["metadata"]
        return {"apiVersion": "v1", "kind": "Pod", "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                "resourceVersion": str(random.randrange(10**6, 10**7))}

    # -- failures -----------------------------------------------------------------

    def fail(self, p: dict, mode: str) -> list[dict]:
        """Give a pod a failing status; return its events."""
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        ref, img = self.pod_ref(p), p["spec"]["containers"][0]["image"]
        cpath = "spec.containers{app}"
        self.healthy(p)
        st = p["status"]
        cs = st["containerStatuses"][0]
        host = p["spec"]["nodeName"]
        evs = [self.event(ns, ref, "Scheduled", f"Successfully assigned {ns}/{name} to {host}", type_="Normal",
                          component="default-scheduler")]
        if mode.startswith("image"):
            st["phase"] = "Pending"
            self.not_ready(p)
            cs.update(ready=False, started=False, imageID="", state={"waiting": {
                "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{img}"'}})
            cs.pop("containerID", None)
            if mode == "image-notfound":
                why = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{img}": failed to '
                       f'resolve reference "{img}": {img}: not found')
            else:
                why = (f'rpc error: code = Unknown desc = failed to pull and unpack image "{img}": failed to '
                       f'resolve reference "{img}": pull access denied, repository does not exist or may '
                       "require authorization: server message: insufficient_scope: authorization failed")
            n = self.rng.randint(5, 40)
            evs += [self.event(ns, ref, "Pulling", f'Pulling image "{img}"', type_="Normal", count=n, host=host,
                               field_path=cpath),
                    self.event(ns, ref, "Failed", f'Failed to pull image "{img}": {why}', count=n, host=host,
                               field_path=cpath),
                    self.event(ns, ref, "Failed", "Error: ErrImagePull", count=n, host=host, field_path=cpath),
                    self.event(ns, ref, "BackOff", f'Back-off pulling image "{img}"', type_="Normal", count=n * 6,
                               host=host, field_path=cpath),
                    self.event(ns, ref, "Failed", "Error: ImagePullBackOff", count=n * 6, host=host,
                               field_path=cpath)]
        elif mode == "crash":
            restarts = self.rng.randint(4, 60)
            self.not_ready(p)
            fin = self.ago(0, 4)
            cs.update(ready=False, started=False, restartCount=restarts, state={"waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container=app pod={name}_{ns}({p['metadata']['uid']})"}},
                lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": fin, "finishedAt": fin,
                                          "containerID": cs["containerID"]}})
            self.out.logs[(ns, name, "app", True)] = (
                "2025-01-01T00:00:00Z INFO starting server version=1.4.3\n"
                "2025-01-01T00:00:00Z INFO loading configuration from /etc/app/config.yaml\n"
                f'2025-01-01T00:00:01Z ERROR cannot connect to database host="{p["spec"]["containers"][0]["env"][0]["value"]}-db:5432"'
                ": dial tcp 10.96.12.7:5432: connect: connection refused\n"
                "panic: cannot connect to database\n\ngoroutine 1 [running]:\nmain.main()\n"
                "\t/src/cmd/server/main.go:42 +0x1c5\n")
            evs += [self.event(ns, ref, "Pulled", f'Container image "{img}" already present on machine',
                               type_="Normal", count=restarts, host=host, field_path=cpath),
                    self.event(ns, ref, "Created", "Created container app", type_="Normal", count=restarts,
                               host=host, field_path=cpath),
                    self.event(ns, ref, "Started", "Started container app", type_="Normal", count=restarts,
                               host=host, field_path=cpath),
                    self.event(ns, ref, "BackOff", f"Back-off restarting failed container app in pod "
                                                   f"{name}_{ns}({p['metadata']['uid']})", count=restarts * 5,
                               host=host, field_path=cpath)]
        elif mode == "pending":
            p["spec"].pop("nodeName", None)
            p["spec"]["nodeSelector"] = {"node.kubernetes.io/instance-type": "m7i.8xlarge"}
            msg = (f"0/{NODES} nodes are available: 3 Insufficient cpu, {NODES - 3} node(s) didn't match Pod's node "
                   f"affinity/selector. preemption: 0/{NODES} nodes are available: 3 No preemption victims found "
                   f"for incoming pod, {NODES - 3} Preemption is not helpful for scheduling.")
            p["status"] = {"phase": "Pending", "qosClass": "Burstable", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg,
                 "lastProbeTime": None, "lastTransitionTime": p["metadata"]["creationTimestamp"]}]}
            evs = [self.event(ns, ref, "FailedScheduling", msg, count=self.rng.randint(2, 30),
                              component="default-scheduler")]
        elif mode == "job-error":
            fin = self.ago(5, 120)
            st["phase"] = "Failed"
            st["conditions"] = [{"type": "Ready", "status": "False", "reason": "PodFailed",
                                 "lastTransitionTime": fin}]
            cs.update(ready=False, started=False, state={"terminated": {
                "exitCode": 2, "reason": "Error", "startedAt": st["startTime"], "finishedAt": fin,
                "containerID": cs["containerID"]}})
            self.out.logs[(ns, name, "app", False)] = (
                "2025-01-01T00:00:00Z INFO export started\n"
                "2025-01-01T00:00:03Z ERROR upload failed: s3: AccessDenied: Access Denied (status 403)\n"
                "Traceback (most recent call last):\n  File \"/app/export.py\", line 88, in <module>\n"
                "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the PutObject "
                "operation: Access Denied\n")
            evs += [self.event(ns, ref, "Pulled", f'Container image "{img}" already present on machine',
                               type_="Normal", host=host, field_path=cpath),
                    self.event(ns, ref, "Started", "Started container app", type_="Normal", host=host,
                               field_path=cpath)]
        return evs


def build_cluster(n_pods: int, n_events: int, *, failing_workloads: int | None = None, seed: int = 7,
                  namespaces: tuple[str, ...] = NAMESPACES) -> SynthCluster:
    """A cluster of about ``n_pods`` pods (exactly 10% failing) and ``n_events`` events."""
    g = Gen(seed)
    rng, out = g.rng, g.out
    objs = out.objects
    n_fail = n_pods // 10
    n_fwl = failing_workloads or max(5, n_pods // 100)
    n_fwl = min(n_fwl, n_fail)

    for i in range(1, NODES + 1):
        objs.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"worker-{i}", "labels": {
            "kubernetes.io/hostname": f"worker-{i}", "node.kubernetes.io/instance-type": "m7i.xlarge"}},
            "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                       "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})
    dockercfg = json.dumps({"auths": {REGISTRY: {"auth": "dXNlcjpwYXNz"}}}).encode()
    import base64
    for ns in namespaces:
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}})
        objs.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                     "metadata": {"name": "regcred", "namespace": ns},
                     "data": {".dockerconfigjson": base64.b64encode(dockercfg).decode()}})

    # Failing workloads first: their failing pod counts add up to exactly 10% of the pods.
    workloads: list[Workload] = []
    fail_modes = {"Deployment": ["image-notfound", "image-notfound", "image-denied", "crash", "crash", "pending"],
                  "StatefulSet": ["crash", "pending"], "Job": ["job-error"], "CronJob": ["job-error"]}
    kinds = ["Deployment"] * 7 + ["StatefulSet"] * 2 + ["Job"]
    for i in range(n_fwl):
        f = n_fail // n_fwl + (i < n_fail % n_fwl)
        kind = kinds[i % len(kinds)]
        if kind == "Job" and i % 20 == 9:
            kind = "CronJob"
        partial = kind in ("Deployment", "StatefulSet") and rng.random() < 0.4
        r = f + (rng.randint(1, max(1, f)) if partial else 0)
        ns = namespaces[i % len(namespaces)]
        workloads.append(Workload(ns, kind, f"{['api', 'web', 'worker', 'db', 'etl', 'cron'][i % 6]}-{i}", r, f,
                                  rng.choice(fail_modes[kind])))
    used = sum(w.replicas for w in workloads)
    j = 0
    while used < n_pods:
        j += 1
        kind = rng.choice(["Deployment"] * 12 + ["StatefulSet"] * 2 + ["Job", "CronJob"] + ["DaemonSet"])
        r = {"DaemonSet": NODES, "Job": rng.randint(1, 4), "CronJob": rng.randint(1, 3)}.get(
            kind, rng.choice([2, 3, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 30, 40]))
        r = min(r, n_pods - used)
        workloads.append(Workload(namespaces[j % len(namespaces)], kind, f"svc-{j}", r))
        used += r
    out.workloads = workloads

    all_pods: list[dict] = []
    events: list[dict] = []
    for w in workloads:
        image = f"{REGISTRY}/{w.namespace}/{w.name}:1.4.2"
        bad_image = f"{REGISTRY}/{w.namespace}/{w.name}:1.4.3"
        tmpl_labels = {"app.kubernetes.io/name": w.name, "app.kubernetes.io/part-of": w.namespace,
                       "tier": rng.choice(["frontend", "backend", "data"])}
        wuid = g.uid()
        meta = {"name": w.name, "namespace": w.namespace, "uid": wuid, "labels": dict(tmpl_labels),
                "creationTimestamp": g.ago(60 * 24, 60 * 24 * 60)}
        template = {"metadata": {"labels": dict(tmpl_labels)}, "spec": g.pod_spec(w.name, image)}
        owners: list[tuple[tuple[str, str, str], dict, int, bool]] = []  # owner ref, labels, count, failing
        if w.kind == "Deployment":
            objs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                         "spec": {"replicas": w.replicas, "selector": {"matchLabels": dict(tmpl_labels)},
                                  "template": template, "strategy": {"type": "RollingUpdate"}},
                         "status": {"observedGeneration": 1, "replicas": w.replicas,
                                    "readyReplicas": w.replicas - w.failing, "updatedReplicas": w.replicas,
                                    "availableReplicas": w.replicas - w.failing}})
            groups = [(w.replicas - w.failing, False), (w.failing, True)] if w.failing else [(w.replicas, False)]
            for count, failing in groups:
                if not count:
                    continue
                h = g.suffix(10)
                rs_labels = {**tmpl_labels, "pod-template-hash": h}
                rs_uid = g.uid()
                objs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
                    "name": f"{w.name}-{h}", "namespace": w.namespace, "uid": rs_uid, "labels": rs_labels,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name,
                                         "uid": wuid, "controller": True, "blockOwnerDeletion": True}]},
                    "spec": {"replicas": count, "selector": {"matchLabels": dict(rs_labels)},
                             "template": {"metadata": {"labels": rs_labels},
                                          "spec": g.pod_spec(w.name, bad_image if failing else image)}},
                    "status": {"observedGeneration": 1, "replicas": count,
                               **({} if failing else {"readyReplicas": count, "availableReplicas": count})}})
                owners.append((("ReplicaSet", f"{w.name}-{h}", rs_uid), rs_labels, count, failing))
            # an old, scaled-down ReplicaSet (rollout history)
            h = g.suffix(10)
            objs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
                "name": f"{w.name}-{h}", "namespace": w.namespace, "uid": g.uid(),
                "labels": {**tmpl_labels, "pod-template-hash": h},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name, "uid": wuid,
                                     "controller": True, "blockOwnerDeletion": True}]},
                "spec": {"replicas": 0, "selector": {"matchLabels": {**tmpl_labels, "pod-template-hash": h}},
                         "template": template}, "status": {"observedGeneration": 1, "replicas": 0}})
        elif w.kind in ("StatefulSet", "DaemonSet"):
            ready = w.replicas - w.failing
            status = ({"observedGeneration": 1, "replicas": w.replicas, "readyReplicas": ready,
                       "currentReplicas": w.replicas, "updatedReplicas": w.replicas, "availableReplicas": ready}
                      if w.kind == "StatefulSet" else
                      {"observedGeneration": 1, "desiredNumberScheduled": w.replicas,
                       "currentNumberScheduled": w.replicas, "numberReady": ready, "updatedNumberScheduled": w.replicas,
                       "numberAvailable": ready})
            objs.append({"apiVersion": "apps/v1", "kind": w.kind, "metadata": {**meta, "generation": 1},
                         "spec": {"selector": {"matchLabels": dict(tmpl_labels)}, "template": template,
                                  **({"replicas": w.replicas, "serviceName": w.name} if w.kind == "StatefulSet"
                                     else {})}, "status": status})
            rev = {**tmpl_labels, "controller-revision-hash": f"{w.name}-{g.suffix(10)}"}
            owners.append(((w.kind, w.name, wuid), rev, w.replicas, False))
        else:  # Job, or a CronJob's Job
            job_name, job_meta = w.name, meta
            if w.kind == "CronJob":
                objs.append({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                             "spec": {"schedule": "*/30 * * * *", "jobTemplate": {"spec": {"template": template}}},
                             "status": {"lastScheduleTime": g.ago(5, 30)}})
                job_name = f"{w.name}-{rng.randrange(28_000_000, 29_000_000)}"
                job_meta = {**meta, "name": job_name, "uid": g.uid(), "ownerReferences": [
                    {"apiVersion": "batch/v1", "kind": "CronJob", "name": w.name, "uid": wuid, "controller": True,
                     "blockOwnerDeletion": True}]}
            juid = job_meta["uid"]
            jlabels = {**tmpl_labels, "batch.kubernetes.io/controller-uid": juid, "controller-uid": juid,
                       "batch.kubernetes.io/job-name": job_name, "job-name": job_name}
            objs.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta,
                         "spec": {"parallelism": w.replicas, "completions": w.replicas, "backoffLimit": 6,
                                  "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
                                  "template": {"metadata": {"labels": jlabels},
                                               "spec": g.pod_spec(w.name, image, "Never")}},
                         "status": {"failed": w.failing, "succeeded": w.replicas - w.failing,
                                    **({} if w.failing else {"conditions": [
                                        {"type": "Complete", "status": "True", "lastTransitionTime": g.ago(1, 30)}]})}})
            owners.append((("Job", job_name, juid), jlabels, w.replicas - w.failing, False))
            if w.failing:
                owners.append((("Job", job_name, juid), jlabels, w.failing, True))
        failing_left = w.failing
        for oref, labels, count, failing in owners:
            for k in range(count):
                if w.kind == "StatefulSet":
                    pname = f"{w.name}-{k}"
                elif w.kind in ("Job", "CronJob"):
                    pname = f"{oref[1]}-{g.suffix()}"
                else:
                    pname = f"{oref[1]}-{g.suffix()}"
                bad = failing or (w.kind == "StatefulSet" and failing_left > 0 and k >= count - w.failing)
                p = g.pod(w, pname, dict(labels), oref, bad_image if bad and w.mode.startswith("image") else image,
                          "Never" if w.kind in ("Job", "CronJob") else "Always")
                if bad:
                    failing_left -= 1
                    events += g.fail(p, w.mode)
                    out.failing_pods.append((w.namespace, pname, w.mode))
                elif w.kind in ("Job", "CronJob"):
                    g.succeeded(p)
                else:
                    g.healthy(p)
                all_pods.append(p)
        assert failing_left == 0, (w, failing_left)
        # controller events (Normal, some Warning)
        events.append(g.event(w.namespace, {"apiVersion": "apps/v1", "kind": w.kind if w.kind != "CronJob" else
                                            "CronJob", "name": w.name, "namespace": w.namespace, "uid": wuid},
                              "ScalingReplicaSet" if w.kind == "Deployment" else "SuccessfulCreate",
                              f"Scaled up replica set {w.name} to {w.replicas}", type_="Normal",
                              component="deployment-controller"))
    # Deployments with no pod at all: their ReplicaSet's creations are rejected by the namespace's quota
    # (the workload rows the table must show without any pod to find).
    for k, ns in enumerate(namespaces[:2]):
        name, h = f"quota-{k}", g.suffix(10)
        duid, ruid = g.uid(), g.uid()
        msg = (f'pods "{name}-{h}-{g.suffix()}" is forbidden: exceeded quota: compute, requested: limits.cpu=1, '
               "used: limits.cpu=40, limited: limits.cpu=40")
        cond = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": msg,
                "lastTransitionTime": g.ago(30, 90)}
        labels = {"app.kubernetes.io/name": name}
        objs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": name, "namespace": ns, "uid": duid, "generation": 1, "labels": labels,
            "creationTimestamp": g.ago(60, 120)},
            "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": g.pod_spec(name, f"{REGISTRY}/{ns}/{name}:1")}},
            "status": {"observedGeneration": 1, "replicas": 0, "unavailableReplicas": 3, "conditions": [cond]}})
        objs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": f"{name}-{h}", "namespace": ns, "uid": ruid, "labels": {**labels, "pod-template-hash": h},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": duid,
                                 "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {**labels, "pod-template-hash": h}}},
            "status": {"replicas": 0, "conditions": [cond]}})
        objs.append({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": ns},
                     "spec": {"hard": {"limits.cpu": "40"}},
                     "status": {"hard": {"limits.cpu": "40"}, "used": {"limits.cpu": "40"}}})
        events.append(g.event(ns, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-{h}",
                                   "namespace": ns, "uid": ruid}, "FailedCreate", "Error creating: " + msg,
                              count=rng.randint(10, 40), component="replicaset-controller"))
        out.rejected.append((ns, f"deploy/{name}", 3))
    out.pods = len(all_pods)
    objs.extend(all_pods)

    # Fill up to n_events: mostly Warnings about healthy pods (flaky probes that recovered) and pods that
    # are gone (older rollouts), plus some Normal ones.
    running = [p for p in all_pods if p["status"].get("phase") == "Running"
               and all(s.get("ready") for s in p["status"].get("containerStatuses") or [])]
    while len(events) < n_events:
        x = rng.random()
        if x < 0.10 and running:
            p = rng.choice(running)
            events.append(g.event(p["metadata"]["namespace"], g.pod_ref(p), rng.choice(["Pulled", "Created",
                                                                                        "Started", "Killing"]),
                                  "Started container app", type_="Normal", host=p["spec"]["nodeName"],
                                  field_path="spec.containers{app}"))
        elif x < 0.65 and running:
            p = rng.choice(running)
            events.append(g.event(p["metadata"]["namespace"], g.pod_ref(p), "Unhealthy",
                                  f'Readiness probe failed: Get "http://{p["status"]["podIP"]}:8080/ready": context '
                                  "deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                                  count=rng.randint(1, 50), host=p["spec"]["nodeName"],
                                  field_path="spec.containers{app}"))
        else:
            ns = rng.choice(namespaces)
            gone = {"apiVersion": "v1", "kind": "Pod", "name": f"old-{g.suffix(8)}-{g.suffix()}", "namespace": ns,
                    "uid": g.uid()}
            reason, msg, comp = rng.choice([
                ("BackOff", "Back-off restarting failed container app in pod x", "kubelet"),
                ("FailedScheduling", "0/12 nodes are available: 12 Insufficient memory. preemption: 0/12 nodes are "
                                     "available: 12 No preemption victims found for incoming pod.", "default-scheduler"),
                ("FailedMount", 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found',
                 "kubelet"),
                ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 503", "kubelet")])
            events.append(g.event(ns, gone, reason, msg, count=rng.randint(1, 20), component=comp))
    rng.shuffle(events)
    out.events = len(events)
    out.warnings = sum(1 for e in events if e["type"] == "Warning")
    objs.extend(events)
    return out


# ----------------------------------------------------------------------------- children

@dataclass
class ChildRun:
    code: int
    wall: float
    rss_mb: float
    out: str
    err: str
    timed_out: bool = False


def run_child(cmd: list[str], env: dict[str, str], timeout: float = CHILD_TIMEOUT) -> ChildRun:
    """Run a command; wall time, peak RSS (os.wait4), output. Killed after ``timeout``."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        started = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, fo.fileno(), 1), (os.POSIX_SPAWN_DUP2, fe.fileno(), 2)], setpgroup=0)
        killed = threading.Event()

        def watchdog():
            if not done.wait(timeout):
                killed.set()
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        done = threading.Event()
        threading.Thread(target=watchdog, daemon=True).start()
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - started
        done.set()
        fo.seek(0)
        fe.seek(0)
        return ChildRun(os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024,
                        fo.read().decode("utf-8", "replace"), fe.read().decode("utf-8", "replace"), killed.is_set())


class Spawner:
    """A small helper process that starts the measured children.

    On Linux a child's ru_maxrss includes the RSS its parent had when it forked (the
    high-water mark survives exec), so children spawned from this process, which holds
    the synthetic cluster (hundreds of MB), would all look that big. The helper is
    started before the cluster is built and stays small.
    """

    def __init__(self):
        import subprocess

        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--spawner"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, cmd: list[str], env: dict[str, str], timeout: float = CHILD_TIMEOUT) -> ChildRun:
        self.proc.stdin.write(json.dumps({"cmd": cmd, "env": env, "timeout": timeout}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("bench: the spawner helper died")
        return ChildRun(**json.loads(line))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def spawner_loop() -> None:
    for line in sys.stdin:
        job = json.loads(line)
        res = run_child(job["cmd"], job["env"], job["timeout"])
        sys.stdout.write(json.dumps(res.__dict__) + "\n")
        sys.stdout.flush()


SPAWNER: Spawner | None = None


@dataclass
class Measure:
    label: str
    wall: float  # median seconds
    walls: list[float]
    requests: int | None
    pages: int | None
    rss_mb: float
    server_s: float | None
    code: int
    out: str = ""
    err: str = ""


class Bench:
    def __init__(self, server, kubeconfig: str, home: str):
        self.server = server
        self.kubeconfig = kubeconfig
        self.home = home
        self.podfix = str(Path(sys.executable).parent / "kubectl-podfix")
        self.kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"  # may not exist: then no comparison

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(KUBECONFIG=self.kubeconfig, HOME=self.home, NO_COLOR="1",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
        return env

    def measure(self, label: str, cmd: list[str], runs: int, *, expect: tuple[int, ...] = (0,),
                timeout: float = CHILD_TIMEOUT) -> Measure:
        walls, rss, res = [], 0.0, None
        server_s = 0.0
        for _ in range(runs):
            self.server.clear_requests()
            self.server.handle_seconds = 0.0
            res = (SPAWNER.run if SPAWNER else run_child)(cmd, self.env(), timeout)
            if res.timed_out:
                raise SystemExit(f"bench: {label} did not finish in {timeout:.0f} s (killed)")
            if res.code not in expect:
                raise SystemExit(f"bench: {label} exited {res.code}:\n{res.err[-2000:]}")
            walls.append(res.wall)
            rss = max(rss, res.rss_mb)
            server_s = self.server.handle_seconds
        reqs = [r for r in self.server.requests]
        pages = sum(1 for r in reqs if r.method == "GET" and "limit" in r.query)
        return Measure(label, statistics.median(walls), walls, len(reqs), pages, rss, server_s, res.code,
                       res.out, res.err)


def naive_worker(kubeconfig: str) -> None:
    """The per-pod strategy: LIST pods, then per failing pod one events LIST and one owner GET."""
    from kubectl_podfix.cli.options import connect
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.cluster.gather import is_suspect, normalize_event
    from kubectl_podfix.diagnose.context import contexts, top_owner
    from kubectl_podfix.diagnose.model import Snapshot, dig
    from kubectl_podfix.diagnose.report import PodResult
    from kubectl_podfix.diagnose.rules import diagnose
    from kubectl_podfix.render import report as render

    cluster = connect({"kubeconfig": kubeconfig})
    snap = Snapshot(source="cluster")
    pods = list(cluster.list("Pod", None))
    suspects = [p for p in pods if is_suspect(p)]
    for p in suspects:
        ns, uid = dig(p, "metadata.namespace"), dig(p, "metadata.uid")
        for ev in cluster.list("Event", ns, field_selector=f"involvedObject.uid={uid}"):
            snap.events.append(normalize_event(ev))
        refs = dig(p, "metadata.ownerReferences", []) or []
        if refs:
            try:
                snap.add({"kind": refs[0]["kind"], **cluster.get(refs[0]["kind"], ns, refs[0]["name"])})
            except ApiError:
                pass
    snap.pods = suspects
    results = [r for r in (PodResult(c, diagnose(c)) for c in contexts(snap)) if r.problem]
    owners = [(dig(p, "metadata.namespace", ""), top_owner(p, snap)) for p in pods]
    render.text(results, sys.stdout, owners_of_all=owners, scope=True)


# ----------------------------------------------------------------------------- checks

ROW = re.compile(r"^(\S+)\s+(\S+/\S+)\s+(\d+)/(\d+)\s+(\S+)\s")


def check_table(text: str, truth: dict[tuple[str, str], tuple[int, int]]) -> tuple[int, list[str]]:
    """Compare the summary table's rows with the ground truth: (workloads correct, problems)."""
    seen: dict[tuple[str, str], list[int]] = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            key = (m.group(1), m.group(2))
            agg = seen.setdefault(key, [0, int(m.group(4))])
            agg[0] += int(m.group(3))
    problems, ok = [], 0
    for key, (f, r) in sorted(truth.items()):
        got = seen.get(key)
        if got is None:
            problems.append(f"{key[0]} {key[1]}: missing (want {f}/{r})")
        elif tuple(got) != (f, r):
            problems.append(f"{key[0]} {key[1]}: {got[0]}/{got[1]} (want {f}/{r})")
        else:
            ok += 1
    for key in sorted(set(seen) - set(truth)):
        problems.append(f"{key[0]} {key[1]}: listed but healthy")
    return ok, problems


# ----------------------------------------------------------------------------- main

def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": model, "memory": mem,
            "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}"}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def start_server(cluster: SynthCluster, page_default: int | None = None):
    from apiserver import FakeAPIServer

    class TimedServer(FakeAPIServer):
        handle_seconds = 0.0

        def _handle(self, h):
            t = time.perf_counter()
            try:
                super()._handle(h)
            finally:
                with self._lock:
                    self.handle_seconds += time.perf_counter() - t

    server = TimedServer(page_default=page_default)
    server.add(*cluster.objects)
    server.logs.update(cluster.logs)
    return server.start()


def srv(m: "Measure") -> str:
    """Server handling time of the last run, and the wall time left for the client."""
    if m.server_s is None:
        return "-"
    return f"{m.server_s:.2f} s / {max(0.0, m.wall - m.server_s):.2f} s"


def fmt(x: float | None, unit: str = "", nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}{unit}"


# ----------------------------------------------------------------------------- a scripted rollout (wait)

@dataclass
class RolloutRun:
    code: int
    exit_s: float  # from the start of the command to its exit
    diagnosis_s: float | None  # from the failing pod's status change to the diagnosis on stdout
    requests: list[tuple[str, str]]
    out: str
    err: str


def rollout_script(api, stop: threading.Event, marks: dict, deadline: int):
    """The script both commands see: 5 pods appear, 4 become Ready, one fails to pull (a tag that does not
    exist); the deployment controller declares ProgressDeadlineExceeded ``deadline`` s after the last progress."""
    from rollout import Rollout

    r = Rollout(api, replicas=5, progress_deadline=deadline, image="registry.example.com/shop/web:2.4.1").create()

    def pause(s: float) -> bool:
        return stop.wait(s)

    def run():
        steps = [r.observe] + [r.add_pod] * 5 + [r.sync]
        for step in steps:
            if pause(0.1):
                return
            step()
        pods = list(r.pods)
        for name in pods:
            if pause(0.05):
                return
            r.schedule(name)
            r.pulling(name)
        for name in pods[:4]:
            if pause(0.1):
                return
            r.ready(name)
            r.sync()
        last_progress = time.monotonic()
        if pause(0.3):
            return
        marks["fail"] = time.monotonic()
        r.image_not_found(pods[4])
        if pause(1.0):
            return
        r.image_not_found(pods[4], backoff=True)
        if pause(max(last_progress + deadline - time.monotonic(), 0)):
            return
        r.deadline_exceeded()
    return r, run


def run_rollout(cmd: list[str], env: dict, deadline: int, timeout: float = 120) -> RolloutRun:
    import subprocess

    from apiserver import FakeAPIServer

    api = FakeAPIServer().start()
    try:
        kc = api.write_kubeconfig(os.path.join(env["HOME"], "kubeconfig-rollout"), namespace="shop")
        stop, marks = threading.Event(), {}
        _, script = rollout_script(api, stop, marks, deadline)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**env, "KUBECONFIG": kc})
        first_out: list[float] = []
        chunks: dict[str, list[bytes]] = {"out": [], "err": []}

        def read(stream, key):
            while True:
                data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(1)
                if not data:
                    return
                if key == "out" and not first_out:
                    first_out.append(time.monotonic())
                chunks[key].append(data)
        readers = [threading.Thread(target=read, args=(proc.stdout, "out"), daemon=True),
                   threading.Thread(target=read, args=(proc.stderr, "err"), daemon=True)]
        for t in readers:
            t.start()
        watching = time.monotonic() + 30
        while api.watchers() < 1 and time.monotonic() < watching and proc.poll() is None:
            time.sleep(0.01)
        player = threading.Thread(target=script, daemon=True)
        player.start()
        try:
            proc.wait(timeout=timeout)
        except Exception:
            proc.kill()
            proc.wait()
        exit_s = time.monotonic() - started
        stop.set()
        for t in readers:
            t.join(5)
        player.join(5)
        diag = first_out[0] - marks["fail"] if first_out and "fail" in marks and first_out[0] > marks["fail"] else None
        reqs = [("WATCH" if r.q("watch") else r.method, r.path) for r in api.requests]
        return RolloutRun(proc.returncode, exit_s, diag, reqs, b"".join(chunks["out"]).decode(),
                          b"".join(chunks["err"]).decode())
    finally:
        api.stop()


def bench_rollout(b: "Bench", runs: int, deadline: int) -> tuple[list[list[str]], list[str]]:
    """``wait deploy/web`` vs ``kubectl rollout status`` on the scripted rollout: rows and notes."""
    env = {**b.env(), "HOME": b.home}
    rows, notes = [], []
    waits = [run_rollout([b.podfix, "wait", "deploy/web", "--timeout", "2m"], env, deadline) for _ in range(runs)]
    for w in waits:
        if w.code != 3 or "image.not-found" not in w.out:
            raise SystemExit(f"bench: wait exited {w.code}:\n{w.err[-2000:]}\n{w.out[-2000:]}")
    w = waits[len(waits) // 2]
    kinds: dict[str, int] = {}
    for verb, path in w.requests:
        key = f"{'WATCH' if verb == 'WATCH' else 'LIST' if verb == 'GET' else verb} {path.rsplit('/', 1)[-1]}"
        kinds[key] = kinds.get(key, 0) + 1
    diag = statistics.median([x.diagnosis_s for x in waits if x.diagnosis_s is not None] or [float("nan")])
    exits = statistics.median([x.exit_s for x in waits])
    rows.append(["`kubectl podfix wait deploy/web --timeout 2m`", f"{w.code} (image.not-found)", fmt(exits, " s"),
                 fmt(diag, " s"), str(len(w.requests)), "< 1 s to diagnosis", "met" if diag < 1 else "MISSED"])
    notes.append("wait's requests: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
    notes.append("wait's diagnosis, status change to stdout, per run: "
                 + ", ".join(fmt(x.diagnosis_s, " s") for x in waits))
    if b.kubectl and os.path.exists(b.kubectl):
        k = run_rollout([b.kubectl, "rollout", "status", "deploy/web", "--timeout", "2m"], env, deadline)
        tail = (k.err.strip().splitlines() or ["?"])[-1]
        rows.append(["`kubectl rollout status deploy/web --timeout 2m`", f"{k.code} ({tail})", fmt(k.exit_s, " s"),
                     "-", str(len(k.requests)), "reference", f"{k.exit_s - exits:.1f} s later"])
        notes.append(f"kubectl's requests: {len(k.requests)} (GET /version and discovery, then a LIST and a "
                     "WATCH of the Deployment); it prints no diagnosis")
    return rows, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run (300 pods, 1 run each)")
    ap.add_argument("--runs", type=int, default=None, help="runs per timed case (median)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 500/5,000/20,000 pods series")
    ap.add_argument("--no-rollout", action="store_true", help="skip the scripted rollout (wait vs rollout status)")
    ap.add_argument("--deadline", type=int, default=10, help="progressDeadlineSeconds of the scripted rollout")
    ap.add_argument("--naive-worker", metavar="KUBECONFIG", help=argparse.SUPPRESS)
    ap.add_argument("--spawner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.naive_worker:
        naive_worker(args.naive_worker)
        return 0
    if args.spawner:
        spawner_loop()
        return 0
    global SPAWNER
    SPAWNER = Spawner()

    quick = args.quick
    runs = args.runs or (1 if quick else 5)
    big_runs = args.runs or (1 if quick else 3)
    main_pods, main_events, main_wl = (300, 1200, 10) if quick else (5000, 20000, 50)
    series = [] if quick or args.no_scaling else [(500, 2000), (5000, 20000), (20000, 80000)]
    tmp = tempfile.mkdtemp(prefix="podfix-bench-")
    info = machine()
    print(f"# podfix benchmark ({'quick' if quick else 'full'})\n")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    print(f"load average at start: {loadavg()}\n", flush=True)
    rows_main: list[list[str]] = []
    notes: list[str] = []
    scaling: list[list[str]] = []
    rollout_rows: list[list[str]] = []
    try:
        if not args.no_rollout:
            print(f"scripted rollout: 5 pods, one fails to pull; progressDeadlineSeconds {args.deadline}", flush=True)
            rollout_rows, more = bench_rollout(Bench(None, "", tmp), 1 if quick else 3, args.deadline)
            notes.extend(more)
        t0 = time.perf_counter()
        cluster = build_cluster(main_pods, main_events, failing_workloads=main_wl)
        server = start_server(cluster)
        print(f"cluster: {cluster.pods} pods ({len(cluster.failing_pods)} failing in {len(cluster.truth())} "
              f"workloads), {cluster.events} events ({cluster.warnings} Warning) in {len(NAMESPACES)} namespaces; "
              f"built and loaded in {time.perf_counter() - t0:.1f} s\n", flush=True)
        try:
            kc = server.write_kubeconfig(os.path.join(tmp, "kubeconfig"), namespace=NAMESPACES[0])
            b = Bench(server, kc, tmp)
            # --help
            m = b.measure("help", [b.podfix, "--help"], runs)
            rows_main.append(["`kubectl-podfix --help`", fmt(m.wall, " s"), "0", fmt(m.rss_mb, " MB", 0), "-",
                              "<= 0.2 s", "met" if m.wall <= 0.2 else "MISSED"])
            # single failing pod vs kubectl describe
            ns, pod, _ = next(x for x in cluster.failing_pods if x[2] == "image-notfound")
            m = b.measure("single", [b.podfix, "explain", pod, "-n", ns], runs, expect=(0,))
            if b.kubectl and os.path.exists(b.kubectl):
                SPAWNER.run([b.kubectl, "describe", "pod", pod, "-n", ns], b.env())  # warm kubectl's discovery cache
                d = b.measure("describe", [b.kubectl, "describe", "pod", pod, "-n", ns], runs)
                ratio = m.wall / d.wall
                verdict = ("met" if m.requests <= 3 and ratio <= 2 else "MISSED") + f" ({ratio:.2f}x)"
            else:
                d, verdict = None, ("met" if m.requests <= 3 else "MISSED") + " (no kubectl to compare)"
            rows_main.append(["`explain POD` (one ImagePullBackOff pod)", fmt(m.wall, " s"), str(m.requests),
                              fmt(m.rss_mb, " MB", 0), srv(m), "<= 3 requests; <= 2x describe", verdict])
            if d is not None:
                rows_main.append(["`kubectl describe pod POD` (same server)", fmt(d.wall, " s"), str(d.requests),
                                  fmt(d.rss_mb, " MB", 0), srv(d), "reference", ""])
            # the whole cluster
            m = b.measure("scope", [b.podfix, "explain", "-A"], big_runs)
            budget = 12 + m.pages
            ok, problems = check_table(m.out, cluster.truth())
            met = m.requests <= budget and m.wall <= 1.5 and m.rss_mb <= 200
            rows_main.append([f"`explain -A` ({cluster.pods} pods, {cluster.events} events)", fmt(m.wall, " s"),
                              f"{m.requests} ({m.pages} pages)", fmt(m.rss_mb, " MB", 0), srv(m),
                              f"<= {budget} requests; <= 1.5 s; <= 200 MB", "met" if met else "MISSED"])
            scope_main = m
            notes.append(f"triage table vs ground truth: {ok}/{len(cluster.truth())} failing workloads with "
                         f"the right failing/total counts" + (": " + "; ".join(problems[:8]) if problems else ""))
            nv = b.measure("naive", [sys.executable, str(Path(__file__).resolve()), "--naive-worker", kc], 1)
            rows_main.append(["naive per-pod strategy (same data)", fmt(nv.wall, " s"),
                              f"{nv.requests} ({nv.pages} pages)", fmt(nv.rss_mb, " MB", 0), srv(nv),
                              "comparison", f"{nv.wall / scope_main.wall:.1f}x slower"])
            j = b.measure("json", [b.podfix, "explain", "-A", "-o", "json"], 1)
            doc = json.loads(j.out)
            failing = {(x[0], x[1]) for x in cluster.failing_pods}
            listed = {(p["namespace"], p["name"]) for p in doc.get("pods", [])}
            notes.append(f"-o json: kind {doc.get('kind')}, {len(listed)} pods "
                         f"({len(listed & failing)} of {len(failing)} failing pods, "
                         f"{len(listed - failing)} others)")
            wls = {(w["namespace"], w["name"]): w["findings"][0]["code"] for w in doc.get("workloads", [])}
            rejected = [(ns, short.split("/", 1)[1]) for ns, short, _ in cluster.rejected]
            notes.append(f"-o json: {len(wls)} workloads with a problem; the {len(rejected)} with no pod at all: "
                         + ", ".join(f"{ns}/{n} {wls.get((ns, n), 'MISSING')}" for ns, n in rejected))
        finally:
            server.stop()
        del server, cluster

        for n_pods, n_events in series:
            if n_pods == main_pods and n_events == main_events:
                m = scope_main
                scaling.append([f"{n_pods:,}", f"{n_events:,}", fmt(m.wall, " s"), srv(m),
                                f"{m.requests} ({m.pages} pages)", fmt(m.rss_mb, " MB", 0),
                                fmt(nv.wall, " s"), str(nv.requests)])
                continue
            t0 = time.perf_counter()
            c = build_cluster(n_pods, n_events)
            server = start_server(c)
            print(f"scaling: {c.pods} pods, {c.events} events loaded in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            try:
                kc = server.write_kubeconfig(os.path.join(tmp, f"kubeconfig-{n_pods}"), namespace=NAMESPACES[0])
                b = Bench(server, kc, tmp)
                m = b.measure(f"scope-{n_pods}", [b.podfix, "explain", "-A"], big_runs)
                ok, problems = check_table(m.out, c.truth())
                if problems:
                    notes.append(f"{n_pods} pods: table problems: " + "; ".join(problems[:5]))
                naive = ["-", "-"]
                if n_pods <= 5000:
                    nv2 = b.measure("naive", [sys.executable, str(Path(__file__).resolve()), "--naive-worker", kc], 1)
                    naive = [fmt(nv2.wall, " s"), str(nv2.requests)]
                scaling.append([f"{n_pods:,}", f"{n_events:,}", fmt(m.wall, " s"), srv(m),
                                f"{m.requests} ({m.pages} pages)", fmt(m.rss_mb, " MB", 0), *naive])
            finally:
                server.stop()
            del server, c
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        SPAWNER.close()

    print("| case | wall (median) | API requests | peak RSS | server / client s | target | result |")
    print("|---|---|---|---|---|---|---|")
    for r in rows_main:
        print("| " + " | ".join(r) + " |")
    if scaling:
        print("\nscaling (`explain -A`, 10% failing, events 4x pods):\n")
        print("| pods | events | wall | server / client s | requests | peak RSS | naive wall | naive requests |")
        print("|---|---|---|---|---|---|---|---|")
        for r in scaling:
            print("| " + " | ".join(r) + " |")
    if rollout_rows:
        print("\nscripted rollout (`make bench`: pods appear, one fails to pull; see docs/benchmarks.md#wait):\n")
        print("| command | exit | time to exit | status change -> diagnosis | API requests | target | result |")
        print("|---|---|---|---|---|---|---|")
        for r in rollout_rows:
            print("| " + " | ".join(r) + " |")
    print(f"\nload average at end: {loadavg()}\n")
    for n in notes:
        print(f"- {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
