"""diagnose/heal.py: which failures will not heal by themselves (pure, over real diagnoses)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from objects import event, pod, waiting

from kubectl_podfix.diagnose import heal
from kubectl_podfix.diagnose.context import contexts
from kubectl_podfix.diagnose.model import Finding, Snapshot
from kubectl_podfix.diagnose.rules import diagnose

NOW = dt.datetime(2026, 11, 20, 9, 10, tzinfo=dt.timezone.utc)
IMAGE = "registry.example.com/shop/web:2.0"
NOT_FOUND = (f'Failed to pull image "{IMAGE}": failed to pull and unpack image "{IMAGE}": failed to resolve '
             f'reference "{IMAGE}": {IMAGE}: not found')
UNREACHABLE = (f'Failed to pull image "{IMAGE}": rpc error: code = DeadlineExceeded desc = failed to pull and '
               f'unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": failed to do request: Head '
               '"https://registry.example.com/v2/shop/web/manifests/2.0": dial tcp 10.0.0.7:443: i/o timeout')
NO_ROOM = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not "
           "helpful for scheduling.")


def decide(p: dict, *events: dict, now=NOW):
    snap = Snapshot(pods=[p], events=list(events))
    (ctx,) = contexts(snap)
    ctx.now = now
    findings = diagnose(ctx)
    return heal.permanent(findings, p, ctx.events, now), findings


def crash_status(restarts: int) -> dict:
    return {"name": "app", "image": "nginx:1.27", "ready": False, "restartCount": restarts, "started": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-20T09:08:00Z",
                                         "finishedAt": "2026-11-20T09:09:50Z"}}}


def pending(message: str = NO_ROOM, since: str = "2026-11-20T09:00:00Z") -> dict:
    p = pod("web-1", node=None, phase="Pending")
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": message, "lastTransitionTime": since}]
    return p


def test_an_image_that_does_not_exist_is_permanent():
    p = pod("web-1", containers=[{"name": "app", "image": IMAGE}],
            statuses=[waiting("app", "ImagePullBackOff", f'Back-off pulling image "{IMAGE}"', image=IMAGE)])
    found, _ = decide(p, event(p, "Failed", NOT_FOUND, container="app", count=3))
    assert found is not None and found.code == "image.not-found"


def test_a_registry_that_does_not_answer_may_come_back():
    p = pod("web-1", containers=[{"name": "app", "image": IMAGE}],
            statuses=[waiting("app", "ErrImagePull", UNREACHABLE.split(": ", 1)[1], image=IMAGE)])
    found, findings = decide(p, event(p, "Failed", UNREACHABLE, container="app"))
    assert found is None and findings[0].code == "image.registry-unreachable"


def test_pulling_is_not_a_failure():
    p = pod("web-1", statuses=[waiting("app", "ContainerCreating")])
    assert decide(p, event(p, "Pulling", 'Pulling image "nginx:1.27"', type_="Normal", container="app"))[0] is None


@pytest.mark.parametrize("restarts, permanent", [(1, False), (2, True), (5, True)])
def test_a_crash_loop_is_permanent_from_its_second_restart(restarts, permanent):
    p = pod("web-1", phase="Running", statuses=[crash_status(restarts)])
    found, findings = decide(p)
    assert findings[0].code == "container.crash-loop"
    assert (found is not None) == permanent


def test_a_missing_config_map_is_permanent():
    p = pod("web-1", statuses=[waiting("app", "CreateContainerConfigError", 'configmap "web-config" not found')])
    found, _ = decide(p)
    assert found is not None and found.code == "container.config-error"


def test_a_config_map_missing_for_seconds_may_still_be_applied():
    """`kubectl apply -f k8s/` may create the ConfigMap just after the Deployment: the kubelet retries."""
    p = pod("web-1", created="2026-11-20T09:09:55Z",  # 5 s before NOW
            statuses=[waiting("app", "CreateContainerConfigError", 'configmap "web-config" not found')])
    found, findings = decide(p)
    assert found is None and findings[0].code == "container.config-error"


def test_unschedulable_waits_for_an_autoscaler():
    p = pending(since="2026-11-20T09:09:50Z")  # 10 s ago: the autoscaler has not had its say yet
    assert decide(p, event(p, "FailedScheduling", NO_ROOM, component="default-scheduler"))[0] is None
    p = pending()  # 10 minutes ago, no scale-up: nothing is coming
    found, _ = decide(p, event(p, "FailedScheduling", NO_ROOM, component="default-scheduler"))
    assert found is not None and found.code == "pod.unschedulable"


@pytest.mark.parametrize("reason, component, permanent", [
    ("TriggeredScaleUp", "cluster-autoscaler", False),
    ("Nominated", "karpenter", False),
    ("NotTriggerScaleUp", "cluster-autoscaler", True),
])
def test_what_the_autoscaler_says_decides(reason, component, permanent):
    p = pending(since="2026-11-20T09:09:55Z")
    found, _ = decide(p, event(p, "FailedScheduling", NO_ROOM, component="default-scheduler"),
                      event(p, reason, "pod triggered scale-up: [{pool-1 3->4 (max: 10)}]" if reason != "Nominated"
                            else "Pod should schedule on: nodeclaim/default-x7k2p", type_="Normal",
                            component=component))
    assert (found is not None) == permanent


def test_unschedulable_where_preemption_could_help_keeps_waiting():
    p = pending("0/3 nodes are available: 3 Insufficient cpu.")
    assert decide(p, event(p, "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.",
                           component="default-scheduler"))[0] is None


def test_only_errors_with_a_row_count():
    f = Finding("image.not-found", "warning", "app", "t", "e")
    assert heal.permanent([f], pod("x"), [], NOW) is None
    f = Finding("image.pull-failed", "error", "app", "t", "e")
    assert heal.permanent([f], pod("x"), [], NOW) is None
    f2 = Finding("image.not-found", "error", "app", "t", "e")
    assert heal.permanent([f, f2], pod("x"), [], NOW) is f2


def test_every_row_is_a_known_code_and_docs_wait_md_lists_them():
    from kubectl_podfix.diagnose.rules import CODES
    assert {r.code for r in heal.RULES} <= set(CODES)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "wait.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z.-]+)` \| (.+?) \|$", doc, re.M))
    assert {code: rows.get(code) for code in heal.BY_CODE} == {r.code: r.when for r in heal.RULES}
