"""Where a rollout stands, in kubectl's words, and which pods belong to the new revision (pure).

``status(kind, obj)`` follows ``kubectl rollout status``
(staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go) for Deployments, StatefulSets and
DaemonSets, message for message; Jobs and pods, which kubectl has no rollout status for, get the same
shape: a Job is done at its Complete condition and failed at Failed, a pod is done when Ready.

``new_pods`` picks the pods of the revision being rolled out (the new ReplicaSet's pod-template-hash, the
StatefulSet's updateRevision, the DaemonSet's template generation): only their failures stop ``wait``.

``rejection`` finds pod creation refused by admission (quota, Pod Security, a webhook) in the controller's
FailedCreate events and ReplicaFailure conditions.
TODO(workload findings): when the workload.* findings land on main (diagnose + cluster/gather.py +
diagnose/report.py "workloads"), use their finding for pod-creation rejections instead of ``rejection``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_podfix.diagnose.model import Finding, dig, event_time, parse_time

REVISION = "deployment.kubernetes.io/revision"
DS_GENERATION = "deprecated.daemonset.template.generation"


@dataclass(frozen=True)
class Progress:
    """One look at a rollout: kubectl's message, whether it is done, and why it failed (a terminal state)."""

    message: str
    done: bool = False
    failed: str | None = None  # e.g. 'deployment "web" exceeded its progress deadline'
    unsupported: str | None = None  # kubectl's refusal (OnDelete): there is no rollout to wait for


def _i(obj: dict, path: str) -> int:
    value = dig(obj, path)
    return int(value) if isinstance(value, (int, float)) else 0


def _generation_observed(obj: dict) -> bool:
    return _i(obj, "metadata.generation") <= _i(obj, "status.observedGeneration")


def deployment(obj: dict) -> Progress:
    name = dig(obj, "metadata.name", "")
    if not _generation_observed(obj):
        return Progress("Waiting for deployment spec update to be observed...")
    for cond in dig(obj, "status.conditions", []) or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Progress(f'deployment "{name}" exceeded its progress deadline',
                            failed=f'deployment "{name}" exceeded its progress deadline')
    spec = dig(obj, "spec.replicas")
    want = int(spec) if isinstance(spec, int) else None
    updated, replicas = _i(obj, "status.updatedReplicas"), _i(obj, "status.replicas")
    available, ready = _i(obj, "status.availableReplicas"), _i(obj, "status.readyReplicas")
    head = f'Waiting for deployment "{name}" rollout to finish: '
    if want is not None and updated < want:
        return Progress(head + f"{updated} out of {want} new replicas have been updated...")
    if replicas > updated:
        return Progress(head + f"{replicas - updated} old replicas are pending termination...")
    if available < updated:
        return Progress(head + f"{available} of {updated} updated replicas are available...")
    if ready < updated:  # kubectl does not look at readyReplicas; available implies ready, so this is a safety net
        return Progress(head + f"{ready} of {updated} updated replicas are ready...")
    return Progress(f'deployment "{name}" successfully rolled out', done=True)


def daemonset(obj: dict) -> Progress:
    name = dig(obj, "metadata.name", "")
    if (dig(obj, "spec.updateStrategy.type") or "RollingUpdate") != "RollingUpdate":
        return Progress("", unsupported="rollout status is only available for RollingUpdate strategy type")
    if not _generation_observed(obj):
        return Progress("Waiting for daemon set spec update to be observed...")
    desired, updated = _i(obj, "status.desiredNumberScheduled"), _i(obj, "status.updatedNumberScheduled")
    available = _i(obj, "status.numberAvailable")
    head = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return Progress(head + f"{updated} out of {desired} new pods have been updated...")
    if available < desired:
        return Progress(head + f"{available} of {desired} updated pods are available...")
    return Progress(f'daemon set "{name}" successfully rolled out', done=True)


