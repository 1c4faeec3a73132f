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
    api.wait_for_watchers(4)
    web.crash(web.pods_[0], restarts=2)
    f.wait_for("container.crash-loop", after=1)
    f.stop()
    first, second = (json.loads(line) for line in f.lines[:2])
    assert [p["findings"][0]["code"] for p in first["pods"]] == ["image.not-found"]
    (workload,) = first["workloads"]  # explain deploy/web's: the target, whatever its state
    assert (workload["kind"], workload["name"], workload["findings"][0]["code"]) == \
        ("Deployment", "web", "workload.pods-failing")
    assert [p["name"] for p in second["pods"]] == [web.pods_[0]] and second["watch"]["recovered"] == []
    shapes = sorted(("WATCH" if q.q("watch") else "LIST", q.path) for q in api.requests if not q.path.endswith("/log"))
    # the Deployment, its ReplicaSets (the new one is what pods are refused to), its pods, the namespace's events
    paths = ["/apis/apps/v1/namespaces/shop/deployments", "/apis/apps/v1/namespaces/shop/replicasets",
             "/api/v1/namespaces/shop/pods", "/api/v1/namespaces/shop/events"]
    assert shapes == sorted([("LIST", p) for p in paths] + [("WATCH", p) for p in paths])
    events = next(q for q in api.requests if q.path.endswith("/events"))
    assert events.q("fieldSelector") is None  # every event about it, as explain deploy/web reads (Normal ones too)


def test_usage():
    from clitools import run_podfix
    run = run_podfix(["explain", "--watch", "-f", "examples/imagepull-notfound.yaml"])
    assert run.code == 2 and "--watch follows a live cluster: it cannot be combined with -f" in run.err


def quota_raised(r: Rollout) -> None:
    """What follows raising the quota: the ReplicaSet controller creates the pods, they start, the ReplicaFailure
    conditions clear (the FailedCreate events stay, as in a cluster, for an hour)."""
    for kind, name in (("ReplicaSet", r.rs), ("Deployment", r.name)):
        obj = r.api.get(kind, r.ns, name)
        obj["status"]["conditions"] = [c for c in obj["status"].get("conditions") or []
                                       if c["type"] != "ReplicaFailure"]
        r.api.add(obj)
    pods = [r.add_pod() for _ in range(r.replicas)]
    for pod in pods:
        r.ready(pod)
    r.sync()


@pytest.fixture
def rejected(api):
    """deploy/web: every pod refused by a full quota (no pod at all)."""
    r = Rollout(api, replicas=2).create()
    r.observe()
    r.rejected()
    return r


def test_a_workload_refused_by_a_quota_then_recovered(api, kc, rejected):
    f = Following(api, kc)  # the namespace: a scan lists the workload kinds too
    f.wait_for("deployment shop/web (0/2 ready)")  # the workload's block, as explain prints it (no pod to show)
    assert f.lines[0].split()[:2] == ["WORKLOAD", "PODS"] and "workload.quota-exceeded" in f.lines[1]
    api.wait_for_watchers(8)  # pods, events, and the 6 workload kinds a scan lists
    mark = len(f.lines)
    quota_raised(rejected)
    i = f.wait_for("deployment shop/web: recovered (", after=mark)  # ("(2/2 ready)": its status, if written yet)
    assert f.lines[i - 1].startswith("--- ") or f.lines[i - 2].startswith("--- ")
    f.stop()
    assert f.code == 130 and f.err == ""
    assert f.text.count("workload.quota-exceeded") == 2  # the row and the block, once: it did not change after
    requests = sorted(("WATCH" if q.q("watch") else "LIST", q.path) for q in api.requests
                      if q.q("watch") or not q.path.endswith(("/resourcequotas",)))
    kinds = ["/apis/apps/v1/namespaces/shop/deployments", "/apis/apps/v1/namespaces/shop/statefulsets",
             "/apis/apps/v1/namespaces/shop/daemonsets", "/apis/batch/v1/namespaces/shop/jobs",
             "/apis/batch/v1/namespaces/shop/cronjobs", "/apis/apps/v1/namespaces/shop/replicasets",
             "/api/v1/namespaces/shop/pods", "/api/v1/namespaces/shop/events"]
    # one LIST and one WATCH per kind; the first block read what explain reads for a quota (the quota: not
    # counted above, and the namespace's pods: one more LIST of pods); no pod at first: does the namespace exist?
    assert requests == sorted([("LIST", p) for p in kinds] + [("WATCH", p) for p in kinds]
                              + [("LIST", "/api/v1/namespaces/shop/pods"), ("LIST", "/api/v1/namespaces/shop")])
    events = next(q for q in api.requests if q.path.endswith("/events"))
    assert events.q("fieldSelector") == "type=Warning"  # a scan's: the controllers' warnings too


def test_a_workload_target_in_json(api, kc, rejected):
    f = Following(api, kc, "deploy/web", "-o", "json")
    f.wait_for('"kind":"PodfixReport"')
    api.wait_for_watchers(4)
    quota_raised(rejected)
    f.wait_for('"recoveredWorkloads":[{"kind":"Deployment"')
    f.stop()
    first, last = json.loads(f.lines[0]), json.loads(f.lines[-1])
    assert first["pods"] == [] and first["workloads"][0]["findings"][0]["code"] == "workload.quota-exceeded"
    assert last["watch"]["recoveredWorkloads"] == [{"kind": "Deployment", "namespace": "shop", "name": "web"}]
    assert last["watch"]["goneWorkloads"] == []  # (a new pod, Pending for an instant, may recover in it too)
