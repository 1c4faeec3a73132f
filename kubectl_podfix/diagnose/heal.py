"""Will this failure heal by itself?  The one decision ``kubectl podfix wait`` fails fast on (pure).

``permanent(findings, pod, events, now)`` reads a pod's diagnosis (``diagnose``'s findings, root cause
first) and answers with the finding that will not go away without someone changing something (an image
reference, a Secret, the code, the cluster's capacity), or None when waiting may still see the pod run:
an image being pulled, a first restart, a scheduler waiting for a node an autoscaler is adding.

The rules are the table ``RULES``, one row per finding code: when the row's condition holds, the finding
is permanent.  Codes without a row are transient (the pull may succeed on the next try, the registry may
come back, the node may recover): ``wait`` keeps waiting and its timeout diagnoses them.  docs/wait.md
prints this table; a test checks the two agree.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Callable, Iterable

from kubectl_podfix.diagnose.model import Finding, dig, event_first_time, parse_time

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


@dataclass
class Facts:
    """What a rule may read about one finding."""

    finding: Finding
    pod: dict
    events: list[dict]  # the pod's events, normalized to core/v1
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


def _missing_for_a_while(facts: Facts) -> bool:
    """The object has been missing since the pod's creation for MISSING_OBJECT_GRACE seconds."""
    created = parse_time(dig(facts.pod, "metadata.creationTimestamp"))
    firsts = [t for t in (event_first_time(ev) for ev in facts.events) if t]
    since = created or min(firsts, default=None)
    return since is None or (facts.now - since).total_seconds() >= MISSING_OBJECT_GRACE


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


RULES: tuple[Rule, ...] = (
    Rule("image.not-found", "always: the registry has no such tag or repository", _always),
    Rule("image.auth-failed", "always: the registry refuses the credentials the node has", _always),
    Rule("image.pull-secret-missing", f"after {MISSING_OBJECT_GRACE:g}s: an imagePullSecret the pod names does not "
         "exist (it may be applied just after the workload)", _missing_for_a_while),
    Rule("image.invalid-name", "always: the image reference does not parse", _always),
    Rule("image.never-pull", "always: imagePullPolicy Never and the image is not on the node", _always),
    Rule("image.platform-mismatch", "always: the image has no variant for the node's platform", _always),
    Rule("container.config-error", f"after {MISSING_OBJECT_GRACE:g}s: a Secret, ConfigMap or key the container needs "
         "is missing (it may be applied just after the workload)", _missing_for_a_while),
    Rule("container.exec-format-error", "always: the binary is built for another CPU architecture", _always),
    Rule("container.command-not-found", "always: the command does not exist in the image", _always),
    Rule("container.crash-loop", f"from restart {CRASH_RESTARTS}: the process keeps exiting with an error",
         _crashing),
    Rule("container.oom-killed", f"from restart {CRASH_RESTARTS}: it keeps running out of memory", _crashing),
    Rule("container.start-failed", f"from restart {CRASH_RESTARTS}: the runtime keeps failing to start it",
         _crashing),
    Rule("pod.unschedulable",
         "the scheduler says preemption would not help, no TriggeredScaleUp (cluster-autoscaler) or Nominated "
         f"(Karpenter) event, and either NotTriggerScaleUp or {AUTOSCALER_GRACE:g}s without an autoscaler's answer",
         _unschedulable_for_good),
)
BY_CODE = {rule.code: rule for rule in RULES}


def permanent(findings: Iterable[Finding], pod: dict, events: list[dict],
              now: _dt.datetime) -> Finding | None:
    """The first error finding that will not heal by itself, or None (keep waiting)."""
    for finding in findings:
        if finding.severity != "error":
            continue
        rule = BY_CODE.get(finding.code)
        if rule is not None and rule.check(Facts(finding, pod, events, now)):
            return finding
    return None
