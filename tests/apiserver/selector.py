"""Label and field selectors: parsing (with the real server's error messages) and matching.

Which field labels each resource supports is part of the wire behaviour: an unsupported one gets 400.
"""

from __future__ import annotations

import re
from typing import Callable

from .resources import Res, dig
from .status import ApiError
from .validation import DNS1123


# ---------------------------------------------------------------- label selectors

LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def _lex(s: str) -> list[tuple[str, str]]:
    toks, i = [], 0
    while i < len(s):
        if s[i].isspace():
            i += 1
        elif s.startswith(("!=", "=="), i):
            toks.append(("op", s[i:i + 2]))
            i += 2
        elif s[i] in "=!(),<>":
            toks.append(("op", s[i]))
            i += 1
        else:
            j = i
            while j < len(s) and not s[j].isspace() and s[j] not in "=!(),<>":
                j += 1
            word = s[i:j]
            toks.append(("kw" if word in ("in", "notin") else "id", word))
            i = j
    return toks


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if len(name) > 63 or not LABEL_NAME.fullmatch(name) or (prefix and not DNS1123.fullmatch(prefix)):
        raise ValueError(f'key: Invalid value: "{key}": name part must consist of alphanumeric characters, '
                         "'-', '_' or '.', and must start and end with an alphanumeric character")


