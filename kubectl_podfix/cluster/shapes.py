"""Which field types podfix accepts in objects, from -f files and from the API server alike.

``shape_problem`` names the first field whose type kubectl would refuse (SHAPES),
``without_nulls`` drops nulls (absent, for Kubernetes) and unprintable surrogates,
and refuses nesting past MAX_DEPTH. bundle.py applies them to every object read
from a file; api.py to every object the API server returns (a GET answer of the
wrong shape is an API error, never "no problems found").
"""

from __future__ import annotations

from typing import Any

from kubectl_podfix.cluster.limits import MAX_DEPTH

BUNDLE_KIND = "PodfixBundle"
LOG_KIND = "PodfixLog"


# -- structure checks -------------------------------------------------------------------------------
#
# kubectl decodes objects into Go types and refuses a file whose fields have the wrong type
# ("cannot unmarshal string into Go struct field PodSpec.spec.containers"). podfix checks the
# same for the fields the rules walk, so a malformed file is one clear error naming the field
# (an input error), while values (reasons, messages, quantities, unknown fields) stay free:
# the rules tolerate any value. null is allowed everywhere, as in Go.

def _container_shapes(prefix: str) -> dict[str, type | tuple]:
    out: dict[str, type | tuple] = {prefix: list, f"{prefix}[]": dict}
    for key, kind in (("name", str), ("image", str), ("imagePullPolicy", str), ("resources", dict),
                      ("resources.limits", dict), ("resources.requests", dict), ("env", list), ("env[]", dict),
                      ("env[].name", str), ("env[].valueFrom", dict), ("env[].valueFrom.secretKeyRef", dict),
                      ("env[].valueFrom.configMapKeyRef", dict), ("envFrom", list), ("envFrom[]", dict),
                      ("envFrom[].secretRef", dict), ("envFrom[].configMapRef", dict), ("volumeMounts", list),
                      ("volumeMounts[]", dict), ("ports", list), ("ports[]", dict), ("command", list),
                      ("args", list), ("livenessProbe", dict), ("readinessProbe", dict), ("startupProbe", dict),
                      ("securityContext", dict), ("lifecycle", dict)):
        out[f"{prefix}[].{key}"] = kind
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        for key in ("httpGet", "tcpSocket", "exec", "grpc"):
            out[f"{prefix}[].{probe}.{key}"] = dict
        for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold",
                    "successThreshold"):
            out[f"{prefix}[].{probe}.{key}"] = int
    return out


def _status_shapes(prefix: str) -> dict[str, type | tuple]:
    out: dict[str, type | tuple] = {prefix: list, f"{prefix}[]": dict}
    for key, kind in (("name", str), ("image", str), ("imageID", str), ("ready", bool), ("started", bool),
                      ("restartCount", int)):
        out[f"{prefix}[].{key}"] = kind
    for state in ("state", "lastState"):
        out[f"{prefix}[].{state}"] = dict
        for sub in ("waiting", "running", "terminated"):
            out[f"{prefix}[].{state}.{sub}"] = dict
        for key, kind in (("waiting.reason", str), ("waiting.message", str), ("terminated.reason", str),
                          ("terminated.message", str), ("terminated.exitCode", int), ("terminated.signal", int),
                          ("terminated.startedAt", str), ("terminated.finishedAt", str),
                          ("running.startedAt", str)):
            out[f"{prefix}[].{state}.{key}"] = kind
    return out


