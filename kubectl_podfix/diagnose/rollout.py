"""Where a rollout stands, in kubectl's words, and which pods belong to the new revision (pure).

``status(kind, obj)`` follows ``kubectl rollout status``
(staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go) for Deployments, StatefulSets and
DaemonSets, message for message; Jobs and pods, which kubectl has no rollout status for, get the same
shape: a Job is done at its Complete condition and failed at Failed, a pod is done when Ready.

``new_pods`` picks the pods of the revision being rolled out (the new ReplicaSet's pod-template-hash, the
StatefulSet's updateRevision, the DaemonSet's template generation): only their failures stop ``wait``.
(Pods the API server refuses to create are the workload's own findings: ``diagnose.workloads``.)
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_podfix.diagnose.model import dig

REVISION = "deployment.kubernetes.io/revision"
DS_GENERATION = "deprecated.daemonset.template.generation"


@dataclass(frozen=True)
class Progress:
    """One look at a rollout: kubectl's message, whether it is done, and why it failed (a terminal state)."""

    message: str
    done: bool = False
    failed: str | None = None  # e.g. 'deployment "web" exceeded its progress deadline'
    unsupported: str | None = None  # kubectl's refusal (OnDelete): there is no rollout to wait for
    # the controller has seen the current spec: until then nothing is known of the new revision (its pods, its
    # ReplicaSet, its verdicts), so nothing about the old one may fail the wait
    observed: bool = True


def _i(obj: dict, path: str) -> int:
    value = dig(obj, path)
    return int(value) if isinstance(value, (int, float)) else 0


def _generation_observed(obj: dict) -> bool:
    return _i(obj, "metadata.generation") <= _i(obj, "status.observedGeneration")


def deployment(obj: dict) -> Progress:
    name = dig(obj, "metadata.name", "")
    if not _generation_observed(obj):
        return Progress("Waiting for deployment spec update to be observed...", observed=False)
    for cond in dig(obj, "status.conditions", []) or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Progress(f'deployment "{name}" exceeded its progress deadline',
                            failed=f'deployment "{name}" exceeded its progress deadline')
    spec = dig(obj, "spec.replicas")
    want = int(spec) if isinstance(spec, int) else None
    updated, replicas = _i(obj, "status.updatedReplicas"), _i(obj, "status.replicas")
    available = _i(obj, "status.availableReplicas")  # (kubectl never reads readyReplicas: available implies it)
    head = f'Waiting for deployment "{name}" rollout to finish: '
    if want is not None and updated < want:
        return Progress(head + f"{updated} out of {want} new replicas have been updated...")
    if replicas > updated:
        return Progress(head + f"{replicas - updated} old replicas are pending termination...")
    if available < updated:
        return Progress(head + f"{available} of {updated} updated replicas are available...")
    return Progress(f'deployment "{name}" successfully rolled out', done=True)


def daemonset(obj: dict) -> Progress:
    name = dig(obj, "metadata.name", "")
    if (dig(obj, "spec.updateStrategy.type") or "RollingUpdate") != "RollingUpdate":
        return Progress("", unsupported="rollout status is only available for RollingUpdate strategy type")
    if not _generation_observed(obj):
        return Progress("Waiting for daemon set spec update to be observed...", observed=False)
    desired, updated = _i(obj, "status.desiredNumberScheduled"), _i(obj, "status.updatedNumberScheduled")
    available = _i(obj, "status.numberAvailable")
    head = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return Progress(head + f"{updated} out of {desired} new pods have been updated...")
    if available < desired:
        return Progress(head + f"{available} of {desired} updated pods are available...")
    return Progress(f'daemon set "{name}" successfully rolled out', done=True)


def statefulset(obj: dict) -> Progress:
    strategy = dig(obj, "spec.updateStrategy.type")
    if (strategy or "RollingUpdate") != "RollingUpdate":
        return Progress("", unsupported="rollout status is only available for RollingUpdate strategy type")
    if _i(obj, "status.observedGeneration") == 0 or not _generation_observed(obj):
        return Progress("Waiting for statefulset spec update to be observed...", observed=False)
    spec = dig(obj, "spec.replicas")
    want = int(spec) if isinstance(spec, int) else None
    ready, updated = _i(obj, "status.readyReplicas"), _i(obj, "status.updatedReplicas")
    if want is not None and ready < want:
        return Progress(f"Waiting for {want - ready} pods to be ready...")
    rolling = dig(obj, "spec.updateStrategy.rollingUpdate")
    if not strategy and rolling is None:  # the API server's default for no strategy: RollingUpdate, partition 0
        rolling = {"partition": 0}
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


def _ordered(obj: dict) -> bool:
    return (dig(obj, "spec.podManagementPolicy") or "OrderedReady") == "OrderedReady"


def blocking_pods(kind: str, obj: dict, pods: list[dict], replicasets: list[dict] | None = None) -> list[dict]:
    """The pods whose failure stops the rollout: the new revision's (``new_pods``); for a StatefulSet that
    manages its pods in order (podManagementPolicy OrderedReady, the default), every pod: its controller does not
    go past a pod that is not Running and Ready, whatever that pod's revision, so a previous revision's pod that
    will not heal is never replaced (kubernetes#67250, the "forced rollback" of the StatefulSet docs)."""
    new = new_pods(kind, obj, pods, replicasets)
    if kind != "StatefulSet" or not _ordered(obj) or not dig(obj, "status.updateRevision"):
        return new
    mine = {id(p) for p in new}
    return new + [p for p in pods if id(p) not in mine and not dig(p, "metadata.deletionTimestamp")]


def held_back(kind: str, obj: dict, pod: dict) -> str | None:
    """Why a failing pod that is not of the new revision stops the rollout for good, and what to do (None: a pod of
    the new revision, or not a StatefulSet's)."""
    revision = dig(obj, "status.updateRevision")
    has = (dig(pod, "metadata.labels") or {}).get("controller-revision-hash")
    if kind != "StatefulSet" or not revision or not has or has == revision:
        return None  # (a pod without the label: its revision is not known, so nothing is said about it)
    name, ns = dig(pod, "metadata.name", ""), dig(pod, "metadata.namespace", "")
    return (f"{name} is a pod of the previous revision ({has}): with podManagementPolicy OrderedReady "
            "the StatefulSet controller does not replace a pod that is not Running and Ready, so the rollout stays "
            f"stuck until it is deleted (kubectl delete pod {name}" + (f" -n {ns}" if ns else "") +
            "; kubernetes#67250)")


def involved(ev: dict) -> dict:
    return ev.get("involvedObject") or ev.get("regarding") or {}
