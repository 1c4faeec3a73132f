"""docs/security.md names the test that holds each promise: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_named_in_security_md_exists():
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    modules = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}  # named as paths, checked below
    named = set(re.findall(r"\btest_[a-z0-9_]+\b", doc)) - modules
    defined = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(re.findall(r"^def (test_[a-z0-9_]+)", path.read_text(encoding="utf-8"), re.M))
    assert named and sorted(named - defined) == []
    for path in re.findall(r"`((?:[a-z_]+/)+test_[a-z0-9_]+\.py)", doc):
        assert (ROOT / "tests" / path).exists(), path
