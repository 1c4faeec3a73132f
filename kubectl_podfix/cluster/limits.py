"""How much podfix reads before it stops: the caps on hostile or broken input (docs/security.md#limits).

Every cap is generous for real clusters and files, so that only a misbehaving server or a
hostile file reaches it; each one has an environment override (a positive integer) for the
rare real case that needs more. Reaching a cap is one line and exit 1, never memory exhaustion.
"""

from __future__ import annotations

import os

from kubectl_podfix.errors import PodfixError, UsageError

DEFAULTS = {
    "PODFIX_MAX_LIST_PAGES": 2000,  # pages of one LIST (500 items each: a million objects)
    "PODFIX_MAX_LIST_ITEMS": 1_000_000,  # items of one LIST
    "PODFIX_MAX_FILE_BYTES": 512 << 20,  # one -f file (or stdin)
    "PODFIX_MAX_RESPONSE_BYTES": 256 << 20,  # one API answer, after gzip decoding
}
TOKEN_FILE_BYTES = 1 << 20  # a kubeconfig tokenFile (tokens are a few KB)
PASSWORD_BYTES = 1 << 20  # the first line of stdin for --password-stdin (passwords and registry tokens: a few KB)
DOCKER_CONFIG_BYTES = 16 << 20  # a docker config.json for --from-docker-config (a few KB, even with many registries)
MAX_DEPTH = 100  # nesting of one object (Kubernetes objects nest about 15 levels)
YAML_ALIAS_BUDGET = 10_000  # values YAML aliases may add to a document, and at most this many times its own size


def limit(name: str) -> int:
    """The cap ``name`` (one of DEFAULTS), from the environment when set there."""
    value = os.environ.get(name, "").strip()
    if not value:
        return DEFAULTS[name]
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        number = 0
    if number <= 0:
        raise UsageError(f"{name} must be a positive whole number, not {value!r}")
    return number


def read_small_file(path: str, cap: int, where: str, what: str) -> bytes:
    """The bytes of a file that is small when it is right (a token, a docker config): at most ``cap`` of them,
    so that ``/dev/zero`` or a wrong path to a huge file is one line, not a hang or all the memory. ``where``
    names the file in errors, ``what`` what it should hold."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(cap + 1)
    except OSError as exc:
        raise PodfixError(f"cannot read {where}: {exc.strerror}") from None
    if len(data) > cap:
        raise PodfixError(f"{where} is larger than {cap >> 20} MiB, which no {what} is: check the path")
    return data
