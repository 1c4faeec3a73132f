"""pod.unexplained: a pod that is not healthy and no rule knows why.

``diagnose.health`` says whether a pod is at its desired state and lists what is
visibly wrong. When no other finding of severity warning or error covers one of
those problems, this finding states exactly what is visible (the states, reasons
and messages, the conditions, the last events) and what to read next. It always
ranks last, so it never hides or outranks a specific finding.

A problem is covered by a warning or error finding on its container, or on the
pod as a whole (container None); a pod-level problem, or a container that has
simply not started yet, is covered by any such finding of the pod. An ephemeral
(debug) container's problem is covered only by a finding on that container.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.health import Health, Problem, container_views, start_budget
from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event
from kubectl_podfix.diagnose.rules.containers.state import terminated_text
from kubectl_podfix.diagnose.rules.probes import describe_probe, probe_try

CODE = "pod.unexplained"
CODES: dict[str, str] = {
    CODE: "the pod is not healthy and no rule recognises why: what is visible, and what to read next",
}
RULES = ()  # run by diagnose() after every other rule (it needs their findings)

_STRONG = ("error", "warning")
_MAX_EVENTS = 5


def covered(problem: Problem, findings: list[Finding]) -> bool:
    """Whether a warning or error finding already speaks for ``problem`` (see the module docstring)."""
    strong = [f for f in findings if f.severity in _STRONG]
    if any(f.container == problem.container and problem.container is not None for f in strong):
        return True
    if problem.ephemeral:
        return False
    if problem.container is None or problem.waiting_to_start:
        return bool(strong)
    return any(f.container is None for f in strong)


def unexplained(ctx: PodContext, findings: list[Finding], health: Health) -> list[Finding]:
    """The fallback finding for ``ctx``'s pod, or nothing when it is healthy or every problem is covered."""
    left = [p for p in health.problems if not covered(p, findings)]
    if not left:
        return []
    severity = "error" if any(p.severity == "error" for p in left) else "warning"
    # The one container concerned (besides the pod as a whole), when it is in the spec.
    named = {p.container for p in left if p.container is not None}
    single = next(iter(named)) if len(named) == 1 else None
    container = single if single is not None and all(p.in_spec for p in left if p.container == single) else None
    evidence = _evidence(ctx, left)
    explanation = ("podfix has no rule that explains what this pod shows, so here is exactly what is visible: "
                   + "; ".join(p.summary for p in left) + ". " + _next(ctx, left))
    title = f"not healthy, cause not recognised: {left[0].summary}"
    if len(title) > 140:
        title = title[:137] + "..."
    return [Finding(
        code=CODE, severity=severity, container=container, title=title, explanation=explanation,
        evidence=evidence, suggestions=_suggestions(ctx, left),
        extra={"problems": [{"kind": p.kind, "container": p.container, "severity": p.severity,
                             "summary": p.summary, "ephemeral": p.ephemeral} for p in left],
               "phase": dig(ctx.pod, "status.phase")},
    )]


# -- what is visible ------------------------------------------------------------------------------

