"""Scripted rollouts on the loopback API server: the test plays the controllers, the scheduler and the kubelet.

``Rollout`` drives one Deployment (its new ReplicaSet and pods) step by step through ``FakeAPIServer.add``
so every step is a change watches see.  ``JobRun``, ``StatefulRollout``, ``DaemonRollout`` do the same for
the other kinds.  Messages are the real components' (containerd, the kubelet, the scheduler, the
replicaset-controller, cluster-autoscaler); see /work/research notes cited in docs/wait.md.

Tests usually run a step function on a thread (``play``) after ``wait_for_watchers`` so the command under
test is already watching when things change.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import threading
import time
import uuid
import zlib
from typing import Callable

NOT_FOUND = ('Failed to pull image "{image}": failed to pull and unpack image "{image}": failed to resolve '
             'reference "{image}": {image}: not found')
PULL_BACKOFF = 'Back-off pulling image "{image}"'
QUOTA = ('Error creating: pods "{pod}" is forbidden: exceeded quota: compute-resources, requested: '
         'limits.cpu=1,limits.memory=2Gi, used: limits.cpu=6,limits.memory=12Gi, limited: '
         'limits.cpu=6,limits.memory=12Gi')
UNSCHEDULABLE = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
                 "3 Preemption is not helpful for scheduling.")
UNREACHABLE = ('Failed to pull image "{image}": rpc error: code = DeadlineExceeded desc = failed to pull and unpack '
               'image "{image}": failed to resolve reference "{image}": failed to do request: Head '
               '"https://{host}/v2/{repo}/manifests/{tag}": dial tcp 10.0.0.7:443: i/o timeout')
SCALE_UP = "pod triggered scale-up: [{{pool-1 3->4 (max: 10)}}]"


def suffix(n: int = 5) -> str:
    """A generated name's suffix, from the alphabet the API server uses (no vowels, no 0/1/3)."""
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(seconds: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def play(*steps: Callable[[], None], pause: float = 0.2) -> threading.Thread:
    """Run the steps on a thread, ``pause`` seconds apart; join the returned thread at the end of the test."""
    def run():
        for step in steps:
            time.sleep(pause)
            step()
    t = threading.Thread(target=run, daemon=True, name="scripted-controller")
    t.start()
    return t


def container_running(name: str, image: str, ready: bool = True, restarts: int = 0, last: dict | None = None) -> dict:
    return {"name": name, "image": image, "imageID": "", "ready": ready, "started": True,
            "restartCount": restarts, "lastState": last or {}, "state": {"running": {"startedAt": now()}}}


def container_waiting(name: str, image: str, reason: str, message: str = "", restarts: int = 0,
                      last: dict | None = None) -> dict:
    waiting = {"reason": reason}
    if message:
        waiting["message"] = message
    return {"name": name, "image": image, "imageID": "", "ready": False, "started": False,
            "restartCount": restarts, "lastState": last or {}, "state": {"waiting": waiting}}


class Cluster:
    """What every scripted kind shares: the server, a namespace, events about objects."""

    def __init__(self, api, ns: str = "shop"):
        self.api, self.ns = api, ns

    def event(self, obj: dict, reason: str, message: str, *, type_: str = "Warning", component: str = "kubelet",
              container: str | None = None, count: int = 1) -> None:
        meta = obj["metadata"]
        inv = {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj["kind"], "name": meta["name"],
               "namespace": meta.get("namespace", self.ns), "uid": meta.get("uid", "")}
        if container:
            inv["fieldPath"] = f"spec.containers{{{container}}}"
        # one Event object per (object, reason, container, message kind), counted up like the kubelet's
        name = f"{meta['name']}.{reason.lower()}.{container or ''}.{zlib.crc32(message[:16].encode()):x}"
        old = self.api.get("Event", self.ns, name)
        first = old["firstTimestamp"] if old else now()
        count = (old.get("count") or 1) + 1 if old else count
        self.api.add({"apiVersion": "v1", "kind": "Event",
                      "metadata": {"name": name, "namespace": self.ns},
                      "involvedObject": inv, "reason": reason, "message": message, "type": type_,
                      "count": count, "firstTimestamp": first, "lastTimestamp": now(),
                      "source": {"component": component}, "reportingComponent": component})

    def node(self, name: str) -> None:
        self.api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name}}, "status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})


