"""README.md's example outputs are what the examples print now (tools/readme.py regenerates them: make readme).

They are made with PODFIX_NOW pinned, so ages ("x4 over 1h") do not drift as days pass."""

from __future__ import annotations

import subprocess
import sys

from clitools import ROOT


def test_readme_examples_are_up_to_date():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "readme.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr

