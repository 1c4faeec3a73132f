"""Will this failure heal by itself?  The one decision ``kubectl podfix wait`` fails fast on (pure).

``permanent(findings, subject, events, now)`` reads a diagnosis (``diagnose``'s findings for a pod, or
``diagnose_workload``'s for a workload, root cause first) and answers with the finding that will not go away
without someone changing something (an image reference, a Secret, the code, the cluster's capacity, a quota,
a policy), or None when waiting may still see the pods run: an image being pulled, a first restart, a
scheduler waiting for a node an autoscaler is adding, a quota that terminating pods are about to free, an
admission webhook that could not be reached.

The rules are the table ``RULES``, one row per finding code, the pod codes first, then the ``workload.*``
codes: when the row's condition holds, the finding is permanent.  Codes without a row are transient (the pull
may succeed on the next try, the registry or the webhook may come back, the node may recover): ``wait`` keeps
waiting and its timeout diagnoses them.  docs/wait.md prints this table; a test checks the two agree.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Callable, Iterable

from kubectl_podfix.diagnose.model import Finding, dig, event_first_time, event_time, parse_time

CRASH_RESTARTS = 2  # a crash loop is permanent from its second restart (the first may be a dependency starting)
AUTOSCALER_GRACE = 30.0  # seconds an unschedulable pod waits for an autoscaler to answer (it scans every 10 s)
SCALE_UP_REASONS = {"TriggeredScaleUp",  # cluster-autoscaler: a node group is growing for this pod
                    "Nominated"}  # Karpenter: a node is being launched (or exists) for this pod
NO_SCALE_UP_REASONS = {"NotTriggerScaleUp"}  # cluster-autoscaler looked and no node group would help
NO_PREEMPTION = ("preemption is not helpful", "no preemption victims found")
# A Secret or ConfigMap applied in the same `kubectl apply -f k8s/` as the workload may land seconds after
# its pods: the kubelet retries, so a missing object is permanent only once it has been missing this long.
MISSING_OBJECT_GRACE = 15.0


@dataclass(frozen=True)
class Rule:
    code: str
    when: str  # the condition, in words (docs/wait.md)
    check: Callable[["Facts"], bool]

    @property
    def timed(self) -> bool:
        """Whether the answer may change with time alone (a grace that runs out), with nothing else changing."""
        return self.check in _TIMED


@dataclass
class Facts:
    """What a rule may read about one finding."""

    finding: Finding
    pod: dict  # the pod; for a workload.* finding, the workload
    events: list[dict]  # the pod's events (the workload's, its ReplicaSets' and claims'), normalized to core/v1
    now: _dt.datetime

    def restarts(self) -> int:
        statuses = (dig(self.pod, "status.containerStatuses", []) or []) + \
            (dig(self.pod, "status.initContainerStatuses", []) or [])
        return max((s.get("restartCount") or 0 for s in statuses if isinstance(s, dict)
                    and (self.finding.container is None or s.get("name") == self.finding.container)), default=0)

    def reasons(self) -> set[str]:
        return {ev.get("reason") or "" for ev in self.events}


def _always(_: Facts) -> bool:
    return True


def _crashing(facts: Facts) -> bool:
    return facts.restarts() >= CRASH_RESTARTS


def _killed_again_and_again(facts: Facts) -> bool:
    """Restarted CRASH_RESTARTS times and not up now (CrashLoopBackOff, or running but not ready): a probe that
    killed it twice, or a process that exits 0 where it should keep running, is a crash loop by another name."""
    statuses = dig(facts.pod, "status.containerStatuses", []) or []
    up = any(isinstance(s, dict) and s.get("ready") and (facts.finding.container is None
                                                          or s.get("name") == facts.finding.container)
             for s in statuses)
    return _crashing(facts) and not up


def _missing_for_a_while(facts: Facts) -> bool:
    """The object has been missing since the pod's creation for MISSING_OBJECT_GRACE seconds."""
    created = parse_time(dig(facts.pod, "metadata.creationTimestamp"))
    firsts = [t for t in (event_first_time(ev) for ev in facts.events) if t]
    since = created or min(firsts, default=None)
    return since is None or (facts.now - since).total_seconds() >= MISSING_OBJECT_GRACE


