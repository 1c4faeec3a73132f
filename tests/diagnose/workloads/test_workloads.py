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
