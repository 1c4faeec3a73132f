"""Memory quantities: parsing Kubernetes quantities, printing byte sizes, a container's memory limit and
request, and its current use from metrics.k8s.io. Shared with the pod family (eviction, admission)."""

from __future__ import annotations

import re

from kubectl_podfix.diagnose.model import PodContext, dig

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "m": 1e-3, "u": 1e-6, "n": 1e-9, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_quantity(value) -> float | None:
    """A Kubernetes quantity ("512Mi", "1.5", "250m", "1e3") as a number; None when unparsable."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m or m.group(2) not in _SUFFIX:
        return None
    try:
        return float(m.group(1)) * _SUFFIX[m.group(2)]
    except ValueError:
        return None


def format_bytes(value: float | None) -> str:
    if value is None:
        return "?"
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= size:
            num = value / size
            return f"{num:.1f}{unit}".replace(".0" + unit, unit)
    return f"{int(value)}"


def container_resources(spec: dict) -> tuple[float | None, float | None]:
    """(memory limit, memory request) in bytes."""
    res = spec.get("resources") or {}
    limit = parse_quantity(dig(res, "limits.memory"))
    request = parse_quantity(dig(res, "requests.memory"))
    if request is None and limit is not None:
        request = limit  # the API server defaults the request to the limit
    return limit, request


def metrics_usage(ctx: PodContext, container: str) -> dict | None:
    pm = ctx.snapshot.metrics.get((ctx.namespace, ctx.name))
    for c in (pm or {}).get("containers") or []:
        if c.get("name") == container:
            return c.get("usage") or {}
    return None
