"""Build a PodContext from a failure_texts.yaml case and check its expectations (shared by the
rule family tests in this folder)."""


from __future__ import annotations

import copy
import datetime as dt
import os

import yaml
from objects import event as make_event
from objects import pod as make_pod

from kubectl_podfix.diagnose.model import PodContext, Snapshot
from kubectl_podfix.diagnose.rules import CODES, diagnose

NOW = dt.datetime(2026, 11, 20, 12, 0, 0, tzinfo=dt.timezone.utc)
FIXTURES = os.path.join(os.path.dirname(__file__), "failure_texts.yaml")
# Cases for the health promise (never silent, never loud): unknown states, partial objects, readiness
# gates, hooks, probe errors, DRA, node network, cgroups, debug containers. Same format.
HEALTH_FIXTURES = os.path.join(os.path.dirname(__file__), "health_texts.yaml")
# Acceptance cases from other tools' fixtures and public reports (qa-diagnosis). Same format.
QA_FIXTURES = os.path.join(os.path.dirname(__file__), "qa_texts.yaml")
ALL_FIXTURES = (FIXTURES, HEALTH_FIXTURES, QA_FIXTURES)


def ts(ago) -> str:
    return (NOW - dt.timedelta(seconds=float(ago))).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_cases(family: str) -> list[dict]:
    cases = []
    for path in ALL_FIXTURES:
        with open(path, encoding="utf-8") as fh:
            cases += yaml.safe_load(fh)["cases"]
    return [c for c in cases if c["family"] == family]


def _term(t: dict) -> dict:
    ago = t.get("ago", 60)
    ran = t.get("ran", 10)
    out = {"exitCode": t.get("exitCode"), "reason": t.get("reason"), "startedAt": ts(ago + ran),
           "finishedAt": ts(ago), "containerID": "containerd://" + "b" * 64}
    if t.get("message"):
        out["message"] = t["message"]
    return out


def _container(c: dict) -> tuple[dict, dict | None]:
    spec = {"name": c["name"], "image": c.get("image", "registry.example.com/team/app:1.4.2")}
    spec.update(copy.deepcopy(c.get("spec") or {}))
    if c.get("sidecar"):
        spec["restartPolicy"] = "Always"
    status: dict = {"name": c["name"], "image": spec["image"], "imageID": "", "restartCount": c.get("restarts", 0),
                    "ready": False, "started": False, "lastState": {}, "state": {}}
    if "waiting" in c and c["waiting"] is None:
        return spec, None
    if c.get("term"):
        status["state"] = {"terminated": _term(c["term"])}
    elif c.get("waiting"):
        status["state"] = {"waiting": dict(c["waiting"])}
    elif c.get("running_ago") is not None:
        status["state"] = {"running": {"startedAt": ts(c["running_ago"])}}
        status["ready"] = c.get("ready", True)
        status["started"] = True
    else:
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    if c.get("last"):
        status["lastState"] = {"terminated": _term(c["last"])}
    return spec, status


