"""Saved objects in, saved objects out: ``explain -f FILE`` and ``explain --save FILE``.

Reads what people save with ``kubectl get pod,events -o yaml`` (or -o json):
single objects, ``kind: List`` (any ``*List``), multi-document YAML, JSON,
from files or stdin, core/v1 and events.k8s.io/v1 Events alike. Secret
values are dropped on the way in, and never written out.

A bundle written by ``--save`` is a plain ``kind: List`` whose first item is a
``PodfixBundle`` header recording what was listed and what evidence was
missing, plus ``PodfixLog`` items holding previous-container log tails, so
that ``explain -f`` of it reproduces the live diagnosis.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any, Iterator

from kubectl_podfix.cluster.gather import normalize_event
from kubectl_podfix.cluster.redact import redact_secret
from kubectl_podfix.diagnose.model import Snapshot
from kubectl_podfix.errors import PodfixError

BUNDLE_KIND = "PodfixBundle"
LOG_KIND = "PodfixLog"
_EVIDENCE_KINDS = ("logs", "metrics")  # never present in plain kubectl output
_RELATED_KINDS = {"Secret", "ServiceAccount", "ConfigMap", "PersistentVolumeClaim"}


def read(paths: list[str], stdin: io.TextIOBase | None = None) -> Snapshot:
    """Read every file (``-`` is stdin) into one Snapshot. Raises PodfixError naming file and document."""
    snap = Snapshot(source="file")
    header_seen = False
    for path in _expand(paths):
        text = _read_text(path, stdin)
        for number, doc in _documents(path, text):
            for obj in _flatten(path, number, doc):
                kind = obj.get("kind")
                if kind == BUNDLE_KIND:
                    header_seen = True
                    for kind_ns in obj.get("listed") or []:
                        if isinstance(kind_ns, list) and len(kind_ns) == 2:
                            snap.listed.add((str(kind_ns[0]), str(kind_ns[1])))
                    snap.missing.update(str(m) for m in obj.get("missing") or [])
                elif kind == LOG_KIND:
                    snap.logs[(obj.get("namespace") or "", obj.get("pod") or "", obj.get("container") or "")] = \
                        str(obj.get("text") or "")
                elif kind == "Event":
                    snap.events.append(normalize_event(obj))
                elif kind == "Secret":
                    snap.add(redact_secret(obj))
                elif kind == "PodMetrics":
                    meta = obj.get("metadata") or {}
                    snap.metrics[(meta.get("namespace") or "", meta.get("name") or "")] = obj
                else:
                    snap.add(obj)
    if not header_seen:
        snap.missing.update(_EVIDENCE_KINDS)
        # NB: plain kubectl output carries no record of what was listed. When a file holds
        # objects of a related kind for a namespace, take them as that namespace's full set
        # (people save the Secrets and ServiceAccounts that matter); otherwise rules report
        # the evidence as unavailable rather than missing.
        for kind, ns, _ in list(snap.objects):
            if kind in _RELATED_KINDS:
                snap.listed.add((kind, ns))
    return snap


def _expand(paths: list[str]) -> list[str]:
    """Like kubectl -f: a directory stands for its .yaml, .yml and .json files (not recursive)."""
    import os

    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith((".yaml", ".yml", ".json")) and os.path.isfile(os.path.join(path, f)))
            if not found:
                raise PodfixError(f"{path}: a directory with no .yaml, .yml or .json files")
            out.extend(found)
        else:
            out.append(path)
    return out


def _read_text(path: str, stdin: io.TextIOBase | None) -> str:
    if path == "-":
        return (stdin or sys.stdin).read()
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise PodfixError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PodfixError(f"{path}: is a directory; pass the YAML or JSON files in it") from None
    except UnicodeDecodeError:
        raise PodfixError(f"{path}: not a text file; expected YAML or JSON") from None
    except OSError as exc:
        raise PodfixError(f"{path}: cannot read it ({exc.strerror})") from None


def _name(path: str) -> str:
    return "stdin" if path == "-" else path


def _documents(path: str, text: str) -> Iterator[tuple[int, Any]]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            yield 1, json.loads(text)
            return
        except ValueError:
            pass  # maybe YAML flow style; let the YAML parser explain
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    number = 0
    try:
        for number, doc in enumerate(yaml.load_all(text, Loader=loader), start=1):
            if doc is not None:
                yield number, doc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML or JSON"
        raise PodfixError(f"{_name(path)}: document {number + 1}{where}: {problem}") from None


def _flatten(path: str, number: int, doc: Any) -> Iterator[dict]:
    if isinstance(doc, list):  # a JSON array of objects
        items = doc
    elif isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        items = doc.get("items") or []
    elif isinstance(doc, dict):
        items = [doc]
    else:
        raise PodfixError(f"{_name(path)}: document {number}: expected a Kubernetes object, got {type(doc).__name__}")
    for index, obj in enumerate(items):
        if not isinstance(obj, dict) or not obj.get("kind") or not isinstance(obj.get("kind"), str):
            raise PodfixError(f"{_name(path)}: document {number}, item {index + 1}: not a Kubernetes object "
                              "(no kind); save with kubectl get ... -o yaml")
        obj = without_nulls(obj)
        problem = shape_problem(obj)
        if problem:
            name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
            what = f"{obj['kind']} {name}" if isinstance(name, str) and name else obj["kind"]
            raise PodfixError(f"{_name(path)}: document {number}, item {index + 1} ({what}): {problem}")
        yield obj


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
}
_KIND_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "true or false"}


def without_nulls(value: Any) -> Any:
    """A copy without null mapping values or list items: for Kubernetes null means absent (as decoding
    into Go types does), and the rules then never meet a None where a mapping belongs. Lone UTF-16
    surrogates (JSON may spell them, "\\ud800") become U+FFFD: they cannot be printed or saved."""
    if isinstance(value, dict):
        return {_text(k): without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
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
    """The first field of ``obj`` whose type kubectl would refuse, as a sentence; None when well-formed."""
    shapes = SHAPES.get(obj.get("kind"), _META)
    for path, kind in shapes.items():
        problem = _check(obj, path.replace("[]", ".[]").split("."), kind, "")
        if problem:
            return problem
    return None


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


# Environment variable names whose values are secrets: these words as whole segments of the name
# (DB_PASSWORD, apiKey, GITHUB_TOKEN, aws-secret-access-key), case-insensitive.
SECRET_WORDS = frozenset({"PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE", "PWD_HASH", "TOKEN", "TOKENS",
                          "SECRET", "SECRETS", "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "CREDS",
                          "PRIVATEKEY", "ACCESSKEY", "SECRETKEY", "AUTHTOKEN", "BEARER"})
_SEGMENTS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]*@")
MASKED = "***"
POD_SPEC_PATHS = (("spec",), ("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"))


def secret_env_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret (whole words, any case)."""
    parts = [p.upper() for p in _SEGMENTS.split(name or "") if p]
    return any(p in SECRET_WORDS for p in parts) or (name or "").upper() in SECRET_WORDS


