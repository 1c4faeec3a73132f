"""``metav1.Status`` error bodies, as the real server words them, and the exception that carries one."""

from __future__ import annotations

from .resources import Res

REASONS = {400: ("BadRequest", "the server rejected our request for an unknown reason"),
           401: ("Unauthorized", "Unauthorized"), 403: ("Forbidden", "forbidden"),
           404: ("NotFound", "the server could not find the requested resource"),
           405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
           406: ("NotAcceptable", "the server was unable to respond with a content type that the client supports"),
           409: ("Conflict", "the server reported a conflict"), 410: ("Expired", "the resource has expired"),
           415: ("UnsupportedMediaType", "the server does not support the media type"),
           422: ("Invalid", "the server rejected our request due to an error in our request"),
           429: ("TooManyRequests", "Too many requests, please try again later."),
           500: ("InternalError", 'an error on the server ("") has prevented the request from succeeding'),
           503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
           504: ("Timeout", "the server was unable to return a response in the time allotted, "
                            "but may still be processing the request")}


def status_body(code: int, message: str | None = None, reason: str | None = None, details: dict | None = None):
    default_reason, default_message = REASONS.get(code, ("Unknown", f"the server responded with the status "
                                                                    f"code {code} but did not return more information"))
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": default_message if message is None else message, "reason": reason or default_reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    def __init__(self, code: int, message: str | None = None, reason: str | None = None, details=None):
        super().__init__(message)
        self.code, self.body = code, status_body(code, message, reason, details)


def status_details(res: Res, name: str | None = None, **extra) -> dict:
    d = {"name": name} if name else {}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return {**d, **extra}


def not_found(res: Res, name: str) -> ApiError:
    return ApiError(404, f'{res.gr} "{name}" not found', details=status_details(res, name))


def invalid(res: Res, name: str, errors: list[tuple[str, str, str]]) -> ApiError:
    """422 like the real validation: errors are (field, cause reason, message)."""
    msgs = [f"{f}: {m}" for f, _, m in errors]
    text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    causes = [{"reason": r, "message": m, "field": f} for f, r, m in errors]
    kind_details = {"name": name, "group": res.group, "kind": res.kind, "causes": causes}
    return ApiError(422, f'{res.kind} "{name}" is invalid: {text}',
                    details={k: v for k, v in kind_details.items() if v})