def build_ctx(case: dict) -> PodContext:
    containers, statuses, inits, init_statuses = [], [], [], []
    for c in case.get("containers") or [{"name": "app", "running_ago": 600}]:
        spec, status = _container(c)
        (inits if c.get("init") else containers).append(spec)
        if status is not None:
            (init_statuses if c.get("init") else statuses).append(status)
    node_case = case.get("node", "absent")
    node_name = None if node_case is None else (node_case.get("name") if isinstance(node_case, dict) else "worker-1")
    owner = tuple(case.get("owner") or ("ReplicaSet", "web-7d9f8b6c5"))
    pod = make_pod(case.get("name", "web-7d9f8b6c5-x2x4q"), namespace=case.get("namespace", "default"),
                   containers=containers, statuses=statuses, init_containers=inits or None,
                   init_statuses=init_statuses or None, phase=case.get("phase", "Running"), owner=owner,
                   node=node_name, created=ts(case.get("created_ago", 100000)))
    pod["spec"].update(copy.deepcopy(case.get("pod_spec") or {}))
    status_extra = copy.deepcopy(case.get("pod_status") or {})
    for cond in status_extra.get("conditions") or []:
        if isinstance(cond.get("lastTransitionTime"), (int, float)):
            cond["lastTransitionTime"] = ts(cond["lastTransitionTime"])
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for st in status_extra.get(key) or []:  # raw statuses: "running_ago"/"ago" in seconds become times
            for part in ("state", "lastState"):
                for body in (st.get(part) or {}).values():
                    for field, ago in list((body or {}).items()):
                        if field in ("startedAt", "finishedAt") and isinstance(ago, (int, float)):
                            body[field] = ts(ago)
    pod["status"].update(status_extra)
    if "raw_status" in case:  # the status exactly as given (partial objects: status: {})
        pod["status"] = copy.deepcopy(case["raw_status"])
    meta = copy.deepcopy(case.get("meta") or {})
    if "deleted_ago" in meta:
        pod["metadata"]["deletionTimestamp"] = ts(meta.pop("deleted_ago"))
    pod["metadata"].update(meta)
    snap = Snapshot(source="file" if case.get("missing") else "cluster")
    snap.pods.append(pod)
    events = []
    for e in case.get("events") or []:
        ago = e.get("ago", 30)
        ev = make_event(pod, e["reason"], e["message"], type_=e.get("type", "Warning"), container=e.get("container"),
                        count=e.get("count", 1), first=ts(e.get("first_ago", ago)), last=ts(ago),
                        init=e.get("init", False), component=e.get("component", "kubelet"))
        events.append(ev)
        snap.events.append(ev)
    for obj in case.get("objects") or []:
        snap.add(copy.deepcopy(obj))
    for kind in case.get("listed") or []:
        snap.listed.add((kind, pod["metadata"]["namespace"]))
    if isinstance(node_case, dict):
        node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": node_case["name"], "labels": {
            "kubernetes.io/arch": node_case.get("arch", "amd64")}},
            "spec": {"taints": [{"key": k, "effect": "NoExecute"} for k in node_case.get("taints") or []]},
            "status": {"nodeInfo": {"architecture": node_case.get("arch", "amd64")},
                       "conditions": [{"type": "Ready", "status": node_case.get("ready", "True"),
                                       "reason": node_case.get("reason", "KubeletReady"),
                                       "message": node_case.get("message", "kubelet is posting ready status"),
                                       "lastTransitionTime": ts(3000)}]}}
        snap.add(node)
        snap.listed.add(("Node", "*"))
    for c in case.get("containers") or []:
        if c.get("log") is not None:
            snap.logs[(pod["metadata"]["namespace"], pod["metadata"]["name"], c["name"])] = c["log"]
    if case.get("metrics"):
        snap.metrics[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = {
            "kind": "PodMetrics", "containers": [{"name": n, "usage": u} for n, u in case["metrics"].items()]}
    snap.missing.update(case.get("missing") or [])
    events.sort(key=lambda ev: ev["lastTimestamp"])
    return PodContext(pod=pod, events=events, snapshot=snap, owner={"kind": owner[0], "name": owner[1]}, now=NOW)


def _text(f) -> str:
    return "\n".join([f.title, f.explanation, *f.evidence, *f.suggestions]).lower()


def check_case(case: dict) -> None:
    ctx = build_ctx(case)
    findings = diagnose(ctx)
    exp = case["expect"]
    codes = [f.code for f in findings]
    for f in findings:
        assert f.code in CODES or f.code.startswith("image."), f.code
        assert f.title and f.explanation
    if exp.get("empty"):
        assert [f for f in findings if f.severity in ("error", "warning")] == [], \
            [(f.code, f.severity, f.title) for f in findings]
        return
    assert findings, f"{case['id']}: no findings"
    first = findings[0]
    if exp.get("no_errors"):
        assert all(f.severity != "error" for f in findings), [(f.code, f.severity) for f in findings]
        match = [f for f in findings if f.code == exp["code"]]
        assert match, codes
        first = match[0]
    assert first.code == exp["code"], f"{case['id']}: {codes} / {first.title}"
    if "container" in exp:
        assert first.container == exp["container"]
    if "severity" in exp:
        assert first.severity == exp["severity"], (first.severity, first.title)
    text = _text(first)
    for word in exp.get("words") or []:
        assert str(word).lower() in text, f"{case['id']}: {word!r} not in:\n{text}"
    for word in exp.get("absent_words") or []:
        assert str(word).lower() not in text, f"{case['id']}: {word!r} should not be in:\n{text}"
    for key, want in (exp.get("extra") or {}).items():
        got = first.extra.get(key)
        if isinstance(want, list) and isinstance(got, list):
            assert sorted(map(str, want)) == sorted(map(str, got)), (key, got)
        else:
            assert got == want or str(got) == str(want), f"{case['id']}: extra[{key}] = {got!r}, want {want!r}"
    for code in exp.get("absent") or []:
        assert code not in codes, f"{case['id']}: {code} should be hidden: {codes}"
    for code in exp.get("also") or []:
        assert code in codes, f"{case['id']}: {code} missing: {codes}"
    if "permanent" in exp:  # kubectl podfix wait's decision: fail fast (True) or keep waiting (False)
        from kubectl_podfix.diagnose.heal import permanent
        stop = permanent(findings, ctx.pod, ctx.events, NOW)
        assert (stop is not None) == exp["permanent"], f"{case['id']}: wait would stop on {stop and stop.code}"
    if exp.get("no_image_findings"):
        assert not [c for c in codes if c.startswith("image.")], codes
    assert first.to_dict()["code"] == first.code
