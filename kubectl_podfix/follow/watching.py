"""``kubectl podfix explain --watch``: the diagnosis of a scope, then a new block each time it changes.

The scope is explain's: one pod, a workload's pods, a namespace or the cluster, with ``-l`` and
``--field-selector``. It is followed with one LIST and one WATCH per kind: the pods, their events, and the
workloads explain would explain there: for a workload target, the workload itself (and a Deployment's
ReplicaSets, a CronJob's Jobs) with every event of the namespace about them, their pods or their claims; for
a namespace or ``-A`` scan without ``-l``/``--field-selector``, the kinds the scan lists (Deployments,
StatefulSets, DaemonSets, Jobs, CronJobs, and ReplicaSets) with the Warning events of every kind. No request is
made per pod or per workload, except the bounded reads a diagnosis makes when it is printed
(``gather.enrich``: pull secrets, previous logs...; ``gather.enrich_workload``: a quota, a LimitRange, claims).

A pod's diagnosis is its first finding's code, container and title; a workload's is its first finding's code
and title (or, when that finding quotes its pods, the pods' code and container: how many pods fail is not a new
diagnosis). When a change gives a pod or a workload a new or different diagnosis, it is printed again; one that
had a problem and has none any more is noted as recovered, one that is deleted as gone; repeats print nothing.
Workloads follow explain's rule for what a scan shows: a workload's block when its problem is not its pods'
(pods refused by a quota, a failed Job whose pods are gone...), whose blocks say it already; a workload target,
always.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Callable, TextIO

from kubectl_podfix.cluster import gather
from kubectl_podfix.diagnose.context import contexts, top_owner
from kubectl_podfix.diagnose.explain import owned_by
from kubectl_podfix.diagnose.explain import warnings as missing_warnings
from kubectl_podfix.diagnose.model import dig, parse_target, selector_string
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.workloads import WorkloadResult, explain_workloads
from kubectl_podfix.diagnose.workloads.context import claim_matcher, controller, is_top
from kubectl_podfix.errors import PodfixError
from kubectl_podfix.follow.live import Key, Live, key_of, pod_of_event
from kubectl_podfix.render.report import FORMATS
from kubectl_podfix.render.wait import watch_block

RECHECK = 5.0  # seconds between looks at every pod without a change (diagnoses that depend on time)
SETTLE = 0.3  # after a change, take what is already on its way for at most this long (one status, many writes)
Diagnosis = tuple[str, str | None, str]
WKey = tuple[str, str, str]  # a workload: (kind, namespace, name)
SCAN_KINDS = gather.WORKLOAD_LIST_KINDS  # what a namespace or cluster scan lists (explain without -l)
CHILD_KINDS = ("ReplicaSet", "Job")
WORKLOAD_KINDS = (*SCAN_KINDS, "ReplicaSet")


def diagnosis_of(result: PodResult) -> Diagnosis | None:
    """What "the same diagnosis" means: the first finding's code, container and title (None: no problem)."""
    if not result.problem:
        return None
    first = result.findings[0]
    return first.code, first.container, first.title


def workload_diagnosis_of(result: WorkloadResult) -> Diagnosis | None:
    """A workload's: its first finding's code and title; when that finding quotes its pods' diagnosis, their
    code and container instead (a count of failing pods that changes is the same diagnosis). None: no problem."""
    if not result.problem:
        return None
    first = result.findings[0]
    pod = first.extra.get("pod") if isinstance(first.extra.get("pod"), dict) else None
    if pod:
        return first.code, pod.get("container"), str(pod.get("code"))
    return first.code, None, first.title


