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
from kubectl_podfix.diagnose.workloads import WorkloadResult, explain_workloads
from kubectl_podfix.errors import PodfixError

_MISSING_TEXT = {
    "events": "events could not be listed (forbidden): diagnoses rest on pod status alone",
    "secrets": "secrets could not be read (forbidden): pull-secret checks were skipped",
    "serviceaccounts": "service accounts could not be read (forbidden)",
    "replicasets": "replicasets could not be listed: workloads are inferred from pod names",
    "jobs": "jobs could not be listed: CronJob owners are not resolved",
    "deployments": "deployments could not be listed: Deployments without pods are not explained",
    "statefulsets": "statefulsets could not be listed: StatefulSets without pods are not explained",
    "daemonsets": "daemonsets could not be listed: DaemonSets without pods are not explained",
    "cronjobs": "cronjobs could not be listed: CronJobs are not explained",
    "resourcequotas": "resource quotas could not be listed: quota headroom is not shown",
    "nodes": "nodes could not be read (forbidden): a pod's node (lost, not Ready, its architecture) is not checked",
    "persistentvolumeclaims": "persistent volume claims could not be listed: claims are not checked",
    "limitranges": "limit ranges could not be listed: their limits are not shown",
    "storageclasses": "storage classes could not be listed: provisioners are not checked",
    "pods": "the namespace's other pods could not be listed: who uses the quota is not shown",
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
    workloads: list[WorkloadResult] = field(default_factory=list)
    target: bool = False  # one workload was asked for (TYPE/NAME): its block is always shown

    @property
    def errors(self) -> bool:
        """Whether any pod or workload has an error-severity finding (--exit-code)."""
        return any(f.severity == "error" for r in [*self.results, *self.workloads] for f in r.findings)


def from_snapshot(snap: Snapshot, *, pod: str | None = None, namespace: str | None = None,
                  paths: list[str] | None = None) -> Outcome:
    """Explain saved objects: every pod and workload in them, or the one ``pod`` (a name or TYPE/NAME) names."""
    where = ", ".join(paths or []) or "the input"
    pods = snap.pods
    target = None
    if pod:
        kind, name = parse_target(pod)
        if kind != "Pod":
            pods = [p for p in pods if owned_by(p, snap, kind, name)]
            target = next(((kind, ns, n) for (k, ns, n) in snap.objects if k == kind and n == name
                           and (namespace is None or ns == namespace)), None)
        else:
            pods = [p for p in pods if dig(p, "metadata.name") == name
                    and (namespace is None or dig(p, "metadata.namespace", "default") == namespace)]
        if not pods and target is None:
            held = sorted({dig(p, 'metadata.name', '?') for p in snap.pods}) + \
                [f"{k.lower()}/{n}" for (k, _, n) in snap.objects if k in _WORKLOAD_KINDS]
            raise PodfixError(f"{pod} is not in {where}: the files hold " + (", ".join(held) or "no pods"))
    elif namespace:
        pods = [p for p in pods if dig(p, "metadata.namespace", "default") == namespace]
    has_workloads = any(k in _WORKLOAD_KINDS for (k, _, _) in snap.objects)
    if not snap.pods and not has_workloads:
        raise PodfixError(f"no Pod objects in {where} (nor Deployments, StatefulSets, DaemonSets, Jobs, CronJobs or "
                          "ReplicaSets): save them with kubectl get deploy,rs,pod,events -o yaml")
    all_results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, snap.pods)]
    chosen = {id(p) for p in pods}
    results = [r for r in all_results if id(r.ctx.pod) in chosen]
    if target is not None:
        wl = explain_workloads(snap, all_results, target=target)
    elif pod:
        wl = []
    else:
        wl = [w for w in explain_workloads(snap, all_results)
              if namespace is None or w.ctx.namespace == namespace]
    own = [w for w in wl if w.problem and not w.from_pods]  # workloads with a problem their pods do not show
    scope = pod is None and len(results) + len(own) != 1 or (pod is not None and "/" in pod
                                                              and not pod.startswith("pod/"))
    return Outcome(results, snap, scope, warnings(snap, file_mode=True), workloads=wl, target=target is not None)


def from_cluster(snap: Snapshot, kind: str | None, name: str | None, *, requests: int = 0) -> Outcome:
    """Explain what ``cluster.gather.gather_target`` read: one pod, or the pods and workloads with problems in a
    scope (with a TYPE/NAME target, that workload whatever its state)."""
    if kind == "Pod":
        results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)]
        return Outcome(results, snap, False, warnings(snap), requests)
    pods = snap.pods
    if kind:
        pods = [p for p in pods if owned_by(p, snap, kind, name)]
        snap.owners_of_all = [(ns, o) for ns, o in snap.owners_of_all if o == {"kind": kind, "name": name}]
    all_results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, pods)]
    results = [r for r in all_results if r.problem]
    if kind:
        target = next(((k, ns, n) for (k, ns, n) in snap.objects if k == kind and n == name), None)
        wl = explain_workloads(snap, all_results, target=target) if target else []
    else:
        wl = explain_workloads(snap, all_results, problems_only=True)
    return Outcome(results, snap, True, warnings(snap), requests, workloads=wl, target=bool(kind))


_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet")


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
