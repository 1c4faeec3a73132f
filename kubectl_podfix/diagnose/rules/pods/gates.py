"""pod.readiness-gate: every container is Ready, but a readiness gate is not, so the pod gets no traffic.

A ``spec.readinessGates`` entry names a pod condition that some controller sets (the kubelet only reads it).
The kubelet reports it in the Ready condition (pkg/kubelet/status/generate.go): reason
``ReadinessGatesNotReady``, message ``corresponding condition of pod readiness gate "X" does not exist.`` or
``the status of pod readiness gate "X" is not "True", but False``, joined with ", " when several fail. That
only shows once the containers are Ready: before, Ready copies ContainersReady's reason.

The controller's own condition says more: the AWS Load Balancer Controller's
``target-health.elbv2.k8s.aws/<TargetGroupBinding>`` carries the target's health (``Target.FailedHealthChecks``,
``Target.ResponseCodeMismatch``, ``Elb.RegistrationInProgress``...), and can even read "True" with a message
that says the binding is deleted.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.health import GATE_GRACE, STUCK_AFTER, container_views
from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl
from kubectl_podfix.diagnose.rules.pods.status import pod_condition

# Who sets a gate, by the prefix of its condition type: (prefix, controller, where to look).
_CONTROLLERS = (
    ("target-health.elbv2.k8s.aws/", "the AWS Load Balancer Controller",
     "kubectl logs -n kube-system deployment/aws-load-balancer-controller"),
    ("target-health.alb.ingress.k8s.aws/",
     "the AWS ALB Ingress Controller (v1, the Load Balancer Controller's predecessor)",
     "kubectl logs -n kube-system deployment/alb-ingress-controller"),
    ("cloud.google.com/load-balancer-neg-ready", "GKE's NEG controller (container-native load balancing)",
     "kubectl get svcneg -A (and the backend service's health check in the Cloud console)"),
)

# What a target-health reason means, for the AWS controllers.
_TARGET_REASONS = {
    "Target.FailedHealthChecks": "the load balancer's target-group health check fails for this pod, although its own "
                                 "probes pass: check the target group's health-check path, port and success codes, "
                                 "and that the security groups let the load balancer reach the pod's port",
    "Target.ResponseCodeMismatch": "the load balancer's health check gets an HTTP code outside its success codes: "
                                   "fix the health-check path or the target group's success codes (matcher)",
    "Target.Timeout": "the load balancer's health check times out: a security group or network ACL blocks it, or "
                      "the endpoint is slow",
    "Target.NotRegistered": "the pod is not registered in the target group",
    "Target.NotInUse": "the target group is not used by any listener rule, or the pod's zone is not enabled on "
                       "the load balancer",
    "Target.DeregistrationInProgress": "the pod is being deregistered from the target group",
    "Elb.RegistrationInProgress": "the pod is being registered in the target group",
    "Elb.InitialHealthChecking": "the load balancer's first health checks are in progress",
}
_IN_PROGRESS = ("in progress", "registrationinprogress", "initialhealthchecking")


def _controller(gate: str) -> tuple[str, str]:
    for prefix, who, where in _CONTROLLERS:
        if gate.startswith(prefix):
            return who, where
    domain = gate.split("/", 1)[0] if "/" in gate else gate
    return f"the controller that owns {domain}", "the controller's logs"


def _containers_ready(ctx: PodContext) -> bool:
    views = [v for v in container_views(ctx.pod) if not v.ephemeral and not (v.init and not v.sidecar)]
    return all(v.status.get("ready") is True for v in views)


def readiness_gate_rule(ctx: PodContext) -> Iterable[Finding]:
    gates = [g.get("conditionType") for g in dig(ctx.pod, "spec.readinessGates", []) or []
             if isinstance(g, dict) and isinstance(g.get("conditionType"), str) and g.get("conditionType")]
    if not gates or dig(ctx.pod, "status.phase") != "Running" or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    if not _containers_ready(ctx):
        return  # the gates matter once the containers are Ready; until then the container findings speak
    unsatisfied, doubtful = [], []
    for gate in gates:
        cond = pod_condition(ctx, gate)
        if cond is None or cond.get("status") != "True":
            unsatisfied.append((gate, cond))
        else:
            text = f"{cond.get('reason') or ''} {cond.get('message') or ''}".lower()
            if "deleted" in text or any(w in text for w in _IN_PROGRESS):
                doubtful.append((gate, cond))
    if not unsatisfied and not doubtful:
        return
    ready = pod_condition(ctx, "Ready") or {}
    anchor = pod_condition(ctx, "ContainersReady") or ready
    since_t = parse_time(anchor.get("lastTransitionTime")) or parse_time(dig(ctx.pod, "status.startTime"))
    waited = (ctx.now - since_t).total_seconds() if since_t else None
    evidence = []
    if ready:
        evidence.append(f"condition Ready={ready.get('status') or '?'}"
                        + (f" ({ready['reason']})" if ready.get("reason") else "")
                        + (f": {ready['message']}" if ready.get("message") else ""))
    if anchor is not ready and anchor:
        evidence.append(f"condition ContainersReady={anchor.get('status') or '?'} since "
                        f"{anchor.get('lastTransitionTime') or '?'}")
    for gate, cond in unsatisfied + doubtful:
        if cond is None:
            evidence.append(f"readiness gate {gate}: condition missing (never set)")
        else:
            evidence.append(f"readiness gate {gate}: status {cond.get('status') or '?'}"
                            + (f", reason {cond['reason']}" if cond.get("reason") else "")
                            + (f": {cond['message']}" if cond.get("message") else ""))
    for ev in [e for e in ctx.events if "neg" in (e.get("reason") or "").lower()
               or "readiness" in (e.get("reason") or "").lower() or "TargetGroupBinding" in (e.get("message") or "")
               or "target group" in (e.get("message") or "").lower()][-2:]:
        evidence.append(describe_event(ev, ctx.now))
    gate, cond = (unsatisfied or doubtful)[0]
    who, where = _controller(gate)
    reason = (cond or {}).get("reason") or ""
    message = (cond or {}).get("message") or ""
    if unsatisfied:
        expl = (f"Every container of the pod is Ready, but its readiness gate {gate} is not"
                + (f" (its condition has never been set)" if cond is None else
                   f" (status {cond.get('status') or '?'}" + (f", {reason}" if reason else "")
                   + (f": {message}" if message else "") + ")")
                + f", so the pod is not Ready and Services send it no traffic. {who[0].upper() + who[1:]} sets "
                  f"this gate, not the kubelet.")
        if reason in _TARGET_REASONS:
            expl += f" {reason} means {_TARGET_REASONS[reason]}."
        elif cond is None and gate.startswith("target-health."):
            expl += (" It never set it: the controller is not running, or no Ingress or TargetGroupBinding "
                     "(target type ip) selects this pod, or it cannot register targets (IAM).")
        elif gate.startswith("cloud.google.com/load-balancer-neg-ready"):
            expl += (" The NEG controller sets it once the load balancer's health check sees the pod healthy in "
                     "one of its network endpoint groups (NEG): check the backend service's health check (path, "
                     "port) and that the firewall allows Google's health-check ranges 35.191.0.0/16 and "
                     "130.211.0.0/22 to the pod.")
        if waited is not None:
            expl += f" The containers have been Ready for {age(waited)}."
        if waited is not None and waited < GATE_GRACE:
            sev = "info"
            expl += " That is only just now: the controller usually needs up to a minute."
        elif waited is None or waited < STUCK_AFTER:
            sev = "warning"
        else:
            sev = "error"
        title = f"readiness gate {gate} not satisfied" + (f" ({reason})" if reason else
                                                          " (condition missing)" if cond is None else "")
    else:
        deleted = "deleted" in f"{reason} {message}".lower()
        if deleted:
            expl = (f"The pod is Ready, but its readiness gate {gate} says: {message or reason}. Its "
                    f"TargetGroupBinding was deleted, so the load balancer {who} managed may no longer send this "
                    f"pod traffic, and new pods get no gate at all: recreate the Ingress/Service binding or "
                    f"remove the stale gate.")
            sev = "warning"
            title = f"readiness gate {gate}: TargetGroupBinding deleted"
        else:
            expl = (f"The pod's readiness gate {gate} is True while {who} reports: {message or reason}. The pod "
                    f"counts as Ready; the load balancer is still checking it.")
            sev = "info"
            title = f"readiness gate {gate}: {message or reason}"
    others = [g for g, _ in unsatisfied[1:]]
    if others:
        expl += " Also not satisfied: " + ", ".join(others) + "."
    yield Finding(
        code="pod.readiness-gate", severity=sev, container=None, title=title[:160],
        explanation=expl, evidence=evidence,
        suggestions=[kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath={.status.conditions}"), where,
                     kubectl(ctx, "describe", "pod", ctx.name)],
        since=anchor.get("lastTransitionTime") if anchor else None,
        extra={"gates": gates, "unsatisfied": [g for g, _ in unsatisfied], "controller": who, "reason": reason,
               "message": message, "waited_seconds": waited},
    )

