"""pod.sandbox-failed: the kubelet could not create the pod sandbox (network, pause image, runtime).

A node or cluster problem, never the application's: the CNI plugin (missing,
unauthorized, out of IPs), the runtime's pause image, a RuntimeClass handler,
or the runtime itself.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Union

from kubectl_podfix.diagnose.model import Finding, PodContext, dig, event_time
from kubectl_podfix.diagnose.rules.common import all_of, describe_event, kubectl, node_arg, node_phrase
from kubectl_podfix.diagnose.rules.pods.status import after_start, assigned_node, events_with, pod_started

_CNI_PLUGIN = re.compile(r"""plugin type=(?P<q>["'])(?P<plugin>[^"']+)(?P=q)""")
# Older runtimes (dockershim's "NetworkPlugin cni failed to set up pod ... network: <error>") name no plugin
# type; some plugins name themselves in their error. (words in the lowercased message, plugin)
_CNI_SAYS = (("local cilium agent", "cilium"), ("multus:", "multus"), ("calico", "calico"), ("weave-net", "weave-net"),
             ("azure-vnet", "azure-vnet"), ("azure cns", "azure-vnet"), ("flannel", "flannel"))
# A plugin's IPAM out of addresses, whatever its words: host-local ("no IP addresses available in range set"),
# Cilium ("postIpamFailure range is full"), Azure CNI ("No available addresses", "No available address pools",
# CNS "not enough IPs available"), Calico ("No IPv4 addresses available in pool").
_IP_EXHAUSTED = re.compile(r"no (?:ip|ipv4|ipv6) addresses available|not enough ips available|"
                           r"no available address|range is full")
_SANDBOX_IMAGE = re.compile(r'(?:sandbox image|pulling image|failed to pull image) \\*"(?P<image>[^"\\]+)\\*"')


def _pause_image(low: str) -> bool:
    return bool(re.search(r"pause[:-]", low)) and ("pull" in low or "image" in low)


def _ip_exhausted(low: str) -> bool:
    return bool(_IP_EXHAUSTED.search(low))


def _plugin(message: str, kind: str) -> str | None:
    m = _CNI_PLUGIN.search(message)
    if m:
        return m.group("plugin")
    if not kind.startswith(("cni", "ip-")):
        return None
    low = message.lower()
    return next((name for words, name in _CNI_SAYS if words in low), None)


def _oci_runtime_failed(low: str) -> bool:
    return (("oci runtime create failed" in low or "runc create failed" in low or "failed to create shim" in low)
            and "cni" not in low and "plugin type" not in low and "failed to setup network" not in low)


def _cni_unauthorized(low: str) -> bool:
    return "unauthorized" in low and ("network" in low or "cni" in low or "plugin" in low)


# Why the sandbox could not be created: (matchers, kind, what failed). A string is a substring of the
# lowercased message, a function decides. The first matching row wins.
_SANDBOX_FAILURES: tuple[tuple[tuple[Union[str, Callable[[str], bool]], ...], str, str], ...] = (
    (("sandbox image", _pause_image), "sandbox-image", "the runtime could not get the sandbox (pause) image"),
    ((_cni_unauthorized,), "cni-auth", "the CNI plugin's credentials to the API server are rejected (Unauthorized): "
                                       "its token expired or its service account was recreated"),
    ((_ip_exhausted, "failed to allocate", all_of("ipam", "exhaust"),
      "failed to assign an ip address to container"), "ip-exhausted",
     "the CNI plugin ran out of pod IP addresses on this node"),
    (("cni config uninitialized", "no networks found", "failed to find plugin", "/opt/cni/bin",
      "cni plugin not initialized"), "cni-missing", "the node's CNI plugin is not installed or not configured yet"),
    (("seccomp profile", "apparmor profile", "apparmor_parser", "sandbox security options"), "security-profile",
     "the runtime could not load the security profile (seccomp/AppArmor) the pod asks for on this node"),
    (("expected cgroupspath to be of format",), "cgroup-driver",
     "the runtime's cgroup driver (containerd's SystemdCgroup for runc, CRI-O's cgroup_manager) does not match the "
     "kubelet's cgroupDriver (systemd or cgroupfs): set both to the same driver and restart them"),
    # The OCI runtime failing to start the pause container, even where its words mention the network namespace
    # ("error joining network namespace"): the runtime's failure, not the CNI plugin's.
    ((_oci_runtime_failed,), "runtime", "the container runtime failed to start the sandbox"),
    (("network", "cni", "plugin type"), "cni", "the CNI network plugin failed to set up the pod's network"),
    (("runtimehandler", "runtime handler", "no runtime for", "runtimeclass.node.k8s.io"), "runtime-class",
     "the pod's RuntimeClass handler is not configured on the node"),
    (("reserve sandbox name",), "name-reserved",
     "an earlier sandbox creation for this pod is still in progress on the node"),
    # "rpc error: code = DeadlineExceeded desc = context deadline exceeded" alone (kube-fledged#194, k3s#497): the
    # kubelet gave up waiting (its runtime request timeout); the runtime's attempt goes on, and the next one then
    # finds the sandbox name reserved.
    (("deadlineexceeded", "context deadline exceeded", "operation timeout"), "timeout",
     "the container runtime did not finish creating the sandbox in time: an overloaded node (disk I/O, many pods "
     "starting at once, an image or CNI call that hangs)"),
    (("cgroup", "shim", "oci runtime"), "runtime", "the container runtime failed to start the sandbox"),
)


def _classify_sandbox(message: str) -> tuple[str, str]:
    """(kind, what failed) for one FailedCreatePodSandBox message."""
    low = message.lower()
    for matchers, kind, words in _SANDBOX_FAILURES:
        if any(m in low if isinstance(m, str) else m(low) for m in matchers):
            return kind, words
    return "other", "the container runtime could not create the pod sandbox"


def sandbox_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    evs = [ev for ev in events_with(ctx, {"FailedCreatePodSandBox", "FailedCreatePodSandbox", "FailedSync"})
           if ev.get("reason") != "FailedSync" or "CreatePodSandbox" in (ev.get("message") or "")]
    # NB: kubelets before about 1.8 reported it as FailedSync: failed to "CreatePodSandbox" ... with
    # CreatePodSandboxError: "..."
    if not evs:
        return
    if pod_started(ctx):
        evs = after_start(ctx, evs)
        if not evs:
            return
    # A container-level event (a pull, a create or start attempt of an init or app container) after the
    # sandbox failure means a sandbox was created since: that failure is history.
    container_times = [event_time(e) for e in ctx.events if dig(e, "involvedObject.fieldPath")]
    container_times = [t for t in container_times if t]
    if container_times:
        evs = [e for e in evs if (event_time(e) or max(container_times)) > max(container_times)]
        if not evs:
            return
    ev = evs[-1]
    msg = (ev.get("message") or "").replace("(combined from similar events): ", "")
    kind, words = _classify_sandbox(msg)
    img = _SANDBOX_IMAGE.search(msg)
    extra = {"kind": kind, "message": msg, "plugin": _plugin(msg, kind),
             "sandbox_image": img.group("image") if img and kind == "sandbox-image" else None,
             "node": assigned_node(ctx)}
    node, arg = node_phrase(assigned_node(ctx)), node_arg(ctx)
    expl = (f"The kubelet on {node} cannot create the pod's sandbox: {words}. This is a node/cluster problem, "
            f"not the application's image or code.")
    sugs = [f"kubectl describe node {arg}"]
    if kind in ("cni", "cni-auth", "cni-missing", "ip-exhausted"):
        who = extra["plugin"] or "the CNI"
        expl += f" The network plugin ({who}) runs as a DaemonSet; its pod on {node} is the place to look."
        if kind == "cni-auth":
            expl += " Restarting the CNI's node pod refreshes its credentials."
        if "/run/flannel/subnet.env" in msg:
            # flannel-io/flannel#2253, #2232; kubernetes#65526
            expl += (" Flannel's daemon writes /run/flannel/subnet.env once it has the node's pod subnet: its pod on "
                     f"{node} is not running yet, or the node has no podCIDR (kubeadm's --pod-network-cidr must "
                     "be set and match the Network in flannel's net-conf.json).")
        if kind == "ip-exhausted" and ("add cmd: failed to assign an ip address" in msg.lower()
                                       or extra["plugin"] == "aws-cni"):
            # amazon-vpc-cni-k8s: ipamd had no free secondary IP on the node's ENIs
            expl += (" The Amazon VPC CNI (aws-node) had no free secondary IP on the node's network interfaces: "
                     "the subnet is out of addresses, or the instance type's ENI and IP-per-ENI limits are reached "
                     "(max pods); prefix delegation, larger subnets or more nodes give pods room.")
            who = "aws-node"
        sugs += [f"kubectl get pods -n kube-system -o wide --field-selector spec.nodeName={arg}",
                 f"then the logs of {who}'s pod on that node: kubectl logs -n kube-system POD"]
    elif kind == "sandbox-image":
        expl += (f" The image {extra['sandbox_image'] or 'pause'} comes from the runtime's configuration "
                 "(containerd sandbox_image / CRI-O pause_image), not from the pod spec: make it pullable from the node "
                 "(mirror it, or fix the node's registry access).")
        sugs.append(f"on {node}: crictl pull {extra['sandbox_image'] or 'registry.k8s.io/pause:3.9'}")
    elif kind == "runtime-class":
        rc = dig(ctx.pod, "spec.runtimeClassName")
        extra["runtime_class"] = rc
        if "runtimeclass.node.k8s.io" in msg.lower():
            expl = (f"The kubelet on {node} cannot create the pod's sandbox: its RuntimeClass "
                    f"{rc or '(named in the message)'} does not exist any more (it was deleted after the pod was "
                    "admitted). Recreate the RuntimeClass, or recreate the pod with an existing one.")
        else:
            expl += (f" The pod's runtimeClassName {rc} maps to a handler the node's runtime has no configuration for "
                     "(containerd: [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<handler>]; CRI-O: "
                     "[crio.runtime.runtimes.<handler>]): install and configure that runtime on the node, or keep "
                     "the pod off nodes without it (the RuntimeClass's scheduling.nodeSelector)."
                     if rc else "")
        sugs += ["kubectl get runtimeclass", f"on {node}: journalctl -u containerd (or crio) -u kubelet"]
    else:
        sugs.append(f"on {node}: journalctl -u containerd (or crio) -u kubelet")
    sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
    changed = events_with(ctx, {"SandboxChanged"})
    evidence = [describe_event(ev, ctx.now)] + [describe_event(c, ctx.now) for c in changed[-1:]]
    yield Finding(
        code="pod.sandbox-failed", severity="error", container=None,
        title=f"pod sandbox cannot be created ({kind}" + (f", {extra['plugin']}" if extra["plugin"] else "") + ")",
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=ev.get("firstTimestamp"), extra=extra,
    )