def parse_label_selector(s: str) -> list[tuple[str, str, tuple]]:
    """k8s.io/apimachinery labels.Parse: returns [(key, op, values)]; raises ValueError."""
    toks, i, reqs = _lex(s), 0, []

    def peek():
        return toks[i] if i < len(toks) else ("end", "")

    while toks:
        try:
            neg = peek() == ("op", "!")
            i += neg
            kind, key = peek()
            if kind != "id":
                raise ValueError(f"found '{key}', expected: !, identifier, or 'end of string'")
            _check_key(key)
            i += 1
            if neg:
                reqs.append((key, "!", ()))
            elif peek() in (("end", ""), ("op", ",")):
                reqs.append((key, "exists", ()))
            else:
                _, op = peek()
                i += 1
                if op in ("in", "notin"):
                    if peek() != ("op", "("):
                        raise ValueError(f"found '{peek()[1]}', expected: '('")
                    i += 1
                    values = []
                    while peek() != ("op", ")"):
                        if peek()[0] == "id":
                            values.append(peek()[1])
                            i += 1
                        if peek() == ("op", ","):
                            i += 1
                        elif peek() != ("op", ")"):
                            raise ValueError(f"found '{peek()[1]}', expected: ',' or ')'")
                    i += 1
                    if not values:
                        raise ValueError("for 'in', 'notin' operators, values set can't be empty")
                elif op in ("=", "==", "!=", "<", ">"):
                    values = [peek()[1]] if peek()[0] == "id" else [""]
                    i += peek()[0] == "id"
                    if op in ("<", ">") and not re.fullmatch(r"-?\d+", values[0]):
                        raise ValueError("for 'Gt', 'Lt' operators, the value must be an integer")
                else:
                    raise ValueError(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
                for v in values:
                    if len(v) > 63 or not LABEL_VALUE.fullmatch(v):
                        raise ValueError(f'values[0][{key}]: Invalid value: "{v}": a valid label must be an empty '
                                         "string or consist of alphanumeric characters, '-', '_' or '.'")
                reqs.append((key, {"==": "="}.get(op, op), tuple(values)))
        except ValueError as e:
            raise ValueError(f"unable to parse requirement: {e}") from None
        if peek()[0] == "end":
            break
        if peek() != ("op", ","):
            raise ValueError(f"found '{peek()[1]}', expected: ',' or 'end of string'")
        i += 1
    return reqs


def labels_match(reqs, labels: dict) -> bool:
    for key, op, values in reqs:
        has, v = key in labels, labels.get(key)
        ok = {"exists": has, "!": not has, "=": has and v in values, "in": has and v in values,
              "!=": v not in values or not has, "notin": not has or v not in values}.get(op)
        if op in ("<", ">"):
            ok = has and re.fullmatch(r"-?\d+", v or "") is not None and (
                int(v) > int(values[0]) if op == ">" else int(v) < int(values[0]))
        if not ok:
            return False
    return True


# ---------------------------------------------------------------- field selectors

POD_FIELDS = {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}
EVENT_FIELDS = {"involvedObject." + f for f in ("kind", "namespace", "name", "uid", "apiVersion",
                                                "resourceVersion", "fieldPath")} | {
    "reason", "source", "type", "reportingComponent"}
FIELDS = {"pods": POD_FIELDS, "events": EVENT_FIELDS, "secrets": {"type"}, "namespaces": {"status.phase"},
          "nodes": {"spec.unschedulable"}, "replicasets.apps": {"status.replicas"},
          "jobs.batch": {"status.successful"}}
FIELD_DEFAULTS = {"spec.hostNetwork": "false", "spec.unschedulable": "false", "status.replicas": "0",
                  "status.successful": "0"}
# events.k8s.io/v1 field labels and the core fields they mean
NEW_EVENT_FIELDS = {"regarding." + f: "involvedObject." + f for f in (
    "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")} | {
    "reason": "reason", "type": "type", "reportingController": "reportingComponent",
    "deprecatedSource": "source", "metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}


def parse_field_selector(s: str) -> list[tuple[str, str, str]]:
    """fields.ParseSelector: terms split on unescaped ',', operators != == =, escapes \\\\ \\, \\=."""
    terms, cur, esc = [], "", False
    for c in s:
        if esc:
            cur, esc = cur + "\\" + c, False
        elif c == "\\":
            esc = True
        elif c == ",":
            terms.append(cur)
            cur = ""
        else:
            cur += c
    terms.append(cur + ("\\" if esc else ""))
    out = []
    for term in terms:
        if not term and s == "":
            continue
        for i in range(len(term)):
            op = next((o for o in ("!=", "==", "=") if term.startswith(o, i)), None)
            if op:
                raw, val, j = term[i + len(op):], "", 0
                while j < len(raw):
                    if raw[j] == "\\":
                        if j + 1 >= len(raw) or raw[j + 1] not in "\\,=":
                            raise ValueError(f"invalid field selector: invalid escape sequence in '{raw}'")
                        j += 1
                    val += raw[j]
                    j += 1
                out.append((term[:i], "!=" if op == "!=" else "=", val))
                break
        else:
            raise ValueError(f"invalid selector: '{s}'; can't understand '{term}'")
    return out


def field_filter(sel: str, res: Res) -> Callable[[dict], bool]:
    """The fieldSelector ``sel`` of a list of ``res`` as a predicate on stored objects; ApiError 400 if invalid."""
    try:
        terms = parse_field_selector(sel)
    except ValueError as e:
        raise ApiError(400, str(e))
    allowed = {"metadata.name"} | ({"metadata.namespace"} if res.namespaced else set()) | \
        FIELDS.get(res.store, set())
    out = []
    for f, op, v in terms:
        if res.kind == "Event" and res.group:
            if f not in NEW_EVENT_FIELDS:
                raise ApiError(400, f'"{f}" is not a known field selector: only "{", ".join(NEW_EVENT_FIELDS)}"')
            f = NEW_EVENT_FIELDS[f]
        if f not in allowed:
            raise ApiError(400, f"field label not supported: {f}")
        out.append((f, op, v))

    def match(obj):
        for f, op, v in out:
            actual = dig(obj, "source.component" if f == "source" else f)
            actual = FIELD_DEFAULTS.get(f, "") if actual is None else \
                str(actual).lower() if isinstance(actual, bool) else str(actual)
            if (actual == v) != (op == "="):
                return False
        return True
    return match
