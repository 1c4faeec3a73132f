"""Pod family rules (scheduling, node, admission, eviction, volumes, sandbox, termination),
table-driven from failure_texts.yaml (beside this file)."""

from __future__ import annotations

import pytest
from cases import build_ctx, check_case, load_cases

from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.rules.pods.scheduling import blocking_parts, parse_message

CASES = load_cases("pods")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_pod_case(case):
    check_case(case)


def test_every_pod_code_has_real_texts():
    from kubectl_podfix.diagnose.rules import pods
    assert set(pods.CODES) <= {c["expect"].get("code") for c in CASES}


def test_scheduler_message_new_wording():
    p = parse_message("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
                      ", 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
                      "scheduling, 2 No preemption victims found for incoming pod.")
    assert (p["available"], p["total"]) == (0, 3)
    assert [(x["count"], x["category"]) for x in p["parts"]] == [(1, "taint"), (2, "resources")]
    assert p["parts"][1]["resource"] == "memory"
    assert p["parts"][0]["taints"] == ["node-role.kubernetes.io/control-plane"]
    assert "No preemption victims" in p["preemption"]
    assert blocking_parts(p)[0]["category"] == "resources"


def test_scheduler_message_old_taint_with_comma():
    p = parse_message("0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod "
                      "didn't tolerate, 2 Insufficient cpu.")
    assert [(x["count"], x["category"]) for x in p["parts"]] == [(1, "taint"), (2, "resources")]


@pytest.mark.parametrize("message,category", [
    ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", "node-affinity"),
    ("0/3 nodes are available: 3 node(s) were unschedulable.", "cordoned"),
    ("0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports.", "ports"),
    ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.", "pod-anti-affinity"),
    ("0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints.", "topology-spread"),
    ("0/3 nodes are available: 3 node(s) had volume node affinity conflict.", "volume"),
    ("0/3 nodes are available: 3 Too many pods.", "too-many-pods"),
    ("fit failure summary on nodes : Insufficient pods (1), PodToleratesNodeTaints (1)", "too-many-pods"),
    ("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.", "resources"),
    ("0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims.", "volume"),
    ('0/1 nodes are available: persistentvolumeclaim "data" not found.', "volume"),
    ("No nodes are available that match all of the following predicates:: Insufficient cpu (3).", "resources"),
])
def test_scheduler_categories(message, category):
    parts = parse_message(message)["parts"]
    assert parts and parts[0]["category"] == category, parts


def test_no_nodes_at_all():
    assert parse_message("no nodes available to schedule pods")["parts"][0]["category"] == "no-nodes"


def test_unschedulable_lists_blocking_parts_in_extra():
    case = next(c for c in CASES if c["id"] == "sched-odo-17-nodes")
    f = diagnose(build_ctx(case))[0]
    cats = [p["category"] for p in f.extra["blocking"]]
    assert "resources" in cats and "node-affinity" in cats and "taint" in cats
    # control-plane taints (normal) rank last
    assert f.extra["blocking"][-1]["taints"] == ["node-role.kubernetes.io/master"]


def test_workload_codes_are_documented():
    import re
    from pathlib import Path

    from kubectl_podfix.diagnose.rules import containers, pods, probes
    doc = Path(__file__).resolve().parents[3] / "docs" / "findings.md"
    documented = re.findall(r"^### `([a-z]+\.[a-z-]+)`", doc.read_text(), flags=re.M)
    assert {*containers.CODES, *pods.CODES, *probes.CODES} <= set(documented)


@pytest.mark.parametrize("pod", [
    {},
    {"metadata": {"name": "x", "namespace": "default"}},
    {"metadata": {"name": "x", "namespace": "default", "deletionTimestamp": "garbage"}, "status": {"phase": "Running"}},
    {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "a"}]},
     "status": {"phase": "Running", "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                                          "lastState": {"terminated": {}}}]}},
    {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "a", "livenessProbe": {"httpGet": {}}}]},
     "status": {"phase": "Failed", "reason": "Evicted", "message": ""}},
    {"metadata": {"name": "x"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}},
])
def test_malformed_pods_do_not_crash(pod):
    import datetime as dt

    from kubectl_podfix.diagnose.model import PodContext, Snapshot
    ctx = PodContext(pod=pod, events=[{"reason": "FailedMount", "message": None}, {"reason": "Killing"},
                                      {"reason": "FailedScheduling", "message": ""}],
                     snapshot=Snapshot(), now=dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc))
    for f in diagnose(ctx):
        assert f.code and f.title


