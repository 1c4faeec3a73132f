"""A volumeMount the container could not get: subPath and hostPath problems, read against the pod spec.

Two places report them. The kubelet, while it prepares the container's mounts
(kubelet_pods.go makeMounts, reported as CreateContainerConfigError):

* ``failed to prepare subPath for volumeMount "m" of container "c"``
* ``failed to create subPath directory for volumeMount "m" of container "c"``
* ``error SubPath `/x` must not be an absolute path``
* ``unable to provision SubPath `../x`: must not contain '..'``
* ``missing value for POD_NAME`` (a subPathExpr variable that is unset or empty)
* ``cannot find volume "m" to mount into container "c"``
* ``stat /data/app: no such file or directory`` (the volume's own directory is missing on the node)

And the OCI runtime, when it bind-mounts them into the root filesystem
(RunContainerError/StartError/ContainerCannotRun, or CreateContainerError on
CRI-O): ``mounting "/var/lib/kubelet/pods/<uid>/volume-subpaths/<volume>/<container>/<index>"
to rootfs "..." at "<rootfs>/etc/app.cfg" caused "not a directory": ... Are you trying to
mount a directory onto a file (or vice-versa)?`` and, from runc 1.1, ``error mounting
"<src>" to rootfs at "/etc/app.cfg": ...: not a directory``.

``mount_failure`` names the mount, the volume and what is wrong with them.
Pure: it reads the message, the container spec and the objects in the data.
"""

from __future__ import annotations

import re

from kubectl_podfix.diagnose.model import PodContext, dig
from kubectl_podfix.diagnose.rules.common import kubectl, node_phrase

_Q = r"[\"']"
_KUBELET = (
    (re.compile(rf"failed to prepare subPath for volumeMount {_Q}(?P<mount>[^\"']+){_Q} of container "
                rf"{_Q}(?P<container>[^\"']*){_Q}"), "prepare"),
    (re.compile(rf"failed to create subPath directory for volumeMount {_Q}(?P<mount>[^\"']+){_Q} of container "
                rf"{_Q}(?P<container>[^\"']*){_Q}"), "create-dir"),
    (re.compile(r"SubPath `(?P<subpath>[^`]*)` must not be an absolute path"), "absolute"),
    (re.compile(r"unable to provision SubPath `(?P<subpath>[^`]*)`: (?P<why>.+)"), "backsteps"),
    (re.compile(r"^missing value for (?P<vars>[\w, ]+)$"), "expr-missing"),
    (re.compile(rf"cannot find volume {_Q}(?P<mount>[^\"']+){_Q} to mount into container"), "no-volume"),
    (re.compile(r"^stat (?P<path>/\S+): no such file or directory$"), "volume-dir-missing"),
)
_RUNC_OLD = re.compile(r'mounting \\*"(?P<src>[^"\\]+)\\*" to rootfs (?:\\*"(?P<root>[^"\\]+)\\*" )?at '
                       r'\\*"(?P<dst>[^"\\]+)\\*"')
_RUNC_NEW = re.compile(r'error mounting \\*"(?P<src>[^"\\]+)\\*" to rootfs at \\*"(?P<dst>[^"\\]+)\\*"')
_SUBPATH_SRC = re.compile(r"/volume-subpaths/(?P<volume>[^/]+)/(?P<container>[^/]+)/(?P<index>\d+)")
_VOLUME_SRC = re.compile(r"/volumes/kubernetes\.io~(?P<plugin>[^/]+)/(?P<volume>[^/\s\"\\]+)")
# containerd generating the spec: it could not stat a mount source, tried to create it, and found it there
# (`failed to mkdir "/var/lib/kubelet/pods/<uid>/volume-subpaths/<vol>/<ctr>/<i>": mkdir ...: file exists`).
_MKDIR_EXISTS = re.compile(r'failed to mkdir \\*"(?P<path>[^"\\]+)\\*": mkdir \S+: file exists')
_MISMATCH = ("not a directory", "mount a directory onto a file", "is a directory", "file exists")


def _mounts(spec: dict) -> list[dict]:
    return [m for m in spec.get("volumeMounts") or [] if isinstance(m, dict)]


