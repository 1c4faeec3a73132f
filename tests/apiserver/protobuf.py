"""Protobuf decoding, just enough for the one protobuf body the fake accepts.

``kubectl auth can-i`` posts its SelfSubjectAccessReview as protobuf (``k8s\\x00`` + runtime.Unknown);
everything else is JSON (or YAML) only.
"""

from __future__ import annotations

from typing import Any

def _pb_fields(buf: bytes) -> dict[int, Any]:
    """One level of protobuf wire format: field number -> varint or bytes (enough for SSAR)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        value = shift = 0
        while True:
            b, i = buf[i], i + 1
            value, shift = value | (b & 0x7F) << shift, shift + 7
            if b < 0x80:
                return value

    while i < len(buf):
        key = varint()
        if key & 7 == 0:
            out[key >> 3] = varint()
        elif key & 7 == 2:
            n = varint()
            out[key >> 3], i = buf[i:i + n], i + n
        else:
            i += 8 if key & 7 == 1 else 4
    return out


def ssar_from_protobuf(body: bytes) -> dict:
    """runtime.Unknown{raw: SelfSubjectAccessReview{spec: {resourceAttributes | nonResourceAttributes}}}."""
    spec = _pb_fields(_pb_fields(_pb_fields(body[4:]).get(2, b"")).get(2, b""))
    if 1 not in spec:
        attrs = _pb_fields(spec.get(2, b""))
        return {"spec": {"nonResourceAttributes": {"path": attrs.get(1, b"").decode(),
                                                   "verb": attrs.get(2, b"").decode()}}}
    attrs = _pb_fields(spec[1])
    names = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
    return {"spec": {"resourceAttributes": {n: attrs[i].decode() for i, n in enumerate(names, 1)
                                            if isinstance(attrs.get(i), bytes) and attrs[i]}}}
