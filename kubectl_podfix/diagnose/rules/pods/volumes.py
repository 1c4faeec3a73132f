"""pod.volume-mount-failed: a volume could not be attached or mounted, so no container can start.

Every FailedMount/FailedAttachVolume event is classified (``_MOUNT_FAILURES``)
and the most specific one explains; the kubelet's generic "unmounted volumes
... timed out waiting for the condition" only when nothing else is left, and
then the volumes it names are checked against the objects in the data.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Union

from kubectl_podfix.diagnose.model import Finding, PodContext, dig, event_time, parse_time, sentence
from kubectl_podfix.diagnose.rules.common import all_of, describe_event, kubectl, node_arg, node_phrase
from kubectl_podfix.diagnose.rules.pods.status import after_start, assigned_node, events_with, pod_started

_VOL_NAME = re.compile(r'for volume "(?P<vol>[^"]+)"')
_UNMOUNTED = re.compile(r"unmounted volumes=\[(?P<vols>[^\]]*)\]")
_MISSING_OBJ = re.compile(r'(?P<kind>configmaps?|secrets?) "(?P<name>[^"]+)" not found')
# The kubelet's object cache had not registered the pod's object yet (kubelet start, a pod just bound):
# `object "ns"/"name" not registered`. Not a missing object.
_NOT_REGISTERED = re.compile(r'object "(?P<ns>[^"]*)"/"(?P<name>[^"]+)" not registered')
_CSI_DRIVER = re.compile(r"driver name (?P<driver>\S+) not found in the list of registered CSI drivers")
_RPC = re.compile(r"rpc error: code = (?P<code>\w+) desc = (?P<desc>.+)$", re.S)
_LSTAT_MISSING = re.compile(r"lstat (?P<path>/\S*): no such file or directory")
_LOCAL_PATH = re.compile(r'path "(?P<path>[^"]+)" does not exist|special device (?P<dev>/\S+) does not exist|'
                         r"lstat (?P<lstat>/\S*): no such file or directory")


def _local_lstat(low: str) -> bool:
    """The kubelet's own lstat of a local volume's path; a CSI driver's errors (rpc error, kubernetes.io/csi paths)
    can hold an lstat too and stay the driver's."""
    return bool(_LSTAT_MISSING.search(low)) and "rpc error" not in low and "csi" not in low


def _volume_spec(ctx: PodContext, vol: str) -> dict | None:
    for v in dig(ctx.pod, "spec.volumes", []) or []:
        if v.get("name") == vol:
            return v
    return None


def _pv_volume(ctx: PodContext, name: str) -> str | None:
    """The pod volume whose PVC is bound to PV ``name`` ("pvc-...")."""
    for v in dig(ctx.pod, "spec.volumes", []) or []:
        claim = dig(v, "persistentVolumeClaim.claimName")
        if claim:
            obj = ctx.related("PersistentVolumeClaim", claim)
            if obj and dig(obj, "spec.volumeName") == name:
                return v.get("name")
    return None


