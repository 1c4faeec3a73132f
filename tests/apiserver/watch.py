"""Watch, as the real server serves it: a chunked stream of JSON watch events over one HTTP response.

What the real API server does, and this copies (kubernetes.io "API concepts", "Semantics for watch";
``apiserver/pkg/storage/cacher``; ``endpoints/handlers/watch.go``):

* ``?watch=true`` on a collection (or ``.../pods/NAME?watch=true``, the same as
  ``fieldSelector=metadata.name=NAME``) answers 200 with ``Transfer-Encoding: chunked`` and
  ``Content-Type: application/json``: one ``{"type": ..., "object": ...}`` per line, each in its own chunk,
  flushed as it happens.  Types: ADDED, MODIFIED, DELETED, BOOKMARK, ERROR.
* ``resourceVersion`` absent or ``"0"``: "get state and start at most recent/any": first a synthetic ADDED
  for every object that exists (and matches), then every change after that.  ``resourceVersion=N``:
  "start at exact": every change with a resourceVersion greater than N, no initial state.
* Label and field selectors apply to every event; a change that moves an object into the selection is
  sent as ADDED, out of it as DELETED (with the object's new state), as the watch cache does.
* A resourceVersion older than the last ``compact()`` (or a watcher left behind by one) gets one ERROR
  event carrying a ``Status`` 410 ``Expired`` "too old resource version: N (M)", on a 200 stream, which
  then ends: the error is not an HTTP status, because the request had already been admitted.
* ``allowWatchBookmarks=true``: BOOKMARK events (``{"kind", "apiVersion", "metadata": {"resourceVersion"}}``)
  every ``FakeAPIServer.bookmark_interval`` seconds (the real server: about a minute), when
  ``send_bookmarks()`` is called, and just before ``timeoutSeconds`` ends the stream.
* ``timeoutSeconds=N``: the server ends the stream (cleanly: the last chunk) after N seconds.
* ``Accept: ...;as=Table`` (``kubectl get -w``): each event's object is a one-row Table.
* RBAC checks the ``watch`` verb (``deny("watch", "pods")`` gives a real 403; a ``list`` denial does not
  deny watch).

Test hooks on ``FakeAPIServer``: ``drop_watches()`` cuts the connection of active watches (the client sees
the stream break mid-way), ``send_bookmarks()``, ``watchers()`` / ``wait_for_watchers()``.
"""

from __future__ import annotations

import bisect
import json
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .reads import keystr, render
from .resources import Res
from .selector import field_filter, labels_match, parse_label_selector
from .status import ApiError, status_body
from .wire import Request, int_param

POLL = 0.25  # how often an idle stream checks for a closed client, a drop or its deadline


