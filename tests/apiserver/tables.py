"""``meta.k8s.io/v1`` Tables, what ``kubectl get`` asks for (``Accept: ...;as=Table``).

Pods get kubectl's own columns (printPod, simplified); other kinds the server's default table convertor.
"""

from __future__ import annotations

import datetime as dt

from .resources import Res, dig

def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    s = max(s, 0)
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d" if d < 2920 and d % 365 else f"{d // 365}y"


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return human_duration((dt.datetime.now(dt.timezone.utc) - t).total_seconds())


def pod_cells(pod: dict) -> list:
    """kubectl's printPod, simplified (no sidecar containers)."""
    spec, st = pod.get("spec") or {}, pod.get("status") or {}
    reason = st.get("reason") or st.get("phase") or ""
    restarts, ready, last, initializing = 0, 0, None, False
    for i, c in enumerate(st.get("initContainerStatuses") or []):
        restarts += c.get("restartCount", 0)
        state = c.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode", 0) == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    if not initializing:
        restarts, running = 0, False
        for c in reversed(st.get("containerStatuses") or []):
            restarts += c.get("restartCount", 0)
            finished = dig(c, "lastState.terminated.finishedAt")
            last = max(last or finished, finished) if finished else last
            state = c.get("state") or {}
            wait, term = state.get("waiting") or {}, state.get("terminated") or {}
            if wait.get("reason"):
                reason = wait["reason"]
            elif term:
                reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal")
                                                else f"ExitCode:{term.get('exitCode', 0)}")
            elif "running" in state and c.get("ready"):
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if st.get("reason") == "NodeLost" else "Terminating"
    restart_cell = f"{restarts} ({_age(last)} ago)" if last else str(restarts)
    return [pod["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", reason, restart_cell,
            _age(pod["metadata"].get("creationTimestamp")), st.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", st.get("nominatedNodeName") or "<none>", "<none>"]


def _col(name, typ="string", fmt="", priority=0, desc=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


def to_table(res: Res, items: list[dict], meta: dict, include: str) -> dict:
    if res.kind == "Pod":
        cols = [_col("Name", fmt="name"), _col("Ready"), _col("Status"), _col("Restarts"), _col("Age"),
                _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1),
                _col("Readiness Gates", priority=1)]
        cells = pod_cells
    else:  # the server's default table convertor (what CRDs get)
        cols = [_col("Name", fmt="name"), _col("Created At", "date")]
        cells = lambda o: [o["metadata"]["name"], o["metadata"].get("creationTimestamp")]  # noqa: E731
    rows = []
    for o in items:
        row = {"cells": cells(o)}
        if include == "Object":
            row["object"] = {"kind": res.kind, "apiVersion": res.api_version, **o}
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols,
            "rows": rows}
