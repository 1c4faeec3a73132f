"""Output of ``kubectl podfix wait`` and ``explain --watch`` (pure: data in, text out).

The diagnosis is ``explain``'s, rendered by render/report.py; this module adds what only these commands
have: the ``"wait"`` object of the JSON/YAML report, a workload's own findings (pod creation refused), the
one-line verdict for stderr, and the blocks ``explain --watch`` prints as diagnoses change.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from kubectl_podfix.diagnose.report import PodResult, to_report
from kubectl_podfix.render.report import FORMATS, _finding_lines, _Layout, _pod_text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def wait_report(outcome) -> dict:
    """The PodfixReport of a wait, with its ``"wait"`` object."""
    report = to_report(outcome.results, outcome.warnings)
    report["wait"] = outcome.to_dict()
    return report


def workload_text(outcome, lay: _Layout) -> list[str]:
    lines = []
    for finding in outcome.workload_findings:
        lines.append(lay.style(f"{outcome.target} in namespace {outcome.namespace}", "bold"))
        lines.extend(_finding_lines(finding, lay, full=True))
    return lines


def wait_output(outcome, out: TextIO, fmt: str, *, color: bool = False, width: int | None = None) -> None:
    """stdout: the completion line, or the diagnosis (text), or the report (json/yaml)."""
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
    lines = workload_text(outcome, _Layout(color, width))
    if lines:
        out.write("\n".join(lines) + "\n")
    if outcome.results or not lines:
        if lines:
            out.write("\n")
        FORMATS["wide" if fmt == "wide" else "text"](
            outcome.results, out, color=color, width=width, warnings=outcome.warnings,
            owners_of_all=outcome.owners_of_all, scope=outcome.kind != "Pod")


def verdict(outcome) -> str | None:
    """The one line for stderr when the wait did not complete (None when it did)."""
    took = _duration(outcome.seconds)
    if outcome.result == "complete":
        return None
    if outcome.result == "timeout":
        status = outcome.message.rstrip(".").split(": ", 1)[-1] if outcome.message else "not ready"
        return f"timed out after {took} waiting for {outcome.label}: {status}"
    decisive = outcome.decisive
    if decisive is None:
        return outcome.message
    f = decisive.finding
    where = f"pod {decisive.pod}" if decisive.pod else outcome.target
    container = f" [{f.container}]" if f.container else ""
    what = f"{outcome.label} rollout" if outcome.kind in ("Deployment", "StatefulSet", "DaemonSet") else outcome.label
    return (f"{what} failed after {took}: {where}: {f.code}{container}: {f.title}. This will not heal by itself, "
            "so podfix stopped waiting (--no-fail-fast waits until --timeout)")


# -- explain --watch -------------------------------------------------------------------------------

def _state(pod: dict | None) -> str:
    status = (pod or {}).get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
                if isinstance(c, dict))
    phase = status.get("phase") or "Unknown"
    return f"{phase}, Ready" if ready else f"{phase}, no problems found"


def watch_block(results: list[PodResult], out: TextIO, fmt: str, *, when: str, color: bool = False,
                width: int | None = None, recovered: list[tuple[dict | None, str, str]] = (),
                warnings: list[str] | None = None) -> None:
    """One block of ``explain --watch``: pods with a new diagnosis, pods that recovered or are gone.

    ``recovered``: (the pod or None, "namespace/name", "recovered" | "gone")."""
    if fmt in ("json", "yaml"):
        report: dict[str, Any] = to_report(results, warnings)
        report["watch"] = {"time": when, "recovered": [n for _, n, how in recovered if how == "recovered"],
                           "gone": [n for _, n, how in recovered if how == "gone"]}
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
    for i, r in enumerate(results):
        if i:
            lines.append("")
        lines.extend(_pod_text(r, lay, fmt == "wide"))
    for pod, name, how in recovered:
        if how == "gone":
            lines.append(style(f"pod {name}", "bold") + ": gone (deleted)")
        else:
            lines.append(style(f"pod {name}", "bold") + f": recovered ({_state(pod)})")
    for w in warnings or []:
        lines.extend(style(line, "dim") for line in lay.line(f"note: {w}", "", "  "))
    out.write("\n".join(lines) + "\n")
    out.flush()
