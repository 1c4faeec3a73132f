"""What the fake serves: the resource table (``Res``), lookups by path and kind, discovery documents.

Also the two helpers every part of the server uses on stored objects (``dig``, ``now``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Res:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short: tuple = ()
    verbs: tuple = ALL_VERBS
    cats: tuple = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gr(self) -> str:  # GroupResource as the server prints it: "deployments.apps"
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def store(self) -> str:  # both Event APIs share the core store
        return "events" if self.kind == "Event" else self.gr


RESOURCES = [
    Res("", "v1", "pods", "Pod", short=("po",), cats=("all",)),
    Res("", "v1", "events", "Event", short=("ev",)),
    Res("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",)),
    Res("", "v1", "secrets", "Secret"),
    Res("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    Res("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",)),
    Res("", "v1", "resourcequotas", "ResourceQuota", short=("quota",)),
    Res("", "v1", "limitranges", "LimitRange", short=("limits",)),
    Res("", "v1", "nodes", "Node", False, ("no",)),
    Res("", "v1", "namespaces", "Namespace", False, ("ns",)),
    Res("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), cats=("all",)),
    Res("apps", "v1", "deployments", "Deployment", short=("deploy",), cats=("all",)),
    Res("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), cats=("all",)),
    Res("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), cats=("all",)),
    Res("batch", "v1", "jobs", "Job", cats=("all",)),
    Res("batch", "v1", "cronjobs", "CronJob", short=("cj",), cats=("all",)),
    Res("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    Res("events.k8s.io", "v1", "events", "Event", short=("ev",)),
    Res("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, verbs=("create",)),
    Res("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=("get", "list")),
    Res("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=("get", "list")),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[tuple[str, str], Res] = {}
for _r in RESOURCES:
    BY_KIND.setdefault((_r.group, _r.kind), _r)
    BY_KIND.setdefault(("*", _r.kind), _r)  # first wins: core Event before events.k8s.io
GENERATION_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}
STATUS_KINDS = GENERATION_KINDS | {"Pod", "Node", "Namespace", "PersistentVolumeClaim"}
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
           "compiler": "gc", "platform": "linux/amd64"}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


# ---------------------------------------------------------------- discovery

def served_groups(metrics: bool) -> list[tuple[str, str]]:
    """(group, version) of the named API groups, in table order; metrics.k8s.io only when ``metrics``."""
    seen = []
    for r in RESOURCES:
        if r.group and (r.group, r.version) not in seen and (metrics or r.group != "metrics.k8s.io"):
            seen.append((r.group, r.version))
    return seen


def discovery(group: str, version: str) -> dict:
    """The APIResourceList served at /api/v1 or /apis/<group>/<version>."""
    resources = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry = {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": list(r.verbs)}
        if r.short:
            entry["shortNames"] = list(r.short)
        if r.cats:
            entry["categories"] = list(r.cats)
        resources.append(entry)
        if r.kind == "Pod" and not group:
            resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                              "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": resources}
