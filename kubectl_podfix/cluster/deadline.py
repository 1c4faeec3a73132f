"""A deadline for a whole HTTP request, like kubectl's --request-timeout.

urllib3's timeouts bound each socket operation, so a server that dribbles one byte
every half second keeps a "3 s" request alive for minutes (headers and body are read
with many small recvs). kubectl bounds the whole request: connect, send, headers and
body. podfix does the same with one watchdog thread for the process: a request
registers its deadline (``watch``), the connections it uses register their sockets
(the urllib3 connection classes below, which ``watched_pools`` installs on a pool
manager), and when the deadline passes the watchdog shuts those sockets down, which
ends any blocked read at once. The transport then reports a timeout, never a
dropped connection.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

_local = threading.local()


class Watch:
    """One request's deadline and the sockets it uses."""

    __slots__ = ("deadline", "sockets", "fired", "__weakref__")

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.sockets: list[Any] = []
        self.fired = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.deadline


class _Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._cond:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="podfix-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, watch: Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def register(self, watch: Watch, sock: Any) -> None:
        with self._cond:
            if sock is not None and sock not in watch.sockets:
                watch.sockets.append(sock)
            late = watch.fired
        if late:
            _shut(sock)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [w for w in self._watches if w.deadline <= now]
                for w in due:
                    w.fired = True
                    self._watches.discard(w)
                if not due:
                    nearest = min((w.deadline for w in self._watches), default=None)
                    wait = None if nearest is None else min(max(nearest - now, 0.0), threading.TIMEOUT_MAX)
                    self._cond.wait(wait)
                    continue
                sockets = [s for w in due for s in w.sockets]
            for sock in sockets:
                _shut(sock)


def _shut(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError, ValueError):
        pass


_WATCHDOG = _Watchdog()


class watch:  # noqa: N801 - used as a context manager, like a function
    """``with watch(seconds) as w:`` every socket this thread's requests use is shut down after ``seconds``."""

    def __init__(self, seconds: float | None):
        self.w = Watch(time.monotonic() + seconds) if seconds else None

    def __enter__(self) -> Watch | None:
        if self.w is not None:
            _WATCHDOG.add(self.w)
            self._previous = getattr(_local, "watch", None)
            _local.watch = self.w
        return self.w

    def __exit__(self, *exc: Any) -> None:
        if self.w is not None:
            _WATCHDOG.remove(self.w)
            _local.watch = self._previous


def _register(sock: Any) -> None:
    w = getattr(_local, "watch", None)
    if w is not None and sock is not None:
        _WATCHDOG.register(w, sock)


def watched_pools(manager: Any) -> Any:
    """Make ``manager`` (a urllib3 PoolManager or ProxyManager) build connections that register their sockets."""
    if not _POOLS:
        import urllib3
        from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

        class Watched:
            def _new_conn(self) -> Any:  # the raw socket, before any TLS handshake
                sock = super()._new_conn()  # type: ignore[misc]
                _register(sock)
                return sock

            def getresponse(self, *args: Any, **kw: Any) -> Any:  # a kept-alive connection's socket too
                _register(getattr(self, "sock", None))
                return super().getresponse(*args, **kw)  # type: ignore[misc]

        class HTTPConnection(Watched, urllib3.connection.HTTPConnection):
            pass

        class HTTPSConnection(Watched, urllib3.connection.HTTPSConnection):
            pass

        class HTTPPool(HTTPConnectionPool):
            ConnectionCls = HTTPConnection

        class HTTPSPool(HTTPSConnectionPool):
            ConnectionCls = HTTPSConnection

        _POOLS.update(http=HTTPPool, https=HTTPSPool)
    manager.pool_classes_by_scheme = dict(_POOLS)
    return manager


_POOLS: dict[str, Any] = {}
