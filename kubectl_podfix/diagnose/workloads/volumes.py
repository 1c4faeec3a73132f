"""Claims a workload waits for: provisioning that fails, no StorageClass at all, a provisioner that
never answers. ``WaitForFirstConsumer`` alone is normal (the claim binds when its pod is scheduled)."""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, age, dig, event_time
from kubectl_podfix.diagnose.workloads.common import event_line
from kubectl_podfix.diagnose.workloads.model import WorkloadContext

NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
PROVISIONER_WAIT = 300  # seconds of ExternalProvisioning with no answer before it is worth a warning


def _claims(ctx: WorkloadContext) -> dict[str, dict | None]:
    out: dict[str, dict | None] = {dig(p, "metadata.name", ""): p for p in ctx.pvcs}
    for ev in ctx.events_of("PersistentVolumeClaim"):
        out.setdefault(dig(ev, "involvedObject.name", ""), None)
    return out


def _default_class(ctx: WorkloadContext) -> str | None:
    for (kind, _, name), sc in ctx.snapshot.objects.items():
        ann = dig(sc, "metadata.annotations", {}) or {}
        if kind == "StorageClass" and (ann.get("storageclass.kubernetes.io/is-default-class") == "true"
                                       or ann.get("storageclass.beta.kubernetes.io/is-default-class") == "true"):
            return name
    return None


def _kind(message: str) -> str:
    low = message.lower()
    if "storageclass" in low and "not found" in low:
        return "storageclass-missing"
    if "deadlineexceeded" in low or "deadline exceeded" in low or "timed out" in low:
        return "timeout"
    # CSI "Aborted": an earlier CreateVolume for this claim is still running (it timed out and was retried)
    if ("code = aborted" in low and ("already exists" in low or "in progress" in low)) \
            or "operation with the given volume id" in low:
        return "in-progress"
    if ("quota" in low and ("exceeded" in low or "limit" in low)) or ("limit" in low and "has been reached" in low):
        return "cloud-quota"
    if any(w in low for w in ("resourceexhausted", "code = resourceexhausted", "not enough space",
                              "insufficient free space", "no space left", "insufficient capacity",
                              "outofrange desc = insufficient", "add more storage")):
        return "capacity"
    if "unauthorized" in low or "forbidden" in low or "accessdenied" in low or "not authorized" in low \
            or "permission" in low:
        return "permissions"
    if "cloud provider" in low or "getcloudprovider" in low:
        return "no-cloud-provider"
    return "other"


_WHY = {
    "storageclass-missing": "the claim names a StorageClass the cluster does not have (a typo, a chart default "
                            "such as \"fast\" or \"gp2\", or a class of another cluster)",
    "timeout": "the CSI driver's CreateVolume timed out: it usually cannot reach the storage or cloud API "
               "(credentials, instance metadata, network)",
    "in-progress": "the CSI driver is still working on an earlier CreateVolume for this claim (one that timed "
                   "out and was retried): the provisioner retries until it finishes; if it never does, the storage "
                   "backend is slow or stuck",
    "cloud-quota": "the cloud or storage backend refused for its own quota (not a Kubernetes ResourceQuota)",
    "capacity": "the storage backend has no room for a volume of this size (its pool, or the disks of the nodes "
                "it provisions on, are full): free or add storage, or ask for less",
    "permissions": "the provisioner's credentials may not create volumes",
    "no-cloud-provider": "an in-tree provisioner without a cloud provider: use the CSI driver's StorageClass",
    "other": "the provisioner failed",
}