class Watching:
    def __init__(self, cluster, *, target: str | None, namespace: str, all_namespaces: bool = False,
                 label_selector: str | None = None, field_selector: str | None = None,
                 note: Callable[[str], None] | None = None):
        self.cluster, self.namespace = cluster, namespace
        self.kind, self.name = parse_target(target) if target else (None, None)
        self.scope_ns = None if all_namespaces and not target else namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.live = Live(cluster, note)
        self.known: dict[Key, Diagnosis] = {}  # pods shown with a problem, and what it was
        self.known_workloads: dict[WKey, Diagnosis] = {}  # workloads shown with a problem, and what it was
        # the workloads are explained too: a workload target, or a scan that lists the workload kinds
        self.scan = not self.kind and not label_selector and not field_selector
        self.with_workloads = bool(self.kind and self.kind != "Pod") or self.scan

    # -- setting up -------------------------------------------------------------------------------------
    def start(self) -> None:
        live, ns = self.live, self.scope_ns
        if self.kind == "Pod":
            if not live.follow("Pod", ns, field_selector=f"metadata.name={self.name}"):
                raise gather.pod_not_found(self.cluster, self.namespace, self.name)
            live.follow("Event", ns, optional=True,
                        field_selector=f"involvedObject.name={self.name},involvedObject.namespace={ns}")
            return
        if self.kind:
            found = live.follow(self.kind, ns, field_selector=f"metadata.name={self.name}")
            if not found:
                raise PodfixError(f'{self.kind.lower()} "{self.name}" not found in namespace "{ns}"')
            selector = selector_string(dig(found[0], "spec.selector")) if self.kind != "CronJob" else None
            self.label_selector = selector or self.label_selector
            if self.kind == "Deployment":  # its new ReplicaSet is what the API server refuses pods to
                live.follow("ReplicaSet", ns, optional=True, label_selector=selector)
            if self.kind == "CronJob":
                live.follow("Job", ns, optional=True)
        pods = live.follow("Pod", ns, label_selector=self.label_selector, field_selector=self.field_selector)
        if not pods and ns and not self.kind:
            missing = gather.namespace_missing(self.cluster, ns)
            if missing is not None:
                raise missing
        if self.kind:  # one workload: every event of the namespace about it, its pods or claims (explain's)
            prefix, uses_claim = self.name + "-", claim_matcher(found[0])

            def about_the_workload(ev: dict) -> bool:
                inv = ev.get("involvedObject") or ev.get("regarding") or {}
                what = inv.get("name") or ""
                if inv.get("kind") == "PersistentVolumeClaim":
                    return uses_claim(what)
                return what.startswith(prefix) or what == self.name
            live.follow("Event", ns, optional=True, keep=about_the_workload)
            return
        if not self.scan:
            live.follow("Event", ns, optional=True, field_selector="type=Warning,involvedObject.kind=Pod")
            return
        for kind in (*SCAN_KINDS, "ReplicaSet"):
            live.follow(kind, ns, optional=True)
        live.follow("Event", ns, optional=True, field_selector="type=Warning",
                    keep=lambda ev: ((ev.get("involvedObject") or ev.get("regarding") or {}).get("kind")
                                     in gather.WORKLOAD_EVENT_KINDS | {"Pod", None, ""}))

    # -- diagnosing pods -----------------------------------------------------------------------------------
    def pods(self) -> list[dict]:
        pods = self.live.items("Pod")
        if self.kind and self.kind != "Pod":
            snap = self.live.owners()
            pods = [p for p in pods if owned_by(p, snap, self.kind, self.name)]
        return pods

    def diagnose(self, pods: list[dict], *, enrich: bool) -> list[PodResult]:
        snap = self.live.snapshot(pods)
        if enrich:
            gather.enrich(snap, self.cluster, [p for p in pods if gather.is_suspect(p)], self.scope_ns,
                          single=self.kind == "Pod")
        self.last_snapshot = snap
        return [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap)]

    # -- diagnosing workloads ------------------------------------------------------------------------------
    def workload_keys(self) -> set[WKey]:
        """The workloads in scope: the target, or every top-level workload a scan follows."""
        if not self.with_workloads:
            return set()
        if self.kind:
            found = self.live.get(self.kind, self.namespace, self.name)
            return {(self.kind, self.namespace, self.name)} if found is not None else set()
        return {(kind, *key_of(obj)) for kind in WORKLOAD_KINDS for obj in self.live.items(kind) if is_top(obj)}

    def top_of(self, kind: str | None, namespace: str, name: str) -> WKey | None:
        """The top-level workload an object (a workload, a ReplicaSet, a Job) belongs to."""
        if kind not in WORKLOAD_KINDS:
            return None
        obj = self.live.get(kind, namespace, name)
        ref = controller(obj) if obj is not None else None
        if obj is not None and not is_top(obj) and ref:
            return ref.get("kind"), namespace, ref.get("name")
        return kind, namespace, name

    @staticmethod
    def owner_key(pod: dict, snap) -> WKey | None:
        owner = top_owner(pod, snap)
        return (owner.get("kind"), dig(pod, "metadata.namespace", "") or "", owner.get("name")) if owner else None

    def uses_claim(self, key: WKey, claim: str) -> bool:
        obj = self.live.get(*key)
        return obj is not None and claim_matcher(obj)(claim)

    def suspect(self, key: WKey) -> bool:
        obj = self.live.get(*key)
        return obj is not None and gather.workload_suspect(obj)

    def diagnose_workloads(self, keys: set[WKey], *, enrich: bool = False) -> dict[WKey, WorkloadResult]:
        """explain's diagnosis of these workloads, over the live copy: their suspect pods' diagnoses, their
        children, the events. ``enrich``: the reads explain makes for what is about to be printed."""
        if not keys:
            return {}
        everyone = self.live.items("Pod")
        suspects = [p for p in everyone if gather.is_suspect(p)]
        objs = [o for o in (self.live.get(kind, ns, name) for kind, ns, name in keys) if o is not None]
        snap = self.live.workload_snapshot(suspects, objs)
        snap.owners_of_all = [(dig(p, "metadata.namespace", ""), top_owner(p, snap)) for p in everyone]
        mine = [p for p in suspects if self.owner_key(p, snap) in keys]
        if enrich:
            gather.enrich(snap, self.cluster, mine, self.scope_ns)
            for ns in sorted({key[1] for key in keys}):
                gather.enrich_workload(snap, self.cluster, ns)
        self.last_workload_snapshot = snap
        results = [PodResult(ctx, diagnose(ctx)) for ctx in contexts(snap, mine)]
        out = {}
        for key in keys:
            for w in explain_workloads(snap, results, target=key):
                out[key] = w
        return out

    def shown(self, result: WorkloadResult) -> bool:
        """Whether explain shows this workload's block: a target always; in a scan, a problem its pods' rows
        do not show."""
        return bool(self.kind) or (result.problem and not result.from_pods)

    # -- the first block -------------------------------------------------------------------------------
    def initial(self, out: TextIO, fmt: str, color: bool, width: int | None, when: str) -> None:
        pods = self.pods()
        shown = pods if self.kind == "Pod" else [p for p in pods if gather.is_suspect(p)]
        results = self.diagnose(shown, enrich=True)
        for r in results:
            d = diagnosis_of(r)
            if d:
                self.known[key_of(r.ctx.pod)] = d
        warnings = missing_warnings(self.last_snapshot)
        workloads = list(self.diagnose_workloads(self.workload_keys(), enrich=True).values())
        workloads.sort(key=lambda w: (w.ctx.namespace, WORKLOAD_KINDS.index(w.ctx.kind), w.ctx.name))
        if not self.kind:
            workloads = [w for w in workloads if w.problem]
        for w in workloads:
            d = workload_diagnosis_of(w)
            if d and self.shown(w):
                self.known_workloads[(w.ctx.kind, w.ctx.namespace, w.ctx.name)] = d
        if fmt in ("json", "yaml"):
            watch_block([r for r in results if r.problem or self.kind == "Pod"], out, fmt, when=when,
                        warnings=warnings, workloads=workloads)
            return
        if self.kind != "Pod":
            results = [r for r in results if r.problem]
        snap = self.live.owners()
        owners = [(dig(p, "metadata.namespace", ""), top_owner(p, snap)) for p in pods]
        FORMATS[fmt](results, out, color=color, width=width, warnings=warnings, owners_of_all=owners,
                     scope=self.kind != "Pod", all_namespaces=self.scope_ns is None, workloads=workloads,
                     target=bool(self.kind))
        out.flush()

    # -- each batch of changes ---------------------------------------------------------------------------
    def step(self, changes, recheck: bool) -> tuple[list[PodResult], list[tuple[dict | None, str, str]]]:
        """Apply one batch of changes: (pods to print again, (pod, "ns/name", "recovered"|"gone"))."""
        touched: dict[Key, dict | None] = {}
        by_uid = {dig(p, "metadata.uid"): key_of(p) for p in self.live.items("Pod")}
        for kind, type_, obj, before in changes:
            if kind == "Pod":
                touched[key_of(obj)] = None if type_ == "DELETED" else obj
            elif kind == "Event":
                about = pod_of_event(obj)
                if about is not None:
                    key = by_uid.get(about[0]) if about[0] else about[1]
                    if key is not None and key not in touched:
                        touched[key] = self.live.get("Pod", *key)
            elif kind == self.kind:  # the workload changed (or went): its pods say what matters
                continue
        if recheck:
            for p in self.pods():
                touched.setdefault(key_of(p), p)
        wanted = {key_of(p) for p in self.pods()}
        changed: list[dict] = []
        ended: list[tuple[dict | None, str, str]] = []
        candidates = [p for k, p in touched.items() if p is not None and k in wanted]
        results = {key_of(r.ctx.pod): r for r in self.diagnose(
            [p for p in candidates if gather.is_suspect(p) or self.kind == "Pod"], enrich=False)}
        for key, pod in touched.items():
            label = f"{key[0]}/{key[1]}"
            if pod is None or key not in wanted:
                if self.known.pop(key, None) is not None:
                    ended.append((None, label, "gone"))
                continue
            result = results.get(key)
            now = diagnosis_of(result) if result else None
            before = self.known.get(key)
            if now is None:
                if before is not None:
                    del self.known[key]
                    ended.append((pod, label, "recovered"))
                continue
            if now != before:
                self.known[key] = now
                changed.append(pod)
        shown = self.diagnose(changed, enrich=True) if changed else []
        return shown, ended

    def workload_step(self, changes, recheck: bool) -> tuple[list[WorkloadResult],
                                                           list[tuple[WorkloadResult | None, WKey, str]]]:
        """The workloads a batch of changes touched: (blocks to print again, (result, key, "recovered"|"gone"))."""
        if not self.with_workloads:
            return [], []
        touched: set[WKey | None] = set()
        owners = self.live.owners()
        for kind, type_, obj, before in changes:
            ns, name = key_of(obj)
            if kind in WORKLOAD_KINDS:
                ref = controller(obj)
                top = (ref.get("kind"), ns, ref.get("name")) if ref and not is_top(obj) else (kind, ns, name)
                touched.add(top)
            elif kind == "Pod":
                touched.add(self.owner_key(obj, owners))
            elif kind == "Event":
                inv = obj.get("involvedObject") or {}
                ev_ns = inv.get("namespace") or ns
                about = pod_of_event(obj)
                if about is not None:  # a pod's: its workload (its diagnosis may quote the pod's)
                    pod = self.live.get("Pod", *about[1])
                    if pod is not None:
                        touched.add(self.owner_key(pod, owners))
                elif inv.get("kind") == "PersistentVolumeClaim":  # the workloads whose pods use the claim
                    touched |= {k for k in self.workload_keys() if k[1] == ev_ns
                                and self.uses_claim(k, inv.get("name") or "")}
                else:
                    top = self.top_of(inv.get("kind"), ev_ns, inv.get("name") or "")
                    if top is not None:
                        touched.add(top)
        touched = {k for k in touched if k and all(isinstance(part, str) for part in k)}
        in_scope = self.workload_keys()
        if recheck:  # time-based findings (a rollout's grace, a claim waiting): what may have a problem
            touched |= set(self.known_workloads) | {k for k in in_scope if self.suspect(k)}
        if not touched:
            return [], []
        ended: list[tuple[WorkloadResult | None, WKey, str]] = []
        for key in sorted(touched - in_scope):
            if self.known_workloads.pop(key, None) is not None:
                ended.append((None, key, "gone"))
        results = self.diagnose_workloads(touched & in_scope)
        changed: set[WKey] = set()
        for key, w in sorted(results.items()):
            now, before = workload_diagnosis_of(w), self.known_workloads.get(key)
            if now is None or not self.shown(w):
                if before is not None:
                    del self.known_workloads[key]
                    if now is None:
                        ended.append((w, key, "recovered"))
                continue
            if now != before:
                self.known_workloads[key] = now
                changed.add(key)
        shown = self.diagnose_workloads(changed, enrich=True) if changed else {}
        return [shown[k] for k in sorted(shown)], ended

    def run(self, out: TextIO, fmt: str, *, color: bool = False, width: int | None = None,
            clock: Callable[[], float] = time.monotonic) -> None:
        """Print the diagnosis, then the changes, until interrupted (KeyboardInterrupt)."""
        self.start()
        self.initial(out, fmt, color, width, _now())
        last_check = clock()
        while True:
            changes = self.live.poll(0.5)
            if changes:  # a controller writes a ReplicaSet's status, then its Deployment's: diagnose them together
                until = clock() + SETTLE
                while clock() < until:
                    more = self.live.poll(min(0.1, max(until - clock(), 0.0)))
                    if not more:
                        break
                    changes += more
            recheck = clock() - last_check >= RECHECK
            if recheck:
                last_check = clock()
            if not changes and not recheck:
                continue
            shown, ended = self.step(changes, recheck)
            workloads, workloads_ended = self.workload_step(changes, recheck)
            if shown or ended or workloads or workloads_ended:
                warnings = None
                if shown:
                    warnings = missing_warnings(self.last_snapshot)
                elif workloads:
                    warnings = missing_warnings(self.last_workload_snapshot)
                watch_block(shown, out, fmt, when=_now(), color=color, width=width, recovered=ended,
                            warnings=warnings, workloads=workloads, workloads_ended=workloads_ended)

    def stop(self) -> None:
        self.live.stop()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
