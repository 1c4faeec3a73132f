"""Following objects as they change: one LIST, then one WATCH, per kind and scope.

This is what client-go's reflector does, reduced to what podfix needs:

* ``list_with_version`` is a paginated LIST that also returns the list's ``resourceVersion``.
* ``watch_stream`` is one WATCH request (``?watch=true&resourceVersion=RV&allowWatchBookmarks=true&
  timeoutSeconds=N``): the API server answers 200 and then sends, as chunks of one HTTP response, one
  JSON line per event ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}``. It uses the
  transport's connection pool, credentials, request counting and ``--debug`` trace, but not ``fetch``:
  a watch is read as it arrives, with no whole-request timeout.
* ``Follower`` runs LIST then WATCH for one kind on a thread and puts every change on a queue the caller
  reads. It resumes a dropped watch from the last resourceVersion it saw (events and BOOKMARKs carry
  it), starts a new watch when the server ends one (``timeoutSeconds``), lists again when the server
  says that resourceVersion is too old (410 Expired, sent as an ERROR event on a 200 stream, or as a 410
  answer), and falls back to a LIST every ``POLL_INTERVAL`` seconds when the watch itself is refused
  (403 Forbidden: RBAC without the ``watch`` verb; 405: a proxy or aggregated API without watch).

Nothing here decides what a change means: the caller keeps its own copy of the objects.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

from kubectl_podfix.cluster.errors import ApiError
from kubectl_podfix.cluster.limits import limit
from kubectl_podfix.cluster.paging import PAGE_SIZE, pages
from kubectl_podfix.cluster.redact import redact_secret
from kubectl_podfix.cluster.resources import RESOURCES, path_for
from kubectl_podfix.errors import PodfixError

WATCH_TIMEOUT = 300  # timeoutSeconds asked of the server (client-go asks 5 to 10 minutes)
READ_SLACK = 60  # a watch silent this long past its timeoutSeconds is a dead connection
ERROR_BODY_BYTES = 1 << 20  # how much of a watch's error answer is read
POLL_INTERVAL = 2.0  # when a watch is refused: one LIST this often
MAX_BACKOFF = 5.0  # between attempts to resume a watch that keeps failing
REFUSED = (403, 405)


class StreamBroken(Exception):
    """The watch's connection ended before the server ended the stream."""


class Malformed(Exception):
    """The watch sent an object of a shape kubectl would not decode: an API error, as in a LIST (resuming
    would only receive it again)."""

    def __init__(self, error: PodfixError):
        super().__init__(error.message)
        self.error = error


@dataclass
class Change:
    """One thing a Follower saw, for the consumer's queue.

    ``type``: ADDED, MODIFIED, DELETED (``obj``); SYNC (``items``: a new LIST replaces everything known of
    the kind); NOTE (``text``, for ``--debug``); FAILED (``error``: the follower stopped for good).
    """

    kind: str
    type: str
    obj: dict | None = None
    items: list[dict] | None = None
    text: str = ""
    error: PodfixError | None = None


def _fill(kind: str, item: dict) -> dict:
    item.setdefault("kind", kind)
    item.setdefault("apiVersion", RESOURCES[kind][0].removeprefix("/api/").removeprefix("/apis/"))
    return redact_secret(item) if kind == "Secret" else item


def list_with_version(cluster, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
                      field_selector: str | None = None, page_size: int = PAGE_SIZE) -> tuple[list[dict], str]:
    """A paginated LIST: (items with kind/apiVersion filled in, the list's resourceVersion)."""
    path = path_for(kind, namespace)
    query = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": page_size}
    items: list[dict] = []
    version = ""
    listing = pages(lambda q: cluster.fetch("GET", path, q),
                    lambda data: cluster._clean(cluster.decode(data, "GET", path), data, "GET", path), query,
                    what=f"the list GET {path}", invalid=lambda problem: cluster.invalid_answer("GET", path, problem))
    try:
        for page in listing:
            if not version:  # every page of one list has the first page's resourceVersion
                version = str((page.get("metadata") or {}).get("resourceVersion") or "")
            for index, item in enumerate(page.get("items") or [], start=1):  # checked as Cluster.list checks
                item.setdefault("kind", kind)
                cluster.check_item(item, kind, path, f"a list whose item {index}")
                items.append(_fill(kind, item))
    finally:
        listing.close()
    return items, version


