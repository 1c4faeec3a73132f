"""The previous container's log: which containers need it fetched, and which of its lines to quote.

``needs_logs`` is the gatherer's question (``cluster/gather.py`` fetches only
those logs); ``quote_log`` and ``log_evidence`` are the crash rules' answer.
"""

from __future__ import annotations

import datetime as _dt
import re

from kubectl_podfix.diagnose.model import PodContext, dig, parse_time
from kubectl_podfix.diagnose.rules.containers.state import POD_TERMINAL_REASONS, RECOVERED_AFTER

LOG_QUOTE_LINES = 8

_LOG_INTERESTING = re.compile(
    r"(panic:|fatal error:|\bfatal\b|\bFATAL\b|Traceback \(most recent call last\)|Exception\b|Error:|\bERROR\b|"
    r"\bCRITICAL\b|Caused by:|exec format error|segmentation fault|SIGSEGV|core dumped|OutOfMemoryError|"
    r"out of memory|Killed\b|no such file or directory|permission denied|not found|command not found|"
    r"cannot |could not |unable to |failed to |refused|\bexit(?:ed|ing)? (?:with|status|code))",
    re.IGNORECASE)


def quote_log(text: str | None, limit: int = LOG_QUOTE_LINES) -> list[str]:
    """The log lines that matter: errors, panics, exceptions, plus the very last lines."""
    if not text:
        return []
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    picked: list[int] = [i for i, ln in enumerate(lines) if _LOG_INTERESTING.search(ln)]
    tail = list(range(max(0, len(lines) - 3), len(lines)))
    chosen = sorted(set(picked[-(limit - len(tail)):] if len(picked) > limit - len(tail) else picked) | set(tail))
    out = []
    for i in chosen[-limit:]:
        ln = lines[i]
        out.append(ln if len(ln) <= 300 else ln[:297] + "...")
    return out


def log_evidence(ctx: PodContext, name: str) -> tuple[list[str], str | None]:
    """(evidence lines quoting the previous log, note when the log is unavailable)."""
    text = ctx.previous_log(name)
    if text is None:
        if "logs" in ctx.missing:
            return [], "the previous container's log is not in the data: logs were not gathered"
        return [], None
    quoted = quote_log(text)
    if not quoted:
        return ["previous log: (empty)"], None
    return [f"log: {ln}" for ln in quoted], None


# -- what the gatherer should fetch ----------------------------------------------------

_LOG_WORTHY_WAITING = {"CrashLoopBackOff", "RunContainerError", "Error"}
MAX_LOG_CONTAINERS = 6


def needs_logs(pod: dict, now: _dt.datetime | None = None) -> list[str]:
    """Containers whose previous log the crash rules would quote, at most MAX_LOG_CONTAINERS.

    A container needs its log when it is crash-looping, has just terminated with
    a non-zero exit code, or (running again) its last run ended with an error
    and it is not Ready yet. OOM kills (the cause is known), succeeded pods and
    pods stopped by the node (eviction, deadline, preemption) need none. With
    ``now``, a running container whose last restart is older than
    RECOVERED_AFTER is skipped even when not Ready.
    """
    status = pod.get("status") or {}
    if status.get("phase") == "Succeeded":
        return []
    reason = status.get("reason") or ""
    if reason in POD_TERMINAL_REASONS or reason.startswith("OutOf"):
        return []
    out: list[str] = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for st in status.get(key) or []:
            if not isinstance(st, dict) or not st.get("name"):
                continue
            cur = dig(st, "state.terminated")
            last = dig(st, "lastState.terminated")
            w_reason = dig(st, "state.waiting.reason") or ""
            restarts = st.get("restartCount") or 0
            want = False
            if cur:
                want = cur.get("exitCode") not in (0, None) and cur.get("reason") != "OOMKilled"
            elif w_reason in _LOG_WORTHY_WAITING:
                want = bool(last) and last.get("reason") != "OOMKilled" or (not last and restarts > 0)
            elif dig(st, "state.running") and restarts > 0 and last:
                want = (last.get("exitCode") not in (0, None) or key == "containerStatuses") \
                    and last.get("reason") != "OOMKilled" and st.get("ready") is False
                started = parse_time(dig(st, "state.running.startedAt"))
                if want and now is not None and started and (now - started).total_seconds() >= RECOVERED_AFTER:
                    want = False
            if want and st["name"] not in out:
                out.append(st["name"])
    return out[:MAX_LOG_CONTAINERS]
