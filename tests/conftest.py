"""Shared fixtures: the loopback API server, a kubeconfig for it, and a CLI runner.

NB: the full ``kubernetes`` package is imported here so that in-process code
(and tests using the client directly) see the real package; podfix's own
light import path (kubectl_podfix.cluster.client) is exercised by the subprocess tests.
"""

from __future__ import annotations

import kubernetes  # noqa: F401  (see module docstring)
import pytest
import registry_servers as rs
from apiserver import FakeAPIServer
from clitools import cli_env, run_podfix


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
    def run(*args: str, env_extra: dict | None = None, **kw):
        if env_extra:
            kw["env"] = cli_env(kubeconfig, **env_extra)
        kw.setdefault("timeout", 60)
        return run_podfix(list(args), kubeconfig=kubeconfig, **kw)
    return run


# -- the real registry (tests/registry_servers.py) -------------------------------------------

# NB: no fixture clears HTTP(S)_PROXY: loopback servers are never proxied (Go's rule, which podfix
# follows), so these tests pass whatever proxy the machine has; tests/security/test_proxies.py tests
# proxies on purpose.


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory):
    rs.need([t for t in rs.missing_tools() if t.startswith("openssl")])
    return rs.make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def real_registry(tmp_path_factory, test_ca):
    """Debian's docker-registry over TLS with htpasswd, test images pushed (also as latest, 1.1, v1.2.3)."""
    rs.need(rs.missing_tools())
    reg = rs.start_registry(tmp_path_factory.mktemp("registry"), ca=test_ca)
    try:
        reg.images = rs.push_test_images(reg.url, test_ca.ca_cert, extra_tags=("latest", "1.1", "v1.2.3"))
        yield reg
    finally:
        reg.stop()
