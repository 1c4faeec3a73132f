"""container.config-error: a ConfigMap, Secret or key the container's environment needs is missing.

The kubelet's message names one missing object; the references in the
container's ``env``/``envFrom`` are also checked against the ConfigMaps and
Secrets in the data, so every missing one is listed, and references marked
``optional`` are left out.
"""

from __future__ import annotations

import re

import shlex
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, dig, sentence
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl, node_phrase, waiting
from kubectl_podfix.diagnose.rules.containers.messages import CONFIG_PATTERNS
from kubectl_podfix.diagnose.rules.containers.mounts import mount_failure
from kubectl_podfix.diagnose.rules.containers.state import (
    each_container,
    failed_events,
    kind_label,
    skip_pod,
    state_line,
)


def _references(spec: dict) -> list[dict]:
    """Every ConfigMap/Secret reference in a container's env and envFrom."""
    refs = []
    for env in spec.get("env") or []:
        vf = env.get("valueFrom") or {}
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = vf.get(key)
            if isinstance(ref, dict) and ref.get("name"):
                refs.append({"kind": kind, "name": ref["name"], "key": ref.get("key"),
                             "optional": bool(ref.get("optional")), "via": f"env {env.get('name')}"})
    for ef in spec.get("envFrom") or []:
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = ef.get(key)
            if isinstance(ref, dict) and ref.get("name"):
                refs.append({"kind": kind, "name": ref["name"], "key": None,
                             "optional": bool(ref.get("optional")), "via": "envFrom"})
    return refs


