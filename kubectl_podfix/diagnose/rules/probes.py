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
import json
import re
import shlex
from typing import Iterable

from kubectl_podfix.diagnose.health import start_budget
from kubectl_podfix.diagnose.model import Finding, Fix, PodContext, age, dig, event_time, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, events_about, kubectl
from kubectl_podfix.diagnose.rules.containers.logs import log_evidence
from kubectl_podfix.diagnose.rules.containers.messages import find_command_not_found
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
    "container.probe-errored": "a probe cannot run at all (it errors, e.g. its command is not in the image), "
                               "while the container stays Ready or is not killed",
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
# runc failing to start an exec'd process (the probe's) before it runs: "OCI runtime exec failed: exec failed:
# container_linux.go:345: starting container process caused "read init-p: connection reset by peer"",
# "executing setns process caused \"exit status 27\"", "fork/exec /proc/self/exe: cannot allocate memory"
# (opencontainers/runc#1343). A missing probe command is told apart before this.
_EXEC_RUNTIME = re.compile(r"OCI runtime exec failed|(?:executing|starting) setns process|read init-p|"
                           r"fork/exec /proc/self/exe", re.I)
_COMBINED = "(combined from similar events): "


def event_message(ev: dict) -> str:
    """An event's message without the recorder's "(combined from similar events): " prefix."""
    msg = (ev.get("message") or "").strip()
    return msg[len(_COMBINED):] if msg.startswith(_COMBINED) else msg


_HTTP_GET = re.compile(r'^(?:Get|Head) "?https?://', re.I)


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
    if _EXEC_RUNTIME.search(msg):
        return "exec-runtime", ("the container runtime could not start the probe's process inside the container "
                                "(OCI runtime exec failed before the command ran): the node (memory, PIDs) or the "
                                "runtime, not the application's answer")
    if "does not implement the grpc health protocol" in low or "unimplemented" in low and "grpc" in low:
        return "grpc-unimplemented", ("the server does not serve the gRPC health service (grpc.health.v1.Health) "
                                      "that a grpc probe calls: register it in the app, or probe the port with "
                                      "tcpSocket")
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
        if _HTTP_GET.match(out):
            # An httpGet probe's own client error, not an exec probe's output.
            if "redirects" in low:
                return "redirect-loop", ("the endpoint keeps redirecting (the kubelet stops after 10 redirects): it "
                                         "redirects the probe's path to itself, to HTTPS or to a login page; probe "
                                         "a path that answers 200 directly")
            if "malformed http response" in low or "malformed http status" in low:
                return "not-http", ("the port does not answer HTTP/1.1 (a gRPC or HTTP/2-only server, or another "
                                    "protocol): use a grpc or tcpSocket probe, or the application's HTTP port")
            return "http-error", f"the HTTP request failed: {out[:200]}"
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


# A probe that errors because its container already stopped says nothing about the probe (kubernetes#25149).
_NOT_RUNNING = re.compile(r"is not running|container not running|not running container|cannot exec in a stopped "
                          r"|no such container|container_exited|container is in container_exited state"
                          r"|task [0-9a-f]+ not found|container not found", re.I)


def probe_error_noise(message: str) -> bool:
    """An errored probe whose container had already stopped: noise next to the exit itself."""
    return bool(_NOT_RUNNING.search(message or ""))


def _unhealthy(ctx: PodContext, name: str, kind: str) -> list[dict]:
    prefix = f"{kind.capitalize()} probe"
    return [ev for ev in events_about(ctx, name, {"Unhealthy", "ProbeWarning"})
            if event_message(ev).startswith(prefix) and ev.get("reason") == "Unhealthy"
            and not probe_error_noise(event_message(ev))]


_ERRORED = re.compile(r"^(?P<kind>Liveness|Readiness|Startup) probe (?:errored|error):\s*(?P<error>.*)$", re.S | re.I)


