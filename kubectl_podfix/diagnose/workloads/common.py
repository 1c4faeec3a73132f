"""Small pure helpers the workload rules share: evidence lines, the pods' own diagnosis, quantities."""

from __future__ import annotations

from kubectl_podfix.diagnose.model import Finding, KUBECTL_NAMES, age, dig
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules.common import describe_event
from kubectl_podfix.diagnose.rules.containers.resources import parse_quantity
from kubectl_podfix.diagnose.workloads.model import WorkloadContext


def obj_ref(kind: str | None, name: str | None) -> str:
    short = "pvc" if kind == "PersistentVolumeClaim" else KUBECTL_NAMES.get(kind or "", (kind or "?").lower())
    return f"{short}/{name}"


def event_line(ctx: WorkloadContext, ev: dict) -> str:
    """'event Warning FailedCreate (x4 over 3m) on replicaset/web-abc: <message>'."""
    inv = ev.get("involvedObject") or {}
    line = describe_event(ev, ctx.now)
    head, sep, rest = line.partition(": ")
    return f"{head} on {obj_ref(inv.get('kind'), inv.get('name'))}{sep}{rest}"


def condition_line(kind: str, name: str, cond: dict, ctx: WorkloadContext | None = None) -> str:
    when = ""
    if ctx is not None:
        secs = ctx.age_of(cond.get("lastTransitionTime") or cond.get("lastUpdateTime"))
        when = f" since {age(secs)}" if secs is not None else ""
    reason = f" ({cond['reason']})" if cond.get("reason") else ""
    msg = (cond.get("message") or "").strip()
    return f"{obj_ref(kind, name)} condition {cond.get('type')}={cond.get('status')}{reason}{when}" + \
        (f": {msg}" if msg else "")


def pod_cause(pods: list[PodResult]) -> tuple[PodResult, Finding, int] | None:
    """The pods' most common diagnosis: (a pod that has it, its first finding, how many pods share the code)."""
    failing = [r for r in pods if r.findings and r.findings[0].severity in ("error", "warning")]
    if not failing:
        return None
    counts: dict[str, int] = {}
    for r in failing:
        counts[r.findings[0].code] = counts.get(r.findings[0].code, 0) + 1
    best = sorted(failing, key=lambda r: (r.findings[0].severity != "error", -counts[r.findings[0].code],
                                          r.ctx.name))[0]
    return best, best.findings[0], counts[best.findings[0].code]


def pod_extra(result: PodResult, finding: Finding, count: int) -> dict:
    return {"name": result.ctx.name, "code": finding.code, "container": finding.container,
            "title": finding.title, "count": count}


def pod_cause_lines(result: PodResult, finding: Finding) -> list[str]:
    """Evidence that quotes a pod's own diagnosis."""
    where = f" [{finding.container}]" if finding.container else ""
    lines = [f"pod {result.ctx.name}: {finding.code}{where}: {finding.title}"]
    lines += [f"  {e}" for e in finding.evidence[:2]]
    return lines


def pod_explain_cmd(ctx: WorkloadContext, pod: str) -> str:
    return f"kubectl podfix explain {pod} -n {ctx.namespace}"


def fmt_quantity(resource: str, value: float | None) -> str:
    if value is None:
        return "?"
    low = resource.lower()
    if "memory" in low or "storage" in low:
        for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if value >= size:
                num = value / size
                return (f"{num:.1f}".rstrip("0").rstrip(".")) + unit
        return f"{int(value)}"
    if "cpu" in low and value < 1 and value > 0:
        return f"{round(value * 1000)}m"
    return f"{value:g}"


def quantity(value) -> float | None:
    return parse_quantity(value)


def template_containers(ctx: WorkloadContext) -> list[tuple[dict, bool]]:
    spec = dig(ctx.template(), "spec", {}) or {}
    out = [(c, True) for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    out += [(c, False) for c in spec.get("containers") or [] if isinstance(c, dict)]
    return out
