"""``kubectl podfix explain --watch`` against changes scripted on the loopback API server."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest
from clitools import BIN, ROOT, cli_env
from rollout import Rollout


class Following:
    """``kubectl-podfix explain --watch ...`` in the background; its stdout read line by line as it comes."""

    def __init__(self, api, kubeconfig, *args: str):
        self.api = api
        self.proc = subprocess.Popen([str(BIN / "kubectl-podfix"), "explain", "--watch", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=cli_env(kubeconfig), cwd=ROOT)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, words: str, timeout: float = 10, after: int = 0) -> int:
        """Block until a line (from index ``after``) contains ``words``; returns its index."""
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.lines[after:], after):
                if words in line:
                    return i
            if time.monotonic() > deadline or self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.poll() is not None else ""
                raise AssertionError(f"no {words!r} in:\n{self.text}\n{err}")
            time.sleep(0.02)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        _, self.err = self.proc.communicate(timeout=15)
        self.code = self.proc.returncode
        return self


@pytest.fixture
def kc(api, tmp_path):
    return api.write_kubeconfig(str(tmp_path / "kc-shop"), namespace="shop")


@pytest.fixture
def web(api):
    r = Rollout(api, replicas=2).create()
    r.observe()
    r.pods_ = [r.add_pod(), r.add_pod()]
    r.ready(r.pods_[0])
    r.image_not_found(r.pods_[1], backoff=True)
    r.sync()
    return r


def test_a_new_block_when_a_diagnosis_changes_then_recovered_and_gone(api, kc, web):
    ok, bad = web.pods_
    f = Following(api, kc)
    f.wait_for("image.not-found [web]")  # the current diagnosis first, as explain prints it
    assert f.lines[0].split()[:2] == ["WORKLOAD", "PODS"]  # the scan table explain prints
    api.wait_for_watchers(2)
    mark = len(f.lines)
    web.crash(ok, restarts=1)
    i = f.wait_for(f"pod shop/{ok} (Running, Deployment/web)", after=mark)
    assert f.lines[i - 1].startswith("--- ") and "container.crash-loop [web]" in f.lines[i + 1]
    assert "log: panic: cannot connect to database" in f.text  # the bounded log read of a crash diagnosis
    web.ready(ok)
    f.wait_for(f"pod shop/{ok}: recovered (Running, Ready)", after=i)
    web.delete(bad)
    f.wait_for(f"pod shop/{bad}: gone (deleted)", after=i)
    f.stop()
    assert f.code == 130
    assert f.err == ""  # Ctrl-C ends a watch quietly: no traceback, no error line
    assert f.text.count("image.not-found [web]") == 1  # never printed again: it did not change


def test_repeats_print_nothing(api, kc, web):
    ok, bad = web.pods_
    f = Following(api, kc, web.pods_[1])
    f.wait_for("image.not-found [web]")
    api.wait_for_watchers(2)
    for _ in range(3):  # the kubelet keeps retrying: new events, the same diagnosis
        web.image_not_found(bad, backoff=True)
    web.ready(ok)  # another pod: not in scope
    time.sleep(1.5)
    f.stop()
    assert f.code == 130 and "--- " not in f.text
    requests = sorted(("WATCH" if q.q("watch") else "LIST", q.path, q.q("fieldSelector")) for q in api.requests)
    pod_sel, event_sel = f"metadata.name={bad}", f"involvedObject.name={bad},involvedObject.namespace=shop"
    assert requests == sorted([(verb, "/api/v1/namespaces/shop/pods", pod_sel) for verb in ("LIST", "WATCH")] +
                              [(verb, "/api/v1/namespaces/shop/events", event_sel) for verb in ("LIST", "WATCH")])


def test_a_workload_is_one_list_and_one_watch_per_kind(api, kc, web):
    f = Following(api, kc, "deploy/web", "-o", "json")
    f.wait_for('"kind":"PodfixReport"')
    api.wait_for_watchers(3)
    web.crash(web.pods_[0], restarts=2)
    f.wait_for("container.crash-loop", after=1)
    f.stop()
    first, second = (json.loads(line) for line in f.lines[:2])
    assert [p["findings"][0]["code"] for p in first["pods"]] == ["image.not-found"]
    assert [p["name"] for p in second["pods"]] == [web.pods_[0]] and second["watch"]["recovered"] == []
    shapes = sorted(("WATCH" if q.q("watch") else "LIST", q.path) for q in api.requests if not q.path.endswith("/log"))
    paths = ["/apis/apps/v1/namespaces/shop/deployments", "/api/v1/namespaces/shop/pods",
             "/api/v1/namespaces/shop/events"]
    assert shapes == sorted([("LIST", p) for p in paths] + [("WATCH", p) for p in paths])
    events = next(q for q in api.requests if q.path.endswith("/events"))
    assert events.q("fieldSelector") == "type=Warning,involvedObject.kind=Pod"


def test_usage():
    from clitools import run_podfix
    run = run_podfix(["explain", "--watch", "-f", "examples/imagepull-notfound.yaml"])
    assert run.code == 2 and "--watch follows a live cluster: it cannot be combined with -f" in run.err
