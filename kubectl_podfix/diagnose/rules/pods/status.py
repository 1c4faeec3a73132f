"""What the pod's own status and events say, read the same way by every pod rule."""

from __future__ import annotations

from kubectl_podfix.diagnose.model import PodContext, dig, event_time, parse_time


def reason_and_message(ctx: PodContext) -> tuple[str, str]:
    """The pod's ``status.reason`` and ``status.message`` ("" when absent)."""
    return dig(ctx.pod, "status.reason") or "", (dig(ctx.pod, "status.message") or "").strip()


def pod_condition(ctx: PodContext, type_: str) -> dict | None:
    """The pod's condition of that type (Ready, DisruptionTarget...), or None."""
    return next((c for c in dig(ctx.pod, "status.conditions", []) or [] if c.get("type") == type_), None)


def assigned_node(ctx: PodContext) -> str:
    """The name of the node the pod is bound to, or ""."""
    return dig(ctx.pod, "spec.nodeName") or ""


def node_ready(node: dict | None) -> tuple[str | None, dict | None]:
    """(status of the node's Ready condition, the condition), or (None, None) without a node."""
    if not node:
        return None, None
    conditions = dig(node, "status.conditions", []) or []
    if not conditions:
        return None, None  # a Node object without its conditions (a partial copy) says nothing about readiness
    cond = next((c for c in conditions if c.get("type") == "Ready"), None)
    return ((cond or {}).get("status") or "Unknown"), cond


def events_with(ctx: PodContext, reasons: set[str]) -> list[dict]:
    """The pod's events with one of these reasons, in the order given."""
    return [ev for ev in ctx.events if ev.get("reason") in reasons]


def pod_started(ctx: PodContext) -> bool:
    """Whether any app container has started (so pre-start warnings are history)."""
    for st in dig(ctx.pod, "status.containerStatuses", []) or []:
        if dig(st, "state.running") or dig(st, "state.terminated") or dig(st, "lastState.terminated"):
            return True
    return False


def after_start(ctx: PodContext, evs: list[dict]) -> list[dict]:
    """Events newer than the most recent container start (all of them when nothing started)."""
    starts = [parse_time(dig(st, "state.running.startedAt")) for st in dig(ctx.pod, "status.containerStatuses", []) or []]
    starts = [s for s in starts if s]
    if not starts:
        return evs
    latest = max(starts)
    return [ev for ev in evs if (event_time(ev) or latest) > latest]
