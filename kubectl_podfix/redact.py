"""The one scrubber: every value podfix holds as secret, removed from every text it prints.

Whoever comes to hold a secret tells this module (``remember``, ``remember_login``,
``remember_url_credentials``): a registry password, a docker config JSON, a proxy URL's user:password.
``scrub`` then replaces each of them in a text by ``***``, in every form a message may echo it:

* as given, JSON-escaped, percent-encoded (``quote`` / ``quote_plus``);
* in base64: whole, and inside any base64 blob (the three alignments: the docker config's ``auth``
  field, a Secret's ``data``, a webhook quoting the base64 of a Secret), once more base64-encoded too.

It is applied where text leaves podfix: the one error line and its ``--debug`` detail (``PodfixError``
scrubs its ``message`` and ``detail`` when they are read), plans and step reports (the fix engine, the
node check), the node check's log and plan. What a command never held it cannot know; the values
podfix reads from a Secret are dropped at the API boundary (cluster/redact.py) unless a command needs
them, and those that need them remember them here.
"""

from __future__ import annotations

import base64
import json
import threading
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_LENGTH = 4  # shorter values are not scrubbed (they would mangle ordinary words)
MIN_FRAGMENT = 12  # base64 fragments shorter than this are too likely to occur by chance

_lock = threading.Lock()
_needles: set[str] = set()
_ordered: list[str] = []  # longest first


def _b64_fragments(data: bytes) -> set[str]:
    """Substrings of base64(anything containing ``data``), for the three alignments."""
    out = set()
    for offset in range(3):
        enc = base64.b64encode(b"\0" * offset + data).decode()
        first = -(-offset // 3) * 3
        last = (offset + len(data)) // 3 * 3
        frag = enc[first // 3 * 4: last // 3 * 4]
        if len(frag) >= MIN_FRAGMENT:
            out.add(frag)
    return out


def forms(value: str) -> set[str]:
    """Every spelling of ``value`` a message may carry."""
    raw = value.encode("utf-8", "surrogateescape")
    out = {value, quote(value, safe=""), quote_plus(value), quote(value), json.dumps(value)[1:-1],
           base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    single = _b64_fragments(raw)
    out |= single
    for frag in single:
        out |= _b64_fragments(frag.encode())
    return {f for f in out if len(f) >= MIN_LENGTH}


def remember(*values: str | bytes | None) -> None:
    """Scrub these values (and their encodings) from everything podfix prints from now on."""
    found = set()
    for value in values:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            continue
        found |= forms(value)
    if not found - _needles:
        return
    with _lock:
        _needles.update(found)
        _ordered[:] = sorted(_needles, key=len, reverse=True)


def remember_login(username: str | None, password: str | None) -> None:
    """A registry login: the password, and ``user:password`` (the Basic / docker ``auth`` form)."""
    if password:
        remember(password, f"{username or ''}:{password}")


def remember_docker_config(config: str | bytes) -> None:
    """A docker config JSON (``.dockerconfigjson``): the whole document, and every password and ``auth``
    in it."""
    if isinstance(config, bytes):
        config = config.decode("utf-8", "replace")
    remember(config)
    try:
        doc = json.loads(config)
    except ValueError:
        return
    auths = doc.get("auths") if isinstance(doc, dict) else None
    for entry in (auths or {}).values() if isinstance(auths, dict) else []:
        if not isinstance(entry, dict):
            continue
        for key in ("password", "auth", "identitytoken", "registrytoken"):
            if isinstance(entry.get(key), str):
                remember(entry[key])
        if isinstance(entry.get("auth"), str):
            try:
                user, _, pw = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            remember_login(user, pw)


def userinfo(url: str) -> tuple[str, str] | None:
    """(``user:password`` as written, the password) of a URL or a scheme-less ``user:pass@host:port``.

    The credentials end at the LAST ``@`` before the host, so passwords with an unencoded ``@``, ``/`` or
    space are found whole (as curl and Go's proxy parsing read them)."""
    rest = url.strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1]
    if "@" not in rest:
        return None
    info, _, host = rest.rpartition("@")
    if not info or not host or any(c in host for c in " @"):
        return None
    _, sep, password = info.partition(":")
    return info, password if sep else ""


def remember_url_credentials(url: str | None) -> None:
    """The user:password of a (proxy) URL, as written and percent-decoded."""
    found = userinfo(url or "")
    if found is None:
        return
    info, password = found
    remember(info, unquote(info), password, unquote(password))


def scrub(text):
    """``text`` with every remembered secret, in every form, replaced by ``***`` (non-strings as given)."""
    if not isinstance(text, str) or not _ordered:
        return text
    for needle in list(_ordered):
        if needle in text:
            text = text.replace(needle, MASK)
    return text


def forget_all() -> None:
    """For tests: start again with nothing remembered."""
    with _lock:
        _needles.clear()
        _ordered.clear()
