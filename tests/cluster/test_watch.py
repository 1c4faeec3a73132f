"""cluster/watch.py against the loopback API server: LIST then WATCH, resume, re-list on 410, polling fallback."""

from __future__ import annotations

import queue
import time

import pytest
from apiserver import FakeAPIServer

from kubectl_podfix.cluster.api import Cluster
from kubectl_podfix.cluster.kubeconfig import load
from kubectl_podfix.cluster.watch import Follower, list_with_version, watch_stream

PODS = "/api/v1/namespaces/shop/pods"


def pod(name, labels=None, phase="Pending"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop",
                                                            "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}, "status": {"phase": phase}}


@pytest.fixture
def cluster(api, kubeconfig):
    return Cluster(load(kubeconfig=kubeconfig))


def changes(sink: queue.Queue, n: int, timeout: float = 5.0, types=("ADDED", "MODIFIED", "DELETED", "SYNC")):
    out, deadline = [], time.monotonic() + timeout
    while len(out) < n:
        try:
            c = sink.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"got {[(c.type, c.obj and c.obj['metadata']['name']) for c in out]}") from None
        if c.type in types:
            out.append(c)
        elif c.type == "NOTE":
            NOTES.append(c.text)
    return out


NOTES: list[str] = []


@pytest.fixture(autouse=True)
def _notes():
    NOTES.clear()


def summary(cs):
    return [(c.type, c.obj["metadata"]["name"] if c.obj else sorted(i["metadata"]["name"] for i in c.items))
            for c in cs]


def requests(api, path=PODS):
    return [("WATCH" if r.q("watch") else "LIST", r.q("resourceVersion")) for r in api.requests if r.path == path]


def test_list_with_version_pages_and_returns_the_list_version(api, cluster):
    api.add(*[pod(f"p{i}") for i in range(5)])
    items, version = list_with_version(cluster, "Pod", "shop", page_size=2)
    assert [i["metadata"]["name"] for i in items] == ["p0", "p1", "p2", "p3", "p4"]
    assert items[0]["kind"] == "Pod" and version == str(api._rv)
    assert len([r for r in api.requests if r.path == PODS]) == 3


def test_a_follower_lists_once_and_watches_once(api, cluster):
    api.add(pod("a"), pod("other", labels={"app": "db"}))
    sink = queue.Queue()
    f = Follower(cluster, "Pod", "shop", sink=sink, label_selector="app=web")
    assert [i["metadata"]["name"] for i in f.start()] == ["a"]
    api.wait_for_watchers(1, PODS)
    api.add(pod("b"))
    api.add({**api.get("Pod", "shop", "a"), "status": {"phase": "Running"}})
    api.remove("Pod", "shop", "b")
    got = changes(sink, 3)
    assert summary(got) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert got[1].obj["kind"] == "Pod" and got[1].obj["status"]["phase"] == "Running"
    f.stop()
    watch = [r for r in api.requests if r.q("watch")]
    assert requests(api) == [("LIST", None), ("WATCH", f.version and watch[0].q("resourceVersion"))]
    assert watch[0].q("labelSelector") == "app=web" and watch[0].q("allowWatchBookmarks") == "true"
    assert watch[0].q("timeoutSeconds") == "300"


def test_a_dropped_watch_resumes_from_the_last_resource_version(api, cluster):
    api.add(pod("a"))
    sink = queue.Queue()
    f = Follower(cluster, "Pod", "shop", sink=sink)
    f.start()
    api.wait_for_watchers(1, PODS)
    api.add({**api.get("Pod", "shop", "a"), "status": {"phase": "Running"}})
    changes(sink, 1)
    seen = api.get("Pod", "shop", "a")["metadata"]["resourceVersion"]
    api.drop_watches(PODS)
    api.wait_for_watchers(1, PODS)
    api.add(pod("b"))
    assert summary(changes(sink, 1)) == [("ADDED", "b")]  # nothing lost, nothing repeated
    f.stop()
    assert requests(api)[-1] == ("WATCH", seen)
    assert [r[0] for r in requests(api)] == ["LIST", "WATCH", "WATCH"]
    notes = NOTES + [c.text for c in list(sink.queue) if c.type == "NOTE"]
    assert any("interrupted" in n and f"resuming from resourceVersion {seen}" in n for n in notes)


