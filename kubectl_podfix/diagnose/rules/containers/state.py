"""A container's spec and status, read for the rules: which run is being explained and how current it is.

The effective restart policy and the words for a container's kind (init,
sidecar); the terminated state being explained and how long it ran; whether a
restarted container is still failing, flapping or has recovered (and so the
severity); the events of that run; evidence lines like kubectl describe; and
the pod-level stops (eviction, deadline, deletion...) that keep the container
rules quiet. Shared with the probe family.
"""

from __future__ import annotations

import datetime as _dt
from typing import Iterator

from kubectl_podfix.diagnose.health import FLAPPING_RESTARTS, RECOVERED_AFTER
from kubectl_podfix.diagnose.model import PodContext, dig, event_time, parse_time
from kubectl_podfix.diagnose.rules.common import events_about, terminated


# Pod-level reasons that explain why the containers stopped: the container rules stay quiet.
POD_TERMINAL_REASONS = {"Evicted", "DeadlineExceeded", "Preempting", "NodeLost", "Shutdown", "Terminated",
                        "NodeShutdown", "UnexpectedAdmissionError", "NodeAffinity", "MatchNodeSelector",
                        "NodeSelectorMismatching", "TopologyAffinityError", "SMTAlignmentError"}


# -- the spec --------------------------------------------------------------------------

def restart_policy(ctx: PodContext, spec: dict, is_init: bool) -> str:
    """The effective restart policy of one container (native sidecars restart Always)."""
    pod_policy = dig(ctx.pod, "spec.restartPolicy") or "Always"
    if is_init:
        if spec.get("restartPolicy") == "Always":
            return "Always"
        return "Never" if pod_policy == "Never" else "OnFailure"
    return pod_policy


def is_sidecar(spec: dict, is_init: bool) -> bool:
    return is_init and spec.get("restartPolicy") == "Always"


def kind_label(spec: dict, is_init: bool) -> str:
    if is_sidecar(spec, is_init):
        return "sidecar container"
    return "init container" if is_init else "container"


def command_of(spec: dict) -> str:
    """The container's command and args as one line (or the image's ENTRYPOINT/CMD), for explanations."""
    cmd = list(spec.get("command") or []) + list(spec.get("args") or [])
    if not cmd:
        return "the image's ENTRYPOINT/CMD"
    text = " ".join(str(c) for c in cmd)
    return text if len(text) <= 200 else text[:197] + "..."


# -- the run being explained -----------------------------------------------------------

def last_termination(status: dict | None) -> tuple[dict | None, bool]:
    """(terminated state, is_current): the current termination, else the previous one."""
    cur = terminated(status)
    if cur:
        return cur, True
    return terminated(status, last=True), False


def seconds_since(ctx: PodContext, when: _dt.datetime | None) -> float | None:
    return (ctx.now - when).total_seconds() if when else None


def restart_phase(ctx: PodContext, status: dict | None) -> str:
    """How current a container's last failure is: "current", "flapping" or "recovered".

    A container that runs and is Ready now is never "current": however recent its restarts, it works
    (at most a warning). One that is not Ready after FLAPPING_RESTARTS restarts is still failing.
    """
    if not status:
        return "current"
    if dig(status, "state.waiting") or dig(status, "state.terminated"):
        return "current"
    started = parse_time(dig(status, "state.running.startedAt"))
    running_for = seconds_since(ctx, started)
    ready = status.get("ready") is not False
    if running_for is not None and running_for >= RECOVERED_AFTER and ready:
        return "recovered"
    if dig(status, "state.running") and status.get("ready") is True:
        return "flapping"
    restarts = status.get("restartCount") if isinstance(status.get("restartCount"), int) else 0
    if restarts >= FLAPPING_RESTARTS and (running_for is None or running_for < RECOVERED_AFTER):
        return "current"
    return "flapping"


def severity_for(phase: str) -> str:
    return {"current": "error", "flapping": "warning"}.get(phase, "info")


def instance_window(status: dict | None) -> _dt.datetime | None:
    """Start of the container instance whose failure is being explained (previous one when restarting)."""
    last = terminated(status, last=True)
    if last and parse_time(last.get("startedAt")):
        return parse_time(last.get("startedAt"))
    return parse_time(dig(status or {}, "state.running.startedAt")) or parse_time(
        dig(status or {}, "state.terminated.startedAt"))


def current_start(status: dict | None) -> _dt.datetime | None:
    return parse_time(dig(status or {}, "state.running.startedAt")) or parse_time(
        dig(status or {}, "state.terminated.startedAt"))


def recent_events(ctx: PodContext, container: str | None, reasons: set[str] | None,
                  since: _dt.datetime | None, slack: float = 2.0) -> list[dict]:
    """Events for ``container`` last seen at or after ``since`` (minus a little clock slack)."""
    evs = events_about(ctx, container, reasons)
    if since is None:
        return evs
    limit = since - _dt.timedelta(seconds=slack)
    return [ev for ev in evs if (event_time(ev) or limit) >= limit]


def failed_events(ctx: PodContext, name: str, status: dict | None) -> list[dict]:
    """The Warning events of the run being explained that say the runtime or a hook failed."""
    since = instance_window(status) if terminated(status, last=True) or current_start(status) else None
    return [ev for ev in recent_events(ctx, name, {"Failed", "FailedPostStartHook", "FailedPreStopHook",
                                                   "FailedCreatePodContainer"}, since)
            if (ev.get("type") or "Warning") == "Warning"]


