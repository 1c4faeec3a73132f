"""Build a snapshot from a workload_texts.yaml case, run the pod rules then the workload rules, and check
the case's expectations (shared by the tests in this folder).

A case: ``workload`` (kind, name, namespace, replicas, spec, status, conditions), ``children``
(ReplicaSets of a Deployment / Jobs of a CronJob, same shape), ``pods`` (name, owner "Kind/name",
phase, waiting/terminated state, labels, events, image, log), ``events`` about the workload, its children or PVCs
(``on: Kind/name``), ``objects`` (raw: quotas, PVCs, StorageClasses), ``listed`` kinds, and ``expect``:
{code, severity, words[], extra{}, absent[], empty, no_errors, permanent (kubectl podfix wait stops on it)}. Times
are seconds before NOW.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import uuid

import yaml
from objects import event as pod_event
from objects import pod as make_pod

from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.model import Snapshot
from kubectl_podfix.diagnose.report import PodResult
from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.workloads import CODES, diagnose_workload, workload_contexts

NOW = dt.datetime(2026, 11, 20, 12, 0, 0, tzinfo=dt.timezone.utc)
FIXTURES = os.path.join(os.path.dirname(__file__), "workload_texts.yaml")
API = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
       "Job": "batch/v1", "CronJob": "batch/v1", "PersistentVolumeClaim": "v1"}


def ts(ago) -> str:
    return (NOW - dt.timedelta(seconds=float(ago))).strftime("%Y-%m-%dT%H:%M:%SZ")


QA_FIXTURES = os.path.join(os.path.dirname(__file__), "qa_workload_texts.yaml")  # acceptance cases, same format


def load_cases() -> list[dict]:
    cases = []
    for path in (FIXTURES, QA_FIXTURES):
        with open(path, encoding="utf-8") as fh:
            cases += yaml.safe_load(fh)["cases"]
    return cases


def _times(obj):
    """Turn {ago: N} leaves and *_ago keys into timestamps."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k.endswith("_ago") and isinstance(v, (int, float)):
                out[k[:-4]] = ts(v)
            else:
                out[k] = _times(v)
        return out
    if isinstance(obj, list):
        return [_times(v) for v in obj]
    return obj


def build_object(spec: dict, ns: str, owner: dict | None = None) -> dict:
    kind = spec["kind"]
    name = spec["name"]
    meta = {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
            "creationTimestamp": ts(spec.get("created_ago", 86400)), "generation": spec.get("generation", 1)}
    meta.update(_times(copy.deepcopy(spec.get("meta") or {})))
    if owner:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True}]
    if spec.get("hash"):
        meta.setdefault("labels", {})["pod-template-hash"] = spec["hash"]
    body = {"apiVersion": API.get(kind, "v1"), "kind": kind, "metadata": meta}
    out_spec: dict = {}
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        out_spec["replicas"] = spec.get("replicas", 1)
    if kind != "PersistentVolumeClaim":
        tmpl = {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1"}]}}
        if kind == "CronJob":
            out_spec.update(schedule="*/5 * * * *", jobTemplate={"spec": {"template": tmpl}})
        else:
            out_spec.update(selector={"matchLabels": {"app": name}}, template=tmpl)
    _merge(out_spec, _times(copy.deepcopy(spec.get("spec") or {})))
    body["spec"] = out_spec
    if "status" in spec or spec.get("conditions"):
        status = _times(copy.deepcopy(spec.get("status") or {}))
        status.setdefault("observedGeneration", meta["generation"])
        if spec.get("conditions"):
            status["conditions"] = []
            for c in spec["conditions"]:
                c = dict(c)
                ago = c.pop("ago", 300)
                c.setdefault("status", "True")
                c.setdefault("lastTransitionTime", ts(ago))
                c.setdefault("lastUpdateTime", ts(ago))
                status["conditions"].append(c)
        body["status"] = status
    return body


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def _event_about(obj: dict, e: dict) -> dict:
    ago = e.get("ago", 30)
    return {"apiVersion": "v1", "kind": "Event", "type": e.get("type", "Warning"), "reason": e["reason"],
            "message": e["message"], "count": e.get("count", 1), "firstTimestamp": ts(e.get("first_ago", ago)),
            "lastTimestamp": ts(ago), "source": {"component": e.get("component", "controller")},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                               "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
                               "uid": obj["metadata"].get("uid", "")},
            "metadata": {"name": f"{obj['metadata']['name']}.{uuid.uuid4().hex[:12]}",
                         "namespace": obj["metadata"]["namespace"]}}


