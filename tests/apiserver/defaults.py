"""What the real server fills in on create: pod defaults (and QoS class), Secret type, fresh status."""

from __future__ import annotations

from .resources import STATUS_KINDS, Res


def qos_class(containers: list[dict]) -> str:
    rs = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in rs):
        return "BestEffort"
    for r in rs:
        lim, req = r.get("limits") or {}, r.get("requests") or {}
        if not {"cpu", "memory"} <= set(lim) or any(req.get(k, lim[k]) != lim[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def apply_defaults(res: Res, obj: dict) -> None:
    if res.kind == "Pod":
        spec = obj.setdefault("spec", {})
        for k, v in (("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst"), ("schedulerName",
                     "default-scheduler"), ("serviceAccountName", "default"), ("terminationGracePeriodSeconds",
                     30), ("enableServiceLinks", True), ("priority", 0)):
            spec.setdefault(k, v)
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            image = c.get("image") or ""
            latest = "@" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"))
            c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec.get("containers") or [])}
    elif res.kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif res.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif res.kind in STATUS_KINDS:
        obj["status"] = {}
