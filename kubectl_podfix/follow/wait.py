"""``kubectl podfix wait``: follow a rollout (or a Job, or a pod) until it is done, fails for good, or time runs out.

What it reads, once: a LIST and a WATCH of the workload (by name), of its ReplicaSets (a Deployment's new
revision is a ReplicaSet), of its pods (the workload's selector) and of the namespace's events (kept when
they are about the workload's objects: the autoscaler's Normal TriggeredScaleUp and the controllers'
FailedCreate are needed as much as the kubelet's Warnings). For a pod: the pod by name and its events.
Nothing is read per pod while waiting; when the wait ends with a diagnosis, ``gather.enrich`` makes the
bounded reads ``explain`` makes for the pods it shows (pull secrets, previous logs...).

Each batch of changes is looked at once: the rollout's status in kubectl's words (``diagnose.rollout``),
printed when it changes; then, unless ``fail_fast`` is off, the new revision's pods are diagnosed and
``diagnose.heal.permanent`` says whether one of them will not recover by itself, and
``diagnose.rollout.rejection`` whether the API server refuses to create them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from kubectl_podfix.cluster import gather
from kubectl_podfix.diagnose import heal, rollout
from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.explain import warnings as missing_warnings
from kubectl_podfix.diagnose.model import KUBECTL_NAMES, Finding, dig, selector_string, utcnow
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.errors import PodfixError
from kubectl_podfix.follow.live import Live

TICK = 0.5  # at least this often the rollout is looked at again (time-based rules: the autoscaler's grace)
SETTLE = 0.3  # before diagnosing a failure: let the events sent with the status change arrive (at most this)
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


@dataclass
class Decisive:
    """Why the wait failed: the finding, and the pod it is about (None for the workload itself)."""

    finding: Finding
    pod: str | None = None

    def to_dict(self) -> dict:
        return {"pod": self.pod, **self.finding.to_dict()}


@dataclass
class WaitOutcome:
    result: str  # "complete", "failed" or "timeout"
    seconds: float
    kind: str
    namespace: str
    name: str
    message: str  # the last status line (kubectl's words), or why it failed
    decisive: Decisive | None = None
    results: list[PodResult] = field(default_factory=list)
    workload_findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    owners_of_all: list = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"{KUBECTL_NAMES.get(self.kind, self.kind.lower())}/{self.name}"

    @property
    def label(self) -> str:
        return f'{KUBECTL_NAMES.get(self.kind, self.kind.lower())} "{self.name}"'

    def to_dict(self) -> dict:
        out = {"result": self.result, "seconds": round(self.seconds, 1),
               "target": {"kind": self.kind, "namespace": self.namespace, "name": self.name},
               "message": self.message}
        if self.decisive is not None:
            out["reason"] = self.decisive.to_dict()
        return out


def wait(cluster, kind: str, namespace: str, name: str, *, timeout: float | None, fail_fast: bool = True,
         progress: Callable[[str], None], note: Callable[[str], None] | None = None,
         clock: Callable[[], float] = time.monotonic) -> WaitOutcome:
    """Follow ``kind``/``name`` until done, failed or ``timeout`` seconds (None: no limit)."""
    if kind not in KINDS:
        raise PodfixError(f"wait follows deploy, sts, ds, job or a pod, not {KUBECTL_NAMES.get(kind, kind)}")
    started = clock()
    live = Live(cluster, note)
    try:
        return _Wait(live, kind, namespace, name, fail_fast, progress, clock, started, timeout).run()
    finally:
        live.stop()


class _Wait:
    def __init__(self, live: Live, kind, namespace, name, fail_fast, progress, clock, started, timeout):
        self.live, self.kind, self.namespace, self.name = live, kind, namespace, name
        self.fail_fast, self.progress, self.clock, self.started = fail_fast, progress, clock, started
        self.deadline = started + timeout if timeout else None
        self.last_message = ""

    # -- setting up: one LIST (then one WATCH) per kind ------------------------------------------------
    def start(self) -> None:
        live, ns, name = self.live, self.namespace, self.name
        if self.kind == "Pod":
            pods = live.follow("Pod", ns, field_selector=f"metadata.name={name}")
            if not pods:
                raise gather.pod_not_found(live.cluster, ns, name)
            live.follow("Event", ns, optional=True,
                        field_selector=f"involvedObject.name={name},involvedObject.namespace={ns}")
            return
        found = live.follow(self.kind, ns, field_selector=f"metadata.name={name}")
        if not found:
            missing = gather.namespace_missing(live.cluster, ns)
            raise missing or PodfixError(f'{self.kind.lower()} "{name}" not found in namespace "{ns}"')
        selector = selector_string(dig(found[0], "spec.selector"))
        if not selector:
            raise PodfixError(f'{self.kind.lower()} "{name}" has no pod selector: nothing to wait for')
        if self.kind == "Deployment":
            live.follow("ReplicaSet", ns, optional=True, label_selector=selector)
        live.follow("Pod", ns, label_selector=selector)
        prefix = name + "-"
        live.follow("Event", ns, optional=True,
                    keep=lambda ev: (rollout.involved(ev).get("name") or "").startswith(prefix)
                    or rollout.involved(ev).get("name") == name)

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self) -> WaitOutcome:
        self.start()
        changed = True
        while True:
            if changed:
                outcome = self.look()
                if outcome is not None:
                    return outcome
            now = self.clock()
            if self.deadline is not None and now >= self.deadline:
                return self.finish("timeout", None, self.last_message)
            wait_for = TICK if self.deadline is None else min(TICK, self.deadline - now)
            changes = self.live.poll(wait_for)
            changed = bool(changes) or self._time_matters()

    def _time_matters(self) -> bool:
        """Whether looking again without a change may decide something (an unschedulable pod's grace)."""
        return self.fail_fast and any(
            dig(p, "status.phase") == "Pending" and not dig(p, "spec.nodeName") for p in self.live.items("Pod"))

    def workload(self) -> dict:
        if self.kind == "Pod":
            obj = self.live.get("Pod", self.namespace, self.name)
            if obj is None:
                raise PodfixError(f'pod "{self.name}" was deleted while podfix waited for it')
            return obj
        obj = self.live.get(self.kind, self.namespace, self.name)
        if obj is None:
            raise PodfixError(f'{self.kind.lower()} "{self.name}" was deleted while podfix waited for it')
        return obj

    def look(self) -> WaitOutcome | None:
        obj = self.workload()
        state = rollout.status(self.kind, obj)
        if state.unsupported:
            raise PodfixError(f"{self.kind.lower()} \"{self.name}\" uses the "
                              f"{dig(obj, 'spec.updateStrategy.type')} update strategy: its pods change only when "
                              "they are deleted, so there is no rollout to wait for (kubectl rollout status "
                              f"refuses it too: \"{state.unsupported}\")")
        if state.message and state.message != self.last_message:
            self.last_message = state.message
            if not state.done and not state.failed:
                self.progress(state.message)
        if state.done:
            return self.finish("complete", None, state.message)
        if state.failed:
            return self.finish("failed", None, state.failed)
        if not self.fail_fast:
            return None
        pods = self.candidates(obj)
        if self.kind != "Pod":
            rejected = rollout.rejection(self.kind, obj, self.live.items("Event"), self.live.items("ReplicaSet"),
                                         self.live.items("Pod"))
            if rejected is not None:
                return self.finish("failed", Decisive(rejected), state.message)
        now = utcnow()
        suspects = [p for p in pods if gather.is_suspect(p)]
        if not suspects:
            return None
        snap = self.live.snapshot(suspects)
        for ctx in contexts(snap):
            found = heal.permanent(diagnose(ctx), ctx.pod, ctx.events, now)
            if found is not None:
                return self.finish("failed", Decisive(found, ctx.name), state.message)
        return None

    def settle(self) -> None:
        """The kubelet writes a pod's status and its events (the pull error, the back-off) in separate
        requests: take what is already on its way, so the diagnosis quotes them, for at most SETTLE seconds."""
        until = self.clock() + SETTLE
        while self.clock() < until and self.live.poll(min(0.1, max(until - self.clock(), 0.0))):
            pass

    def candidates(self, obj: dict) -> list[dict]:
        if self.kind == "Pod":
            return [obj]
        return rollout.new_pods(self.kind, obj, self.live.items("Pod"), self.live.items("ReplicaSet"))

    # -- the end: the diagnosis explain would print ------------------------------------------------------
    def finish(self, result: str, decisive: Decisive | None, message: str) -> WaitOutcome:
        seconds = self.clock() - self.started
        outcome = WaitOutcome(result, seconds, self.kind, self.namespace, self.name, message, decisive)
        if result == "complete":
            return outcome
        self.settle()
        obj = self.live.get(self.kind, self.namespace, self.name) or {}
        if decisive is not None and decisive.pod is None:
            again = rollout.rejection(self.kind, obj, self.live.items("Event"), self.live.items("ReplicaSet"),
                                     self.live.items("Pod")) if obj else None
            if again is not None:  # after settling: the event may have come after the condition
                outcome.decisive = decisive = Decisive(again)
            outcome.workload_findings.append(decisive.finding)
        pods = self.candidates(obj) if obj else []
        if self.kind != "Pod":
            pods = [p for p in pods if gather.is_suspect(p)]
            if not pods and result == "timeout":  # nothing wrong with the new pods: show the rest of the workload
                pods = [p for p in self.live.items("Pod") if gather.is_suspect(p)]
        snap = self.live.snapshot(pods)
        gather.enrich(snap, self.live.cluster, pods, self.namespace, single=self.kind == "Pod")
        results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)]
        if self.kind != "Pod":
            results = [r for r in results if r.problem]
            if decisive is not None and decisive.pod is not None:  # the pod that decided comes first
                results.sort(key=lambda r: r.ctx.name != decisive.pod)
            outcome.owners_of_all = [(self.namespace, {"kind": self.kind, "name": self.name})
                                     for _ in self.candidates(obj)] if obj else []
        if decisive is not None and decisive.pod is not None:
            first = next((r for r in results if r.ctx.name == decisive.pod and r.findings), None)
            if first is not None:  # the enriched diagnosis may be more precise (a pull secret, a log line)
                outcome.decisive = Decisive(first.findings[0], decisive.pod)
        outcome.results = results
        outcome.warnings = missing_warnings(snap)
        return outcome
