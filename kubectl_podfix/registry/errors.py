"""What a registry check reports: answers and errors, each one line without secrets.

Failures to reach a server at all raise ``RegistryError`` (step "connect" or
"tls"). What the registry *answers* is a ``RegistryAnswer`` for the checks
(``verify_credentials``, ``manifest_exists``); the functions that return data
(``list_tags``, ``manifest_platforms``) raise ``RegistryError`` carrying the
same answer (``err.answer()``) when the registry refuses.

Kept apart from the network code so that every layer (transport, auth,
operations) builds the same kinds of results, and callers can catch them
without reading how requests are made.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_podfix.redact import scrub


@dataclass(frozen=True)
class RegistryAnswer:
    """Outcome of one check, for messages. Never holds a secret."""

    ok: bool
    status: int | None  # HTTP status of the decisive request
    step: str  # "ping" | "token" | "manifest" | "tags" | "connect" | "tls"
    message: str  # one line, plain words, naming what the registry said
    digest: str | None = None  # Docker-Content-Digest of the manifest, when one was found

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", scrub(self.message))

    def __str__(self) -> str:
        return self.message


class RegistryError(Exception):
    """The registry could not be reached or refused to give the data asked for.

    ``step`` is "connect" or "tls" for network/TLS failures, otherwise the step
    that failed ("ping", "token", "manifest", "tags"); ``status`` is the HTTP
    status when there was one. The message is one line and never holds a secret.
    """

    def __init__(self, message: str, *, host: str | None = None, step: str = "connect",
                 status: int | None = None):
        super().__init__(message)
        self.message = scrub(message)
        self.host = host
        self.step = step
        self.status = status
        self._kind = ""  # internal: which network failure, for the insecure http fallback

    def answer(self) -> RegistryAnswer:
        return RegistryAnswer(False, self.status, self.step, self.message)

    def __str__(self) -> str:
        return self.message


class Refused(Exception):
    """Internal to the package: the auth flow failed with an answer to report."""

    def __init__(self, answer: RegistryAnswer):
        super().__init__(answer.message)
        self.answer = answer


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