# The kubelet's own passing state, not a missing object: it has not listed Services since it started
# (kubernetes#129294), or it could not read the object from the API server in time.
_KUBELET_NOT_SYNCED = ("services have not yet been read", "failed to sync", "timed out waiting for the condition")


def _config_missing_for_good(facts: Facts) -> bool:
    """A missing Secret, ConfigMap or key (or an image user runAsNonRoot refuses) for MISSING_OBJECT_GRACE
    seconds; never the kubelet's own cache that has not synced yet, which clears by itself."""
    said = str((facts.finding.extra or {}).get("message") or "").lower()
    if any(words in said for words in _KUBELET_NOT_SYNCED):
        return False
    return _missing_for_a_while(facts)


def _volume_object_missing(facts: Facts) -> bool:
    """A configMap or secret volume (or one of its items' keys) that does not exist, for MISSING_OBJECT_GRACE
    seconds: the kubelet retries, but only someone creating it helps. Other mount failures (attach, CSI, NFS,
    a timeout) may clear by themselves."""
    extra = facts.finding.extra or {}
    return extra.get("kind") in ("missing-object", "missing-key") and not extra.get("object_seen") \
        and _missing_for_a_while(facts)


def _unschedulable_for_good(facts: Facts) -> bool:
    """No preemption would help, no autoscaler is adding a node, and one had time to say so."""
    extra = facts.finding.extra or {}
    if extra.get("scheduling_gates"):
        return False  # waiting for a controller to lift its gates, on purpose
    text = f"{extra.get('preemption') or ''} {extra.get('message') or ''}".lower()
    if not any(p in text for p in NO_PREEMPTION):
        return False
    reasons = facts.reasons()
    if reasons & SCALE_UP_REASONS:
        return False
    if reasons & NO_SCALE_UP_REASONS:
        return True
    return _pending_for(facts) >= AUTOSCALER_GRACE


def _pending_for(facts: Facts) -> float:
    """Seconds the pod has been unschedulable: the PodScheduled condition, else the first FailedScheduling."""
    cond = next((c for c in dig(facts.pod, "status.conditions", []) or [] if isinstance(c, dict)
                 and c.get("type") == "PodScheduled" and c.get("status") == "False"), None)
    since = parse_time((cond or {}).get("lastTransitionTime"))
    if since is None:
        firsts = [event_first_time(ev) for ev in facts.events if ev.get("reason") == "FailedScheduling"]
        since = min((t for t in firsts if t), default=None)
    return (facts.now - since).total_seconds() if since else 0.0


# -- workload.* findings (diagnose/workloads): the API server refuses the pods, a claim cannot be provisioned,
# the controller itself gave up (a Job's Failed condition, a Deployment's progress deadline)

_QUOTA_IN_FLUX = ("status unknown for quota", "resource quota evaluation timed out")


def _quota_counted(facts: Facts) -> bool:
    """The quota admission gave its numbers. (A warning, not an error, while pods terminate: their end frees
    room, so only errors reach a rule.) 'status unknown for quota' and 'resource quota evaluation timed out'
    clear once the quota controller has caught up."""
    text = str((facts.finding.extra or {}).get("error") or "").lower()
    return not any(words in text for words in _QUOTA_IN_FLUX)


def _failing_for_a_while(facts: Facts) -> bool:
    """The refusal has been repeated for MISSING_OBJECT_GRACE seconds: since the finding's first event, else the
    first FailedCreate/ProvisioningFailed event; permanent when nothing says when it started."""
    since = parse_time(facts.finding.since)
    if since is None:
        firsts = [event_first_time(ev) for ev in facts.events
                  if ev.get("reason") in ("FailedCreate", "ProvisioningFailed")]
        since = min((t for t in firsts if t), default=None)
    return since is None or (facts.now - since).total_seconds() >= MISSING_OBJECT_GRACE