class Pods(Cluster):
    """Pods of one controller, and what the scheduler and kubelet do to them."""

    container = "web"

    def __init__(self, api, ns: str, image: str):
        super().__init__(api, ns)
        self.image = image
        self.pods: list[str] = []

    def pod_template(self) -> dict:
        return {"metadata": {"labels": {"app": self.app}},
                "spec": {"containers": [{"name": self.container, "image": self.image}]}}

    def make_pod(self, name: str, labels: dict, owner: dict, restart: str = "Always") -> str:
        self.api.add({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": name, "namespace": self.ns, "labels": labels,
                                   "ownerReferences": [owner]},
                      "spec": {"containers": [{"name": self.container, "image": self.image,
                                               "imagePullPolicy": "IfNotPresent"}],
                               "restartPolicy": restart, "serviceAccountName": "default",
                               "schedulerName": "default-scheduler"},
                      "status": {"phase": "Pending", "qosClass": "BestEffort",
                                 "conditions": [{"type": "PodScheduled", "status": "False"}]}})
        self.pods.append(name)
        return name

    def pod(self, name: str) -> dict:
        return self.api.get("Pod", self.ns, name)

    def _status(self, name: str, **status) -> None:
        p = self.pod(name)
        p["status"] = {**p["status"], **status}
        self.api.add(p)

    def schedule(self, name: str, node: str = "node-1") -> None:
        p = self.pod(name)
        p["spec"]["nodeName"] = node
        p["status"] = {"phase": "Pending", "qosClass": "BestEffort", "startTime": now(), "hostIP": "10.0.0.1",
                       "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now()},
                                      {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                       "lastTransitionTime": now()}],
                       "containerStatuses": [container_waiting(self.container, self.image, "ContainerCreating")]}
        self.api.add(p)
        self.event(p, "Scheduled", f"Successfully assigned {self.ns}/{name} to {node}", type_="Normal",
                   component="default-scheduler")

    def unschedulable(self, name: str, message: str = UNSCHEDULABLE, since: str | None = None) -> None:
        p = self.pod(name)
        p["status"] = {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
             "lastTransitionTime": since or now()}]}
        self.api.add(p)
        self.event(p, "FailedScheduling", message, component="default-scheduler")

    def scale_up(self, name: str) -> None:
        self.event(self.pod(name), "TriggeredScaleUp", SCALE_UP, type_="Normal", component="cluster-autoscaler")

    def pulling(self, name: str) -> None:
        self.event(self.pod(name), "Pulling", f'Pulling image "{self.image}"', type_="Normal",
                   container=self.container)

    def ready(self, name: str, ready: bool = True) -> None:
        p = self.pod(name)
        if not p["spec"].get("nodeName"):
            self.schedule(name)
            p = self.pod(name)
        p["status"].update(phase="Running", podIP="10.1.0.%d" % (len(self.pods) + 10), containerStatuses=[
            container_running(self.container, self.image, ready=ready)])
        for c in p["status"]["conditions"]:
            if c["type"] == "Ready":
                c.update(status="True" if ready else "False", lastTransitionTime=now())
                c.pop("reason", None)
        self.api.add(p)
        self.event(p, "Started", f"Started container {self.container}", type_="Normal", container=self.container)

    def image_not_found(self, name: str, backoff: bool = False) -> None:
        p = self.pod(name)
        if not p["spec"].get("nodeName"):
            self.schedule(name)
            p = self.pod(name)
        message = NOT_FOUND.format(image=self.image)
        reason, text = ("ImagePullBackOff", PULL_BACKOFF.format(image=self.image)) if backoff else \
            ("ErrImagePull", message.removeprefix(f'Failed to pull image "{self.image}": '))
        p["status"]["containerStatuses"] = [container_waiting(self.container, self.image, reason, text)]
        self.api.add(p)
        self.event(p, "Failed", message, container=self.container)
        self.event(p, "Failed", "Error: ErrImagePull", container=self.container)

    def registry_unreachable(self, name: str) -> None:
        """A pull that times out connecting to the registry (it may work on the next try)."""
        p = self.pod(name)
        if not p["spec"].get("nodeName"):
            self.schedule(name)
            p = self.pod(name)
        host, _, path = self.image.partition("/")
        repo, _, tag = path.rpartition(":")
        message = UNREACHABLE.format(image=self.image, host=host, repo=repo, tag=tag)
        p["status"]["containerStatuses"] = [container_waiting(self.container, self.image, "ErrImagePull",
                                                              message.split(": ", 1)[1])]
        self.api.add(p)
        self.event(p, "Failed", message, container=self.container)

    def crash(self, name: str, restarts: int, exit_code: int = 1) -> None:
        p = self.pod(name)
        if not p["spec"].get("nodeName"):
            self.schedule(name)
            p = self.pod(name)
        last = {"terminated": {"exitCode": exit_code, "reason": "Error", "startedAt": ago(12), "finishedAt": ago(2),
                               "containerID": "containerd://" + uuid.uuid4().hex}}
        p["status"].update(phase="Running", containerStatuses=[container_waiting(
            self.container, self.image, "CrashLoopBackOff",
            f"back-off {10 * 2 ** max(restarts - 1, 0)}s restarting failed container={self.container} "
            f"pod={name}_{self.ns}({p['metadata']['uid']})", restarts=restarts, last=last)])
        self.api.logs[(self.ns, name, self.container, True)] = ("starting web\n"
                                                               "panic: cannot connect to database: "
                                                               "dial tcp 10.0.0.9:5432: connect: connection refused\n")
        self.api.add(p)
        self.event(p, "BackOff", "Back-off restarting failed container", container=self.container)

    def delete(self, name: str) -> None:
        self.api.remove("Pod", self.ns, name)


