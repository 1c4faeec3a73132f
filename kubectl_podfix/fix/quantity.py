"""Kubernetes quantities (memory and CPU amounts) for flags like ``fix memory --limit``.

Parsing uses the official client's ``kubernetes.utils.quantity.parse_quantity``
behind a strict check of apimachinery's grammar (the client alone accepts
Python-only spellings such as "NaN", "1_000" or " 1 "). The client module is
loaded through kube.py's light package stubs: importing the ``kubernetes.utils``
package itself would import the whole client.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal
from typing import Any, Callable

from kubectl_podfix.errors import UsageError

# k8s.io/apimachinery/pkg/api/resource: <signedNumber><suffix>, suffix binary, decimal SI or an exponent.
_GRAMMAR = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?")
_BINARY = (("Ei", 1024 ** 6), ("Pi", 1024 ** 5), ("Ti", 1024 ** 4), ("Gi", 1024 ** 3), ("Mi", 1024 ** 2),
           ("Ki", 1024))
_DECIMAL = (("E", 10 ** 18), ("P", 10 ** 15), ("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6), ("k", 1000))
_parse: Callable[[Any], Decimal] | None = None


def _client_parser() -> Callable[[Any], Decimal]:
    global _parse
    if _parse is None:
        from kubectl_podfix.cluster import client as kube

        _parse = kube.parse_quantity()
    return _parse


def parse_quantity(value: str, flag: str = "quantity", *, allow_negative: bool = False) -> Decimal:
    """Parse "512Mi", "1.5Gi", "250m", "1e3"... into a Decimal; UsageError naming ``flag`` if invalid."""
    text = str(value)
    if not _GRAMMAR.fullmatch(text):
        raise UsageError(f"invalid {flag} {value!r}: use a Kubernetes quantity like 512Mi, 1Gi, 250m or 1.5")
    try:
        parsed = _client_parser()(text)
    except (ValueError, ArithmeticError) as exc:
        raise UsageError(f"invalid {flag} {value!r}: {exc}") from None
    if parsed < 0 and not allow_negative:
        raise UsageError(f"invalid {flag} {value!r}: must not be negative")
    return parsed


def format_quantity(value: Decimal | int | float) -> str:
    """The shortest sensible spelling: whole amounts in binary units (768Mi, 1Gi, 1536Mi), fractions in
    milli-units (500m); then exact decimal units (1G, 1k); otherwise amounts of 1Mi or more are rounded up to
    a whole Mi (a limit should never shrink by rounding) and smaller ones are written in plain units."""
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if amount != amount.to_integral_value():
        milli = (amount * 1000).to_integral_value(rounding=ROUND_CEILING)
        if milli % 1000 == 0:
            amount = milli / 1000
        else:
            return f"{milli}m"
    whole = int(amount)
    if whole == 0:
        return "0"
    sign, whole = ("-" if whole < 0 else ""), abs(whole)
    for units in (_BINARY, _DECIMAL):
        for suffix, size in units:
            if whole >= size and whole % size == 0:
                return f"{sign}{whole // size}{suffix}"
    if whole >= 1024 ** 2:
        return f"{sign}{-(-whole // 1024 ** 2)}Mi"
    return f"{sign}{whole}"