def _mask_value(name: str, value: str) -> str | None:
    """The value to save instead of ``value`` (None: keep it): the whole value for a secret's name, the
    user:password of a URL otherwise."""
    if secret_env_name(name):
        return MASKED
    match = _URL_CREDENTIALS.search(value)
    if match:  # scheme://user:pass@host: keep the scheme and the host, they matter to a diagnosis
        from kubectl_podfix.redact import userinfo

        found = userinfo(value[match.start():])
        if found is not None:
            return value.replace(found[0] + "@", MASKED + "@", 1)
    return None


def mask_env(obj: dict) -> tuple[dict, list[str]]:
    """(a copy of ``obj`` with secret-looking env values masked, what was masked: "pod/ns/x container c env
    NAME", never a value). Pods and pod templates of workloads; ``valueFrom`` references stay."""
    import copy

    meta = obj.get("metadata") or {}
    what = f"{str(obj.get('kind') or '').lower()}/{meta.get('namespace') or ''}/{meta.get('name') or ''}"
    out = copy.deepcopy(obj)
    masked: list[str] = []
    for path in POD_SPEC_PATHS:
        spec = out
        for key in path:
            spec = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            continue
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for c in spec.get(key) or []:
                for env in (c.get("env") or []) if isinstance(c, dict) else []:
                    if not isinstance(env, dict) or not isinstance(env.get("value"), str) or not env["value"]:
                        continue
                    new = _mask_value(str(env.get("name") or ""), env["value"])
                    if new is not None and new != env["value"]:
                        env["value"] = new
                        masked.append(f"{what} container {c.get('name')} env {env.get('name')}")
        break
    return out, masked