def errored_events(ctx: PodContext, name: str) -> list[tuple[str, str, dict]]:
    """(kind, error, event) for every "<Kind> probe errored: ..." event of ``name``.

    OpenShift's kubelet adds a ``ProbeError`` event ("Readiness probe error: <output> body: <body>") next to
    every ordinary failure (openshift/origin#26766 shows both for one connection refused): it counts here only
    when its text says the probe could not run at all (its command is missing).
    """
    out = []
    for ev in events_about(ctx, name, {"Unhealthy", "ProbeError"}):
        m = _ERRORED.match(event_message(ev))
        if not m or probe_error_noise(m.group("error")):
            continue
        if ev.get("reason") == "ProbeError" and find_command_not_found(m.group("error")) is None:
            continue
        out.append((m.group("kind").lower(), m.group("error").strip(), ev))
    return out


def _after(evs: list[dict], since, slack: float = 2.0) -> list[dict]:
    if since is None:
        return evs
    limit = since - _dt.timedelta(seconds=slack)
    return [ev for ev in evs if (event_time(ev) or limit) >= limit]


KILL_TOLERANCE = 3  # seconds of slack around a probe's kill budget when timing alone says "probe kill"


def kill_window(ctx: PodContext, probe: dict, exit_code: int | None) -> tuple[float, float]:
    """(earliest, latest) seconds a container can run before its probe kills it.

    The kubelet probes every periodSeconds once initialDelaySeconds have passed, and kills after
    failureThreshold failures in a row: from initialDelay + (failureThreshold - 1) x period (the first probe
    came right at the delay) to initialDelay + failureThreshold x period + timeoutSeconds (it came a period
    later and timed out). A process that ignores SIGTERM is SIGKILLed (137) only after the termination grace
    period (the probe's own terminationGracePeriodSeconds, else the pod's, 30 s by default).
    """
    s = probe_settings(probe)
    earliest = s["initialDelaySeconds"] + (s["failureThreshold"] - 1) * s["periodSeconds"] - KILL_TOLERANCE
    latest = kill_budget(probe) + s["timeoutSeconds"] + KILL_TOLERANCE
    if exit_code == 137:
        grace = probe.get("terminationGracePeriodSeconds")
        if not isinstance(grace, int):
            grace = dig(ctx.pod, "spec.terminationGracePeriodSeconds")
        latest += grace if isinstance(grace, int) and grace >= 0 else 30
    return earliest, latest


def _run_events_gone(ctx: PodContext, name: str, term: dict) -> bool:
    """Whether the events of a container's last run are gone (expired after an hour, or never gathered)."""
    if "events" in ctx.missing:
        return True
    started = parse_time(term.get("startedAt"))
    return not _after(events_about(ctx, name), started)


def _restart_probe_rule(ctx: PodContext, kind: str) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") == "Succeeded" or pod_terminal_reason(ctx):
        return
    for spec, status, is_init in ctx.containers():
        finding = restart_probe_finding(ctx, spec, status, is_init, kind)
        if finding is not None:
            yield finding


