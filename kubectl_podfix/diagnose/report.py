"""From diagnosed pods to the report: the stable JSON contract and the triage groups.

Pure functions. The report is ``{"kind": "PodfixReport", "pods": [...]}``;
each pod has namespace, name, phase, owner, findings (see docs/findings.md).
Groups fold replicas failing for the same reason into one row per workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time

REPORT_KIND = "PodfixReport"


@dataclass
class PodResult:
    ctx: PodContext
    findings: list[Finding]

    @property
    def problem(self) -> bool:
        return any(f.severity in ("error", "warning") for f in self.findings)

    def to_dict(self) -> dict:
        pod = self.ctx.pod
        return {
            "namespace": self.ctx.namespace,
            "name": self.ctx.name,
            "phase": dig(pod, "status.phase") or "Unknown",
            "owner": self.ctx.owner,
            "controlledBy": controlled_by(pod),
            "findings": [f.to_dict() for f in self.findings],
        }


def controlled_by(pod: dict) -> dict | None:
    """{"kind", "name"} of the pod's own controller (its ownerReference with controller: true), as
    ``kubectl describe pod`` shows it ("Controlled By"); ``owner`` is the top controller above it."""
    refs = [r for r in dig(pod, "metadata.ownerReferences", []) or [] if isinstance(r, dict)]
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not ref or not ref.get("kind"):
        return None
    return {"kind": ref.get("kind"), "name": ref.get("name")}


def to_report(results: list[PodResult], warnings: list[str] | None = None, workloads: list | None = None) -> dict:
    """The contract: pods, then the workloads explained (``WorkloadResult``s: kind, namespace, name, findings)."""
    report: dict = {"kind": REPORT_KIND, "apiVersion": "podfix.io/v1", "pods": [r.to_dict() for r in results],
                    "workloads": [w.to_dict() for w in workloads or []]}
    if warnings:
        report["warnings"] = list(warnings)
    return report


def since(result: PodResult) -> str | None:
    """When the diagnosis started, as RFC 3339: the finding's own time, else the pod's start."""
    first = result.findings[0] if result.findings else None
    if first and first.since:
        return first.since
    pod = result.ctx.pod
    return dig(pod, "status.startTime") or dig(pod, "metadata.creationTimestamp")


@dataclass
class Group:
    namespace: str
    workload: str  # "deploy/web" or "pod/name"
    code: str
    title: str
    results: list[PodResult] = field(default_factory=list)
    total: int = 0  # pods of the workload seen in the scan

    @property
    def since(self) -> str | None:
        times = [t for t in (since(r) for r in self.results) if t]
        return min(times, key=lambda t: parse_time(t) or t) if times else None


_SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "Job": "job", "CronJob": "cronjob",
          "ReplicaSet": "rs", "ReplicationController": "rc"}


def workload_name(owner: dict | None, pod_name: str) -> str:
    if not owner:
        return f"pod/{pod_name}"
    kind = owner.get("kind") or "?"
    return f"{_SHORT.get(kind, kind.lower())}/{owner.get('name')}"


def group(results: list[PodResult], owners_of_all: list[tuple[str, dict | None]] | None = None) -> list[Group]:
    """Group pods with problems by (namespace, workload, diagnosis code): errors first, then biggest first."""
    totals: dict[tuple[str, str], int] = {}
    for ns, owner in owners_of_all or []:
        if owner:
            key = (ns, workload_name(owner, ""))
            totals[key] = totals.get(key, 0) + 1
    groups: dict[tuple[str, str, str], Group] = {}
    for r in results:
        if not r.problem:
            continue
        first = r.findings[0]
        wl = workload_name(r.ctx.owner, r.ctx.name)
        key = (r.ctx.namespace, wl, first.code)
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(r.ctx.namespace, wl, first.code, first.title)
        g.results.append(r)
    for g in groups.values():
        g.total = max(totals.get((g.namespace, g.workload), 0), len(g.results))
    # NB: a warning (history: a leftover evicted pod, a failed run the next run made good) never heads the table
    # above a pod that fails now, however many pods share it
    return sorted(groups.values(), key=lambda g: (all(r.findings[0].severity != "error" for r in g.results),
                                                  -len(g.results), g.namespace, g.workload, g.code))


# -- what -o wide adds: where pods run and what they run ----------------------------------------------

def _restarts(pod: dict) -> int:
    total = 0
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in dig(pod, f"status.{key}", []) or []:
            if isinstance(s, dict) and isinstance(s.get("restartCount"), int):
                total += s["restartCount"]
    return total


def _images(pod: dict) -> dict[str, str]:
    """container name -> image, init containers first (from the spec, as written)."""
    out = {}
    for key in ("initContainers", "containers"):
        for c in dig(pod, f"spec.{key}", []) or []:
            if isinstance(c, dict) and c.get("name"):
                out[str(c["name"])] = str(c.get("image") or "<none>")
    return out


def _age_of(pod: dict, now) -> str:
    created = parse_time(dig(pod, "metadata.creationTimestamp"))
    return age((now - created).total_seconds()) if created else "<unknown>"


def pod_details(result: PodResult, now) -> dict:
    """node, ip, restarts, age, images (container -> image) of one pod, kubectl's "<none>" when unset."""
    pod = result.ctx.pod
    return {"node": dig(pod, "spec.nodeName") or "<none>", "ip": dig(pod, "status.podIP") or "<none>",
            "restarts": _restarts(pod), "age": _age_of(pod, now), "images": _images(pod)}


def group_details(g: Group, now) -> dict:
    """The -o wide columns of a scan row: the first pod's node (+N other nodes), IP and the image of the
    diagnosed container; restarts summed over the group's pods; the age of its oldest pod."""
    first = g.results[0]
    pods = [r.ctx.pod for r in g.results]
    nodes = {dig(p, "spec.nodeName") for p in pods if dig(p, "spec.nodeName")}
    node = dig(first.ctx.pod, "spec.nodeName") or "<none>"
    if len(nodes - {node}) > 0:
        node += f" (+{len(nodes - {node})})"
    images = _images(first.ctx.pod)
    container = first.findings[0].container if first.findings else None
    image = images.get(container) if container else None
    if image is None:
        image = next(iter(images.values()), "<none>") if len(images) <= 1 else f"{len(images)} containers"
    created = [t for t in (parse_time(dig(p, "metadata.creationTimestamp")) for p in pods) if t]
    oldest = min(created) if created else None
    return {"node": node, "ip": dig(first.ctx.pod, "status.podIP") or "<none>",
            "restarts": sum(_restarts(p) for p in pods),
            "age": age((now - oldest).total_seconds()) if oldest else "<unknown>", "image": image}