def volume_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    out = []
    for name, pvc in sorted(_claims(ctx).items()):
        if pvc is not None and dig(pvc, "status.phase") == "Bound":
            continue
        evs = ctx.events_of("PersistentVolumeClaim", name)
        if pvc is None and not evs:
            continue
        ok = [e for e in evs if e.get("reason") == "ProvisioningSucceeded"]
        failed = [e for e in evs if e.get("reason") == "ProvisioningFailed"
                  and not (ok and event_time(ok[-1]) and event_time(e) and event_time(e) < event_time(ok[-1]))]
        sc = dig(pvc or {}, "spec.storageClassName")
        if failed:
            ev = failed[-1]
            kind = _kind(ev.get("message") or "")
            known = [n for (k, _, n) in ctx.snapshot.objects if k == "StorageClass"]
            expl = (f"PVC {name} of {ctx.ref} stays Pending, so the pods that mount it cannot be scheduled: "
                    f"{_WHY[kind]}. The provisioner said: {ev.get('message')}")
            if kind == "storageclass-missing" and known:
                expl += f" StorageClasses here: {', '.join(sorted(known))}."
            sugg = ["kubectl get storageclass", f"kubectl describe pvc {name} -n {ctx.namespace}"]
            if kind == "storageclass-missing":
                sugg.append("fix storageClassName in the claim (a StatefulSet's volumeClaimTemplates cannot be "
                            "edited: recreate the StatefulSet with --cascade=orphan, then delete the Pending PVCs)")
            out.append(Finding("workload.pvc-provisioning-failed", "error", None,
                               f"PVC {name} cannot be provisioned: {(ev.get('message') or '')[:140]}", expl,
                               [event_line(ctx, ev)], sugg, since=ev.get("firstTimestamp"),
                               extra={"pvc": name, "storage_class": sc, "kind": kind}))
            continue
        misbound = [e for e in evs if e.get("reason") == "VolumeMismatch"
                    or (e.get("reason") == "FailedBinding" and e.get("type") == "Warning"
                        and NO_CLASS not in (e.get("message") or ""))]
        if misbound:
            ev = misbound[-1]
            out.append(Finding("workload.pvc-provisioning-failed", "error", None,
                               f"PVC {name} cannot bind: {(ev.get('message') or '')[:140]}",
                               f"PVC {name} of {ctx.ref} names a volume (spec.volumeName) it cannot bind to: the "
                               f"PersistentVolume is bound to another claim, or does not match the claim's size, "
                               f"access modes or class. {ev.get('message')}",
                               [event_line(ctx, ev)],
                               [f"kubectl describe pvc {name} -n {ctx.namespace}", "kubectl get pv"],
                               since=ev.get("firstTimestamp"), extra={"pvc": name, "storage_class": sc,
                                                                      "kind": "binding"}))
            continue
        nobind = [e for e in evs if e.get("reason") == "FailedBinding" and NO_CLASS in (e.get("message") or "")]
        no_default = pvc is not None and not sc and ctx.snapshot.knows("StorageClass", "*") and not _default_class(ctx)
        if nobind or (no_default and dig(pvc, "status.phase") == "Pending"):
            evidence = [event_line(ctx, nobind[-1])] if nobind else []
            evidence.append(f"pvc/{name}: no storageClassName" + (", and no StorageClass is marked default"
                                                                  if ctx.snapshot.knows("StorageClass", "*") else ""))
            out.append(Finding("workload.pvc-no-storage-class", "error", None,
                               f"PVC {name} names no StorageClass and the cluster has no default one: it never binds",
                               f"The claim sets no storageClassName, no StorageClass is marked default, and no "
                               f"existing PersistentVolume matches, so nothing provisions a volume and {ctx.ref}'s "
                               "pods that mount it stay Pending.",
                               evidence,
                               ["kubectl get storageclass",
                                "mark one default: kubectl patch storageclass NAME -p '{\"metadata\":{\"annotations\":"
                                "{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}'",
                                "or set storageClassName in the claim (template)"],
                               extra={"pvc": name}))
            continue
        waits = [e for e in evs if e.get("reason") == "ExternalProvisioning"]
        if waits:
            ev = waits[-1]
            first = min((t for t in (e.get("firstTimestamp") for e in waits) if t), default=None)
            waited = ctx.age_of(first) if first else None
            if waited is not None and waited > PROVISIONER_WAIT and (ctx.event_age(ev) or 0) < 3600:
                out.append(Finding("workload.pvc-provisioner-waiting", "warning", None,
                                   f"PVC {name} has waited {age(waited)} for its external provisioner",
                                   "The claim was handed to a CSI provisioner that has not created a volume nor "
                                   "reported a failure: the provisioner is not running, not registered for this "
                                   f"StorageClass, or lacks permissions. {ev.get('message')}",
                                   [event_line(ctx, ev)],
                                   ["kubectl get pods -A | grep -i csi", "kubectl get csidrivers",
                                    f"kubectl describe pvc {name} -n {ctx.namespace}"],
                                   extra={"pvc": name, "waited_seconds": int(waited)}))
    return out
