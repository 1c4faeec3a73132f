"""HTTP on the wire: a request read off the socket, a response written back.

``Request`` is what ``FakeAPIServer.requests`` records.  Bodies are JSON or YAML (undecodable: ``json`` is
None); the one protobuf body understood is the SelfSubjectAccessReview ``kubectl auth can-i`` posts.
Responses are JSON (text/plain for pod logs), with Content-Length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from .protobuf import ssar_from_protobuf
from .status import ApiError


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    content_type: str
    header_list: tuple = ()  # every (name, value) as sent, repeated names included (Impersonate-Group)

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def int_param(req: Request, name: str) -> int | None:
    try:
        return None if req.q(name) is None else int(req.q(name))
    except ValueError:
        raise ApiError(400, f'{name}: Invalid value: "{req.q(name)}": must be an integer') from None


def read_request(h: BaseHTTPRequestHandler) -> Request:
    url = urlsplit(h.path)
    length = int(h.headers.get("Content-Length") or 0)
    raw = h.rfile.read(length) if length else b""
    ctype = h.headers.get("Content-Type") or ""
    try:
        if raw.startswith(b"k8s\x00") and url.path.endswith("/selfsubjectaccessreviews"):
            parsed = ssar_from_protobuf(raw)
        else:
            parsed = json.loads(raw) if raw and "yaml" not in ctype else yaml.safe_load(raw) if raw else None
    except (ValueError, IndexError, yaml.YAMLError):
        parsed = None
    return Request(h.command, url.path, parse_qs(url.query, keep_blank_values=True),
                   {k.lower(): v for k, v in h.headers.items()}, raw, parsed, ctype,
                   tuple((k.lower(), v) for k, v in h.headers.items()))


def write_response(h: BaseHTTPRequestHandler, method: str, code: int, payload: Any, extra_headers: dict) -> None:
    ctype = "application/json"
    if isinstance(payload, str):
        payload, ctype = payload.encode(), "text/plain"
    data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode() + b"\n"
    try:
        h.send_response(code)
        for k, v in {"Content-Type": ctype, "Cache-Control": "no-cache, private",
                     "Content-Length": str(len(data)), **extra_headers}.items():
            h.send_header(k, v)
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
        h.close_connection = True
