"""Output formats. Knows nothing about clusters: it turns reports into text.

``FORMATS`` maps each ``-o`` value to a function ``(results, out, *, color,
width, warnings, ...)``. JSON and YAML print the stable report contract; text is
for people: a verdict per pod, then evidence and what to do. Colour and width
are decided by the caller (``render.terminal``: colour only on a terminal without
NO_COLOR or TERM=dumb; the terminal's width, or None when piped).

``wide`` is text plus what ``kubectl get -o wide`` adds: node, IP, restarts,
age and image, as a line under each pod and as columns of the scan table, and
every finding in full (text shows secondary findings as one line each).
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Callable, TextIO

from kubectl_podfix.diagnose.model import age, parse_time, report_now
from kubectl_podfix.diagnose.report import Group, PodResult, group, group_details, pod_details, to_report
from kubectl_podfix.render.terminal import paragraph_width

_MARK = {"error": "✗", "warning": "!", "info": "i"}
_COLOR = {"error": "31", "warning": "33", "info": "36", "bold": "1", "dim": "2"}
ELLIPSIS = "…"
MIN_SUMMARY = 12  # SUMMARY is never cut shorter than this: the row is wider than the terminal instead
GAP = "   "  # between table columns, as kubectl
# Where a command starts inside a suggestion ("list the tags: crane ls ..."): it goes on a line of its own
# rather than being broken over two when the suggestion does not fit.
_COMMAND = re.compile(r"(?:^|(?<=: )|(?<=\(or: ))(?:kubectl|crane|skopeo|docker|podman|nerdctl|crictl|ctr|kind|"
                      r"minikube|helm|flux|argocd|aws|gcloud|az|curl|wget|nslookup|dig|openssl|echo|sudo)\s")
_ALTERNATIVE = "   (or: "


class _Style:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, what: str) -> str:
        return f"\033[{_COLOR[what]}m{text}\033[0m" if self.enabled else text


class _Layout:
    """Colour and widths for one rendering: ``width`` is the terminal's (None when piped)."""

    def __init__(self, color: bool, width: int | None):
        self.style = _Style(color)
        self.width = width
        self.para = paragraph_width(width)

    def wrap(self, text: str, indent: str, rest: str | None = None) -> list[str]:
        rest = indent if rest is None else rest
        lines: list[str] = []
        for i, para in enumerate(text.splitlines() or [""]):
            lines.extend(textwrap.wrap(para, width=self.para, initial_indent=indent if i == 0 else rest,
                                       subsequent_indent=rest, break_long_words=False,
                                       break_on_hyphens=False) or [(indent if i == 0 else rest).rstrip()])
        return lines

    def line(self, text: str, indent: str, rest: str) -> list[str]:
        """A one-line item (headline, note): wrapped on a terminal, one line when piped (for grep)."""
        if self.width is None:
            return [indent + text]
        return self.wrap(text, indent, rest)

    def command_item(self, text: str, indent: str, rest: str) -> list[str]:
        """A suggestion: prose wraps; a command in it stays whole, on a line of its own when it must."""
        if len(indent) + len(text) <= self.para or "\n" in text:
            return self.wrap(text, indent, rest)
        match = _COMMAND.search(text)
        if match is None:
            return self.wrap(text, indent, rest)
        prose, command = text[:match.start()].rstrip(), text[match.start():]
        lines = self.wrap(prose, indent, rest) if prose else []
        first = rest if lines else indent
        parts = [command]
        if len(first) + len(command) > self.para and _ALTERNATIVE in command:
            head, _, tail = command.partition(_ALTERNATIVE)
            parts = [head.rstrip(), "(or: " + tail]
        lines.append(first + parts[0])
        lines.extend(rest + p for p in parts[1:])
        return lines


def _pod_header(r: PodResult, style: _Style) -> str:
    owner = r.ctx.owner
    phase = r.ctx.pod.get("status", {}).get("phase") or "Unknown"
    extra = f", {owner['kind']}/{owner['name']}" if owner else ""
    return style(f"pod {r.ctx.namespace}/{r.ctx.name}", "bold") + f" ({phase}{extra})"


