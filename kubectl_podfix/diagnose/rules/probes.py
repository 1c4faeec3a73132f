"""Probe family: restarts caused by liveness/startup probes, and readiness failures.

A kubelet that kills a container for a failed liveness (or startup) probe
records a Normal ``Killing`` event ("Container app failed liveness probe, will
be restarted"; before 1.16 "Container failed liveness probe.. Container will
be killed and recreated."; before 1.10 "... is unhealthy, it will be killed
and re-created."), preceded by Warning ``Unhealthy`` events ("Liveness probe
failed: HTTP probe failed with statuscode: 500"). The exit code the kill
leaves behind is whatever the process did with SIGTERM (0, 143, 137 after the
grace period, or anything), so the probe, not the exit code, is the cause.

When only Warning events were gathered (a namespace scan lists
``type=Warning`` only), the kill is inferred from ``Unhealthy`` liveness
failures during the last run plus an exit code a kill leaves (0, 137, 143).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, Fix, PodContext, age, dig, event_time, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, events_about, kubectl
from kubectl_podfix.diagnose.rules.containers.logs import log_evidence
from kubectl_podfix.diagnose.rules.containers.state import (
    kind_label,
    last_termination,
    pod_terminal_reason,
    ran_for,
    restart_phase,
    seconds_since,
    severity_for,
    state_line,
)

CODES: dict[str, str] = {
    "container.startup-probe-failed": "the startup probe keeps failing, so the kubelet restarts the container",
    "container.liveness-probe-failed": "the liveness probe fails, so the kubelet kills and restarts the container",
    "container.readiness-probe-failed": "the container runs but is not Ready because its readiness probe fails",
}

_RESTART_CODES = {"container.crash-loop", "container.completed-restarting", "container.readiness-probe-failed"}
SUPERSEDES: dict[str, set[str]] = {
    "container.liveness-probe-failed": set(_RESTART_CODES),
    "container.startup-probe-failed": set(_RESTART_CODES) | {"container.liveness-probe-failed"},
}

DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3,
            "successThreshold": 1}
_KILL_EXIT_CODES = {0, 137, 143}


def probe_settings(probe: dict) -> dict:
    return {k: probe.get(k) if isinstance(probe.get(k), int) else v for k, v in DEFAULTS.items()}


def kill_budget(probe: dict) -> int:
    """Seconds from container start until the probe can first kill it: initialDelay + failureThreshold x period."""
    s = probe_settings(probe)
    return s["initialDelaySeconds"] + s["failureThreshold"] * s["periodSeconds"]


def describe_probe(probe: dict, container: dict | None = None) -> str:
    """The probe the way kubectl describe prints it."""
    s = probe_settings(probe)
    if probe.get("httpGet"):
        h = probe["httpGet"]
        port = h.get("port")
        if isinstance(port, str) and container:
            named = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == port]
            port = f"{port}({named[0]})" if named else port
        target = f"http-get {(h.get('scheme') or 'HTTP').lower()}://{h.get('host') or ''}:{port}{h.get('path') or '/'}"
    elif probe.get("tcpSocket"):
        target = f"tcp-socket {probe['tcpSocket'].get('host') or ''}:{probe['tcpSocket'].get('port')}"
    elif probe.get("grpc"):
        target = f"grpc <pod>:{probe['grpc'].get('port')} {probe['grpc'].get('service') or ''}".rstrip()
    elif probe.get("exec"):
        target = "exec [" + " ".join(str(c) for c in probe["exec"].get("command") or []) + "]"
    else:
        target = "unknown handler"
    return (f"{target} delay={s['initialDelaySeconds']}s timeout={s['timeoutSeconds']}s "
            f"period={s['periodSeconds']}s #success={s['successThreshold']} #failure={s['failureThreshold']}")


_STATUS = re.compile(r"(?:HTTP probe failed with )?statuscode: (\d{3})")
_COMBINED = "(combined from similar events): "


def event_message(ev: dict) -> str:
    """An event's message without the recorder's "(combined from similar events): " prefix."""
    msg = (ev.get("message") or "").strip()
    return msg[len(_COMBINED):] if msg.startswith(_COMBINED) else msg


def probe_result(message: str) -> tuple[str, str]:
    """(kind, plain words) for what a probe got, from an Unhealthy event message."""
    msg = (message or "").strip()
    if msg.startswith(_COMBINED):
        msg = msg[len(_COMBINED):]
    low = msg.lower()
    m = _STATUS.search(msg)
    if m:
        code = m.group(1)
        return f"http-{code}", f"the endpoint answered HTTP {code}"
    if "connection refused" in low:
        return "connection-refused", ("nothing listens on that port (connection refused): the app is not up yet, "
                                      "crashed, or listens on another port or only on 127.0.0.1")
    if ("deadline exceeded" in low or "timeout" in low or "timed out" in low) and "exec" not in low[:40]:
        if "command" in low and "timed out" in low:
            return "exec-timeout", "the probe command did not finish within timeoutSeconds"
        return "timeout", "the endpoint did not answer within timeoutSeconds (a slow or blocked app, or a timeout set too low)"
    if "executable file not found" in low or "no such file or directory" in low and "exec" in low:
        return "exec-missing", "the probe's command does not exist in the image"
    if "no route to host" in low or "network is unreachable" in low:
        return "unreachable", "the pod IP is unreachable from the node (network problem)"
    if "connection reset" in low or low.strip().endswith("eof"):
        return "reset", "the connection was closed without an answer"
    if "http response to https client" in low or "tls" in low or "x509" in low:
        return "tls", "the probe's scheme does not match the server (HTTP vs HTTPS, or a TLS error)"
    if "not_serving" in low or "service unhealthy" in low:
        return "grpc-not-serving", "the gRPC health service reported NOT_SERVING"
    if "probe failed:" in low:
        out = msg.split("probe failed:", 1)[1].strip()
        return "exec-output", (f"the probe command failed with output: {out[:200]}" if out else
                               "the probe command exited non-zero with no output")
    if "errored" in low:
        return "error", "the kubelet could not run the probe: " + msg.split(":", 1)[-1].strip()[:200]
    return "other", msg[:200]


def probe_kill_events(ctx: PodContext, name: str, kind: str) -> list[dict]:
    """Killing events saying the kubelet killed ``name`` for a failed liveness/startup probe."""
    out = []
    for ev in ctx.events:
        if ev.get("reason") not in ("Killing", "Unhealthy", "StoppingContainer"):
            continue
        msg = ev.get("message") or ""
        if f"failed {kind} probe" not in msg and not (kind == "liveness" and "is unhealthy, it will be killed" in msg):
            continue
        path = dig(ev, "involvedObject.fieldPath", "") or ""
        if path and not path.endswith(f"{{{name}}}"):
            continue
        if not path and f"Container {name} " not in msg and f'"{name}"' not in msg:
            continue
        out.append(ev)
    return out


def _unhealthy(ctx: PodContext, name: str, kind: str) -> list[dict]:
    prefix = f"{kind.capitalize()} probe"
    return [ev for ev in events_about(ctx, name, {"Unhealthy", "ProbeWarning"})
            if event_message(ev).startswith(prefix) and ev.get("reason") == "Unhealthy"]


def _after(evs: list[dict], since, slack: float = 2.0) -> list[dict]:
    if since is None:
        return evs
    limit = since - _dt.timedelta(seconds=slack)
    return [ev for ev in evs if (event_time(ev) or limit) >= limit]


def _restart_probe_rule(ctx: PodContext, kind: str) -> Iterable[Finding]:
    code = f"container.{kind}-probe-failed"
    if dig(ctx.pod, "status.phase") == "Succeeded" or pod_terminal_reason(ctx):
        return
    for spec, status, is_init in ctx.containers():
        name = spec.get("name") or "?"
        probe = spec.get(f"{kind}Probe")
        if not isinstance(probe, dict) or not status:
            continue
        term, current = last_termination(status)
        if term and term.get("reason") == "OOMKilled":
            continue
        window = parse_time((term or {}).get("startedAt")) if term else parse_time(dig(status, "state.running.startedAt"))
        kills = _after(probe_kill_events(ctx, name, kind), window)
        unhealthy_all = _unhealthy(ctx, name, kind)
        unhealthy = _after(unhealthy_all, window)
        inferred = False
        restarts = status.get("restartCount") or 0
        if not kills:
            # Only Warning events may have been gathered: infer the kill from failures during the last run.
            if not (term and unhealthy and (restarts > 0 or current)):
                continue
            if term.get("exitCode") not in _KILL_EXIT_CODES:
                continue
            ran = ran_for(term)
            if ran is not None and ran + probe_settings(probe)["periodSeconds"] < kill_budget(probe):
                continue  # it died before the probe could have killed it
            inferred = True
        phase = restart_phase(ctx, status)
        if not term and dig(status, "state.running"):
            phase = "current" if status.get("ready") is False else "flapping"  # being killed right now
        budget = kill_budget(probe)
        s = probe_settings(probe)
        last_msg = (unhealthy or unhealthy_all or [{}])[-1].get("message") or ""
        result_kind, result_words = probe_result(last_msg) if last_msg else ("unknown", "no Unhealthy event recorded")
        evidence = [f"{kind} probe: {describe_probe(probe, spec)}"]
        evidence.append(f"kill budget: {s['initialDelaySeconds']}s delay + {s['failureThreshold']} x "
                        f"{s['periodSeconds']}s = {budget}s")
        evidence += state_line(status)
        for ev in (unhealthy or unhealthy_all)[-2:]:
            evidence.append(describe_event(ev, ctx.now))
        for ev in kills[-1:]:
            evidence.append(describe_event(ev, ctx.now))
        log_lines, _note = log_evidence(ctx, name)
        evidence += log_lines
        ran = ran_for(term)
        label = kind_label(spec, is_init)
        if kind == "startup":
            expl = (f"The kubelet restarts {label} {name} because its startup probe never succeeded within "
                    f"{budget}s ({s['initialDelaySeconds']}s initial delay + {s['failureThreshold']} failures x "
                    f"{s['periodSeconds']}s period). The probe got: {result_words}. Either the application needs "
                    f"longer to start (raise failureThreshold) or the probe checks the wrong port/path.")
        else:
            expl = (f"The kubelet killed {label} {name} because its liveness probe failed {s['failureThreshold']} "
                    f"times in a row; it then restarts it. The probe got: {result_words}.")
            if term is not None:
                expl += (f" The exit code left behind ({term.get('exitCode')}) is only how the process reacted to "
                         f"being stopped, not the cause.")
            if ran is not None and ran <= budget + 2 * s["periodSeconds"]:
                expl += (f" It ran {age(ran)}, about the {budget}s the probe allows after start: the application "
                         f"never became healthy in time. If it is just slow to start, add a startupProbe (or raise "
                         f"initialDelaySeconds) instead of loosening the liveness probe.")
            elif ran is not None:
                expl += f" It ran {age(ran)} before the probe started failing: the application stopped answering."
        if inferred:
            expl += (" (No Killing event is in the data, only Warning events; the kill is inferred from the probe "
                     "failures during the last run and the exit code.)")
        if phase == "recovered":
            expl += " It has been running and Ready for a while since; this is an old restart."
        sev = severity_for(phase)
        yield Finding(
            code=code, severity=sev, container=name,
            title=f"{name}: restarted by a failing {kind} probe ({result_words.split(' (')[0].split(':')[0]})",
            explanation=expl, evidence=evidence,
            suggestions=[kubectl(ctx, "describe", "pod", ctx.name),
                         f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}",
                         _probe_try(ctx, name, probe)],
            # NB: fix probe refuses a liveness probe that failed long after start, unless it timed out
            # (loosening it would hide an application that stopped answering): no fix to offer then.
            fix=None if kind == "liveness" and ran is not None and ran > budget + 3 * s["periodSeconds"]
            and result_kind != "timeout" else
            Fix(id="probe", description=f"adjust the {kind} probe of container {name}",
                command=f"kubectl podfix fix probe {ctx.name} -n {ctx.namespace}"),
            since=(term or {}).get("finishedAt"),
            extra={"probe": {"kind": kind, "description": describe_probe(probe, spec), **s},
                   "budget_seconds": budget, "result": result_kind, "result_message": last_msg,
                   "exit_code": (term or {}).get("exitCode"), "kills": sum((ev.get("count") or 1) for ev in kills),
                   "inferred": inferred, "restart_count": restarts, "init": is_init},
        )


def _probe_try(ctx: PodContext, name: str, probe: dict) -> str:
    if probe.get("httpGet"):
        h = probe["httpGet"]
        return (f"kubectl exec {ctx.name} -c {name} -n {ctx.namespace} -- wget -qO- "
                f"{(h.get('scheme') or 'http').lower()}://localhost:{h.get('port')}{h.get('path') or '/'}")
    if probe.get("exec"):
        return (f"kubectl exec {ctx.name} -c {name} -n {ctx.namespace} -- "
                + " ".join(str(c) for c in probe["exec"].get("command") or []))
    if probe.get("tcpSocket"):
        return f"kubectl port-forward {ctx.name} {probe['tcpSocket'].get('port')} -n {ctx.namespace} (then connect)"
    return kubectl(ctx, "get", "pod", ctx.name, "-o", "yaml")


def liveness_rule(ctx: PodContext) -> Iterable[Finding]:
    return _restart_probe_rule(ctx, "liveness")


def startup_rule(ctx: PodContext) -> Iterable[Finding]:
    return _restart_probe_rule(ctx, "startup")


def readiness_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") != "Running" or pod_terminal_reason(ctx) or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    for spec, status, is_init in ctx.containers():
        name = spec.get("name") or "?"
        probe = spec.get("readinessProbe")
        if not isinstance(probe, dict) or not status or not dig(status, "state.running"):
            continue
        if is_init and spec.get("restartPolicy") != "Always":
            continue
        if status.get("ready") is not False:
            continue
        started = parse_time(dig(status, "state.running.startedAt"))
        fails = _after(_unhealthy(ctx, name, "readiness"), started)
        s = probe_settings(probe)
        running_for = seconds_since(ctx, started)
        evidence = [f"readiness probe: {describe_probe(probe, spec)}"] + state_line(status)
        evidence.append("ready: false")
        for ev in fails[-2:]:
            evidence.append(describe_event(ev, ctx.now))
        if not fails:
            grace = s["initialDelaySeconds"] + s["failureThreshold"] * s["periodSeconds"]
            if "events" not in ctx.missing or (running_for is not None and running_for < grace):
                continue  # just starting, or events show nothing: not enough to say
            yield Finding(
                code="container.readiness-probe-failed", severity="warning", container=name,
                title=f"{name}: not Ready (readiness probe presumably failing)",
                explanation=(f"Container {name} has been running {age(running_for)} but is not Ready. Events are "
                             f"not in the data, so the readiness probe's failures cannot be quoted; check them."),
                evidence=evidence,
                suggestions=[kubectl(ctx, "describe", "pod", ctx.name), _probe_try(ctx, name, probe)],
                extra={"probe": {"kind": "readiness", "description": describe_probe(probe, spec), **s},
                       "result": "unknown"},
            )
            continue
        result_kind, result_words = probe_result(fails[-1].get("message") or "")
        expl = (f"Container {name} is running but not Ready: its readiness probe fails ({result_words}). "
                f"Services send it no traffic until the probe passes. It has been running {age(running_for)}.")
        if result_kind == "connection-refused" and running_for is not None and running_for < 120:
            expl += " It may simply still be starting."
        yield Finding(
            code="container.readiness-probe-failed", severity="error", container=name,
            title=f"{name}: not Ready, readiness probe failing ({result_words.split(' (')[0].split(':')[0]})",
            explanation=expl, evidence=evidence,
            suggestions=[_probe_try(ctx, name, probe), f"kubectl logs {ctx.name} -c {name} -n {ctx.namespace}",
                         kubectl(ctx, "describe", "pod", ctx.name)],
            # NB: a longer probe cures only a timeout; fix probe refuses anything else
            fix=Fix(id="probe", description=f"raise the readiness probe's timeout of container {name}",
                    command=f"kubectl podfix fix probe {ctx.name} -n {ctx.namespace}")
            if result_kind == "timeout" else None,
            since=fails[0].get("firstTimestamp"),
            extra={"probe": {"kind": "readiness", "description": describe_probe(probe, spec), **s},
                   "budget_seconds": kill_budget(probe), "result": result_kind,
                   "result_message": fails[-1].get("message"), "running_seconds": running_for},
        )


RULES = (startup_rule, liveness_rule, readiness_rule)
