"""The fake API server's watch (tests/apiserver/watch.py), checked on the wire, with the real kubernetes client,
and with the real kubectl (``kubectl rollout status``, ``kubectl get pods -w``)."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import kubernetes
import pytest
from apiserver import FakeAPIServer
from rollout import Rollout, play

SHOP = "/api/v1/namespaces/shop/pods"


def pod(name, ns="shop", labels=None, phase="Pending"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}, "status": {"phase": phase}}


@pytest.fixture
def server():
    with FakeAPIServer() as srv:
        yield srv


class Stream:
    """One raw watch request over http.client, read on a thread: the chunks as they came, decoded."""

    def __init__(self, server, path: str, headers: dict | None = None):
        url = urlsplit(server.url)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.events: list[dict] = []
        self.ended = threading.Event()
        self.error: Exception | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        """Read the chunked framing itself: every chunk must be one JSON line; a missing last chunk is an error."""
        fp = self.resp.fp
        try:
            if self.resp.getheader("Transfer-Encoding") != "chunked":
                return
            while True:
                size = fp.readline()
                if not size:
                    raise ConnectionError("the stream was cut: no last chunk")
                n = int(size.strip(), 16)
                data = fp.read(n + 2)
                if n == 0:
                    return
                assert data.endswith(b"\n\r\n") and data.count(b"\n") == 2, data  # one event per chunk
                self.events.append(json.loads(data))
        except Exception as e:  # noqa: BLE001 - the stream broke: recorded for the test
            self.error = e
        finally:
            self.ended.set()

    def wait(self, n: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events) < n and not self.ended.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(self.events)} events, wanted {n}: {self.summary()}")
            time.sleep(0.01)
        return self.events

    def summary(self) -> list[tuple]:
        return [(e["type"], e["object"].get("metadata", {}).get("name"),
                 e["object"].get("metadata", {}).get("resourceVersion")) for e in self.events]

    def close(self):
        if self.conn.sock is not None:
            self.conn.sock.shutdown(socket.SHUT_RDWR)  # unblocks the reader thread (close alone waits for it)
        self.ended.wait(5)
        self.conn.close()


def test_the_stream_is_chunked_json_lines_starting_with_the_current_state(server):
    server.add(pod("a"), pod("b"), pod("other", ns="other"))
    s = Stream(server, SHOP + "?watch=true")
    assert s.resp.status == 200
    assert s.resp.getheader("Transfer-Encoding") == "chunked" and s.resp.getheader("Content-Length") is None
    assert s.resp.getheader("Content-Type") == "application/json"
    s.wait(2)
    assert [(t, n) for t, n, _ in s.summary()] == [("ADDED", "a"), ("ADDED", "b")]
    assert s.events[0]["object"]["kind"] == "Pod" and s.events[0]["object"]["apiVersion"] == "v1"
    server.add({**server.get("Pod", "shop", "a"), "status": {"phase": "Running"}})
    server.remove("Pod", "shop", "b")
    s.wait(4)
    (t3, _, rv3), (t4, n4, rv4) = s.summary()[2:]
    assert (t3, t4, n4) == ("MODIFIED", "DELETED", "b")
    assert int(rv4) > int(rv3) > int(s.events[0]["object"]["metadata"]["resourceVersion"])
    s.close()
    # resourceVersion "0" also starts with the current state; the chunk framing is one event per chunk
    url = urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.request("GET", SHOP + "?watch=1&resourceVersion=0&timeoutSeconds=1", headers={"Connection": "close"})
    raw = conn.getresponse()
    raw.chunked = False  # read the framing itself
    body = raw.read()
    first = body.split(b"\r\n", 2)
    assert int(first[0], 16) == len(first[1]) and first[1].startswith(b'{"type":"ADDED"') and first[1].endswith(b"}\n")
    assert body.endswith(b"0\r\n\r\n")


def test_a_resource_version_starts_after_it_and_writes_through_the_api_are_events(server):
    server.add(pod("a"))
    rv = server.get("Pod", "shop", "a")["metadata"]["resourceVersion"]
    s = Stream(server, f"{SHOP}?watch=true&resourceVersion={rv}")
    server.wait_for_watchers(1, SHOP)
    assert s.events == []  # no initial state after an explicit resourceVersion
    conn = http.client.HTTPConnection(*urlsplit(server.url).netloc.split(":"))
    for method, path, body, ctype in (
            ("POST", SHOP, pod("b"), "application/json"),
            ("PATCH", SHOP + "/b", {"metadata": {"labels": {"x": "1"}}}, "application/merge-patch+json"),
            ("PATCH", SHOP + "/b", {"metadata": {"labels": {"x": "1"}}}, "application/merge-patch+json"),  # no-op
            ("DELETE", SHOP + "/b", None, "application/json")):
        conn.request(method, path, body=json.dumps(body) if body else None, headers={"Content-Type": ctype})
        assert conn.getresponse().read() and True
    s.wait(3)
    assert [(t, n) for t, n, _ in s.summary()] == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]


def test_selectors_apply_and_moving_out_of_them_is_deleted(server):
    server.add(pod("a", labels={"app": "web"}), pod("b", labels={"app": "db"}))
    s = Stream(server, SHOP + "?watch=true&labelSelector=app%3Dweb&fieldSelector=status.phase%21%3DFailed")
    s.wait(1)
    b = server.get("Pod", "shop", "b")
    server.add({**b, "metadata": {**b["metadata"], "labels": {"app": "web"}}})  # moves in
    a = server.get("Pod", "shop", "a")
    server.add({**a, "status": {"phase": "Failed"}})  # moves out through a field
    server.add(pod("c", labels={"app": "db"}))  # never in
    server.remove("Pod", "shop", "b")
    s.wait(4)
    assert [(t, n) for t, n, _ in s.summary()] == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("DELETED", "b")]
    one = Stream(server, SHOP + "/c?watch=true")  # watching one object by name
    one.wait(1)
    assert [(t, n) for t, n, _ in one.summary()] == [("ADDED", "c")]


def test_bookmarks_and_timeout_seconds(server):
    server.add(pod("a"))
    t0 = time.monotonic()
    s = Stream(server, SHOP + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=1")
    s.wait(1)
    server.send_bookmarks()
    s.wait(2)
    assert s.events[1] == {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {
        "resourceVersion": str(server._rv)}}}
    assert s.ended.wait(5)
    assert s.error is None  # a clean end: the last chunk
    assert 0.9 < time.monotonic() - t0 < 3
    assert [e["type"] for e in s.events] == ["ADDED", "BOOKMARK", "BOOKMARK"]  # one more just before the end
    plain = Stream(server, SHOP + "?watch=true&timeoutSeconds=1")  # no bookmarks unless allowed
    server.send_bookmarks()
    assert plain.ended.wait(5)
    assert [e["type"] for e in plain.events] == ["ADDED"]


def test_too_old_resource_version_is_an_error_event_on_a_200_stream(server):
    server.add(pod("a"))
    old = server.get("Pod", "shop", "a")["metadata"]["resourceVersion"]
    server.add(pod("b"))
    server.compact()
    s = Stream(server, f"{SHOP}?watch=true&resourceVersion={old}")
    assert s.resp.status == 200
    assert s.ended.wait(5)
    assert s.events == [{"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"too old resource version: {old} ({server._rv})", "reason": "Expired", "code": 410}}]
    fresh = Stream(server, f"{SHOP}?watch=true&resourceVersion={server._rv}")  # the current one is fine
    server.add(pod("c"))
    fresh.wait(1)
    assert [(t, n) for t, n, _ in fresh.summary()] == [("ADDED", "c")]


def test_a_watcher_left_behind_by_a_compaction_gets_410_too(server):
    s = Stream(server, SHOP + "?watch=true")
    server.wait_for_watchers(1, SHOP)
    with server._lock:  # the watcher is busy elsewhere while changes pile up and get compacted
        server.add(pod("a"))
        server.compact()
    assert s.ended.wait(5)
    assert [(e["type"], e["object"].get("code")) for e in s.events] == [("ERROR", 410)]


def test_drop_watches_cuts_the_stream(server):
    s = Stream(server, SHOP + "?watch=true")
    server.wait_for_watchers(1, SHOP)
    assert server.drop_watches(SHOP) == 1
    assert s.ended.wait(5)
    assert s.error is not None  # incomplete chunked body: the client knows it was cut, not ended
    assert server.watchers(SHOP) == 0


def test_rbac_checks_the_watch_verb(server):
    server.deny("list", "pods", "shop")
    ok = Stream(server, SHOP + "?watch=true")
    assert ok.resp.status == 200
    server.deny("watch", "pods", "shop")
    refused = Stream(server, SHOP + "?watch=true")
    assert refused.resp.status == 403
    refused.ended.wait(5)
    body = json.loads(refused.resp.read())
    assert body["message"] == ('pods is forbidden: User "system:serviceaccount:default:test" cannot watch '
                               'resource "pods" in API group "" in the namespace "shop"')


def test_the_python_client_watch(server, tmp_path):
    server.add(pod("a"))
    client = kubernetes.config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / "kc")))
    v1 = kubernetes.client.CoreV1Api(client)
    play(lambda: server.add({**server.get("Pod", "shop", "a"), "status": {"phase": "Running"}}))
    seen = []
    for ev in kubernetes.watch.Watch().stream(v1.list_namespaced_pod, "shop", timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name, ev["object"].status.phase))
    assert seen == [("ADDED", "a", "Pending"), ("MODIFIED", "a", "Running")]
    client.close()


# ---------------------------------------------------------------- the real kubectl

KUBECTL = shutil.which("kubectl")


def kubectl(config, tmp_path, *args, **kw):
    return [KUBECTL, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache"), *args]


@pytest.mark.skipif(not KUBECTL, reason="kubectl not installed")
def test_kubectl_rollout_status_follows_a_scripted_rollout(server, tmp_path):
    config = server.write_kubeconfig(tmp_path / "kc")
    r = Rollout(server, replicas=2).create()
    proc = subprocess.Popen(kubectl(config, tmp_path, "rollout", "status", "deploy/web", "-n", "shop",
                                    "--timeout", "30s"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.wait_for_watchers(1, "/apis/apps/v1/namespaces/shop/deployments", timeout=20)
    pods = []
    t = play(r.observe, lambda: pods.append(r.add_pod()), lambda: pods.append(r.add_pod()), r.sync,
             lambda: r.ready(pods[0]), r.sync, lambda: r.ready(pods[1]), r.sync)
    out, err = proc.communicate(timeout=30)
    t.join()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "Waiting for deployment spec update to be observed..."
    head = 'Waiting for deployment "web" rollout to finish: '
    assert set(lines[1:-1]) <= {lines[0], head + "0 out of 2 new replicas have been updated...",
                                head + "1 out of 2 new replicas have been updated...",
                                head + "0 of 2 updated replicas are available...",
                                head + "1 of 2 updated replicas are available..."}
    assert lines[-1] == 'deployment "web" successfully rolled out'
    watch = [q for q in server.requests if q.q("watch") == "true"]
    assert watch and watch[0].q("fieldSelector") == "metadata.name=web" and watch[0].q("allowWatchBookmarks") == "true"


@pytest.mark.skipif(not KUBECTL, reason="kubectl not installed")
def test_kubectl_rollout_status_stops_at_the_progress_deadline(server, tmp_path):
    config = server.write_kubeconfig(tmp_path / "kc")
    r = Rollout(server, replicas=1, progress_deadline=1).create()
    proc = subprocess.Popen(kubectl(config, tmp_path, "rollout", "status", "deploy/web", "-n", "shop",
                                    "--timeout", "30s"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.wait_for_watchers(1, "/apis/apps/v1/namespaces/shop/deployments", timeout=20)
    pods = []
    t = play(r.observe, lambda: pods.append(r.add_pod()), lambda: r.image_not_found(pods[0]), r.sync,
             r.deadline_exceeded)
    out, err = proc.communicate(timeout=30)
    t.join()
    assert proc.returncode == 1
    assert err.strip() == 'error: deployment "web" exceeded its progress deadline'


@pytest.mark.skipif(not KUBECTL, reason="kubectl not installed")
def test_kubectl_get_pods_watch_prints_each_change(server, tmp_path):
    config = server.write_kubeconfig(tmp_path / "kc")
    server.add(pod("web-1", labels={"app": "web"}))
    proc = subprocess.Popen(kubectl(config, tmp_path, "get", "pods", "-n", "shop", "-w"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        server.wait_for_watchers(1, SHOP, timeout=20)
        p = server.get("Pod", "shop", "web-1")
        p["status"] = {"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}]}
        server.add(p)
        lines = [proc.stdout.readline().split() for _ in range(3)]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert lines[0][:3] == ["NAME", "READY", "STATUS"]
    assert lines[1][:3] == ["web-1", "0/1", "Pending"]
    assert lines[2][:3] == ["web-1", "1/1", "Running"]
    watch = [q for q in server.requests if q.q("watch") == "true"]
    assert "as=Table" in watch[0].headers["accept"]  # the stream served Tables, one row per event
