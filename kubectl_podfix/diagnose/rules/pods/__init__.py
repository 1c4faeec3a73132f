"""Pod family: failures of the pod as a whole, before or around its containers.

Scheduling (``scheduling.py``) and DRA claims (``claims``), the node's
network not ready (``network``), the node going away or refusing the pod
(``node``), preemption and node-pressure eviction (``eviction``), the active
deadline (``deadline``), the pod's cgroup (``cgroup``), volume mounts
(``volumes``), the pod sandbox (``sandbox``: network / pause image),
readiness gates no controller has set (``gates``), and deletions that never
finish (``terminating``). ``status`` reads the pod's status and events for
all of them. Findings here have ``container`` None.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.rules.pods.cgroup import cgroup_rule
from kubectl_podfix.diagnose.rules.pods.claims import resource_claim_rule
from kubectl_podfix.diagnose.rules.pods.deadline import deadline_rule
from kubectl_podfix.diagnose.rules.pods.eviction import evicted_rule, preempted_rule
from kubectl_podfix.diagnose.rules.pods.gates import readiness_gate_rule
from kubectl_podfix.diagnose.rules.pods.network import network_not_ready_rule
from kubectl_podfix.diagnose.rules.pods.node import node_lost_rule, rejected_rule
from kubectl_podfix.diagnose.rules.pods.sandbox import sandbox_rule
from kubectl_podfix.diagnose.rules.pods.terminating import stuck_terminating_rule
from kubectl_podfix.diagnose.rules.pods.volumes import volume_resize_rule, volume_rule
from kubectl_podfix.diagnose.rules.pods.scheduling import unschedulable_rule

__all__ = ["CODES", "SUPERSEDES", "RULES"]

CODES: dict[str, str] = {
    "pod.resource-claim": "a DRA ResourceClaim the pod needs does not exist, is not allocated or cannot be prepared",
    "pod.unschedulable": "the scheduler cannot find a node for the pod",
    "pod.network-not-ready": "the node's container network (CNI) is not ready, so no pod sandbox gets a network",
    "pod.node-lost": "the pod's node stopped reporting (NodeLost, NotReady, shut down)",
    "pod.rejected": "the kubelet refused to admit the pod on its node (OutOfcpu, NodeAffinity, ...)",
    "pod.preempted": "the pod was preempted to make room for a higher-priority pod",
    "pod.evicted": "the kubelet evicted the pod because the node ran low on a resource",
    "pod.deadline-exceeded": "the pod ran longer than its activeDeadlineSeconds",
    "pod.cgroup-failed": "the kubelet cannot create the pod's cgroup on its node (FailedCreatePodContainer)",
    "pod.volume-mount-failed": "a volume could not be attached or mounted (FailedMount / FailedAttachVolume)",
    "pod.volume-resize-failed": "a resized volume's filesystem could not be grown on the node (VolumeResizeFailed)",
    "pod.sandbox-failed": "the pod sandbox (network, pause container) could not be created",
    "pod.readiness-gate": "every container is Ready but a readiness gate (set by a load balancer controller) is not",
    "pod.stuck-terminating": "the pod was deleted long ago but has not gone away",
}

SUPERSEDES: dict[str, set[str]] = {
    "pod.resource-claim": {"pod.unschedulable"},
    "pod.network-not-ready": {"pod.node-lost", "pod.volume-mount-failed"},
    "pod.node-lost": {"pod.stuck-terminating"},
    "pod.volume-mount-failed": {"pod.volume-resize-failed"},
}

RULES = (resource_claim_rule, unschedulable_rule, network_not_ready_rule, node_lost_rule, rejected_rule,
         preempted_rule, evicted_rule, deadline_rule, cgroup_rule, volume_rule, volume_resize_rule, sandbox_rule, readiness_gate_rule,
         stuck_terminating_rule)
