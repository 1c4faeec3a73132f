"""The workload a fix changes: owner chains, pod template paths, container patches, undo, GitOps.

Every fix that changes a container goes to the *top* controller of the pod
(ReplicaSet -> Deployment, Job -> CronJob): patching a ReplicaSet or a Job
made by a CronJob would be overwritten or ignored. The pure helpers here build
the one kind of write those fixes send, a JSON patch (RFC 6902) that is
conditional on the state it was planned from::

    [{"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
     {"op": "test", "path": ".../containers/0/resources/limits/memory", "value": "256Mi"},
     {"op": "replace", "path": ".../containers/0/resources/limits/memory", "value": "512Mi"}]

Every field it changes is first ``test``ed against the value podfix read (a
field that was absent: its parent is tested whole), and the container's name
at its index too. A concurrent change of any of them makes the API server
reject the whole patch (422), so nothing is ever overwritten; status updates
and changes elsewhere in the object do not conflict (a resourceVersion
precondition would: a Deployment's changes with every status update). The
command that reverts it is conditional the same way (it tests podfix's values
before restoring the old ones).

``resolve`` is the only function here that reads the cluster (GETs only).
"""

from __future__ import annotations

import copy
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from kubectl_podfix.diagnose.model import KUBECTL_NAMES, dig, parse_target, selector_string
from kubectl_podfix.errors import Exit, PodfixError, Refused, UsageError
from kubectl_podfix.fix.plan import JSON_PATCH, Plan, Step, WaitSpec, pointer

# Controllers whose pod template podfix patches.
PATCHABLE = ("Deployment", "StatefulSet", "DaemonSet", "CronJob")
# `kubectl rollout undo` works for these (ReplicaSet / ControllerRevision history).
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# A template change makes these controllers replace the pods themselves.
REPLACES_PODS = {"Deployment": True, "DaemonSet": True, "StatefulSet": True, "CronJob": False}