def _volume(ctx: PodContext, name: str | None) -> dict:
    for v in dig(ctx.pod, "spec.volumes", []) or []:
        if isinstance(v, dict) and v.get("name") == name:
            return v
    return {}


def _source(ctx: PodContext, vol: dict) -> tuple[str, str]:
    """(what the volume is, in words; the ConfigMap/Secret name when it is one)."""
    if vol.get("configMap"):
        name = dig(vol, "configMap.name") or ""
        return f'ConfigMap "{name}"', name
    if vol.get("secret"):
        name = dig(vol, "secret.secretName") or ""
        return f'Secret "{name}"', name
    if vol.get("hostPath"):
        kind = dig(vol, "hostPath.type") or ""
        return f"hostPath {dig(vol, 'hostPath.path') or ''}" + (f" (type {kind})" if kind else ""), ""
    if vol.get("persistentVolumeClaim"):
        return f'PVC "{dig(vol, "persistentVolumeClaim.claimName") or ""}"', ""
    for key in ("emptyDir", "projected", "nfs", "csi", "downwardAPI", "ephemeral"):
        if key in vol:
            return key, ""
    return "", ""


def _object_keys(ctx: PodContext, vol: dict) -> tuple[str, list[str] | None]:
    """The ConfigMap/Secret kind and its keys when the object is in the data (None when unknown)."""
    if vol.get("configMap"):
        kind, name = "ConfigMap", dig(vol, "configMap.name")
    elif vol.get("secret"):
        kind, name = "Secret", dig(vol, "secret.secretName")
    else:
        return "", None
    obj = ctx.related(kind, name or "")
    if obj is None:
        return kind, None
    keys = list((obj.get("data") or {}).keys()) + list((obj.get("binaryData") or {}).keys())
    items = [i.get("path") for i in (dig(vol, f"{'configMap' if kind == 'ConfigMap' else 'secret'}.items") or [])
             if isinstance(i, dict) and i.get("path")]
    return kind, items or keys


def _describe(mount: dict) -> str:
    sub = mount.get("subPath") or mount.get("subPathExpr")
    what = f"volumeMount {mount.get('name')!r} at {mount.get('mountPath')}"
    if mount.get("subPathExpr"):
        what += f" with subPathExpr {sub!r}"
    elif sub:
        what += f" with subPath {sub!r}"
    return what


def mount_failure(ctx: PodContext, spec: dict, msg: str) -> dict | None:
    """What is wrong with one of the container's volume mounts, from a kubelet or runtime message.

    Returns {"kind", "mount", "volume", "target", "title", "explanation", "suggestions"} or None when the
    message is not about a volume mount.
    """
    text = msg or ""
    mounts = _mounts(spec)
    name = spec.get("name") or "?"
    for rx, kind in _KUBELET:
        m = rx.search(text.strip())
        if m:
            return _kubelet_failure(ctx, spec, mounts, kind, m.groupdict(), name)
    mk = _MKDIR_EXISTS.search(text)
    if mk and _SUBPATH_SRC.search(mk.group("path")):
        return _stale_subpath(ctx, spec, mounts, {"src": mk.group("path"), "dst": "", "root": ""}, name,
                              mkdir=True)
    m = _RUNC_OLD.search(text) or _RUNC_NEW.search(text)
    if m and any(w in text.lower() for w in _MISMATCH):
        return _runtime_failure(ctx, spec, mounts, m.groupdict(), text, name)
    if m and "no such file or directory" in text.lower() and _SUBPATH_SRC.search(m.group("src")):
        return _stale_subpath(ctx, spec, mounts, m.groupdict(), name)
    return None


