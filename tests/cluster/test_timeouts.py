"""Timeouts like kubectl's, and Ctrl-C that ends podfix at once.

``--request-timeout`` bounds the whole request (connect, headers, every read of the body,
retries), as kubectl's does: a server that dribbles its answer a byte at a time cannot
hold a 3 s timeout for minutes. Ctrl-C exits 130 within a second even while a read-ahead
page or a log read hangs on a server that never answers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest
from clitools import BIN, ROOT, cli_env, one_error_line
from hostile import dribble, hang
from objects import pod, waiting

POD = json.dumps({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web-1", "namespace": "shop"},
                  "spec": {"containers": [{"name": "app", "image": "nginx"}]}, "status": {"phase": "Pending"}}).encode()



@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_request_timeout_bounds_a_dribbled_answer(api, podfix, headers_too):
    api.answer("GET", r"/pods/web-1$", dribble(POD, every=0.5, headers_too=headers_too))
    started = time.monotonic()
    run = podfix("explain", "web-1", "-n", "shop", "--request-timeout", "3s")
    took = time.monotonic() - started
    line = one_error_line(run)
    assert "did not answer GET /api/v1/namespaces/shop/pods/web-1 in time" in line and "--request-timeout" in line
    assert took < 6, took  # ~3 s and the start-up, not 0.5 s per byte
    assert api.count("GET", "/api/v1/namespaces/shop/pods/web-1") == 1  # a timeout is not retried


def test_request_timeout_bounds_the_retries_too(api, podfix):
    api.add(pod("web-1", namespace="shop"))
    api.fail("GET", r"/pods/web-1$", 503, retry_after=2)
    started = time.monotonic()
    run = podfix("explain", "web-1", "-n", "shop", "--request-timeout", "3s")
    assert time.monotonic() - started < 6
    assert "503" in one_error_line(run)
    assert api.count("GET", "/api/v1/namespaces/shop/pods/web-1") == 2  # the third would start past 3 s


def test_a_prompt_answer_is_unaffected_by_the_deadline(api, podfix):
    api.add(pod("web-1", namespace="shop", statuses=[waiting("app", "CrashLoopBackOff", restarts=3)]))
    run = podfix("explain", "web-1", "-n", "shop", "--request-timeout", "2s", "-o", "json")
    assert run.code == 0, run.err


def interrupt_when(arrived: threading.Event, args: list[str], kubeconfig: str, sig=signal.SIGINT):
    """Start the CLI, send ``sig`` once the server got the request that hangs; (code, stderr, seconds after)."""
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), *args], env=cli_env(kubeconfig), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert arrived.wait(30), "the hanging request never came"
        time.sleep(0.2)  # let the main thread block on it
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        return proc.returncode, err, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_while_a_read_ahead_page_hangs_exits_130_at_once(kubeconfig):
    from apiserver import FakeAPIServer  # noqa: F401  (the ``api`` fixture's server, paged by one)

    release, arrived = threading.Event(), threading.Event()
    server = None
    try:
        server = FakeAPIServer([pod(f"p{i}", namespace="shop") for i in range(3)], page_default=1).start()
        server.answer("GET", r"^/api/v1/pods$", hang(release, arrived=arrived, only=lambda r: r.q("continue")))
        cfg = server.write_kubeconfig(kubeconfig + "-paged", namespace="shop")
        code, err, seconds = interrupt_when(arrived, ["explain", "-A"], cfg)
    finally:
        release.set()
        if server:
            server.stop()
    assert code == 130, err
    assert seconds < 1.5, seconds
    assert "Traceback" not in err and err.strip() == "error: interrupted"


def test_ctrl_c_while_log_reads_hang_exits_130_at_once(api, kubeconfig):
    release, arrived = threading.Event(), threading.Event()
    api.add(pod("web-1", namespace="shop", phase="Running",
                statuses=[waiting("app", "CrashLoopBackOff", "back-off restarting failed container", restarts=5)]))
    api.answer("GET", r"/log$", hang(release, arrived=arrived))
    try:
        code, err, seconds = interrupt_when(arrived, ["explain", "web-1", "-n", "shop"], kubeconfig)
    finally:
        release.set()
    assert code == 130, err
    assert seconds < 1.5, seconds
    assert "Traceback" not in err and err.strip() == "error: interrupted"
