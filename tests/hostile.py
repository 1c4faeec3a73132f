"""Misbehaving API server answers, for ``FakeAPIServer.answer(method, path_regex, fn)``.

Each function returns an ``fn(handler, request)`` that writes its own answer on the socket:
raw bodies of any shape, bodies dribbled a byte at a time, endless gzip, endless LIST pages,
no answer at all. Tests then assert that podfix ends in bounded time and memory with one line.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from typing import Any, Callable


def _head(h, status: int, headers: dict[str, str]) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()


def raw(body: bytes | str | Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Callable:
    """Answer with exactly ``body`` (bytes/str as is, anything else as JSON)."""
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()

    def fn(h, req):
        _head(h, status, {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})})
        h.wfile.write(data)
    return fn


def dribble(body: bytes, *, every: float = 0.5, headers_too: bool = False) -> Callable:
    """Send ``body`` one byte every ``every`` seconds (with ``headers_too``, the status line and headers as well)."""
    def fn(h, req):
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        data = head + body if headers_too else body
        if not headers_too:
            h.wfile.write(head)
            h.wfile.flush()
        try:
            for i in range(len(data)):
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
        h.close_connection = True
    return fn


def hang(release: threading.Event | None = None, *, seconds: float = 60, arrived: threading.Event | None = None,
         only: Callable[[Any], bool] | None = None) -> Callable:
    """Never answer (until ``release`` is set or ``seconds`` pass); ``arrived`` is set when the request came.
    With ``only``, requests it rejects are served normally."""
    release = release or threading.Event()

    def fn(h, req):
        if only is not None and not only(req):
            return False
        if arrived is not None:
            arrived.set()
        release.wait(seconds)
        h.close_connection = True
    return fn


def gzip_forever(chunk: int = 1 << 20, *, total: int = 64 << 30) -> Callable:
    """A 200 whose gzip body decompresses to ``total`` zero bytes (a few MB on the wire per GB)."""
    def fn(h, req):
        _head(h, 200, {"Content-Type": "application/json", "Content-Encoding": "gzip", "Connection": "close"})
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = b"0" * chunk
        sent = 0
        try:
            while sent < total:
                out = comp.compress(zeros)
                if out:
                    h.wfile.write(out)
                sent += chunk
            h.wfile.write(comp.flush())
        except OSError:
            pass
        h.close_connection = True
    return fn


def gzip_body(obj: Any) -> Callable:
    """A correct gzip-encoded JSON answer (what a proxy or a compressing API server sends)."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = comp.compress(json.dumps(obj).encode()) + comp.flush()
    return raw(data, headers={"Content-Encoding": "gzip"})


def endless_pages(*, items: Callable[[int], list] | None = None, token: Callable[[int], Any] | None = None,
                  kind: str = "PodList") -> Callable:
    """A LIST that never ends: page N holds ``items(N)`` and continue token ``token(N)`` (default: a new one)."""
    count = {"n": 0}
    lock = threading.Lock()

    def fn(h, req):
        with lock:
            count["n"] += 1
            n = count["n"]
        meta = {"resourceVersion": "1", "continue": token(n) if token else f"page-{n + 1}"}
        body = json.dumps({"kind": kind, "apiVersion": "v1", "metadata": meta,
                           "items": items(n) if items else []}).encode()
        _head(h, 200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        h.wfile.write(body)
    fn.count = count  # type: ignore[attr-defined]
    return fn