def _pod_details(r: PodResult, lay: _Layout) -> list[str]:
    """-o wide: where the pod runs and what it runs, like kubectl get pod -o wide."""
    d = pod_details(r, report_now())
    line = f"  node {d['node']}   IP {d['ip']}   restarts {d['restarts']}   age {d['age']}"
    images = d["images"]
    if len(images) == 1:
        image_text = next(iter(images.values()))
    else:
        image_text = ", ".join(f"{c}={i}" for c, i in images.items()) or "<none>"
    return [line] + lay.wrap(f"image{'s' if len(images) > 1 else ''} {image_text}", "  ", "    ")


def _finding_lines(f, lay: _Layout, full: bool) -> list[str]:
    style = lay.style
    where = f" [{f.container}]" if f.container else ""
    mark = _MARK.get(f.severity, "?")
    head = lay.line(f.title, f"  {mark} {f.code}{where}  ", "      ")
    styled = f"  {style(mark, f.severity)} {style(f.code, f.severity)}{where}  "
    head[0] = styled + head[0][len(f"  {mark} {f.code}{where}  "):]
    out = head
    if not full:
        return out
    out.extend(lay.wrap(f.explanation, "    "))
    if f.evidence:
        out.append("    " + style("Evidence:", "dim"))
        for item in f.evidence:
            out.extend(lay.wrap(item, "      - ", "        "))
    if f.suggestions:
        out.append("    " + style("Next steps:", "dim"))
        for item in f.suggestions:
            out.extend(lay.command_item(item, "      - ", "        "))
    if f.fix:
        if len("    Fix: ") + len(f.fix.command) <= lay.para:
            out.append("    " + style("Fix:", "dim") + f" {f.fix.command}")
        else:
            out.extend(["    " + style("Fix:", "dim"), f"      {f.fix.command}"])
    return out


def _pod_text(r: PodResult, lay: _Layout, wide: bool) -> list[str]:
    lines = [_pod_header(r, lay.style)]
    if wide:
        lines.extend(_pod_details(r, lay))
    if not r.findings:
        lines.append("  ok: no problems found")
        return lines
    for i, f in enumerate(r.findings):
        lines.extend(_finding_lines(f, lay, full=wide or i == 0))
    return lines


def _table(headers: list[str], rows: list[list[str]], width: int | None) -> list[str]:
    """Columns left-aligned, GAP apart; the last column (free text) is cut with "…" to fit ``width``."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    fixed = sum(widths) + len(GAP) * (len(widths))
    room = None if width is None else max(MIN_SUMMARY, width - fixed)
    out = []
    for row in [headers, *rows]:
        last = str(row[-1])
        if room is not None and len(last) > room:
            last = last[: room - 1].rstrip() + ELLIPSIS
        cells = [str(c).ljust(w) for c, w in zip(row, widths)]
        out.append(GAP.join(cells + [last]).rstrip())
    return out


def _summary_table(groups: list[Group], *, width: int | None, wide: bool, namespaces: bool,
                   workloads: list | None = None) -> list[str]:
    now = report_now()
    headers = (["NAMESPACE"] if namespaces else []) + ["WORKLOAD", "PODS", "SINCE", "DIAGNOSIS"]
    if wide:
        headers += ["RESTARTS", "AGE", "NODE", "IP", "IMAGE"]
    headers.append("SUMMARY")
    rows = []
    for w in workloads or []:  # workloads whose pods never come first: nothing else shows them
        missing, wanted = w.shortfall()
        first = w.findings[0]
        start = parse_time(first.since) if first.since else None
        row = ([w.ctx.namespace] if namespaces else []) + [
            w.ctx.short, f"{missing}/{wanted}", age((now - start).total_seconds()) if start else "-", first.code]
        if wide:
            created = w.ctx.created_age()
            images = sorted({c.get("image") or "?" for c in (w.ctx.template().get("spec") or {}).get("containers")
                             or [] if isinstance(c, dict)})
            row += ["-", age(created) if created is not None else "?", "-", "-", ", ".join(images) or "-"]
        row.append(first.title)
        rows.append(row)
    for g in groups:
        start = parse_time(g.since)
        row = ([g.namespace] if namespaces else []) + [
            g.workload, f"{len(g.results)}/{g.total}", age((now - start).total_seconds()) if start else "-", g.code]
        if wide:
            d = group_details(g, now)
            row += [str(d["restarts"]), d["age"], d["node"], d["ip"], d["image"]]
        row.append(g.title)
        rows.append(row)
    return _table(headers, rows, width)


def _workload_text(w, lay: _Layout, wide: bool) -> list[str]:
    """A workload's block: 'deployment shop/web (0/3 ready)' then its findings, like a pod's."""
    kind = w.ctx.ref.split("/", 1)[0]
    lines = [lay.style(f"{kind} {w.ctx.namespace}/{w.ctx.name}", "bold") + f" ({w.summary()})"]
    if not w.findings:
        lines.append("  ok: no problems found")
        return lines
    for i, f in enumerate(w.findings):
        lines.extend(_finding_lines(f, lay, full=wide or i == 0))
    return lines


def table_workloads(groups: list[Group], workloads: list | None) -> list:
    """The workloads that get a row of their own: a problem their pods' rows do not already show."""
    rows = {(g.namespace, g.workload) for g in groups}
    # a pod's row is under its top controller: a ReplicaSet of an Argo Rollout (a kind podfix does not read) is
    # a workload of its own, yet its pods' row is rollout/NAME; the pod it quotes says whether a row shows it
    shown = {(g.namespace, r.ctx.name) for g in groups for r in g.results}
    return [w for w in workloads or [] if w.problem and not (w.from_pods and (
        (w.ctx.namespace, w.ctx.short) in rows
        or (w.ctx.namespace, (w.findings[0].extra.get("pod") or {}).get("name")) in shown))]