def _refused_by_admission(facts: Facts) -> bool:
    """An 'is forbidden' answer (a namespace being deleted, an admission plugin); other create errors (the API
    server busy: 'please try again', unknown texts) may pass. A refusal for an object that does not exist yet (a
    PriorityClass, a RuntimeClass) counts once it has lasted MISSING_OBJECT_GRACE seconds, like a ServiceAccount."""
    extra = facts.finding.extra or {}
    if "is forbidden" not in str(extra.get("error") or "").lower():
        return False
    return not extra.get("missing_object") or _failing_for_a_while(facts)


def _provisioning_for_good(facts: Facts) -> bool:
    """Not a CSI driver that timed out or is still working on an earlier attempt (it retries and may succeed), and
    failing for a while (a StorageClass may be applied just after the workload)."""
    return (facts.finding.extra or {}).get("kind") not in ("timeout", "in-progress") and _failing_for_a_while(facts)


_TIMED = (_missing_for_a_while, _config_missing_for_good, _volume_object_missing, _unschedulable_for_good,
          _failing_for_a_while, _refused_by_admission, _provisioning_for_good)

RULES: tuple[Rule, ...] = (
    Rule("image.not-found", "always: the registry has no such tag or repository", _always),
    Rule("image.auth-failed", "always: the registry refuses the credentials the node has", _always),
    Rule("image.pull-secret-missing", f"after {MISSING_OBJECT_GRACE:g}s: an imagePullSecret the pod names does not "
         "exist (it may be applied just after the workload)", _missing_for_a_while),
    Rule("image.invalid-name", "always: the image reference does not parse", _always),
    Rule("image.never-pull", "always: imagePullPolicy Never and the image is not on the node", _always),
    Rule("image.platform-mismatch", "always: the image has no variant for the node's platform", _always),
    Rule("container.config-error", f"after {MISSING_OBJECT_GRACE:g}s: a Secret, ConfigMap or key the container needs "
         "is missing (it may be applied just after the workload); never while the kubelet has not synced its "
         "cache (Services not read yet, failed to sync)", _config_missing_for_good),
    Rule("pod.volume-mount-failed", f"after {MISSING_OBJECT_GRACE:g}s, for a configMap or secret volume (or an "
         "item's key) that does not exist; other mount failures (attach, CSI, NFS, timeouts) keep waiting",
         _volume_object_missing),
    Rule("container.exec-format-error", "always: the binary is built for another CPU architecture", _always),
    Rule("container.command-not-found", "always: the command does not exist in the image", _always),
    Rule("container.crash-loop", f"from restart {CRASH_RESTARTS}: the process keeps exiting with an error",
         _crashing),
    Rule("container.oom-killed", f"from restart {CRASH_RESTARTS}: it keeps running out of memory", _crashing),
    Rule("container.start-failed", f"from restart {CRASH_RESTARTS}: the runtime keeps failing to start it",
         _crashing),
    Rule("container.liveness-probe-failed", f"from restart {CRASH_RESTARTS}, not ready: the liveness probe keeps "
         "killing it", _killed_again_and_again),
    Rule("container.startup-probe-failed", f"from restart {CRASH_RESTARTS}, not ready: it keeps failing to start "
         "within its startup probe's budget", _killed_again_and_again),
    Rule("container.completed-restarting", f"from restart {CRASH_RESTARTS}, not ready: the process exits 0 where it "
         "should keep running (restartPolicy Always)", _killed_again_and_again),
    Rule("pod.unschedulable",
         "the scheduler says preemption would not help, no TriggeredScaleUp (cluster-autoscaler) or Nominated "
         f"(Karpenter) event, and either NotTriggerScaleUp or {AUTOSCALER_GRACE:g}s without an autoscaler's answer",
         _unschedulable_for_good),
    Rule("workload.quota-exceeded", "the quota admission gave its numbers (`exceeded quota`, `insufficient quota`; "
         "`status unknown for quota` clears by itself); while pods are terminating it is a warning, not an error: "
         "their end frees room", _quota_counted),
    Rule("workload.quota-requires-resources", "always: the quota needs requests/limits the pod template does not "
         "set", _always),
    Rule("workload.limitrange-violated", "always: the pod template's resources are outside a LimitRange", _always),
    Rule("workload.pod-security-violated", "always: the namespace's Pod Security level rejects the pod template",
         _always),
    Rule("workload.webhook-denied", "always: an admission webhook was reached and said no (an unreachable webhook "
         "keeps waiting: it may come back)", _always),
    Rule("workload.serviceaccount-missing", f"after {MISSING_OBJECT_GRACE:g}s: the pods' ServiceAccount does not exist "
         "(it may be applied just after the workload)", _failing_for_a_while),
    Rule("workload.template-invalid", "always: the API server rejects the pod (or claim) template as invalid",
         _always),
    Rule("workload.create-failed", "the API server answered `is forbidden` (a namespace being deleted, another "
         f"admission plugin; after {MISSING_OBJECT_GRACE:g}s for a PriorityClass or RuntimeClass that does not exist "
         "yet); `please try again` and unknown errors keep waiting", _refused_by_admission),
    Rule("workload.pvc-provisioning-failed", f"after {MISSING_OBJECT_GRACE:g}s, unless the provisioner timed out or "
         "is still working on an earlier attempt (it retries): a claim the pods need cannot be provisioned or bound",
         _provisioning_for_good),
    Rule("workload.pvc-no-storage-class", "always: a claim names no StorageClass and none is the default",
         _always),
    Rule("workload.job-backoff-limit", "always: the Job failed, its pods failed more than backoffLimit times",
         _always),
    Rule("workload.job-deadline-exceeded", "always: the Job failed, it ran longer than activeDeadlineSeconds",
         _always),
    Rule("workload.job-pod-failure-policy", "always: the Job failed at once, a podFailurePolicy rule matched",
         _always),
    Rule("workload.job-failed", "always: the Job failed (failed indexes...)", _always),
    Rule("workload.rollout-stuck", "always: the Deployment exceeded its progress deadline (the new pods' diagnosis "
         "is the cause)", _always),
)
BY_CODE = {rule.code: rule for rule in RULES}