def ran_for(term: dict | None) -> float | None:
    """Seconds a terminated container ran, when both times are known."""
    if not term:
        return None
    a, b = parse_time(term.get("startedAt")), parse_time(term.get("finishedAt"))
    return (b - a).total_seconds() if a and b else None


def terminated_text(term: dict) -> str:
    """A terminated state as kubectl describe shows it, saying what is not recorded rather than showing '?' or
    None: "Terminated (Error, exit code 1), ran A to B: message". A start at the Unix epoch (the runtime's
    zero time, for a process that never started) is said as such."""
    reason = term.get("reason") if isinstance(term.get("reason"), str) else ""
    code = term.get("exitCode")
    parts = [reason.strip()] if reason.strip() else []
    parts.append(f"exit code {code}" if isinstance(code, int) and not isinstance(code, bool) else "no exit code recorded")
    line = f"Terminated ({', '.join(parts)})"
    started, finished = term.get("startedAt"), term.get("finishedAt")
    start_time = parse_time(started)
    never_started = start_time is not None and start_time.year <= 1970
    if never_started:
        line += ", never started (startedAt is the Unix epoch)" + (f", ended {finished}" if finished else "")
    elif started and finished:
        line += f", ran {started} to {finished}"
    elif started:
        line += f", started {started}"
    elif finished:
        line += f", ended {finished}"
    if term.get("message"):
        msg = str(term.get("message")).strip()
        line += ": " + (msg if len(msg) <= 400 else msg[:397] + "...")
    return line


def state_line(status: dict | None) -> list[str]:
    """Evidence lines for a container's state and last state, like kubectl describe."""
    out = []
    if not status:
        return out
    w = dig(status, "state.waiting")
    if w:
        out.append(f"state: Waiting ({w.get('reason') or 'no reason given'})"
                   + (f": {w.get('message')}" if w.get("message") else ""))
    r = dig(status, "state.running")
    if r:
        out.append("state: Running" + (f" since {r.get('startedAt')}" if r.get("startedAt") else
                                        " (start time not recorded)"))
    for label, term in (("state", dig(status, "state.terminated")), ("last state", dig(status, "lastState.terminated"))):
        if term:
            out.append(f"{label}: {terminated_text(term)}")
    if status.get("restartCount"):
        out.append(f"restart count: {status.get('restartCount')}")
    return out


# -- pod-level stops -------------------------------------------------------------------

def pod_terminal_reason(ctx: PodContext) -> str | None:
    """A pod-level reason (eviction, deadline, preemption...) that explains stopped containers."""
    reason = dig(ctx.pod, "status.reason") or ""
    if reason in POD_TERMINAL_REASONS or reason.startswith("OutOf"):
        return reason
    for cond in dig(ctx.pod, "status.conditions", []) or []:
        if cond.get("type") == "DisruptionTarget" and cond.get("status") == "True":
            return cond.get("reason") or "DisruptionTarget"
    return None


def killed_by_deletion(ctx: PodContext, term: dict | None) -> bool:
    """Whether a termination happened because the pod is being deleted."""
    deleted = parse_time(dig(ctx.pod, "metadata.deletionTimestamp"))
    if not deleted or not term:
        return False
    grace = dig(ctx.pod, "metadata.deletionGracePeriodSeconds")
    requested = deleted - _dt.timedelta(seconds=grace if isinstance(grace, int) else 30)
    finished = parse_time(term.get("finishedAt"))
    return finished is None or finished >= requested - _dt.timedelta(seconds=2)


def skip_pod(ctx: PodContext) -> bool:
    """Whether the pod succeeded or was stopped as a whole: then the container rules stay quiet."""
    return dig(ctx.pod, "status.phase") == "Succeeded" or pod_terminal_reason(ctx) is not None


def each_container(ctx: PodContext) -> Iterator[tuple[dict, dict | None, bool, str]]:
    """(spec, status, is_init, name) of every container, init containers included."""
    for spec, status, is_init in ctx.containers():
        name = spec.get("name") or "?"
        yield spec, status, is_init, name


def security_profiles(ctx: PodContext, spec: dict) -> list[str]:
    """The Linux security profiles a container runs under that can deny what its process does (SELinux
    labels, an AppArmor profile other than the runtime's default, a Localhost seccomp profile), in words."""
    name = spec.get("name") or ""
    pod_sc = dig(ctx.pod, "spec.securityContext") or {}
    sc = spec.get("securityContext") or {}
    out: list[str] = []
    selinux = sc.get("seLinuxOptions") or pod_sc.get("seLinuxOptions")
    if isinstance(selinux, dict) and selinux:
        label = ":".join(str(selinux[k]) for k in ("user", "role", "type", "level") if selinux.get(k))
        out.append(f"SELinux label {label}" if label else "SELinux options")
    annotations = dig(ctx.pod, "metadata.annotations") or {}
    apparmor = annotations.get(f"container.apparmor.security.beta.kubernetes.io/{name}")
    profile = sc.get("appArmorProfile") or pod_sc.get("appArmorProfile")
    if not apparmor and isinstance(profile, dict) and profile.get("type") == "Localhost":
        apparmor = f"localhost/{profile.get('localhostProfile') or ''}"
    if isinstance(apparmor, str) and apparmor.startswith("localhost/"):
        out.append(f"AppArmor profile {apparmor}")
    seccomp = sc.get("seccompProfile") or pod_sc.get("seccompProfile")
    if isinstance(seccomp, dict) and seccomp.get("type") == "Localhost":
        out.append(f"seccomp profile {seccomp.get('localhostProfile') or '(Localhost)'}")
    return out
