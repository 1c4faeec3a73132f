"""What a workload rule sees (pure): ``WorkloadContext``, and what it returns about one workload.

A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, or a ReplicaSet
no Deployment owns) is explained from its own object, its controllers' events
and conditions, its children (a Deployment's ReplicaSets, a CronJob's Jobs),
the PVCs its pods wait for, and the diagnoses of its pods (``PodResult``s).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from kubectl_podfix.diagnose.model import KUBECTL_NAMES, Finding, Snapshot, age, dig, event_time, parse_time, report_now
from kubectl_podfix.diagnose.report import PodResult

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet")
SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "Job": "job", "CronJob": "cronjob",
         "ReplicaSet": "rs"}


def condition(obj: dict | None, type_: str) -> dict | None:
    return next((c for c in dig(obj or {}, "status.conditions", []) or []
                 if isinstance(c, dict) and c.get("type") == type_), None)


def replicas_of(obj: dict) -> dict[str, int | None]:
    """desired / current / ready / updated / available of a workload, as its status reports them."""
    kind = obj.get("kind")
    st = obj.get("status") or {}
    if kind == "DaemonSet":
        return {"desired": st.get("desiredNumberScheduled"), "current": st.get("currentNumberScheduled"),
                "ready": st.get("numberReady"), "updated": st.get("updatedNumberScheduled"),
                "available": st.get("numberAvailable"), "misscheduled": st.get("numberMisscheduled")}
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        desired = dig(obj, "spec.replicas")
        return {"desired": 1 if desired is None else desired, "current": st.get("replicas"),
                "ready": st.get("readyReplicas"), "updated": st.get("updatedReplicas"),
                "available": st.get("availableReplicas")}
    if kind == "Job":
        return {"desired": dig(obj, "spec.completions") or (1 if dig(obj, "spec.parallelism") is None
                                                             else dig(obj, "spec.parallelism")),
                "active": st.get("active"), "ready": st.get("ready"), "succeeded": st.get("succeeded"),
                "failed": st.get("failed")}
    if kind == "CronJob":
        return {"active": len(st.get("active") or [])}
    return {}


@dataclass
class WorkloadContext:
    workload: dict
    snapshot: Snapshot
    events: list[dict] = field(default_factory=list)  # about the workload, its children and PVCs, oldest first
    pods: list[PodResult] = field(default_factory=list)  # its diagnosed pods (a scan keeps only suspect ones)
    children: list[dict] = field(default_factory=list)  # ReplicaSets of a Deployment, Jobs of a CronJob; newest first
    pvcs: list[dict] = field(default_factory=list)  # claims its pods use (when read)
    pod_total: int | None = None  # pods of the workload seen in the scan (healthy ones included)
    now: _dt.datetime = field(default_factory=report_now)

    @property
    def kind(self) -> str:
        return self.workload.get("kind") or ""

    @property
    def namespace(self) -> str:
        return dig(self.workload, "metadata.namespace", "") or ""

    @property
    def name(self) -> str:
        return dig(self.workload, "metadata.name", "") or ""

    @property
    def ref(self) -> str:
        """kubectl's TYPE/NAME: deployment/web."""
        return f"{KUBECTL_NAMES.get(self.kind, self.kind.lower())}/{self.name}"

    @property
    def short(self) -> str:
        return f"{SHORT.get(self.kind, self.kind.lower())}/{self.name}"

    def kubectl(self, *args: str) -> str:
        return " ".join(("kubectl", *args, "-n", self.namespace))

    def podfix_target(self) -> str:
        return f"{SHORT.get(self.kind, self.kind.lower())}/{self.name} -n {self.namespace}"

    def replicas(self) -> dict[str, int | None]:
        return replicas_of(self.workload)

    def condition(self, type_: str, obj: dict | None = None) -> dict | None:
        return condition(obj or self.workload, type_)

    def events_of(self, kind: str | None = None, name: str | None = None,
                  reasons: set[str] | None = None) -> list[dict]:
        out = []
        for ev in self.events:
            inv = ev.get("involvedObject") or {}
            if kind and inv.get("kind") != kind:
                continue
            if name and inv.get("name") != name:
                continue
            if reasons is not None and ev.get("reason") not in reasons:
                continue
            out.append(ev)
        return out

    def age_of(self, when: Any) -> float | None:
        t = parse_time(when) if not isinstance(when, _dt.datetime) else when
        return (self.now - t).total_seconds() if t else None

    def event_age(self, ev: dict) -> float | None:
        t = event_time(ev)
        return (self.now - t).total_seconds() if t else None

    def created_age(self) -> float | None:
        return self.age_of(dig(self.workload, "metadata.creationTimestamp"))

    def template(self) -> dict:
        if self.kind == "CronJob":
            return dig(self.workload, "spec.jobTemplate.spec.template", {}) or {}
        return dig(self.workload, "spec.template", {}) or {}

    def new_replicaset(self) -> dict | None:
        """A Deployment's newest ReplicaSet: the one of its current revision, else the newest created."""
        if not self.children:
            return None
        revision = dig(self.workload, "metadata.annotations", {}).get("deployment.kubernetes.io/revision")
        if revision:
            for rs in self.children:
                if dig(rs, "metadata.annotations", {}).get("deployment.kubernetes.io/revision") == revision:
                    return rs
        return self.children[0]

    def pods_of(self, owner_name: str | None = None, template_hash: str | None = None) -> list[PodResult]:
        out = []
        for r in self.pods:
            if template_hash and dig(r.ctx.pod, "metadata.labels", {}).get("pod-template-hash") != template_hash:
                continue
            if owner_name and not any(ref.get("name") == owner_name
                                      for ref in dig(r.ctx.pod, "metadata.ownerReferences", []) or []):
                continue
            out.append(r)
        return out

    def failing_pods(self, pods: list[PodResult] | None = None) -> list[PodResult]:
        """Pods with an error or warning diagnosis, the most common diagnosis first."""
        pods = [r for r in (self.pods if pods is None else pods)
                if r.findings and r.findings[0].severity in ("error", "warning")]
        counts: dict[str, int] = {}
        for r in pods:
            counts[r.findings[0].code] = counts.get(r.findings[0].code, 0) + 1
        return sorted(pods, key=lambda r: (r.findings[0].severity != "error", -counts[r.findings[0].code],
                                           r.ctx.name))


