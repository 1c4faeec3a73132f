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
import sys
from typing import Any, Iterator

from .cluster import redact_secret
from .errors import PodfixError
from .gather import normalize_event
from .model import Snapshot

BUNDLE_KIND = "PodfixBundle"
LOG_KIND = "PodfixLog"
_EVIDENCE_KINDS = ("logs", "metrics")  # never present in plain kubectl output
_RELATED_KINDS = {"Secret", "ServiceAccount", "ConfigMap", "PersistentVolumeClaim"}


def read(paths: list[str], stdin: io.TextIOBase | None = None) -> Snapshot:
    """Read every file (``-`` is stdin) into one Snapshot. Raises PodfixError naming file and document."""
    snap = Snapshot(source="file")
    header_seen = False
    for path in paths:
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
        if not isinstance(obj, dict) or not obj.get("kind"):
            raise PodfixError(f"{_name(path)}: document {number}, item {index + 1}: not a Kubernetes object "
                              "(no kind); save with kubectl get ... -o yaml")
        if obj["kind"] in ("Pod", "Event") and not isinstance(obj.get("metadata", {}), dict):
            raise PodfixError(f"{_name(path)}: document {number}, item {index + 1}: metadata is not a mapping")
        yield obj


def write(path: str, snapshot: Snapshot, pods: list[dict]) -> None:
    """Write the evidence used for ``pods`` as a bundle (Secret values are already gone)."""
    import yaml

    keep = {(p.get("metadata") or {}).get("uid") for p in pods}
    names = {((p.get("metadata") or {}).get("namespace"), (p.get("metadata") or {}).get("name")) for p in pods}
    events = [e for e in snapshot.events
              if (e.get("involvedObject") or {}).get("uid") in keep
              or ((e.get("involvedObject") or {}).get("namespace"), (e.get("involvedObject") or {}).get("name")) in names]
    items: list[dict] = [{
        "apiVersion": "podfix.io/v1", "kind": BUNDLE_KIND,
        "listed": sorted([list(k) for k in snapshot.listed]),
        "missing": sorted(snapshot.missing),
    }]
    items.extend(pods)
    items.extend(events)
    items.extend(redact_secret(o) if o.get("kind") == "Secret" else o for o in snapshot.objects.values())
    for (ns, pod, container), text in sorted(snapshot.logs.items()):
        if (ns, pod) in names:
            items.append({"apiVersion": "podfix.io/v1", "kind": LOG_KIND, "namespace": ns, "pod": pod,
                          "container": container, "text": text})
    for (ns, pod), metrics in snapshot.metrics.items():
        if (ns, pod) in names:
            items.append(metrics)
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}
    try:
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False, default_flow_style=False)
    except OSError as exc:
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