ARGO_LABEL = "app.kubernetes.io/instance"
ARGO_ANNOTATIONS = ("argocd.argoproj.io/tracking-id", "argocd.argoproj.io/instance")
FLUX_LABELS = ("kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name")
# Labels a controller adds to pods that are not part of the workload's identity.
_POD_ONLY_LABELS = ("pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                    "apps.kubernetes.io/pod-index", "batch.kubernetes.io/job-completion-index")


# -- targets -------------------------------------------------------------------------

@dataclass
class Workload:
    """What a fix acts on: the pod asked about (if any), its controller chain and the top controller."""

    namespace: str
    pod: dict | None = None  # the pod named on the command line, or the first failing pod of the workload
    owners: list[dict] = field(default_factory=list)  # controller chain, nearest first (ReplicaSet, Deployment)
    pods: list[dict] = field(default_factory=list)  # every pod of the top controller (or [pod] for a bare pod)
    missing_owner: str | None = None  # "ReplicaSet/x" when a link of the chain could not be read

    @property
    def top(self) -> dict | None:
        """The outermost controller (Deployment over ReplicaSet, CronJob over Job), or None for a bare pod."""
        return self.owners[-1] if self.owners else None

    @property
    def bare(self) -> bool:
        return not self.owners and self.pod is not None and controller_ref(self.pod) is None


def controller_ref(obj: dict | None) -> dict | None:
    return next((r for r in dig(obj, "metadata.ownerReferences", []) or [] if r.get("controller")), None)


MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def static_pod_node(pod: dict | None) -> str | None:
    """The node whose kubelet runs ``pod`` from a manifest file, when the pod is a static pod's mirror (its
    ``kubernetes.io/config.mirror`` annotation, or a Node as its controller), else None. The API holds only a
    read-only copy: deleting it does not restart the pod and a pod created with that annotation is refused."""
    if not isinstance(pod, dict):
        return None
    cref = controller_ref(pod)
    if MIRROR_ANNOTATION in (dig(pod, "metadata.annotations", {}) or {}) or (cref or {}).get("kind") == "Node":
        return dig(pod, "spec.nodeName") or (cref or {}).get("name") or "its node"
    return None


def static_pod_warning(pod: dict, what: str) -> str:
    name, node = dig(pod, "metadata.name"), static_pod_node(pod)
    source = (dig(pod, "metadata.annotations", {}) or {}).get("kubernetes.io/config.source")
    return (f"pod {name} is the mirror of a static pod: the kubelet on node {node} runs it from a manifest "
            f"{'file' if source in (None, 'file') else f'({source})'}, and the API only shows a copy it cannot "
            f"change, restart or recreate. To {what}, edit the pod's manifest on node {node} (kubeadm: "
            f"/etc/kubernetes/manifests/); the kubelet restarts the pod when the file changes")


def ref(obj: dict) -> str:
    """kubectl's TYPE/NAME for an object: deployment/web."""
    kind = str(obj.get("kind") or "")
    return f"{KUBECTL_NAMES.get(kind, kind.lower())}/{dig(obj, 'metadata.name')}"


def owner_chain(cluster, obj: dict, namespace: str, limit: int = 4) -> tuple[list[dict], str | None]:
    """GET each controller up the ownerReferences of ``obj``: (chain nearest first, unreadable link)."""
    from kubectl_podfix.cluster.api import RESOURCES, ApiError

    chain: list[dict] = []
    current = obj
    for _ in range(limit):
        cref = controller_ref(current)
        if cref is None:
            break
        kind, name = cref.get("kind"), cref.get("name")
        if kind == "Pod":  # a pod that makes its own pods (a Spark driver and its executors): not a template
            return chain, f"{kind}/{name}"
        if kind not in RESOURCES or kind == "Node":  # a static pod's mirror, or a custom controller
            if kind != "Node":
                return chain, f"{kind}/{name}"
            break
        try:
            owner = cluster.get(kind, namespace, name)
        except ApiError as exc:
            if exc.status in (403, 404):
                return chain, f"{kind}/{name}"
            raise
        owner.setdefault("kind", kind)
        chain.append(owner)
        current = owner
    return chain, None


def resolve(cluster, namespace: str, target: str) -> Workload:
    """Read the pod or workload ``target`` names, its controller chain and the top controller's pods."""
    from kubectl_podfix.cluster.api import ApiError

    kind, name = parse_target(target)
    try:
        obj = cluster.get(kind, namespace, name)
    except ApiError as exc:
        if exc.status == 404:
            hint = f"kubectl get pods -n {namespace}" if kind == "Pod" else \
                f"kubectl get {KUBECTL_NAMES.get(kind, kind.lower())} -n {namespace}"
            raise PodfixError(f'{kind.lower()} "{name}" not found in namespace "{namespace}": list them with '
                              f"{hint}, or pass -n NAMESPACE") from None
        raise
    obj.setdefault("kind", kind)
    w = Workload(namespace)
    if kind == "Pod":
        w.pod = obj
        w.owners, w.missing_owner = owner_chain(cluster, obj, namespace)
    else:
        up, w.missing_owner = owner_chain(cluster, obj, namespace)
        w.owners = [obj] + up
    top = w.top
    if top is None:
        w.pods = [w.pod] if w.pod else []
        return w
    w.pods = pods_of(cluster, namespace, w.owners)
    if w.pod is None:
        w.pod = next((p for p in w.pods if failing(p)), w.pods[0] if w.pods else None)
    return w


def pods_of(cluster, namespace: str, owners: list[dict]) -> list[dict]:
    """Every pod the top controller owns, directly or through its ReplicaSets / Jobs (a few LISTs)."""
    top = owners[-1]
    kind = top.get("kind")
    top_uid = dig(top, "metadata.uid")
    uids = {dig(o, "metadata.uid") for o in owners}
    sel = dig(top, "spec.selector")
    selector = selector_string(sel) or None if isinstance(sel, dict) and kind != "CronJob" else None
    if kind in ("Deployment", "CronJob"):
        child = "ReplicaSet" if kind == "Deployment" else "Job"
        for obj in cluster.list(child, namespace, label_selector=selector):
            if (controller_ref(obj) or {}).get("uid") == top_uid:
                uids.add(dig(obj, "metadata.uid"))
    out = [p for p in cluster.list("Pod", namespace, label_selector=selector)
           if (controller_ref(p) or {}).get("uid") in uids]
    return sorted(out, key=lambda p: dig(p, "metadata.creationTimestamp") or "")


BACKOFF_REASONS = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                   "CreateContainerError", "RunContainerError", "InvalidImageName", "ErrImageNeverPull"}


