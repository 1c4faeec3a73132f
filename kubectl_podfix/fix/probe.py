"""Plan ``fix probe``: give a slow starter time to start, or loosen a probe the user names.

Pure. Defaults, by the probe that failed:

* liveness (a slow starter: it was killed about when the liveness budget ran
  out): add a ``startupProbe`` with the liveness probe's handler, period and
  timeout, and a ``failureThreshold`` whose budget covers twice the longest
  start seen (at least 3 x the liveness budget, at least 120 s). While a
  startup probe has not succeeded the kubelet does not run the liveness
  probe, so the liveness check keeps its meaning afterwards. When the
  container already has a startupProbe, its ``failureThreshold`` is raised
  instead. A container that ran well past the budget before failing is not a
  slow starter: a timeout raises ``timeoutSeconds``, anything else is refused
  (loosening the probe would only hide a hung application).
* startup: raise its ``failureThreshold`` to the same budget.
* readiness: a timeout raises ``timeoutSeconds``; anything else is refused
  without explicit flags.

``--initial-delay``, ``--failure-threshold`` and ``--timeout-seconds`` set
those fields of the failing probe (or ``--probe KIND``) exactly, and nothing
else.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from kubectl_podfix.diagnose.model import age, dig
from kubectl_podfix.errors import Refused, UsageError
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import Plan

FIX_ID = "probe"
KINDS = ("liveness", "readiness", "startup")
DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
            "failureThreshold": 3}
MIN_STARTUP_BUDGET = 120
HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")


@dataclass
class ProbeInput:
    workload: wl.Workload
    container: str
    kind: str  # the probe that failed: liveness | readiness | startup
    result: str | None = None  # the probe rule's result kind: "timeout", "connection-refused", ...
    observed_start: float | None = None  # seconds from container start to Ready, longest seen
    last_run: float | None = None  # seconds the killed container ran


def settings(probe: dict | None) -> dict:
    probe = probe or {}
    return {k: int(probe[k]) if isinstance(probe.get(k), int) and probe[k] > 0 else v
            for k, v in DEFAULTS.items()}


def budget(probe: dict | None) -> int:
    """Seconds a container has before this probe kills it: delay + failureThreshold x period."""
    s = settings(probe)
    return s["initialDelaySeconds"] + s["failureThreshold"] * s["periodSeconds"]


def startup_budget(inp: ProbeInput, liveness: dict | None) -> int:
    seen = max(inp.observed_start or 0, inp.last_run or 0)
    return int(max(2 * seen, 3 * budget(liveness), MIN_STARTUP_BUDGET))


def startup_probe_from(liveness: dict, needed: int) -> dict:
    """A startupProbe with the liveness probe's handler, period and timeout, and a budget of ``needed`` s."""
    out = {k: copy.deepcopy(v) for k, v in liveness.items() if k in HANDLERS}
    s = settings(liveness)
    out["periodSeconds"] = s["periodSeconds"]
    out["timeoutSeconds"] = s["timeoutSeconds"]
    out["failureThreshold"] = max(1, math.ceil(needed / s["periodSeconds"]))
    if s["initialDelaySeconds"]:
        out["initialDelaySeconds"] = s["initialDelaySeconds"]
    return out


