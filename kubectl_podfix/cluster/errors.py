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
        reason, server_message, is_status = getattr(exc, "reason", "") or "", "", False
        try:
            doc = json.loads(body) if body else {}
            if isinstance(doc, dict):
                is_status = doc.get("kind") == "Status"
                reason = (doc.get("reason") if isinstance(doc.get("reason"), str) else "") or reason
                server_message = str(doc.get("message") or "")
        except (ValueError, RecursionError):
            server_message = _page_summary(body or "")
        message, code = api_error(status, reason, server_message, method, path, query=query, attempts=attempts,
                                  status_body=is_status)
        err = cls(message, status, reason, server_message, method, path, code)
        err.detail = f"{method} {path} -> {status} {reason}: {_short(str(body or ''), 2000)}"
        return err


def _page_summary(body: str) -> str:
    """What a non-JSON error page says, in a few words: an HTML page's title (or its text), else its start."""
    import re

    text = body.strip()
    if re.match(r"(?is)\s*(<!doctype html|<html|<head|<body|<h1|<title)", text):
        title = re.search(r"(?is)<title[^>]*>(.*?)</title>", text)
        words = title.group(1) if title else re.sub(r"(?s)<[^>]*>", " ", text)
        return "an HTML page: " + " ".join(words.split())[:120]
    return " ".join(text.split())[:200]