def failing(pod: dict) -> bool:
    """Whether a pod is failing (a container waiting in a back-off or erroring, not Ready, or Failed)."""
    phase = dig(pod, "status.phase")
    if phase == "Succeeded" or dig(pod, "metadata.deletionTimestamp"):
        return False
    if phase == "Failed":
        return True
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in status.get(key) or []:
            if dig(s, "state.waiting.reason") in BACKOFF_REASONS:
                return True
            if dig(s, "state.terminated") and key == "containerStatuses":
                return True
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") != "True"
    return phase != "Running"


def pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in dig(pod, "status.conditions", []) or [])


def pod_selector(pod: dict) -> str | None:
    labels = dig(pod, "metadata.labels", {}) or {}
    text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in _POD_ONLY_LABELS)
    return text or None


# -- templates -------------------------------------------------------------------------

def template_path(kind: str) -> tuple[str, ...]:
    """Where a controller keeps its pod template (the template object, not its spec)."""
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template")
    if kind == "Pod":
        return ()
    return ("spec", "template")


def pod_spec(obj: dict) -> dict:
    """The pod spec of a pod or of a controller's template ({} when absent)."""
    node: Any = obj
    for key in template_path(str(obj.get("kind"))) + ("spec",):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def find_container(obj: dict, name: str) -> tuple[dict | None, bool]:
    """(container spec, is_init) of container ``name`` in a pod or template."""
    spec = pod_spec(obj)
    for key, is_init in (("containers", False), ("initContainers", True)):
        for c in spec.get(key) or []:
            if isinstance(c, dict) and c.get("name") == name:
                return c, is_init
    return None, False


def target_container(w: "Workload", name: str) -> tuple[dict, dict]:
    """(the object a fix patches: the top controller, else the pod; the spec of container ``name`` in it)."""
    source = w.top if w.top is not None else w.pod
    if source is None:
        raise Refused("no pod to fix: the workload has no pods and no pod was named")
    spec, _ = find_container(source, name)
    if spec is None:
        raise UsageError(f"{ref(source)} has no container {name!r} (it has: {', '.join(container_names(source))})")
    return source, spec


def container_names(obj: dict) -> list[str]:
    spec = pod_spec(obj)
    return [c.get("name") for key in ("containers", "initContainers") for c in spec.get(key) or []
            if isinstance(c, dict)]


def nest(path: tuple[str, ...], leaf: Any) -> Any:
    out = leaf
    for key in reversed(path):
        out = {key: out}
    return out


def apply_fields(target: dict, fields: dict) -> None:
    """Apply a merge fragment to a plain dict in place (None deletes a key)."""
    for k, v in fields.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            apply_fields(target[k], v)
        elif isinstance(v, dict):
            target[k] = {}
            apply_fields(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def kubectl(*args: str) -> str:
    return "kubectl " + " ".join(shlex.quote(a) for a in args)


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def container_index(obj: dict, name: str) -> tuple[str, int] | None:
    """("containers" | "initContainers", index) of container ``name`` in ``obj``'s pod template."""
    spec = pod_spec(obj)
    for key in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, dict) and c.get("name") == name:
                return key, i
    return None


def container_pointer(obj: dict, name: str) -> str:
    """The JSON pointer of container ``name`` in ``obj``'s pod template."""
    where = container_index(obj, name)
    if where is None:
        raise PodfixError(f"{ref(obj)} has no container {name!r} in its pod template "
                          f"(it has: {', '.join(container_names(obj)) or 'none'})")
    return pointer(*template_path(str(obj.get("kind"))), "spec", where[0], where[1])


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)