def config_error_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        w_reason, w_msg = waiting(status)
        events = [ev for ev in failed_events(ctx, name, status)
                  if any(p.search(ev.get("message") or "") for p, _, _ in CONFIG_PATTERNS)]
        # Old kubelets put the message itself in the waiting reason ("Couldn't find key x in Secret ns/s").
        legacy = w_reason if any(p.search(w_reason) for p, _, _ in CONFIG_PATTERNS) else ""
        if w_reason != "CreateContainerConfigError" and not legacy:
            continue
        msg = w_msg or legacy or (events[-1].get("message") if events else "") or ""
        refs = _references(spec)
        missing: list[dict] = []
        for pat, kind, what in CONFIG_PATTERNS:
            m = pat.search(msg)
            if m:
                missing.append({"kind": kind, "name": m.group("name"), "key": m.groupdict().get("key")})
                break
        # Check every non-optional reference against the objects in the data.
        for ref in refs:
            if ref["optional"] or not ctx.knows(ref["kind"]):
                continue
            obj = ctx.related(ref["kind"], ref["name"])
            if obj is None:
                item = {"kind": ref["kind"], "name": ref["name"], "key": None}
            elif ref["key"] and ref["key"] not in (obj.get("data") or {}) and ref["key"] not in (obj.get("binaryData") or {}):
                item = {"kind": ref["kind"], "name": ref["name"], "key": ref["key"]}
            else:
                continue
            if not any(x["kind"] == item["kind"] and x["name"] == item["name"] and x.get("key") == item["key"]
                       for x in missing):
                missing.append(item)
        # Drop items only referenced optionally (the kubelet tolerates those).
        kept = []
        for item in missing:
            users = [r for r in refs if r["kind"] == item["kind"] and r["name"] == item["name"]
                     and (item.get("key") is None or r["key"] in (None, item["key"]))]
            if users and all(r["optional"] for r in users):
                continue
            item["referenced_by"] = [r["via"] for r in users] or ["(not in this container's env: another field)"]
            kept.append(item)
        evidence = state_line(status) + [describe_event(ev, ctx.now) for ev in events[-2:]]
        if not kept and not msg:
            continue
        mount = mount_failure(ctx, spec, msg) if not kept else None
        if mount is not None:
            if not events:
                evidence += [describe_event(ev, ctx.now) for ev in failed_events(ctx, name, status)[-1:]]
            yield Finding(
                code="container.config-error", severity="error", container=name, title=mount["title"],
                explanation=mount["explanation"], evidence=evidence,
                suggestions=mount["suggestions"] + [kubectl(ctx, "get", "pod", ctx.name, "-o",
                                                           "jsonpath={.spec.volumes}"),
                                                    kubectl(ctx, "describe", "pod", ctx.name)],
                extra={"missing": [], "message": msg, "init": is_init, "kind": mount["kind"],
                       "volume": mount["volume"], "mount": mount["mount"], "target": mount["target"]},
            )
            continue
        seen = False
        if kept:
            first = kept[0]
            what = (f'key "{first["key"]}" in {first["kind"]} {first["name"]}' if first.get("key")
                    else f'{first["kind"]} "{first["name"]}"')
            who = ", ".join(first["referenced_by"])
            obj = ctx.related(first["kind"], first["name"])
            seen = obj is not None and (not first.get("key") or first["key"] in (obj.get("data") or {})
                                        or first["key"] in (obj.get("binaryData") or {}))
            if seen:
                expl = (f"The kubelet cannot build the environment of {kind_label(spec, is_init)} {name}: it reports "
                        f"the {what} not found (referenced by {who}), but it exists in namespace {ctx.namespace}: "
                        "the kubelet cannot see it. It may have been created after the kubelet's last attempt (the "
                        "kubelet retries on its own), the kubelet's cache may be stale (a broken watch on the API "
                        "server), or the node authorizer refuses it (a kubelet whose identity is not its node's). "
                        "Do not create it again: check the kubelet's log, or delete the pod to retry.")
            elif not ctx.knows(first["kind"]):
                expl = (f"The kubelet cannot build the environment of {kind_label(spec, is_init)} {name}: the {what} "
                        f"does not exist in namespace {ctx.namespace} (referenced by {who}), as the kubelet reports "
                        f"({first['kind']}s were not in the data, so podfix could not check). The container is not "
                        "created until it exists; create it, fix the name, or mark the reference optional: true.")
            else:
                expl = (f"The kubelet cannot build the environment of {kind_label(spec, is_init)} {name}: the {what} "
                        f"does not exist in namespace {ctx.namespace} (referenced by {who}). The container is not "
                        f"created until it exists; create it, fix the name, or mark the reference optional: true.")
            if len(kept) > 1:
                expl += " Also missing: " + "; ".join(
                    (f'key "{k["key"]}" in {k["kind"]} {k["name"]}' if k.get("key") else f'{k["kind"]} {k["name"]}')
                    for k in kept[1:]) + "."
            title = (f"{name}: {what} exists, but the kubelet reports it not found" if seen
                     else f"{name}: {what} not found")
        else:
            first = None
            expl = (f"The kubelet could not prepare the configuration of {kind_label(spec, is_init)} {name}: {sentence(msg)}")
            low = msg.lower()
            title = f"{name}: CreateContainerConfigError"
            if "non-numeric user" in low:
                user = re.search(r"non-numeric user \(([^)]*)\)", msg)
                expl += (f" The pod requires runAsNonRoot, and the image's USER is a name"
                         + (f" ({user.group(1)})" if user else "") + ", which the kubelet cannot check is not root: "
                         "set securityContext.runAsUser to that user's numeric UID, or build the image with a numeric "
                         "USER (USER 1000).")
                title = f"{name}: runAsNonRoot cannot be verified for a named image user"
            elif "runasnonroot" in low:
                expl += (" The pod requires runAsNonRoot but the image runs as root (or as a non-numeric user): "
                         "set securityContext.runAsUser to a non-zero UID or use a non-root image.")
            elif "services have not yet been read" in low:
                # kubernetes#129294: the kubelet has not listed Services since it started (after an upgrade)
                expl += (" That is the kubelet's state, not this pod's configuration: the kubelet builds every "
                         "container's service environment variables (X_SERVICE_HOST, X_SERVICE_PORT) from its cache "
                         "of Services, and it has not listed Services once since it started, so its connection to "
                         "the API server (or its permission to list Services) is failing. It clears once the kubelet "
                         "can list them: check the kubelet's log on the node.")
                title = f"{name}: the kubelet has not read the cluster's Services yet"
            elif "failed to sync" in low or "timed out waiting for the condition" in low:
                expl += " The kubelet could not read the object from the API server in time (often RBAC or API load)."
        sugs = []
        if first:
            verb = "configmap" if first["kind"] == "ConfigMap" else "secret"
            sugs.append(kubectl(ctx, "get", verb, first["name"]))
            if first.get("key"):
                sugs.append(kubectl(ctx, "get", verb, first["name"], "-o", "jsonpath={.data}"))
            elif seen:
                sugs.append(f"on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: journalctl -u kubelet | "
                            f"grep -i '{first['name']}'")
            else:
                # the keys the container reads from it, so the created object satisfies them
                keys = sorted({r["key"] for r in refs if r["kind"] == first["kind"] and r["name"] == first["name"]
                               and r["key"] and not r["optional"]})
                literals = " ".join(shlex.quote(f"--from-literal={k}=VALUE") for k in keys) or "--from-literal=KEY=VALUE"
                sugs.append(f"kubectl create {verb}{' generic' if verb == 'secret' else ''} {first['name']} "
                            f"{literals} -n {ctx.namespace}")
        sugs.append(kubectl(ctx, "describe", "pod", ctx.name))
        yield Finding(
            code="container.config-error", severity="error", container=name, title=title,
            explanation=expl, evidence=evidence, suggestions=sugs,
            extra={"missing": kept, "message": msg, "init": is_init},
        )
