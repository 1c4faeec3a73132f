"""Work on daemon threads, so that Ctrl-C (or SIGTERM) ends podfix at once.

``concurrent.futures`` joins its worker threads when an executor shuts down and
again at interpreter exit: a read-ahead page or a log read blocked on a server
that does not answer then holds the process after Ctrl-C (for as long as the
server keeps quiet). Here the threads are daemons and nothing joins them: the
caller waits on an event, which a signal interrupts, and a request still in
flight when podfix leaves dies with the process.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Ahead:
    """``fn(*args)`` running on a daemon thread; ``result()`` waits for it (interruptibly)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "podfix-ahead"):
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(fn, args), name=name, daemon=True).start()

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


def daemon_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``[fn(x) for x in items]``, ``workers`` at a time on daemon threads; the first error is raised."""
    items = list(items)
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    lock = threading.Lock()
    next_index = [0]
    finished = threading.Event()
    running = [min(workers, len(items))]
    if not items:
        return []

    def work() -> None:
        try:
            while True:
                with lock:
                    if errors or next_index[0] >= len(items):
                        return
                    index = next_index[0]
                    next_index[0] += 1
                try:
                    results[index] = fn(items[index])
                except BaseException as exc:
                    with lock:
                        errors.append(exc)
                    return
        finally:
            with lock:
                running[0] -= 1
                if running[0] == 0:
                    finished.set()

    for _ in range(running[0]):
        threading.Thread(target=work, name="podfix-worker", daemon=True).start()
    finished.wait()
    if errors:
        raise errors[0]
    return results
