"""Output of ``kubectl podfix wait`` and ``explain --watch`` (pure: data in, text out).

The diagnosis is ``explain``'s (pods and workloads), rendered by render/report.py; this module adds what only
these commands have: the ``"wait"`` object of the JSON/YAML report, the one-line verdict for stderr, and the
blocks ``explain --watch`` prints as diagnoses change.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from kubectl_podfix.diagnose.report import PodResult, to_report
from kubectl_podfix.diagnose.model import KUBECTL_NAMES
from kubectl_podfix.render.report import FORMATS, _Layout, _pod_text, _workload_text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def wait_report(outcome) -> dict:
    """The PodfixReport of a wait (pods and the workload, as ``explain TYPE/NAME -o json``), with its ``"wait"``."""
    report = to_report(outcome.results, outcome.warnings, outcome.workloads)
    report["wait"] = outcome.to_dict()
    return report


def wait_output(outcome, out: TextIO, fmt: str, *, color: bool = False, width: int | None = None) -> None:
    """stdout: the completion line, or the diagnosis (text), or the report (json/yaml).

    Text is ``explain``'s: the workload's block first when the wait failed on the workload's own finding (pods
    refused, a Job failed, the progress deadline) or when it has a problem its pods' rows do not show, then the
    pods."""
    if fmt in ("json", "yaml"):
        report = wait_report(outcome)
        if fmt == "json":
            json.dump(report, out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            import yaml

            yaml.safe_dump(report, out, sort_keys=False, allow_unicode=True)
        return
    if outcome.result == "complete":
        out.write(outcome.message + "\n")
        return
    FORMATS["wide" if fmt == "wide" else "text"](
        outcome.results, out, color=color, width=width, warnings=outcome.warnings,
        owners_of_all=outcome.owners_of_all, scope=outcome.kind != "Pod", workloads=outcome.workloads,
        target=outcome.at_workload_level)


def verdict(outcome) -> str | None:
    """The one line for stderr when the wait did not complete (None when it did)."""
    took = _duration(outcome.seconds)
    if outcome.result == "complete":
        return None
    if outcome.result == "timeout":
        status = outcome.message.rstrip(".").split(": ", 1)[-1] if outcome.message else "not ready"
        return f"timed out after {took} waiting for {outcome.label}: {status}"
    decisive = outcome.decisive
    if decisive is None or outcome.by_status:  # the object itself gave up: kubectl's words
        return outcome.message
    f = decisive.finding
    where = f"pod {decisive.pod}" if decisive.pod else outcome.target
    container = f" [{f.container}]" if f.container else ""
    what = f"{outcome.label} rollout" if outcome.kind in ("Deployment", "StatefulSet", "DaemonSet") else outcome.label
    note = f" {decisive.note}." if getattr(decisive, "note", None) else ""
    return (f"{what} failed after {took}: {where}: {f.code}{container}: {f.title}.{note} This will not heal by "
            "itself, so podfix stopped waiting (--no-fail-fast waits until --timeout)")


# -- explain --watch -------------------------------------------------------------------------------

def _state(pod: dict | None) -> str:
    status = (pod or {}).get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
                if isinstance(c, dict))
    phase = status.get("phase") or "Unknown"
    return f"{phase}, Ready" if ready else f"{phase}, no problems found"


def _workload_label(key: tuple[str, str, str]) -> str:
    """("Deployment", "shop", "web") -> 'deployment shop/web', as a workload's block is headed."""
    kind, ns, name = key
    return f"{KUBECTL_NAMES.get(kind, kind.lower())} {ns}/{name}"


def watch_block(results: list[PodResult], out: TextIO, fmt: str, *, when: str, color: bool = False,
                width: int | None = None, recovered: list[tuple[dict | None, str, str]] = (),
                warnings: list[str] | None = None, workloads: list | None = None,
                workloads_ended: list[tuple[Any, tuple[str, str, str], str]] = ()) -> None:
    """One block of ``explain --watch``: workloads and pods with a new diagnosis, those that recovered or are gone.

    ``recovered``: (the pod or None, "namespace/name", "recovered" | "gone"); ``workloads``: the
    ``WorkloadResult``s to print; ``workloads_ended``: (the WorkloadResult or None, (kind, namespace, name),
    "recovered" | "gone")."""
    workloads = list(workloads or [])
    if fmt in ("json", "yaml"):
        report: dict[str, Any] = to_report(results, warnings, workloads)
        report["watch"] = {"time": when, "recovered": [n for _, n, how in recovered if how == "recovered"],
                           "gone": [n for _, n, how in recovered if how == "gone"],
                           "recoveredWorkloads": [dict(zip(("kind", "namespace", "name"), key))
                                                  for _, key, how in workloads_ended if how == "recovered"],
                           "goneWorkloads": [dict(zip(("kind", "namespace", "name"), key))
                                             for _, key, how in workloads_ended if how == "gone"]}
        if fmt == "json":
            out.write(json.dumps(report, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            import yaml

            out.write("---\n")
            yaml.safe_dump(report, out, sort_keys=False, allow_unicode=True)
        out.flush()
        return
    lay = _Layout(color, width)
    style = lay.style
    lines = ["", style(f"--- {when}", "dim")]
    blocks = [_workload_text(w, lay, fmt == "wide") for w in workloads] + \
        [_pod_text(r, lay, fmt == "wide") for r in results]
    for i, block in enumerate(blocks):
        if i:
            lines.append("")
        lines.extend(block)
    for w, key, how in workloads_ended:
        if how == "gone":
            lines.append(style(_workload_label(key), "bold") + ": gone (deleted)")
        else:
            lines.append(style(_workload_label(key), "bold")
                         + f": recovered ({w.summary() if w is not None else 'no problems found'})")
    for pod, name, how in recovered:
        if how == "gone":
            lines.append(style(f"pod {name}", "bold") + ": gone (deleted)")
        else:
            lines.append(style(f"pod {name}", "bold") + f": recovered ({_state(pod)})")
    for w in warnings or []:
        lines.extend(style(line, "dim") for line in lay.line(f"note: {w}", "", "  "))
    out.write("\n".join(lines) + "\n")
    out.flush()