def _evidence(ctx: PodContext, left: list[Problem]) -> list[str]:
    pod = ctx.pod if isinstance(ctx.pod, dict) else {}
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    out = []
    phase = status.get("phase")
    line = f"phase: {phase}" if isinstance(phase, str) and phase else "phase: (none recorded)"
    if status.get("reason") or status.get("message"):
        line += f", reason {status.get('reason') or '?'}" + (f": {status.get('message')}" if status.get("message")
                                                             else "")
    created = parse_time(dig(pod, "metadata.creationTimestamp"))
    if created:
        line += f"; created {age((ctx.now - created).total_seconds())} ago"
    out.append(line)
    for cond in status.get("conditions") if isinstance(status.get("conditions"), list) else []:
        if not isinstance(cond, dict) or cond.get("status") == "True":
            continue
        text = f"condition {cond.get('type') or '?'}={cond.get('status') or '?'}"
        if cond.get("reason"):
            text += f" ({cond.get('reason')})"
        if cond.get("lastTransitionTime"):
            text += f" since {cond.get('lastTransitionTime')}"
        if cond.get("message"):
            text += f": {cond.get('message')}"
        out.append(text)
    gates = [dig(g, "conditionType") for g in dig(pod, "spec.readinessGates", []) or [] if isinstance(g, dict)]
    if gates and any(p.kind in ("readiness-gate", "pod-not-ready") for p in left):
        out.append("readiness gates: " + ", ".join(str(g) for g in gates))
    wanted = {p.container for p in left if p.container is not None}
    views = list(container_views(pod))
    if not wanted:  # a pod-level problem: show every container that is not running and Ready
        wanted = {v.name for v in views if not v.ephemeral and not (
            dig(v.status, "state.running") and v.status.get("ready") is True)}
    for v in views:
        if v.name not in wanted:
            continue
        who = f"{v.label} {v.name}".rstrip()
        for text in _state_lines(v.status):
            out.append(f"{who}: {text}")
        if not v.in_spec:
            out.append(f"{who}: not in the pod's spec in the data (a partial object): read from its status alone")
        for key in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = v.spec.get(key)
            if isinstance(probe, dict) and any(p.kind == "not-ready" for p in left if p.container == v.name):
                out.append(f"{who}: {key[:-5]} probe: {describe_probe(probe, v.spec)}")
        if any(p.kind == "not-ready" for p in left if p.container == v.name):
            out.append(f"{who}: start budget {start_budget(v.spec)}s (startup and readiness probes' delay + "
                       f"period x failureThreshold, at least 30s)")
    if "events" in ctx.missing:
        out.append("events: could not be read, so the kubelet's and the scheduler's reasons are not in the data")
    elif not ctx.events:
        out.append("events: none in the data (the API server keeps them for an hour; a saved "
                   "`kubectl get pod -o yaml` has none)")
    else:
        for ev in ctx.events[-_MAX_EVENTS:]:
            out.append(describe_event(ev, ctx.now))
    return out


def _state_lines(st: dict) -> list[str]:
    out = []
    state = st.get("state") if isinstance(st.get("state"), dict) else {}
    for label, key in (("state", "state"), ("last state", "lastState")):
        part = st.get(key) if isinstance(st.get(key), dict) else {}
        for kind in ("waiting", "running", "terminated"):
            body = part.get(kind)
            if not isinstance(body, dict):
                continue
            if kind == "running":
                out.append(f"{label}: Running" + (f" since {body.get('startedAt')}" if body.get("startedAt") else
                                                   " (start time not recorded)"))
            elif kind == "waiting":
                reason = body.get("reason") or "no reason given"
                out.append(f"{label}: Waiting ({reason})" + (f": {body.get('message')}" if body.get("message") else ""))
            else:
                out.append(f"{label}: {terminated_text(body)}")
    if not state or not any(isinstance(state.get(k), dict) for k in ("waiting", "running", "terminated")):
        out.append("state: not recorded")
    out.append(f"ready: {str(st.get('ready')).lower() if isinstance(st.get('ready'), bool) else 'not recorded'}")
    if st.get("restartCount"):
        out.append(f"restart count: {st.get('restartCount')}")
    return out


# -- what to read next ----------------------------------------------------------------------------