class _Open:
    """The response of the watch in progress, so another thread can cut it (``Follower.stop``)."""

    def __init__(self) -> None:
        self.resp: Any = None
        self.cut_off = False
        self.lock = threading.Lock()

    def cut(self) -> None:
        with self.lock:
            self.cut_off = True
            resp = self.resp
        if resp is None:
            return
        try:
            if hasattr(resp, "shutdown"):
                resp.shutdown()
            else:  # urllib3 < 2.3
                resp.close()
        except Exception:  # noqa: BLE001 - already closed or released: nothing to cut
            pass


def watch_stream(cluster, kind: str, namespace: str | None = None, *, resource_version: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 timeout_seconds: int = WATCH_TIMEOUT, bookmarks: bool = True,
                 holder: _Open | None = None) -> Iterator[dict]:
    """One WATCH request: yields each event (``{"type", "object"}``) as the server sends it.

    Returns when the server ends the stream; raises ``ApiError`` when the server answers the request with
    an error (403 when ``watch`` is not allowed...), ``StreamBroken`` when the connection drops mid-stream,
    ``PodfixError`` when no answer comes (refused, TLS...). ERROR events are yielded like any other.
    """
    import urllib3

    transport = cluster.transport
    path = path_for(kind, namespace)
    params = [(k, v) for k, v in (("watch", "true"), ("resourceVersion", resource_version),
                                  ("allowWatchBookmarks", "true" if bookmarks else None),
                                  ("timeoutSeconds", str(timeout_seconds)), ("labelSelector", label_selector),
                                  ("fieldSelector", field_selector)) if v]
    headers = transport.headers("application/json")
    with transport._lock:
        transport.requests += 1
    started = time.monotonic()
    connect = transport.timeout or 30.0
    try:
        resp = transport.pool.request("GET", f"{transport.base}{path}?{urlencode(params)}", headers=headers,
                                      timeout=urllib3.Timeout(connect=connect, read=timeout_seconds + READ_SLACK),
                                      retries=False, redirect=False, preload_content=False)
    except Exception as exc:  # refused, DNS, TLS, timeouts
        transport._note("GET", path, params, None, started)
        raise transport._transport_error(exc, "GET", path) from None
    transport._note("GET", path, params, resp.status, started)
    if resp.status != 200:
        from kubectl_podfix.cluster.transport import HTTPAnswer

        body = resp.read(ERROR_BODY_BYTES)  # an error Status is small; a hostile answer is cut there
        resp.close()
        answer = HTTPAnswer(resp.status, resp.reason or "", body, resp.headers)
        raise ApiError.from_exception(answer, "GET", path, query=dict(params))
    if holder is not None:
        with holder.lock:
            holder.resp = resp
            if holder.cut_off:  # stopped while the request was on its way
                resp.close()
                return
    buffer = bytearray()  # NB: not bytes: a long event arriving in many chunks must not be copied each time
    cap = limit("PODFIX_MAX_RESPONSE_BYTES")
    try:
        chunks = resp.stream(64 * 1024) if resp.chunked or not hasattr(resp, "read1") else \
            iter(lambda: resp.read1(64 * 1024), b"")
        for chunk in chunks:
            buffer += chunk
            while True:
                end = buffer.find(b"\n")
                if end < 0:
                    break
                line = bytes(buffer[:end])
                del buffer[:end + 1]
                if line.strip():
                    try:
                        event = json.loads(line)
                    except (ValueError, RecursionError):
                        raise StreamBroken(f"the watch of {path} sent something that is not JSON") from None
                    if not isinstance(event, dict):  # 5, "x", [..]: not {"type", "object"}
                        raise StreamBroken(f"the watch of {path} sent a {type(event).__name__}, not an event")
                    try:  # nulls mean absent, as in a LIST (Cluster._clean)
                        yield cluster._clean(event, line, "GET", path)
                    except PodfixError as exc:  # nested too deeply
                        raise Malformed(exc) from None
            if len(buffer) > cap:  # one event without end: stop before it fills the memory
                raise StreamBroken(f"the watch of {path} sent an event larger than {cap} bytes "
                                   "(PODFIX_MAX_RESPONSE_BYTES)")
    except (StreamBroken, GeneratorExit):
        raise
    except Exception as exc:  # ProtocolError (ended prematurely), read timeout, reset
        raise StreamBroken(f"{type(exc).__name__}: {exc}") from None
    finally:
        if holder is not None:
            with holder.lock:
                holder.resp = None
        resp.close()  # never back to the pool: a watch's connection is not reused
    if buffer.strip():
        raise StreamBroken("the watch ended in the middle of an event")


