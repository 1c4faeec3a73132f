"""``kubectl podfix wait``: follow a rollout (or a Job, or a pod) until it is done, fails for good, or time runs out.

What it reads, once: a LIST and a WATCH of the workload (by name), of its ReplicaSets (a Deployment's new
revision is a ReplicaSet), of its pods (the workload's selector) and of the namespace's events (kept when
they are about the workload's objects or its claims: the autoscaler's Normal TriggeredScaleUp and the
controllers' FailedCreate are needed as much as the kubelet's Warnings). For a pod: the pod by name and its
events. Nothing is read per pod while waiting; when the wait ends with a diagnosis, ``gather.enrich`` makes the
bounded reads ``explain`` makes for the pods it shows (pull secrets, previous logs...) and
``gather.enrich_workload`` those it makes for the workload (a quota, a LimitRange, claims: when named).

Each batch of changes is looked at once: the rollout's status in kubectl's words (``diagnose.rollout``),
printed when it changes; then, unless ``fail_fast`` is off, the workload is diagnosed as ``explain TYPE/NAME``
diagnoses it (a ``WorkloadContext`` over the workload, its ReplicaSets, its new pods' diagnoses and the events:
``diagnose.workloads``), and so are the new revision's pods; ``diagnose.heal.permanent`` says whether one of
these findings will not go away by itself (pods refused by a quota, Pod Security or a webhook; a claim that
cannot be provisioned; an image that does not exist...).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from kubectl_podfix.cluster import gather
from kubectl_podfix.diagnose import heal, rollout
from kubectl_podfix.diagnose.context import contexts, top_owner
from kubectl_podfix.diagnose.explain import warnings as missing_warnings
from kubectl_podfix.diagnose.model import KUBECTL_NAMES, Finding, Snapshot, dig, selector_string, utcnow
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.workloads import WorkloadResult, explain_workloads
from kubectl_podfix.diagnose.workloads.context import claim_matcher
from kubectl_podfix.errors import PodfixError, UsageError
from kubectl_podfix.follow.live import Live

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
MAX_TIMEOUT = 2562047 * 3600.0  # Go's longest duration (kubectl's flag is one)


def parse_timeout(value: str) -> float | None:
    """``--timeout`` as kubectl's duration flags read it (Go's time.ParseDuration): ``90s``, ``5m``, ``1h2m3s``,
    ``1.5m``, ``500ms``; ``0`` (or ``0s``) waits without limit (None). A number without a unit is an error, as
    for kubectl (``time: missing unit in duration "5"``); so is a negative one (kubectl would wait forever)."""
    text = str(value).strip()
    if text.startswith("+"):
        text = text[1:]
    if text == "0":
        return None
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        reason = "a number needs a unit: s, m or h" if re.fullmatch(r"\d+(\.\d*)?", text) else \
            "use a duration like 90s, 5m or 1h2m3s"
        raise UsageError(f"invalid --timeout {value!r}: {reason} (0 for no limit)")
    if total > MAX_TIMEOUT:
        raise UsageError(f"invalid --timeout {value!r}: longer than the longest duration kubectl accepts "
                         "(2562047h); use 0 for no limit")
    return total or None


TICK = 0.5  # at least this often the rollout is looked at again (time-based rules: the autoscaler's grace)
SETTLE = 0.3  # before diagnosing a failure: let the events sent with the status change arrive (at most this)
# before the workload's own finding fails the wait: what the controllers do next may be on its way (the deployment
# controller scales the old ReplicaSet down in the sync after the new one's surge was refused by a quota)
CONFIRM = 1.0
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


@dataclass
class Decisive:
    """Why the wait failed: the finding, and the pod it is about (None for the workload itself)."""

    finding: Finding
    pod: str | None = None
    note: str | None = None  # why this pod stops the rollout when it is not of the new revision

    def to_dict(self) -> dict:
        out = {"pod": self.pod, **self.finding.to_dict()}
        if self.note:
            out["note"] = self.note
        return out


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
    workloads: list[WorkloadResult] = field(default_factory=list)  # the workload waited for (explain TYPE/NAME's)
    warnings: list[str] = field(default_factory=list)
    owners_of_all: list = field(default_factory=list)
    by_status: bool = False  # failed because the object itself says so (kubectl's words: progress deadline, Failed)

    @property
    def target(self) -> str:
        return f"{KUBECTL_NAMES.get(self.kind, self.kind.lower())}/{self.name}"

    @property
    def label(self) -> str:
        return f'{KUBECTL_NAMES.get(self.kind, self.kind.lower())} "{self.name}"'

    @property
    def at_workload_level(self) -> bool:
        """The wait failed on the workload's own finding (pods refused, a Job failed, a progress deadline)."""
        return self.decisive is not None and self.decisive.pod is None and self.kind != "Pod"

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


