"""Plain data the whole program passes around.

Kubernetes objects stay the raw dicts the API server returned (camelCase keys,
absent fields absent): converting them to the client's model classes is slow
and loses nothing we need. This module adds only the few types podfix itself
defines: findings, the per-pod context rules read, and the snapshot gathered
from a cluster or from files.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

SEVERITIES = ("error", "warning", "info")

# TYPE/NAME spellings kubectl accepts for the kinds podfix targets.
TARGET_KINDS = {
    "deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
    "sts": "StatefulSet", "statefulset": "StatefulSet", "statefulsets": "StatefulSet",
    "ds": "DaemonSet", "daemonset": "DaemonSet", "daemonsets": "DaemonSet",
    "job": "Job", "jobs": "Job",
    "rs": "ReplicaSet", "replicaset": "ReplicaSet", "replicasets": "ReplicaSet",
    "cronjob": "CronJob", "cronjobs": "CronJob", "cj": "CronJob",
    "po": "Pod", "pod": "Pod", "pods": "Pod",
}
# kubectl's resource names, for printed commands.
KUBECTL_NAMES = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
                 "ReplicaSet": "replicaset", "Job": "job", "CronJob": "cronjob", "Pod": "pod"}
# The API group of each kind (kubectl get -o name prints "deployment.apps/web", "job.batch/x", "pod/y").
GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "ReplicaSet": "apps",
          "Job": "batch", "CronJob": "batch", "Pod": "", "ServiceAccount": ""}


def kind_of(word: str, kinds: dict[str, str] = TARGET_KINDS) -> str | None:
    """The kind a kubectl TYPE names, in any spelling kubectl takes: deploy, Deployment, deployments,
    deployment.apps, deployments.v1.apps, pod, pods.v1 (None when it names none of ``kinds``)."""
    resource, _, rest = word.lower().partition(".")
    kind = kinds.get(resource)
    if kind is None or not rest:
        return kind
    group = GROUPS.get(kind, "")
    version, _, named = rest.partition(".") if rest.startswith("v") and rest[1:2].isdigit() else ("", "", rest)
    if named != group or (version and not re.fullmatch(r"v[0-9]+((alpha|beta)[0-9]+)?", version)):
        return None
    return kind


def parse_target(target: str) -> tuple[str, str]:
    """Split "deploy/web" (or "deployment.apps/web") into ("Deployment", "web"); a plain name is a Pod."""
    from kubectl_podfix.errors import UsageError

    if "/" not in target:
        if not target:
            raise UsageError("a POD or TYPE/NAME is required")
        return "Pod", target
    kind, _, name = target.partition("/")
    real = kind_of(kind)
    if not real or not name or "/" in name:
        raise UsageError(f"invalid target {target!r}: use POD or TYPE/NAME with TYPE one of "
                         "deploy, sts, ds, job, cronjob, rs, pod")
    return real, name


def join_target(words: tuple[str, ...] | list[str]) -> str | None:
    """The TARGET of kubectl's two spellings: "deploy/web" or "deploy web" (TYPE NAME)."""
    from kubectl_podfix.errors import UsageError

    if not words:
        return None
    if len(words) == 1:
        return words[0]
    if len(words) == 2 and "/" not in words[0] and "/" not in words[1] and kind_of(words[0]):
        return f"{words[0]}/{words[1]}"
    raise UsageError(f"one TARGET at a time (POD, TYPE/NAME or TYPE NAME), not {' '.join(words)!r}")