class Follower:
    """LIST then WATCH one kind in one scope on a thread; every change goes to ``sink`` as a ``Change``.

    ``start()`` makes the LIST on the caller's thread (its errors are the caller's) and returns the items;
    the watch runs on a daemon thread until ``stop()``. ``keep(obj)`` filters objects on the client side
    (e.g. the events of one workload's pods out of a namespace's).
    """

    def __init__(self, cluster, kind: str, namespace: str | None, *, sink: "queue.Queue[Change]",
                 label_selector: str | None = None, field_selector: str | None = None,
                 keep: Callable[[dict], bool] | None = None, poll_interval: float = POLL_INTERVAL,
                 timeout_seconds: int = WATCH_TIMEOUT):
        self.cluster, self.kind, self.namespace = cluster, kind, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.sink, self.keep = sink, keep
        self.poll_interval, self.timeout_seconds = poll_interval, timeout_seconds
        self.version = ""
        self.polling = False
        self.watches = 0  # WATCH requests made (resumes included)
        self._stop = threading.Event()
        self._open = _Open()
        self._thread: threading.Thread | None = None

    @property
    def label(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        sel = ", ".join(s for s in (self.label_selector, self.field_selector) if s)
        return f"{RESOURCES[self.kind][1]} in {where}" + (f" ({sel})" if sel else "")

    def start(self) -> list[dict]:
        items = self._list()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"follow-{self.kind}")
        self._thread.start()
        return items

    def stop(self) -> None:
        self._stop.set()
        self._open.cut()

    # -- the thread ------------------------------------------------------------------------------

    def _list(self) -> list[dict]:
        items, self.version = list_with_version(self.cluster, self.kind, self.namespace,
                                                label_selector=self.label_selector,
                                                field_selector=self.field_selector)
        return [i for i in items if self.keep is None or self.keep(i)]

    def _put(self, change: Change) -> None:
        if not self._stop.is_set():
            self.sink.put(change)

    def _note(self, text: str) -> None:
        self._put(Change(self.kind, "NOTE", text=text))

    def _relist(self) -> None:
        self._put(Change(self.kind, "SYNC", items=self._list()))

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if self.polling:
                    if self._stop.wait(self.poll_interval):
                        return
                    self._relist()
                    failures = 0
                    continue
                self.watches += 1
                expired, seen, began = False, 0, time.monotonic()
                events = watch_stream(self.cluster, self.kind, self.namespace, resource_version=self.version,
                                      label_selector=self.label_selector, field_selector=self.field_selector,
                                      timeout_seconds=self.timeout_seconds, holder=self._open)
                try:
                    for event in events:
                        if self._stop.is_set():
                            return
                        seen += 1
                        expired = self._handle(event)
                        if expired:
                            break
                        failures = 0
                finally:
                    events.close()
                if expired:
                    self._note(f"the watch of {self.label} is too old to resume (410 Expired): listing again")
                    self._relist()
                elif not seen and time.monotonic() - began < 1.0:  # ended at once: do not spin
                    failures += 1
                    self._stop.wait(min(0.2 * 2 ** failures, MAX_BACKOFF))
            except ApiError as exc:
                if self._stop.is_set():
                    return
                if exc.status in REFUSED:
                    self.polling = True
                    self._note(f"the API server refused to watch {self.label} ({exc.status} {exc.reason}): "
                               f"listing every {self.poll_interval:g}s instead")
                    continue
                if exc.status == 410:
                    self._note(f"the watch of {self.label} is too old to resume (410 Expired): listing again")
                    self._safe_relist()
                    continue
                if exc.status == 429 or exc.status >= 500:
                    failures += 1
                    self._note(f"the watch of {self.label} failed ({exc.status} {exc.reason}): trying again")
                    self._stop.wait(min(0.2 * 2 ** failures, MAX_BACKOFF))
                    continue
                self._put(Change(self.kind, "FAILED", error=exc))
                return
            except Malformed as exc:
                if not self._stop.is_set():
                    self._put(Change(self.kind, "FAILED", error=exc.error))
                return
            except (StreamBroken, PodfixError) as exc:
                if self._stop.is_set():
                    return
                failures += 1
                why = exc.message if isinstance(exc, PodfixError) else str(exc)
                self._note(f"the watch of {self.label} was interrupted ({why}): resuming from resourceVersion "
                           f"{self.version}")
                if failures > 1:  # the first resume is immediate, then back off
                    self._stop.wait(min(0.2 * 2 ** failures, MAX_BACKOFF))
            except Exception as exc:  # noqa: BLE001 - a bug: report it instead of dying silently on a thread
                if not self._stop.is_set():
                    err = PodfixError(f"internal error while watching {self.label}: {type(exc).__name__}")
                    self._put(Change(self.kind, "FAILED", error=err))
                return

    def _safe_relist(self) -> None:
        try:
            self._relist()
        except (ApiError, PodfixError) as exc:
            self._note(f"listing {self.label} again failed ({getattr(exc, 'message', exc)}): trying again")
            self._stop.wait(1.0)

    def _handle(self, event: dict) -> bool:
        """Apply one event; True when it says the resourceVersion is too old (list again)."""
        type_, obj = event.get("type"), event.get("object") or {}
        if type_ == "ERROR":
            code = obj.get("code") if isinstance(obj, dict) else None
            if code == 410:
                return True
            raise ApiError.from_exception(_Status(obj), "GET", path_for(self.kind, self.namespace))
        version = (obj.get("metadata") or {}).get("resourceVersion") if isinstance(obj, dict) else None
        if version:
            self.version = str(version)
        if type_ in ("ADDED", "MODIFIED", "DELETED") and isinstance(obj, dict):
            obj.setdefault("kind", self.kind)
            try:
                self.cluster.check_item(obj, self.kind, path_for(self.kind, self.namespace),
                                        "a watch event whose object")
            except PodfixError as exc:
                raise Malformed(exc) from None
            obj = _fill(self.kind, obj)
            if self.keep is None or self.keep(obj):
                self._put(Change(self.kind, type_, obj=obj))
        return False


class _Status:
    """An ERROR event's Status object, shaped like an error answer for ``ApiError.from_exception``."""

    def __init__(self, status: Any):
        status = status if isinstance(status, dict) else {}
        try:  # a code that is no HTTP status ("abc", 1e400, a list) is a server error like any other
            code = int(status.get("code") or 500)
        except (TypeError, ValueError, OverflowError):
            code = 500
        self.status = code if 100 <= code <= 599 else 500
        self.reason = str(status.get("reason") or "")
        self.body = json.dumps(status)
