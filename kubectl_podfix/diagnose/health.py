"""What "healthy" means, decided in one place, from the pod's own status (pure).

podfix's first promise is *silence means healthy*: a pod that is not at its
desired state always gets a finding, and a healthy or recovering one never
gets an error. The rules say why a pod fails; this module only says *whether*
it does, from ``status`` and the few ``spec`` fields that set a budget (probes,
restart policy, readiness gates). Events are never read here: they expire
after an hour, and a saved ``kubectl get pod -o yaml`` has none.

``assess`` returns the pod's state and its problems. A pod is healthy when it
has no problem: it succeeded, it runs with every container Ready, or it is
still inside one of the grace periods below (starting, being deleted). Each
problem says what is visible, for whom (``container``, None for the pod) and
how bad it is: ``error`` when the pod (or that container) is not working,
``warning`` when it is degraded or when the data cannot tell for how long.

Used by ``rules.fallback`` (a finding for every problem no rule explains) and
by ``cluster.gather.is_suspect`` (a scan never drops a pod called unhealthy
here). docs/findings.md ("Health: when a pod gets a finding") documents it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Iterator

from kubectl_podfix.diagnose.model import age, parse_time

PENDING_GRACE = 30  # s: a pod may be Pending, a container being created, a condition lagging, this long
STUCK_AFTER = 300  # s: still starting after this long is "not working" (error), not "slow" (warning)
READY_GRACE = 30  # s: the least a running container may stay not Ready (no probe, or status lag)
GATE_GRACE = 60  # s: a readiness gate's controller gets this long after the containers are Ready
RECOVERED_AFTER = 600  # s since its last restart before a restarted container counts as recovered
FLAPPING_RESTARTS = 3  # restarts after which a restarted container that is not Ready is not working
TERMINATING_GRACE = 120  # s past the deletion deadline a pod being deleted is still just "going away"
STUCK_TERMINATING_ERROR = 600  # s past the deadline a stuck deletion becomes an error

STARTING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})  # the kubelet's "not started yet"
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3,
                  "successThreshold": 1}

HEALTHY_STATES = frozenset({"healthy", "starting", "terminating", "done"})


@dataclass(frozen=True)
class Problem:
    """One thing about a pod that is not as it should be, in the pod's own words."""

    kind: str  # see KINDS
    severity: str  # "error" (not working) or "warning" (degraded, or for an unknown time)
    summary: str  # one line: what is visible
    container: str | None = None  # None for the pod as a whole
    init: bool = False
    ephemeral: bool = False
    in_spec: bool = True  # False for a status whose container is not in the pod's spec (partial objects)

    @property
    def waiting_to_start(self) -> bool:
        """A container not started yet (created, initializing): any cause of the pod's explains it too."""
        return self.kind in ("pending", "initializing", "starting-stuck", "pod-not-ready")


KINDS = {
    "failed": "the pod's phase is Failed",
    "phase-unknown": "the pod's phase is Unknown (its node stopped reporting)",
    "no-status": "the pod's status has no phase (a partial or stripped object)",
    "pending": "the pod is still Pending past its grace period",
    "initializing": "an init container has been running for a long time",
    "starting-stuck": "a container is still being created past the grace period",
    "waiting": "a container waits with a failure reason (CrashLoopBackOff, an unknown reason...)",
    "terminated": "a container exited with an error, or exited and will be restarted",
    "not-ready": "a container runs but is not Ready past its start budget",
    "restarting": "a container restarted recently, or restarts at an unknown time",
    "readiness-gate": "the containers are Ready but a readiness gate is not satisfied",
    "pod-not-ready": "the pod's Ready condition is False although its containers look ready",
    "stuck-terminating": "the pod was deleted but is still there past its grace period",
    "ephemeral": "an ephemeral (debug) container cannot start; the app is not affected",
}


