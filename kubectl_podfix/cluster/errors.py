"""``ApiError``: the API server answered a request with an error Status.

Its own module so that code which only catches or inspects API errors (the
fix engine, gather, the commands) does not depend on how requests are made,
and the transport can raise it without importing the verbs. The wording
comes from the one error map, ``kubectl_podfix.errors.api_error``.
"""

from __future__ import annotations

import json
from typing import Any

from kubectl_podfix.errors import Exit, PodfixError, _short, api_error


class ApiError(PodfixError):
    """The API server answered with an error Status."""

    def __init__(self, message: str, status: int, reason: str, server_message: str, method: str, path: str,
                 code: int = Exit.ERROR):
        super().__init__(message, code)
        self.status = status
        self.reason = reason
        self.server_message = server_message
        self.method = method
        self.path = path

    @classmethod
    def from_exception(cls, exc: Any, method: str, path: str, *, query: dict | None = None,
                       attempts: int = 1) -> "ApiError":
        """Map an error Status through the one error map (errors.api_error)."""
        status = int(getattr(exc, "status", 0) or 0)
        body = getattr(exc, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        reason, server_message = getattr(exc, "reason", "") or "", ""
        try:
            doc = json.loads(body) if body else {}
            if isinstance(doc, dict):
                reason = doc.get("reason") or reason
                server_message = str(doc.get("message") or "")
        except ValueError:
            server_message = (body or "").strip()[:200]
        message, code = api_error(status, reason, server_message, method, path, query=query, attempts=attempts)
        err = cls(message, status, reason, server_message, method, path, code)
        err.detail = f"{method} {path} -> {status} {reason}: {_short(str(body or ''), 2000)}"
        return err