# Why a volume could not be mounted: (matchers, kind, what failed). A string is a substring of the
# lowercased message, a regex is searched in the message as written, a function decides. The first
# matching row wins.
_MOUNT_FAILURES: tuple[tuple[tuple[Union[str, re.Pattern, Callable[[str], bool]], ...], str, str], ...] = (
    (("multi-attach",), "multi-attach", "a ReadWriteOnce volume is still attached to another node (or used by "
                                        "another pod): it can be used on one node at a time"),
    ((_MISSING_OBJ,), "missing-object", "the ConfigMap or Secret the volume shows does not exist"),
    ((_NOT_REGISTERED,), "not-registered", "the kubelet had not registered the ConfigMap or Secret the volume shows"),
    (("failed to fetch token",), "token", "the kubelet could not get a ServiceAccount token for a projected volume"),
    (("failed to sync configmap cache", "failed to sync secret cache"), "cache-sync",
     "the kubelet could not read the volume's ConfigMap or Secret from the API server in time"),
    (("references non-existent", "couldn't find key"), "missing-key",
     "an items[].key of the volume does not exist in the ConfigMap/Secret"),
    ((_CSI_DRIVER,), "csi-driver-missing",
     "the CSI driver is not registered on this node (its node plugin pod is not running there)"),
    # "Failed to attach volume ... on node ... with: ..." is the pre-1.8 attach/detach controller's wording
    (("attach timeout", "attachdetachment timeout", "attachvolume.attach failed", "failed to attach volume"),
     "attach-failed",
     "the volume could not be attached to the node"),
    (("timed out waiting for the condition", "timeout expired waiting for volumes",
      all_of("context deadline exceeded", "unable to attach or mount")), "mount-timeout",
     "the kubelet gave up waiting for the volumes to attach/mount"),
    (("mount.nfs", all_of("nfs", "mount failed")), "nfs", "the NFS server refused or did not answer the mount"),
    # kubelets before volume-aware scheduling (1.9): the pod landed on a node its PV's nodeAffinity excludes
    (("storage node affinity check failed",), "node-affinity",
     "the pod runs on a node that its PersistentVolume's nodeAffinity excludes (a local volume or a zonal disk "
     "of another node)"),
    # A local PersistentVolume (spec.local.path, the local-static-provisioner's and OpenEBS LocalPV's disks and
    # directories): "MountVolume.NewMounter initialization failed for volume "local-pv-x" : path "/mnt/x" does not
    # exist", its bind mount "Output: mount: special device /mnt/disks/disk1 does not exist", "lstat /x: no such
    # file or directory". Not a hostPath volume of the pod.
    ((all_of("newmounter initialization failed", "does not exist"), "kubernetes.io~local-volume",
      _local_lstat), "local-volume", "the local PersistentVolume's path does not exist on the node"),
    (("hostpath type check failed", all_of("path", "does not exist")), "hostpath",
     "the hostPath does not exist on the node (or is not of the declared type)"),
    (("rpc error", "kubernetes.io/csi"), "csi-error", "the storage (CSI) driver returned an error"),
    (("permission denied",), "permission", "the node was denied access to the volume"),
)


# What an attach or driver error says beyond its kind: (substrings of the lowercased message, what it means).
# The first matching row wins.
_DRIVER_HINTS: tuple[tuple[tuple[Union[str, re.Pattern], ...], str], ...] = (
    (("storage node affinity check failed",),
     "Delete the pod so the scheduler places it again, next to its volume (schedulers since 1.10 take the volume's "
     "nodeAffinity into account; an older one needs the pod's nodeSelector to name that node)."),
    # A PVC that was grown: the node must grow the filesystem before the mount (democratic-csi#392,
    # vsphere-csi-driver#2752, kubernetes/mount-utils#12)
    (("while expanding volume", "nodeexpand failed"),
     "The claim was resized and the node has to grow the volume's filesystem before mounting it; that step fails "
     "(a filesystem with errors that needs an fsck, a resize tool missing from the driver's node plugin, or a "
     "driver that cannot expand this volume type), so the volume is not mounted until it succeeds."),
    (("has no nodeid annotation",),
     "The CSI driver's node plugin has not registered on this node (the node's CSINode has no entry for it): its "
     "node DaemonSet pod there is not running or not healthy."),
    (("volume attachment is being deleted",),
     "A VolumeAttachment of this volume is being deleted and still holds it: its finalizer waits for the driver to "
     "detach, which never completes when the old node is gone or the driver's controller is down."),
    (("being detached", "but was attaching", "already being used by", "already in use", "already attached"),
     "The cloud still has the disk attached to, or detaching from, another VM (usually the previous node): it "
     "clears when that detach finishes; otherwise detach it there (cloud console) or delete its VolumeAttachment."),
    # Longhorn (longhorn#12095, #1565): the volume's replicas are not placed or not healthy
    (("is not ready for workloads", re.compile(r"volume \S+ not scheduled")),
     "Longhorn says the volume is not usable yet: its replicas could not be scheduled or are not healthy (no node "
     "or disk with room or matching tags, a node without open-iscsi, an engine that is not running); "
     "kubectl -n longhorn-system get volumes.longhorn.io and the Longhorn UI show why."),
    (("an operation with the given volume id",),
     "The driver is still busy with an earlier request for this volume: that earlier request hangs (often on a "
     "storage cluster that does not answer), and its error (usually DeadlineExceeded) is the real one."),
    (("deadlineexceeded", "context deadline exceeded"),
     "The driver did not answer in time: the storage backend, or the network path to it (for NFS/EFS the "
     "security groups and mount targets), is slow or unreachable, or the driver's own pods are not healthy."),
)


