"""Workload family: why a Deployment, StatefulSet, DaemonSet, Job or CronJob does not have its pods.

A separate kind of context (``WorkloadContext``: a workload, not a pod) with its own small registry.
Rules are pure functions ``rule(ctx: WorkloadContext) -> Iterable[Finding]``:

- ``creation``: the API server refuses the pods (or PVCs, Jobs): ResourceQuota, LimitRange, Pod Security,
  webhooks that deny or cannot be reached, a missing ServiceAccount, an invalid template;
- ``volumes``: claims that cannot be provisioned or bound;
- ``jobs``: failed Jobs (backoff limit, deadline, podFailurePolicy), CronJob schedules and Forbid blocks;
- ``rollout``: stuck rollouts, StatefulSet ordinals, DaemonSet nodes, failing pods (their own diagnosis);
- ``fallback``: short of the desired state and nothing else explains it.

``CODES`` lists every code in root-cause order (docs/findings.md documents each; a test checks).
``CREATION_REJECTED`` are the codes meaning "pod creation was rejected": ``wait`` fails fast on them.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.model import SEVERITIES, Finding
from kubectl_podfix.diagnose.workloads.context import workload_contexts, workloads
from kubectl_podfix.diagnose.workloads.creation import creation_rule
from kubectl_podfix.diagnose.workloads.fallback import fallback_rule
from kubectl_podfix.diagnose.workloads.jobs import cronjob_rule, job_rule
from kubectl_podfix.diagnose.workloads.model import WorkloadContext, WorkloadResult
from kubectl_podfix.diagnose.workloads.rollout import daemonset_rule, deployment_rule, statefulset_rule
from kubectl_podfix.diagnose.workloads.volumes import volume_rule

__all__ = ["CODES", "RULES", "CREATION_REJECTED", "creation_rejected", "diagnose_workload", "explain_workloads",
           "WorkloadContext",
           "WorkloadResult", "workload_contexts", "workloads"]

CODES: dict[str, str] = {
    "workload.quota-exceeded": "a ResourceQuota has no room: the API server rejects new pods (or PVCs, Jobs)",
    "workload.quota-requires-resources": "a ResourceQuota requires requests/limits the pod template does not set",
    "workload.limitrange-violated": "a LimitRange rejects the pods' requests or limits",
    "workload.pod-security-violated": "Pod Security admission (or a legacy PodSecurityPolicy) rejects the pods",
    "workload.webhook-denied": "an admission webhook was reached and denied the pods (a policy said no)",
    "workload.webhook-unreachable": "an admission webhook could not be called (timeout, no endpoints, TLS...)",
    "workload.serviceaccount-missing": "the pods' ServiceAccount does not exist, so the pods are rejected",
    "workload.template-invalid": "the API server rejects the pod (or claim) template as invalid (422)",
    "workload.create-failed": "the controller's create requests fail for another reason",
    "workload.pvc-provisioning-failed": "a PVC the workload needs cannot be provisioned (ProvisioningFailed)",
    "workload.pvc-no-storage-class": "a PVC names no StorageClass and the cluster has no default one",
    "workload.pvc-provisioner-waiting": "a PVC has waited minutes for an external provisioner that never answers",
    "workload.job-backoff-limit": "the Job failed: its pods failed more times than backoffLimit",
    "workload.job-deadline-exceeded": "the Job failed: it ran longer than activeDeadlineSeconds",
    "workload.job-pod-failure-policy": "the Job failed at once: a podFailurePolicy rule matched",
    "workload.job-failed": "the Job failed for another reason (failed indexes...)",
    "workload.cronjob-schedule-invalid": "the CronJob's schedule or time zone cannot be parsed: it never runs",
    "workload.cronjob-missed-schedules": "the CronJob missed too many start times",
    "workload.cronjob-blocked": "concurrencyPolicy Forbid and a long-running Job: the CronJob skips its runs",
    "workload.rollout-stuck": "the Deployment exceeded its progress deadline (the new pods' diagnosis is the cause)",
    "workload.ordinal-blocked": "a StatefulSet pod fails and (OrderedReady) blocks the ordinals after it",
    "workload.daemonset-incomplete": "a DaemonSet lacks ready pods on some nodes (their diagnosis)",
    "workload.pods-failing": "the workload's pods fail (their own diagnosis is the cause)",
    "workload.paused": "the Deployment is paused: template changes are not rolled out",
    "workload.not-ready": "short of the desired state and no rule explains it: what is visible",
    "workload.suspended": "the Job or CronJob is suspended (info)",
    "workload.scaled-to-zero": "spec.replicas is 0 (info)",
    "workload.daemonset-no-nodes": "the DaemonSet matches no node (info)",
}

CREATION_REJECTED = frozenset({
    "workload.quota-exceeded", "workload.quota-requires-resources", "workload.limitrange-violated",
    "workload.pod-security-violated", "workload.webhook-denied", "workload.webhook-unreachable",
    "workload.serviceaccount-missing", "workload.template-invalid", "workload.create-failed"})

# Rules in the order they run; the order findings are shown in is CODES'.
RULES = (creation_rule, volume_rule, job_rule, cronjob_rule, deployment_rule, statefulset_rule, daemonset_rule,
         fallback_rule)

# A finding with the key code hides findings with these codes (workload-wide: there are no containers).
SUPERSEDES: dict[str, frozenset[str]] = {
    code: frozenset({"workload.pods-failing"}) for code in (
        "workload.rollout-stuck", "workload.ordinal-blocked", "workload.daemonset-incomplete",
        "workload.job-backoff-limit", "workload.job-deadline-exceeded", "workload.job-pod-failure-policy",
        "workload.job-failed", "workload.cronjob-blocked")}

_RANK = {code: i for i, code in enumerate(CODES)}


def diagnose_workload(ctx: WorkloadContext) -> list[Finding]:
    """Run every workload rule on one workload; its findings, root cause first."""
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(ctx))
    codes = {f.code for f in findings}
    hidden = set().union(*(SUPERSEDES.get(c, frozenset()) for c in codes)) if codes else set()
    kept = [f for f in findings if f.code not in hidden]
    if any(f.severity in ("error", "warning") and f.code != "workload.not-ready" for f in kept):
        kept = [f for f in kept if f.code != "workload.not-ready"]
    kept.sort(key=lambda f: (SEVERITIES.index(f.severity), _RANK.get(f.code, len(_RANK))))
    return kept


def creation_rejected(findings: list[Finding]) -> Finding | None:
    """The finding that says the API server refuses the workload's pods (quota, LimitRange, Pod Security, a
    webhook, a missing ServiceAccount, an invalid template), error severity only: what ``wait`` fails fast on."""
    return next((f for f in findings if f.code in CREATION_REJECTED and f.severity == "error"), None)


def explain_workloads(snapshot, results, *, target: tuple[str, str, str] | None = None,
                      problems_only: bool = False) -> list[WorkloadResult]:
    """Diagnose the workloads of a snapshot (or the one ``target``), given its diagnosed pods."""
    out = []
    for ctx in workload_contexts(snapshot, results, target=target):
        result = WorkloadResult(ctx, diagnose_workload(ctx))
        if not problems_only or result.problem:
            out.append(result)
    return out