def guarded_ops(base: str, name: str, current: dict, fields: dict) -> list[dict]:
    """The JSON patch that sets ``fields`` (nested; None deletes) in the container at ``base``, conditional
    on what was read: ``test`` the container's name, each changed field's current value, and the parent
    of each field that was absent (a field added concurrently fails the test too). Tests come first."""
    tests: list[dict] = [{"op": "test", "path": base + "/name", "value": name}]
    changes: list[dict] = []
    tested: set[str] = set()

    def test_parent(path: str, value: Any) -> None:
        if path not in tested:
            tested.add(path)
            tests.append({"op": "test", "path": path, "value": copy.deepcopy(value)})

    def walk(path: str, cur: dict, flds: dict) -> None:
        for key, value in flds.items():
            p = path + "/" + pointer(key)[1:]
            present = key in cur
            if value is None:
                if present:
                    tests.append({"op": "test", "path": p, "value": copy.deepcopy(cur[key])})
                    changes.append({"op": "remove", "path": p})
            elif isinstance(value, dict) and present and isinstance(cur[key], dict):
                walk(p, cur[key], value)
            elif present:
                tests.append({"op": "test", "path": p, "value": copy.deepcopy(cur[key])})
                changes.append({"op": "replace", "path": p, "value": _strip_none(value)})
            else:
                test_parent(path, cur)
                changes.append({"op": "add", "path": p, "value": _strip_none(value)})

    walk(base, current, fields)
    return tests + changes


def inverse_ops(base: str, name: str, current: dict, fields: dict) -> list[dict]:
    """The conditional JSON patch that reverts ``guarded_ops``: it tests podfix's values (so a later change
    by someone else is not undone blindly), then restores the old ones (removes what podfix added)."""
    after = copy.deepcopy(current)
    apply_fields(after, fields)
    tests: list[dict] = [{"op": "test", "path": base + "/name", "value": name}]
    changes: list[dict] = []

    def walk(path: str, cur: dict, new: dict, flds: dict) -> None:
        for key, value in flds.items():
            p = path + "/" + pointer(key)[1:]
            if value is None:
                if key in cur:
                    tests.append({"op": "test", "path": path, "value": copy.deepcopy(new)})
                    changes.append({"op": "add", "path": p, "value": copy.deepcopy(cur[key])})
            elif isinstance(value, dict) and isinstance(cur.get(key), dict):
                walk(p, cur[key], new.get(key) or {}, value)
            elif key in cur:
                tests.append({"op": "test", "path": p, "value": copy.deepcopy(new.get(key))})
                changes.append({"op": "replace", "path": p, "value": copy.deepcopy(cur[key])})
            else:
                tests.append({"op": "test", "path": p, "value": copy.deepcopy(new.get(key))})
                changes.append({"op": "remove", "path": p})

    walk(base, current, after, fields)
    return tests + changes


def undo_command(obj: dict, inverse: list[dict]) -> str:
    """What reverts a template patch: ``kubectl rollout undo`` where there is rollout history,
    otherwise the conditional inverse JSON patch."""
    kind, name = obj.get("kind"), dig(obj, "metadata.name")
    ns = dig(obj, "metadata.namespace") or ""
    if kind in ROLLOUT_KINDS:
        return kubectl("rollout", "undo", f"{KUBECTL_NAMES[kind]}/{name}", "-n", ns)
    return inverse_patch_command(obj, inverse)


def inverse_patch_command(obj: dict, inverse: list[dict]) -> str:
    kind, name = obj.get("kind"), dig(obj, "metadata.name")
    ns = dig(obj, "metadata.namespace") or ""
    return kubectl("patch", KUBECTL_NAMES.get(kind, str(kind).lower()), name, "-n", ns,
                   "--type=json", "-p", compact(inverse))


def container_step(obj: dict, container: str, fields: dict, description: str) -> Step:
    """One conditional JSON patch of one container of ``obj``'s pod template (``guarded_ops``), with the
    predicted object after it (for the diff) and the undo command."""
    kind = str(obj.get("kind"))
    current, _ = find_container(obj, container)
    base = container_pointer(obj, container)
    assert current is not None
    body = guarded_ops(base, container, current, fields)
    inverse = inverse_ops(base, container, current, fields)
    after = copy.deepcopy(obj)
    target, _ = find_container(after, container)
    apply_fields(target, fields)
    _drop_empty(target, fields)
    return Step("patch", kind, dig(obj, "metadata.namespace"), dig(obj, "metadata.name"), body=body, before=obj,
                after=after, content_type=JSON_PATCH, description=description, undo=undo_command(obj, inverse))