def statefulset(obj: dict) -> Progress:
    if (dig(obj, "spec.updateStrategy.type") or "RollingUpdate") != "RollingUpdate":
        return Progress("", unsupported="rollout status is only available for RollingUpdate strategy type")
    if _i(obj, "status.observedGeneration") == 0 or not _generation_observed(obj):
        return Progress("Waiting for statefulset spec update to be observed...")
    spec = dig(obj, "spec.replicas")
    want = int(spec) if isinstance(spec, int) else None
    ready, updated = _i(obj, "status.readyReplicas"), _i(obj, "status.updatedReplicas")
    if want is not None and ready < want:
        return Progress(f"Waiting for {want - ready} pods to be ready...")
    rolling = dig(obj, "spec.updateStrategy.rollingUpdate")
    if isinstance(rolling, dict):
        partition = rolling.get("partition")
        if isinstance(partition, int) and want is not None and updated < want - partition:
            return Progress(f"Waiting for partitioned roll out to finish: {updated} out of {want - partition} "
                            "new pods have been updated...")
        return Progress(f"partitioned roll out complete: {updated} new pods have been updated...", done=True)
    update, current = dig(obj, "status.updateRevision") or "", dig(obj, "status.currentRevision") or ""
    if update != current:
        return Progress(f"waiting for statefulset rolling update to complete {updated} pods at revision "
                        f"{update}...")
    return Progress(f"statefulset rolling update complete {_i(obj, 'status.currentReplicas')} pods at revision "
                    f"{current}...", done=True)


def _condition(obj: dict, type_: str) -> dict | None:
    return next((c for c in dig(obj, "status.conditions", []) or [] if isinstance(c, dict)
                 and c.get("type") == type_ and c.get("status") == "True"), None)


def job(obj: dict) -> Progress:
    name = dig(obj, "metadata.name", "")
    if _condition(obj, "Complete"):
        return Progress(f'job "{name}" completed', done=True)
    failed = _condition(obj, "Failed") or _condition(obj, "FailureTarget")
    if failed:
        why = failed.get("message") or failed.get("reason") or "failed"
        return Progress(f'job "{name}" failed: {why}', failed=f'job "{name}" failed: {why}')
    if _condition(obj, "Suspended"):
        return Progress(f'Waiting for job "{name}" to complete: the job is suspended...')
    want = dig(obj, "spec.completions")
    want = int(want) if isinstance(want, int) else 1
    succeeded, active = _i(obj, "status.succeeded"), _i(obj, "status.active")
    failures = _i(obj, "status.failed")
    text = f'Waiting for job "{name}" to complete: {succeeded} of {want} completions succeeded, {active} active'
    return Progress(text + (f", {failures} failed" if failures else "") + "...")


def pod(obj: dict) -> Progress:
    name = dig(obj, "metadata.name", "")
    phase = dig(obj, "status.phase") or "Pending"
    if phase == "Succeeded":
        return Progress(f'pod "{name}" completed', done=True)
    if phase == "Failed":
        why = dig(obj, "status.reason") or "its containers failed"
        return Progress(f'pod "{name}" failed ({why})', failed=f'pod "{name}" failed ({why})')
    if _condition(obj, "Ready"):
        return Progress(f'pod "{name}" is ready', done=True)
    states = []
    for s in dig(obj, "status.containerStatuses", []) or []:
        reason = dig(s, "state.waiting.reason") or ("running, not ready" if dig(s, "state.running") else "")
        if reason:
            states.append(f"{s.get('name')} {reason}")
    detail = ", ".join(states) or ("not scheduled yet" if not dig(obj, "spec.nodeName") else phase)
    return Progress(f'Waiting for pod "{name}" to be ready: {detail}...')


STATUS = {"Deployment": deployment, "StatefulSet": statefulset, "DaemonSet": daemonset, "Job": job, "Pod": pod}


def status(kind: str, obj: dict) -> Progress:
    return STATUS[kind](obj)


# -- the pods of the new revision -------------------------------------------------------------------

