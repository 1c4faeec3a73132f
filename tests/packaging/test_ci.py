"""CI (.ci/run) installs what the tests need and makes the tests that need it mandatory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import ROOT

CI = (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("package, env", [("docker-registry", "PODFIX_REQUIRE_REGISTRY"),
                                          ("busybox", "PODFIX_REQUIRE_BUSYBOX")])
def test_ci_installs_the_tool_and_requires_its_tests(package, env):
    install = re.search(r"apt-get install [^\n]*", CI).group(0)
    assert f" {package} " in install + " "
    assert re.search(rf"^export {env}=1$", CI, re.M)
    assert CI.index(f"export {env}=1") < CI.index("make test")


def _node_check_script_test(env_extra: dict) -> subprocess.CompletedProcess:
    """The busybox test of the node-check script, run where busybox cannot be found."""
    env = {"PATH": str(Path(sys.executable).parent), "HOME": "/nonexistent", **env_extra}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           "tests/nodecheck/test_node_check.py::test_script_under_busybox"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_busybox_test_is_mandatory_when_ci_says_so():
    skipped = _node_check_script_test({})
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    failed = _node_check_script_test({"PODFIX_REQUIRE_BUSYBOX": "1"})
    assert failed.returncode == 1 and "PODFIX_REQUIRE_BUSYBOX=1" in failed.stdout, failed.stdout
