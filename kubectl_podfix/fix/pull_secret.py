"""Plan a registry pull secret: create or repair it, attach it, restart the failing pods.

Pure: everything is computed from objects already read (``Situation``), so a
re-run plans only what is still missing (secret there with the same content:
no step; already attached: no step) and finishes a half-done job.

Where the secret is attached ("what the pod actually uses"): the
ServiceAccount admission plugin copies the ServiceAccount's imagePullSecrets
into a pod only when the pod spec lists none. So when the workload's pod
template lists imagePullSecrets, only the template counts and we patch it;
otherwise the pod got its list from its ServiceAccount and we patch that.

Patch strategies, checked against k8s.io/api core/v1 types.go:

* ``PodSpec.imagePullSecrets`` is ``patchStrategy:"merge" patchMergeKey:"name"``,
  but podfix plans from what it read, so the template patch is conditional too
  (docs/fixing.md, "Concurrency"): a JSON patch that ``test``s the list it read
  (or, with no list, the template spec it read) and then ``add``s the entry.
* ``ServiceAccount.imagePullSecrets`` has NO patch strategy (``+listType=atomic``
  in current releases): a strategic merge patch would REPLACE the whole list
  and could drop an entry someone added meanwhile. We send a JSON patch
  instead: ``test`` that the list is still what we read (or, when there is no
  list yet, that ``metadata.resourceVersion`` is unchanged), then ``add`` the
  entry at the end. A concurrent change makes the server reject the patch
  (422) and a re-run plans again against the new state; nothing is clobbered.
"""

from __future__ import annotations

import base64
import copy
import json
import shlex
from dataclasses import dataclass, field

from kubectl_podfix import redact
from kubectl_podfix.diagnose.model import KUBECTL_NAMES, dig, selector_string
from kubectl_podfix.errors import Exit, PodfixError, UsageError
from kubectl_podfix.fix.plan import JSON_PATCH, Plan, Step, WaitSpec, pointer, to_yaml
from kubectl_podfix.fix.workload import recreate_manifest as bare_pod_manifest
from kubectl_podfix.fix.workload import static_pod_node
from kubectl_podfix.registry.reference import secret_server_key

FIX_ID = "pull-secret"
SECRET_TYPE = "kubernetes.io/dockerconfigjson"
SECRET_KEY = ".dockerconfigjson"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
# A template change of these makes their controller replace the pods itself (a rollout).
ROLLOUT_KINDS = ("Deployment", "DaemonSet")


@dataclass(frozen=True)
class Credentials:
    server: str
    username: str
    password: str = field(repr=False)
    email: str | None = None

    @property
    def key(self) -> str:
        """The ``auths`` key written (Docker Hub spelled the way the kubelet matches it)."""
        return secret_server_key(self.server)

    def __post_init__(self) -> None:
        redact.remember_login(self.username, self.password)

    def __repr__(self) -> str:
        return f"Credentials(server={self.server!r}, username={self.username!r}, password=***)"

    __str__ = __repr__


def auth_entry(creds: Credentials) -> dict:
    """One ``auths`` entry, with kubectl's field order (username, password, email, auth)."""
    entry = {"username": creds.username, "password": creds.password}
    if creds.email:
        entry["email"] = creds.email
    entry["auth"] = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    return entry


def dockerconfigjson(creds: Credentials, others: dict | None = None) -> bytes:
    """The exact bytes ``kubectl create secret docker-registry`` writes (compact JSON)."""
    auths = dict(others or {})
    auths[creds.key] = auth_entry(creds)
    config = json.dumps({"auths": auths}, separators=(",", ":")).encode()
    redact.remember_docker_config(config)
    return config


def secret_manifest(name: str, namespace: str, creds: Credentials) -> dict:
    data = base64.b64encode(dockerconfigjson(creds)).decode()
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": SECRET_TYPE, "data": {SECRET_KEY: data}}


