"""SIGINT, SIGTERM and SIGHUP end podfix like Ctrl-C: one line, cleanups run, exit 130.

kubectl has no handler for them: it dies by the signal. podfix unwinds instead (temporary files
go, a node-check pod is deleted) and leaves with the one documented code for an interruption,
130, one line on stderr naming the signal, and no traceback.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
from clitools import BIN, ROOT, cli_env
from hostile import hang
from objects import pod


def start(kubeconfig: str, *args: str, preexec=None) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "kubectl-podfix"), *args], env=cli_env(kubeconfig), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)


@pytest.mark.parametrize("sig, code, line", [
    (signal.SIGINT, 130, "error: interrupted"),
    (signal.SIGTERM, 130, "error: interrupted (SIGTERM)"),
    (signal.SIGHUP, 130, "error: interrupted (SIGHUP)"),
])
def test_a_signal_during_a_hung_request_exits_at_once_with_one_line(api, kubeconfig, sig, code, line):
    release, arrived = threading.Event(), threading.Event()
    api.answer("GET", r"/pods/web-1$", hang(release, arrived=arrived))
    proc = start(kubeconfig, "explain", "web-1", "-n", "shop")
    try:
        assert arrived.wait(30)
        time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert took < 1.5, took
    assert "Traceback" not in err and err.strip() == line


def test_an_ignored_sighup_stays_ignored(api, kubeconfig):
    """Under nohup (SIGHUP ignored before podfix starts) a hang-up does not stop it."""
    release, arrived = threading.Event(), threading.Event()
    api.add(pod("web-1", namespace="shop"))
    api.answer("GET", r"/pods/web-1$", hang(release, arrived=arrived, seconds=3), times=1)
    proc = start(kubeconfig, "explain", "web-1", "-n", "shop", preexec=lambda: signal.signal(signal.SIGHUP,
                                                                                           signal.SIG_IGN))
    try:
        assert arrived.wait(30)
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert proc.poll() is None
        release.set()
        out, err = proc.communicate(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert "interrupted" not in err
