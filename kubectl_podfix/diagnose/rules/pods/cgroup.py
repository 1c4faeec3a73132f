"""pod.cgroup-failed: the kubelet cannot create the pod's cgroup (FailedCreatePodContainer).

Before any sandbox, the kubelet makes the pod-level cgroup ("pod container"). When that fails it records
``FailedCreatePodContainer``: ``unable to ensure pod container exists: failed to create container for
[kubepods burstable pod<uid>] : <error>``, for instance ``mkdir /sys/fs/cgroup/...: no such file or
directory``, ``Unit kubepods-burstable-pod<uid>.slice already exists.``, ``Timeout waiting for systemd to
create kubepods-burstable-pod<uid>.slice``. The pod stays ContainerCreating: a node problem (systemd, the
cgroup hierarchy, a kubelet whose cgroup driver disagrees with the runtime's), never the application's.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.health import PENDING_GRACE
from kubectl_podfix.diagnose.model import Finding, PodContext, dig, parse_time, sentence
from kubectl_podfix.diagnose.rules.common import describe_event, node_arg
from kubectl_podfix.diagnose.rules.pods.status import after_start, assigned_node, events_with, pod_started

_DETAIL = re.compile(r"failed to create container for \[[^\]]*\]\s*:\s*(?P<err>.+)$", re.S)


def cgroup_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    evs = events_with(ctx, {"FailedCreatePodContainer"})
    if pod_started(ctx):
        evs = after_start(ctx, evs)
    if not evs:
        return
    msg = (evs[-1].get("message") or "").replace("(combined from similar events): ", "").strip()
    m = _DETAIL.search(msg)
    err = m.group("err").strip() if m else msg
    low = " ".join(ev.get("message") or "" for ev in evs).lower()
    node = assigned_node(ctx) or "its node"
    expl = (f"The kubelet on {node} cannot create the pod's cgroup (the pod-level \"pod container\" under "
            f"kubepods): {sentence(err)} Until it can, no container of the pod is created. This is the node's state, not "
            f"the pod's.")
    if "systemd" in low or ".slice" in low:
        expl += (" The kubelet uses the systemd cgroup driver and systemd did not create (or still holds) the pod's "
                 "slice: systemd or dbus on the node is stuck or out of sync with the kubelet. Restarting the "
                 "kubelet, or draining and rebooting the node, clears it.")
    elif "no such file or directory" in low and "/sys/fs/cgroup" in low:
        expl += (" A cgroup controller's hierarchy is missing part of the kubepods tree (cgroup v1 controllers out of "
                 "sync, often after systemd reloaded them): restart the kubelet, or drain and reboot the node.")
    expl += (" Check that the kubelet's cgroupDriver matches the runtime's (containerd SystemdCgroup, CRI-O "
             "cgroup_manager).")
    created = parse_time(dig(ctx.pod, "metadata.creationTimestamp"))
    young = created is not None and (ctx.now - created).total_seconds() < PENDING_GRACE
    yield Finding(
        code="pod.cgroup-failed", severity="warning" if young else "error", container=None,
        title=f"the pod's cgroup cannot be created on {node}",
        explanation=expl, evidence=[describe_event(ev, ctx.now) for ev in evs[-2:]],
        suggestions=[f"kubectl describe node {node_arg(ctx)}",
                     f"on {assigned_node(ctx) or 'the node'}: journalctl -u kubelet | grep -i cgroup; "
                     "systemctl list-units 'kubepods*'",
                     f"kubectl drain {node_arg(ctx)} --ignore-daemonsets (then restart the kubelet "
                     "or reboot)"],
        since=evs[0].get("firstTimestamp"),
        extra={"node": assigned_node(ctx), "error": err},
    )
