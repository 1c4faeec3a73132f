"""pod.resource-claim: a DRA ResourceClaim the pod needs does not exist, is not allocated, or cannot be prepared.

Dynamic Resource Allocation (``spec.resourceClaims``) fails in two places:

* the scheduler, before it can place the pod: the claim does not exist
  (``resourceclaim.resource.k8s.io "x" not found``), is being deleted, is still being allocated, or, with
  the classic control-plane controller (1.26-1.31), ``running Reserve plugin "DynamicResources": waiting for
  resource driver to allocate resource``;
* the kubelet, once it has: ``FailedPrepareDynamicResources`` ``Failed to prepare dynamic resources: ...``
  (``DRA driver X is not registered``, ``NodePrepareResources failed for ResourceClaim ...``, ``pod p(uid) is
  not allowed to use resource claim c(uid)``, or ``failed to fetch ResourceClaim x ...: the server could not
  find the requested resource`` when the kubelet asks for a resource.k8s.io version the API server does not
  serve: version skew, the claim is fine).

Fit failures on the nodes (``cannot allocate all claims``, ``resourceclaim in use``, ``device class x does
not exist``) stay ``pod.unschedulable``, whose explanation covers them.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.health import PENDING_GRACE
from kubectl_podfix.diagnose.model import Finding, PodContext, dig, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl
from kubectl_podfix.diagnose.rules.pods.status import after_start, assigned_node, events_with, pod_condition, \
    pod_started

_PREPARE = "Failed to prepare dynamic resources: "
_CLAIM_NAME = re.compile(r'resourceclaims?(?:\.resource\.k8s\.io)? "?(?P<name>[a-z0-9][a-z0-9.-]*)"? '
                         r'(?:not found|is being deleted|is in the process of being allocated)'
                         r'|resource claim (?P<name2>[a-z0-9][a-z0-9.-]*) is in the process'
                         r'|ResourceClaim (?P<name3>[a-z0-9][a-z0-9.-]*)', re.I)
_DRIVER = re.compile(r"DRA driver (?P<driver>\S+) is not registered", re.I)

# (matcher in the lowercased message, kind, what is wrong, what to do). First match wins.
_KINDS = (
    ("could not find the requested resource", "version-skew",
     "the kubelet cannot read the ResourceClaim: it asks the API server for a resource.k8s.io version that is not "
     "served (the node's kubelet is older or newer than the control plane); the claim itself is fine",
     "upgrade (or downgrade) the node's kubelet to the control plane's minor version"),
    ("is not registered", "driver-not-registered",
     "the DRA driver's kubelet plugin is not registered on the node: its node DaemonSet pod is not running there, "
     "or has not started yet",
     "check the DRA driver's DaemonSet pod on that node (kubectl get pods -A -o wide --field-selector "
     "spec.nodeName=NODE)"),
    ("not allowed to use resource claim", "not-reserved",
     "the ResourceClaim is not reserved for this pod (its status.reservedFor does not list it): the claim is used "
     "by another pod, or the scheduler did not reserve it",
     "kubectl get resourceclaim -o yaml (status.reservedFor, status.allocation)"),
    ("waiting for resource driver to allocate", "not-allocated",
     "the ResourceClaim is not allocated: the DRA driver's controller (classic DRA, Kubernetes 1.26-1.31) has not "
     "allocated it; this is not a CPU or memory shortage",
     "check that the resource driver's controller and its kubelet plugin are running (kubectl get pods -A | grep "
     "dra)"),
    ("in the process of being allocated", "allocating", "the ResourceClaim is still being allocated",
     "wait a little; if it stays, check the DRA driver"),
    ("is being deleted", "deleting",
     "the ResourceClaim is being deleted: a pod cannot use it until it is gone and recreated",
     "kubectl get resourceclaim (a finalizer may hold it)"),
    ("not found", "missing",
     "the ResourceClaim does not exist: the pod names a claim (resourceClaimName) nobody created, or the claim "
     "controller has not created it from its template yet",
     "kubectl get resourceclaim,resourceclaimtemplate"),
    ("nodeprepareresources failed", "prepare-failed", "the DRA driver failed to prepare the device on the node",
     "read the DRA driver's kubelet plugin logs on that node"),
)


def _claims(ctx: PodContext) -> list[str]:
    out = []
    for c in dig(ctx.pod, "spec.resourceClaims", []) or []:
        if not isinstance(c, dict):
            continue
        src = c.get("source") if isinstance(c.get("source"), dict) else c
        target = src.get("resourceClaimName") or src.get("resourceClaimTemplateName")
        kind = "ResourceClaim" if src.get("resourceClaimName") else "template"
        out.append(f"{c.get('name') or '?'} -> {kind} {target or '?'}")
    return out


def _scheduler_message(ctx: PodContext) -> tuple[str, dict | None]:
    evs = events_with(ctx, {"FailedScheduling"})
    cond = pod_condition(ctx, "PodScheduled")
    if evs:
        return evs[-1].get("message") or "", evs[-1]
    if cond and cond.get("status") == "False":
        return cond.get("message") or "", None
    return "", None


def resource_claim_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    text, event, where = "", None, ""
    prepare = events_with(ctx, {"FailedPrepareDynamicResources"})
    if pod_started(ctx):
        prepare = after_start(ctx, prepare)
    if prepare:
        event = prepare[-1]
        text, where = (event.get("message") or "").replace(_PREPARE, "", 1), "kubelet"
    elif not dig(ctx.pod, "spec.nodeName"):
        msg, event = _scheduler_message(ctx)
        low = msg.lower()
        kubelet_only = ("is not registered", "nodeprepareresources failed")
        if ("resourceclaim" in low or "resource claim" in low or "resource driver" in low) and any(
                needle in low for needle, *_ in _KINDS if needle not in kubelet_only):
            text, where = msg, "scheduler"
    if not text:
        return
    low = text.lower()
    kind, what, todo = next(((k, w, t) for needle, k, w, t in _KINDS if needle in low),
                            ("other", "the ResourceClaim could not be used", "kubectl describe resourceclaim"))
    if where == "scheduler" and kind in ("not-reserved", "prepare-failed", "version-skew", "driver-not-registered"):
        return  # kubelet-side texts in a scheduler message: not ours to read
    m = _CLAIM_NAME.search(text)
    claim = next((g for g in (m.group("name"), m.group("name2"), m.group("name3")) if g), None) if m else None
    driver = _DRIVER.search(text)
    node = assigned_node(ctx)
    expl = (f"The pod cannot start: {what}."
            + (f" The {'kubelet on ' + node if where == 'kubelet' and node else where} says: "
               f"{text.strip().rstrip('.')}." if text else ""))
    if driver:
        expl += f" The driver is {driver.group('driver')}."
    evidence = ([describe_event(event, ctx.now)] if event else [f"scheduler: {text}"])
    claims = _claims(ctx)
    if claims:
        evidence.append("pod resourceClaims: " + ", ".join(claims))
    created = parse_time(dig(ctx.pod, "metadata.creationTimestamp"))
    young = created is not None and (ctx.now - created).total_seconds() < PENDING_GRACE
    sev = "warning" if young or kind == "allocating" else "error"
    yield Finding(
        code="pod.resource-claim", severity=sev, container=None,
        title=f"ResourceClaim{' ' + claim if claim else ''}: {kind.replace('-', ' ')}",
        explanation=expl, evidence=evidence,
        suggestions=[todo.replace("NODE", node or "NODE"), kubectl(ctx, "get", "resourceclaim"),
                     kubectl(ctx, "describe", "pod", ctx.name)],
        since=(event or {}).get("firstTimestamp"),
        extra={"kind": kind, "claim": claim, "driver": driver.group("driver") if driver else None,
               "where": where, "message": text},
    )
