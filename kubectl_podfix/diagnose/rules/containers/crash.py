"""The process ran and exited: container.crash-loop (with an error) and container.completed-restarting (exit 0).

The exit code and signal say how it ended (``messages.explain_exit``), the
previous log says why (``logs.log_evidence``), and the restart phase says
whether it still matters (``state.restart_phase``).
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl, terminated, waiting
from kubectl_podfix.diagnose.rules.containers.logs import log_evidence
from kubectl_podfix.diagnose.rules.containers.messages import exit_signal, explain_exit, runtime_fatal
from kubectl_podfix.diagnose.rules.containers.state import (
    command_of,
    each_container,
    instance_window,
    is_sidecar,
    kind_label,
    killed_by_deletion,
    last_termination,
    ran_for,
    recent_events,
    restart_phase,
    restart_policy,
    security_profiles,
    severity_for,
    skip_pod,
    state_line,
)

_DENIED = re.compile(r"permission denied|operation not permitted|access denied", re.I)


def _sidecar_blocks_apps(ctx: PodContext, spec: dict, status: dict, is_init: bool) -> bool:
    """A native sidecar running but not started (startup probe) while every app container waits for it."""
    if not is_sidecar(spec, is_init) or not dig(status, "state.running") or status.get("started") is not False:
        return False
    apps = dig(ctx.pod, "status.containerStatuses") or []
    return all(dig(st, "state.waiting.reason") == "PodInitializing" for st in apps if isinstance(st, dict))


def crash_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        if not status:
            continue
        term, current = last_termination(status)
        w_reason, _ = waiting(status)
        if not term and w_reason == "CrashLoopBackOff":
            term = {}  # the runtime lost the last termination (node restart): still a crash loop
        if term is None or term.get("reason") == "OOMKilled":
            continue
        code = term.get("exitCode")
        policy = restart_policy(ctx, spec, is_init)
        restarts = status.get("restartCount") or 0
        if code == 0 or (code is None and term.get("reason") == "Completed"):
            continue  # completed_rule
        if killed_by_deletion(ctx, term):
            continue
        if not current and restarts == 0 and w_reason != "CrashLoopBackOff":
            continue
        if term.get("reason") in ("StartError", "ContainerCannotRun") and w_reason != "CrashLoopBackOff":
            continue  # start_failed_rule
        if term.get("reason") == "ContainerStatusUnknown":
            continue  # the node lost track of it: pod-level rules explain
        phase = restart_phase(ctx, status)
        sig = exit_signal(term)
        evidence = state_line(status)
        backoff = recent_events(ctx, name, {"BackOff"}, instance_window(status))
        if backoff:
            evidence.append(describe_event(backoff[-1], ctx.now))
        log_lines, log_note = log_evidence(ctx, name)
        evidence += log_lines
        label = kind_label(spec, is_init)
        ran = ran_for(term)
        fatal, fatal_from = None, None
        for source, text in (("termination message", (term or {}).get("message")),
                             ("previous log", ctx.previous_log(name))):
            fatal = runtime_fatal(text if isinstance(text, str) else None)
            if fatal:
                fatal_from = source
                break
        meaning = (fatal[2].get(code) if fatal and isinstance(code, int) else None) or explain_exit(code, term)
        expl = (f"The {label} {name} ({command_of(spec)}) exited with {meaning}" if term else
                f"The {label} {name} ({command_of(spec)}) keeps exiting; its last exit code was not recorded")
        expl += f" after running {age(ran)}." if ran is not None else "."
        if w_reason == "CrashLoopBackOff":
            expl += f" It has restarted {restarts} times and the kubelet now waits longer between attempts (CrashLoopBackOff)."
        elif current and policy == "Never":
            expl += " The restart policy is Never, so the pod failed."
        elif current and policy == "OnFailure" and is_init:
            expl += " The pod's other containers do not start until this init container succeeds."
        elif phase == "recovered":
            expl += f" It has been running again for a while (restart count {restarts}); this is an old restart."
        elif phase == "flapping":
            expl += f" It is running again (restart count {restarts})."
        if _sidecar_blocks_apps(ctx, spec, status, is_init):
            # Restarted and running again, but never marked started: the app containers wait behind it. With
            # restartPolicy Never a kubelet bug stops its startup probe after the first failed run
            # (kubernetes#132826, fixed in 1.33/1.34 patch releases), so it stays unstarted forever.
            phase = "current"
            expl += (" The kubelet has not marked this run started"
                     + (" (its startupProbe has not succeeded)" if spec.get("startupProbe") else "")
                     + ", so the pod's app containers still wait for it (PodInitializing).")
            if spec.get("startupProbe") and (dig(ctx.pod, "spec.restartPolicy") == "Never"):
                expl += (" With the pod's restartPolicy Never, kubelets before the fix for kubernetes#132826 stop "
                         "a restarted sidecar's startup probe, so it is never marked started: upgrade the node, or "
                         "recreate the pod.")
        has_liveness = bool(spec.get("livenessProbe") or spec.get("startupProbe"))
        if sig == "SIGKILL":
            expl += (" Nothing recorded an out-of-memory kill, so something else sent SIGKILL: a liveness or startup "
                     "probe kill that outlived the grace period, the node running out of memory (check the node's "
                     "kernel log), or a process supervisor.")
        elif sig == "SIGTERM":
            expl += (" SIGTERM means it was asked to stop: by the kubelet (pod deletion, a probe kill), or by "
                     "itself/its supervisor.")
        if sig in ("SIGKILL", "SIGTERM") and has_liveness and "events" in ctx.missing:
            expl += " Events are not in the data, so a probe kill cannot be confirmed or ruled out."
        if fatal:
            expl += f' Its {fatal_from} shows {fatal[0]}: "{fatal[1]}".'
        profiles = security_profiles(ctx, spec)
        denied = [ln for ln in log_lines if ln.startswith("log: ") and _DENIED.search(ln)]
        if profiles and denied:
            expl += (f" Its log says access was denied, and it runs under {' and '.join(profiles)}: a profile that "
                     "denies a file, exec or network access the program needs gives exactly this (the node's audit "
                     "log shows the denial: AppArmor \"DENIED\" in dmesg, SELinux \"avc: denied\").")
        if log_note:
            expl += f" ({log_note}.)"
        elif not log_lines and ctx.previous_log(name) is None and not (term or {}).get("message"):
            expl += " Read its previous log to see why it stopped."
        yield Finding(
            code="container.crash-loop", severity=severity_for(phase), container=name,
            title=f"{name}: {'crash-looping' if w_reason == 'CrashLoopBackOff' else 'exited'}"
                  + (f" with exit code {code}" if code is not None else "") + (f" ({sig})" if sig else ""),
            explanation=expl, evidence=evidence,
            suggestions=[f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}",
                         kubectl(ctx, "describe", "pod", ctx.name),
                         kubectl(ctx, "get", "events", "--field-selector", f"involvedObject.name={ctx.name}")],
            since=term.get("finishedAt"),
            extra={"exit_code": code, "signal": sig, "meaning": meaning, "restart_count": restarts,
                   "restart_policy": policy, "init": is_init, "sidecar": is_sidecar(spec, is_init),
                   "log_lines": [ln[5:] for ln in log_lines if ln.startswith("log: ")]},
        )


def completed_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        if not status:
            continue
        if restart_policy(ctx, spec, is_init) != "Always":
            continue
        last = terminated(status, last=True)
        cur = terminated(status)
        term = cur or last
        if not term or term.get("exitCode") != 0 or term.get("reason") == "OOMKilled":
            continue
        if killed_by_deletion(ctx, term):
            continue
        restarts = status.get("restartCount") or 0
        if restarts == 0:
            continue
        phase = restart_phase(ctx, status)
        ran = ran_for(term)
        evidence = state_line(status)
        log_lines, log_note = log_evidence(ctx, name)
        evidence += log_lines
        label = kind_label(spec, is_init)
        owner = (ctx.owner or {}).get("kind") or "the pod"
        expl = (f"The {label} {name} ({command_of(spec)}) exits successfully (exit code 0)"
                + (f" after {age(ran)}" if ran is not None else "")
                + f", and because its restart policy is Always the kubelet starts it again ({restarts} restarts so far). "
                  f"A long-running container must keep a process in the foreground: the command probably starts a "
                  f"daemon that forks to the background, or it is a one-off task.")
        if owner in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
            expl += f" For a task that should run once, use a Job instead of a {owner}."
        if log_note:
            expl += f" ({log_note}.)"
        yield Finding(
            code="container.completed-restarting", severity=severity_for(phase), container=name,
            title=f"{name}: exits 0 and is restarted ({restarts} restarts)",
            explanation=expl, evidence=evidence,
            suggestions=["run the server in the foreground (e.g. nginx -g 'daemon off;', no '&' or nohup)",
                         "move one-off work to a Job (or an init container), and work that repeats on a "
                         "schedule to a CronJob (or a loop that never exits inside the container)",
                         f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}"],
            since=term.get("finishedAt"),
            extra={"exit_code": 0, "restart_count": restarts, "init": is_init, "sidecar": is_sidecar(spec, is_init)},
        )