_MOUNT_OUTPUT = re.compile(r"\n\s*Mounting command:.*?(?:\n\s*Output:\s*(?P<out>.*))?$", re.S)


def _mount_words(text: str) -> str:
    """An error in at most about 300 characters. The kubelet's mount failures ("mount failed: exit status 32
    / Mounting command: ... / Mounting arguments: ... / Output: mount.nfs: Connection timed out") put the cause
    last, after long paths: keep the head and the mount's own output, drop the command line."""
    text = text.strip()
    m = _MOUNT_OUTPUT.search(text)
    if m:
        head = text[:m.start()].strip()
        out = " ".join((m.group("out") or "").split())
        text = f"{head[:200]} (mount output: {out[-200:]})" if out else head
    return text[:400] if m else text[:300]


def _driver_hint(low: str) -> str | None:
    return next((hint for needles, hint in _DRIVER_HINTS
                 if any(n.search(low) if isinstance(n, re.Pattern) else n in low for n in needles)), None)


def _matches(matcher, message: str, low: str) -> bool:
    if isinstance(matcher, str):
        return matcher in low
    if isinstance(matcher, re.Pattern):
        return bool(matcher.search(message))
    return matcher(low)


def _classify_mount(message: str) -> tuple[str, str]:
    """(kind, what failed) for one FailedMount/FailedAttachVolume message."""
    low = message.lower()
    for matchers, kind, words in _MOUNT_FAILURES:
        if any(_matches(m, message, low) for m in matchers):
            return kind, words
    return "other", "the volume could not be mounted"


_HOSTPATH_TYPE = re.compile(r"hostPath type check failed: (?P<path>\S+) is not an? (?P<what>[\w ]+?)\s*$")
_PATH_MISSING = re.compile(r'path "(?P<path>[^"]+)" does not exist')


def _hostpath(ctx: PodContext, classified: list, volume: str | None, extra: dict) -> tuple[str, list[str]]:
    """The hostPath volumes the kubelet refused: which path, which type, and why it may look fine on the host."""
    node = node_phrase(assigned_node(ctx))
    failures = []
    for ev, kind, _w in classified:
        if kind != "hostpath":
            continue
        msg = ev.get("message") or ""
        vm = _VOL_NAME.search(msg)
        m = _HOSTPATH_TYPE.search(msg)
        pm = _PATH_MISSING.search(msg)
        path = m.group("path") if m else pm.group("path") if pm else ""
        what = f"is not a {m.group('what')}" if m else "does not exist"
        vol = vm.group("vol") if vm else ""
        if (vol, path) not in [(f[0], f[1]) for f in failures]:
            failures.append((vol, path, what))
    parts = []
    for vol, path, what in failures:
        vspec = _volume_spec(ctx, vol) or {}
        vtype = dig(vspec, "hostPath.type")
        parts.append(f"{('volume ' + vol) if vol else 'a volume'}: {path or 'its path'} {what} on {node}"
                     + (f" (declared type {vtype})" if vtype else ""))
    extra["hostpaths"] = [{"volume": v, "path": p, "problem": w} for v, p, w in failures]
    expl = ("The pod cannot start: the kubelet checked its hostPath volumes against the node's filesystem and "
            + "; ".join(parts) + ". A hostPath volume is the node's own filesystem, so the path has to exist on "
            "every node the pod can land on, as the declared type (DirectoryOrCreate and FileOrCreate create it). "
            "If the path does exist on the host, the kubelet is looking at another filesystem: a kubelet that runs "
            "in a container (kind and k3d nodes, minikube's container drivers, RKE1's kubelet container, some "
            "appliance distributions) checks paths inside its own mount namespace.")
    paths = [p for _v, p, _w in failures]
    if any(re.match(r"^(/home/|/Users/|[A-Za-z]:\\)", p) for p in paths):
        expl += (" A path under a user's home directory is usually a workstation's: the node is another machine "
                 "(or a VM or container on it), and it has no such file.")
    if any("docker.sock" in p or p.rstrip("/").endswith("/var/lib/docker") for p in paths):
        expl += (" /var/run/docker.sock and /var/lib/docker belong to Docker Engine: a node that runs containerd "
                 "(kind nodes, and most clusters since Kubernetes 1.24 removed dockershim) has neither. Use the "
                 "containerd socket (/run/containerd/containerd.sock) or a build tool that needs no Docker daemon.")
    sugs = [f"on {node}: ls -ld {' '.join(p for p in paths if p) or 'PATH'}",
            kubectl(ctx, "get", "pod", ctx.name, "-o", "jsonpath={.spec.volumes}")]
    return expl, sugs


