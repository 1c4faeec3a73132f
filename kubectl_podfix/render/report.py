"""Output formats. Knows nothing about clusters: it turns reports into text.

``FORMATS`` maps each ``-o`` value to a function ``(results, out, *, groups,
color, warnings)``. JSON and YAML print the stable report contract; text is
for people: a verdict per pod, then evidence and what to do. Colour only when
asked for (the CLI decides: a TTY and no NO_COLOR).
"""

from __future__ import annotations

import json
import textwrap
from typing import Callable, TextIO

from kubectl_podfix.diagnose.model import age, parse_time, utcnow
from kubectl_podfix.diagnose.report import Group, PodResult, group, to_report

_MARK = {"error": "✗", "warning": "!", "info": "i"}
_COLOR = {"error": "31", "warning": "33", "info": "36", "bold": "1", "dim": "2"}


class _Style:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, what: str) -> str:
        return f"\033[{_COLOR[what]}m{text}\033[0m" if self.enabled else text


def _wrap(text: str, indent: str, width: int = 100) -> list[str]:
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(para, width=width, initial_indent=indent, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False) or [indent.rstrip()])
    return lines


def _pod_header(r: PodResult, style: _Style) -> str:
    owner = r.ctx.owner
    phase = r.ctx.pod.get("status", {}).get("phase") or "Unknown"
    extra = f", {owner['kind']}/{owner['name']}" if owner else ""
    return style(f"pod {r.ctx.namespace}/{r.ctx.name}", "bold") + f" ({phase}{extra})"


def _finding_lines(f, style: _Style, full: bool) -> list[str]:
    where = f" [{f.container}]" if f.container else ""
    out = [f"  {style(_MARK.get(f.severity, '?'), f.severity)} {style(f.code, f.severity)}{where}  {f.title}"]
    if not full:
        return out
    out.extend(_wrap(f.explanation, "    "))
    if f.evidence:
        out.append("    " + style("Evidence:", "dim"))
        for item in f.evidence:
            out.extend(_wrap(item, "      - ")[:1] + _wrap(item, "        ")[1:] if len(item) > 90 else [f"      - {item}"])
    if f.suggestions:
        out.append("    " + style("Next steps:", "dim"))
        for item in f.suggestions:
            out.append(f"      - {item}")
    if f.fix:
        out.append("    " + style("Fix:", "dim") + f" {f.fix.command}")
    return out


def _pod_text(r: PodResult, style: _Style, wide: bool) -> list[str]:
    lines = [_pod_header(r, style)]
    if not r.findings:
        lines.append("  ok: no problems found")
        return lines
    for i, f in enumerate(r.findings):
        lines.extend(_finding_lines(f, style, full=wide or i == 0))
    return lines


def _summary_table(groups: list[Group], workloads: list | None = None) -> str:
    from tabulate import tabulate

    now = utcnow()
    rows = []
    for w in workloads or []:
        missing, wanted = w.shortfall()
        first = w.findings[0]
        start = parse_time(first.since) if first.since else None
        rows.append([w.ctx.namespace, w.ctx.short, f"{missing}/{wanted}", first.code, first.title,
                     age((now - start).total_seconds()) if start else "?"])
    for g in groups:
        start = parse_time(g.since)
        rows.append([g.namespace, g.workload, f"{len(g.results)}/{g.total}", g.code, g.title,
                     age((now - start).total_seconds()) if start else "?"])
    return tabulate(rows, headers=["NAMESPACE", "WORKLOAD", "PODS", "DIAGNOSIS", "SUMMARY", "SINCE"],
                    tablefmt="plain")


def _workload_text(w, style: _Style, wide: bool) -> list[str]:
    """A workload's block: 'deployment shop/web (0/3 ready)' then its findings, like a pod's."""
    kind = w.ctx.ref.split("/", 1)[0]
    lines = [style(f"{kind} {w.ctx.namespace}/{w.ctx.name}", "bold") + f" ({w.summary()})"]
    if not w.findings:
        lines.append("  ok: no problems found")
        return lines
    for i, f in enumerate(w.findings):
        lines.extend(_finding_lines(f, style, full=wide or i == 0))
    return lines


def table_workloads(groups: list[Group], workloads: list | None) -> list:
    """The workloads that get a row of their own: a problem their pods' rows do not already show."""
    rows = {(g.namespace, g.workload) for g in groups}
    return [w for w in workloads or [] if w.problem and not (w.from_pods and (w.ctx.namespace, w.ctx.short) in rows)]


def text(results: list[PodResult], out: TextIO, *, color: bool = False, wide: bool = False,
         warnings: list[str] | None = None, owners_of_all=None, scope: bool = False, workloads=None,
         target: bool = False) -> None:
    style = _Style(color)
    lines: list[str] = []
    if scope:
        groups = group(results, owners_of_all)
        rows = table_workloads(groups, workloads)
        if groups or rows:
            lines.append(_summary_table(groups, rows))
        elif not (target and workloads):
            lines.append("No pods with problems found.")
        for w in (workloads or []) if target else rows:  # explain TYPE/NAME: that workload, whatever its state
            if lines:
                lines.append("")
            lines.extend(_workload_text(w, style, wide))
        for g in groups:
            lines.append("")
            first = g.results[0]
            if len(g.results) > 1:
                others = ", ".join(r.ctx.name for r in g.results[1:4]) + (" ..." if len(g.results) > 4 else "")
                lines.append(style(f"{len(g.results)}/{g.total} pods of {g.workload}: {g.code}", "bold")
                             + f" (also {others})")
            lines.extend(_pod_text(first, style, wide))
    else:
        for w in workloads or []:
            if not (target or (w.problem and not w.from_pods)):
                continue  # its pods' blocks below say it
            if lines:
                lines.append("")
            lines.extend(_workload_text(w, style, wide))
        for r in results:
            if lines:
                lines.append("")
            lines.extend(_pod_text(r, style, wide))
    for w in warnings or []:
        lines.append(style(f"note: {w}", "dim"))
    out.write("\n".join(lines) + "\n")


def wide(results: list[PodResult], out: TextIO, **kw) -> None:
    kw["wide"] = True
    text(results, out, **kw)


def as_json(results: list[PodResult], out: TextIO, *, warnings: list[str] | None = None, workloads=None,
            **_kw) -> None:
    json.dump(to_report(results, warnings, workloads), out, indent=2, ensure_ascii=False)
    out.write("\n")


def as_yaml(results: list[PodResult], out: TextIO, *, warnings: list[str] | None = None, workloads=None,
            **_kw) -> None:
    import yaml

    yaml.safe_dump(to_report(results, warnings, workloads), out, sort_keys=False, allow_unicode=True)


FORMATS: dict[str, Callable[..., None]] = {"text": text, "wide": wide, "json": as_json, "yaml": as_yaml}
