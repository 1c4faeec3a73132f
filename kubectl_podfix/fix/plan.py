"""What a fix will do, as plain data: a ``Plan`` of ``Step``s.

Fixers (``fixes/``) build plans without I/O; ``engine.py`` shows, dry-runs,
confirms, applies and verifies them. A step carries the exact request body it
will send, the object before and the object predicted after (for the diff),
and the kubectl command that undoes it.

``diff`` renders a step as a unified diff of YAML; Secret values are masked
as ``***`` unless asked otherwise (nothing in podfix asks otherwise).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

VERBS = ("create", "patch", "replace", "delete")
MASK = "***"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"

# Kind -> (API group, resource) for RBAC checks and kubectl commands.
GROUP_RESOURCE: dict[str, tuple[str, str]] = {
    "Pod": ("", "pods"),
    "Secret": ("", "secrets"),
    "ServiceAccount": ("", "serviceaccounts"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
}
# Fields that only make a diff noisy.
_NOISE_META = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")


@dataclass
class Step:
    verb: str  # create | patch | replace | delete
    kind: str
    namespace: str | None
    name: str
    body: Any = None  # the request body (None for delete)
    before: dict | None = None  # the current object (None when creating)
    after: dict | None = None  # the object predicted after the step (None when deleting)
    content_type: str | None = None  # for patches
    description: str = ""
    undo: str = ""  # the kubectl command that reverts this step ("" when it cannot be undone)
    sensitive: bool = False  # body/before/after hold secret values: never shown unmasked
    uid: str | None = None  # delete precondition: only this incarnation of the object
    resource_version: str | None = None  # delete precondition: only this version (a bare pod's spec as read)

    def __post_init__(self) -> None:
        if self.verb not in VERBS:
            raise ValueError(f"unknown verb {self.verb!r}")

    @property
    def resource(self) -> tuple[str, str]:
        return GROUP_RESOURCE.get(self.kind, ("", self.kind.lower() + "s"))

    @property
    def ref(self) -> str:
        """kubectl's TYPE/NAME spelling, e.g. serviceaccount/default."""
        return f"{self.kind.lower()}/{self.name}"

    def __repr__(self) -> str:  # never the body: it may hold a secret
        return f"Step({self.verb} {self.ref} -n {self.namespace})"


@dataclass
class WaitSpec:
    """Which pods to watch after applying: the new ones (uid not in ``old_uids``) matching ``selector``."""

    namespace: str
    owner_kind: str | None = None
    owner_name: str | None = None
    selector: str | None = None  # label selector of the workload's pods
    old_uids: list[str] = field(default_factory=list)
    pod_name: str | None = None  # a bare pod recreated under its own name
    expect: int = 1  # how many new Ready pods mean success

    @property
    def label(self) -> str:
        if self.owner_kind and self.owner_name:
            return f"{self.owner_kind.lower()}/{self.owner_name}"
        return f"pod/{self.pod_name}" if self.pod_name else "the pods"


@dataclass
class Plan:
    fix_id: str
    title: str
    namespace: str
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what is already fine, what happens next
    warnings: list[str] = field(default_factory=list)
    wait: WaitSpec | None = None
    pod: str | None = None  # the pod the fix is for, to diagnose again if it fails again

    @property
    def empty(self) -> bool:
        return not self.steps


# -- conditional writes (pure) ------------------------------------------------

def pointer(*parts: Any) -> str:
    """An RFC 6901 JSON pointer from path segments (``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve_pointer(obj: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of the JSON pointer ``path`` in ``obj``."""
    cur = obj
    for raw in path.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return False, None
    return True, cur


# Friendlier names for the container fields the fixes change.
_FIELD_NAMES = {"resources/limits/memory": "memory limit", "resources/requests/memory": "memory request",
                "image": "image"}


def field_label(path: str) -> str:
    """``/spec/template/spec/containers/0/resources/limits/memory`` -> ``memory limit``."""
    parts = path.split("/")[1:]
    for key in ("containers", "initContainers"):
        if key in parts:
            i = parts.index(key)
            rest = "/".join(parts[i + 2:])
            return _FIELD_NAMES.get(rest, rest.replace("/", ".") or "the container")
    last = parts[-1] if parts else ""
    return _FIELD_NAMES.get(last, last or "the object")


