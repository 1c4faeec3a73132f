"""The Makefile's developer targets: `make example` prints the example and nothing else, even on the run
that installs (pip's and setuptools' progress and banners go to a log, shown only when the install fails).

A stand-in python makes the venv in a temp directory: its pip prints the noise a real editable install
prints (or fails, when asked), and its bin links to this checkout's kubectl-podfix.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import ROOT, cli_env

BIN = Path(sys.executable).parent
NOISE = ("Obtaining file://", "*" * 40, "!!", "SetuptoolsDeprecationWarning", "Successfully installed")

FAKE_PYTHON = f"""#!/bin/sh
# stands in for "python3 -m venv DIR"
[ "$1" = "-m" ] && [ "$2" = "venv" ] || exit 2
mkdir -p "$3/bin"
cat > "$3/bin/pip" <<'PIP'
#!/bin/sh
echo "Obtaining file://{ROOT}"
echo "        ********************************************************************************" >&2
echo "!!" >&2
echo "SetuptoolsDeprecationWarning: editable install banner" >&2
if [ -n "$FAKE_PIP_FAIL" ]; then echo "ERROR: No matching distribution found for click" >&2; exit 1; fi
echo "Successfully installed kubectl-podfix"
PIP
chmod +x "$3/bin/pip"
ln -sf "{BIN}/kubectl-podfix" "$3/bin/kubectl-podfix"
ln -sf "{BIN}/python" "$3/bin/python"
"""
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make_example(tmp_path: Path, fresh: bool = True, **env: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    if fresh:
        shutil.rmtree(venv, ignore_errors=True)
    return subprocess.run(["make", "--no-print-directory", "example", f"PYTHON={fake}", f"VENV={venv}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=cli_env(None, **env))


@needs_make
def test_make_example_prints_only_the_example(tmp_path):
    run = make_example(tmp_path)
    assert run.returncode == 0, run.stderr
    expected = subprocess.run([str(BIN / "kubectl-podfix"), "explain", "-f", "examples/imagepull-notfound.yaml"],
                              capture_output=True, text=True, cwd=ROOT, env=cli_env(None)).stdout
    assert run.stdout == expected
    venv = tmp_path / "venv"
    assert run.stderr.splitlines() == [f"installing podfix (editable) and the test tools into {venv} "
                                       f"(log: {venv}/install.log)"]
    assert all(n not in run.stdout + run.stderr for n in NOISE)
    assert "SetuptoolsDeprecationWarning" in (venv / "install.log").read_text()
    again = make_example(tmp_path, fresh=False)  # installed: not a word about installing
    assert (again.returncode, again.stdout, again.stderr) == (0, expected, "")


@needs_make
def test_a_failed_install_shows_its_log(tmp_path):
    run = make_example(tmp_path, FAKE_PIP_FAIL="1")
    assert run.returncode != 0
    assert "ERROR: No matching distribution found for click" in run.stderr
    assert "failed (log above)" in run.stderr
    assert not (tmp_path / "venv" / ".installed").exists()
