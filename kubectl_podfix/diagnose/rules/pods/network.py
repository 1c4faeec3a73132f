"""pod.network-not-ready: the node's container network is not ready, so no pod there can get a network.

The kubelet refuses to create a sandbox while its runtime reports ``NetworkReady=false``: it records
``NetworkNotReady`` (``network is not ready: container runtime network not ready: NetworkReady=false
reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized``; before
about 1.13 a FailedSync ``network is not ready: [runtime network not ready: ...]``) and the Node's Ready
condition carries the same text (``runtime network not ready: ... docker: network plugin is not ready: cni
config uninitialized``, kubenet's ``Kubenet does not have netConfig. This is most likely due to lack of
PodCIDR``). The pod stays ContainerCreating; FailedMount "not registered" warnings of the same moment are a
side effect of the same not-ready kubelet.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.health import PENDING_GRACE
from kubectl_podfix.diagnose.model import Finding, PodContext, dig, parse_time
from kubectl_podfix.diagnose.rules.common import describe_event, node_arg, node_phrase
from kubectl_podfix.diagnose.rules.pods.status import assigned_node, events_with, node_ready, pod_started

_NETWORK = re.compile(r"network is not ready|runtime network not ready|NetworkPluginNotReady|network plugin is not "
                      r"ready|cni config uninitiali[sz]ed|cni plugin not initiali[sz]ed", re.I)
_RUNTIME_MESSAGE = re.compile(r"message:\s*(?P<msg>.+?)\]?\s*$", re.S)
# CNI plugins recognised from the Node's annotations (set by their node agents).
_NODE_CNI = (("projectcalico.org/", "Calico"), ("io.cilium.", "Cilium"), ("flannel.alpha.coreos.com/", "Flannel"),
             ("weave", "Weave Net"), ("ovn.kubernetes.io/", "OVN-Kubernetes"), ("k8s.ovn.org/", "OVN-Kubernetes"),
             ("kube-router.io/", "kube-router"), ("antrea", "Antrea"))


def _cni_name(node: dict | None, text: str) -> str | None:
    if re.search(r"\bkubenet\b", text, re.I):
        return "kubenet"
    for key in (dig(node or {}, "metadata.annotations", {}) or {}):
        for prefix, name in _NODE_CNI:
            if isinstance(key, str) and key.startswith(prefix):
                return name
    m = re.search(r'plugin type="(?P<p>[^"]+)"', text)
    return m.group("p") if m else None


def network_not_ready_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    if pod_started(ctx):
        return  # its containers run: whatever the network said before is history
    evs = [ev for ev in events_with(ctx, {"NetworkNotReady", "FailedSync"}) if _NETWORK.search(ev.get("message") or "")]
    node_name = assigned_node(ctx)
    node = ctx.node()
    status, cond = node_ready(node)
    node_says = (cond or {}).get("message") or ""
    node_network = status in ("False", "Unknown") and bool(_NETWORK.search(node_says))
    if not evs and not node_network:
        return
    text = (evs[-1].get("message") or "") if evs else node_says
    m = _RUNTIME_MESSAGE.search(text)
    runtime_says = m.group("msg").strip() if m else text
    cni = _cni_name(node, f"{text} {node_says}")
    low = f"{text} {node_says}".lower()
    who = cni or "the node's CNI plugin"
    node_txt = node_name or "its node"
    expl = (f"The container runtime on {node_txt} reports its pod network is not ready ({runtime_says}), so the "
            f"kubelet creates no pod sandbox there and the pod stays ContainerCreating. This is the node's "
            + (f"network plugin ({cni})" if cni else "CNI network plugin") + ", not the pod.")
    sugs = []
    if "podcidr" in low or "kubenet" in low:
        expl += (f" kubenet has no PodCIDR for {node_txt}: the controller manager assigns one only with "
                 "--allocate-node-cidrs and a --cluster-cidr large enough for every node.")
        sugs.append(f"kubectl get node {node_arg(ctx)} -o jsonpath={{.spec.podCIDR}}")
    elif "uninitiali" in low or "not initiali" in low or "no networks found" in low or "no cni configuration" in low:
        expl += (" No CNI configuration is in /etc/cni/net.d on the node yet: no pod network add-on is installed, "
                 "or its node agent (a DaemonSet pod) has not written its config there yet, or is crashing.")
    else:
        expl += " The CNI's node agent (a DaemonSet pod on that node) is not running or not healthy."
    expl += (" Once it is ready, the kubelet creates the sandbox by itself; \"not registered\" volume warnings of "
             "the same moment are a side effect and clear with it.")
    sugs += [f"kubectl get pods -A -o wide --field-selector spec.nodeName={node_arg(ctx)} (is the CNI's pod "
             "there, and Running?)", f"kubectl describe node {node_arg(ctx)}",
             f"on {node_phrase(node_name)}: ls /etc/cni/net.d /opt/cni/bin; journalctl -u kubelet -u containerd"]
    evidence = [describe_event(ev, ctx.now) for ev in evs[-1:]]
    if cond:
        evidence.append(f"node {node_name} Ready={status} ({cond.get('reason') or '?'}): {node_says}".rstrip(": "))
    elif node is None and node_name:
        evidence.append(f"node {node_name}: its Node object is not in the data")
    created = parse_time(dig(ctx.pod, "metadata.creationTimestamp"))
    young = created is not None and (ctx.now - created).total_seconds() < PENDING_GRACE
    yield Finding(
        code="pod.network-not-ready", severity="warning" if young else "error", container=None,
        title=(f"node {node_name}" if node_name else "its node") + f": pod network not ready ({who})",
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=evs[0].get("firstTimestamp") if evs else (cond or {}).get("lastTransitionTime"),
        extra={"node": node_name, "cni": cni, "message": runtime_says},
    )
