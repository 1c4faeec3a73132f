"""The explain job: gather (cluster or files), diagnose, return results.

Called by the CLI with keyword arguments; returns data, prints nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from kubectl_podfix.cluster.gather import contexts
from kubectl_podfix.diagnose.model import Snapshot, dig, parse_target, selector_string
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


def from_files(paths: list[str], *, pod: str | None = None, namespace: str | None = None) -> Outcome:
    from kubectl_podfix.cluster import bundle

    snap = bundle.read(paths)
    pods = snap.pods
    if pod:
        kind, name = parse_target(pod)
        if kind != "Pod":
            pods = [p for p in pods if _owned_by(p, snap, kind, name)]
        else:
            pods = [p for p in pods if dig(p, "metadata.name") == name
                    and (namespace is None or dig(p, "metadata.namespace", "default") == namespace)]
        if not pods:
            raise PodfixError(f"{pod} is not in {', '.join(paths)}: the files hold "
                              + (", ".join(sorted({dig(p, 'metadata.name', '?') for p in snap.pods})) or "no pods"))
    elif namespace:
        pods = [p for p in pods if dig(p, "metadata.namespace", "default") == namespace]
    if not snap.pods:
        raise PodfixError(f"no Pod objects in {', '.join(paths)}: save them with kubectl get pod,events -o yaml")
    results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, pods)]
    scope = pod is None and len(results) != 1 or (pod is not None and "/" in pod and not pod.startswith("pod/"))
    return Outcome(results, snap, scope, _warnings(snap, file_mode=True))


def _owned_by(pod: dict, snap: Snapshot, kind: str, name: str) -> bool:
    from kubectl_podfix.cluster.gather import top_owner

    owner = top_owner(pod, snap)
    refs = dig(pod, "metadata.ownerReferences", []) or []
    return bool(owner and owner.get("kind") == kind and owner.get("name") == name) or any(
        r.get("kind") == kind and r.get("name") == name for r in refs)


def live(cluster, *, target: str | None, namespace: str, all_namespaces: bool = False,
         label_selector: str | None = None, field_selector: str | None = None,
         progress: Callable[[str], None] | None = None) -> Outcome:
    from kubectl_podfix.cluster.gather import gather_pod, gather_scope

    kind, name = parse_target(target) if target else (None, None)
    if kind == "Pod":
        snap = gather_pod(cluster, namespace, name)
        results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)]
        return Outcome(results, snap, False, _warnings(snap), cluster.requests)
    ns_scope: str | None = None if all_namespaces else namespace
    if kind:
        workload = _get_workload(cluster, kind, namespace, name)
        selector = dig(workload, "spec.selector") if kind != "CronJob" else None
        if selector:
            label_selector = selector_string(selector)
        ns_scope = namespace
    snap = gather_scope(cluster, ns_scope, label_selector=label_selector, field_selector=field_selector,
                        progress=progress)
    pods = snap.pods
    if kind:
        pods = [p for p in pods if _owned_by(p, snap, kind, name)]
        snap.owners_of_all = [(ns, o) for ns, o in snap.owners_of_all if o == {"kind": kind, "name": name}]
    results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, pods)]
    results = [r for r in results if r.problem]
    return Outcome(results, snap, True, _warnings(snap), cluster.requests)


def _get_workload(cluster, kind: str, namespace: str, name: str) -> dict:
    from kubectl_podfix.cluster.api import ApiError

    try:
        return cluster.get(kind, namespace, name)
    except ApiError as exc:
        if exc.status == 404:
            raise PodfixError(f'{kind.lower()} "{name}" not found in namespace "{namespace}"') from None
        raise


def _warnings(snap: Snapshot, file_mode: bool = False) -> list[str]:
    out = []
    for item in sorted(snap.missing):
        if file_mode and item in ("logs", "metrics"):
            continue  # said per finding where it matters
        if item in _MISSING_TEXT:
            out.append(_MISSING_TEXT[item])
    return out