def _object_of_volume(ctx: PodContext, volume: str | None, name: str) -> str:
    """ConfigMap or Secret: which kind of object a pod volume (or a projected source) names."""
    vspec = _volume_spec(ctx, volume or "") or {}
    if vspec.get("secret"):
        return "Secret"
    if vspec.get("configMap"):
        return "ConfigMap"
    for src in dig(vspec, "projected.sources", []) or []:
        if dig(src, "secret.name") == name:
            return "Secret"
        if dig(src, "configMap.name") == name:
            return "ConfigMap"
    return "ConfigMap" if name == "kube-root-ca.crt" else ""


def _missing_objects(ctx: PodContext, classified: list, ev: dict, volume: str | None, extra: dict
                     ) -> tuple[str, list[str]]:
    """ConfigMaps/Secrets the kubelet reported "not found", checked against the objects in the data."""
    seen: list[tuple[str, str, str, dict]] = []  # (volume, kind, name, event)
    for e, k, _w in classified:
        if k != "missing-object":
            continue
        m = _MISSING_OBJ.search(e.get("message") or "")
        vm = _VOL_NAME.search(e.get("message") or "")
        okind = "ConfigMap" if m.group("kind").startswith("configmap") else "Secret"
        vol = vm.group("vol") if vm else ""
        if (okind, m.group("name")) not in [(x[1], x[2]) for x in seen]:
            seen.append((vol, okind, m.group("name"), e))
    first_vol, okind, name, _e = seen[0]
    extra.update({"object_kind": okind, "object": name, "object_seen": ctx.related(okind, name) is not None,
                  "objects": [{"volume": v, "kind": k, "name": n} for v, k, n, _ in seen]})
    ns = ctx.namespace
    parts, sugs = [], []
    for vol, k, n, e in seen:
        verb = "configmap" if k == "ConfigMap" else "secret"
        obj = ctx.related(k, n)
        label = (f"volume {vol or volume}" if vol or volume else "a volume") + f' shows {k} "{n}"'
        if obj is not None:
            created = dig(obj, "metadata.creationTimestamp") or ""
            newer = parse_time(created) and event_time(e) and parse_time(created) > event_time(e)
            if newer:
                parts.append(f"{label}, which exists now (created {created}, after the kubelet's last failure): the "
                             "kubelet mounts it on its next retry, within about two minutes.")
            else:
                parts.append(
                    f"{label}, and the kubelet reports it not found, but it exists in namespace {ns}: the kubelet "
                    "cannot see it. The node authorizer only lets a kubelet read the objects of pods bound to its "
                    "node, so check the node's identity and RBAC (a kubelet not in system:nodes, or with another "
                    "node name); otherwise the kubelet's cache is stale (a broken watch on the API server, or the "
                    "object was recreated): restart the kubelet or delete the pod. Do not create it again.")
                sugs.append(f"on {node_phrase(assigned_node(ctx))}: journalctl -u kubelet | grep -i '{n}'")
            sugs.append(kubectl(ctx, "get", verb, n, "-o", "jsonpath={.metadata.creationTimestamp}"))
            continue
        checked = ctx.knows(k)
        text = f"{label}, which does not exist in namespace {ns}"
        if not checked:
            text += (f" (as the kubelet reports; the {k}s were not in the data, so podfix could not check: if it "
                     "does exist, the kubelet cannot see it)")
        if n == "kube-root-ca.crt":
            text += (". kube-root-ca.crt is published into every namespace by kube-controller-manager (its "
                     "root-ca-cert-publisher): when it is missing, the namespace is brand new or that controller is "
                     "not running; do not create it by hand.")
        elif k == "Secret" and re.search(r"tls|cert", n, re.I):
            text += (". A TLS secret like this one is usually issued by cert-manager from a Certificate: check that "
                     f"Certificate and its issuer (kubectl get certificate -n {ns}); create the secret yourself only "
                     "if nothing issues it.")
            sugs.append(kubectl(ctx, "get", "certificate"))
        else:
            text += (". Create it (or fix the name); set optional: true on the volume if the pod should start "
                     "without it.")
        parts.append(text)
        sugs += [kubectl(ctx, "get", verb, n), kubectl(ctx, "get", verb)]
    vspec = _volume_spec(ctx, first_vol or volume or "") or {}
    if dig(vspec, "configMap.optional") or dig(vspec, "secret.optional"):
        parts.append("(The volume is marked optional, so this should clear by itself.)")
    expl = "The pod cannot start: " + " Also, ".join(parts)
    return expl, list(dict.fromkeys(sugs))