@pytest.mark.parametrize("message,parts,total", [
    # The 1.8 wording has no "following" and a single colon; "No nodes" must not lose its "No".
    ("No nodes are available that match all of the predicates: Insufficient ephemeral-storage (1), "
     "PodToleratesNodeTaints (3).", [(1, "resources"), (3, "taint")], 4),
    ("No nodes are available that match all of the following predicates:: Insufficient cpu (11), Insufficient memory "
     "(18), MatchNodeSelector (18).", [(18, "resources"), (18, "node-affinity"), (11, "resources")], 18),
    ("No nodes are available that match all of the following predicates:: NodeUnderMemoryPressure (1).",
     [(1, "node-not-ready")], 1),
    ("fit failure summary on nodes : MatchNodeSelector (2), PodFitsResources (1)", [(2, "node-affinity"),
                                                                                    (1, "resources")], 2),
])
def test_old_predicate_messages(message, parts, total):
    p = parse_message(message)
    got = [(x["count"], x["category"]) for x in blocking_parts(p)]
    assert sorted(got) == sorted(parts)
    assert p["total"] == total and p["available"] == 0
    f = diagnose(build_ctx({"id": "x", "family": "pods", "phase": "Pending", "node": None,
                            "containers": [{"name": "app"}],
                            "events": [{"reason": "FailedScheduling", "message": message, "ago": 20}],
                            "expect": {}}))[0]
    assert f.code == "pod.unschedulable"
    assert "nodes are available that match" not in f.title  # the meaning must not be reversed
    for part in p["parts"]:
        assert part["reason"] in f.explanation  # every part named


@pytest.mark.parametrize("name,category", [
    ("MatchNodeSelector", "node-affinity"), ("NodeUnschedulable", "cordoned"),
    ("CheckNodeDiskPressure", "node-not-ready"), ("CheckNodeMemoryPressure", "node-not-ready"),
    ("PodFitsHostPorts", "ports"), ("NoVolumeZoneConflict", "volume"), ("MaxVolumeCount", "volume"),
    ("MatchInterPodAffinity", "pod-affinity"), ("CheckVolumeBinding", "volume"), ("NoDiskConflict", "volume"),
    ("GeneralPredicates", "resources"), ("PodFitsResources", "resources"), ("PodToleratesNodeTaints", "taint"),
    ("HostName", "node-affinity"), ("CheckNodeCondition", "node-not-ready"), ("MaxEBSVolumeCount", "volume"),
])
def test_every_old_predicate_name_has_a_category_and_meaning(name, category):
    part = parse_message(f"No nodes are available that match all of the following predicates:: {name} (2).")["parts"][0]
    assert (part["category"], part["predicate"]) == (category, name) and part["meaning"]


def test_condition_taints_are_not_to_be_tolerated():
    p = parse_message("0/3 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.")
    assert p["parts"][0]["category"] == "node-not-ready"
    f = diagnose(build_ctx({"id": "x", "family": "pods", "phase": "Pending", "node": None,
                            "containers": [{"name": "a"}], "expect": {},
                            "events": [{"reason": "FailedScheduling", "ago": 5, "message": p["raw"]}]}))[0]
    assert "disk pressure" in f.explanation
    assert "a toleration would only place the pod on a broken node" in f.explanation


def test_a_missing_service_account_token_names_the_service_account():
    case = {"id": "x", "family": "pods", "phase": "Pending",
            "containers": [{"name": "app", "waiting": {"reason": "ContainerCreating"}}],
            "events": [{"reason": "FailedMount", "ago": 20, "count": 4, "message":
                        'MountVolume.SetUp failed for volume "kube-api-access-abcde" : failed to fetch token: '
                        'serviceaccounts "builder" not found'}], "expect": {}}
    f = diagnose(build_ctx(case))[0]
    assert (f.code, f.extra["kind"], f.extra["service_account"]) == ("pod.volume-mount-failed", "token", "builder")
    assert 'ServiceAccount "builder" does not exist' in f.explanation
