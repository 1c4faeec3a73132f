"""The three patch formats a PATCH may carry: strategic merge (for the built-in types), RFC 7386, RFC 6902."""

from __future__ import annotations

import copy

DELETE = object()
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
              "ports": "containerPort", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
              "imagePullSecrets": "name", "ownerReferences": "uid", "conditions": "type", "hostAliases": "ip",
              "topologySpreadConstraints": "topologyKey", "resourceClaims": "name", "schedulingGates": "name"}
PRIMITIVE_MERGE = {"finalizers"}


def _strip(v):
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items() if not k.startswith("$")}
    return [_strip(x) for x in v] if isinstance(v, list) else v


def strategic_merge(orig, patch):
    """Strategic merge patch for the built-in types podfix patches (merge keys by field name)."""
    if not isinstance(patch, dict):
        return _strip(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return DELETE
    if directive == "replace":
        return _strip(patch)
    out = dict(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            out[f] = [x for x in out.get(f) or [] if x not in v]
        elif k.startswith("$"):
            continue
        elif v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            merged = strategic_merge(out.get(k), v)
            if merged is DELETE:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list) and k in MERGE_KEYS:
            out[k] = _merge_list(out.get(k) or [], v, MERGE_KEYS[k])
        elif isinstance(v, list) and k in PRIMITIVE_MERGE:
            out[k] = list(out.get(k) or []) + [x for x in v if x not in (out.get(k) or [])]
        elif isinstance(v, list):
            out[k] = [_strip(e) for e in v if not (isinstance(e, dict) and "$patch" in e)]
        else:
            out[k] = _strip(v)
    if isinstance(patch.get("$retainKeys"), list):
        out = {k: v for k, v in out.items() if k in patch["$retainKeys"]}
    return out


def _merge_list(orig: list, patch: list, key: str) -> list:
    if any(isinstance(e, dict) and e.get("$patch") == "replace" for e in patch):
        return [_strip(e) for e in patch if not (isinstance(e, dict) and "$patch" in e)]
    out = copy.deepcopy(orig)
    for e in patch:
        if not isinstance(e, dict):
            out.append(e)
            continue
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == e.get(key)), None)
        if e.get("$patch") == "delete":
            out = [o for o in out if not (isinstance(o, dict) and o.get(key) == e.get(key))]
        elif idx is None:
            out.append(_strip(e))
        else:
            out[idx] = strategic_merge(out[idx], e)
    return out


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(doc, ops):
    """RFC 6902 (add, remove, replace, move, copy, test); raises ValueError like evanphx/json-patch."""
    root = {"": copy.deepcopy(doc)}

    def locate(path):  # -> (container, key) of the pointer's last step
        if path and not path.startswith("/"):
            raise ValueError(path)
        parts = [""] + [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        cur = root
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return (cur, len(cur) if parts[-1] == "-" else int(parts[-1])) if isinstance(cur, list) else (cur, parts[-1])

    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        try:
            if kind in ("move", "copy"):
                src, skey = locate(op.get("from", ""))
                value = src.pop(skey) if kind == "move" else copy.deepcopy(src[skey])
            else:
                value = copy.deepcopy(op.get("value"))
            cur, key = locate(path)
            if kind in ("remove", "replace", "test"):
                current = cur[key]
        except (KeyError, IndexError, TypeError, ValueError):
            raise ValueError(f'{kind} operation does not apply: doc is missing path: "{path}": missing value') from None
        if kind == "test" and current != value:
            raise ValueError(f"testing value {path} failed: test failed")
        if kind == "remove":
            del cur[key]
        elif kind == "replace" or (kind in ("add", "move", "copy") and not isinstance(cur, list)):
            cur[key] = value
        elif kind in ("add", "move", "copy"):
            if key > len(cur):
                raise ValueError(f"unable to access invalid index: {key}: invalid index referenced")
            cur.insert(key, value)
        elif kind != "test":
            raise ValueError(f"Unexpected kind: {kind}")
    return root[""]
