"""``kubectl podfix explain --watch``: the diagnosis of a scope, then a new block each time it changes.

The scope is explain's: one pod, a workload's pods, a namespace or the cluster, with ``-l`` and
``--field-selector``. It is followed with one LIST and one WATCH per kind: the pods, their Warning events
(for one pod: all of its events), and for a workload the workload itself (its selector). No request is
made per pod, except the bounded reads a diagnosis makes when it is printed (``gather.enrich``: pull
secrets, previous logs...).

A pod's diagnosis is its first finding's code, container and title. When a change (the pod, or an event
about it) gives a pod a new or different diagnosis, the pod is printed again; a pod with a problem that
becomes healthy is noted as recovered, one that is deleted as gone; repeats print nothing.
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
from kubectl_podfix.errors import PodfixError
from kubectl_podfix.follow.live import Key, Live, key_of, pod_of_event
from kubectl_podfix.render.report import FORMATS
from kubectl_podfix.render.wait import watch_block

RECHECK = 5.0  # seconds between looks at every pod without a change (diagnoses that depend on time)
Diagnosis = tuple[str, str | None, str]


def diagnosis_of(result: PodResult) -> Diagnosis | None:
    """What "the same diagnosis" means: the first finding's code, container and title (None: no problem)."""
    if not result.problem:
        return None
    first = result.findings[0]
    return first.code, first.container, first.title


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
            if self.kind == "CronJob":
                live.follow("Job", ns, optional=True)
        pods = live.follow("Pod", ns, label_selector=self.label_selector, field_selector=self.field_selector)
        if not pods and ns and not self.kind:
            missing = gather.namespace_missing(self.cluster, ns)
            if missing is not None:
                raise missing
        live.follow("Event", ns, optional=True, field_selector="type=Warning,involvedObject.kind=Pod")

    # -- diagnosing ---------------------------------------------------------------------------------------
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

    def initial(self, out: TextIO, fmt: str, color: bool, width: int | None, when: str) -> None:
        pods = self.pods()
        shown = pods if self.kind == "Pod" else [p for p in pods if gather.is_suspect(p)]
        results = self.diagnose(shown, enrich=True)
        for r in results:
            d = diagnosis_of(r)
            if d:
                self.known[key_of(r.ctx.pod)] = d
        warnings = missing_warnings(self.last_snapshot)
        if fmt in ("json", "yaml"):
            watch_block([r for r in results if r.problem or self.kind == "Pod"], out, fmt, when=when,
                        warnings=warnings)
            return
        if self.kind != "Pod":
            results = [r for r in results if r.problem]
        snap = self.live.owners()
        owners = [(dig(p, "metadata.namespace", ""), top_owner(p, snap)) for p in pods]
        FORMATS[fmt](results, out, color=color, width=width, warnings=warnings, owners_of_all=owners,
                     scope=self.kind != "Pod", all_namespaces=self.scope_ns is None)
        out.flush()

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

    def run(self, out: TextIO, fmt: str, *, color: bool = False, width: int | None = None,
            clock: Callable[[], float] = time.monotonic) -> None:
        """Print the diagnosis, then the changes, until interrupted (KeyboardInterrupt)."""
        self.start()
        self.initial(out, fmt, color, width, _now())
        last_check = clock()
        while True:
            changes = self.live.poll(0.5)
            recheck = clock() - last_check >= RECHECK
            if recheck:
                last_check = clock()
            if not changes and not recheck:
                continue
            shown, ended = self.step(changes, recheck)
            if shown or ended:
                watch_block(shown, out, fmt, when=_now(), color=color, width=width, recovered=ended,
                            warnings=missing_warnings(self.last_snapshot) if shown else None)

    def stop(self) -> None:
        self.live.stop()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")

