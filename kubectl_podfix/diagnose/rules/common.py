"""Small pure helpers shared by the rule families."""

from __future__ import annotations

import datetime as _dt
from typing import Callable

from kubectl_podfix.diagnose.model import PodContext, age, dig, event_first_time, event_time


def waiting(status: dict | None) -> tuple[str, str]:
    """(reason, message) of a container's waiting state, or ("", "")."""
    w = dig(status or {}, "state.waiting") or {}
    return w.get("reason") or "", w.get("message") or ""


def terminated(status: dict | None, last: bool = False) -> dict | None:
    """The current (or with ``last``, the previous) terminated state of a container."""
    return dig(status or {}, ("lastState" if last else "state") + ".terminated")


def events_about(ctx: PodContext, container: str | None, reasons: set[str] | None = None,
                 include_pod_level: bool = False) -> list[dict]:
    """Events for ``container`` (matched by fieldPath), newest last.

    With ``include_pod_level``, events with no fieldPath (pod-wide, e.g.
    FailedToRetrieveImagePullSecret) are included too.
    """
    out = []
    for ev in ctx.events:
        if reasons is not None and ev.get("reason") not in reasons:
            continue
        path = dig(ev, "involvedObject.fieldPath", "") or ""
        if container is None:
            out.append(ev)
        elif path:
            if path.endswith(f"{{{container}}}"):
                out.append(ev)
        elif include_pod_level:
            out.append(ev)
    return out


def describe_event(ev: dict, now: _dt.datetime | None = None) -> str:
    """One evidence line, like kubectl describe: 'Warning Failed (x4 over 3m): <message>'."""
    count = ev.get("count") or 1
    parts = [ev.get("type") or "Normal", ev.get("reason") or "?"]
    when = ""
    if now is not None:
        first, last = event_first_time(ev), event_time(ev)
        if count > 1 and first and last:
            when = f" (x{count} over {age((now - first).total_seconds())})"
        elif last:
            when = f" ({age((now - last).total_seconds())} ago)"
    elif count > 1:
        when = f" (x{count})"
    return f"event {parts[0]} {parts[1]}{when}: {(ev.get('message') or '').strip()}"


def kubectl(ctx: PodContext, *args: str) -> str:
    """A kubectl command line for this pod's namespace."""
    return " ".join(("kubectl", *args, "-n", ctx.namespace))


def all_of(*needles: str) -> Callable[[str], bool]:
    """A message matcher for a classifier table: true when every needle is in the (lowercased) text."""
    return lambda low: all(n in low for n in needles)


def node_phrase(name: str | None) -> str:
    """ "node worker-1", or "its node" when the pod names none: never "node ?" or "node the node"."""
    return f"node {name}" if name else "its node"


def the_node(name: str | None) -> str:
    """ "the node worker-1", or "the pod's node" when the pod names none."""
    return f"the node {name}" if name else "the pod's node"


def node_arg(ctx: PodContext) -> str:
    """The pod's node as a command argument: its name, or the command that prints it."""
    name = (ctx.pod.get("spec") or {}).get("nodeName") if isinstance(ctx.pod, dict) else None
    if name:
        return name
    return "$(" + kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath='{.spec.nodeName}'") + ")"
