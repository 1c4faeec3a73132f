"""Shared fixtures: the loopback API server, a kubeconfig for it, and CLI runners.

NB: the full ``kubernetes`` package is imported here so that in-process code
(and tests using the client directly) see the real package; podfix's own
light import path (kubectl_podfix.kube) is exercised by the subprocess tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import kubernetes  # noqa: F401  (see module docstring)
import pytest

from tests.apiserver import FakeAPIServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: kubectl-podfix lives here


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self):
        import json

        return json.loads(self.out)


@pytest.fixture
def api():
    server = FakeAPIServer().start()
    yield server
    server.stop()


@pytest.fixture
def kubeconfig(api, tmp_path):
    return api.write_kubeconfig(str(tmp_path / "kubeconfig"), namespace="default")


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


@pytest.fixture
def podfix(kubeconfig):
    def run(*args: str, **kw) -> Run:
        return run_podfix(list(args), kubeconfig=kubeconfig, **kw)
    return run


def have_kubectl() -> bool:
    return shutil.which("kubectl") is not None
