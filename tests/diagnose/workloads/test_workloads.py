"""Workload family rules, table-driven from workload_texts.yaml (real controller and admission texts)."""

from __future__ import annotations

import pytest
from wl_cases import check_case, load_cases

from kubectl_podfix.diagnose.workloads import CODES, CREATION_REJECTED

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_workload_case(case):
    check_case(case)


def test_every_code_has_a_real_text():
    seen = {c["expect"].get("code") for c in CASES}
    assert set(CODES) - seen == set(), set(CODES) - seen


def test_case_ids_are_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))


def test_creation_rejected_codes_are_codes():
    assert CREATION_REJECTED <= set(CODES)


@pytest.mark.parametrize("schedule,error", [
    ("*** * * * *", "failed to parse int from ***"),  # k8sgpt pkg/analyzer/cronjob_test.go TestCronJobBroken
    ("*/5 * * *", "expected exactly 5 fields, found 4"),
    ("*/5 * * * * *", "expected exactly 5 fields, found 6"),  # a seconds field (Quartz, Spring)
    ("60 * * * *", "end of range (60) above maximum (59)"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1)"),
    ("*/0 * * * *", "step of range should be a positive number"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1)"),
    ("H * * * *", "failed to parse int from H"),  # Jenkins' hash syntax
    ("@reboot", "unrecognized descriptor"),
    ("0 12 * * ?", None), ("@hourly", None), ("@every 1h30m", None), ("TZ=Europe/Paris 0 5 * * *", None),
    ("0 9-17/2 * * MON-FRI", None), ("0 0 1 jan,jul *", None), ("*/1 * * * *", None), ("0 0 31 2 *", None),
    ("0 0 * * 7", None),  # robfig says 6 at most; never a false alarm on a doubt
    (None, None), ({"not": "a string"}, None),
])
def test_cronjob_schedule_parses_as_robfig_standard(schedule, error):
    from kubectl_podfix.diagnose.workloads.cron import schedule_error
    got = schedule_error(schedule)
    assert (got is None) if error is None else (got is not None and error in got), got
