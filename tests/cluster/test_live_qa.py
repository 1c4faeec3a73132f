"""Acceptance (qa-diagnosis): the real shapes of tests/diagnose/rules/qa_texts.yaml and
tests/diagnose/workloads/qa_workload_texts.yaml, served by the loopback API server and explained through the real
kubectl (plugin dispatch), as a namespace scan and as explain TYPE/NAME.

The live path (gather, the scan filter, the bounded reads, owners, events by field selector) must reach the
diagnosis the pure rules give on the same objects: the broken pods are all in the scan with their root cause
first, the healthy ones are not reported as broken. PODFIX_NOW pins the clock to the fixtures' NOW.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml
from clitools import cli_env, have_kubectl, run_podfix

HERE = Path(__file__).resolve().parents[1] / "diagnose"
sys.path.insert(0, str(HERE / "rules"))
sys.path.insert(0, str(HERE / "workloads"))

import cases as rule_cases  # noqa: E402
import wl_cases  # noqa: E402

from kubectl_podfix.diagnose import health  # noqa: E402
from kubectl_podfix.diagnose.rules import diagnose  # noqa: E402

NOW = "2026-11-20T12:00:00Z"
pytestmark = pytest.mark.skipif(not have_kubectl(), reason="needs kubectl on PATH")

pod_of: dict[str, dict] = {}
RULE_CASES = yaml.safe_load((HERE / "rules" / "qa_texts.yaml").read_text(encoding="utf-8"))["cases"]
WORKLOAD_CASES = yaml.safe_load((HERE / "workloads" / "qa_workload_texts.yaml").read_text(encoding="utf-8"))["cases"]


def _live_case(case: dict) -> bool:
    # what the data alone decides (no metrics, no "this kind was listed" claims a live read makes for itself)
    return not case.get("missing") and not case.get("listed") and not case.get("metrics")


def _seed_pods(api, ns: str) -> dict[str, dict]:
    """Every usable rules case as one pod of namespace ``ns``: {pod name: (case, pure first finding or None)}."""
    out = {}
    nodes = {}
    for i, case in enumerate(c for c in RULE_CASES if _live_case(c)):
        case = copy.deepcopy(case)
        case["name"] = f"qa-{i:02d}-{case['id'][3:40].rstrip('-')}"
        case["namespace"] = ns
        ctx = rule_cases.build_ctx(case)
        found = diagnose(ctx)
        out[case["name"]] = (case, next((f for f in found if f.severity in ("error", "warning")), None))
        pod_of[case["name"]] = ctx.pod
        api.add(ctx.pod, *ctx.events)
        for (kind, _, name), obj in ctx.snapshot.objects.items():
            if kind == "Node":
                nodes[name] = obj
            elif kind not in ("Pod", "Event"):
                api.add(obj)
        for (pns, pname, container), text in ctx.snapshot.logs.items():
            api.logs[(pns, pname, container, True)] = text
    if nodes:
        api.add(*nodes.values())
    return out


def test_every_qa_pod_through_real_kubectl_as_a_namespace_scan(api, kubeconfig):
    seeded = _seed_pods(api, "qa")
    run = run_podfix(["explain", "-n", "qa", "-o", "json"], kubeconfig=kubeconfig, via_kubectl=True,
                     env=cli_env(kubeconfig, PODFIX_NOW=NOW))
    assert run.code == 0, run.err
    got = {p["name"]: p for p in run.json["pods"]}
    problems = []
    for name, (case, pure) in seeded.items():
        exp = case["expect"]
        live = got.get(name)
        live_first = next((f for f in (live or {}).get("findings", []) if f["severity"] in ("error", "warning")),
                          None)
        if exp.get("empty") or (exp.get("no_errors") and exp.get("severity") in ("info", None) and pure is None):
            if live_first is not None:
                problems.append(f"{case['id']}: healthy, but the scan says {live_first['code']}")
            continue
        if live is None and health.is_healthy(pod_of[name], rule_cases.NOW):
            # Live, podfix reads a pod's Node only when the pod's own status shows a problem the Node explains
            # (cluster.gather), and the scan keeps only such pods: a pod whose status still reads Ready on a node
            # gone for days (a controller manager that did not mark it not Ready) is diagnosed from a saved
            # bundle holding its Node (-f), not live.
            continue
        if live is None:
            problems.append(f"{case['id']}: broken ({exp['code']}), missing from the scan")
            continue
        first = live["findings"][0]
        if first["code"] != exp["code"]:
            problems.append(f"{case['id']}: the scan's first finding is {first['code']}, expected {exp['code']}")
        if pure is not None and "severity" in exp and first["severity"] != exp["severity"] \
                and first["code"] == exp["code"]:
            problems.append(f"{case['id']}: severity {first['severity']} live, {exp['severity']} expected")
    assert not problems, "\n".join(problems)


def _seed_workload(api, case: dict) -> tuple[str, str, str]:
    snap, _, (wctx,) = wl_cases.build(case)
    for obj in snap.objects.values():
        api.add(copy.deepcopy(obj))
    api.add(*[copy.deepcopy(p) for p in snap.pods], *[copy.deepcopy(e) for e in snap.events])
    for (ns, name, container), text in snap.logs.items():
        api.logs[(ns, name, container, True)] = text
    return wctx.kind, wctx.namespace, wctx.name


SHORT = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "Job": "job", "CronJob": "cronjob",
         "ReplicaSet": "rs"}
LIVE_WORKLOADS = ["qa-eck-statefulset-webhook-denied-toleration", "qa-gsp-priorityclass-missing-condition",
                  "qa-k8sgpt-cronjob-broken-schedule-no-event", "qa-statefulset-ordinal-0-cannot-start-command",
                  "qa-npd-daemonset-exec-format-on-arm64", "qa-krane-deadline-condition-of-an-older-generation",
                  "qa-shotgun-rollout-stuck-private-tag", "qa-popeye-job-j1-complete",
                  "qa-krane-daemonset-misscheduled-extra-is-done", "qa-do-csi-volume-limit"]


@pytest.mark.parametrize("case_id", LIVE_WORKLOADS)
def test_qa_workloads_through_real_kubectl(api, kubeconfig, case_id):
    case = next(c for c in WORKLOAD_CASES if c["id"] == case_id)
    kind, ns, name = _seed_workload(api, case)
    run = run_podfix(["explain", f"{SHORT[kind]}/{name}", "-n", ns, "-o", "json", "--exit-code"],
                     kubeconfig=kubeconfig, via_kubectl=True, env=cli_env(kubeconfig, PODFIX_NOW=NOW))
    assert run.code in (0, 3), run.err
    (workload,) = [w for w in run.json["workloads"] if w["name"] == name]
    findings = workload["findings"]
    exp = case["expect"]
    loud = [f for f in findings if f["severity"] in ("error", "warning")]
    if exp.get("empty"):
        assert not loud, [(f["code"], f["severity"]) for f in findings]
        assert run.code == 0 or any(f["severity"] == "error" for p in run.json["pods"] for f in p["findings"])
        return
    assert findings and findings[0]["code"] == exp["code"], [(f["code"], f["severity"]) for f in findings]
    if "severity" in exp:
        assert findings[0]["severity"] == exp["severity"]
    if exp.get("no_errors"):
        assert all(f["severity"] != "error" for f in findings)
    else:
        assert run.code == 3  # --exit-code: an error finding