def new_replicaset(deployment_obj: dict, replicasets: list[dict]) -> dict | None:
    """The Deployment's current ReplicaSet: owned by it and at its revision annotation (None until that
    ReplicaSet exists); without the annotation, the newest one it owns."""
    uid = dig(deployment_obj, "metadata.uid")
    owned = [rs for rs in replicasets if any(r.get("uid") == uid and r.get("controller")
                                             for r in dig(rs, "metadata.ownerReferences", []) or [])
             or not uid]
    revision = (dig(deployment_obj, "metadata.annotations") or {}).get(REVISION)
    if revision is not None:  # the controller sets it when the new ReplicaSet exists
        at = [rs for rs in owned if (dig(rs, "metadata.annotations") or {}).get(REVISION) == revision]
        return at[0] if at else None
    if not owned:
        return None
    return max(owned, key=lambda rs: (int((dig(rs, "metadata.annotations") or {}).get(REVISION) or 0)
                                      if str((dig(rs, "metadata.annotations") or {}).get(REVISION) or 0).isdigit()
                                      else 0, dig(rs, "metadata.creationTimestamp") or ""))


def new_pods(kind: str, obj: dict, pods: list[dict], replicasets: list[dict] | None = None) -> list[dict]:
    """The pods of the revision being rolled out (not being deleted)."""
    live = [p for p in pods if not dig(p, "metadata.deletionTimestamp")]
    if kind == "Deployment":
        rs = new_replicaset(obj, replicasets or [])
        if rs is None:
            return [] if replicasets else live  # ReplicaSets unknown (not readable): every pod counts
        hash_ = (dig(rs, "metadata.labels") or {}).get("pod-template-hash")
        uid = dig(rs, "metadata.uid")
        return [p for p in live if (hash_ and (dig(p, "metadata.labels") or {}).get("pod-template-hash") == hash_)
                or any(r.get("uid") == uid for r in dig(p, "metadata.ownerReferences", []) or [])]
    if kind == "StatefulSet":
        revision = dig(obj, "status.updateRevision")
        if not revision:
            return live
        return [p for p in live if (dig(p, "metadata.labels") or {}).get("controller-revision-hash") == revision]
    if kind == "DaemonSet":
        generation = (dig(obj, "metadata.annotations") or {}).get(DS_GENERATION)
        if not generation:
            return live
        return [p for p in live if (dig(p, "metadata.labels") or {}).get("pod-template-generation") == generation]
    return live


def involved(ev: dict) -> dict:
    return ev.get("involvedObject") or ev.get("regarding") or {}


# -- pod creation refused (interim, see the module docstring) ---------------------------------------

_PREFIXES = ("(combined from similar events): ", "Error creating: ")
_STS_CREATE = re.compile(r"^create Pod (\S+) in StatefulSet (\S+) failed error: (.*)$", re.S)
_KINDS = (
    ("quota", re.compile(r"exceeded quota|insufficient quota|failed quota|must specify (limits|requests)", re.I),
     "a ResourceQuota in the namespace has no room for another pod",
     "free quota (scale down or delete other workloads, lower this pod template's requests/limits) or raise "
     "the quota: kubectl describe resourcequota -n {ns}"),
    ("pod-security", re.compile(r"violates PodSecurity", re.I),
     "the namespace's Pod Security level forbids this pod template",
     "change the pod template's securityContext to meet the level, or relabel the namespace: "
     "kubectl get ns {ns} --show-labels"),
    ("webhook", re.compile(r"admission webhook \"[^\"]+\" denied the request", re.I),
     "an admission webhook refused the pod",
     "read the webhook's message above; kubectl get validatingwebhookconfigurations,"
     "mutatingwebhookconfigurations"),
    ("limit-range", re.compile(r"(minimum|maximum) \S+ usage per (Container|Pod)|max limit to request ratio", re.I),
     "a LimitRange in the namespace rejects the pod template's resources",
     "fit the pod template's requests/limits to the LimitRange: kubectl describe limitrange -n {ns}"),
    ("service-account", re.compile(r"serviceaccount \"[^\"]+\" not found|error looking up service account", re.I),
     "the pod template names a ServiceAccount that does not exist",
     "create the ServiceAccount or fix serviceAccountName in the pod template"),
    ("forbidden", re.compile(r"is forbidden: ", re.I),
     "admission refused the pod",
     "read the message above: kubectl describe {what} -n {ns}"),
)