def _stale_subpath(ctx: PodContext, spec: dict, mounts: list[dict], g: dict, name: str, mkdir: bool = False) -> dict:
    """A subPath bind mount whose source vanished (a ConfigMap/Secret edited under a running pod), or that
    the runtime cannot use any more (left behind by a restart: containerd's "failed to mkdir ... file exists")."""
    sp = _SUBPATH_SRC.search(g.get("src") or "")
    idx = int(sp.group("index")) if sp else -1
    vol_name = sp.group("volume") if sp else ""
    mount = mounts[idx] if 0 <= idx < len(mounts) and mounts[idx].get("name") == vol_name else _find_mount(
        mounts, name=vol_name)
    vol = _volume(ctx, vol_name)
    source, _ = _source(ctx, vol)
    dst, root = g.get("dst") or "", g.get("root") or ""
    target = dst[len(root):] if root and dst.startswith(root) else dst
    if "/merged/" in target:
        target = "/" + target.split("/merged/", 1)[1]
    target = target or mount.get("mountPath") or "?"
    sub = mount.get("subPath") or mount.get("subPathExpr") or "?"
    title = f"{name}: the subPath mount of volume {vol_name or '?'} at {target} points to a file that is gone"
    expl = (f"The runtime could not bind-mount subPath {sub!r} of volume {vol_name or '?'}"
            + (f" ({source})" if source else "") + f" at {target}: its source no longer exists (no such file or "
            "directory). A subPath of a ConfigMap or Secret is bound to the file version of the moment the "
            "container was first created and never follows updates; once the object is edited, the old version "
            "is removed and the next start of the container fails like this (kubernetes#68211). Delete the pod so "
            "the kubelet prepares the subPath again. To receive updates, mount the whole volume at a directory "
            "instead of using subPath.")
    if mkdir:
        title = (f"{name}: the prepared subPath of volume {vol_name or '?'} is stale on "
                 f"{node_phrase(dig(ctx.pod, 'spec.nodeName'))}")
        expl = (f"The runtime could not use the subPath bind mount the kubelet prepared for volume {vol_name or '?'}"
                + (f" ({source})" if source else "") + (f" at {target}" if target != "?" else "") + ": it could not "
                "read it, tried to create it, and found it already there (\"file exists\"). This is a subPath "
                "mount left behind under /var/lib/kubelet/pods/.../volume-subpaths by an earlier run, a kubelet or "
                "containerd restart or a reboot, not a problem in the pod spec. Delete the pod so the kubelet "
                "prepares fresh mounts; if it keeps happening on that node, restart the kubelet and containerd "
                "(reported on k0s and NixOS nodes).")
    elif vol and not any(k in vol for k in ("configMap", "secret", "projected", "downwardAPI")):
        expl = (f"The runtime could not bind-mount subPath {sub!r} of volume {vol_name}"
                + (f" ({source})" if source else "") + f" at {target}: its source no longer exists (no such file or "
                "directory). The subPath was prepared by the kubelet and then removed or replaced in the volume "
                "(by another container or the storage itself) before the container started. Delete the pod so the "
                "kubelet prepares the subPath again, and check what rewrites that path in the volume.")
    return {"kind": "subpath-stale", "mount": mount.get("name") or vol_name, "volume": vol_name, "target": target,
            "title": title, "explanation": expl,
            "suggestions": [kubectl(ctx, "delete", "pod", ctx.name) + "   (its controller recreates it)"]}


def _find_mount(mounts: list[dict], **want) -> dict:
    for mt in mounts:
        if all(mt.get(k) == v for k, v in want.items() if v):
            return mt
    return {}