@dataclass
class _View:
    """One look at the workload: the snapshot, its pods' diagnoses, its own diagnosis."""

    snapshot: Snapshot
    results: list[PodResult]
    workload: WorkloadResult | None


class _Wait:
    def __init__(self, live: Live, kind, namespace, name, fail_fast, progress, clock, started, timeout):
        self.live, self.kind, self.namespace, self.name = live, kind, namespace, name
        self.fail_fast, self.progress, self.clock, self.started = fail_fast, progress, clock, started
        self.deadline = started + timeout if timeout else None
        self.last_message = ""
        self.freed_at = None  # when a pod of the workload last went away (its quota freed)
        self.confirming = False  # deciding again after CONFIRM seconds on a workload's permanent finding
        self.grace = False  # the last look saw a failure that becomes permanent with time (a grace running out)

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
        prefix, uses_claim = name + "-", claim_matcher(found[0])

        def about_the_workload(ev: dict) -> bool:
            involved = rollout.involved(ev)
            what = involved.get("name") or ""
            if involved.get("kind") == "PersistentVolumeClaim":
                return uses_claim(what)
            return what.startswith(prefix) or what == name
        live.follow("Event", ns, optional=True, keep=about_the_workload)

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
            changes = self.poll(wait_for)
            changed = bool(changes) or self._time_matters()

    def poll(self, timeout: float) -> list:
        changes = self.live.poll(timeout)
        if any(kind == "Pod" and type_ == "DELETED" for kind, type_, _obj, _before in changes):
            self.freed_at = utcnow()  # a pod's end frees quota: a refusal before it is not the last word
        return changes

    def _time_matters(self) -> bool:
        """Whether looking again without a change may decide something (an unschedulable pod's grace, a
        missing Secret's or ServiceAccount's)."""
        return self.fail_fast and (self.grace or any(
            dig(p, "status.phase") == "Pending" and not dig(p, "spec.nodeName") for p in self.live.items("Pod")))

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
            return self.finish("failed", None, state.failed, by_status=True)
        if not self.fail_fast or not state.observed:
            # (until the controller has seen the spec, the pods and verdicts at hand are the previous revision's:
            # kubectl waits for the spec update to be observed, so does wait)
            self.grace = False
            return None
        now = utcnow()
        new = [p for p in self.candidates(obj) if gather.is_suspect(p)]
        if self.kind == "Pod":
            self.grace = False
            if not new:
                return None
            view = _View(self.live.snapshot(new), [], None)
            view.results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(view.snapshot)]
        else:
            view = self.view(obj, new)
            found = heal.permanent(view.workload.findings, obj, view.workload.ctx.events, now) \
                if view.workload is not None else None
            if found is not None and found.code == "workload.quota-exceeded" and self.freed_at is not None \
                    and heal.refused_before(view.workload.ctx.events, self.freed_at):
                found = None  # refused before a pod's end freed quota: the controller's next try says
            if found is not None and not self.confirming:
                until = self.clock() + CONFIRM  # take all that arrives meanwhile, then decide again
                if self.deadline is not None:
                    until = min(until, self.deadline)
                while self.clock() < until:
                    self.poll(until - self.clock())
                self.confirming = True
                try:
                    return self.look()
                finally:
                    self.confirming = False
            if found is not None:
                return self.finish("failed", Decisive(found), state.message)
            self.grace = view.workload is not None and heal.waiting_on_time(view.workload.findings)
        for r in view.results:
            found = heal.permanent(r.findings, r.ctx.pod, r.ctx.events, now)
            if found is not None:
                note = rollout.held_back(self.kind, obj, r.ctx.pod) if self.kind != "Pod" else None
                return self.finish("failed", Decisive(found, r.ctx.name, note), state.message)
        # a grace still running out (a missing Secret's 15 s): look again then, even if nothing changes
        self.grace = self.grace or any(heal.waiting_on_time(r.findings) for r in view.results)
        return None

    def view(self, obj: dict, diagnosed: list[dict], *, enrich: list[dict] | None = None) -> _View:
        """The workload as ``explain TYPE/NAME`` sees it: its suspect pods (every revision, terminating ones too:
        a quota they hold is about to be freed), with ``diagnosed`` pods' diagnoses; its ReplicaSets; the events.
        ``enrich``: the pods about to be shown, given the bounded reads explain makes (and the workload too)."""
        mine = self.live.items("Pod")
        suspects = [p for p in mine if gather.is_suspect(p)]
        snap = self.live.workload_snapshot(suspects, [obj])
        snap.owners_of_all = [(self.namespace, top_owner(p, snap)) for p in mine]
        if enrich is not None:
            gather.enrich(snap, self.live.cluster, enrich, self.namespace)
            gather.enrich_workload(snap, self.live.cluster, self.namespace)
        results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, diagnosed)]
        found = explain_workloads(snap, results, target=(self.kind, self.namespace, self.name))
        return _View(snap, results, found[0] if found else None)

    def settle(self, seconds: float = SETTLE) -> None:
        """The kubelet writes a pod's status and its events (the pull error, the back-off) in separate
        requests: take what is already on its way, so the diagnosis quotes them, for at most SETTLE seconds."""
        until = self.clock() + seconds
        while self.clock() < until and self.poll(min(0.1, max(until - self.clock(), 0.0))):
            pass

    def candidates(self, obj: dict) -> list[dict]:
        if self.kind == "Pod":
            return [obj]
        return rollout.blocking_pods(self.kind, obj, self.live.items("Pod"), self.live.items("ReplicaSet"))

    # -- the end: the diagnosis explain would print ------------------------------------------------------
    def finish(self, result: str, decisive: Decisive | None, message: str, by_status: bool = False) -> WaitOutcome:
        seconds = self.clock() - self.started
        outcome = WaitOutcome(result, seconds, self.kind, self.namespace, self.name, message, decisive,
                              by_status=by_status)
        if result == "complete":
            obj = self.live.get(self.kind, self.namespace, self.name)
            if self.kind != "Pod" and obj is not None:  # (the report lists the workload, as explain TYPE/NAME)
                view = self.view(obj, [])
                outcome.workloads = [view.workload] if view.workload is not None else []
            return outcome
        self.settle()
        now = utcnow()
        obj = self.live.get(self.kind, self.namespace, self.name) or {}
        if self.kind == "Pod":
            pods = [obj] if obj else []
            snap = self.live.snapshot(pods)
            gather.enrich(snap, self.live.cluster, pods, self.namespace, single=True)
            outcome.results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)]
            outcome.warnings = missing_warnings(snap)
            self._precise(outcome)
            return outcome
        new = self.candidates(obj) if obj else []
        shown = [p for p in new if gather.is_suspect(p)]
        if not shown and result == "timeout":  # nothing wrong with the new pods: show the rest of the workload
            shown = [p for p in self.live.items("Pod") if gather.is_suspect(p)]
        if obj and result == "failed" and not by_status:
            state = rollout.status(self.kind, obj)
            if state.failed:  # the object gave up too (a Job's Failed condition after its event): kubectl's words
                outcome.by_status, outcome.message = True, state.failed
        if not obj:
            snap = self.live.snapshot(shown)
            outcome.results = [r for r in (PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)) if r.problem]
            outcome.warnings = missing_warnings(snap)
            return outcome
        suspects = [p for p in self.live.items("Pod") if gather.is_suspect(p)]
        view = self.view(obj, suspects, enrich=shown)
        workload = view.workload
        if workload is not None:
            outcome.workloads = [workload]
            again = heal.permanent(workload.findings, obj, workload.ctx.events, now) if result == "failed" else None
            if decisive is not None and decisive.pod is None:
                # after settling and the reads explain makes: the newest event, the quota's numbers
                same = next((f for f in workload.findings if f.code == decisive.finding.code), None)
                outcome.decisive = Decisive(again or same or decisive.finding)
            elif decisive is None and again is not None:  # the object gave up (progress deadline, Job Failed)
                outcome.decisive = Decisive(again)
        shown_keys = {id(p) for p in shown}
        results = [r for r in view.results if id(r.ctx.pod) in shown_keys and r.problem]
        decisive = outcome.decisive
        if decisive is not None and decisive.pod is not None:  # the pod that decided comes first
            results.sort(key=lambda r: r.ctx.name != decisive.pod)
        outcome.owners_of_all = [(self.namespace, {"kind": self.kind, "name": self.name}) for _ in new]
        outcome.results = results
        outcome.warnings = missing_warnings(view.snapshot)
        self._precise(outcome)
        return outcome

    @staticmethod
    def _precise(outcome: WaitOutcome) -> None:
        """The enriched diagnosis of the pod that decided may be more precise (a pull secret, a log line)."""
        decisive = outcome.decisive
        if decisive is not None and decisive.pod is not None:
            first = next((r for r in outcome.results if r.ctx.name == decisive.pod and r.findings), None)
            if first is not None:
                outcome.decisive = Decisive(first.findings[0], decisive.pod, decisive.note)
