"""A CronJob's failed run is history once a later run succeeded (the CronJob's status.lastSuccessfulTime), even
when that later Job is gone or was not read (-l, --field-selector, explain job/X); a failed last run with no
success since stays an error (qa live3)."""

from __future__ import annotations

import datetime as dt

import pytest

from kubectl_podfix.diagnose.model import Snapshot
from kubectl_podfix.diagnose.workloads import diagnose_workload
from kubectl_podfix.diagnose.workloads.context import workload_contexts

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


def cron(last_ok):
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "cleanup", "namespace": "batch", "uid": "c1"},
            "spec": {"schedule": "30 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
            "status": {"lastScheduleTime": "2026-11-20T11:30:00Z",
                       **({"lastSuccessfulTime": last_ok} if last_ok else {})}}


def failed_job():
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "cleanup-2948103", "namespace": "batch", "uid": "j1",
                         "creationTimestamp": "2026-11-20T10:30:00Z",
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "cleanup",
                                              "uid": "c1", "controller": True}]},
            "spec": {"backoffLimit": 1},
            "status": {"startTime": "2026-11-20T10:30:00Z", "failed": 2, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit",
                 "lastTransitionTime": "2026-11-20T10:33:00Z"}]}}


def verdict(kind, name, last_ok):
    snap = Snapshot(source="cluster")
    snap.add(cron(last_ok))
    snap.add(failed_job())
    (ctx,) = workload_contexts(snap, [], target=(kind, "batch", name), now=NOW)
    return [(f.code, f.severity, f.evidence[-1]) for f in diagnose_workload(ctx)]


@pytest.mark.parametrize("last_ok, want", [
    ("2026-11-20T11:31:02Z", []),  # a later run succeeded (its Job deleted by the history limit, or not read)
    (None, [("workload.job-backoff-limit", "error")]),  # never succeeded
    ("2026-11-20T09:31:02Z", [("workload.job-backoff-limit", "error")]),  # the last success is older
])
def test_the_cronjob_tells_its_failed_run_from_history(last_ok, want):
    assert [(c, s) for c, s, _ in verdict("CronJob", "cleanup", last_ok)] == want


def test_a_failed_run_asked_for_as_a_job_is_history_when_its_cronjob_succeeded_since():
    (got,) = verdict("Job", "cleanup-2948103", "2026-11-20T11:31:02Z")
    assert got[:2] == ("workload.job-backoff-limit", "warning")
    assert got[2].startswith("cronjob/cleanup has succeeded since (its last successful run: 2026-11-20T11:31:02Z)")
    (got,) = verdict("Job", "cleanup-2948103", "2026-11-20T09:31:02Z")
    assert got[:2] == ("workload.job-backoff-limit", "error")