def _kubelet_failure(ctx: PodContext, spec: dict, mounts: list[dict], kind: str, g: dict, name: str) -> dict:
    mount = _find_mount(mounts, name=g.get("mount"))
    if kind in ("absolute", "backsteps"):
        mount = next((mt for mt in mounts if g.get("subpath") in (mt.get("subPath"), mt.get("subPathExpr"))), mount)
        mount = mount or next((mt for mt in mounts if mt.get("subPathExpr")), {})
    if kind == "expr-missing":
        mount = next((mt for mt in mounts if mt.get("subPathExpr")), {})
    vol = _volume(ctx, mount.get("name") or g.get("mount"))
    source, _ = _source(ctx, vol)
    vol_name = mount.get("name") or g.get("mount") or "?"
    where = _describe(mount) if mount else f"volumeMount {vol_name!r}"
    node = node_phrase(dig(ctx.pod, "spec.nodeName"))
    sugs: list[str] = []
    if kind == "prepare":
        title = f"{name}: the kubelet could not bind-mount the subPath of volumeMount {vol_name!r}"
        expl = (f"Before creating the container the kubelet bind-mounts each subPath out of its volume; for the "
                f"{where}" + (f" (volume {vol_name}: {source})" if source else "")
                + " that failed. The kubelet keeps the reason in its own log "
                "(it is not passed to the pod). Usual causes: the subPath is a symlink or leads outside the volume "
                "(refused since the CVE-2017-1002101 fix), the volume's storage went away under it (a stale NFS/SMB "
                "or CSI mount), a bind mount left behind by an earlier run of the container (a kubelet bug of "
                "1.7.14, 1.8.9 and 1.9.4, fixed in the next patch releases; read-only volumes until 1.8.14, 1.9.9, "
                "1.10.4).")
        sugs.append(f"on {node}: journalctl -u kubelet | grep -i subpath   (the real error)")
    elif kind == "create-dir":
        title = f"{name}: the kubelet could not create the subPath directory of volumeMount {vol_name!r}"
        expl = (f"The subPath of the {where} does not exist in volume {vol_name}"
                + (f" ({source})" if source else "") + ", so the kubelet tried "
                "to create it as a directory, and could not: the volume is read-only, it is an NFS export that "
                "squashes root (root_squash/all_squash) or a share that denies the kubelet, or its storage is not "
                "reachable. Create the directory in the volume first (an init container running mkdir -p, or on "
                "the storage itself), or allow the kubelet to write there.")
        sugs.append(f"on {node}: journalctl -u kubelet | grep -i subpath   (the real error)")
    elif kind == "absolute":
        title = f"{name}: subPath {g.get('subpath')!r} is an absolute path"
        expl = (f"The {where} uses subPath {g.get('subpath')!r}, which must be relative to the volume's root: "
                "remove the leading '/'." + (" With subPathExpr, an expanded variable produced the absolute path."
                                               if mount.get("subPathExpr") else ""))
    elif kind == "backsteps":
        title = f"{name}: subPath {g.get('subpath')!r} leaves its volume ('..')"
        expl = (f"The {where} uses subPath {g.get('subpath')!r}: {g.get('why') or 'it is not allowed'}. A subPath "
                "may not contain '..', so it cannot reach outside its volume." +
                (" With subPathExpr, an expanded variable produced it." if mount.get("subPathExpr") else ""))
    elif kind == "expr-missing":
        env_names = {e.get("name") for e in spec.get("env") or [] if isinstance(e, dict)}
        missing = [v.strip() for v in (g.get("vars") or "").split(",") if v.strip()]
        undeclared = [v for v in missing if v not in env_names]
        title = f"{name}: subPathExpr needs {', '.join(missing) or 'a variable'}, which has no value"
        expl = (f"The {where} expands $({', '.join(missing)}) from the container's env, and "
                + ("it is not declared in the container's env" if undeclared else "it is empty")
                + ": subPathExpr only sees the container's own env (declare it, e.g. from the downward API "
                "fieldRef metadata.name), not the image's or another container's.")
    elif kind == "no-volume":
        title = f"{name}: volumeMount {vol_name!r} names no volume the kubelet has"
        expl = (f"The container mounts {vol_name!r}, but the kubelet has no mounted volume of that name for the "
                "pod: the volume is missing from spec.volumes, or it failed to mount (see the pod's FailedMount "
                "events).")
    else:  # volume-dir-missing
        title = f"{name}: the directory behind a volume does not exist on {node} ({g.get('path')})"
        expl = (f"Preparing a subPath the kubelet looked at {g.get('path')}, the volume's own directory on the "
                "node, and it does not exist: a hostPath-backed PersistentVolume (local-path, a manual hostPath PV, "
                "a kind/k3d/minikube host mount) whose directory is missing on this node, or was never created.")
        sugs.append(f"on {node}: ls -ld {g.get('path')}")
    return {"kind": "subpath-" + kind, "mount": mount.get("name") or g.get("mount"), "volume": vol_name,
            "target": mount.get("mountPath"), "title": title, "explanation": expl, "suggestions": sugs}