def _not_registered(ctx: PodContext, msg: str, volume: str | None, extra: dict) -> tuple[str, list[str]]:
    m = _NOT_REGISTERED.search(msg)
    name = m.group("name") if m else "?"
    okind = _object_of_volume(ctx, volume, name) or "ConfigMap or Secret"
    extra.update({"object_kind": okind, "object": name})
    obj = ctx.related(okind, name) if okind in ("ConfigMap", "Secret") else None
    exists = (f" It exists in namespace {ctx.namespace}." if obj is not None else
              f" ({okind}s were not in the data, so whether it exists was not checked.)"
              if okind in ("ConfigMap", "Secret") and not ctx.knows(okind) else "")
    expl = (f"The pod cannot start: {('volume ' + volume) if volume else 'a volume'} shows {okind} \"{name}\", and "
            "the kubelet says the object "
            "is \"not registered\": it had not yet added the pod's ConfigMaps and Secrets to its own cache. That is "
            "not the same as \"not found\": it happens for a moment when the kubelet restarts or a pod has just "
            "been bound, and clears on the next retry. If it persists, the kubelet's connection to the API server "
            "(its watch) is broken: check the kubelet's log and restart it." + exists)
    node = node_phrase(assigned_node(ctx))
    return expl, [f"on {node}: journalctl -u kubelet | grep -i 'not registered'",
                  kubectl(ctx, "get", "events", "--field-selector", f"involvedObject.name={ctx.name}")]


def _title(kind: str, volume: str | None, unmounted: list[str], extra: dict, node: str) -> str:
    vol = volume or (unmounted[0] if unmounted else "")
    if kind == "hostpath" and extra.get("hostpaths"):
        first = extra["hostpaths"][0]
        name = first["volume"] or vol
        return (f"hostPath {'volume ' + name if name else 'volume'} cannot be mounted: "
                f"{first['path'] or 'its path'} {first['problem']} on {node_phrase(node)}")
    what_vol = f"volume {vol}" if vol else "a volume"
    if kind == "local-volume":
        return (f"local {what_vol} cannot be mounted: {extra.get('path') or 'its path'} does not exist on "
                f"{node_phrase(node)}")
    if kind == "missing-object" and extra.get("object"):
        what = f'{extra.get("object_kind")} "{extra["object"]}"'
        if extra.get("object_seen"):
            return f"{what_vol} cannot be mounted: {what} exists, but the kubelet reports it not found"
        return f"{what_vol} cannot be mounted: {what} not found"
    if kind == "not-registered" and extra.get("object"):
        return (f"{what_vol} cannot be mounted yet: the kubelet has not registered "
                f'{extra.get("object_kind")} "{extra["object"]}"')
    return f"{what_vol} cannot be mounted ({kind})"


