"""A small cluster of workloads for the fix tests: builders for workloads, pods and their statuses,
the stand-in controllers that create pods after a patch, and readers of what podfix wrote."""


from __future__ import annotations

import copy
import shlex
import subprocess

from apiserver import FakeAPIServer
from clitools import cli_env

from kubectl_podfix.fix import workload as wl

NS = "default"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
TPL = "/spec/template/spec/containers/0"  # the first container of a Deployment/StatefulSet/DaemonSet template
WRITES = ("POST", "PUT", "PATCH", "DELETE")


# ----------------------------------------------------------------------------- the world (shared)

def container(name="app", image="registry.example.com/team/app:1.0", limit="256Mi", request="128Mi", **extra):
    c = {"name": name, "image": image}
    res = {}
    if limit:
        res["limits"] = {"memory": limit}
    if request:
        res["requests"] = {"memory": request}
    if res:
        c["resources"] = res
    c.update(extra)
    return c


def oom_status(name="app", restarts=3, image="registry.example.com/team/app:1.0"):
    return {"name": name, "image": image, "ready": False, "restartCount": restarts, "started": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                         "startedAt": "2026-11-20T09:00:00Z", "finishedAt": "2026-11-20T09:00:30Z"}}}


def ready_status(name="app", image="registry.example.com/team/app:1.0"):
    return {"name": name, "image": image, "ready": True, "restartCount": 0, "started": True,
            "state": {"running": {"startedAt": "2026-11-20T10:00:00Z"}}, "lastState": {}}


def pod_obj(name, owner=None, *, containers=None, statuses=None, labels=None, ready=False, node="node-1",
            ns=NS, pull_secrets=None):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {"app": "web"})},
           "spec": {"containers": copy.deepcopy(containers or [container()]), "nodeName": node,
                    "serviceAccountName": "default", "restartPolicy": "Always"},
           "status": {"phase": "Running", "containerStatuses": statuses or [oom_status()],
                      "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                      "lastTransitionTime": "2026-11-20T10:00:20Z"}]}}
    if owner:
        pod["metadata"]["ownerReferences"] = [owner]
    if pull_secrets:
        pod["spec"]["imagePullSecrets"] = [{"name": n} for n in pull_secrets]
    return pod


def owner_ref(server, kind, name, ns=NS):
    obj = server.get(kind, ns, name)
    return {"apiVersion": obj["apiVersion"], "kind": kind, "name": name, "uid": obj["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def template(containers, labels=None):
    return {"metadata": {"labels": dict(labels or {"app": "web"})}, "spec": {"containers": copy.deepcopy(containers)}}


def add_workload(server, kind, name="web", *, containers=None, labels=None, annotations=None, ns=NS,
                 pod_name=None, pod_statuses=None, replicas=1, ready=False):
    """kind/name (Deployment: with ReplicaSet revision 1; CronJob: with a Job) and one failing pod.
    Returns the pod's name."""
    containers = containers or [container()]
    meta = {"name": name, "namespace": ns, "labels": dict(labels or {"app": name})}
    if kind == "Deployment":  # the deployment controller keeps the revision here
        meta["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    if annotations:
        meta.setdefault("annotations", {}).update(annotations)
    sel = {"matchLabels": {"app": "web"}}
    group = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    if kind == "CronJob":
        spec = {"schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": {**template(containers),
                                                      "spec": {**template(containers)["spec"],
                                                               "restartPolicy": "OnFailure"}}}}}
    elif kind == "Job":
        spec = {"template": {**template(containers), "spec": {**template(containers)["spec"],
                                                             "restartPolicy": "OnFailure"}}}
    else:
        spec = {"selector": sel, "template": template(containers)}
        if kind != "DaemonSet":
            spec["replicas"] = replicas
    server.add({"apiVersion": group, "kind": kind, "metadata": meta, "spec": spec})
    top = owner_ref(server, kind, name, ns)
    owner = top
    pod_labels = {"app": "web"}
    if kind == "Deployment":
        server.add(replicaset(server, name, "5d4f8b7c9d", 1, template(containers), ns))
        owner = owner_ref(server, "ReplicaSet", f"{name}-5d4f8b7c9d", ns)
        pod_labels["pod-template-hash"] = "5d4f8b7c9d"
    elif kind == "CronJob":
        job_tpl = copy.deepcopy(spec["jobTemplate"]["spec"])
        server.add({"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": f"{name}-29000000", "namespace": ns, "ownerReferences": [top]},
                    "spec": job_tpl})
        owner = owner_ref(server, "Job", f"{name}-29000000", ns)
    pod_name = pod_name or {"Deployment": f"{name}-5d4f8b7c9d-abcde", "StatefulSet": f"{name}-0",
                            "DaemonSet": f"{name}-x7k2p", "CronJob": f"{name}-29000000-q8d2f",
                            "Job": f"{name}-q8d2f"}[kind]
    server.add(pod_obj(pod_name, owner, containers=containers, statuses=pod_statuses, labels=pod_labels,
                       ready=ready, ns=ns))
    return pod_name


def replicaset(server, deploy, hash_, revision, tpl, ns=NS):
    tpl = copy.deepcopy(tpl)
    tpl["metadata"]["labels"]["pod-template-hash"] = hash_
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{deploy}-{hash_}", "namespace": ns,
                         "labels": {"app": "web", "pod-template-hash": hash_},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [owner_ref(server, "Deployment", deploy, ns)]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash_}},
                     "template": tpl}}