def decode_auths(secret: dict) -> dict | None:
    """The ``auths`` map of a raw dockerconfigjson Secret, or None when it does not decode."""
    raw = (secret.get("data") or {}).get(SECRET_KEY)
    if not isinstance(raw, str):
        return None
    try:
        doc = json.loads(base64.b64decode(raw))
    except (ValueError, TypeError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    return auths if isinstance(auths, dict) else None


@dataclass
class Situation:
    """What the command read from the cluster, for the planner (plain dicts)."""

    namespace: str
    secret_name: str
    secret: dict | None = None  # the current Secret WITH values (Cluster.get_secret_raw), or None
    pod: dict | None = None  # --for POD
    owners: list[dict] = field(default_factory=list)  # the pod's controller chain, nearest first
    service_account: dict | None = None  # the pod's ServiceAccount
    attach: list[dict] = field(default_factory=list)  # objects named by --attach
    failing_pods: list[dict] = field(default_factory=list)  # pods of the same workload failing to pull


# -- small pure helpers ----------------------------------------------------------------

def template_path(kind: str) -> tuple[str, ...]:
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template", "spec")
    return ("spec", "template", "spec")


def _get_path(obj: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _nest(path: tuple[str, ...], leaf: dict) -> dict:
    out = leaf
    for key in reversed(path):
        out = {key: out}
    return out


def names_of(refs) -> list[str]:
    return [r.get("name") for r in refs or [] if isinstance(r, dict) and r.get("name")]


def controller_ref(obj: dict | None) -> dict | None:
    return next((r for r in dig(obj, "metadata.ownerReferences", []) or [] if r.get("controller")), None)


def top_workload(owners: list[dict]) -> dict | None:
    """The outermost workload of an owner chain (Deployment over ReplicaSet, CronJob over Job)."""
    found = None
    for obj in owners:
        if obj.get("kind") in WORKLOAD_KINDS:
            found = obj
    return found


def _kubectl(*args: str) -> str:
    return "kubectl " + " ".join(shlex.quote(a) for a in args)


def _ref(obj: dict) -> str:
    return f"{KUBECTL_NAMES.get(obj.get('kind'), str(obj.get('kind')).lower())}/{dig(obj, 'metadata.name')}"


# -- the planner -----------------------------------------------------------------------

def plan_pull_secret(sit: Situation, creds: Credentials, *, overwrite: bool = False, restart: bool = False,
                     recreate_bare: bool = False) -> Plan:
    """The steps that make ``sit.secret_name`` hold ``creds``, attached where the pod looks, pods restarted."""
    ns, name = sit.namespace, sit.secret_name
    plan = Plan(FIX_ID, f"pull secret {name} for {creds.key} in namespace {ns}", ns,
                pod=dig(sit.pod, "metadata.name") if sit.pod else None)
    _secret_step(plan, sit, creds, overwrite)
    targets = _attach_targets(plan, sit)
    rolled_out = False
    for obj in targets:
        if obj.get("kind") == "ServiceAccount":
            _sa_step(plan, obj, name)
        else:
            changed = _template_step(plan, obj, name)
            rolled_out = rolled_out or (changed and obj.get("kind") in ROLLOUT_KINDS)
    if not targets:
        plan.notes.append(f"nothing is attached: pods use secret {name} only once a pod template or its "
                          f"ServiceAccount lists it (use --for POD or --attach sa/NAME)")
    if restart:
        _restart_steps(plan, sit, rolled_out, recreate_bare)
    return plan


def _secret_step(plan: Plan, sit: Situation, creds: Credentials, overwrite: bool) -> None:
    ns, name = sit.namespace, sit.secret_name
    wanted = secret_manifest(name, ns, creds)
    current = sit.secret
    if current is None:
        plan.steps.append(Step("create", "Secret", ns, name, body=wanted, after=wanted, sensitive=True,
                               description=f"create secret {name} ({SECRET_TYPE}) for {creds.key} "
                                           f"as user {creds.username}",
                               undo=_kubectl("delete", "secret", name, "-n", ns)))
        return
    ctype = current.get("type") or "Opaque"
    auths = decode_auths(current) if ctype == SECRET_TYPE else None
    if auths is not None and auths.get(creds.key) == auth_entry(creds):
        plan.notes.append(f"secret {name} already holds these credentials for {creds.key}: unchanged")
        return
    if not overwrite:
        raise PodfixError(f'secret "{name}" already exists in namespace "{ns}" with other content: pass '
                          "--overwrite to update it, or choose another name. Nothing was changed", Exit.REFUSED)
    if ctype != SECRET_TYPE:
        raise PodfixError(f'secret "{name}" in namespace "{ns}" has type {ctype}, and a Secret\'s type cannot '
                          f"be changed: delete it first (kubectl delete secret {name} -n {ns}) or choose "
                          "another name. Nothing was changed", Exit.REFUSED)
    others = {k: v for k, v in (auths or {}).items() if k != creds.key}
    after = copy.deepcopy(current)
    after.setdefault("metadata", {})
    after["data"] = dict(current.get("data") or {})
    after["data"][SECRET_KEY] = base64.b64encode(dockerconfigjson(creds, others)).decode()
    after.pop("status", None)
    kept = f" (entries for {', '.join(sorted(others))} kept)" if others else ""
    plan.steps.append(Step("replace", "Secret", ns, name, body=after, before=current, after=after, sensitive=True,
                           description=f"update secret {name}: credentials for {creds.key} as user "
                                       f"{creds.username}{kept}",
                           undo="(none: podfix never keeps the previous secret value, so it cannot be restored)"))


def _attach_targets(plan: Plan, sit: Situation) -> list[dict]:
    if sit.attach:
        for obj in sit.attach:
            if obj.get("kind") == "Job":
                raise UsageError(f"job/{dig(obj, 'metadata.name')}: a Job's pod template cannot be changed after "
                                 "creation (the API server rejects it); attach to its ServiceAccount with "
                                 "--attach sa/NAME, or to the CronJob that creates it")
        return list(sit.attach)
    if sit.pod is None:
        return []
    pod_name = dig(sit.pod, "metadata.name")
    workload = top_workload(sit.owners)
    sa_name = dig(sit.pod, "spec.serviceAccountName") or dig(sit.pod, "spec.serviceAccount") or "default"
    if workload is not None:
        template = _get_path(workload, template_path(workload.get("kind")))
        if names_of(template.get("imagePullSecrets")):
            if workload.get("kind") == "Job":
                plan.warnings.append(
                    f"pod {pod_name} takes its pull secrets from job/{dig(workload, 'metadata.name')}'s pod "
                    "template, which cannot be changed: recreate the Job with the secret listed in "
                    "spec.template.spec.imagePullSecrets")
                return []
            plan.notes.append(f"{_ref(workload)}'s pod template lists imagePullSecrets, so its pods use only "
                              "those: the secret is added there")
            return [workload]
    elif not controller_ref(sit.pod):
        plan.warnings.append(f"pod {pod_name} has no controller (a bare pod): its pull secrets cannot change, so "
                             "it must be deleted and created again to use the new secret")
    if sit.service_account is None:
        plan.warnings.append(f'serviceaccount "{sa_name}" was not found: attach the secret with '
                             "--attach TYPE/NAME")
        return []
    pod_list = names_of(dig(sit.pod, "spec.imagePullSecrets"))
    sa_list = names_of(sit.service_account.get("imagePullSecrets"))
    if pod_list and workload is None and pod_list != sa_list:
        plan.warnings.append(f"pod {pod_name} lists its own imagePullSecrets ({', '.join(pod_list)}): a new "
                             "pod created from the same manifest ignores its ServiceAccount's list")
    plan.notes.append(f"pods of {_ref(workload) if workload else 'pod/' + str(pod_name)} get their pull secrets "
                      f"from serviceaccount/{sa_name}: the secret is added there")
    return [sit.service_account]


def _sa_step(plan: Plan, sa: dict, secret: str) -> None:
    ns, name = dig(sa, "metadata.namespace") or plan.namespace, dig(sa, "metadata.name")
    existing = [r for r in sa.get("imagePullSecrets") or [] if isinstance(r, dict)]
    if secret in names_of(existing):
        plan.notes.append(f"serviceaccount/{name} already lists {secret}: unchanged")
        return
    if existing:
        ops = [{"op": "test", "path": "/imagePullSecrets", "value": existing},
               {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": secret}}]
    else:
        ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": dig(sa, "metadata.resourceVersion")},
               {"op": "add", "path": "/imagePullSecrets", "value": [{"name": secret}]}]
    after = copy.deepcopy(sa)
    after["imagePullSecrets"] = existing + [{"name": secret}]
    index = len(existing)
    undo_ops = [{"op": "test", "path": f"/imagePullSecrets/{index}/name", "value": secret},
                {"op": "remove", "path": f"/imagePullSecrets/{index}"}]
    plan.steps.append(Step("patch", "ServiceAccount", ns, name, body=ops, before=sa, after=after,
                           content_type=JSON_PATCH,
                           description=f"add {secret} to serviceaccount/{name}'s imagePullSecrets "
                                       "(new pods using it get the secret)",
                           undo=_kubectl("patch", "serviceaccount", name, "-n", ns, "--type=json", "-p",
                                         json.dumps(undo_ops, separators=(",", ":")))))


def _template_step(plan: Plan, obj: dict, secret: str) -> bool:
    kind, name = obj.get("kind"), dig(obj, "metadata.name")
    ns = dig(obj, "metadata.namespace") or plan.namespace
    path = template_path(kind)
    template = _get_path(obj, path)
    existing = names_of(template.get("imagePullSecrets"))
    if secret in existing:
        plan.notes.append(f"{_ref(obj)}'s pod template already lists {secret}: unchanged")
        return False
    body = _guarded_append(obj, path, "imagePullSecrets", {"name": secret})
    after = copy.deepcopy(obj)
    spec = after
    for key in path:
        spec = spec.setdefault(key, {})
    spec["imagePullSecrets"] = list(template.get("imagePullSecrets") or []) + [{"name": secret}]
    index = len(template.get("imagePullSecrets") or [])
    list_ptr = pointer(*path, "imagePullSecrets", index)
    undo = [{"op": "test", "path": list_ptr + "/name", "value": secret}, {"op": "remove", "path": list_ptr}]
    what = {"CronJob": "its next Jobs use it", "Deployment": "this starts a rollout that replaces the pods",
            "DaemonSet": "this starts a rollout that replaces the pods",
            "StatefulSet": "pods created from now on use it"}.get(kind, "new pods use it")
    plan.steps.append(Step("patch", kind, ns, name, body=body, before=obj, after=after, content_type=JSON_PATCH,
                           description=f"add {secret} to {_ref(obj)}'s pod template imagePullSecrets ({what})",
                           undo=_kubectl("patch", KUBECTL_NAMES.get(kind, kind.lower()), name, "-n", ns,
                                         "--type=json", "-p", json.dumps(undo, separators=(",", ":")))))
    return True


def _guarded_append(obj: dict, path: tuple[str, ...], key: str, entry: dict) -> list[dict]:
    """A JSON patch appending ``entry`` to the list ``path``/``key`` of ``obj``, conditional on what was read:
    it tests the list (or, when there is none, the deepest part of ``path`` that exists) before adding."""
    node: object = obj
    depth = 0
    for part in path:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            break
        node = node[part]
        depth += 1
    if depth == len(path) and isinstance(node, dict) and isinstance(node.get(key), list):
        where = pointer(*path, key)
        return [{"op": "test", "path": where, "value": copy.deepcopy(node[key])},
                {"op": "add", "path": where + "/-", "value": entry}]
    missing = _nest(path[depth:], {key: [entry]})
    first = (path[depth:] + (key,))[0]
    return [{"op": "test", "path": pointer(*path[:depth]), "value": copy.deepcopy(node)},
            {"op": "add", "path": pointer(*path[:depth], first), "value": missing[first]}]


def recreate_manifest(pod: dict, sa_list_before: list[str] | None = None) -> dict:
    """The manifest to create a bare pod again (workload.recreate_manifest); the pull secrets the
    ServiceAccount admission copied in are dropped too, so it copies the ServiceAccount's new list."""
    out = bare_pod_manifest(pod)
    spec = out["spec"]
    if sa_list_before is not None and names_of(spec.get("imagePullSecrets")) == sa_list_before:
        spec.pop("imagePullSecrets", None)
    return out


def _restart_steps(plan: Plan, sit: Situation, rolled_out: bool, recreate_bare: bool) -> None:
    ns = sit.namespace
    workload = top_workload(sit.owners)
    pods = sit.failing_pods or ([sit.pod] if sit.pod else [])
    mirrors = [p for p in pods if static_pod_node(p) is not None]
    owned = [p for p in pods if controller_ref(p) and p not in mirrors]
    bare = [p for p in pods if not controller_ref(p) and p not in mirrors]
    for pod in mirrors:  # deleting the API's copy restarts nothing, and a static pod cannot use a Secret
        plan.warnings.append(f"pod {dig(pod, 'metadata.name')} is the mirror of a static pod (run by the kubelet on "
                             f"node {static_pod_node(pod)} from a manifest file): it is not deleted, and a static pod "
                             "cannot use a Secret: give the node's container runtime the registry credentials")
    if rolled_out and workload is not None:
        plan.notes.append(f"{_ref(workload)} replaces its pods itself after the template change: no pod is deleted")
    else:
        for pod in owned:
            pname = dig(pod, "metadata.name")
            ref = controller_ref(pod)
            plan.steps.append(Step("delete", "Pod", ns, pname, before=pod, uid=dig(pod, "metadata.uid"),
                                   description=f"delete pod {pname} (failing to pull) so its "
                                               f"{ref.get('kind', 'controller').lower()} {ref.get('name')} creates "
                                               "a new one that pulls at once instead of waiting out the back-off",
                                   undo="(not needed: the controller creates a new pod)"))
    sa_before = names_of((sit.service_account or {}).get("imagePullSecrets"))
    for pod in bare:
        pname = dig(pod, "metadata.name")
        manifest = recreate_manifest(pod, sa_before)
        if recreate_bare:
            plan.steps.append(Step("delete", "Pod", ns, pname, before=pod, uid=dig(pod, "metadata.uid"),
                                   resource_version=dig(pod, "metadata.resourceVersion"),
                                   description=f"delete bare pod {pname} (no controller will recreate it; its "
                                               "manifest is saved to a file first)",
                                   undo="(the next step creates it again)"))
            plan.steps.append(Step("create", "Pod", ns, pname, body=manifest, after=manifest,
                                   description=f"create pod {pname} again from its manifest",
                                   undo=_kubectl("delete", "pod", pname, "-n", ns)))
        else:
            plan.warnings.append(f"pod {pname} has no controller and is not deleted. To recreate it with the new "
                                 f"secret: kubectl delete pod {pname} -n {ns}, then kubectl create -f this "
                                 f"manifest:\n{to_yaml(manifest)}")
    if plan.wait is None and (owned or rolled_out or (bare and recreate_bare)):
        plan.wait = wait_spec(sit, pods, rolled_out, recreate_bare)


def wait_spec(sit: Situation, pods: list[dict], rolled_out: bool, recreate_bare: bool) -> WaitSpec:
    workload = top_workload(sit.owners)
    uids = [dig(p, "metadata.uid") for p in pods if dig(p, "metadata.uid")]
    if workload is not None:
        # the controller chain nearest the pods decides which pods are "its" (a Job's controller-uid label)
        selector_owner = workload if workload.get("kind") != "CronJob" else (sit.owners[0] if sit.owners else workload)
        if rolled_out:
            expect = int(dig(workload, "spec.replicas") or 1) if workload.get("kind") != "DaemonSet" else len(pods)
        else:
            expect = len([p for p in pods if controller_ref(p)])
        return WaitSpec(sit.namespace, workload.get("kind"), dig(workload, "metadata.name"),
                        selector_string(dig(selector_owner, "spec.selector")) or None, uids, expect=max(expect, 1))
    if sit.pod is not None and not controller_ref(sit.pod) and recreate_bare:
        return WaitSpec(sit.namespace, pod_name=dig(sit.pod, "metadata.name"), old_uids=uids, expect=1)
    ref = controller_ref(sit.pod) or {}
    labels = dig(sit.pod, "metadata.labels", {}) or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())
                        if k not in ("pod-template-hash", "controller-revision-hash",
                                     "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index"))
    return WaitSpec(sit.namespace, ref.get("kind"), ref.get("name"), selector or None, uids,
                    expect=max(len([p for p in pods if controller_ref(p)]), 1))