@dataclass
class WorkloadResult:
    ctx: WorkloadContext
    findings: list[Finding]

    @property
    def problem(self) -> bool:
        return any(f.severity in ("error", "warning") for f in self.findings)

    @property
    def from_pods(self) -> bool:
        """Whether the diagnosis is its pods' own (so the pods' rows already show it)."""
        return bool(self.findings) and bool(self.findings[0].extra.get("pod"))

    def summary(self) -> str:
        return summary(self.ctx)

    def shortfall(self) -> tuple[int, int]:
        """(pods missing or not ready, pods wanted), for the scan table's PODS column."""
        r = self.ctx.replicas()
        if self.ctx.kind == "Job":
            desired = r.get("desired") or 1
            return max(0, desired - (r.get("succeeded") or 0)), desired
        if self.ctx.kind == "CronJob":
            return r.get("active") or 0, max(1, r.get("active") or 0)
        desired = r.get("desired") or 0
        return max(0, desired - (r.get("ready") or 0)), desired

    def to_dict(self) -> dict:
        return {"kind": self.ctx.kind, "namespace": self.ctx.namespace, "name": self.ctx.name,
                "summary": self.summary(), "findings": [f.to_dict() for f in self.findings]}


def summary(ctx: WorkloadContext) -> str:
    """The workload's state in a few words: "0/3 ready", "1 active, 2 failed", "suspended"."""
    r = ctx.replicas()
    if ctx.kind == "Job":
        parts = [f"{r.get('succeeded') or 0}/{r.get('desired') or 1} succeeded"]
        if r.get("active"):
            parts.append(f"{r['active']} active")
        if r.get("failed"):
            parts.append(f"{r['failed']} failed")
        return ", ".join(parts)
    if ctx.kind == "CronJob":
        last = ctx.age_of(dig(ctx.workload, "status.lastScheduleTime"))
        parts = [f"{r.get('active') or 0} active"]
        parts.append(f"last scheduled {age(last)} ago" if last is not None else "never scheduled")
        if dig(ctx.workload, "spec.suspend"):
            parts.append("suspended")
        return ", ".join(parts)
    return f"{r.get('ready') or 0}/{r.get('desired') or 0} ready"