def template_step(obj: dict, pod_fields: dict, containers: dict[str, dict], description: str) -> Step:
    """One conditional JSON patch of ``obj``'s pod template: ``pod_fields`` on the pod spec and, per container
    name, fields of that container (``guarded_ops`` for each part, every ``test`` first), with the predicted
    object after it and the undo command. ``container_step`` is its one-container case."""
    kind = str(obj.get("kind"))
    ops: list[dict] = []
    inverse: list[dict] = []
    after = copy.deepcopy(obj)
    if pod_fields:
        base = pointer(*template_path(kind), "spec")
        # the pod spec has no name to test: the same guarded operations without that first test
        ops += guarded_ops(base, "", pod_spec(obj), pod_fields)[1:]
        inverse += inverse_ops(base, "", pod_spec(obj), pod_fields)[1:]
        apply_fields(pod_spec(after), pod_fields)
    for name, fields in containers.items():
        current, _ = find_container(obj, name)
        base = container_pointer(obj, name)
        assert current is not None
        ops += guarded_ops(base, name, current, fields)
        inverse += inverse_ops(base, name, current, fields)
        target, _ = find_container(after, name)
        apply_fields(target, fields)
    body = [o for o in ops if o["op"] == "test"] + [o for o in ops if o["op"] != "test"]
    undo = [o for o in inverse if o["op"] == "test"] + [o for o in inverse if o["op"] != "test"]
    return Step("patch", kind, dig(obj, "metadata.namespace"), dig(obj, "metadata.name"), body=body, before=obj,
                after=after, content_type=JSON_PATCH, description=description, undo=undo_command(obj, undo))


def _drop_empty(target: dict, fields: dict) -> None:
    """After deletes, a map left empty ({}) disappears, as the server's merge leaves it."""
    for k, v in fields.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _drop_empty(target[k], v)
            if not target[k] and any(x is None for x in v.values()):
                target.pop(k)


# -- GitOps ---------------------------------------------------------------------------------

def gitops_warning(obj: dict | None) -> str | None:
    """A warning when ``obj`` is managed by Argo CD or Flux: a direct change will be reverted."""
    if not obj:
        return None
    labels = dig(obj, "metadata.labels", {}) or {}
    annotations = dig(obj, "metadata.annotations", {}) or {}
    what = ref(obj)
    argo = next((a for a in ARGO_ANNOTATIONS if annotations.get(a)), None)
    if argo or (labels.get(ARGO_LABEL) and any(k.startswith("argocd.argoproj.io/") for k in annotations)):
        app = annotations.get("argocd.argoproj.io/tracking-id", "").split(":", 1)[0] or \
            annotations.get("argocd.argoproj.io/instance") or labels.get(ARGO_LABEL)
        return (f"{what} is managed by Argo CD (application {app}): Argo CD will revert this change at its "
                f"next sync (at once with self-heal). Change the manifest in the application's Git source "
                f"instead (argocd app get {app} shows the repository and path), or use this fix only as a "
                f"stopgap")
    flux = [(k, labels[k]) for k in FLUX_LABELS if labels.get(k)]
    if flux:
        key, name = flux[0]
        ns_key = key.replace("/name", "/namespace")
        flux_ns = labels.get(ns_key) or "flux-system"
        kind = "Kustomization" if key.startswith("kustomize.") else "HelmRelease"
        where = ("the Git source that Kustomization builds" if kind == "Kustomization"
                 else "the HelmRelease's values")
        return (f"{what} is managed by Flux ({kind} {flux_ns}/{name}): Flux will revert this change at its next "
                f"reconciliation. Change {where} instead (flux get {kind.lower()} {name} -n {flux_ns}), or "
                f"suspend it first (flux suspend {kind.lower()} {name} -n {flux_ns}) if this is a stopgap")
    return None


# -- bare pods and Jobs -----------------------------------------------------------------------