def test_too_old_relists_then_watches_from_the_new_list(api, cluster):
    api.add(pod("a"))
    sink = queue.Queue()
    f = Follower(cluster, "Pod", "shop", sink=sink)
    f.start()
    api.wait_for_watchers(1, PODS)
    with api._lock:  # the client falls behind a compaction: its resourceVersion is gone
        api.drop_watches(PODS)
        api.add(pod("b"))
        api.remove("Pod", "shop", "a")
        api.compact()
    got = changes(sink, 1)
    assert summary(got) == [("SYNC", ["b"])]
    api.wait_for_watchers(1, PODS)
    api.add(pod("c"))
    assert summary(changes(sink, 1)) == [("ADDED", "c")]
    f.stop()
    kinds = [r[0] for r in requests(api)]
    assert kinds == ["LIST", "WATCH", "WATCH", "LIST", "WATCH"]  # the resume got 410, then one LIST
    assert any("410 Expired" in n for n in NOTES + [c.text for c in list(sink.queue) if c.type == "NOTE"])


def test_a_refused_watch_falls_back_to_polling(api, cluster):
    api.add(pod("a"))
    api.deny("watch", "pods", "shop")
    sink = queue.Queue()
    f = Follower(cluster, "Pod", "shop", sink=sink, poll_interval=0.1)
    f.start()
    note = next(c for c in iter(lambda: sink.get(timeout=5), None) if c.type == "NOTE")
    assert note.text == ("the API server refused to watch pods in namespace shop (403 Forbidden): "
                         "listing every 0.1s instead")
    api.add(pod("b"))
    deadline = time.monotonic() + 5
    while True:
        c = sink.get(timeout=5)
        if c.type == "SYNC" and len(c.items) == 2 or time.monotonic() > deadline:
            break
    f.stop()
    assert sorted(i["metadata"]["name"] for i in c.items) == ["a", "b"]
    assert [r[0] for r in requests(api)][:3] == ["LIST", "WATCH", "LIST"]


def test_a_watch_the_server_ends_is_started_again(api, cluster):
    sink = queue.Queue()
    f = Follower(cluster, "Pod", "shop", sink=sink, timeout_seconds=1)
    f.start()
    api.wait_for_watchers(1, PODS)
    api.add(pod("a"))
    changes(sink, 1)
    time.sleep(1.3)
    api.wait_for_watchers(1, PODS)
    api.add(pod("b"))
    assert summary(changes(sink, 1)) == [("ADDED", "b")]
    f.stop()
    assert [r[0] for r in requests(api)] == ["LIST", "WATCH", "WATCH"]
    assert NOTES + [c.text for c in list(sink.queue) if c.type == "NOTE"] == []  # a normal end: no note


def test_stop_cuts_the_stream_at_once(api, cluster):
    f = Follower(cluster, "Pod", "shop", sink=queue.Queue())
    f.start()
    api.wait_for_watchers(1, PODS)
    t = time.monotonic()
    f.stop()
    f._thread.join(5)
    assert not f._thread.is_alive() and time.monotonic() - t < 2


def test_watch_stream_errors(api, cluster):
    api.deny("watch", "pods", "shop")
    from kubectl_podfix.cluster.api import ApiError
    with pytest.raises(ApiError) as err:
        list(watch_stream(cluster, "Pod", "shop", timeout_seconds=1))
    assert err.value.status == 403
    dead = FakeAPIServer().start()
    url = dead.url
    dead.stop()
    cluster.transport.base = url
    from kubectl_podfix.errors import PodfixError
    with pytest.raises(PodfixError, match="cannot reach the API server"):
        list(watch_stream(cluster, "Pod", "shop", timeout_seconds=1))


