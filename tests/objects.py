"""Builders for realistic pods and events (the shapes the API server returns)."""

from __future__ import annotations

import copy
import uuid


def pod(name: str, *, namespace: str = "default", containers=None, statuses=None, phase: str = "Pending",
        owner: tuple[str, str] | None = None, labels=None, pull_secrets=None, sa: str = "default",
        init_containers=None, init_statuses=None, node: str | None = "worker-1", uid: str | None = None,
        created: str = "2026-11-20T09:00:00Z", **spec_extra) -> dict:
    meta = {"name": name, "namespace": namespace, "uid": uid or str(uuid.uuid4()), "labels": dict(labels or {}),
            "creationTimestamp": created}
    if owner:
        kind, oname = owner
        meta["ownerReferences"] = [{"apiVersion": "apps/v1" if kind in ("ReplicaSet", "StatefulSet", "DaemonSet")
                                    else "batch/v1", "kind": kind, "name": oname, "uid": str(uuid.uuid4()),
                                    "controller": True, "blockOwnerDeletion": True}]
    spec = {"containers": copy.deepcopy(containers or [{"name": "app", "image": "nginx:1.27"}]),
            "serviceAccountName": sa, "restartPolicy": "Always"}
    if node:
        spec["nodeName"] = node
    if init_containers:
        spec["initContainers"] = copy.deepcopy(init_containers)
    if pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    spec.update(spec_extra)
    status = {"phase": phase, "startTime": created}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def waiting(name: str, reason: str, message: str = "", image: str = "nginx:1.27", restarts: int = 0) -> dict:
    w = {"reason": reason}
    if message:
        w["message"] = message
    return {"name": name, "image": image, "imageID": "", "ready": False, "started": False,
            "restartCount": restarts, "lastState": {}, "state": {"waiting": w}}


def running(name: str, image: str = "nginx:1.27", since: str = "2026-11-20T09:00:10Z", ready: bool = True) -> dict:
    return {"name": name, "image": image, "imageID": "docker.io/library/x@sha256:" + "a" * 64, "ready": ready,
            "started": True, "restartCount": 0, "lastState": {}, "state": {"running": {"startedAt": since}}}


def event(pod_obj: dict, reason: str, message: str, *, type_: str = "Warning", container: str | None = None,
          count: int = 1, first: str = "2026-11-20T09:00:05Z", last: str = "2026-11-20T09:05:00Z",
          init: bool = False, component: str = "kubelet") -> dict:
    meta = pod_obj["metadata"]
    inv = {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "namespace": meta["namespace"],
           "uid": meta["uid"]}
    if container:
        inv["fieldPath"] = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
    return {"apiVersion": "v1", "kind": "Event", "type": type_, "reason": reason, "message": message,
            "count": count, "firstTimestamp": first, "lastTimestamp": last, "involvedObject": inv,
            "source": {"component": component, "host": pod_obj["spec"].get("nodeName") or ""},
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]}}
