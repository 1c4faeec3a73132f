"""Plan ``fix pod-security``: set the securityContext fields a Pod Security rejection names.

Pure. The input is the violation list of a ``workload.pod-security-violated``
finding (``diagnose.workloads.messages.psa_violations``: check, containers,
field, fixable) and the workload's top controller. Each fixable check maps to
one field:

- ``allowPrivilegeEscalation != false``: ``allowPrivilegeEscalation: false`` on the named containers;
- ``unrestricted capabilities`` (``must set ... drop=["ALL"]``): ``capabilities.drop: ["ALL"]`` there;
- ``runAsNonRoot != true``: ``runAsNonRoot: true`` on the pod (or on the containers that set it false);
- ``seccompProfile``: ``seccompProfile.type: RuntimeDefault`` on the pod (or where Unconfined is set).

A violation no field can satisfy (privileged, host namespaces, hostPath or
other restricted volumes, hostPort, added capabilities, runAsUser=0...) makes
the whole fix refuse and say why: half a fix would still be rejected.
"""

from __future__ import annotations

import re

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.errors import Exit, PodfixError
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import Plan, WaitSpec

FIX_ID = "pod-security"
_POD_SETTER = re.compile(r"^(?:pod and |pod$|pod )", re.I)


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def fields_for(violations: list[dict]) -> tuple[dict, dict[str, dict], list[dict]]:
    """(pod-level fields, fields per container, the violations no field fixes)."""
    pod: dict = {}
    per: dict[str, dict] = {}
    refused = []

    def on(names: list[str], fields: dict) -> None:
        for name in names:
            _merge(per.setdefault(name, {}), fields)

    for v in violations:
        check, detail, names = v.get("check"), v.get("detail") or "", v.get("containers") or []
        if not v.get("fixable"):
            refused.append(v)
        elif check == "allowPrivilegeEscalation != false":
            on(names, {"securityContext": {"allowPrivilegeEscalation": False}})
        elif check == "unrestricted capabilities":
            on(names, {"securityContext": {"capabilities": {"drop": ["ALL"]}}})
        elif check == "runAsNonRoot != true":
            if "must not set" in detail:
                on(names, {"securityContext": {"runAsNonRoot": True}})
                if _POD_SETTER.match(detail):
                    _merge(pod, {"securityContext": {"runAsNonRoot": True}})
            else:
                _merge(pod, {"securityContext": {"runAsNonRoot": True}})
        elif check == "seccompProfile":
            profile = {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}
            if "must not set" in detail:
                on(names, profile)
                if _POD_SETTER.match(detail):
                    _merge(pod, profile)
            else:
                _merge(pod, profile)
        else:
            refused.append(v)
    return pod, per, refused


def plan_pod_security(w: wl.Workload, violations: list[dict], level: str) -> Plan:
    """The template patch that satisfies every violation, or a refusal naming those no field satisfies."""
    top = w.top
    ns = w.namespace
    if top is None:
        raise PodfixError("a Pod Security rejection leaves no pod to fix: name the workload (deploy/NAME, sts/NAME, "
                          "ds/NAME, cronjob/NAME)", Exit.USAGE)
    plan = Plan(FIX_ID, f"make {wl.ref(top)}'s pods pass Pod Security \"{level}\"", ns)
    pod_fields, per, refused = fields_for(violations)
    if refused:
        reasons = "; ".join(f"{v['check']} ({v.get('detail')}): {v.get('why') or 'no field satisfies it'}"
                            for v in refused)
        raise PodfixError(f"refusing to change {wl.ref(top)}: {len(refused)} of the Pod Security violations cannot "
                          f"be fixed by setting a field: {reasons}. Nothing was changed. Run it in a namespace "
                          f"whose level allows it (kubectl label namespace {ns} "
                          "pod-security.kubernetes.io/enforce=privileged --overwrite, a decision for the "
                          "namespace's owner) or change its design", Exit.REFUSED)
    if not pod_fields and not per:
        plan.notes.append("the violations name no field podfix sets: nothing to change")
        return plan
    warnings, reason = wl.not_patchable(w, "set these securityContext fields")
    if reason:
        plan.warnings.extend(warnings)
        raise wl.NotPatchable(plan, reason)
    missing = [name for name in per if wl.find_container(top, name)[0] is None]
    if missing:
        raise PodfixError(f"{wl.ref(top)} has no container {', '.join(missing)} in its pod template: the "
                          "rejection may be about containers a mutating webhook injects; change that webhook's "
                          "configuration instead", Exit.REFUSED)
    gitops = wl.gitops_warning(top)
    if gitops:
        plan.warnings.append(gitops)
    changes = []
    if pod_fields:
        changes.append("pod " + ", ".join(_leaves(pod_fields)))
    for name, fields in per.items():
        changes.append(f"container {name} " + ", ".join(_leaves(fields)))
    plan.steps.append(wl.template_step(top, pod_fields, per, f"{wl.ref(top)}: set " + "; ".join(changes)))
    if dig(pod_fields, "securityContext.runAsNonRoot") or any(dig(f, "securityContext.runAsNonRoot")
                                                              for f in per.values()):
        plan.notes.append("runAsNonRoot only admits images that run as a non-root user: if the image's USER is "
                          "root (or unset), the new pods fail with CreateContainerConfigError 'container has "
                          "runAsNonRoot and image will run as root'; then also set securityContext.runAsUser to "
                          "the UID the image expects")
    kind, name = top.get("kind"), dig(top, "metadata.name")
    old_uids = [dig(p, "metadata.uid") for p in w.pods if dig(p, "metadata.uid")]
    if kind == "CronJob":
        plan.notes.append(f"cronjob/{name}: the Jobs it creates from now on use the new template; a Job already "
                          "created keeps being rejected (delete it to have the next run start fresh)")
    else:
        selector = wl.selector_string(dig(top, "spec.selector"))
        plan.wait = WaitSpec(ns, kind, name, selector or None, old_uids, expect=1)
        plan.notes.append(f"the controller creates the pods with the new template (a Deployment through a new "
                          f"ReplicaSet); kubectl rollout status {wl.ref(top)} -n {ns} follows it")
    return plan


def _leaves(fields: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in fields.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.extend(_leaves(v, path))
        else:
            out.append(f"{path}={v if not isinstance(v, bool) else str(v).lower()}")
    return out