def text(results: list[PodResult], out: TextIO, *, color: bool = False, wide: bool = False,
         warnings: list[str] | None = None, owners_of_all=None, scope: bool = False, width: int | None = None,
         all_namespaces: bool = False, workloads=None, target: bool = False) -> None:
    """People's format. ``width``: the terminal's columns, None when piped (see render.terminal);
    ``all_namespaces``: the scan covered every namespace (the table then always names them).
    ``workloads``: the workloads explained (``WorkloadResult``); ``target``: one was asked for by TYPE/NAME,
    and its block is shown whatever its state."""
    lay = _Layout(color, width)
    style = lay.style
    lines: list[str] = []
    if scope:
        groups = group(results, owners_of_all)
        rows = table_workloads(groups, workloads)
        if groups or rows:
            namespaces = all_namespaces or len({g.namespace for g in groups} | {w.ctx.namespace for w in rows}) > 1
            lines.extend(_summary_table(groups, width=width, wide=wide, namespaces=namespaces, workloads=rows))
        elif not (target and workloads):
            lines.append("No pods with problems found.")
        for w in (workloads or []) if target else rows:  # explain TYPE/NAME: that workload, whatever its state
            if lines:
                lines.append("")
            lines.extend(_workload_text(w, lay, wide))
        for g in groups:
            lines.append("")
            first = g.results[0]
            if len(g.results) > 1:
                others = ", ".join(r.ctx.name for r in g.results[1:4]) + (" ..." if len(g.results) > 4 else "")
                head = f"{len(g.results)}/{g.total} pods of {g.workload}: {g.code}"
                wrapped = lay.line(f"{head} (also {others})", "", "  ")
                wrapped[0] = style(head, "bold") + wrapped[0][len(head):]
                lines.extend(wrapped)
            lines.extend(_pod_text(first, lay, wide))
    else:
        for w in workloads or []:
            if not (target or (w.problem and not w.from_pods)):
                continue  # its pods' blocks below say it
            if lines:
                lines.append("")
            lines.extend(_workload_text(w, lay, wide))
        for r in results:
            if lines:
                lines.append("")
            lines.extend(_pod_text(r, lay, wide))
    for w in warnings or []:
        lines.extend(style(line, "dim") for line in lay.line(f"note: {w}", "", "  "))
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
