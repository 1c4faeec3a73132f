"""Run podfix as users do: the installed console script, or through the real kubectl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: kubectl-podfix lives here


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


def cli_env(kubeconfig_path: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "PODFIX_TEST"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = env.get("HOME", "/root")
    env.pop("NO_COLOR", None)
    if kubeconfig_path:
        env["KUBECONFIG"] = kubeconfig_path
    env.update(extra)
    return env


def run_podfix(args: list[str], *, kubeconfig: str | None = None, stdin: str | None = None,
               via_kubectl: bool = False, env: dict | None = None, timeout: float = 60) -> Run:
    """Run the installed console script (or `kubectl podfix` through the real kubectl)."""
    cmd = ["kubectl", "podfix", *args] if via_kubectl else [str(BIN / "kubectl-podfix"), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=env or cli_env(kubeconfig), cwd=ROOT)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def have_kubectl() -> bool:
    return shutil.which("kubectl") is not None
