"""Exit codes and the one exception type the CLI turns into a message.

Every expected failure becomes a ``PodfixError`` carrying one line that says
what happened and what to do, and the exit code to leave with. ``cli.main``
is the only place that prints it.
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0
    ERROR = 1  # could not do the job: cluster unreachable, bad file, API error
    USAGE = 2  # bad flags or flag values (click uses 2 too)
    FINDINGS = 3  # --exit-code and an error-severity finding
    REFUSED = 4  # a write was denied, not confirmed, or verification failed
    INTERRUPTED = 130


class PodfixError(Exception):
    """An expected failure: ``message`` is one line for the user."""

    def __init__(self, message: str, code: int = Exit.ERROR, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = int(code)
        self.detail = detail  # shown with --debug only


class UsageError(PodfixError):
    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message, Exit.USAGE, detail)