def restart_probe_finding(ctx: PodContext, spec: dict, status: dict | None, is_init: bool,
                          kind: str) -> Finding | None:
    """The liveness/startup probe finding for one container, or None: a kill (Killing events, or inferred
    from Unhealthy failures, or from the run's length alone once the events are gone), or for a startup
    probe, failures that have not killed the container yet."""
    code = f"container.{kind}-probe-failed"
    name = spec.get("name") or "?"
    probe = spec.get(f"{kind}Probe")
    if not isinstance(probe, dict) or not status:
        return None
    term, current = last_termination(status)
    if term and term.get("reason") == "OOMKilled":
        return None
    window = parse_time((term or {}).get("startedAt")) if term else parse_time(dig(status, "state.running.startedAt"))
    kills = _after(probe_kill_events(ctx, name, kind), window)
    unhealthy_all = _unhealthy(ctx, name, kind)
    unhealthy = _after(unhealthy_all, window)
    inferred = ""
    restarts = status.get("restartCount") if isinstance(status.get("restartCount"), int) else 0
    ran = ran_for(term)
    if not kills:
        exit_code = (term or {}).get("exitCode")
        if term and unhealthy and (restarts > 0 or current):
            # Only Warning events may have been gathered: infer the kill from failures during the last run.
            if exit_code not in _KILL_EXIT_CODES:
                return None
            if ran is not None and ran + probe_settings(probe)["periodSeconds"] < kill_budget(probe):
                return None  # it died before the probe could have killed it
            inferred = "events"
        elif term and not unhealthy and (restarts > 0 or current) and exit_code in _KILL_EXIT_CODES \
                and ran is not None and _run_events_gone(ctx, name, term) \
                and (kind == "startup" or not isinstance(spec.get("startupProbe"), dict)):
            # The events are gone (they expire after an hour): the run's length can still tell. A liveness
            # probe behind a startup probe starts at an unknown time, so only the first probe is timed.
            earliest, latest = kill_window(ctx, probe, exit_code)
            if not earliest <= ran <= latest:
                return None
            inferred = "timing"
        elif kind == "startup" and not term and unhealthy:
            return _startup_not_killed_yet(ctx, spec, status, is_init, probe, unhealthy)
        else:
            return None
    phase = restart_phase(ctx, status)
    if not term and dig(status, "state.running"):
        phase = "current" if status.get("ready") is False else "flapping"  # being killed right now
    budget = kill_budget(probe)
    s = probe_settings(probe)
    last_msg = (unhealthy or unhealthy_all or [{}])[-1].get("message") or ""
    result_kind, result_words = probe_result(last_msg) if last_msg else ("unknown", "no Unhealthy event recorded")
    evidence = [f"{kind} probe: {describe_probe(probe, spec)}"]
    evidence.append(f"kill budget: {s['initialDelaySeconds']}s delay + {s['failureThreshold']} x "
                    f"{s['periodSeconds']}s = {budget}s (+ {s['timeoutSeconds']}s timeout)")
    evidence += state_line(status)
    for ev in (unhealthy or unhealthy_all)[-2:]:
        evidence.append(describe_event(ev, ctx.now))
    for ev in kills[-1:]:
        evidence.append(describe_event(ev, ctx.now))
    if inferred == "timing":
        evidence.append("events: not in the data" if "events" in ctx.missing else
                        "events: none left from its last run (they expire after an hour)")
    log_lines, _note = log_evidence(ctx, name)
    evidence += log_lines
    label = kind_label(spec, is_init)
    if inferred == "timing":
        exit_code = term.get("exitCode")
        how = {137: "137 (SIGKILL after the grace period)", 143: "143 (SIGTERM)", 0: "0 (it stopped on SIGTERM)"}
        expl = (f"The {label} {name} most likely was killed by its {kind} probe. No probe event is left to "
                f"confirm it, but it ran {age(ran)} ({int(ran)}s), about the {budget}s its {kind} probe allows "
                f"(initialDelaySeconds {s['initialDelaySeconds']} + failureThreshold {s['failureThreshold']} x "
                f"periodSeconds {s['periodSeconds']}, + timeoutSeconds {s['timeoutSeconds']}), and ended with exit "
                f"code "
                f"{how.get(exit_code, exit_code)}, which is how a probe kill ends. A process that crashes by itself "
                f"rarely dies that close to the probe's budget.")
        if kind == "startup":
            expl += (" The application never answered its startup probe in time: it needs longer to start (raise "
                     "failureThreshold) or the probe checks the wrong port/path.")
        else:
            expl += (" The application did not become healthy within the probe's budget: if it is slow to start, "
                     "add a startupProbe (or raise initialDelaySeconds) instead of loosening the liveness probe.")
    elif kind == "startup":
        expl = (f"The kubelet restarts {label} {name} because its startup probe never succeeded within "
                f"{budget}s (initialDelaySeconds {s['initialDelaySeconds']} + failureThreshold "
                f"{s['failureThreshold']} x periodSeconds {s['periodSeconds']}). The probe got: {result_words}. Either "
                f"the application needs longer to start (raise failureThreshold) or the probe checks the wrong "
                f"port/path.")
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
    if inferred == "events":
        expl += (" (No Killing event is in the data, only Warning events; the kill is inferred from the probe "
                 "failures during the last run and the exit code.)")
    if phase == "recovered":
        expl += " It has been running and Ready for a while since; this is an old restart."
    title_why = ("timing: ran " + age(ran) + f" of a {budget}s budget") if inferred == "timing" else \
        result_words.split(' (')[0].split(':')[0]
    return Finding(
        code=code, severity=severity_for(phase), container=name,
        title=f"{name}: restarted by a failing {kind} probe ({title_why})",
        explanation=expl, evidence=evidence,
        suggestions=[kubectl(ctx, "describe", "pod", ctx.name),
                     f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}",
                     probe_try(ctx, name, probe)],
        # NB: fix probe refuses a liveness probe that failed long after start, unless it timed out
        # (loosening it would hide an application that stopped answering): no fix to offer then.
        fix=None if kind == "liveness" and ran is not None and ran > budget + 3 * s["periodSeconds"]
        and result_kind != "timeout" else
        Fix(id="probe", description=f"adjust the {kind} probe of container {name}",
            command=f"kubectl podfix fix probe {ctx.name} -n {ctx.namespace}"),
        since=(term or {}).get("finishedAt"),
        extra={"probe": {"kind": kind, "description": describe_probe(probe, spec), **s},
               "budget_seconds": budget, "result": result_kind if inferred != "timing" else "unknown",
               "result_message": last_msg, "exit_code": (term or {}).get("exitCode"),
               "kills": sum((ev.get("count") or 1) for ev in kills), "inferred": bool(inferred),
               "inferred_from": inferred or None, "ran_seconds": ran, "restart_count": restarts,
               "init": is_init},
    )