def write(path: str, snapshot: Snapshot, pods: list[dict], *, logs: bool = False) -> None:
    """Write the evidence used for ``pods`` as a bundle, readable by the user only (0600).

    Secret values are already gone; environment values that look like secrets are masked (and listed,
    without values, under ``masked`` in the header); previous-container log lines are included only
    with ``logs`` (``--save-logs``: logs may hold anything the application printed). The file is written
    to a temp file in the same directory and renamed over ``path``; a symbolic link at ``path`` is
    refused, never followed."""
    import yaml

    from kubectl_podfix.redact import scrub

    keep = {(p.get("metadata") or {}).get("uid") for p in pods}
    names = {((p.get("metadata") or {}).get("namespace"), (p.get("metadata") or {}).get("name")) for p in pods}
    events = [e for e in snapshot.events
              if (e.get("involvedObject") or {}).get("uid") in keep
              or ((e.get("involvedObject") or {}).get("namespace"), (e.get("involvedObject") or {}).get("name")) in names]
    masked: list[str] = []
    saved_pods = []
    for p in pods:
        clean, found = mask_env(p)
        saved_pods.append(clean)
        masked += found
    others = []
    for o in snapshot.objects.values():
        if o.get("kind") == "Secret":
            others.append(redact_secret(o))
            continue
        clean, found = mask_env(o)
        others.append(clean)
        masked += found
    withheld = [k for k in sorted(snapshot.logs) if (k[0], k[1]) in names] if not logs else []
    header: dict[str, Any] = {
        "apiVersion": "podfix.io/v1", "kind": BUNDLE_KIND,
        "listed": sorted([list(k) for k in snapshot.listed]),
        "missing": sorted(set(snapshot.missing) | ({"logs"} if withheld else set())),
    }
    if masked:
        header["masked"] = masked
    items: list[dict] = [header]
    items.extend(saved_pods)
    items.extend(events)
    items.extend(others)
    if logs:
        for (ns, pod, container), text in sorted(snapshot.logs.items()):
            if (ns, pod) in names:
                items.append({"apiVersion": "podfix.io/v1", "kind": LOG_KIND, "namespace": ns, "pod": pod,
                              "container": container, "text": text})
    for (ns, pod), metrics in snapshot.metrics.items():
        if (ns, pod) in names:
            items.append(metrics)
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}
    notes = ["# Saved by kubectl podfix explain --save: Secret values removed."]
    if masked:
        notes.append(f"# {len(masked)} environment value(s) that look like secrets were masked as {MASKED} "
                     "(listed under masked in the PodfixBundle item).")
    if withheld:
        notes.append(f"# Container log lines of {len(withheld)} container(s) were not saved (use --save-logs).")
    text = "\n".join(notes) + "\n" + scrub(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
    write_private(path, text)


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` readable by the user only: a new temp file (O_EXCL, 0600) in the same
    directory, renamed over ``path``. A symbolic link (or anything but a regular file) at ``path`` is
    refused; the temp file is removed on every way out (errors, Ctrl-C)."""
    import os
    import stat
    import tempfile

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise PodfixError(f"refusing to write {path}: it is a symbolic link, which --save does not follow; "
                          "remove it or choose another path")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise PodfixError(f"refusing to write {path}: it is not a regular file; choose another path")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".podfix-save-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    import os

    try:
        os.unlink(path)
    except OSError:
        pass
