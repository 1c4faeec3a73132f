"""container.init-not-finishing: an init container that runs on and on, holding the pod in Init.

An init container has to exit 0 before the next one (and then the app containers) start. One that is still
running long after it started is usually waiting for something its command loops on (a Service's DNS name, a
port, a URL, a file): the pod shows ``Init:0/1`` and the app containers ``PodInitializing`` with nothing failing.
"""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, parse_time
from kubectl_podfix.diagnose.rules.common import kubectl
from kubectl_podfix.diagnose.rules.containers.state import (
    command_of,
    each_container,
    is_sidecar,
    seconds_since,
    skip_pod,
    state_line,
)

# How long an init container may run before podfix speaks (warning), and before that is an error.
INIT_SLOW_AFTER = 300
INIT_STUCK_AFTER = 1800
# A command that waits for something: a shell loop around a check (until/while ... do), or the usual checks.
_WAIT_LOOP = re.compile(r"\b(?:until|while)\b[\s\S]*\bdo\b|\bwait-for\b|\bwait_for\b|\bdockerize\b", re.I)
_TARGET = re.compile(r"(?:nslookup|getent hosts|nc -z\w*|pg_isready[^;]*-h|curl[^;]*?|wget[^;]*?)\s+"
                     r"(?P<target>(?:https?://)?[A-Za-z0-9][\w.-]*(?::\d+)?(?:/\S*)?)")


def init_wait_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx) or dig(ctx.pod, "status.phase") not in ("Pending", None):
        return
    for spec, status, is_init, name in each_container(ctx):
        if not is_init or is_sidecar(spec, is_init) or not status or not dig(status, "state.running"):
            continue
        running_for = seconds_since(ctx, parse_time(dig(status, "state.running.startedAt")))
        if running_for is None or running_for < INIT_SLOW_AFTER:
            continue
        cmd = " ".join(" ".join(str(c) for c in (spec.get("command") or []) + (spec.get("args") or [])).split())
        looping = bool(_WAIT_LOOP.search(cmd))
        target = _TARGET.search(cmd) if looping else None
        expl = (f"Init container {name} ({cmd[:200] if cmd else command_of(spec)}) has been running for {age(running_for)} without "
                "finishing. The pod's app containers start only after every init container exits 0, so the pod "
                "stays in Init and its containers in PodInitializing; nothing has failed, it simply has not ended.")
        if looping:
            expl += (" Its command loops until a condition holds"
                     + (f" ({target.group('target')} answering)" if target else "")
                     + ": that dependency (a Service and its endpoints, a DNS name, a port, a URL) is not there "
                     "or not reachable from this pod. Its log shows what it keeps waiting for.")
        else:
            expl += " It is still working, or waiting for something; its log shows which."
        sugs = [f"kubectl logs {ctx.name} -c {name} -n {ctx.namespace}"]
        if target:
            labels = target.group("target").split("://")[-1].split("/")[0].split(":")[0].split(".")
            if len(labels) > 1 and labels[1] != "svc":  # name.namespace[.svc.cluster.local]
                sugs.append(f"kubectl get service,endpoints {labels[0]} -n {labels[1]}")
            else:
                sugs.append(kubectl(ctx, "get", "service,endpoints", labels[0]))
        yield Finding(
            code="container.init-not-finishing",
            severity="error" if running_for >= INIT_STUCK_AFTER else "warning", container=name,
            title=f"{name}: init container running for {age(running_for)} without finishing"
                  + (" (it waits in a loop)" if looping else ""),
            explanation=expl, evidence=state_line(status) + ([f"command: {cmd[:300]}"] if cmd else []),
            suggestions=sugs, since=dig(status, "state.running.startedAt"),
            extra={"started_at": dig(status, "state.running.startedAt"), "waits_in_loop": looping,
                   "waits_for": target.group("target") if target else None, "init": True},
        )
