"""Core ``v1`` Events <-> ``events.k8s.io/v1`` Events.

Both APIs share one store (as in a real cluster); objects are kept in the core shape and converted when
served under ``/apis/events.k8s.io/v1`` (and back when written there).
"""

from __future__ import annotations

_EV_MAP = [("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
           ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
           ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")]


def event_to_new(ev: dict) -> dict:
    out = {**ev, "apiVersion": "events.k8s.io/v1"}
    for old, new in _EV_MAP:
        if old in out:
            out[new] = out.pop(old)
    out.setdefault("eventTime", None)
    return out


def event_to_core(ev: dict) -> dict:
    out = {**ev, "apiVersion": "v1"}
    for old, new in _EV_MAP:
        if new in out:
            out[old] = out.pop(new)
    for k in ("eventTime", "firstTimestamp", "lastTimestamp"):
        out.setdefault(k, None)
    return out