def _next(ctx: PodContext, left: list[Problem]) -> str:
    kinds = {p.kind for p in left}
    parts = []
    if "waiting" in kinds:
        parts.append("The kubelet's waiting reason and message above are its own words; the pod's events "
                     "usually say what it tried")
    if "not-ready" in kinds or "pod-not-ready" in kinds:
        parts.append("Nothing in the data says why it is not Ready: a failing readiness probe leaves Unhealthy "
                     "events (kept for an hour), a container without one is Ready once it runs")
    if "restarting" in kinds or "terminated" in kinds:
        parts.append("Why the process stopped is in its log (kubectl logs, with --previous once it restarted)")
    if "pending" in kinds or "starting-stuck" in kinds:
        parts.append("The scheduler and the kubelet record why a pod is still starting in its events")
    for p in left:
        if p.kind != "initializing":
            continue
        spec = next((c for c in dig(ctx.pod, "spec.initContainers", []) or [] if isinstance(c, dict)
                     and c.get("name") == p.container), {}) if isinstance(ctx.pod, dict) else {}
        words = [str(w) for w in (spec.get("command") or []) + (spec.get("args") or [])]
        parts.append(f"Init container {p.container or 'the init container'} has not exited, and the app's "
                     "containers start only once every init container has exited 0: it is usually waiting for "
                     "something (a Service, a database, a migration, a file), or loops forever. The kubelet records "
                     "nothing about a running init container; its log says what it waits for"
                     + (f" (its command: {' '.join(words)[:200]})" if words else ""))
    if "readiness-gate" in kinds:
        parts.append("A readiness gate is set by the controller that owns it, not by the kubelet")
    if "phase-unknown" in kinds:
        parts.append("Phase Unknown means the pod's node stopped reporting: look at the node")
    if "no-status" in kinds:
        parts.append("The pod's status is missing or partial in the data: read it from the cluster")
    lost = [v for v in container_views(ctx.pod if isinstance(ctx.pod, dict) else {})
            if "ContainerStatusUnknown" in (dig(v.status, "state.terminated.reason"),
                                            dig(v.status, "lastState.terminated.reason"))]
    if lost:
        text = ("ContainerStatusUnknown means the runtime lost the container (the pod was deleted or evicted while "
                "it ran): its exit code 137 is a placeholder, not a kill or an out-of-memory")
        limited = [v.name for v in lost if dig(v.spec, "resources.limits.ephemeral-storage")]
        if limited:
            text += (f"; {', '.join(limited)} sets an ephemeral-storage limit "
                     f"({dig(lost[0].spec, 'resources.limits.ephemeral-storage') if lost[0].name in limited else ''})"
                     f", and going over it evicts the pod: look for an eviction before blaming the application")
        parts.append(text)
    if "stuck-terminating" in kinds:
        parts.append("Finalizers, an unreachable node or a container that does not stop keep a deleted pod")
    if "ephemeral" in kinds:
        parts.append("An ephemeral (kubectl debug) container does not affect the app; it only blocks the debug "
                     "session")
    if ("events" in ctx.missing or not ctx.events) and not ("no-status" in kinds and len(kinds) == 1):
        parts.append("No events are in the data, so list them from the cluster while they last")
    return ". ".join(parts) + "." if parts else ""


def _suggestions(ctx: PodContext, left: list[Problem]) -> list[str]:
    ns, name = ctx.namespace, ctx.name
    out = [f"kubectl describe pod {name} -n {ns}",
           f"kubectl get events -n {ns} --field-selector involvedObject.name={name}"]
    pod = ctx.pod if isinstance(ctx.pod, dict) else {}
    logs_for = []
    for v in container_views(pod):
        if v.name not in {p.container for p in left} or not v.name:
            continue
        if (v.status.get("restartCount") or 0) or dig(v.status, "lastState.terminated"):
            logs_for.append(f"kubectl logs {name} -c {v.name} --previous -n {ns}")
        if dig(v.status, "state.running") or dig(v.status, "state.terminated"):
            logs_for.append(f"kubectl logs {name} -c {v.name} -n {ns}")
        if isinstance(v.spec.get("readinessProbe"), dict) and any(
                p.kind == "not-ready" and p.container == v.name for p in left):
            logs_for.append(probe_try(ctx, v.name, v.spec["readinessProbe"]))
    out += logs_for
    node = dig(pod, "spec.nodeName")
    if node and any(p.kind in ("phase-unknown", "pending", "starting-stuck", "stuck-terminating") for p in left):
        out.append(f"kubectl describe node {node}")
    if any(p.kind == "no-status" or not p.in_spec for p in left):
        out.append(f"kubectl get pod {name} -n {ns} -o yaml")
    return out