def _cause(message: str) -> tuple[str, str, str] | None:
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    for kind, pattern, meaning, advice in _KINDS:
        if pattern.search(message):
            return kind, meaning, advice
    return None


def rejection(kind: str, obj: dict, events: list[dict], replicasets: list[dict] | None = None,
              pods: list[dict] | None = None, now=None) -> Finding | None:
    """Pod creation for this workload refused by admission, as a finding; None when nothing was refused.

    Read from the FailedCreate events of the controller that creates the pods (the new ReplicaSet of a
    Deployment; the StatefulSet, DaemonSet or Job itself) and the ReplicaFailure condition the
    ReplicaSet and Deployment carry. A quota refusal while pods of the workload are still terminating is
    not reported: their end frees quota.
    """
    namespace = dig(obj, "metadata.namespace", "")
    name = dig(obj, "metadata.name", "")
    creator = (kind, name)
    if kind == "Deployment":
        rs = new_replicaset(obj, replicasets or [])
        if rs is None:
            return None
        creator = ("ReplicaSet", dig(rs, "metadata.name", ""))
    created_since = parse_time(dig(obj, "metadata.creationTimestamp"))
    candidates = []
    for ev in events:
        inv = involved(ev)
        if ev.get("reason") != "FailedCreate" or (inv.get("kind"), inv.get("name")) != creator:
            continue
        message = ev.get("message") or ""
        sts = _STS_CREATE.match(message)
        if sts:
            message = sts.group(3)
        when = event_time(ev)
        if created_since and when and when < created_since:
            continue
        candidates.append((when, message, ev))
    conds = []
    for holder in ([obj] + ([rs] if kind == "Deployment" else [])):
        cond = next((c for c in dig(holder, "status.conditions", []) or [] if isinstance(c, dict)
                     and c.get("type") == "ReplicaFailure" and c.get("status") == "True"
                     and c.get("reason") == "FailedCreate"), None)
        if cond:
            conds.append(cond)
    if not candidates and not conds:
        return None
    candidates.sort(key=lambda c: c[0].timestamp() if c[0] else 0)
    message = candidates[-1][1] if candidates else (conds[0].get("message") or "")
    cause = _cause(message)
    if cause is None:
        return None  # e.g. a webhook that could not be called: that may pass
    what, meaning, advice = cause
    if what == "quota" and any(dig(p, "metadata.deletionTimestamp") for p in pods or []):
        return None
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    short = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset", "Job": "job"}
    target = f"{short.get(creator[0], creator[0].lower())}/{creator[1]}"
    evidence = []
    if candidates:
        ev = candidates[-1][2]
        count = ev.get("count") or 1
        evidence.append(f"event Warning FailedCreate on {target}" + (f" (x{count})" if count > 1 else "")
                        + f": {(ev.get('message') or '').strip()}")
    for cond in conds[:1]:
        evidence.append(f"condition ReplicaFailure=True (FailedCreate): {cond.get('message') or ''}")
    return Finding(
        code="workload.pod-create-rejected", severity="error", container=None,
        title=f"pods cannot be created: {meaning}",
        explanation=(f"The API server refuses every pod {target} tries to create, so the rollout cannot "
                     f"progress until the cause is fixed: {message}"),
        evidence=evidence,
        suggestions=[advice.format(ns=namespace, what=target),
                     f"kubectl describe {target} -n {namespace}"],
        extra={"cause": what, "message": message, "controller": {"kind": creator[0], "name": creator[1]}},
    )
