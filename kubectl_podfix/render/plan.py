"""Text for plans and for what the engine did with them. Pure: returns strings.

Secret values never reach this module unmasked: ``plan.diff`` masks them, and
the request bodies are never printed.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.fix.plan import Plan, Step, diff


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


def step_line(step: Step) -> str:
    where = f" -n {step.namespace}" if step.namespace else ""
    return f"{step.verb} {step.ref}{where}"


def plan_text(plan: Plan, *, diffs: bool = True) -> str:
    lines = [f"Plan: {plan.title}"]
    for warning in plan.warnings:
        lines.append(_indent(f"warning: {warning}", "  ").rstrip("\n"))
    for note in plan.notes:
        lines.append(f"  note: {note}")
    if plan.empty:
        lines.append("Nothing to change: everything is already in place.")
        return "\n".join(lines) + "\n"
    lines.append("")
    for i, step in enumerate(plan.steps, 1):
        lines.append(f"{i}. {step_line(step)}: {step.description}")
        if diffs and step.verb != "delete":
            text = diff(step, mask=True)
            if text:
                lines.append(_indent(text).rstrip("\n"))
        undo = step.undo or "(cannot be undone by a command)"
        lines.append(f"   undo: {undo}")
    return "\n".join(lines) + "\n"


def results_text(results: Iterable) -> str:
    """One line per step: done / FAILED / not attempted / dry run verdicts."""
    lines = []
    for r in results:
        mark = {"done": "done", "failed": "FAILED", "not attempted": "not attempted", "ok": "ok (server dry run)",
                "rejected": "REJECTED (server dry run)", "skipped": "skipped"}.get(r.status, r.status)
        line = f"  {mark:<24} {step_line(r.step)}"
        if r.message:
            line += f": {r.message}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def denied_text(denied: list[str]) -> str:
    lines = ["Not applied: you lack these permissions (nothing was changed):"]
    lines += [f"  - {d}" for d in denied]
    lines.append("Ask a cluster admin for them, or run the plan's steps with an account that has them.")
    return "\n".join(lines) + "\n"


def findings_text(findings: list, pod: str) -> str:
    if not findings:
        return f"pod {pod}: no finding explains the failure; see kubectl describe pod {pod}\n"
    lines = [f"Diagnosis of pod {pod}:"]
    for f in findings[:3]:
        lines.append(f"  {f.severity}: {f.title}")
        if f.explanation:
            lines.append(_indent(f.explanation, "    ").rstrip("\n"))
        for s in f.suggestions[:3]:
            lines.append(f"    - {s}")
    return "\n".join(lines) + "\n"