def volume_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    evs = events_with(ctx, {"FailedMount", "FailedAttachVolume", "FailedMapVolume", "VolumeFailedMount"})
    evs = [ev for ev in evs if (ev.get("type") or "Warning") == "Warning"]
    # An attach failure followed by a successful attach of the same volume is history.
    attached: dict[str, object] = {}
    for ok in events_with(ctx, {"SuccessfulAttachVolume"}):
        vm = _VOL_NAME.search(ok.get("message") or "")
        t = event_time(ok)
        if vm and t and (vm.group("vol") not in attached or t > attached[vm.group("vol")]):
            attached[vm.group("vol")] = t
    if attached:
        def _stale_attach(ev: dict) -> bool:
            if ev.get("reason") != "FailedAttachVolume":
                return False
            vm = _VOL_NAME.search(ev.get("message") or "")
            t = event_time(ev)
            return bool(vm and t and vm.group("vol") in attached and t <= attached[vm.group("vol")])
        evs = [ev for ev in evs if not _stale_attach(ev)]
    if not evs:
        return
    if pod_started(ctx):
        evs = after_start(ctx, evs)
        all_running = all(dig(st, "state.running") for st in dig(ctx.pod, "status.containerStatuses", []) or [])
        if not evs or all_running:
            return
    # The most specific message wins over the generic timeout summary.
    classified = [(ev, *_classify_mount(ev.get("message") or "")) for ev in evs]
    order = ["multi-attach", "missing-object", "missing-key", "csi-driver-missing", "node-affinity", "attach-failed", "nfs",
             "local-volume",
             "hostpath",
             "csi-error", "permission", "token", "other", "cache-sync", "not-registered", "mount-timeout"]
    classified.sort(key=lambda x: (order.index(x[1]), -(event_time(x[0]) or ctx.now).timestamp()))
    ev, kind, words = classified[0]
    msg = ev.get("message") or ""
    vm = _VOL_NAME.search(msg)
    volume = vm.group("vol") if vm else None
    if volume and _volume_spec(ctx, volume) is None:
        volume = _pv_volume(ctx, volume) or volume
    unmounted = []
    for _e, _k, _w in classified:
        um = _UNMOUNTED.search(_e.get("message") or "")
        if um:
            unmounted = [v for v in um.group("vols").split() if v]
    extra: dict = {"kind": kind, "volume": volume, "unmounted": unmounted, "message": msg}
    evidence = [describe_event(e, ctx.now) for e, _k, _w in classified[:3]]
    expl = f"The pod cannot start because {words}"
    if kind == "missing-object":
        expl, sugs = _missing_objects(ctx, classified, ev, volume, extra)
    elif kind == "not-registered":
        expl, sugs = _not_registered(ctx, msg, volume, extra)
    elif kind == "token":
        sa = re.search(r'serviceaccounts? "([^"]+)" not found', msg)
        if sa:
            extra["service_account"] = sa.group(1)
            expl = (f"The pod cannot start: its ServiceAccount \"{sa.group(1)}\" does not exist (any more), so the "
                    f"kubelet cannot request the token for volume {volume or 'kube-api-access'}. The ServiceAccount "
                    "was checked when the pod was created and deleted since (or the namespace's default one was "
                    "removed): recreate it, or recreate the pod with an existing one.")
            sugs = [kubectl(ctx, "get", "serviceaccount", sa.group(1))]
        else:
            expl = (f"The pod cannot start: the kubelet could not get a ServiceAccount token for volume "
                    f"{volume or 'of the pod'} (a projected serviceAccountToken). \"the server could not find "
                    "the requested "
                    "resource\" or \"does not have TokenRequest endpoints enabled\" means the API server does not "
                    "serve the TokenRequest API: it runs without --service-account-issuer and "
                    "--service-account-signing-key-file (old or hand-made control planes), or is older than the "
                    "kubelet.")
            sugs = ["kubectl get --raw /api/v1 | grep -o serviceaccounts/token",
                    "check the kube-apiserver flags --service-account-issuer, --service-account-signing-key-file, "
                    "--api-audiences"]
    elif kind == "cache-sync":
        expl = (f"The pod cannot start: the kubelet could not read the ConfigMap or Secret behind volume "
                f"{volume or 'of the pod'} from the API server in time (its watch cache did not sync). The object "
                "itself may "
                "be fine: the kubelet's connection to the API server is slow or broken, or the node authorizer "
                "refuses it. If the pod started since, this was a moment's delay.")
        sugs = [f"on {node_phrase(assigned_node(ctx))}: journalctl -u kubelet | grep -iE 'cache|forbidden|timeout'"]
    elif kind == "hostpath":
        expl, sugs = _hostpath(ctx, classified, volume, extra)
    elif kind == "local-volume":
        lm = _LOCAL_PATH.search(msg)
        path = (lm.group("path") or lm.group("dev") or lm.group("lstat")) if lm else None
        pv = vm.group("vol") if vm else None
        extra.update({"path": path, "persistent_volume": pv})
        node = node_phrase(assigned_node(ctx))
        expl = (f"The pod cannot start: {('volume ' + volume) if volume else 'its volume'} is a local PersistentVolume"
                + (f" ({pv})" if pv and pv != volume else "") + f", a directory or disk on one node, and its path "
                f"{path or '(spec.local.path)'} does not exist on {node}. A local PV's path has to exist (and, for a "
                "disk, be mounted) on that node before a pod uses it; the PV's nodeAffinity pins every pod using it "
                "there. If the path does exist on the host, the kubelet runs in a container (RKE1, kind, k3d) and "
                "looks at its own filesystem: the path must be visible inside the kubelet's container. If the "
                "directory was removed or the node rebuilt, the data is gone: delete the PVC (and the PV) so the "
                "provisioner makes a new one.")
        sugs = [f"kubectl get pv {pv or 'PV'} -o jsonpath='{{.spec.local.path}} {{.spec.nodeAffinity}}'",
                f"on {node}: ls -ld {path or 'PATH'}"]
    elif kind == "multi-attach":
        expl += (". Another pod (often the old replica of a Deployment during a rolling update, or a pod on a dead "
                 "node) still holds it. Use strategy Recreate for single-replica Deployments with RWO volumes, a "
                 "StatefulSet, or a ReadWriteMany storage class; if the old node is gone, delete its VolumeAttachment.")
        sugs = ["kubectl get volumeattachment | grep " + (volume or "PV"), kubectl(ctx, "get", "pods", "-o", "wide")]
    elif kind == "csi-driver-missing":
        drv = _CSI_DRIVER.search(msg).group("driver")
        extra["driver"] = drv
        expl += f": driver {drv} has no running node plugin on {assigned_node(ctx) or 'this node'}."
        sugs = ["kubectl get csidrivers",
                f"kubectl get pods -A -o wide --field-selector spec.nodeName={node_arg(ctx)} | grep -i csi"]
    elif kind == "mount-timeout":
        expl += ((f" (unmounted: {', '.join(unmounted)})" if unmounted else "")
                 + ". The generic timeout hides the cause: the other "
                 f"FailedMount/FailedAttachVolume events, the PVC and the CSI driver's logs say why.")
        notes = []
        for v in unmounted:
            vs = _volume_spec(ctx, v) or {}
            cm = dig(vs, "configMap.name")
            sec = dig(vs, "secret.secretName")
            claim = dig(vs, "persistentVolumeClaim.claimName")
            if cm and ctx.knows("ConfigMap") and ctx.related("ConfigMap", cm) is None and not dig(vs, "configMap.optional"):
                notes.append(f'volume {v}: ConfigMap "{cm}" does not exist')
            if sec and ctx.knows("Secret") and ctx.related("Secret", sec) is None and not dig(vs, "secret.optional"):
                notes.append(f'volume {v}: Secret "{sec}" does not exist')
            if claim:
                pvc = ctx.related("PersistentVolumeClaim", claim)
                if pvc is not None and dig(pvc, "status.phase") != "Bound":
                    notes.append(f'volume {v}: PVC "{claim}" is ' + (dig(pvc, "status.phase") or "not bound"))
        if notes:
            expl += " In the data: " + "; ".join(notes) + "."
            evidence += notes
        sugs = [kubectl(ctx, "get", "pvc"), kubectl(ctx, "describe", "pod", ctx.name)]
    else:
        rpc = _RPC.search(msg)
        if rpc:
            extra.update({"rpc_code": rpc.group("code"), "rpc_desc": rpc.group("desc").strip()[:300]})
            expl += f": the driver said {rpc.group('code')}: {_mount_words(rpc.group('desc'))}"
        else:
            expl += f": {_mount_words(msg)}"
        expl = sentence(expl)
        hint = _driver_hint(msg.lower())
        if hint:
            expl += " " + hint
        sugs = [kubectl(ctx, "describe", "pvc"), "kubectl get volumeattachment",
                "check the CSI driver's controller and node plugin logs"]
    sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
    yield Finding(
        code="pod.volume-mount-failed", severity="error", container=None,
        title=_title(kind, volume, unmounted, extra, assigned_node(ctx)),
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=ev.get("firstTimestamp"), extra=extra,
    )