def act_as_controllers(server, *, ready=True):
    """on_write: a changed workload template rolls out (Deployment: a new ReplicaSet revision) and a new
    pod from the new template appears, Ready (or failing again). on_delete: a deleted owned pod is
    replaced by a new Ready pod."""
    seen = {}
    counter = [0]

    def new_pod(owner, tpl, labels, ns):
        counter[0] += 1
        statuses = [ready_status(c["name"], c.get("image")) if ready else oom_status(c["name"], 0, c.get("image"))
                    for c in tpl["spec"]["containers"]]
        server.add(pod_obj(f"web-new-{counter[0]}", owner, containers=tpl["spec"]["containers"], statuses=statuses,
                           labels=labels, ready=ready, ns=ns))

    def on_write(verb, obj):
        kind = obj.get("kind")
        if verb != "patch" or kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            return
        key = (kind, obj["metadata"]["name"])
        tpl = obj["spec"]["template"]
        if seen.get(key) == tpl:
            return
        seen[key] = copy.deepcopy(tpl)
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        labels = dict(tpl["metadata"]["labels"])
        owner = owner_ref(server, kind, name, ns)
        if kind == "Deployment":
            revisions = [int(r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0))
                         for r in server.objects("ReplicaSet", ns)]
            hash_ = f"rev{max(revisions, default=0) + 1}x"
            server.add(replicaset(server, name, hash_, max(revisions, default=0) + 1, tpl, ns))
            dep = server.get("Deployment", ns, name)
            dep["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = \
                str(max(revisions, default=0) + 1)
            server.add(dep)
            owner = owner_ref(server, "ReplicaSet", f"{name}-{hash_}", ns)
            labels["pod-template-hash"] = hash_
        new_pod(owner, tpl, labels, ns)

    def on_delete(obj):
        if obj.get("kind") != "Pod" or not obj["metadata"].get("ownerReferences"):
            return
        tpl = {"metadata": {"labels": obj["metadata"].get("labels") or {}}, "spec": obj["spec"]}
        new_pod(obj["metadata"]["ownerReferences"][0], tpl, obj["metadata"].get("labels"),
                obj["metadata"]["namespace"])

    server.on_write.append(on_write)
    server.on_delete.append(on_delete)


def guarded(base, name, tests, changes):
    """The conditional JSON patch podfix sends: test the container name and ``tests`` ({path: value read}),
    then ``changes`` ([(op, path, value)]); paths are relative to the container at ``base``."""
    return ([{"op": "test", "path": f"{base}/name", "value": name}]
            + [{"op": "test", "path": f"{base}{p}" if p else base, "value": v} for p, v in tests.items()]
            + [{"op": op, "path": f"{base}{p}", **({} if op == "remove" else {"value": v})} for op, p, v in changes])


def sets(ops, base=TPL):
    """{path relative to ``base``: value} of the ops of a JSON patch that change something."""
    return {o["path"][len(base):]: o.get("value") for o in ops if o["op"] != "test"}


def writes(server):
    return [r for r in server.requests if r.method in WRITES]


def patches(server):
    return [r for r in server.requests if r.method == "PATCH"]


def kubectl(kubeconfig, command: str) -> subprocess.CompletedProcess:
    """Run a printed kubectl command (a string as podfix prints it) with the real kubectl."""
    args = shlex.split(command)
    assert args[0] == "kubectl"
    return subprocess.run(["kubectl", *args[1:]], capture_output=True, text=True, env=cli_env(kubeconfig),
                          timeout=60)


def undo_line(out: str) -> str:
    return next(line.split("undo: ", 1)[1] for line in out.splitlines() if line.strip().startswith("undo: "))


def only_change_note(out: str) -> str:
    marker = "to revert only this change: "
    line = next(line for line in out.splitlines() if marker in line)
    return line.split(marker, 1)[1]


def tpl_container(server, kind, name="web", cname="app"):
    obj = server.get(kind, NS, name)
    spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else \
        obj["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == cname)


# ----------------------------------------------------------------------------- quantities

def world(kind, containers=None, **kw):
    server = FakeAPIServer()
    pod = add_workload(server, kind, containers=containers, **kw)

    class Fake:  # what resolve() reads, from the store
        def get(self, k, ns, name):
            obj = server.get(k, ns, name)
            if obj is None:
                from kubectl_podfix.cluster.api import ApiError
                raise ApiError("not found", 404, "NotFound", "", "GET", "/")
            return obj

        def list(self, k, ns=None, label_selector=None, **_):
            return iter(server.objects(k, ns))

    return wl.resolve(Fake(), NS, pod), server