def _workload_shapes(kind: str) -> dict[str, type | tuple]:
    """The fields the workload rules walk (diagnose/workloads/), for a controller of ``kind``."""
    tmpl = "spec.jobTemplate.spec.template" if kind == "CronJob" else "spec.template"
    out: dict[str, type | tuple] = {
        **_META, "metadata.generation": int, "spec": dict, "status": dict, "spec.selector": dict,
        "spec.replicas": int, "spec.paused": bool, "spec.suspend": bool, "spec.backoffLimit": int,
        "spec.activeDeadlineSeconds": int, "spec.completions": int, "spec.parallelism": int,
        "spec.progressDeadlineSeconds": int, "spec.podManagementPolicy": str, "spec.concurrencyPolicy": str,
        "spec.startingDeadlineSeconds": int, "spec.schedule": str, "spec.jobTemplate": dict,
        "spec.jobTemplate.spec": dict, "spec.volumeClaimTemplates": list, "spec.volumeClaimTemplates[]": dict,
        tmpl: dict, f"{tmpl}.metadata": dict, f"{tmpl}.spec": dict, f"{tmpl}.spec.volumes": list,
        f"{tmpl}.spec.volumes[]": dict, f"{tmpl}.spec.nodeSelector": dict,
        **_container_shapes(f"{tmpl}.spec.containers"), **_container_shapes(f"{tmpl}.spec.initContainers"),
        "status.conditions": list, "status.conditions[]": dict, "status.conditions[].type": str,
        "status.conditions[].status": str, "status.conditions[].reason": str, "status.conditions[].message": str,
        "status.observedGeneration": int, "status.lastScheduleTime": str, "status.startTime": str,
    }
    for key in ("replicas", "readyReplicas", "updatedReplicas", "availableReplicas", "currentReplicas",
                "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                "numberAvailable", "numberMisscheduled", "succeeded", "failed", "ready"):
        out[f"status.{key}"] = int
    out["status.active"] = list if kind == "CronJob" else int
    # the selector gather lists a workload's pods with (diagnose.model.selector_string walks these)
    out.update({"spec.selector.matchLabels": dict, "spec.selector.matchExpressions": list,
                "spec.selector.matchExpressions[]": dict, "spec.selector.matchExpressions[].key": str,
                "spec.selector.matchExpressions[].operator": str, "spec.selector.matchExpressions[].values": list,
                f"{tmpl}.metadata.labels": dict})
    return out


_META: dict[str, type | tuple] = {
    "metadata": dict, "metadata.name": str, "metadata.namespace": str, "metadata.uid": str,
    "metadata.labels": dict, "metadata.annotations": dict, "metadata.ownerReferences": list,
    "metadata.ownerReferences[]": dict, "metadata.ownerReferences[].kind": str,
    "metadata.ownerReferences[].name": str, "metadata.ownerReferences[].controller": bool,
    "metadata.creationTimestamp": str, "metadata.deletionTimestamp": str,
}
SHAPES: dict[str, dict[str, type | tuple]] = {
    "Pod": {
        **_META, "spec": dict, "status": dict,
        **_container_shapes("spec.containers"), **_container_shapes("spec.initContainers"),
        **_container_shapes("spec.ephemeralContainers"),
        "spec.volumes": list, "spec.volumes[]": dict, "spec.volumes[].name": str,
        "spec.volumes[].persistentVolumeClaim": dict, "spec.volumes[].configMap": dict, "spec.volumes[].secret": dict,
        "spec.imagePullSecrets": list, "spec.imagePullSecrets[]": dict, "spec.imagePullSecrets[].name": str,
        "spec.tolerations": list, "spec.tolerations[]": dict, "spec.nodeSelector": dict, "spec.affinity": dict,
        "spec.nodeName": str, "spec.serviceAccountName": str, "spec.restartPolicy": str,
        "spec.schedulingGates": list, "spec.schedulingGates[]": dict, "spec.schedulingGates[].name": str,
        "spec.overhead": dict,
        "spec.activeDeadlineSeconds": int, "spec.priorityClassName": str, "spec.runtimeClassName": str,
        "status.phase": str, "status.reason": str, "status.message": str, "status.nominatedNodeName": str,
        "status.startTime": str, "status.qosClass": str, "status.resize": str,
        "status.conditions": list, "status.conditions[]": dict, "status.conditions[].type": str,
        "status.conditions[].status": str, "status.conditions[].reason": str, "status.conditions[].message": str,
        **_status_shapes("status.containerStatuses"), **_status_shapes("status.initContainerStatuses"),
        **_status_shapes("status.ephemeralContainerStatuses"),
    },
    "Event": {
        **_META, "involvedObject": dict, "regarding": dict, "series": dict, "source": dict,
        "reason": str, "message": str, "note": str, "type": str, "count": int, "deprecatedCount": int,
        "firstTimestamp": str, "lastTimestamp": str, "eventTime": str,
        **{f"{obj}.{key}": str for obj in ("involvedObject", "regarding")
           for key in ("kind", "name", "namespace", "uid", "fieldPath")},
    },
    "ServiceAccount": {**_META, "imagePullSecrets": list, "imagePullSecrets[]": dict,
                       "imagePullSecrets[].name": str},
    BUNDLE_KIND: {"listed": list, "missing": list},
    LOG_KIND: {"namespace": str, "pod": str, "container": str, "text": str},
    "Node": {**_META, "spec": dict, "status": dict, "spec.taints": list, "spec.taints[]": dict,
             "status.allocatable": dict, "status.capacity": dict, "status.conditions": list,
             "status.conditions[]": dict, "status.nodeInfo": dict},
    **{kind: _workload_shapes(kind) for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                                                 "CronJob")},
    "PersistentVolumeClaim": {**_META, "spec": dict, "status": dict, "spec.storageClassName": str,
                              "spec.volumeName": str, "status.phase": str},
    "ResourceQuota": {**_META, "spec": dict, "status": dict, "spec.hard": dict, "status.hard": dict,
                      "status.used": dict},
    "StorageClass": {**_META},
}
_KIND_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "true or false"}