# The kubelet grows a resized volume's filesystem on the node (NodeExpandVolume) and says so on the pod:
# VolumeResizeFailed / FileSystemResizeFailed when it cannot, FileSystemResizeSuccessful when it did. It retries
# on every sync, so a failure it stopped reporting an hour ago is history.
_RESIZE_FRESH = 3600
_JSON_STDERR = re.compile(r'"stderr"\s*:\s*"((?:[^"\\]|\\.)*)"')
_NO_NODE_EXPANSION = re.compile(r"to not support node expansion|does not support node expansion", re.I)


def volume_resize_rule(ctx: PodContext) -> Iterable[Finding]:
    if dig(ctx.pod, "status.phase") in ("Succeeded", "Failed") or dig(ctx.pod, "metadata.deletionTimestamp"):
        return
    failed = [ev for ev in events_with(ctx, {"VolumeResizeFailed", "FileSystemResizeFailed"})
              if (ev.get("type") or "Warning") == "Warning"]
    if not failed:
        return
    done: dict[str, object] = {}
    for ok in events_with(ctx, {"FileSystemResizeSuccessful", "VolumeResizeSuccessful"}):
        vm = _VOL_NAME.search(ok.get("message") or "")
        t = event_time(ok)
        if vm and t and (vm.group("vol") not in done or t > done[vm.group("vol")]):
            done[vm.group("vol")] = t
    fresh = []
    for ev in failed:
        t = event_time(ev)
        vm = _VOL_NAME.search(ev.get("message") or "")
        if t is None or (ctx.now - t).total_seconds() > _RESIZE_FRESH:
            continue
        if vm and vm.group("vol") in done and t <= done[vm.group("vol")]:
            continue
        fresh.append(ev)
    if not fresh:
        return
    ev = max(fresh, key=lambda e: event_time(e) or ctx.now)
    msg = ev.get("message") or ""
    vm = _VOL_NAME.search(msg)
    pv = vm.group("vol") if vm else None
    volume = (_pv_volume(ctx, pv) if pv else None) or pv
    node = node_phrase(assigned_node(ctx))
    what = f"volume {volume}" if volume else "a volume"
    if pv and volume and pv != volume:
        what += f" ({pv})"
    rpc = _RPC.search(msg)
    said = rpc.group("desc") if rpc else msg.split(" : ", 1)[-1]
    # Some drivers return their resize tool's result as JSON ({"code":1,"stdout":"...","stderr":"resize2fs: ..."}):
    # the tool's last stderr line is the cause.
    err = _JSON_STDERR.search(said)
    if err:
        lines = [ln.strip() for ln in err.group(1).replace("\\n", "\n").split("\n") if ln.strip()]
        if lines:
            said = lines[-1]
    said = _mount_words(said)
    extra = {"volume": volume, "persistent_volume": pv, "message": msg, "reason": ev.get("reason")}
    if _NO_NODE_EXPANSION.search(msg):
        extra["kind"] = "no-node-expansion"
        yield Finding(
            code="pod.volume-resize-failed", severity="info", container=None,
            title=f"{what}: the kubelet could not grow its filesystem on {node} (the driver has no node expansion)",
            explanation=(f"The claim behind {what} was resized, and the kubelet on {node} then tried to grow the "
                         "filesystem, but the CSI driver does not implement node expansion. For a shared filesystem "
                         "(CephFS, NFS) the controller's resize is the whole job, so this warning is usually noise "
                         "and the pod is unaffected: check that the PVC shows the new capacity."),
            evidence=[describe_event(ev, ctx.now)],
            suggestions=[kubectl(ctx, "get", "pvc", "-o", "custom-columns=NAME:.metadata.name,"
                                 "REQUESTED:.spec.resources.requests.storage,CAPACITY:.status.capacity.storage")],
            since=ev.get("lastTimestamp"), extra=extra)
        return
    extra["kind"] = "node-expand-failed"
    running = pod_started(ctx)
    expl = (f"The claim behind {what} was resized, but the kubelet on {node} cannot grow the filesystem on it "
            f"(NodeExpandVolume): {sentence(said)}")
    if running:
        expl += (" The pod keeps running on the old size, so the space asked for is not there yet; the kubelet "
                 "retries on every sync.")
    expl += (" Usually the driver's node plugin or the node's tools (resize2fs, xfs_growfs) fail, or the filesystem "
             "needs a check first (errors in it block an online resize): fix that, or restart the pod so the "
             "volume is mounted and grown again.")
    yield Finding(
        code="pod.volume-resize-failed", severity="warning", container=None,
        title=f"{what}: its filesystem could not be grown after a resize",
        explanation=expl,
        evidence=[describe_event(e, ctx.now) for e in fresh[-2:]],
        suggestions=[kubectl(ctx, "describe", "pvc"),
                     f"on {node}: the CSI node plugin's log (kubectl logs -n <driver namespace> <node plugin pod>)"],
        since=ev.get("lastTimestamp"), extra=extra)
