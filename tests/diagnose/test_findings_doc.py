"""docs/findings.md is the public contract: every code a rule can produce is documented, and nothing else."""

import re
from pathlib import Path

from kubectl_podfix.diagnose import workloads
from kubectl_podfix.diagnose.rules import CODES, FAMILIES, RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "findings.md"


def documented_codes():
    return re.findall(r"^### `([a-z]+\.[a-z-]+)`", DOC.read_text(), flags=re.M)


def test_every_code_is_documented_once():
    documented = documented_codes()
    assert sorted(set(documented)) == sorted(documented), "a code is documented twice"
    assert set(CODES) | set(workloads.CODES) == set(documented)


def test_codes_are_stable_shaped_and_unique_across_families():
    seen = []
    for family in FAMILIES:
        seen.extend(family.CODES)
    assert len(seen) == len(set(seen))
    for code in seen:
        assert re.fullmatch(r"(image|container|pod)\.[a-z]+(-[a-z]+)*", code), code
    assert not set(seen) & set(workloads.CODES)
    for code in workloads.CODES:
        assert re.fullmatch(r"workload\.[a-z]+(-[a-z]+)*", code), code


def test_registry_is_explicit():
    assert RULES and all(callable(rule) for rule in RULES)