@dataclass(frozen=True)
class Health:
    state: str  # healthy | starting | terminating | done | degraded | broken
    problems: tuple[Problem, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def severity(self) -> str | None:
        if not self.problems:
            return None
        return "error" if any(p.severity == "error" for p in self.problems) else "warning"


# -- small readers, tolerant of any shape ------------------------------------------------------

def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def seconds_since(now: _dt.datetime, value: Any) -> float | None:
    when = parse_time(value)
    return (now - when).total_seconds() if when else None


def probe_settings(probe: Any) -> dict[str, int]:
    """A probe's timing fields with the API server's defaults filled in."""
    probe = _dict(probe)
    return {k: probe[k] if isinstance(probe.get(k), int) and not isinstance(probe.get(k), bool) else v
            for k, v in PROBE_DEFAULTS.items()}


def probe_budget(probe: Any) -> int:
    """initialDelaySeconds + periodSeconds x failureThreshold: how long the probe may fail before it acts."""
    s = probe_settings(probe)
    return max(0, s["initialDelaySeconds"]) + max(0, s["periodSeconds"]) * max(0, s["failureThreshold"])


def start_budget(spec: Any) -> int:
    """Seconds a running container may stay not Ready while it starts: its startup probe's budget, then its
    readiness probe's (initialDelaySeconds + periodSeconds x failureThreshold each), and never less than
    READY_GRACE."""
    spec = _dict(spec)
    budget = 0
    for key in ("startupProbe", "readinessProbe"):
        if isinstance(spec.get(key), dict):
            budget += probe_budget(spec[key])
    return max(READY_GRACE, budget)


def restart_policy(pod: dict, spec: dict, is_init: bool) -> str:
    """The effective restart policy of one container (native sidecars restart Always)."""
    pod_policy = _str(_dict(pod.get("spec")).get("restartPolicy")) or "Always"
    if is_init:
        if spec.get("restartPolicy") == "Always":
            return "Always"
        return "Never" if pod_policy == "Never" else "OnFailure"
    return pod_policy


@dataclass(frozen=True)
class ContainerView:
    """One container as health reads it: its status, its spec (possibly empty), and what it is."""

    name: str
    status: dict
    spec: dict
    init: bool
    sidecar: bool
    ephemeral: bool
    in_spec: bool

    @property
    def label(self) -> str:
        if self.ephemeral:
            return "ephemeral container"
        if self.sidecar:
            return "sidecar container"
        return "init container" if self.init else "container"


def container_views(pod: dict) -> Iterator[ContainerView]:
    """Every container that has a status: init containers, app containers, then ephemeral ones.

    Statuses are the source: a status whose container is missing from the spec (a partial object) is
    still read, with an empty spec.
    """
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    for kind, spec_key, status_key in (("init", "initContainers", "initContainerStatuses"),
                                       ("app", "containers", "containerStatuses"),
                                       ("ephemeral", "ephemeralContainers", "ephemeralContainerStatuses")):
        specs = {c.get("name"): c for c in _list(spec.get(spec_key)) if isinstance(c, dict)}
        for st in _list(status.get(status_key)):
            if not isinstance(st, dict):
                continue
            name = _str(st.get("name"))
            c_spec = specs.get(name)
            in_spec = isinstance(c_spec, dict)
            c_spec = c_spec if in_spec else {}
            init = kind == "init"
            yield ContainerView(name, st, c_spec, init, init and c_spec.get("restartPolicy") == "Always",
                                kind == "ephemeral", in_spec)


def _state(st: dict) -> tuple[dict | None, dict | None, dict | None]:
    state = _dict(st.get("state"))
    w, r, t = state.get("waiting"), state.get("running"), state.get("terminated")
    return (w if isinstance(w, dict) else None, r if isinstance(r, dict) else None,
            t if isinstance(t, dict) else None)


def _condition(status: dict, type_: str) -> dict | None:
    return next((c for c in _list(status.get("conditions")) if isinstance(c, dict) and c.get("type") == type_), None)


def _waited(seconds: float | None) -> str:
    return f"for {age(seconds)}" if seconds is not None else "for an unknown time"


def _stuck_severity(seconds: float | None) -> str:
    return "error" if seconds is not None and seconds >= STUCK_AFTER else "warning"


# -- the definition -----------------------------------------------------------------------------

def assess(pod: Any, now: _dt.datetime) -> Health:
    """Whether ``pod`` is at its desired state, and if not, what is visibly wrong (see the module docstring)."""
    if not isinstance(pod, dict):
        return Health("broken", (Problem("no-status", "warning", "the object is not a pod"),))
    meta = _dict(pod.get("metadata"))
    status = _dict(pod.get("status"))
    phase = _str(status.get("phase"))
    deleted = parse_time(meta.get("deletionTimestamp"))
    if deleted is not None:
        over = (now - deleted).total_seconds()
        if over < TERMINATING_GRACE:
            return Health("terminating")
        sev = "error" if over >= STUCK_TERMINATING_ERROR else "warning"
        return Health("broken" if sev == "error" else "degraded", (Problem(
            "stuck-terminating", sev, f"deleted {age(over)} past its deadline and still there"),))
    if phase == "Succeeded":
        return Health("done")
    reason, message = _str(status.get("reason")), _str(status.get("message")).strip()
    why = (f" ({reason}" + (f": {message}" if message else "") + ")") if reason or message else ""
    if phase == "Failed":
        # Which containers failed, for whoever explains it (the exits, not readiness or restarts).
        views = list(container_views(pod))
        stopped = [p for p in _container_problems(pod, views, phase, None, now) if p.kind in ("terminated", "waiting")]
        return Health("broken", (Problem("failed", "error", "phase Failed" + why), *stopped))
    if phase == "Unknown":
        return Health("broken", (Problem("phase-unknown", "error", "phase Unknown" + why),))
    created = seconds_since(now, meta.get("creationTimestamp"))
    if created is None:
        created = seconds_since(now, status.get("startTime"))
    problems: list[Problem] = []
    if phase not in ("Pending", "Running"):
        problems.append(Problem("no-status", "warning",
                                (f"phase {phase!r}" if phase else "no phase in the pod's status") + why
                                + ": its state cannot be read"))
    views = list(container_views(pod))
    problems += _container_problems(pod, views, phase, created, now)
    if phase == "Pending" and not any(p.container is not None and not p.ephemeral for p in problems):
        problems += _pending_problems(pod, views, created, now)
    if phase == "Running" and not any(not p.ephemeral for p in problems):
        # A Running pod re-runs its init containers when its sandbox is recreated (a node reboot).
        problems += _initializing(views, None, now) or _readiness_problems(pod, views, created, now)
    if not problems:
        young = created is not None and created < max(PENDING_GRACE, STUCK_AFTER if phase == "Pending" else 0)
        return Health("starting" if phase == "Pending" or young else "healthy")
    state = "broken" if any(p.severity == "error" for p in problems) else "degraded"
    return Health(state, tuple(problems))


def _container_problems(pod: dict, views: list[ContainerView], phase: str, created: float | None,
                        now: _dt.datetime) -> list[Problem]:
    out: list[Problem] = []
    init_running = any(v.init and not v.sidecar and _state(v.status)[1] is not None for v in views)
    init_unfinished = any(v.init and not v.sidecar and _state(v.status)[2] is None for v in views)
    for v in views:
        st = v.status
        waiting, running, term = _state(st)
        who = f"{v.label} {v.name}".rstrip()
        base = {"container": v.name, "init": v.init, "ephemeral": v.ephemeral, "in_spec": v.in_spec}
        restarts = _int(st.get("restartCount"))
        last = _dict(_dict(st.get("lastState")).get("terminated"))
        if v.ephemeral:
            # A debug container never makes the pod broken; one that cannot start is worth a warning.
            w_reason = _str((waiting or {}).get("reason"))
            if waiting is not None and w_reason and w_reason not in STARTING_REASONS:
                msg = _str(waiting.get("message")).strip()
                out.append(Problem("ephemeral", "warning", f"{who} is waiting: {w_reason}"
                                   + (f": {msg}" if msg else ""), **base))
            continue
        if waiting is not None:
            w_reason = _str(waiting.get("reason"))
            msg = _str(waiting.get("message")).strip()
            if w_reason and w_reason not in STARTING_REASONS:
                out.append(Problem("waiting", "error", f"{who} is waiting: {w_reason}" + (f": {msg}" if msg else ""),
                                   **base))
                continue
            # Not started yet (or a waiting state without a reason): a problem only past the grace period,
            # and not while it waits for init containers that are still running.
            if not (v.init and not v.sidecar) and w_reason == "PodInitializing" and init_unfinished:
                continue
            if v.init and not v.sidecar and init_running:
                continue
            since = seconds_since(now, last.get("finishedAt")) if restarts and last else created
            if since is not None and since < PENDING_GRACE:
                continue
            what = w_reason or "a waiting state with no reason"
            out.append(Problem("starting-stuck", _stuck_severity(since), f"{who} is still waiting ({what}) "
                               f"{_waited(since)}" + (f": {msg}" if msg else ""), **base))
            continue
        if term is not None:
            code = term.get("exitCode")
            t_reason = _str(term.get("reason"))
            ok = code == 0 or (code is None and t_reason == "Completed")
            policy = restart_policy(pod, v.spec, v.init)
            if v.init and not v.sidecar:
                if not ok:
                    out.append(Problem("terminated", "error", f"{who} failed (exit code {code}"
                                       + (f", {t_reason}" if t_reason else "") + ")", **base))
                continue
            if ok:
                if policy == "Always" and phase == "Running":
                    out.append(Problem("terminated", "warning",
                                       f"{who} exited (exit code 0) and its restart policy restarts it", **base))
                continue
            if code is None:
                # No exit code recorded (a partial object, or a state the runtime lost): not known to fail.
                out.append(Problem("terminated", "warning", f"{who} is terminated" + (f" ({t_reason})" if t_reason
                                   else "") + " with no exit code recorded", **base))
                continue
            out.append(Problem("terminated", "error", f"{who} exited with exit code {code}"
                               + (f" ({t_reason})" if t_reason else ""), **base))
            continue
        if v.init and not v.sidecar:
            continue  # a running init container: _pending_problems says when it runs too long
        ready = st.get("ready")
        running_for = seconds_since(now, (running or {}).get("startedAt"))
        if ready is False:
            if running is None:
                out.append(Problem("not-ready", "warning", f"{who} is not Ready and its state is not recorded",
                                   **base))
                continue
            budget = start_budget(v.spec)
            if running_for is None:
                out.append(Problem("not-ready", "warning", f"{who} is running but not Ready (since an unknown time)",
                                   **base))
                continue
            if running_for >= budget:
                out.append(Problem("not-ready", "error", f"{who} has been running {age(running_for)} but is not "
                                   f"Ready (start budget {budget}s)", **base))
                continue
        if restarts > 0:
            since = seconds_since(now, last.get("finishedAt")) if last else None
            if since is None:
                since = running_for
            if since is None:
                out.append(Problem("restarting", "warning", f"{who} has restarted {restarts} times; when is not "
                                   "recorded", **base))
            elif since < RECOVERED_AFTER:
                # Restarting again and again without getting Ready is not working; Ready again is degraded.
                sev = "error" if ready is not True and restarts >= FLAPPING_RESTARTS else "warning"
                out.append(Problem("restarting", sev, f"{who} restarted {age(since)} ago ({restarts} "
                                   "restarts)" + (" and is Ready again" if ready is True else ""), **base))
    return out


def _initializing(views: list[ContainerView], created: float | None, now: _dt.datetime) -> list[Problem] | None:
    """None when no init container runs; else [] while it is young, or the problem once it runs too long.

    A running init container may be slow work (a migration) or a loop that never ends: a warning, never an
    error. ``created`` is the pod's age (a Pending pod has been initializing since then); without it, the
    init container's own start counts.
    """
    running_inits = [v for v in views if v.init and not v.sidecar and _state(v.status)[1] is not None]
    if not running_inits:
        return None
    v = running_inits[0]
    since = created if created is not None else seconds_since(now, _state(v.status)[1].get("startedAt"))
    if since is not None and since < STUCK_AFTER:
        return []
    return [Problem("initializing", "warning", f"initializing {_waited(since)}: init container {v.name} is "
                    "still running", container=v.name, init=True, in_spec=v.in_spec)]


def _pending_problems(pod: dict, views: list[ContainerView], created: float | None,
                      now: _dt.datetime) -> list[Problem]:
    init = _initializing(views, created, now)
    if init is not None:
        return init
    if created is not None and created < PENDING_GRACE:
        return []
    spec, status = _dict(pod.get("spec")), _dict(pod.get("status"))
    sched = _condition(status, "PodScheduled")
    node = _str(spec.get("nodeName"))
    if node:
        where = f"on node {node}"
    elif sched and sched.get("status") == "False":
        where = "not scheduled (PodScheduled=False" + (f", {sched.get('reason')}" if sched.get("reason") else "") + ")"
    else:
        where = "not scheduled to a node yet"
    reason, message = _str(status.get("reason")), _str(status.get("message")).strip()
    if reason or message:
        where += f", reason {reason or '?'}" + (f": {message}" if message else "")
    return [Problem("pending", _stuck_severity(created), f"Pending {_waited(created)}, {where}")]


def _readiness_problems(pod: dict, views: list[ContainerView], created: float | None,
                        now: _dt.datetime) -> list[Problem]:
    spec, status = _dict(pod.get("spec")), _dict(pod.get("status"))
    if any(v.status.get("ready") is not True for v in views if not v.ephemeral and not (v.init and not v.sidecar)):
        return []  # a container is still starting (inside its budget): the gates and Ready follow it
    ready_cond = _condition(status, "Ready")
    gates = [_str(_dict(g).get("conditionType")) for g in _list(spec.get("readinessGates"))]
    gates = [g for g in gates if g]
    unsatisfied = []
    for gate in gates:
        cond = _condition(status, gate)
        if cond is None:
            unsatisfied.append(f"{gate} (condition missing)")
        elif cond.get("status") != "True":
            unsatisfied.append(f"{gate} ({cond.get('status') or '?'}"
                               + (f", {cond.get('reason')}" if cond.get("reason") else "") + ")")
    if unsatisfied:
        anchor = _condition(status, "ContainersReady") or ready_cond or {}
        since = seconds_since(now, anchor.get("lastTransitionTime"))
        if since is None:
            since = created
        if since is not None and since < GATE_GRACE:
            return []
        return [Problem("readiness-gate", _stuck_severity(since), "readiness gate not satisfied "
                        f"{_waited(since)}: " + ", ".join(unsatisfied))]
    if ready_cond is not None and ready_cond.get("status") in ("False", "Unknown"):
        since = seconds_since(now, ready_cond.get("lastTransitionTime"))
        if since is not None and since < PENDING_GRACE:
            return []
        what = f"Ready={ready_cond.get('status')}" + (f" ({ready_cond.get('reason')})" if ready_cond.get("reason")
                                                       else "")
        msg = _str(ready_cond.get("message")).strip()
        sev = "error" if since is not None else "warning"
        return [Problem("pod-not-ready", sev, f"the pod is {what} {_waited(since)}" + (f": {msg}" if msg else ""))]
    return []


def is_healthy(pod: Any, now: _dt.datetime) -> bool:
    return assess(pod, now).healthy