def test_a_server_without_watch_405_is_polled_too(tmp_path):
    from apiserver import ApiError as FakeError

    class NoWatch(FakeAPIServer):  # a proxy or aggregated API that does not serve watch
        def _dispatch(self, req, hooks):
            if req.q("watch"):
                raise FakeError(405)
            return super()._dispatch(req, hooks)

    with NoWatch() as api:
        api.add(pod("a"))
        cluster = Cluster(load(kubeconfig=api.write_kubeconfig(str(tmp_path / "kc"))))
        sink = queue.Queue()
        f = Follower(cluster, "Pod", "shop", sink=sink, poll_interval=0.1)
        f.start()
        note = next(c for c in iter(lambda: sink.get(timeout=5), None) if c.type == "NOTE")
        f.stop()
    assert "(405 MethodNotAllowed): listing every 0.1s instead" in note.text and f.polling


def test_an_event_without_end_is_cut_at_the_response_cap(api, cluster, monkeypatch):
    """A watch that streams bytes and never a newline: StreamBroken at PODFIX_MAX_RESPONSE_BYTES, not the
    machine's memory (the Follower then resumes with its back-off)."""
    from kubectl_podfix.cluster.watch import StreamBroken

    def endless(h, req):
        if not req.q("watch"):
            return False
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            while True:
                h.wfile.write(b'{"type":"ADDED","object":{"x":"' + b"a" * 65536)
        except OSError:
            pass
        h.close_connection = True

    monkeypatch.setenv("PODFIX_MAX_RESPONSE_BYTES", str(4 << 20))
    api.answer("GET", PODS + "$", endless)
    with pytest.raises(StreamBroken, match="an event larger than 4194304 bytes"):
        list(watch_stream(cluster, "Pod", "shop", timeout_seconds=5))


def test_a_huge_error_answer_to_a_watch_is_cut(api, cluster):
    from hostile import raw

    from kubectl_podfix.cluster.api import ApiError

    api.answer("GET", PODS + "$", raw(b"x" * (8 << 20), status=500))
    with pytest.raises(ApiError) as err:
        list(watch_stream(cluster, "Pod", "shop", timeout_seconds=1))
    assert err.value.status == 500 and len(err.value.detail) < 3000


@pytest.mark.parametrize("line", [b"5", b'"hello"', b"[1, 2]", b'{"type": "ERROR", "object": {"code": "abc"}}',
                                  b'{"type": "ERROR", "object": {"code": 1e400}}',
                                  b'{"type": "ERROR", "object": {"code": [410]}}'])
def test_a_watch_line_that_is_no_event_is_resumed_not_an_internal_error(api, cluster, line):
    """A JSON line that is not an object, or an ERROR whose code is no number, ended the follower with
    'internal error while watching ...: AttributeError' (ValueError, OverflowError): `wait` exited 1."""
    sent = []

    def hostile(h, req):
        if not req.q("watch") or sent:
            return False
        sent.append(1)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(line + b"\n")
        h.close_connection = True

    api.answer("GET", PODS + "$", hostile)
    sink = queue.Queue()
    f = Follower(cluster, "Pod", "shop", sink=sink)
    f.start()
    api.wait_for_watchers(1, PODS)  # the second watch: the follower resumed
    api.add(pod("a"))
    got = []
    deadline = time.monotonic() + 5
    while not any(c.type == "ADDED" for c in got) and time.monotonic() < deadline:
        try:
            got.append(sink.get(timeout=0.2))
        except queue.Empty:
            pass
    f.stop()
    assert [c for c in got if c.type == "FAILED"] == []
    assert [(c.type, c.obj["metadata"]["name"]) for c in got if c.type == "ADDED"] == [("ADDED", "a")]
