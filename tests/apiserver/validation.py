"""What the real server's validation rejects on create/update (422 Invalid), for the fields podfix writes."""

from __future__ import annotations

import copy
import re

from .resources import Res, dig
from .status import invalid

POD_FORBIDDEN = ("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                 "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                 "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
                 "was previously negative)")
DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def validate(res: Res, obj: dict, old: dict | None) -> None:
    meta, name = obj["metadata"], obj["metadata"].get("name") or ""
    errors = []
    if not name:
        errors.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif not DNS1123.fullmatch(name) or len(name) > 253:
        errors.append(("metadata.name", "FieldValueInvalid",
                       f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                       "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
    if res.kind == "Pod":
        containers = dig(obj, "spec.containers") or []
        if not containers:
            errors.append(("spec.containers", "FieldValueRequired", "Required value"))
        for i, c in enumerate(containers):
            for f in ("name", "image"):
                if not c.get(f):
                    errors.append((f"spec.containers[{i}].{f}", "FieldValueRequired", "Required value"))
        if old is not None and not errors and pod_spec_changed(old.get("spec") or {}, obj.get("spec") or {}):
            errors.append(("spec", "FieldValueForbidden", POD_FORBIDDEN.split(": ", 1)[1]))
    if errors:
        raise invalid(res, name, errors)


def pod_spec_changed(old: dict, new: dict) -> bool:
    new = copy.deepcopy(new)
    for k in ("containers", "initContainers"):
        olds, news = old.get(k) or [], new.get(k) or []
        if len(olds) == len(news):
            for o, n in zip(olds, news):
                if "image" in o and isinstance(n, dict):
                    n["image"] = o["image"]
    for k in ("activeDeadlineSeconds", "terminationGracePeriodSeconds"):
        new.pop(k, None)
        if k in old:
            new[k] = old[k]
    if all(t in (new.get("tolerations") or []) for t in old.get("tolerations") or []):
        new.pop("tolerations", None)
        if "tolerations" in old:
            new["tolerations"] = old["tolerations"]
    return new != old
