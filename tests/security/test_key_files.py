"""Client keys from a kubeconfig's client-key-data never stay on disk, whatever ends the run.

``ssl`` loads keys only from files. On Linux podfix hands it a memory file (memfd, through
/proc/self/fd/N): nothing is written to disk at all. Where memfd is missing it writes a 0600
file in a 0700 directory, and removes it at exit, SIGTERM and SIGHUP included. Both are run
here against a server that hangs, killed mid-request.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from clitools import BIN, ROOT, cli_env
from hostile import hang

KEY = b"-----BEGIN PRIVATE KEY-----\nPODFIX-KEY-SENTINEL-not-a-real-key\n-----END PRIVATE KEY-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nPODFIX-CERT-SENTINEL\n-----END CERTIFICATE-----\n"
NO_MEMFD = ("import os, sys; del os.memfd_create; from kubectl_podfix.cli import main; main(sys.argv[1:])")


@pytest.fixture
def cert_kubeconfig(api, tmp_path):
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": api.url}}],
        "users": [{"name": "u", "user": {"client-certificate-data": base64.b64encode(CERT).decode(),
                                         "client-key-data": base64.b64encode(KEY).decode(), "token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}]}))
    return str(path)


def files_under(root) -> list[str]:
    return sorted(os.path.join(d, f) for d, dirs, files in os.walk(root) for f in files + dirs)


def run_until_hung(api, kubeconfig: str, tmpdir, cmd: list[str]):
    """Start podfix with TMPDIR=tmpdir; return (process, release) once its first request hangs."""
    release, arrived = threading.Event(), threading.Event()
    api.answer("GET", r"/pods/web-1$", hang(release, arrived=arrived))
    proc = subprocess.Popen([*cmd, "explain", "web-1"], env=cli_env(kubeconfig, TMPDIR=str(tmpdir)), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert arrived.wait(30), "podfix never sent its request"
    time.sleep(0.2)
    return proc, release


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="memfd is Linux-only")
def test_client_key_is_never_written_to_disk(api, cert_kubeconfig, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc, release = run_until_hung(api, cert_kubeconfig, tmpdir, [str(BIN / "kubectl-podfix")])
    try:
        assert files_under(tmpdir) == []
        links = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")]
        assert sum("memfd:podfix-credential" in link for link in links) == 2  # the certificate and the key
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert files_under(tmpdir) == []


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 130), (signal.SIGHUP, 130)])
def test_fallback_key_file_is_private_and_removed_when_killed(api, cert_kubeconfig, tmp_path, sig, code):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc, release = run_until_hung(api, cert_kubeconfig, tmpdir, [sys.executable, "-c", NO_MEMFD])
    try:
        (directory,) = [d for d in os.listdir(tmpdir) if d.startswith("podfix-")]
        assert os.stat(tmpdir / directory).st_mode & 0o777 == 0o700
        written = [tmpdir / directory / f for f in os.listdir(tmpdir / directory)]
        assert len(written) == 2 and all(os.stat(f).st_mode & 0o777 == 0o600 for f in written)
        assert any(f.read_bytes() == KEY for f in written)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert files_under(tmpdir) == []


def test_fallback_key_file_is_removed_after_a_normal_run(api, cert_kubeconfig, tmp_path):
    from objects import pod

    api.add(pod("web-1", namespace="shop"))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    run = subprocess.run([sys.executable, "-c", NO_MEMFD, "explain", "web-1"], capture_output=True, text=True,
                         env=cli_env(cert_kubeconfig, TMPDIR=str(tmpdir)), cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    assert files_under(tmpdir) == []
