"""Plan ``fix memory``: raise an OOM-killed container's memory limit (and request) on its workload.

Pure: the command reads the workload, the pod's metrics and the nodes; this
module decides the new values and builds the patch.

The default new limit is the larger of twice the current limit and the
observed peak plus 25 % headroom, rounded *up* to a sensible quantity
(multiples of 64Mi below 1Gi, of 256Mi above). The request is raised only
when it would otherwise exceed the new limit (the API server rejects a
request above its limit). A limit above the largest node's allocatable
memory is refused: no pod with it could ever be scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.errors import Exit, PodfixError, Refused, UsageError
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import Plan
from kubectl_podfix.fix.quantity import format_quantity, parse_quantity

FIX_ID = "memory"
HEADROOM = Decimal("1.25")
MI = 1024 ** 2
GI = 1024 ** 3


@dataclass
class MemoryInput:
    """What the command read, for the planner."""

    workload: wl.Workload
    container: str
    peak: Decimal | None = None  # observed memory use in bytes (metrics.k8s.io), when available
    node_max: Decimal | None = None  # the largest node allocatable memory in bytes; None = unknown
    node_max_name: str | None = None
    node_note: str | None = None  # why the largest-node capacity check was skipped
    metrics_note: str | None = None  # why no peak is known


def quantity(value, flag: str = "quantity") -> Decimal | None:
    """A container resource value as a Decimal (None when absent)."""
    if value is None or value == "":
        return None
    return parse_quantity(str(value), flag)


def round_up_memory(amount: Decimal) -> Decimal:
    """Round bytes up to a sensible limit: a multiple of 64Mi below 1Gi, of 256Mi from 1Gi."""
    step = 64 * MI if amount < GI else 256 * MI
    units = -(-int(amount.to_integral_value(rounding="ROUND_CEILING")) // step)
    return Decimal(max(units, 1) * step)


def human(amount: Decimal | None) -> str:
    return "none" if amount is None else format_quantity(amount)


def default_limit(limit: Decimal | None, request: Decimal | None, peak: Decimal | None) -> Decimal | None:
    """max(2 x limit, peak x 1.25), rounded up; without a limit, from the request or the peak."""
    candidates = []
    base = limit if limit is not None else request
    if base is not None and base > 0:
        candidates.append(base * 2)
    if peak is not None and peak > 0:
        candidates.append(peak * HEADROOM)
    if not candidates:
        return None
    return round_up_memory(max(candidates))


def plan_memory(inp: MemoryInput, *, memory: str | None = None) -> Plan:
    """The patch that raises ``inp.container``'s memory limit on the top controller."""
    w = inp.workload
    ns = w.namespace
    pod_name = dig(w.pod, "metadata.name") if w.pod else None
    top = w.top
    if top is None and w.pod is None:
        raise PodfixError("no pod to fix: the workload has no pods and no pod was named")
    source, container = wl.target_container(w, inp.container)
    limit = quantity(dig(container, "resources.limits.memory"), "current memory limit")
    request = quantity(dig(container, "resources.requests.memory"), "current memory request")
    plan = Plan(FIX_ID, f"raise the memory limit of container {inp.container} of "
                        f"{wl.ref(source)}", ns, pod=pod_name)
    if memory is not None:
        new = parse_quantity(memory, "--memory")
        if new <= 0:
            raise UsageError(f"invalid --memory {memory!r}: must be more than 0")
        new_text = memory
        why = "as asked (--memory)"
        if limit is not None and new <= limit:
            plan.warnings.append(f"--memory {memory} is not above the current limit {human(limit)} the container "
                                 "was OOM-killed at: expect it to be killed again")
    else:
        new = default_limit(limit, request, inp.peak)
        if new is None:
            raise Refused(f"container {inp.container} has no memory limit or request and no usage metrics are "
                             "available, so podfix cannot pick a value: pass --memory, e.g. --memory 512Mi")
        new_text = format_quantity(new)
        parts = []
        if limit is not None:
            parts.append(f"2 x the current limit {human(limit)}")
        elif request is not None:
            parts.append(f"2 x the request {human(request)} (no limit set)")
        if inp.peak is not None:
            parts.append(f"observed peak {human(round_up_memory(inp.peak) if inp.peak > 0 else inp.peak)} "
                         f"+ 25% headroom")
        why = "the larger of " + " and ".join(parts) if len(parts) > 1 else parts[0]
        why += ", rounded up"
    if inp.node_max is not None and new > inp.node_max:
        raise PodfixError(
            f"refusing a memory limit of {new_text}: the largest node ({inp.node_max_name}) has only "
            f"{human(inp.node_max)} allocatable, so the pod could never be scheduled. Choose --memory at most "
            f"{human(inp.node_max)}, add bigger nodes, or reduce the application's memory use", Exit.REFUSED)
    if inp.node_note:
        plan.notes.append(inp.node_note)
    if inp.metrics_note and memory is None:
        plan.notes.append(inp.metrics_note)
    fields: dict = {"resources": {"limits": {"memory": new_text}}}
    change = f"memory limit {human(limit)} -> {new_text} ({why})"
    if request is not None and request > new:
        fields["resources"]["requests"] = {"memory": new_text}
        change += f"; request {human(request)} -> {new_text} (a request may not exceed its limit)"
    elif request is not None:
        plan.notes.append(f"the memory request stays {human(request)} (below the new limit)")
    if limit is not None and new == limit:
        plan.notes.append(f"container {inp.container} already has a memory limit of {new_text}: unchanged")
        return plan
    return wl.finish(plan, w, inp.container, fields, change, what="raise its memory limit")
