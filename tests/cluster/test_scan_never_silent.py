"""A scan is never silent on a pod `explain POD` would report, and costs the same requests.

cluster.gather.is_suspect keeps every pod diagnose.health calls unhealthy. Before, a Running pod with no
Ready condition in its status, no restart and no waiting container was dropped from scans even when its
container had not been Ready for an hour.
"""

from __future__ import annotations

import datetime as dt

from apiserver import FakeAPIServer
from clitools import run_podfix
from objects import pod, running
from test_triage import requests, table


def _ago(seconds: float) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return (now - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_scan_reports_a_pod_not_ready_for_an_hour_with_the_same_requests(tmp_path):
    with FakeAPIServer() as api:
        quiet = pod("stuck-0", phase="Running", created=_ago(7200),
                    statuses=[running("app", since=_ago(3600), ready=False)])
        quiet["status"].pop("conditions", None)  # no Ready condition: the old filter dropped it
        api.add(quiet, pod("fine-0", phase="Running", created=_ago(7200),
                           statuses=[running("app", since=_ago(3600))]))
        kc = api.write_kubeconfig(str(tmp_path / "kc"), namespace="default")
        r = run_podfix(["explain"], kubeconfig=kc)
        assert r.code == 0, r.err
        assert table(r.out) == {("default", "pod/stuck-0"): ("1/1", "pod.unexplained")}
        assert requests(api) == [
            "GET /api/v1/namespaces/default/pods?limit=500",
            *(f"GET /apis/{group}/namespaces/default/{plural}?limit=500" for group, plural in (
                ("apps/v1", "deployments"), ("apps/v1", "statefulsets"), ("apps/v1", "daemonsets"),
                ("batch/v1", "jobs"), ("batch/v1", "cronjobs"), ("apps/v1", "replicasets"))),
            # a scan finds workloads with no pod too (qa live3: a ReplicaSet nothing owns, one more LIST)
            "GET /api/v1/namespaces/default/events?fieldSelector=type=Warning,involvedObject.kind=Pod&limit=500"]
        r = run_podfix(["explain", "-o", "json"], kubeconfig=kc)
        doc = r.json
        assert [p["name"] for p in doc["pods"]] == ["stuck-0"]
        finding = doc["pods"][0]["findings"][0]
        assert finding["code"] == "pod.unexplained" and finding["severity"] == "error"
        assert finding["container"] == "app"