def recreate_manifest(pod: dict) -> dict:
    """A bare pod's manifest for ``kubectl create -f``: server-set fields and the token volume dropped."""
    out = {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": copy.deepcopy(pod.get("spec") or {})}
    meta = pod.get("metadata") or {}
    for key in ("name", "namespace", "labels", "annotations"):
        if meta.get(key):
            out["metadata"][key] = copy.deepcopy(meta[key])
    spec = out["spec"]
    spec.pop("nodeName", None)
    vols = [v for v in spec.get("volumes") or [] if not str(v.get("name", "")).startswith("kube-api-access-")]
    if vols:
        spec["volumes"] = vols
    else:
        spec.pop("volumes", None)
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        mounts = [m for m in c.get("volumeMounts") or [] if not str(m.get("name", "")).startswith("kube-api-access-")]
        if mounts:
            c["volumeMounts"] = mounts
        else:
            c.pop("volumeMounts", None)
    return out


def job_manifest(job: dict) -> dict:
    """A Job's manifest to create it again: generated selector and labels dropped (the server re-adds them)."""
    out = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {}, "spec": copy.deepcopy(job.get("spec") or {})}
    meta = job.get("metadata") or {}
    for key in ("name", "namespace", "labels", "annotations"):
        if meta.get(key):
            out["metadata"][key] = copy.deepcopy(meta[key])
    spec = out["spec"]
    spec.pop("selector", None)
    labels = dig(spec, "template.metadata.labels") or {}
    for k in list(labels):
        if k in ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"):
            labels.pop(k)
    return out


def _leaves(fields: dict, prefix: str = "") -> list[str]:
    """``{"resources": {"limits": {"memory": "1Gi"}}}`` -> ``["resources.limits.memory: 1Gi"]``."""
    out = []
    for key, value in fields.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(_leaves(value, path + "."))
        else:
            out.append(f"{path}: {compact(value) if isinstance(value, (dict, list)) else value}")
    return out


def guess_owner(missing: str, pod: dict | None) -> str | None:
    """kubectl's TYPE/NAME of the workload above an unreadable ReplicaSet, when the pod's
    pod-template-hash gives it away (a Deployment names its ReplicaSets NAME-HASH)."""
    kind, _, name = missing.partition("/")
    hash_ = (dig(pod, "metadata.labels", {}) or {}).get("pod-template-hash") if pod else None
    if kind == "ReplicaSet" and isinstance(hash_, str) and hash_ and name.endswith("-" + hash_):
        return f"deployment/{name[: -len(hash_) - 1]}"
    return None


def unknown_owner_warning(w: Workload, container: str | None = None, fields: dict | None = None) -> str:
    """What podfix could not find out when the pod's controller cannot be read, and the change to make by hand."""
    guess = guess_owner(w.missing_owner or "", w.pod)
    text = (f"the pod's controller {w.missing_owner} could not be read (not found, forbidden, or a custom "
            "resource), so podfix does not know which workload's pod template holds the container, and changed "
            "nothing")
    if (w.missing_owner or "").startswith("Pod/"):
        text = (f"the pod was created by another pod, {w.missing_owner} (as a Spark driver creates its executors), "
                "from a spec that pod or its operator holds, not a workload's pod template: podfix changed nothing")
    if container and fields and (w.missing_owner or "").startswith("Pod/"):
        text += f". Set this by hand where that pod's operator defines its pods, container {container}: " + \
            "; ".join(_leaves(fields))
    elif container and fields:
        text += (f". Set this by hand in the pod template of the workload that owns the pod"
                 f"{f' (probably {guess})' if guess else ''}, container {container}: "
                 + "; ".join(_leaves(fields)))
        if guess:
            kind, name = guess.split("/", 1)
            is_init = bool(w.pod) and find_container(w.pod, container)[1]
            # a strategic merge patch, keyed by container name: what a person types (no index to look up)
            patch = nest(template_path("Deployment") + ("spec",),
                         {"initContainers" if is_init else "containers": [{"name": container, **fields}]})
            text += (" (for example: "
                     f"{kubectl('patch', kind, name, '-n', w.namespace, '--type=strategic', '-p', compact(patch))})")
    return text