def _startup_not_killed_yet(ctx: PodContext, spec: dict, status: dict, is_init: bool, probe: dict,
                            unhealthy: list[dict]) -> Finding | None:
    """A startup probe failing during the current run, before any kill: info while the container has used
    less than half its budget (failures are expected while it starts), then a warning."""
    name = spec.get("name") or "?"
    if status.get("ready") is True or not dig(status, "state.running"):
        return None
    running_for = seconds_since(ctx, parse_time(dig(status, "state.running.startedAt")))
    budget = kill_budget(probe)
    s = probe_settings(probe)
    result_kind, result_words = probe_result(unhealthy[-1].get("message") or "")
    failures = sum(ev.get("count") if isinstance(ev.get("count"), int) else 1 for ev in unhealthy)
    late = running_for is None or running_for >= budget / 2
    left = budget - running_for if running_for is not None else None
    expl = (f"The {kind_label(spec, is_init)} {name}'s startup probe has failed {failures} time(s) since it started"
            + (f" {age(running_for)} ago" if running_for is not None else "") + f" ({result_words}). "
            f"It allows {budget}s (initialDelaySeconds {s['initialDelaySeconds']} + failureThreshold "
            f"{s['failureThreshold']} x periodSeconds {s['periodSeconds']}) before the kubelet kills the container.")
    if late:
        expl += (" The container has used more than half of that budget and still does not answer: unless it "
                 "starts soon it will be killed" + (f" in about {age(left)}" if left is not None and left > 0 else "")
                 + ". Check that the probe's port/path is right, or give it a longer budget.")
    else:
        expl += " Failures while an application starts are expected; nothing has been killed yet."
    evidence = [f"startup probe: {describe_probe(probe, spec)}",
                f"kill budget: {s['initialDelaySeconds']}s delay + {s['failureThreshold']} x {s['periodSeconds']}s "
                f"= {budget}s"] + state_line(status) + [describe_event(ev, ctx.now) for ev in unhealthy[-2:]]
    return Finding(
        code="container.startup-probe-failed", severity="warning" if late else "info", container=name,
        title=f"{name}: startup probe failing, not killed yet ({result_words.split(' (')[0].split(':')[0]})",
        explanation=expl, evidence=evidence,
        suggestions=[probe_try(ctx, name, probe), f"kubectl logs {ctx.name} -c {name} -n {ctx.namespace}"],
        since=unhealthy[0].get("firstTimestamp"),
        extra={"probe": {"kind": "startup", "description": describe_probe(probe, spec), **s},
               "budget_seconds": budget, "result": result_kind, "running_seconds": running_for,
               "failures": failures, "killed": False},
    )