def plan_probe(inp: ProbeInput, *, probe: str | None = None, initial_delay: int | None = None,
               failure_threshold: int | None = None, timeout_seconds: int | None = None) -> Plan:
    w = inp.workload
    source, container = wl.target_container(w, inp.container)
    kind = probe or inp.kind
    if kind not in KINDS:
        raise UsageError(f"invalid probe {kind!r}: one of {', '.join(KINDS)}")
    key = f"{kind}Probe"
    current = container.get(key)
    plan = Plan(FIX_ID, f"adjust the {kind} probe of container {inp.container} of {wl.ref(source)}", w.namespace,
                pod=dig(w.pod, "metadata.name") if w.pod else None)
    explicit = {k: v for k, v in (("initialDelaySeconds", initial_delay), ("failureThreshold", failure_threshold),
                                  ("timeoutSeconds", timeout_seconds)) if v is not None}
    for field, value in explicit.items():
        if value < (0 if field == "initialDelaySeconds" else 1):
            raise UsageError(f"invalid {_flag(field)} {value}: must be at least "
                             f"{0 if field == 'initialDelaySeconds' else 1}")
    if explicit:
        if not isinstance(current, dict):
            raise Refused(f"container {inp.container} has no {kind} probe to change"
                          + (" (choose one with --probe)" if probe is None else ""))
        s = settings(current)
        changed = {k: v for k, v in explicit.items() if s[k] != v}
        if not changed:
            plan.notes.append(f"the {kind} probe already has " + ", ".join(f"{k}={v}" for k, v in explicit.items())
                              + ": unchanged")
            return plan
        change = ", ".join(f"{kind}Probe.{k} {s[k]} -> {v}" for k, v in changed.items())
        return wl.finish(plan, w, inp.container, {key: changed}, change + " (as asked)",
                         what=f"change its {kind} probe")
    if kind == "liveness":
        if not isinstance(current, dict):
            raise Refused(f"container {inp.container} has no liveness probe: nothing to adjust "
                          "(choose another with --probe)")
        kill = budget(current)
        period = settings(current)["periodSeconds"]
        if inp.last_run is not None and inp.last_run > kill + 3 * period and inp.result != "timeout":
            raise Refused(
                f"container {inp.container} ran {age(inp.last_run)} before its liveness probe failed, far longer "
                f"than the {kill}s the probe allows a start: this is not a slow start but an application that "
                f"stopped answering ({inp.result or 'unknown result'}), and loosening the probe would only hide "
                f"it. To change the probe anyway pass --failure-threshold, --timeout-seconds or --initial-delay")
        if inp.last_run is not None and inp.last_run > kill + 3 * period:
            return _raise_timeout(plan, w, inp, kind, current)
        existing = container.get("startupProbe")
        needed = startup_budget(inp, current)
        if isinstance(existing, dict):
            return _raise_threshold(plan, w, inp, "startup", existing, needed)
        new = startup_probe_from(current, needed)
        seen = max(inp.observed_start or 0, inp.last_run or 0)
        basis = (f"twice the longest start seen ({age(seen)})" if 2 * seen >= max(3 * kill, MIN_STARTUP_BUDGET)
                 else f"3 x the liveness budget of {kill}s" if 3 * kill >= MIN_STARTUP_BUDGET
                 else f"at least {MIN_STARTUP_BUDGET}s")
        change = (f"add a startupProbe mirroring the liveness probe with {new['failureThreshold']} x "
                  f"{new['periodSeconds']}s = {new['failureThreshold'] * new['periodSeconds']}s to start "
                  f"({basis}); the liveness probe only runs once it has succeeded")
        return wl.finish(plan, w, inp.container, {"startupProbe": new}, change, what="add a startup probe")
    if kind == "startup":
        if not isinstance(current, dict):
            raise Refused(f"container {inp.container} has no startup probe to adjust")
        liveness = container.get("livenessProbe")
        needed = max(startup_budget(inp, liveness if isinstance(liveness, dict) else None), 2 * budget(current))
        return _raise_threshold(plan, w, inp, "startup", current, needed)
    # readiness
    if not isinstance(current, dict):
        raise Refused(f"container {inp.container} has no readiness probe to adjust")
    if inp.result == "timeout":
        return _raise_timeout(plan, w, inp, kind, current)
    raise Refused(
        f"the readiness probe of container {inp.container} fails ({inp.result or 'reason unknown'}), which a "
        "longer probe would not cure: the application is not answering it. To change the probe anyway pass "
        "--failure-threshold, --timeout-seconds or --initial-delay")


def _flag(field: str) -> str:
    return {"initialDelaySeconds": "--initial-delay", "failureThreshold": "--failure-threshold",
            "timeoutSeconds": "--timeout-seconds"}[field]


def _raise_threshold(plan: Plan, w: wl.Workload, inp: ProbeInput, kind: str, probe: dict, needed: int) -> Plan:
    s = settings(probe)
    threshold = max(1, math.ceil((needed - s["initialDelaySeconds"]) / s["periodSeconds"]))
    if threshold <= s["failureThreshold"]:
        plan.notes.append(f"the {kind} probe already allows {budget(probe)}s: unchanged")
        return plan
    change = (f"{kind}Probe.failureThreshold {s['failureThreshold']} -> {threshold} "
              f"({budget(probe)}s -> {s['initialDelaySeconds'] + threshold * s['periodSeconds']}s to start)")
    return wl.finish(plan, w, inp.container, {f"{kind}Probe": {"failureThreshold": threshold}}, change,
                     what=f"change its {kind} probe")


def _raise_timeout(plan: Plan, w: wl.Workload, inp: ProbeInput, kind: str, probe: dict) -> Plan:
    old = settings(probe)["timeoutSeconds"]
    new = max(2 * old, 5)
    change = f"{kind}Probe.timeoutSeconds {old} -> {new} (the probe timed out)"
    return wl.finish(plan, w, inp.container, {f"{kind}Probe": {"timeoutSeconds": new}}, change,
                     what=f"change its {kind} probe")
