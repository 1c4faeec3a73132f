"""Shared fixtures: the loopback API server, a kubeconfig for it, and a CLI runner.

NB: the full ``kubernetes`` package is imported here so that in-process code
(and tests using the client directly) see the real package; podfix's own
light import path (kubectl_podfix.kube) is exercised by the subprocess tests.
"""

from __future__ import annotations

import kubernetes  # noqa: F401  (see module docstring)
import pytest
from apiserver import FakeAPIServer
from clitools import run_podfix


@pytest.fixture
def api():
    server = FakeAPIServer().start()
    yield server
    server.stop()


@pytest.fixture
def kubeconfig(api, tmp_path):
    return api.write_kubeconfig(str(tmp_path / "kubeconfig"), namespace="default")


@pytest.fixture
def podfix(kubeconfig):
    def run(*args: str, **kw):
        return run_podfix(list(args), kubeconfig=kubeconfig, **kw)
    return run