class TooDeep(ValueError):
    """A value nested more than MAX_DEPTH levels deep."""


def without_nulls(value: Any, depth: int = 0) -> Any:
    """A copy without null mapping values or list items: for Kubernetes null means absent (as decoding
    into Go types does), and the rules then never meet a None where a mapping belongs. Lone UTF-16
    surrogates (JSON may spell them, "\\ud800") become U+FFFD: they cannot be printed or saved.
    Raises TooDeep past MAX_DEPTH levels (every later walk of the object recurses too)."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise TooDeep(depth)
        return {_text(k): without_nulls(v, depth + 1) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise TooDeep(depth)
        return [without_nulls(v, depth + 1) for v in value if v is not None]
    return _text(value)


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def shape_problem(obj: dict) -> str | None:
    """The first field of ``obj`` whose type kubectl would refuse, as a sentence; None when well-formed.

    SHAPES is compiled into a tree once per kind, and the object is walked once, only where it has
    the fields the tree names (checking a 4 KB pod costs tens of microseconds: live LISTs check
    every item)."""
    kind = obj.get("kind")
    kind = kind if isinstance(kind, str) and kind in SHAPES else None
    tree = _TREES.get(kind)
    if tree is None:
        tree = _TREES[kind] = _compile(SHAPES.get(kind, _META) if kind else _META)
    return _walk(obj, tree, ())


class _Node:
    __slots__ = ("kind", "keys", "each")

    def __init__(self) -> None:
        self.kind: Any = None
        self.keys: dict[str, _Node] = {}
        self.each: _Node | None = None


def _compile(shapes: dict[str, type | tuple]) -> _Node:
    root = _Node()
    for path, kind in shapes.items():
        node = root
        for step in path.replace("[]", ".[]").split("."):
            if step == "[]":
                if node.each is None:
                    node.each = _Node()
                node = node.each
            else:
                node = node.keys.setdefault(step, _Node())
        node.kind = kind
    return root


_TREES: dict[Any, _Node] = {}


def _walk(value: Any, node: _Node, where: tuple) -> str | None:
    if node.kind is not None and not _ok(value, node.kind):
        return _check(value, [], node.kind, _where(where))
    if node.keys and type(value) is dict:
        for key, child in node.keys.items():
            item = value.get(key)
            if item is not None:
                problem = _walk(item, child, where + (key,))
                if problem:
                    return problem
    if node.each is not None and type(value) is list:
        for index, item in enumerate(value):
            if item is not None:
                problem = _walk(item, node.each, where + (index,))
                if problem:
                    return problem
    return None


def _where(parts: tuple) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _ok(value: Any, kind: Any) -> bool:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return True
    return kind is int and isinstance(value, float) and value.is_integer()  # JSON numbers


def _check(value: Any, steps: list[str], kind: type, where: str) -> str | None:
    if not steps:
        ok = value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool)))
        if kind is int and isinstance(value, float) and value.is_integer():
            ok = True  # JSON numbers
        if ok:
            return None
        got = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else repr(value)[:40] \
            if not isinstance(value, str) else "a string"
        return f"{where} must be {_KIND_NAMES.get(kind, kind.__name__)}, not {got}"
    step, rest = steps[0], steps[1:]
    if step == "[]":
        if not isinstance(value, list):
            return None  # the list itself is checked by its own entry
        for i, item in enumerate(value):
            problem = _check(item, rest, kind, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if not isinstance(value, dict) or value.get(step) is None:
        return None
    return _check(value[step], rest, kind, f"{where}.{step}" if where else step)