def refused_before(events: list[dict], when: _dt.datetime) -> bool:
    """Whether every FailedCreate in ``events`` was last seen before ``when`` (to the second, as events are
    stamped): a quota refusal from before pods finished terminating says nothing of the quota they freed; the
    controller's next try (after its back-off) does. None seen: False."""
    times = [event_time(ev) for ev in events if ev.get("reason") == "FailedCreate"]
    times = [t for t in times if t is not None]
    return bool(times) and max(times) < when.replace(microsecond=0)


def waiting_on_time(findings: Iterable[Finding]) -> bool:
    """Whether one of these error findings is not permanent yet but may become so as time passes, with nothing
    else changing (a missing Secret's grace, an unschedulable pod's autoscaler grace): ``wait`` looks again
    then, even when the cluster says nothing new."""
    return any(f.severity == "error" and f.code in BY_CODE and BY_CODE[f.code].timed for f in findings)


def permanent(findings: Iterable[Finding], pod: dict, events: list[dict],
              now: _dt.datetime) -> Finding | None:
    """The first error finding that will not heal by itself, or None (keep waiting).

    ``pod`` and ``events``: the pod and its events, or for a workload's findings the workload and the events
    of its WorkloadContext (about it, its ReplicaSets or Jobs, its claims)."""
    for finding in findings:
        if finding.severity != "error":
            continue
        rule = BY_CODE.get(finding.code)
        if rule is not None and rule.check(Facts(finding, pod, events, now)):
            return finding
    return None
