"""Pods (or their PVCs, Jobs, ReplicaSets) the API server refuses to create.

The controller's ``FailedCreate`` events and the ``ReplicaFailure`` condition
carry the API server's answer; ``messages.classify`` names what refused. The
newest event wins over the condition, which keeps the first error until the
error clears. An event counts while the workload is still short of pods and
no successful create came after it.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.context import top_owner
from kubectl_podfix.diagnose.model import Finding, Fix, dig, event_time, parse_time, sentence
from kubectl_podfix.diagnose.workloads.common import (condition_line, event_line, fmt_quantity, obj_ref, quantity,
                                                      template_containers)
from kubectl_podfix.diagnose.workloads.messages import admission_plugin, classify
from kubectl_podfix.diagnose.workloads.model import WorkloadContext, condition

CODE_OF = {
    "quota": "workload.quota-exceeded",
    "quota-resources": "workload.quota-requires-resources",
    "limitrange": "workload.limitrange-violated",
    "pod-security": "workload.pod-security-violated",
    "psp": "workload.pod-security-violated",
    "webhook-denied": "workload.webhook-denied",
    "webhook-unreachable": "workload.webhook-unreachable",
    "serviceaccount": "workload.serviceaccount-missing",
    "invalid": "workload.template-invalid",
}
_FIXABLE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_WHAT = {"pods": "pod", "persistentvolumeclaims": "PVC", "jobs.batch": "Job", "jobs": "Job",
         "replicasets.apps": "ReplicaSet", "replicasets": "ReplicaSet"}


def _short(ctx: WorkloadContext) -> bool:
    """Whether the workload is still missing pods its controller should create."""
    r = ctx.replicas()
    kind = ctx.kind
    if kind == "Deployment":
        desired = r.get("desired") or 0
        return (r.get("updated") or 0) < desired or (r.get("ready") or 0) < desired
    if kind in ("ReplicaSet", "StatefulSet"):
        desired = r.get("desired") or 0
        return (r.get("current") or 0) < desired or (r.get("ready") or 0) < desired
    if kind == "DaemonSet":
        return (r.get("current") or 0) < (r.get("desired") or 0)
    if kind == "Job":
        return not _finished(ctx.workload) and not dig(ctx.workload, "spec.suspend")
    return True


def _finished(job: dict) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in dig(job, "status.conditions", []) or [] if isinstance(c, dict))


def _sources(ctx: WorkloadContext) -> list[dict]:
    """The objects whose create failures explain this workload."""
    if ctx.kind == "Deployment":
        new = ctx.new_replicaset()
        out = [ctx.workload] + ([new] if new is not None else [])
        out += [rs for rs in ctx.children if rs is not new and condition(rs, "ReplicaFailure")
                and (dig(rs, "spec.replicas") or 0) > (dig(rs, "status.replicas") or 0)]
        return out
    if ctx.kind == "CronJob":
        return [ctx.workload] + [j for j in ctx.children if not _finished(j)]
    return [ctx.workload]


def failures(ctx: WorkloadContext) -> list[dict]:
    """Every current create failure: {message, time, event | condition, source kind/name}, newest first."""
    out = []
    for obj in _sources(ctx):
        kind, name = obj.get("kind"), dig(obj, "metadata.name", "")
        if kind == "Job" and ctx.kind == "CronJob" and not _short_job(obj):
            continue
        if kind != "CronJob" and obj is not ctx.workload and kind == "ReplicaSet":
            short = (dig(obj, "spec.replicas") or 0) > (dig(obj, "status.replicas") or 0) or \
                condition(obj, "ReplicaFailure") is not None
        elif obj is ctx.workload and ctx.kind != "CronJob":
            short = _short(ctx)
        else:
            short = True
        if not short:
            continue
        evs = ctx.events_of(kind, name)
        ok = [event_time(e) for e in evs if e.get("reason") in ("SuccessfulCreate",) and event_time(e)]
        last_ok = max(ok) if ok else None
        for ev in evs:
            if ev.get("reason") not in ("FailedCreate", "ReplicaSetCreateError"):
                continue
            if kind == "CronJob" and last_ok and event_time(ev) and event_time(ev) < last_ok:
                continue  # the CronJob created a Job since
            out.append({"message": ev.get("message") or "", "time": event_time(ev), "event": ev,
                        "kind": kind, "name": name})
        for type_, reasons in (("ReplicaFailure", ("FailedCreate",)), ("Progressing", ("ReplicaSetCreateError",))):
            cond = condition(obj, type_)
            if cond and (cond.get("status") == "True" or type_ == "Progressing") and cond.get("reason") in reasons:
                out.append({"message": cond.get("message") or "", "condition": cond, "kind": kind, "name": name,
                            "time": parse_time(cond.get("lastTransitionTime") or cond.get("lastUpdateTime"))})
    return sorted(out, key=lambda f: (f.get("event") is None, -(f["time"].timestamp() if f.get("time") else 0)))


def _short_job(job: dict) -> bool:
    return not _finished(job) and not dig(job, "spec.suspend")


def creation_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    found = failures(ctx)
    if not found:
        return []
    events = [f for f in found if f.get("event") is not None]
    conditions = [f for f in found if f.get("condition") is not None]
    newest_event = max((f["time"] for f in events if f.get("time")), default=None)
    # NB: the ReplicaFailure condition keeps the FIRST error until the error clears: an event newer than the
    # condition says what happens now, and the condition is only quoted beside it.
    primary = events + [c for c in conditions if not (newest_event and (not c.get("time")
                                                                         or c["time"] <= newest_event))]
    if not primary:
        primary = conditions
    groups: dict[tuple, list[tuple[dict, dict]]] = {}
    for f in primary:
        info = classify(f["message"])
        key = (info["kind"], info.get("quota") or info.get("webhook") or info.get("level") or "",
               info.get("object") or "")
        groups.setdefault(key, []).append((f, info))
    newest = max((f["time"] for f in primary if f.get("time")), default=None)
    out = []
    for items in sorted(groups.values(), key=lambda it: -(it[0][0]["time"].timestamp() if it[0][0].get("time")
                                                          else 0)):
        f, info = items[0]
        if newest and f.get("time") and (newest - f["time"]).total_seconds() > 3600:
            continue  # an older, different error that the newer one replaced
        evidence = [event_line(ctx, f["event"]) if f.get("event") is not None
                    else condition_line(f["kind"], f["name"], f["condition"], ctx)]
        if f.get("event") is not None and conditions and not out:
            cond = conditions[0]
            line = condition_line(cond["kind"], cond["name"], cond["condition"], ctx)
            then = classify(cond["message"])
            if (then["kind"], then.get("quota") or then.get("webhook")) != (info["kind"], info.get("quota")
                                                                             or info.get("webhook")):
                line += " (the condition keeps the first error; the newest event above is what happens now)"
            evidence.append(line)
        out.append(_finding(ctx, info, f, evidence))
    return out


def _finding(ctx: WorkloadContext, info: dict, f: dict, evidence: list[str]) -> Finding:
    kind = info["kind"]
    what = _WHAT.get(info.get("object") or "", "pod")
    if f["kind"] == "CronJob" and f.get("event") is not None:
        what = "Job"
    wrapper_pvc = info.get("wrapper_pvc")
    if wrapper_pvc and not info.get("object"):
        what = "PVC"
    subject = f"{what}s of {ctx.ref}" if what != "PVC" else \
        f"PVC {info.get('object_name') or wrapper_pvc} of {ctx.ref}"
    since = None
    ev = f.get("event")
    if ev is not None:
        since = ev.get("firstTimestamp") or ev.get("lastTimestamp")
    builder = _BUILDERS.get(kind, _other)
    finding = builder(ctx, info, subject, what, evidence)
    finding.since = since
    finding.extra.setdefault("object", what.lower())
    finding.extra.setdefault("error", info["text"])
    finding.extra["rejected"] = True
    return finding


def _sev_code(kind: str) -> str:
    return CODE_OF.get(kind, "workload.create-failed")


# -- quota ---------------------------------------------------------------------------------------------

def quota_users(ctx: WorkloadContext, resources: list[str]) -> list[tuple[str, dict[str, float]]]:
    """Workloads of the namespace that use these quota resources (from the pods podfix read), biggest first."""
    usage: dict[str, dict[str, float]] = {}
    pods = [p for p in list(ctx.snapshot.pods) + list(ctx.snapshot.quiet_pods)
            if dig(p, "metadata.namespace", "") == ctx.namespace and dig(p, "status.phase") not in ("Succeeded",
                                                                                                     "Failed")]
    for pod in pods:
        owner = top_owner(pod, ctx.snapshot)
        key = f"{obj_ref(owner['kind'], owner['name'])}" if owner else f"pod/{dig(pod, 'metadata.name', '')}"
        totals = usage.setdefault(key, {})
        for res in resources:
            if res in ("pods", "count/pods"):
                totals[res] = totals.get(res, 0) + 1
                continue
            field, _, name = res.partition(".")
            if not name:
                field, name = "requests", res
            if field not in ("requests", "limits"):
                continue
            amount = 0.0
            for c in dig(pod, "spec.containers", []) or []:
                amount += quantity(dig(c, f"resources.{field}.{name}")) or 0.0
            if amount:
                totals[res] = totals.get(res, 0) + amount
    ranked = [(k, v) for k, v in usage.items() if any(v.values())]
    first = resources[0] if resources else ""
    return sorted(ranked, key=lambda kv: (-kv[1].get(first, 0), kv[0]))


def _quota(ctx, info, subject, what, evidence) -> Finding:
    name = info.get("quota") or "?"
    resources: dict = info.get("resources") or {}
    quota_obj = ctx.snapshot.get("ResourceQuota", ctx.namespace, name) if name != "?" else None
    parts, details = [], {}
    for res, v in resources.items():
        req, used, lim = quantity(v.get("requested")), quantity(v.get("used")), quantity(v.get("limited"))
        left = (lim - used) if lim is not None and used is not None else None
        details[res] = {"requested": v.get("requested"), "used": v.get("used"), "limited": v.get("limited"),
                        "left": fmt_quantity(res, max(left, 0)) if left is not None else None}
        parts.append(f"{res}: needs {v.get('requested')}, {v.get('used')} of {v.get('limited')} used"
                     + (f" ({fmt_quantity(res, max(left, 0))} left)" if left is not None else ""))
    zero = [r for r, v in resources.items() if quantity(v.get("limited")) == 0]
    short_names = ", ".join(resources) or "its resources"
    title = f'ResourceQuota "{name}" is full: new {what}s are rejected ({short_names})' if what != "PVC" else \
        f'ResourceQuota "{name}" is full: {subject} is rejected ({short_names})'
    expl = [f"The API server rejects every new {what.lower() if what != 'PVC' else 'claim'} of {ctx.ref}: "
            f"quota {name} in namespace {ctx.namespace} has no room left"
            + (": " + "; ".join(parts) if parts else "") + "."]
    if info.get("quota_text"):
        expl.append(f"The quota admission said: {sentence(info['quota_text'])}")
    if zero:
        expl.append(f"The quota allows none at all ({', '.join(r + '=0' for r in zero)}): it is a scoped quota "
                    "that forbids this class of pods (for example BestEffort pods, with no requests or limits, or "
                    "a PriorityClass). Setting requests/limits or another priority moves the pods out of its scope.")
    if what == "PVC":
        expl.append("A StatefulSet creates a pod's claims before the pod: with the claim rejected, the pod is never "
                    "created, and (OrderedReady) no later ordinal either.")
    else:
        expl.append("The controller keeps retrying: pods appear as soon as there is room.")
    if quota_obj is not None:
        hard, used_now = dig(quota_obj, "status.hard", {}) or {}, dig(quota_obj, "status.used", {}) or {}
        rows = []
        for res in (resources or hard):
            if res in hard:
                h, u = quantity(hard.get(res)), quantity(used_now.get(res))
                left = (h - u) if h is not None and u is not None else None
                rows.append(f"{res} {used_now.get(res, '?')}/{hard.get(res)}"
                            + (f" ({fmt_quantity(res, max(left, 0))} left)" if left is not None else ""))
                details.setdefault(res, {})["hard"] = hard.get(res)
                details[res]["used_now"] = used_now.get(res)
        if rows:
            evidence.append(f"resourcequota/{name} now: " + ", ".join(rows))
    users = quota_users(ctx, list(resources)) if resources else []
    if users:
        shown = [f"{wl} ({', '.join(f'{r}={fmt_quantity(r, n)}' for r, n in use.items() if n)})"
                 for wl, use in users[:5]]
        expl.append("Using the quota now: " + "; ".join(shown) + (" ..." if len(users) > 5 else "") + ".")
    sugg = [f"kubectl describe resourcequota {name} -n {ctx.namespace}"]
    if what != "PVC":
        sugg.append("free room: scale down or delete workloads that use the quota (listed above), or delete "
                    f"finished or stuck pods: kubectl get pods -n {ctx.namespace} "
                    "--field-selector=status.phase!=Running")
        asks = ", ".join(f"{r}={v.get('requested')}" for r, v in resources.items())
        sugg.append(f"or lower what each pod asks for in {ctx.ref}'s template" + (f" ({asks} each)" if asks else ""))
    else:
        sugg.append(f"free room: delete unused claims (kubectl get pvc -n {ctx.namespace}), or request less storage")
    sugg.append(f"or ask the cluster admin to raise the quota's hard limits (kubectl edit resourcequota {name} "
                f"-n {ctx.namespace}); podfix never changes a quota")
    terminating = [dig(p, "metadata.name") for p in ctx.snapshot.pods
                   if dig(p, "metadata.namespace", "") == ctx.namespace and dig(p, "metadata.deletionTimestamp")]
    severity = "error"
    if terminating and what != "PVC":  # their end frees quota: a rolling update waits on it, nothing is stuck yet
        severity = "warning"
        expl.append(f"{len(terminating)} pod{'s are' if len(terminating) != 1 else ' is'} terminating in the "
                    f"namespace ({', '.join(terminating[:3])}{' ...' if len(terminating) > 3 else ''}): the quota "
                    "frees up when they are gone, unless they are stuck terminating.")
    return Finding("workload.quota-exceeded", severity, None, title, " ".join(expl), evidence, sugg,
                   extra={"quota": name, "resources": details,
                          "used_by": [{"workload": wl, "usage": {r: fmt_quantity(r, n) for r, n in u.items()}}
                                      for wl, u in users[:10]]})


def _quota_resources(ctx, info, subject, what, evidence) -> Finding:
    name = info.get("quota") or "?"
    missing: dict[str, list[str]] = info.get("missing") or {}
    per_container: dict[str, list[str]] = {}
    for res, containers in missing.items():
        if not containers:  # the old wording names no container: find them in the template
            field, _, rname = res.partition(".")
            if not rname:
                field, rname = "requests", res
            containers = [c.get("name") for c, _ in template_containers(ctx)
                          if dig(c, f"resources.{field}.{rname}") is None]
        for c in containers:
            per_container.setdefault(c, []).append(res)
    listing = "; ".join(f'container "{c}": {", ".join(r)}' for c, r in per_container.items()) or \
        ", ".join(missing)
    title = f'ResourceQuota "{name}" requires {", ".join(missing)} on every container: new pods are rejected'
    expl = (f"Quota {name} in namespace {ctx.namespace} tracks {', '.join(missing)}, so the API server accepts a "
            f"pod only when every container (init containers included) declares them. {ctx.ref}'s pods do not: "
            f"{listing}.")
    sugg = [f"set resources.requests/limits on those containers in {ctx.ref}'s template (kubectl edit {ctx.ref} "
            f"-n {ctx.namespace})",
            f"or give the namespace defaults with a LimitRange (kubectl get limitrange -n {ctx.namespace})",
            f"kubectl describe resourcequota {name} -n {ctx.namespace}"]
    return Finding("workload.quota-requires-resources", "error", None, title, expl, evidence, sugg,
                   extra={"quota": name, "missing": missing, "containers": per_container})


def _limitrange(ctx, info, subject, what, evidence) -> Finding:
    violations = info.get("violations") or []
    first = violations[0]["sentence"] if violations else info["text"]
    names = sorted(n for (k, ns, n) in ctx.snapshot.objects if k == "LimitRange" and ns == ctx.namespace)
    title = f"A LimitRange rejects the {what}s: {first}"
    expl = (f"The LimitRange admission plugin rejects every new {what.lower()} of {ctx.ref}: "
            + "; ".join(v["sentence"] for v in violations) + ". "
            + (f"LimitRange in namespace {ctx.namespace}: {', '.join(names)}. " if names else "")
            + "Change the containers' requests/limits to fit, or change the LimitRange.")
    sugg = [f"kubectl describe limitrange -n {ctx.namespace}",
            f"adjust resources in {ctx.ref}'s template (kubectl edit {ctx.ref} -n {ctx.namespace})"]
    return Finding("workload.limitrange-violated", "error", None, title, expl, evidence, sugg,
                   extra={"violations": violations, "limitranges": names})


def _pod_security(ctx, info, subject, what, evidence) -> Finding:
    if info["kind"] == "psp" and info.get("policy") == "SecurityContextConstraints":
        title = f"OpenShift SecurityContextConstraints reject the pods of {ctx.ref}"
        expl = ("No SecurityContextConstraints that the pod's ServiceAccount may use allows this pod (OpenShift): "
                f"{info['text']}")
        return Finding("workload.pod-security-violated", "error", None, title, expl, evidence,
                       ["oc get scc; oc adm policy who-can use scc NAME",
                        "change the template to fit restricted-v2 (no fixed UID, no privilege), or grant the "
                        "ServiceAccount an SCC that allows it (a decision for the cluster admin)"],
                       extra={"policy": "SecurityContextConstraints"})
    if info["kind"] == "psp":
        title = f"PodSecurityPolicy admission rejects the pods of {ctx.ref}"
        expl = ("The legacy PodSecurityPolicy admission (Kubernetes 1.24 and older; on OpenShift, "
                "SecurityContextConstraints say the same) found no policy that the pod's ServiceAccount may use and "
                f"that allows this pod: {info['text']}")
        return Finding("workload.pod-security-violated", "error", None, title, expl, evidence,
                       ["kubectl get psp", "grant the ServiceAccount `use` of a policy that allows the pod, or change "
                        "the template; PodSecurityPolicy was removed in 1.25 (Pod Security admission replaces it)"],
                       extra={"policy": "PodSecurityPolicy"})
    level = info.get("level") or "?"
    violations = info.get("violations") or []
    fixable = [v for v in violations if v["fixable"]]
    blocked = [v for v in violations if not v["fixable"]]
    title = (f'Pod Security "{level}" rejects the pods: {len(violations)} violation'
             f'{"s" if len(violations) != 1 else ""} ({", ".join(v["check"] for v in violations)})')
    lines = []
    for v in violations:
        lines.append(f"{v['check']}: {v['detail']}")
    expl = (f"Namespace {ctx.namespace} enforces the Pod Security level {level} (its "
            "pod-security.kubernetes.io/enforce label), and the API server rejects every new pod of "
            f"{ctx.ref}: " + "; ".join(lines) + ".")
    if blocked:
        expl += (" Not fixable by a field: " + "; ".join(f"{v['check']} ({v['why']})" for v in blocked)
                 + ". Such a workload belongs in a namespace whose level allows it (e.g. privileged), or needs a "
                 "different design.")
    mutated = [v for v in violations if v["check"] in ("hostPath volumes",)]
    if mutated and not any("hostPath" in str(vol) for vol in dig(ctx.template(), "spec.volumes", []) or []):
        expl += (" The template itself has no hostPath volume: a mutating webhook may have injected it "
                 "(check kubectl get mutatingwebhookconfigurations).")
    sugg = []
    for v in fixable:
        who = ", ".join(v["containers"]) or "the pod"
        sugg.append(f"set {v['field']} ({who})")
    if blocked:
        sugg.append(f"or run it where the level allows it: kubectl label namespace {ctx.namespace} "
                    "pod-security.kubernetes.io/enforce=privileged --overwrite (a decision for the namespace owner)")
    sugg.append(f"check the template against the level first: kubectl label --dry-run=server --overwrite namespace "
                f"{ctx.namespace} pod-security.kubernetes.io/enforce={level.split(':')[0]}")
    # NB: fix pod-security sets fields on the template's containers: a container the API server names that the
    # template does not have was injected by a mutating webhook, and the fix would refuse it (no Fix: line then)
    have = {c.get("name") for c, _ in template_containers(ctx)}
    injected = sorted({c for v in fixable for c in v["containers"]} - have) if have else []
    if injected:
        expl += (f" The pod template has no container {', '.join(injected)}: a mutating webhook injects it (check "
                 "kubectl get mutatingwebhookconfigurations), and that webhook's configuration is what to change.")
    fix = None
    if fixable and not blocked and not injected and ctx.kind in _FIXABLE_KINDS:
        fix = Fix("pod-security", "set the securityContext fields the violations name on the pod template",
                  f"kubectl podfix fix pod-security {ctx.podfix_target()}")
    return Finding("workload.pod-security-violated", "error", None, title, expl, evidence, sugg, fix,
                   extra={"policy": "PodSecurity", "level": level, "violations": violations,
                          "fixable": not blocked and bool(fixable) and not injected, "injected": injected})


_WEBHOOK_WHY = {
    "timeout": "the call timed out: the API server (control plane) cannot reach the webhook's pods in time. On "
               "private clusters a firewall rule usually blocks the webhook port from the control plane; otherwise "
               "the webhook is overloaded or its pods are not ready",
    "no-endpoints": "its Service has no ready endpoints: the webhook's pods are down or not ready. If the webhook "
                    "also matches its own pods, it cannot come back by itself (chicken-and-egg)",
    "service-not-found": "its Service does not exist: the webhook configuration is left over from an old or "
                         "half-removed install",
    "connection-refused": "the Service has an address but nothing listens there: the webhook's pod is not "
                          "running or the Service's targetPort is wrong",
    "tls": "TLS failed: the webhook's serving certificate is not signed by the caBundle in the webhook "
           "configuration (CA injection not done, or the certificate was rotated)",
    "connection-dropped": "the connection was cut mid-answer (the webhook crashed, a proxy, MTU)",
    "not-found-path": "the webhook's URL path answered 404: wrong path or service, or the webhook does not serve "
                      "this policy yet",
    "server-error": "something answered HTTP 500: the webhook failed, or an HTTP proxy configured on the API "
                    "server intercepted the call (add .svc to its no_proxy)",
    "unreachable": "the address cannot be reached (DNS or routing)",
    "bad-response": "the webhook answered something that is not an AdmissionReview",
    "apiserver-timeout": "the whole create request timed out inside the API server; a slow admission webhook "
                         "(even one with failurePolicy Ignore) is the usual cause: the API server's log names it "
                         "(\"Failed calling webhook, failing open\")",
    "other": "the call failed",
}


def _webhook_unreachable(ctx, info, subject, what, evidence) -> Finding:
    hook = info.get("webhook")
    failure = info.get("failure") or "other"
    svc = info.get("service")
    if hook:
        title = f'Admission webhook "{hook}" could not be reached ({failure.replace("-", " ")}): {what} creation fails'
    else:
        title = f"{what} creation timed out in the API server (a slow admission webhook is the usual cause)"
    expl = (f"This is not a policy decision: the API server could not get an answer from "
            + (f'webhook "{hook}"' if hook else "an admission webhook")
            + (f" (service {svc})" if svc else "")
            + f", and with failurePolicy Fail every {what.lower()} it matches is rejected. Why: "
            + _WEBHOOK_WHY.get(failure, _WEBHOOK_WHY["other"]) + ".")
    sugg = []
    if hook:
        sugg.append("find its configuration: kubectl get mutatingwebhookconfigurations,"
                    f"validatingwebhookconfigurations -o json | grep -n '\"name\": \"{hook}\"'")
    if svc:
        ns, name = svc.split("/", 1)
        sugg.append(f"kubectl get endpoints {name} -n {ns}; kubectl get pods -n {ns}")
    if failure == "service-not-found":
        sugg.append("delete the stale webhook configuration if its product is gone")
    if failure == "tls":
        sugg.append("compare the configuration's caBundle with the serving certificate (cert-manager: check the "
                    "cainjector and the Certificate)")
    if failure in ("timeout", "no-endpoints"):
        sugg.append("scope the webhook away from this namespace (namespaceSelector/objectSelector) or set "
                    "failurePolicy Ignore while it is down, if the product allows it")
    if not hook:
        sugg.append("read the API server's log for 'Failed calling webhook' to find the slow one")
    return Finding("workload.webhook-unreachable", "error", None, title, expl, evidence, sugg,
                   extra={"webhook": hook, "failure": failure, "service": svc, "url": info.get("url")})


def _webhook_denied(ctx, info, subject, what, evidence) -> Finding:
    hook = info.get("webhook")
    reason = info.get("reason") or ""
    first_line = reason.strip().splitlines()[0] if reason.strip() else reason
    title = f'Admission webhook "{hook}" denied the {what}s: {first_line[:120]}'
    low = (hook or "").lower()
    product = "Gatekeeper" if "gatekeeper" in low else "Kyverno" if "kyverno" in low else None
    expl = (f'Webhook "{hook}" was reached and said no: a policy forbids {ctx.ref}\'s {what.lower()}s as they '
            f"are. Its answer: {reason.strip()}")
    constraint = re.match(r"\[([^\]]+)\]", reason.strip())
    sugg = [f"change {ctx.ref}'s template to satisfy the policy, or ask its owner for an exception"]
    if product == "Gatekeeper":
        sugg.insert(0, "kubectl get constraints" + (f" | grep {constraint.group(1)}" if constraint else ""))
    elif product == "Kyverno":
        sugg.insert(0, "kubectl get clusterpolicies,policies -A")
    else:
        sugg.insert(0, "kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations")
    return Finding("workload.webhook-denied", "error", None, title, expl, evidence, sugg,
                   extra={"webhook": hook, "reason": reason.strip(), "constraint": constraint.group(1)
                          if constraint else None})


def _serviceaccount(ctx, info, subject, what, evidence) -> Finding:
    sa = info.get("serviceaccount") or "?"
    title = f'ServiceAccount "{sa}" does not exist: the pods are rejected'
    expl = (f"{ctx.ref}'s pods run as ServiceAccount {sa} (spec.serviceAccountName), which does not exist in "
            f"namespace {info.get('sa_namespace') or ctx.namespace}, so the ServiceAccount admission plugin rejects "
            "every new pod. A chart or operator usually creates it; a typo in the name does the same.")
    sugg = [f"kubectl create serviceaccount {sa} -n {ctx.namespace}",
            f"or fix spec.template.spec.serviceAccountName in {ctx.ref}"]
    fix = Fix("service-account", f"create ServiceAccount {sa}",
              f"kubectl podfix fix service-account {ctx.podfix_target()}")
    return Finding("workload.serviceaccount-missing", "error", None, title, expl, evidence, sugg, fix,
                   extra={"serviceaccount": sa})


def _invalid(ctx, info, subject, what, evidence) -> Finding:
    errors = info.get("errors") or [info["text"]]
    obj = info.get("object") or "Pod"
    title = f"The API server rejects the {obj} as invalid: {errors[0][:140]}"
    expl = (f"Validation (HTTP 422) fails for every new {obj} of {ctx.ref}: " + "; ".join(errors) + ".")
    if any("less than or equal to" in e and "limit" in e for e in errors):
        expl += (" A request above its limit often comes from a LimitRange's default limit being lower than "
                 "the request the template sets: set both.")
    if obj == "PersistentVolumeClaim":
        expl += " The claim comes from the StatefulSet's volumeClaimTemplates."
    sugg = [f"fix those fields in {ctx.ref}'s template (kubectl edit {ctx.ref} -n {ctx.namespace})",
            f"kubectl get limitrange -n {ctx.namespace}"]
    return Finding("workload.template-invalid", "error", None, title, expl, evidence, sugg,
                   extra={"errors": errors, "object": obj.lower()})


def _other(ctx, info, subject, what, evidence) -> Finding:
    text = info["text"]
    if info["kind"] == "namespace-terminating":
        title = f"Namespace {ctx.namespace} is being deleted: no new {what}s can be created"
        expl = f"The API server refuses new objects in a namespace that is terminating: {text}"
        sugg = [f"kubectl get namespace {ctx.namespace} -o yaml (finalizers, status.conditions)"]
    elif info["kind"] == "storageclass":
        title = f'StorageClass "{info.get("storageclass")}" does not exist: {subject} cannot be created'
        expl = f"The claim names a StorageClass the cluster does not have: {text}"
        sugg = ["kubectl get storageclass"]
    elif admission_plugin(text, ctx.namespace):
        known = admission_plugin(text, ctx.namespace)
        title = f"{what}s of {ctx.ref} cannot be created: the {known['plugin']} admission plugin refuses them"
        expl = (f"The API server's {known['plugin']} admission plugin refuses every new {what} of {ctx.ref}: "
                f"{known['why']}. It said: {text}")
        sugg = known["todo"] + [f"{ctx.kubectl('describe', ctx.ref)}"]
        return Finding("workload.create-failed", "error", None, title, expl, evidence, sugg,
                       extra={"plugin": known["plugin"], "missing_object": known["missing"]})
    else:
        title = f"{what}s of {ctx.ref} cannot be created: {text[:140]}"
        expl = (f"The controller's create requests fail: {sentence(text)} "
                + ("This looks transient (the API server was busy); if it repeats, check the API server and its "
                   "webhooks." if "could not be completed at this time" in text or "try again" in text else
                   "podfix does not recognise this error; the message above is the API server's own."))
        sugg = [f"{ctx.kubectl('describe', ctx.ref)}"]
    return Finding("workload.create-failed", "error", None, title, expl, evidence, sugg, extra={})


_BUILDERS = {
    "quota": _quota, "quota-resources": _quota_resources, "limitrange": _limitrange, "pod-security": _pod_security,
    "psp": _pod_security, "webhook-unreachable": _webhook_unreachable, "webhook-denied": _webhook_denied,
    "serviceaccount": _serviceaccount, "invalid": _invalid,
}