def _short_value(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def what_changed(step: Step, fresh: dict | None) -> str:
    """What differs between the state ``step`` was planned from and ``fresh`` (the object as it is now),
    in a few words for the user: "memory limit is now 2Gi". Only the ``test`` ops of a JSON patch are
    compared (a Secret's values never are)."""
    if fresh is None:
        return "it was deleted"
    if step.verb == "create":
        return "it was created meanwhile"
    if step.verb == "delete" and step.uid and (fresh.get("metadata") or {}).get("uid") != step.uid:
        return f"it was replaced by a new {str(step.kind).lower()} of the same name"
    if step.content_type != JSON_PATCH or not isinstance(step.body, list) or step.sensitive:
        return "its resourceVersion changed"
    for op in step.body:
        if not isinstance(op, dict) or op.get("op") != "test":
            continue
        path = str(op.get("path") or "")
        found, value = resolve_pointer(fresh, path)
        if found and value == op.get("value"):
            continue
        if path.endswith("/name") and ("/containers/" in path or "/initContainers/" in path):
            return f"container {op.get('value')} is no longer where it was in the pod template"
        if path == "/metadata/resourceVersion":
            return "it was modified"
        if found and isinstance(value, dict) and isinstance(op.get("value"), dict):
            sub, found, value = _first_difference(op["value"], value)
            path += sub
        label = field_label(path)
        if not found:
            return f"{label} was removed"
        if isinstance(value, (dict, list)):
            return f"{label} changed"
        return f"{label} is now {_short_value(value)}"
    return "it was modified"


def _first_difference(old: dict, new: dict) -> tuple[str, bool, Any]:
    """(pointer suffix, present now, value now) of the first leaf where ``new`` differs from ``old``."""
    for key in list(new) + [k for k in old if k not in new]:
        if key not in new:
            return pointer(key), False, None
        if key not in old:
            suffix, value = pointer(key), new[key]
            while isinstance(value, dict) and value:  # an added map: name its first leaf
                first = next(iter(value))
                suffix, value = suffix + pointer(first), value[first]
            return suffix, True, value
        if old[key] != new[key]:
            if isinstance(old[key], dict) and isinstance(new[key], dict):
                sub, found, value = _first_difference(old[key], new[key])
                return pointer(key) + sub, found, value
            return pointer(key), True, new[key]
    return "", True, new


# -- rendering helpers (pure) -------------------------------------------------

def mask_object(obj: Any) -> Any:
    """A copy of a Kubernetes object with Secret values replaced by ``***``."""
    if not isinstance(obj, dict):
        return obj
    out = copy.deepcopy(obj)
    if out.get("kind") == "Secret" or "data" in out and isinstance(out.get("data"), dict) and "type" in out:
        for key in ("data", "stringData"):
            if isinstance(out.get(key), dict):
                out[key] = {k: MASK for k in out[key]}
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and "kubectl.kubernetes.io/last-applied-configuration" in annotations \
            and out.get("kind") == "Secret":
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = MASK
    return out


def clean(obj: dict | None) -> dict | None:
    """Drop server bookkeeping (managedFields, resourceVersion, status...) for a readable diff."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in _NOISE_META:
            meta.pop(key, None)
    out.pop("status", None)
    return out


def to_yaml(obj: Any) -> str:
    import yaml

    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=False, width=1000)


def diff(step: Step, mask: bool = True) -> str:
    """A unified diff of the step's object, YAML before and after (Secret values masked).

    ``mask=False`` shows values of non-sensitive steps only: a step flagged
    ``sensitive`` is always masked.
    """
    before, after = clean(step.before), clean(step.after)
    if mask or step.sensitive:
        before, after = mask_object(before), mask_object(after)
    old = to_yaml(before).splitlines(keepends=True) if before is not None else []
    new = to_yaml(after).splitlines(keepends=True) if after is not None else []
    label = f"{step.ref} (namespace {step.namespace})" if step.namespace else step.ref
    lines = difflib.unified_diff(old, new, fromfile=f"current {label}" if before is not None else "/dev/null",
                                 tofile=f"planned {label}" if after is not None else "/dev/null", n=3)
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text

