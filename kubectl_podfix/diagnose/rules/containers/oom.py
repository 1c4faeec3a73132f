"""container.oom-killed: the kernel killed the container for its memory use."""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, Fix, PodContext, age, dig
from kubectl_podfix.diagnose.rules.common import kubectl, node_arg
from kubectl_podfix.diagnose.rules.containers.resources import (
    container_resources,
    format_bytes,
    metrics_usage,
    parse_quantity,
)
from kubectl_podfix.diagnose.rules.containers.state import (
    each_container,
    is_sidecar,
    kind_label,
    killed_by_deletion,
    last_termination,
    ran_for,
    restart_phase,
    severity_for,
    skip_pod,
    state_line,
)


def oom_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        term, current = last_termination(status)
        if not term or term.get("reason") != "OOMKilled":
            continue
        if killed_by_deletion(ctx, term):
            continue
        phase = restart_phase(ctx, status)
        limit, request = container_resources(spec)
        usage = metrics_usage(ctx, name)
        used = parse_quantity((usage or {}).get("memory"))
        evidence = state_line(status)
        evidence.append(f"memory limit: {format_bytes(limit) if limit else 'none'}; "
                        f"request: {format_bytes(request) if request else 'none'}")
        if usage is not None:
            evidence.append(f"current usage (metrics.k8s.io): {format_bytes(used)}")
        elif not ctx.snapshot.metrics and "metrics" in ctx.missing:
            evidence.append("current usage: unknown (metrics.k8s.io not available)")
        ran = ran_for(term)
        if limit:
            expl = (f"The kernel killed {kind_label(spec, is_init)} {name} because its memory use reached its limit of "
                    f"{format_bytes(limit)} (OOMKilled, exit code {term.get('exitCode', 137)})")
            expl += f" after running {age(ran)}." if ran is not None else "."
            expl += (" Either the limit is too low for this workload (raise it, and the request with it), or the "
                     "application leaks or caches memory without bound (for JVMs, set -XX:MaxRAMPercentage; "
                     "for Node.js, --max-old-space-size below the limit).")
        else:
            expl = (f"{kind_label(spec, is_init).capitalize()} {name} was OOM-killed although it has no memory limit: "
                    f"the node itself ran out of memory and the kernel picked it. Set a memory request that "
                    f"reflects its real use so the scheduler places it on a node with room, and a limit.")
        severity = severity_for(phase)
        if term.get("exitCode") == 0 and is_init and not is_sidecar(spec, is_init):
            # The kernel killed a child process, and the main one exited 0 (kubernetes#104454). Kubelets before
            # 1.23 took that as success and started the app containers; later ones count an OOM-killed init
            # container as failed whatever its exit code (kubernetes#104650), so the pod does not go on.
            apps = [st for st in dig(ctx.pod, "status.containerStatuses") or [] if isinstance(st, dict)]
            if any(dig(st, "state.running") or dig(st, "state.terminated") for st in apps):
                severity = "info"
                expl += (" Its exit code is 0, though: the kernel killed one of its child processes, the main "
                         "process finished, and the pod went on to start its containers (kubelets before 1.23 do "
                         "that). Check that the init step's work is complete.")
            else:
                expl += (" Its exit code is 0: the kernel killed one of its child processes, not the main one, but "
                         "an OOM-killed init container counts as failed whatever its exit code, so the pod's "
                         "containers do not start"
                         + (" and, with restartPolicy Never, never will" if ctx.pod.get("spec", {}).get(
                             "restartPolicy") == "Never" else "") + ".")
        if current and phase == "current" and severity != "info":
            expl += " It is not running now."
        elif phase == "recovered":
            expl += " It has been running again for a while; this is an earlier restart."
        # NB: with no limit, no request and no usage, fix memory has nothing to base a value on (it refuses)
        fix = Fix(id="memory", description=f"raise the memory limit and request of container {name}",
                  command=f"kubectl podfix fix memory {ctx.name} -n {ctx.namespace}") \
            if limit or request or used else None
        yield Finding(
            code="container.oom-killed", severity=severity, container=name,
            title=f"{name}: killed for using too much memory (OOMKilled)" + (
                f", limit {format_bytes(limit)}" if limit else ", no limit set"),
            explanation=expl, evidence=evidence,
            suggestions=[kubectl(ctx, "top", "pod", ctx.name, "--containers"),
                         f"kubectl logs {ctx.name} -c {name} --previous -n {ctx.namespace}",
                         f"kubectl describe node {node_arg(ctx)}"],
            fix=fix, since=term.get("finishedAt"),
            extra={"exit_code": term.get("exitCode"), "signal": "SIGKILL", "limit": format_bytes(limit) if limit else None,
                   "request": format_bytes(request) if request else None, "limit_bytes": limit,
                   "request_bytes": request, "usage": format_bytes(used) if used is not None else None,
                   "restart_count": (status or {}).get("restartCount", 0), "init": is_init},
        )