def not_patchable(w: Workload, what: str, fixed: dict | None = None, container: str | None = None,
                  fields: dict | None = None) -> tuple[list[str], str | None]:
    """Warnings for a target whose pod template cannot be patched (bare pod, Job without CronJob, a
    controller that cannot be read): (warnings, the reason in one line) — or ([], None) when the top
    controller can be patched. ``container``/``fields``: the change, to say what to set by hand."""
    from kubectl_podfix.fix.plan import to_yaml

    top = w.top
    if top is not None and top.get("kind") in PATCHABLE:
        return [], None
    if top is not None and top.get("kind") == "Job":
        name = dig(top, "metadata.name")
        manifest = job_manifest(fixed or top)
        return [f"job/{name}'s pod template cannot be changed (the API server rejects changes to a Job's "
                f"spec.template). To {what}, recreate the Job: kubectl delete job {name} -n {w.namespace}, then "
                f"kubectl create -f this manifest:\n{to_yaml(manifest)}"], \
            f"job/{name} has an immutable pod template"
    if top is not None:  # a ReplicaSet without Deployment, or another controller
        return [f"{ref(top)} is not a controller podfix patches: change its owner's pod template instead"], \
            f"{ref(top)} cannot be patched by podfix"
    if static_pod_node(w.pod) is not None:
        return [static_pod_warning(w.pod, what)], f"pod {dig(w.pod, 'metadata.name')} is a static pod's mirror"
    if w.missing_owner:
        return [unknown_owner_warning(w, container, fields)], \
            f"{w.missing_owner} made the pod" if w.missing_owner.startswith("Pod/") else \
            f"{w.missing_owner} could not be read"
    pod = w.pod or {}
    name = dig(pod, "metadata.name")
    manifest = recreate_manifest(fixed or pod)
    return [f"pod {name} has no controller (a bare pod) and a pod's containers cannot be changed in place. "
            f"To {what}, recreate it: kubectl delete pod {name} -n {w.namespace}, then kubectl create -f this "
            f"manifest:\n{to_yaml(manifest)}"], f"pod {name} is a bare pod"


# -- the shared last part of the container fixes ---------------------------------------------

def finish(plan: Plan, w: Workload, container: str, fields: dict, change: str, *, what: str) -> Plan:
    """Add the container patch to ``plan`` (or explain why the target cannot be patched), GitOps warning,
    undo notes and what to wait for. Shared by the memory, probe and image fixes."""
    top = w.top
    warnings, reason = not_patchable(w, what, fixed=_fixed_copy(w, container, fields), container=container,
                                     fields=fields)
    if reason:
        plan.warnings.extend(warnings)
        raise NotPatchable(plan, reason)
    assert top is not None
    gitops = gitops_warning(top)
    if gitops:
        plan.warnings.append(gitops)
    step = container_step(top, container, fields, f"{ref(top)} container {container}: {change}")
    plan.steps.append(step)
    kind, name = top.get("kind"), dig(top, "metadata.name")
    if kind in ROLLOUT_KINDS:
        inverse = inverse_ops(container_pointer(top, container), container, find_container(top, container)[0],
                              fields)
        plan.notes.append(f"undo reverts the whole pod template to the previous revision; to revert only this "
                          f"change: {inverse_patch_command(top, inverse)}")
    old_uids = [dig(p, "metadata.uid") for p in w.pods if dig(p, "metadata.uid")]
    selector = selector_string(dig(top, "spec.selector")) if kind != "CronJob" else None
    if kind == "CronJob":
        plan.notes.append(f"cronjob/{name}: the Jobs it creates from now on use the new template; Jobs already "
                          "running keep the old one")
    else:
        plan.wait = WaitSpec(w.namespace, kind, name, selector or None, old_uids, expect=1)
        if kind == "Deployment":
            plan.notes.append(f"the change starts a rollout that replaces the pods (kubectl rollout status "
                              f"deployment/{name} -n {w.namespace} follows it)")
        elif kind == "DaemonSet":
            plan.notes.append("the change starts a rollout that replaces the pods node by node")
        elif kind == "StatefulSet":
            plan.notes.append(f"the StatefulSet replaces its pods one by one; a pod that never became Ready can "
                              f"hold the rollout up (then: kubectl podfix fix restart statefulset/{name} -n "
                              f"{w.namespace})")
    return plan


class NotPatchable(PodfixError):
    """The target's pod template cannot be patched (bare pod, standalone Job): ``plan`` holds the explanation."""

    def __init__(self, plan: Plan, reason: str):
        super().__init__(f"nothing was changed: {reason} (see the warning above)", Exit.REFUSED)
        self.plan = plan


def _fixed_copy(w: Workload, container: str, fields: dict) -> dict | None:
    """The pod (or Job) with the change applied, for the recreate manifest."""
    import copy

    obj = w.top if w.top is not None and w.top.get("kind") == "Job" else w.pod
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    if out.get("kind") == "Job":
        spec = dig(out, "spec.template.spec") or {}
    else:
        spec = out.get("spec") or {}
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if c.get("name") == container:
                apply_fields(c, fields)
    return out
