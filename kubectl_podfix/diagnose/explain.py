"""The explain job over a snapshot (pure): which pods were asked for, their diagnoses, the warnings.

The snapshot comes from the cluster (``cluster.gather``) or from files
(``cluster.bundle``); this module never does I/O. The CLI renders what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_podfix.diagnose.context import contexts, top_owner
from kubectl_podfix.diagnose.model import Snapshot, dig, parse_target
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.errors import PodfixError

_MISSING_TEXT = {
    "events": "events could not be listed (forbidden): diagnoses rest on pod status alone",
    "secrets": "secrets could not be read (forbidden): pull-secret checks were skipped",
    "serviceaccounts": "service accounts could not be read (forbidden)",
    "replicasets": "replicasets could not be listed: workloads are inferred from pod names",
    "jobs": "jobs could not be listed: CronJob owners are not resolved",
    "logs": "some container logs could not be read",
    "logs-sampled": "crash logs were read for one pod per workload, for the most affected workloads only: "
                    "explain a pod by name for its own log",
}


@dataclass
class Outcome:
    results: list[PodResult]
    snapshot: Snapshot
    scope: bool  # more than one pod was asked for (namespace, selector, workload)
    warnings: list[str] = field(default_factory=list)
    requests: int = 0


def from_snapshot(snap: Snapshot, *, pod: str | None = None, namespace: str | None = None,
                  paths: list[str] | None = None) -> Outcome:
    """Explain saved objects: every pod in them, or the one ``pod`` (a name or TYPE/NAME) names."""
    where = ", ".join(paths or []) or "the input"
    pods = snap.pods
    if pod:
        kind, name = parse_target(pod)
        if kind != "Pod":
            pods = [p for p in pods if owned_by(p, snap, kind, name)]
        else:
            pods = [p for p in pods if dig(p, "metadata.name") == name
                    and (namespace is None or dig(p, "metadata.namespace", "default") == namespace)]
        if not pods:
            raise PodfixError(f"{pod} is not in {where}: the files hold "
                              + (", ".join(sorted({dig(p, 'metadata.name', '?') for p in snap.pods})) or "no pods"))
    elif namespace:
        pods = [p for p in pods if dig(p, "metadata.namespace", "default") == namespace]
    if not snap.pods:
        raise PodfixError(f"no Pod objects in {where}: save them with kubectl get pod,events -o yaml")
    results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, pods)]
    scope = pod is None and len(results) != 1 or (pod is not None and "/" in pod and not pod.startswith("pod/"))
    return Outcome(results, snap, scope, warnings(snap, file_mode=True))


def from_cluster(snap: Snapshot, kind: str | None, name: str | None, *, requests: int = 0) -> Outcome:
    """Explain what ``cluster.gather.gather_target`` read: one pod, or the pods with problems in a scope."""
    if kind == "Pod":
        results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)]
        return Outcome(results, snap, False, warnings(snap), requests)
    pods = snap.pods
    if kind:
        pods = [p for p in pods if owned_by(p, snap, kind, name)]
        snap.owners_of_all = [(ns, o) for ns, o in snap.owners_of_all if o == {"kind": kind, "name": name}]
    results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, pods)]
    results = [r for r in results if r.problem]
    return Outcome(results, snap, True, warnings(snap), requests)


def owned_by(pod: dict, snap: Snapshot, kind: str, name: str) -> bool:
    owner = top_owner(pod, snap)
    refs = dig(pod, "metadata.ownerReferences", []) or []
    return bool(owner and owner.get("kind") == kind and owner.get("name") == name) or any(
        r.get("kind") == kind and r.get("name") == name for r in refs)


def warnings(snap: Snapshot, file_mode: bool = False) -> list[str]:
    out = []
    for item in sorted(snap.missing):
        if file_mode and item in ("logs", "metrics"):
            continue  # said per finding where it matters
        if item in _MISSING_TEXT:
            out.append(_MISSING_TEXT[item])
    return out