class Rollout(Pods):
    """A Deployment and its new ReplicaSet (revision 2), with the old ReplicaSet (revision 1) scaled down."""

    def __init__(self, api, name: str = "web", ns: str = "shop", replicas: int = 3,
                 image: str = "registry.example.com/shop/web:2.0", progress_deadline: int | None = 600,
                 hash_: str = "5d4f8b7c9d"):
        super().__init__(api, ns, image)
        self.name, self.app, self.replicas, self.hash = name, name, replicas, hash_
        self.progress_deadline = progress_deadline
        self.rs = f"{name}-{hash_}"

    # -------------------------------------------------------------- the deployment controller
    def create(self) -> "Rollout":
        """The Deployment as ``kubectl apply`` leaves it (generation 2, the controller has not seen it yet)."""
        spec = {"replicas": self.replicas, "selector": {"matchLabels": {"app": self.app}},
                "template": self.pod_template(),
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}
        if self.progress_deadline is not None:
            spec["progressDeadlineSeconds"] = self.progress_deadline
        self.api.add({"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": self.name, "namespace": self.ns, "generation": 2,
                                   "labels": {"app": self.app},
                                   "annotations": {"deployment.kubernetes.io/revision": "1"}},
                      "spec": spec, "status": {"observedGeneration": 1, "replicas": 0}})
        return self

    def deployment(self) -> dict:
        return self.api.get("Deployment", self.ns, self.name)

    def observe(self) -> None:
        """The controller sees generation 2: a new ReplicaSet (revision 2), conditions, observedGeneration."""
        d = self.deployment()
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2"
        self.api.add(d)
        d = self.deployment()
        tpl = copy.deepcopy(d["spec"]["template"])
        tpl["metadata"]["labels"]["pod-template-hash"] = self.hash
        self.api.add({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                      "metadata": {"name": self.rs, "namespace": self.ns,
                                   "labels": {"app": self.app, "pod-template-hash": self.hash},
                                   "annotations": {"deployment.kubernetes.io/revision": "2"},
                                   "ownerReferences": [self._ref(d)]},
                      "spec": {"replicas": self.replicas, "selector": {"matchLabels": {
                          "app": self.app, "pod-template-hash": self.hash}}, "template": tpl},
                      "status": {"replicas": 0, "observedGeneration": 1}})
        self.event(d, "ScalingReplicaSet", f"Scaled up replica set {self.rs} from 0 to {self.replicas}",
                   type_="Normal", component="deployment-controller")
        self.sync(conditions=[self._progressing("True", "NewReplicaSetCreated",
                                                f'Created new replica set "{self.rs}"')])

    @staticmethod
    def _ref(obj: dict) -> dict:
        return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def _progressing(self, status: str, reason: str, message: str) -> dict:
        return {"type": "Progressing", "status": status, "reason": reason, "message": message,
                "lastUpdateTime": now(), "lastTransitionTime": now()}

    def sync(self, conditions: list[dict] | None = None) -> None:
        """Recompute the ReplicaSet's and the Deployment's status from the pods (the controllers' sync)."""
        pods = [self.api.get("Pod", self.ns, n) for n in self.pods]
        pods = [p for p in pods if p and not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in p["status"].get("conditions") or []))
        rs = self.api.get("ReplicaSet", self.ns, self.rs)
        if rs:
            rs["status"] = {**rs["status"], "replicas": len(pods), "readyReplicas": ready,
                            "availableReplicas": ready, "fullyLabeledReplicas": len(pods), "observedGeneration": 1}
            self.api.add(rs)
        d = self.deployment()
        st = d["status"]
        st.update(observedGeneration=d["metadata"]["generation"], replicas=len(pods), updatedReplicas=len(pods),
                  readyReplicas=ready, availableReplicas=ready, unavailableReplicas=max(self.replicas - ready, 0))
        conds = {c["type"]: c for c in st.get("conditions") or []}
        conds["Available"] = {"type": "Available", "status": "True" if ready >= self.replicas - 1 else "False",
                              "reason": "MinimumReplicasAvailable" if ready >= self.replicas - 1
                              else "MinimumReplicasUnavailable",
                              "message": "Deployment has minimum availability." if ready >= self.replicas - 1
                              else "Deployment does not have minimum availability.",
                              "lastUpdateTime": now(), "lastTransitionTime": now()}
        if ready >= self.replicas:
            conds["Progressing"] = self._progressing("True", "NewReplicaSetAvailable",
                                                     f'ReplicaSet "{self.rs}" has successfully progressed.')
        for c in conditions or []:
            conds[c["type"]] = c
        st["conditions"] = list(conds.values())
        self.api.add(d)

    def deadline_exceeded(self) -> None:
        self.sync(conditions=[self._progressing("False", "ProgressDeadlineExceeded",
                                                f'ReplicaSet "{self.rs}" has timed out progressing.')])

    # -------------------------------------------------------------- the replicaset controller
    def add_pod(self) -> str:
        rs = self.api.get("ReplicaSet", self.ns, self.rs)
        name = f"{self.rs}-{suffix()}"
        self.make_pod(name, {"app": self.app, "pod-template-hash": self.hash}, self._ref(rs))
        self.event(rs, "SuccessfulCreate", f"Created pod: {name}", type_="Normal",
                   component="replicaset-controller")
        return name

    def rejected(self, message: str = QUOTA) -> None:
        """Pod creation refused by admission: FailedCreate events and the ReplicaFailure condition."""
        rs = self.api.get("ReplicaSet", self.ns, self.rs)
        pod = f"{self.rs}-{suffix()}"
        text = message.format(pod=pod)
        self.event(rs, "FailedCreate", text, component="replicaset-controller")
        cond = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": text.removeprefix("Error creating: "), "lastTransitionTime": now()}
        rs["status"]["conditions"] = [cond]
        self.api.add(rs)
        self.sync(conditions=[{**cond, "lastUpdateTime": now()}])