@functools.lru_cache(maxsize=512)
def _keys(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def dig(obj: Any, path: str, default: Any = None) -> Any:
    """Return ``obj[a][b]...`` for ``path`` "a.b...", or ``default`` if any step is missing."""
    for key in _keys(path):
        if obj.__class__ is not dict:  # NB: hot path (called ~20 times per pod); dict subclasses never occur
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def selector_string(label_selector: dict | None) -> str:
    """A metav1.LabelSelector as a label selector query string ("app=web,tier in (a,b),!canary")."""
    sel = label_selector if isinstance(label_selector, dict) else {}
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def parse_time(value: Any) -> _dt.datetime | None:
    """Parse an RFC 3339 timestamp as the API server writes it; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # MicroTime: "2024-01-02T03:04:05.123456Z"
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits):] or "+00:00"
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


_PINNED_NOW: _dt.datetime | None = None


def pin_now(value: _dt.datetime | None) -> None:
    """Fix the time diagnoses and reports are made at (``PODFIX_NOW``, for tests and docs only)."""
    global _PINNED_NOW
    _PINNED_NOW = value


def report_now() -> _dt.datetime:
    """The time a diagnosis is made at: now, unless pinned (``pin_now``)."""
    return _PINNED_NOW or utcnow()


def sentence(text: str) -> str:
    """A quoted message as the end of a sentence: one full stop, not a second after the message's own
    ("please try again." stays as it is; "volume not found" gets one)."""
    text = (text or "").rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def age(seconds: float | None) -> str:
    """kubectl-style short duration: 45s, 12m, 3h, 5d."""
    if seconds is None:
        return "?"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Fix:
    """A fix podfix can apply itself: its id, what it does, the exact command."""

    id: str
    description: str
    command: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "description": self.description, "command": self.command}


@dataclass
class Finding:
    """One diagnosis about one pod (and optionally one container).

    ``code`` is a stable, documented identifier (docs/findings.md). ``evidence``
    quotes what the rule used; ``suggestions`` are concrete next steps.
    """

    code: str
    severity: str
    container: str | None
    title: str
    explanation: str
    evidence: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    fix: Fix | None = None
    since: str | None = None  # RFC 3339 time the problem was first seen, when known
    extra: dict[str, Any] = field(default_factory=dict)  # rule-specific structured data

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "container": self.container,
            "title": self.title,
            "explanation": self.explanation,
            "evidence": list(self.evidence),
            "suggestions": list(self.suggestions),
            "fix": self.fix.to_dict() if self.fix else None,
        }
        if self.since:
            out["since"] = self.since
        if self.extra:
            out["details"] = self.extra
        return out


@dataclass
class Snapshot:
    """Everything gathered for one run, indexed for lookups.

    ``missing`` names evidence that could not be read (e.g. "events" after a
    403, or "logs" in a saved bundle) so rules can say so instead of guessing.
    """

    pods: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # normalized core/v1 shape
    objects: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (kind, namespace, name)
    logs: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (namespace, pod, container) -> previous log tail
    metrics: dict[tuple[str, str], dict] = field(default_factory=dict)  # (namespace, pod) -> PodMetrics
    missing: set[str] = field(default_factory=set)
    listed: set[tuple[str, str]] = field(default_factory=set)  # (kind, namespace or "*") fully listed
    source: str = "cluster"  # "cluster" or "file"
    owners_of_all: list[tuple[str, dict | None]] = field(default_factory=list)  # (namespace, top owner) of every pod scanned
    quiet_pods: list[dict] = field(default_factory=list)  # healthy pods, slimmed (owners, resources): quota users

    def add(self, obj: dict) -> None:
        kind = obj.get("kind") or ""
        meta = obj.get("metadata") or {}
        if kind == "Pod":
            self.pods.append(obj)
        elif kind == "Event":
            self.events.append(obj)
        else:
            self.objects[(kind, meta.get("namespace") or "", meta.get("name") or "")] = obj

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self.objects.get((kind, namespace or "", name or ""))

    def knows(self, kind: str, namespace: str) -> bool:
        """True when every object of ``kind`` in ``namespace`` was read (so absence means absent)."""
        return (kind, namespace) in self.listed or (kind, "*") in self.listed



@dataclass
class PodContext:
    """What a rule sees about one pod: the pod, its events, related objects."""

    pod: dict
    events: list[dict]  # this pod's events (normalized core/v1), oldest first
    snapshot: Snapshot
    owner: dict | None = None  # {"kind", "name"} of the top controller
    now: _dt.datetime = field(default_factory=utcnow)

    @property
    def namespace(self) -> str:
        return dig(self.pod, "metadata.namespace", "") or ""

    @property
    def name(self) -> str:
        return dig(self.pod, "metadata.name", "") or ""

    @property
    def missing(self) -> set[str]:
        return self.snapshot.missing

    def related(self, kind: str, name: str) -> dict | None:
        return self.snapshot.get(kind, self.namespace, name)

    def knows(self, kind: str) -> bool:
        return self.snapshot.knows(kind, self.namespace)

    def node(self) -> dict | None:
        name = dig(self.pod, "spec.nodeName")
        return self.snapshot.get("Node", "", name) if name else None

    def previous_log(self, container: str) -> str | None:
        return self.snapshot.logs.get((self.namespace, self.name, container))

    def containers(self) -> Iterator[tuple[dict, dict | None, bool]]:
        """Yield (spec, status or None, is_init) for init containers then app containers.

        A status whose container is not in the spec (a partial object: a saved status without
        ``spec.containers``) is yielded too, with a spec that holds only its name and image, so the
        rules still read it. Ephemeral (debug) containers are not here: see ``ephemeral_containers``.
        """
        yield from self._containers((
            (True, "initContainers", "initContainerStatuses"),
            (False, "containers", "containerStatuses"),
        ))

    def ephemeral_containers(self) -> Iterator[tuple[dict, dict | None, bool]]:
        """Yield (spec, status or None, False) for ephemeral (``kubectl debug``) containers.

        Kept apart from ``containers()``: a debug container that cannot start never makes the pod
        broken, so only the rules that know that (image pulls, the fallback) read them.
        """
        yield from self._containers(((False, "ephemeralContainers", "ephemeralContainerStatuses"),))

    def _containers(self, kinds) -> Iterator[tuple[dict, dict | None, bool]]:
        spec = self.pod.get("spec") if isinstance(self.pod.get("spec"), dict) else {}
        status = self.pod.get("status") if isinstance(self.pod.get("status"), dict) else {}
        for is_init, spec_key, status_key in kinds:
            raw = status.get(status_key)
            status_list = [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []
            statuses = {s.get("name"): s for s in status_list}
            specs = spec.get(spec_key)
            names = set()
            for c in specs if isinstance(specs, list) else []:
                if isinstance(c, dict):
                    names.add(c.get("name"))
                    yield c, statuses.get(c.get("name")), is_init
            for s in status_list:
                if s.get("name") not in names:
                    name = s.get("name")
                    partial = {"name": name if isinstance(name, str) else ""}
                    if isinstance(s.get("image"), str):
                        partial["image"] = s["image"]
                    yield partial, s, is_init



def event_time(ev: dict) -> _dt.datetime | None:
    """The last time an event was seen, whatever API wrote it."""
    return (
        parse_time(ev.get("lastTimestamp"))
        or parse_time(dig(ev, "series.lastObservedTime"))
        or parse_time(ev.get("eventTime"))
        or parse_time(ev.get("firstTimestamp"))
        or parse_time(dig(ev, "metadata.creationTimestamp"))
    )


def event_first_time(ev: dict) -> _dt.datetime | None:
    return (
        parse_time(ev.get("firstTimestamp"))
        or parse_time(ev.get("eventTime"))
        or parse_time(dig(ev, "metadata.creationTimestamp"))
        or event_time(ev)
    )