@dataclass
class Change:
    """One entry of the server's change log: what ``rv`` did to ``key`` in ``store``."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    store: str
    key: tuple[str, str]
    obj: dict  # the new state (for DELETED: the last state, with the deletion's resourceVersion)
    old: dict | None = None  # the state before (MODIFIED and DELETED)


@dataclass(eq=False)
class WatchStream:
    """One watch request, admitted: what it selects and where it starts.  ``serve`` streams it."""

    req: Request
    res: Res
    ns: str | None
    match: Callable[[dict], bool]
    start: int  # send the changes with rv > start
    initial: list[dict]  # synthetic ADDED objects (resourceVersion absent or "0")
    expired: str | None  # the 410 message when the start is older than the log
    bookmarks: bool
    timeout: float | None
    table: bool
    seen_bookmark: int = 0  # the server's send_bookmarks() count already answered
    dropped: bool = False
    sent: int = 0  # events written (bookmarks and errors included)
    started: float = field(default_factory=time.monotonic)

    # ------------------------------------------------------------ admission (server lock held)
    @classmethod
    def admit(cls, server, req: Request, res: Res, ns: str | None, name: str | None) -> "WatchStream":
        try:
            reqs = parse_label_selector(req.q("labelSelector") or "")
        except ValueError as e:
            raise ApiError(400, str(e))
        fsel = req.q("fieldSelector") or ""
        if name:
            fsel = ",".join(x for x in (fsel, f"metadata.name={name}") if x)
        fmatch = field_filter(fsel, res)
        timeout = int_param(req, "timeoutSeconds")
        rv_param = req.q("resourceVersion") or ""
        if rv_param not in ("", "0"):
            try:
                start = int(rv_param)
            except ValueError:
                raise ApiError(400, f'resourceVersion: Invalid value: "{rv_param}": strconv.ParseUint: parsing '
                                    f'"{rv_param}": invalid syntax') from None
        else:
            start = None

        def match(obj: dict) -> bool:
            meta = obj.get("metadata") or {}
            if ns is not None and meta.get("namespace", "") != ns:
                return False
            return labels_match(reqs, meta.get("labels") or {}) and fmatch(obj)

        initial: list[dict] = []
        expired = None
        if start is None:
            store = server._store.get(res.store, {})
            initial = [store[k] for k in sorted(store, key=keystr) if match(store[k])]
            start = server._rv
        elif start < server._log_floor:
            expired = f"too old resource version: {start} ({server._log_floor})"
        return cls(req, res, ns, match, start, initial, expired, req.q("allowWatchBookmarks") in ("1", "true", "True"),
                   float(timeout) if timeout else None, "as=Table" in req.headers.get("accept", ""),
                   server._bookmark_seq)

    # ------------------------------------------------------------ streaming (no lock held)
    def serve(self, server, h) -> None:
        try:
            h.send_response(200)
            for k, v in (("Content-Type", "application/json"), ("Cache-Control", "no-cache, private"),
                         ("Transfer-Encoding", "chunked")):
                h.send_header(k, v)
            h.end_headers()
            if self.expired:
                self._send(h, "ERROR", status_body(410, self.expired, "Expired"))
                self._end(h)
                return
            for obj in self.initial:
                self._send(h, "ADDED", self._render(obj))
            self.initial = []
            self._follow(server, h)
        except (BrokenPipeError, ConnectionResetError, OSError):  # the client went away, or a drop
            h.close_connection = True
        finally:
            with server._lock:
                server._watches.discard(self)

    def _follow(self, server, h) -> None:
        cursor, last_bookmark = self.start, time.monotonic()
        deadline = self.started + self.timeout if self.timeout else None
        while True:
            with server._changed:
                while True:
                    if self.dropped or server._stopping:
                        break
                    if cursor < server._log_floor:
                        break
                    i = bisect.bisect_right(server._log_rvs, cursor)
                    if i < len(server._log):
                        break
                    if self.bookmarks and server._bookmark_seq != self.seen_bookmark:
                        break
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        break
                    if self.bookmarks and server.bookmark_interval and now - last_bookmark >= server.bookmark_interval:
                        break
                    server._changed.wait(POLL if deadline is None else max(0.0, min(POLL, deadline - now)))
                    if _client_gone(h):
                        return
                if self.dropped or server._stopping:
                    _cut(h)
                    return
                if cursor < server._log_floor:  # compacted while this watcher was behind
                    expired = f"too old resource version: {cursor} ({server._log_floor})"
                    changes, rv_now = None, server._rv
                else:
                    i = bisect.bisect_right(server._log_rvs, cursor)
                    changes, rv_now = server._log[i:], server._rv
                bookmark_asked = self.bookmarks and server._bookmark_seq != self.seen_bookmark
                self.seen_bookmark = server._bookmark_seq
            if changes is None:
                self._send(h, "ERROR", status_body(410, expired, "Expired"))
                self._end(h)
                return
            for ch in changes:
                cursor = ch.rv
                if ch.store != self.res.store:
                    continue
                event = self._event(ch)
                if event:
                    self._send(h, *event)
            now = time.monotonic()
            timed_out = deadline is not None and now >= deadline
            periodic = self.bookmarks and server.bookmark_interval and now - last_bookmark >= server.bookmark_interval
            if self.bookmarks and (bookmark_asked or periodic or timed_out):
                self._send(h, "BOOKMARK", {"kind": self.res.kind, "apiVersion": self.res.api_version,
                                           "metadata": {"resourceVersion": str(max(cursor, rv_now))}})
                last_bookmark = now
            if timed_out:
                self._end(h)
                return

    def _event(self, ch: Change) -> tuple[str, dict] | None:
        now_in = self.match(ch.obj)
        was_in = ch.old is not None and self.match(ch.old)
        if ch.type == "ADDED":
            return ("ADDED", self._render(ch.obj)) if now_in else None
        if ch.type == "DELETED":
            return ("DELETED", self._render(ch.obj)) if was_in or now_in else None
        if now_in and was_in:
            return "MODIFIED", self._render(ch.obj)
        if now_in:
            return "ADDED", self._render(ch.obj)
        if was_in:
            return "DELETED", self._render(ch.obj)
        return None

    def _render(self, obj: dict) -> dict:
        return render(self.req, self.res, obj)  # a Table when the client asked for one

    def _send(self, h, type_: str, obj: Any) -> None:
        data = json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()
        self.sent += 1

    @staticmethod
    def _end(h) -> None:
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()


def _client_gone(h) -> bool:
    """Whether the client closed its end (readable with nothing to read), without consuming anything."""
    try:
        readable, _, _ = select.select([h.connection], [], [], 0)
        if not readable:
            return False
        return h.connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _cut(h) -> None:
    """Break the connection mid-stream: no last chunk, the client sees the stream end early."""
    h.close_connection = True
    try:
        h.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