def _runtime_failure(ctx: PodContext, spec: dict, mounts: list[dict], g: dict, text: str, name: str) -> dict:
    src, dst, root = g.get("src") or "", g.get("dst") or "", g.get("root") or ""
    target = dst[len(root):] if root and dst.startswith(root) else dst
    if "/merged/" in target:
        target = "/" + target.split("/merged/", 1)[1]
    sp = _SUBPATH_SRC.search(src)
    vs = _VOLUME_SRC.search(src)
    mount: dict = {}
    if sp:
        idx = int(sp.group("index"))
        mount = mounts[idx] if 0 <= idx < len(mounts) and mounts[idx].get("name") == sp.group("volume") else {}
        mount = mount or _find_mount(mounts, name=sp.group("volume"), mountPath=target or None)
    elif vs:
        mount = _find_mount(mounts, name=vs.group("volume"))
    mount = mount or next((mt for mt in mounts if target and mt.get("mountPath") == target), {})
    vol_name = mount.get("name") or (sp.group("volume") if sp else vs.group("volume") if vs else "")
    vol = _volume(ctx, vol_name)
    source, _obj = _source(ctx, vol)
    target = target or mount.get("mountPath") or "?"
    sub = mount.get("subPath") or mount.get("subPathExpr")
    sugs: list[str] = []
    if sp or sub:
        okind, keys = _object_keys(ctx, vol)
        title = (f"{name}: subPath {sub or '?'!r} of volume {vol_name or '?'} cannot be mounted at {target} "
                 "(file vs directory)")
        expl = (f"The runtime could not bind-mount subPath {sub or '?'!r} of volume {vol_name or '?'}"
                + (f" ({source})" if source else "") + f" at {target}: it tried to mount a directory onto a file "
                "(or the reverse); \"not a directory\" is not a disk problem. Most often the subPath does not exist "
                "in the volume, so the kubelet created an empty directory of that name, which cannot go onto the "
                f"file {target} in the image; or mountPath names a directory while subPath is a single file.")
        if okind and keys is not None:
            if sub in keys:
                expl += f" {okind} key {sub!r} exists, so check that {target} is meant to be a file in the image."
            else:
                expl += (f" {okind} has no key {sub!r} (it has: {', '.join(sorted(keys)) or 'no keys'}): "
                         "fix the subPath "
                         "or add the key.")
        elif okind:
            expl += f" Check that {sub!r} is a key of the {okind}."
        parent = next((mt for mt in mounts if mt is not mount and mt.get("mountPath") and target.startswith(
            mt["mountPath"].rstrip("/") + "/")), None)
        pvol = _volume(ctx, parent.get("name")) if parent else {}
        if parent and any(k in pvol for k in ("configMap", "secret", "projected", "downwardAPI")):
            expl += (f" {target} also lies inside {parent['mountPath']}, where volume {parent.get('name')} "
                     f"({_source(ctx, pvol)[0]}) is mounted: ConfigMap/Secret/projected volumes are rewritten as a "
                     "whole (symlinks swapped on every update) and cannot hold another mount; mount the file "
                     "elsewhere or put it into that volume.")
        sugs.append("make subPath name an existing file of the volume (for a ConfigMap/Secret: one of its keys) "
                    "and mountPath the file's full path in the container")
    else:
        title = (f"{name}: volume {vol_name or '?'} is a directory and cannot be mounted onto the file {target}"
                 if vs else f"{name}: a mount at {target} mixes up a file and a directory")
        what = (f"volume {vol_name}" + (f" ({source})" if source else "")) if vol_name else src
        expl = (f"The runtime could not mount {what} at {target}: it tried to mount a directory onto a file (or "
                "the reverse). A whole ConfigMap/Secret/emptyDir volume is a "
                f"directory (each key a file in it), and {target} exists in the image as a file. Mount the volume at "
                f"a directory, or mount just one key with subPath (e.g. mountPath {target} with subPath "
                f"{target.rsplit('/', 1)[-1]!r}).")
        if vol.get("hostPath"):
            expl = (f"The runtime could not mount hostPath {dig(vol, 'hostPath.path')} (volume {vol_name}) at "
                    f"{target}: one is a file and the other a directory. Without a hostPath type, a missing path "
                    "is created on the node as an empty directory; give the volume type File/Socket/Directory so "
                    "the kubelet checks it first, and make sure the path exists on the node as what the image "
                    "expects.")
        sugs.append(f"fix mountPath/subPath of volumeMount {vol_name!r} so a file goes onto a file and a directory "
                    "onto a directory")
    return {"kind": "mount-type", "mount": mount.get("name") or vol_name, "volume": vol_name, "target": target,
            "title": title, "explanation": expl, "suggestions": sugs}
