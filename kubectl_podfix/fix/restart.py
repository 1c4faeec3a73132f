"""Plan ``fix restart``: delete a workload's failing pods so the controller recreates them now.

For back-offs that outlive their cause (the secret, config map or service
was fixed elsewhere, but the kubelet waits up to five minutes between
attempts). Pure. Each deletion carries the pod's uid as a precondition, so a
pod already replaced meanwhile is never deleted by mistake.

A bare pod has no controller to recreate it: it is never deleted unless the
user asked for it explicitly (``--recreate-bare``), and then it is deleted
and created again from its own manifest.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import Plan, Step, WaitSpec, to_yaml

FIX_ID = "restart"


def plan_restart(w: wl.Workload, *, only_pod: bool = False, recreate_bare: bool = False) -> Plan:
    """Delete the failing pods of ``w``'s controller (only ``w.pod`` with ``only_pod``)."""
    ns = w.namespace
    top = w.top
    title = f"restart the failing pods of {wl.ref(top)}" if top is not None and not only_pod else \
        f"restart pod {dig(w.pod, 'metadata.name')}"
    plan = Plan(FIX_ID, title, ns, pod=dig(w.pod, "metadata.name") if w.pod else None)
    if top is None:
        return _bare(plan, w, recreate_bare)
    pods = [w.pod] if only_pod and w.pod else [p for p in w.pods if wl.failing(p)]
    pods = [p for p in pods if p is not None and not dig(p, "metadata.deletionTimestamp")]
    if not pods:
        plan.notes.append(f"no pod of {wl.ref(top)} is failing: nothing to restart")
        return plan
    if only_pod and w.pod is not None and not wl.failing(w.pod):
        plan.warnings.append(f"pod {dig(w.pod, 'metadata.name')} is not failing: it is restarted anyway, as asked")
    nearest = wl.controller_ref(pods[0]) or {}
    if top.get("kind") in ("Job", "CronJob"):
        plan.notes.append("a Job replaces a deleted pod only while it has not failed (backoffLimit) and is not "
                          "complete; a finished Job needs to be created again")
    for pod in pods:
        name = dig(pod, "metadata.name")
        reason = _why(pod)
        plan.steps.append(Step("delete", "Pod", ns, name, before=pod, uid=dig(pod, "metadata.uid"),
                               description=f"delete pod {name} ({reason}) so {wl.ref(top)} creates a new one "
                                           "at once, without the back-off delay",
                               undo=""))
    if only_pod:
        others = [dig(p, "metadata.name") for p in w.pods if wl.failing(p) and p is not w.pod
                  and dig(p, "metadata.uid") != dig(w.pod, "metadata.uid")]
        if others:
            plan.notes.append(f"other failing pods of {wl.ref(top)}: {', '.join(others)} (kubectl podfix fix "
                              f"restart {wl.ref(top)} -n {ns} restarts them all)")
    selector = wl.selector_string(dig(top, "spec.selector")) if top.get("kind") != "CronJob" else None
    if not selector:
        selector = wl.pod_selector(pods[0])
    plan.wait = WaitSpec(ns, top.get("kind"), dig(top, "metadata.name"), selector or None,
                         [dig(p, "metadata.uid") for p in w.pods + pods if dig(p, "metadata.uid")],
                         expect=len(pods))
    if nearest.get("kind") == "StatefulSet":
        plan.notes.append("a StatefulSet recreates each pod under the same name")
    return plan


def _why(pod: dict) -> str:
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in dig(pod, "status." + key, []) or []:
            reason = dig(s, "state.waiting.reason")
            if reason:
                return f"{s.get('name')}: {reason}"
    if dig(pod, "status.phase") == "Failed":
        return "Failed"
    return "not Ready"


def _bare(plan: Plan, w: wl.Workload, recreate_bare: bool) -> Plan:
    pod = w.pod
    if pod is None:
        plan.notes.append("no pod to restart")
        return plan
    name = dig(pod, "metadata.name")
    manifest = wl.recreate_manifest(pod)
    if wl.static_pod_node(pod) is not None:  # (deleting the mirror leaves the running pod as it is)
        plan.warnings.append(wl.static_pod_warning(pod, "restart it"))
        raise wl.NotPatchable(plan, f"pod {name} is a static pod's mirror")
    if w.missing_owner and w.missing_owner.startswith("Pod/"):
        # another pod made it (a Spark driver its executors): it was read, it is no workload podfix knows
        plan.warnings.append(f"pod {name} was created by another pod, {w.missing_owner} (as a Spark driver creates "
                             "its executors), not by a workload controller: podfix cannot tell whether that pod "
                             "creates it again, so the pod is not deleted. If it does (a Spark driver asks for a new "
                             f"executor when one is lost), delete it yourself: kubectl delete pod {name} -n "
                             f"{w.namespace}")
        raise wl.NotPatchable(plan, f"{w.missing_owner} made the pod")
    if w.missing_owner:
        plan.warnings.append(f"pod {name}'s controller {w.missing_owner} could not be read (not found, forbidden, "
                             "or a custom resource), so podfix cannot tell whether it recreates the pod: the pod is "
                             "not deleted. If its controller recreates it, delete it yourself: "
                             f"kubectl delete pod {name} -n {w.namespace}")
        raise wl.NotPatchable(plan, f"{w.missing_owner} could not be read")
    if not recreate_bare:
        plan.warnings.append(f"pod {name} has no controller (a bare pod): deleting it would not bring it back, so "
                             f"podfix does not touch it. To recreate it from its manifest, run again with "
                             f"--recreate-bare, or: kubectl delete pod {name} -n {w.namespace}, then kubectl create "
                             f"-f this manifest:\n{to_yaml(manifest)}")
        raise wl.NotPatchable(plan, f"pod {name} is a bare pod and --recreate-bare was not given")
    plan.warnings.append(f"pod {name} has no controller: it is deleted and created again from its manifest "
                         "(--recreate-bare); anything not in the manifest (its IP, its local data) is lost")
    plan.steps.append(Step("delete", "Pod", w.namespace, name, before=pod, uid=dig(pod, "metadata.uid"),
                           resource_version=dig(pod, "metadata.resourceVersion"),
                           description=f"delete bare pod {name} (no controller will recreate it; its manifest is "
                                       "saved to a file first)", undo="(the next step creates it again)"))
    plan.steps.append(Step("create", "Pod", w.namespace, name, body=manifest, after=manifest,
                           description=f"create pod {name} again from its manifest",
                           undo=wl.kubectl("delete", "pod", name, "-n", w.namespace)))
    plan.wait = WaitSpec(w.namespace, pod_name=name, old_uids=[dig(pod, "metadata.uid")], expect=1)
    return plan
