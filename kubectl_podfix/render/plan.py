"""Text for plans and for what the engine did with them. Pure: returns strings.

Secret values never reach this module unmasked: ``plan.diff`` masks them, and
the request bodies are never printed. With ``color`` (the caller asks
``render.terminal.use_color``: a terminal, no NO_COLOR, TERM not dumb) diffs
look like git's: added lines green, removed lines red, file headers bold, hunk
headers cyan; the plan's title and step lines are bold.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.fix.plan import Plan, Step, diff


_SGR = {"bold": "1", "red": "31", "green": "32", "cyan": "36"}


def _paint(text: str, what: str, color: bool) -> str:
    return f"\033[{_SGR[what]}m{text}\033[0m" if color and text else text


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


def color_diff(text: str, color: bool) -> str:
    """A unified diff with git's colours (unchanged when ``color`` is False)."""
    if not color:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if body.startswith(("---", "+++")):
            body = _paint(body, "bold", True)
        elif body.startswith("@@"):
            body = _paint(body, "cyan", True)
        elif body.startswith("+"):
            body = _paint(body, "green", True)
        elif body.startswith("-"):
            body = _paint(body, "red", True)
        out.append(body + nl)
    return "".join(out)


def step_line(step: Step) -> str:
    where = f" -n {step.namespace}" if step.namespace else ""
    return f"{step.verb} {step.ref}{where}"


def plan_text(plan: Plan, *, diffs: bool = True, color: bool = False, blocked: bool = False) -> str:
    """The plan as shown before anything is done. ``blocked``: the planner refused (its warnings say
    why), so the plan is not "nothing to change"."""
    lines = [_paint(f"Plan: {plan.title}", "bold", color)]
    for warning in plan.warnings:
        lines.append(_indent(f"warning: {warning}", "  ").rstrip("\n"))
    for note in plan.notes:
        lines.append(f"  note: {note}")
    if plan.empty:
        if not blocked:
            lines.append("Nothing to change: everything is already in place.")
        return "\n".join(lines) + "\n"
    lines.append("")
    for i, step in enumerate(plan.steps, 1):
        lines.append(_paint(f"{i}. {step_line(step)}", "bold", color) + f": {step.description}")
        if diffs and step.verb != "delete":
            text = diff(step, mask=True)
            if text:
                lines.append(_indent(color_diff(text, color)).rstrip("\n"))
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
