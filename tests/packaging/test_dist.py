"""`make dist` on a fresh clone leaves the tree clean; `make release` writes the sha256 of that very archive.

The clone is this work tree's tracked files as they are now (committed or not), in a new git repository,
built with this checkout's .venv (make -o keeps make from rebuilding the venv for the clone).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from clitools import ROOT

VENV = Path(sys.executable).parent.parent


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("make") is None:
        pytest.skip("needs make")
    dest = tmp_path_factory.mktemp("clone")
    for name in git(ROOT, "ls-files", "-z").split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "snapshot")
    return dest


def make(clone: Path, target: str) -> subprocess.CompletedProcess:
    stamp = VENV / ".installed"
    return subprocess.run(["make", "-C", str(clone), "-o", str(stamp), target, f"VENV={VENV}", f"STAMP={stamp}"],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def dist(clone) -> dict:
    """make dist in the clone, once: its output, the sha256 it printed, git status right after."""
    proc = make(clone, "dist")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"sha256": re.search(r"sha256:([0-9a-f]{64})", proc.stdout).group(1),
            "status": git(clone, "status", "--porcelain", "--untracked-files=all")}


def test_make_dist_leaves_a_fresh_clone_clean(clone, dist):
    assert dist["status"] == ""
    local = yaml.safe_load((clone / "dist" / "plugin.yaml").read_text())
    assert local["spec"]["platforms"][0]["sha256"] == dist["sha256"]  # kubectl krew install --manifest=dist/...


def test_make_release_writes_the_sha256_of_the_archive_dist_builds(clone, dist):
    release = make(clone, "release")
    assert release.returncode == 0, release.stdout + release.stderr
    assert re.search(r"sha256:([0-9a-f]{64})", release.stdout).group(1) == dist["sha256"]  # reproducible
    assert git(clone, "status", "--porcelain") == " M plugin.yaml\n"
    changed = [line for line in git(clone, "diff", "-U0", "plugin.yaml").splitlines()
               if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert all(re.match(r"^[+-]\s*(sha256|version|uri):", line) for line in changed), changed
    assert yaml.safe_load((clone / "plugin.yaml").read_text())["spec"]["platforms"][0]["sha256"] == dist["sha256"]