def _pod(p: dict, ns: str, by_name: dict) -> tuple[dict, list[dict]]:
    kind, _, oname = p.get("owner", "").partition("/")
    owner_obj = by_name.get((kind, oname))
    image = p.get("image", "registry.example.com/app:1")
    st: dict = {"name": p.get("container", "app"), "image": image, "imageID": "",
                "ready": False, "started": False, "restartCount": p.get("restarts", 0), "lastState": {},
                "state": {}}
    statuses = [st]
    if "waiting" in p and p["waiting"] is None:
        statuses = []  # not scheduled yet: no container statuses
    elif p.get("waiting"):
        st["state"] = {"waiting": dict(p["waiting"])}
    elif p.get("terminated"):
        t = dict(p["terminated"])
        t.setdefault("startedAt", ts(t.pop("ran_ago", 700)))
        t.setdefault("finishedAt", ts(t.pop("ago", 600)))
        st["state"] = {"terminated": t}
    else:
        st.update(ready=p.get("ready", True), started=True, state={"running": {"startedAt": ts(3000)}})
    if p.get("last"):
        t = dict(p["last"])
        st["lastState"] = {"terminated": {"exitCode": t.get("exitCode", 1), "reason": t.get("reason", "Error"),
                                          "startedAt": ts(t.get("ran_ago", 120)), "finishedAt": ts(t.get("ago", 100))}}
    labels = {"app": (owner_obj or {}).get("metadata", {}).get("name", "x")}
    if owner_obj is not None and owner_obj["metadata"].get("labels", {}).get("pod-template-hash"):
        labels["pod-template-hash"] = owner_obj["metadata"]["labels"]["pod-template-hash"]
    labels.update(p.get("labels") or {})
    pod = make_pod(p["name"], namespace=ns, containers=[{"name": p.get("container", "app"), "image": image}],
                   statuses=statuses, phase=p.get("phase", "Running" if not p.get("pending") else "Pending"),
                   owner=(kind, oname) if kind else None, labels=labels, created=ts(p.get("created_ago", 3000)),
                   node=p.get("node", "worker-1"))
    if owner_obj is not None:
        pod["metadata"]["ownerReferences"][0]["uid"] = owner_obj["metadata"]["uid"]
    if p.get("pod_status"):
        pod["status"].update(_times(copy.deepcopy(p["pod_status"])))
    if p.get("meta_deleted"):
        pod["metadata"]["deletionTimestamp"] = ts(30)
    if p.get("ready", True) and statuses and not p.get("waiting") and not p.get("terminated"):
        pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    evs = []
    for e in p.get("events") or []:
        ago = e.get("ago", 30)
        evs.append(pod_event(pod, e["reason"], e["message"], type_=e.get("type", "Warning"),
                             container=e.get("container"), count=e.get("count", 1),
                             first=ts(e.get("first_ago", ago)), last=ts(ago),
                             component=e.get("component", "kubelet")))
    return pod, evs


def build(case: dict):
    """(snapshot, pod results, workload contexts) for a case."""
    ns = case.get("namespace", "shop")
    snap = Snapshot(source="cluster")
    wl = build_object(case["workload"], ns)
    snap.add(wl)
    by_name = {(wl["kind"], wl["metadata"]["name"]): wl}
    for child in case.get("children") or []:
        obj = build_object(child, ns, owner=wl)
        snap.add(obj)
        by_name[(obj["kind"], obj["metadata"]["name"])] = obj
    for raw in case.get("objects") or []:
        raw = _times(copy.deepcopy(raw))
        raw.setdefault("metadata", {}).setdefault("namespace", ns) if raw.get("kind") not in ("StorageClass",) \
            else None
        snap.add(raw)
        by_name[(raw["kind"], raw["metadata"]["name"])] = raw
    for e in case.get("events") or []:
        kind, _, name = (e.get("on") or e[True]).partition("/")  # NB: YAML 1.1 reads the key on as true
        obj = by_name.get((kind, name)) or {"apiVersion": API.get(kind, "v1"), "kind": kind,
                                            "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4())}}
        snap.events.append(_event_about(obj, e))
    for p in case.get("pods") or []:
        pod, evs = _pod(p, ns, by_name)
        snap.pods.append(pod)
        snap.events.extend(evs)
        if p.get("log") is not None:  # the previous log of its container
            snap.logs[(ns, p["name"], p.get("container", "app"))] = p["log"]
    for kind in case.get("listed") or []:
        snap.listed.add((kind, "*" if kind == "StorageClass" else ns))
    results = []
    for ctx in contexts(snap):
        ctx.now = NOW
        results.append(PodResult(ctx, diagnose(ctx)))
    snap.owners_of_all = [(ns, r.ctx.owner) for r in results]
    wctxs = workload_contexts(snap, results, target=(wl["kind"], ns, wl["metadata"]["name"]), now=NOW)
    return snap, results, wctxs


def _text(f) -> str:
    return "\n".join([f.title, f.explanation, *f.evidence, *f.suggestions]).lower()


def check_case(case: dict) -> None:
    _, _, (wctx,) = build(case)
    findings = diagnose_workload(wctx)
    exp = case["expect"]
    codes = [(f.code, f.severity) for f in findings]
    for f in findings:
        assert f.code in CODES, f.code
        assert f.title and f.explanation
    if exp.get("empty"):
        assert [f for f in findings if f.severity in ("error", "warning")] == [], codes
        if exp.get("code"):
            assert findings and findings[0].code == exp["code"], codes
        return
    if exp.get("no_errors"):
        assert all(f.severity != "error" for f in findings), codes
    assert findings, f"{case['id']}: no findings"
    first = findings[0]
    assert first.code == exp["code"], f"{case['id']}: {codes} / {first.title}"
    if "severity" in exp:
        assert first.severity == exp["severity"], (case["id"], first.severity)
    text = _text(first)
    for word in exp.get("words") or []:
        assert str(word).lower() in text, f"{case['id']}: {word!r} not in:\n{text}"
    for key, value in (exp.get("extra") or {}).items():
        assert first.extra.get(key) == value, (case["id"], key, first.extra.get(key))
    for code in exp.get("absent") or []:
        assert code not in [c for c, _ in codes], (case["id"], codes)
    if "permanent" in exp:  # kubectl podfix wait's decision on the workload's findings (diagnose.heal)
        from kubectl_podfix.diagnose.heal import permanent
        stop = permanent(findings, wctx.workload, wctx.events, NOW)
        assert (stop is not None) == exp["permanent"], (case["id"], stop and stop.code)
    if "fix" in exp:
        assert (first.fix.id if first.fix else None) == exp["fix"], (case["id"], first.fix)