class JobRun(Pods):
    """A Job (restartPolicy Never): pods that succeed or fail, and the Job's conditions."""

    def __init__(self, api, name: str = "migrate", ns: str = "shop",
                 image: str = "registry.example.com/shop/migrate:1"):
        super().__init__(api, ns, image)
        self.name, self.app = name, name

    def create(self, completions: int = 1, backoff_limit: int = 1) -> "JobRun":
        uid = str(uuid.uuid4())
        self.labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                       "batch.kubernetes.io/job-name": self.name, "job-name": self.name}
        tpl = {"metadata": {"labels": dict(self.labels)},
               "spec": {"containers": [{"name": self.container, "image": self.image}], "restartPolicy": "Never"}}
        self.api.add({"apiVersion": "batch/v1", "kind": "Job",
                      "metadata": {"name": self.name, "namespace": self.ns, "uid": uid, "labels": dict(self.labels)},
                      "spec": {"completions": completions, "parallelism": 1, "backoffLimit": backoff_limit,
                               "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                               "template": tpl},
                      "status": {"startTime": now(), "active": 0}})
        return self

    def job(self) -> dict:
        return self.api.get("Job", self.ns, self.name)

    def add_pod(self) -> str:
        j = self.job()
        name = f"{self.name}-{suffix()}"
        ref = {"apiVersion": "batch/v1", "kind": "Job", "name": self.name, "uid": j["metadata"]["uid"],
               "controller": True, "blockOwnerDeletion": True}
        self.make_pod(name, dict(self.labels), ref, restart="Never")
        j["status"]["active"] = j["status"].get("active", 0) + 1
        self.api.add(j)
        return name

    def pod_done(self, name: str, exit_code: int = 0) -> None:
        p = self.pod(name)
        if not p["spec"].get("nodeName"):
            self.schedule(name)
            p = self.pod(name)
        term = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                "startedAt": ago(5), "finishedAt": now()}
        p["status"].update(phase="Succeeded" if exit_code == 0 else "Failed", containerStatuses=[
            {"name": self.container, "image": self.image, "ready": False, "started": False, "restartCount": 0,
             "lastState": {}, "state": {"terminated": term}}])
        self.api.add(p)
        j = self.job()
        j["status"]["active"] = max(j["status"].get("active", 1) - 1, 0)
        key = "succeeded" if exit_code == 0 else "failed"
        j["status"][key] = j["status"].get(key, 0) + 1
        self.api.add(j)

    def complete(self) -> None:
        j = self.job()
        j["status"]["conditions"] = [{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                                      "message": "Reached expected number of succeeded pods"},
                                     {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                                      "message": "Reached expected number of succeeded pods",
                                      "lastTransitionTime": now()}]
        j["status"]["completionTime"] = now()
        self.api.add(j)
        self.event(j, "Completed", "Job completed", type_="Normal", component="job-controller")

    def fail(self) -> None:
        j = self.job()
        j["status"]["conditions"] = [{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                                      "message": "Job has reached the specified backoff limit"},
                                     {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                      "message": "Job has reached the specified backoff limit",
                                      "lastTransitionTime": now()}]
        self.api.add(j)
        self.event(j, "BackoffLimitExceeded", "Job has reached the specified backoff limit", component="job-controller")
