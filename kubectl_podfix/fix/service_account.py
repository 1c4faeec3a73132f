"""Plan ``fix service-account``: create the ServiceAccount a workload's pods run as, when it is missing.

Pure. The ServiceAccount admission plugin rejects every pod that names an
account the namespace does not have (``workload.serviceaccount-missing``).
The plan creates it, empty: no RBAC, pull secrets or cloud identity
annotations, which a chart or operator would have added; the plan says so.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import Plan, Step, WaitSpec

FIX_ID = "service-account"


def account_of(obj: dict) -> str:
    """The ServiceAccount a pod (or a controller's pod template) runs as."""
    spec = wl.pod_spec(obj)
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def plan_service_account(w: wl.Workload, exists: bool, name: str | None = None) -> Plan:
    source = w.top if w.top is not None else w.pod
    ns = w.namespace
    name = name or account_of(source or {})
    plan = Plan(FIX_ID, f"create ServiceAccount {name} for {wl.ref(source) if source else 'the pods'}", ns)
    if exists:
        plan.notes.append(f"serviceaccount/{name} exists in namespace {ns}: nothing to create (new pods are admitted; "
                          "the controller retries with a back-off)")
        return plan
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}
    plan.steps.append(Step("create", "ServiceAccount", ns, name, body=body, after=body,
                           description=f"create serviceaccount {name} (the pods of "
                                       f"{wl.ref(source) if source else 'the workload'} run as it)",
                           undo=wl.kubectl("delete", "serviceaccount", name, "-n", ns)))
    plan.notes.append(f"serviceaccount/{name} is created empty: no Role/RoleBinding, imagePullSecrets or cloud "
                      "identity annotations (IRSA, Workload Identity). If the chart or operator that names it is "
                      "meant to create it, fix that install instead")
    if w.top is not None and w.top.get("kind") != "CronJob":
        kind, tname = w.top.get("kind"), dig(w.top, "metadata.name")
        selector = wl.selector_string(dig(w.top, "spec.selector"))
        plan.wait = WaitSpec(ns, kind, tname, selector or None, [dig(p, "metadata.uid") for p in w.pods], expect=1)
    return plan