def probe_try(ctx: PodContext, name: str, probe: dict) -> str:
    """A command that runs the probe by hand."""
    if probe.get("httpGet"):
        h = probe["httpGet"]
        return (f"kubectl exec {ctx.name} -c {name} -n {ctx.namespace} -- wget -qO- "
                f"{(h.get('scheme') or 'http').lower()}://localhost:{h.get('port')}{h.get('path') or '/'}")
    if probe.get("exec"):
        return (f"kubectl exec {ctx.name} -c {name} -n {ctx.namespace} -- "
                + shlex.join(str(c) for c in probe["exec"].get("command") or []))
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
            budget = start_budget(spec)
            if "events" not in ctx.missing and running_for is not None and running_for >= max(budget, grace):
                # events were read and hold no failure: expired (an hour after the last), or dropped by the
                # kubelet's per-pod event rate limit. The container's not being Ready is the probe's own result
                yield Finding(
                    code="container.readiness-probe-failed", severity="error", container=name,
                    title=f"{name}: not Ready for {age(running_for)}: its readiness probe has not passed",
                    explanation=(f"Container {name} has been running {age(running_for)}, past its start budget of "
                                 f"{budget}s, and is not Ready: the kubelet marks it Ready only when its readiness "
                                 f"probe passes, so the probe ({describe_probe(probe, spec)}) has been failing. "
                                 "Services send it no traffic. No failure event is in the data (events expire an "
                                 "hour after the last one, and the kubelet drops some when a pod has many), so the "
                                 "probe's answer cannot be quoted: run the probe yourself."),
                    evidence=evidence + [f"start budget: {budget}s, running {age(running_for)}",
                                         "no readiness probe event in the data"],
                    suggestions=[probe_try(ctx, name, probe), f"kubectl logs {ctx.name} -c {name} -n {ctx.namespace}",
                                 kubectl(ctx, "describe", "pod", ctx.name)],
                    extra={"probe": {"kind": "readiness", "description": describe_probe(probe, spec), **s},
                           "result": "unknown", "running_seconds": running_for},
                )
                continue
            if "events" not in ctx.missing or (running_for is not None and running_for < grace):
                continue  # just starting, or events show nothing: not enough to say
            yield Finding(
                code="container.readiness-probe-failed", severity="warning", container=name,
                title=f"{name}: not Ready (readiness probe presumably failing)",
                explanation=(f"Container {name} has been running {age(running_for)} but is not Ready. Events are "
                             f"not in the data, so the readiness probe's failures cannot be quoted; check them."),
                evidence=evidence,
                suggestions=[kubectl(ctx, "describe", "pod", ctx.name), probe_try(ctx, name, probe)],
                extra={"probe": {"kind": "readiness", "description": describe_probe(probe, spec), **s},
                       "result": "unknown"},
            )
            continue
        result_kind, result_words = probe_result(fails[-1].get("message") or "")
        budget = start_budget(spec)
        starting = running_for is not None and running_for < budget
        expl = (f"Container {name} is running but not Ready: its readiness probe fails ({result_words}). "
                f"Services send it no traffic until the probe passes. It has been running {age(running_for)}.")
        if starting:
            expl += (f" That is still inside its start budget of {budget}s (probe delay + period x "
                     f"failureThreshold), so it may simply still be starting.")
            evidence.append(f"start budget: {budget}s, running {age(running_for)}")
        elif result_kind == "connection-refused" and running_for is not None and running_for < 120:
            expl += " It may simply still be starting."
        yield Finding(
            code="container.readiness-probe-failed", severity="info" if starting else "error", container=name,
            title=f"{name}: not Ready, readiness probe failing ({result_words.split(' (')[0].split(':')[0]})",
            explanation=expl, evidence=evidence,
            suggestions=[probe_try(ctx, name, probe), f"kubectl logs {ctx.name} -c {name} -n {ctx.namespace}",
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


def errored_meaning(error: str, probe: dict, spec: dict | None = None) -> tuple[str, str]:
    """(kind, plain words) for why the kubelet could not run a probe."""
    cmd = dig(probe, "exec.command")
    if isinstance(cmd, list) and len(cmd) == 1 and isinstance(cmd[0], str) and " " in cmd[0].strip():
        return "exec-one-string", (f"the exec probe's command is a single string ({cmd[0]}), so the runtime looks "
                                   f"for a file named after the whole line: run it through a shell, sh -c, as "
                                   f"[\"sh\", \"-c\", \"...\"] (the shell runs the pipes and arguments), or split "
                                   f"the arguments")
    missing = find_command_not_found(error)
    if missing is not None:
        return "exec-missing", (f"the probe's command{' ' + repr(missing) if missing else ''} is not in the "
                                f"container's image (not in $PATH, or no such file at that path): the probe never "
                                f"runs at all")
    low = error.lower()
    if "deadline exceeded" in low or "timeout" in low or "timed out" in low:
        t = probe_settings(probe)["timeoutSeconds"]
        how = " while reading the response body" if "reading body" in low else ""
        return "timeout", (f"the probe did not finish within timeoutSeconds ({t}s){how}: the check is too slow "
                           f"for its timeout, or the application is overloaded")
    return "error", "the kubelet could not run the probe: " + error[:200]


def probe_errored_rule(ctx: PodContext) -> Iterable[Finding]:
    """Probes that error (the kubelet cannot run them) while nothing else shows it: the container stays Ready,
    or is not killed. A broken safety net: warning. When the errors keep the container not Ready or get it
    killed, the readiness/liveness/startup findings report them (as errors) instead."""
    if dig(ctx.pod, "status.phase") == "Succeeded" or pod_terminal_reason(ctx):
        return
    for spec, status, is_init in ctx.containers():
        if not status or not dig(status, "state.running"):
            continue  # errors about a container that is not running are noise next to why it stopped
        name = spec.get("name") or "?"
        started = parse_time(dig(status, "state.running.startedAt"))
        errors = [(k, e, ev) for k, e, ev in errored_events(ctx, name) if ev in _after([ev], started)]
        for kind in ("liveness", "readiness", "startup"):
            mine = [(e, ev) for k, e, ev in errors if k == kind]
            if not mine:
                continue
            probe = spec.get(f"{kind}Probe") if isinstance(spec.get(f"{kind}Probe"), dict) else {}
            if kind == "readiness" and status.get("ready") is False and probe:
                continue  # readiness_rule: the errors are what keeps it not Ready
            if kind != "readiness" and restart_probe_finding(ctx, spec, status, is_init, kind) is not None:
                continue  # the liveness/startup finding reports the kill (or the failing start)
            error, last = mine[-1]
            result, words = errored_meaning(error, probe, spec)
            count = sum(ev.get("count") if isinstance(ev.get("count"), int) else 1 for _, ev in mine)
            running_for = seconds_since(ctx, started)
            expl = (f"The {kind} probe of {kind_label(spec, is_init)} {name} cannot run at all: it errored {count} "
                    f"time(s) since the container started" + (f" {age(running_for)} ago" if running_for else "")
                    + f". {words[0].upper() + words[1:]}.")
            if kind == "readiness":
                expl += (" The container is Ready anyway (kubelets do not always count an errored readiness probe "
                         "as a failure), so Services send it traffic without the check the probe was meant to do.")
            elif kind == "liveness":
                expl += (" The container keeps running, so a liveness probe that can never pass is a broken safety "
                         "net: it cannot tell a healthy container from a hung one, and kubelets that count errors "
                         "as failures will restart the container every few periods.")
            else:
                expl += " A startup probe that cannot run never lets the container start."
            evidence = ([f"{kind} probe: {describe_probe(probe, spec)}"] if probe else []) + state_line(status)
            evidence.append(f"ready: {str(status.get('ready')).lower()}")
            for _, ev in mine[-2:]:
                evidence.append(describe_event(ev, ctx.now))
            sugs = []
            if result == "exec-one-string":
                line = dig(probe, "exec.command")[0]
                sugs.append(f"{kind}Probe.exec.command: {json.dumps(['sh', '-c', line])}")
            if probe:
                sugs.append(probe_try(ctx, name, probe))
            sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
            short = {"exec-one-string": "command written as one string", "exec-missing": "command not in the image",
                     "timeout": "times out"}.get(result, "cannot run")
            yield Finding(
                code="container.probe-errored", severity="warning", container=name,
                title=f"{name}: {kind} probe errors ({short})",
                explanation=expl, evidence=evidence, suggestions=sugs,
                since=mine[0][1].get("firstTimestamp"),
                extra={"probe": {"kind": kind, "description": describe_probe(probe, spec) if probe else None},
                       "result": result, "errors": count, "error_message": error, "ready": status.get("ready")},
            )


RULES = (startup_rule, liveness_rule, readiness_rule, probe_errored_rule)
