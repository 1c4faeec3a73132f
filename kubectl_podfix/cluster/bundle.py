"""Saved objects in, saved objects out: ``explain -f FILE`` and ``explain --save FILE``.

Reads what people save with ``kubectl get pod,events -o yaml`` (or -o json):
single objects, ``kind: List`` (any ``*List``), multi-document YAML, JSON,
from files or stdin, core/v1 and events.k8s.io/v1 Events alike. Secret
values are dropped on the way in, and never written out.

A bundle written by ``--save`` is a plain ``kind: List`` whose first item is a
``PodfixBundle`` header recording what was listed and what evidence was
missing, plus ``PodfixLog`` items holding previous-container log tails, so
that ``explain -f`` of it reproduces the live diagnosis.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any, Iterator

from kubectl_podfix.cluster.gather import normalize_event
from kubectl_podfix.cluster.limits import MAX_DEPTH, limit
from kubectl_podfix.cluster.redact import redact_secret

# NB: the structure checks live in shapes.py (API answers use them too); their names stay importable here.
from kubectl_podfix.cluster.shapes import _META, BUNDLE_KIND, LOG_KIND, SHAPES, TooDeep, _check, shape_problem  # noqa: F401
from kubectl_podfix.cluster.shapes import without_nulls
from kubectl_podfix.diagnose.model import Snapshot
from kubectl_podfix.errors import PodfixError

_EVIDENCE_KINDS = ("logs", "metrics")  # never present in plain kubectl output
_RELATED_KINDS = {"Secret", "ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "ResourceQuota", "LimitRange"}
_WORKLOAD_EVENT_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                         "PersistentVolumeClaim"}


def read(paths: list[str], stdin: io.TextIOBase | None = None) -> Snapshot:
    """Read every file (``-`` is stdin) into one Snapshot. Raises PodfixError naming file and document."""
    snap = Snapshot(source="file")
    header_seen = False
    for path in _expand(paths):
        text = _read_text(path, stdin)
        for number, doc in _documents(path, text):
            for obj in _flatten(path, number, doc):
                kind = obj.get("kind")
                if kind == BUNDLE_KIND:
                    header_seen = True
                    for kind_ns in obj.get("listed") or []:
                        if isinstance(kind_ns, list) and len(kind_ns) == 2:
                            snap.listed.add((str(kind_ns[0]), str(kind_ns[1])))
                    snap.missing.update(str(m) for m in obj.get("missing") or [])
                elif kind == LOG_KIND:
                    snap.logs[(obj.get("namespace") or "", obj.get("pod") or "", obj.get("container") or "")] = \
                        str(obj.get("text") or "")
                elif kind == "Event":
                    snap.events.append(normalize_event(obj))
                elif kind == "Secret":
                    snap.add(redact_secret(obj))
                elif kind == "PodMetrics":
                    meta = obj.get("metadata") or {}
                    snap.metrics[(meta.get("namespace") or "", meta.get("name") or "")] = obj
                else:
                    snap.add(obj)
    if not header_seen:
        snap.missing.update(_EVIDENCE_KINDS)
        # NB: plain kubectl output carries no record of what was listed. When a file holds
        # objects of a related kind for a namespace, take them as that namespace's full set
        # (people save the Secrets and ServiceAccounts that matter); otherwise rules report
        # the evidence as unavailable rather than missing.
        for kind, ns, _ in list(snap.objects):
            if kind in _RELATED_KINDS:
                snap.listed.add((kind, ns))
            elif kind == "StorageClass":  # cluster-scoped: the file's StorageClasses are all there are
                snap.listed.add((kind, "*"))
    return snap


def _expand(paths: list[str]) -> list[str]:
    """Like kubectl -f: a directory stands for its .yaml, .yml and .json files (not recursive)."""
    import os

    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith((".yaml", ".yml", ".json")) and os.path.isfile(os.path.join(path, f)))
            if not found:
                raise PodfixError(f"{path}: a directory with no .yaml, .yml or .json files")
            out.extend(found)
        else:
            out.append(path)
    return out


def _read_text(path: str, stdin: io.TextIOBase | None) -> str:
    """The file's text, read in chunks: at most PODFIX_MAX_FILE_BYTES, and not one byte past the first NUL
    or invalid UTF-8 (``-f /dev/zero`` is refused at once, not after filling the memory)."""
    import os
    import stat

    cap = limit("PODFIX_MAX_FILE_BYTES")
    if path == "-":
        stream = stdin or sys.stdin
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            return _read_stream(binary, "stdin", cap)
        text = stream.read(cap + 1)  # a text stream without bytes underneath
        if len(text) > cap:
            raise _too_large("stdin", cap)
        if "\0" in text:
            raise PodfixError("stdin: not a text file; expected YAML or JSON")
        return text
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise PodfixError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PodfixError(f"{path}: is a directory; pass the YAML or JSON files in it") from None
    except OSError as exc:
        raise PodfixError(f"{path}: cannot read it ({exc.strerror})") from None
    with fh:
        info = os.fstat(fh.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise PodfixError(f"{path}: is a directory; pass the YAML or JSON files in it")
        if stat.S_ISREG(info.st_mode) and info.st_size > cap:
            raise _too_large(path, cap)
        return _read_stream(fh, path, cap)


def _read_stream(fh: Any, name: str, cap: int) -> str:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    parts: list[str] = []
    total = 0
    try:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise _too_large(name, cap)
            if b"\0" in chunk:
                raise PodfixError(f"{name}: not a text file; expected YAML or JSON")
            parts.append(decoder.decode(chunk))
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise PodfixError(f"{name}: not a text file; expected YAML or JSON") from None
    except OSError as exc:
        raise PodfixError(f"{name}: cannot read it ({exc.strerror})") from None
    return "".join(parts)


def _too_large(name: str, cap: int) -> PodfixError:
    size = f"{cap >> 20} MiB" if cap >= 1 << 20 and cap % (1 << 20) == 0 else f"{cap} bytes"
    return PodfixError(f"{name}: larger than {size}, the most podfix reads (set PODFIX_MAX_FILE_BYTES to read more)")


def _name(path: str) -> str:
    return "stdin" if path == "-" else path


def _documents(path: str, text: str) -> Iterator[tuple[int, Any]]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            yield 1, json.loads(text)
            return
        except ValueError:
            pass  # maybe YAML flow style; let the YAML parser explain
        except RecursionError:
            raise _too_deep(path, 1) from None
    import yaml

    loader = _loader()(text)
    number = 0
    current = 1  # the document being read: the next one while parsing, this one once it is parsed
    # the alias check walks every node: only when the text may hold an anchor and an alias
    maybe_aliases = "&" in text and "*" in text and bool(_ANCHOR.search(text)) and bool(_ALIAS.search(text))
    try:
        while loader.check_node():
            current = number + 1
            node = loader.get_node()
            number = current
            if maybe_aliases:
                problem = _alias_problem(node)
                if problem:
                    raise PodfixError(f"{_name(path)}: document {number}: {problem}")
            doc = loader.construct_document(node)
            current = number + 1
            if doc is not None:
                yield number, doc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML or JSON"
        raise PodfixError(f"{_name(path)}: document {current}{where}: {problem}") from None
    except RecursionError:  # the pure-Python parser (no libyaml, as in the zipapp) on deep nesting
        raise _too_deep(path, current) from None
    except (TypeError, ValueError, AttributeError, UnboundLocalError) as exc:
        # NB: libyaml's binding fails this way on some malformed input (an alias inside its own anchor)
        raise PodfixError(f"{_name(path)}: document {current}: not valid YAML (the YAML parser failed: "
                          f"{type(exc).__name__})") from None
    finally:
        loader.dispose()


_ANCHOR = re.compile(r"(?:^|[\s\[{,:\-?])&[^\s\[\]{},]")
_ALIAS = re.compile(r"(?:^|[\s\[{,:\-?])\*[^\s\[\]{},]")


_LOADER: list[Any] = []


def _loader() -> Any:
    """The YAML loader: libyaml's safe loader when present, with timestamps kept as text (see _timestamp)."""
    if not _LOADER:
        import yaml

        class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
            pass

        Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
        _LOADER.append(Loader)
    return _LOADER[0]


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _timestamp(loader: Any, node: Any) -> str:
    """An unquoted timestamp as the string kubectl sees.

    YAML 1.1 (PyYAML) makes ``2024-01-01T00:00:00Z`` a datetime, which the shape checks would refuse;
    kubectl's YAML reader keeps such values as the text written. So does podfix, and a date-time in
    another YAML form (``2024-01-01 10:00:00 +2``) becomes RFC 3339 in UTC; a date alone (a label's
    ``2024-01-01``) stays as written."""
    import datetime

    text = loader.construct_scalar(node)
    if _RFC3339.fullmatch(text) or not re.search(r"[Tt ]\d", text.strip()):
        return text
    try:
        value = loader.construct_yaml_timestamp(node)
    except (ValueError, TypeError):
        return text
    if not isinstance(value, datetime.datetime):
        return text
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def _alias_problem(root: Any) -> str | None:
    """Refuse a document whose aliases would expand it by more than YAML_ALIAS_BUDGET values plus its own
    size (a "billion laughs" bomb: loading shares the aliased values, but every later walk expands
    them), or whose alias refers to itself. Sizes are counted once per node, so this is linear."""
    from kubectl_podfix.cluster.limits import YAML_ALIAS_BUDGET

    size: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), 1 << 62)
            continue
        if key in size:
            continue
        if key in open_nodes:
            return "a YAML alias refers to a value that contains it (an endless document)"
        open_nodes.add(key)
        distinct += 1
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                return "a YAML alias refers to a value that contains it (an endless document)"
            if id(child) not in size:
                stack.append((child, False))
    ceiling = 2 * distinct + YAML_ALIAS_BUDGET
    if size[id(root)] > ceiling:
        return (f"its YAML aliases expand it to more than {ceiling} values (from {distinct}): refusing it, as an "
                "alias bomb (kubectl never writes aliases; expand them in the file)")
    return None


def _children(node: Any) -> list:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, tuple):
            out.extend(item)
        else:
            out.append(item)
    return out


def _too_deep(path: str, number: int) -> PodfixError:
    return PodfixError(f"{_name(path)}: document {number}: nested more than {MAX_DEPTH} levels deep, which no "
                       "Kubernetes object is: refusing it")


def _flatten(path: str, number: int, doc: Any) -> Iterator[dict]:
    if isinstance(doc, list):  # a JSON array of objects
        items = doc
    elif isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        items = doc.get("items") or []
    elif isinstance(doc, dict):
        items = [doc]
    else:
        raise PodfixError(f"{_name(path)}: document {number}: expected a Kubernetes object, got {type(doc).__name__}")
    for index, obj in enumerate(items):
        if not isinstance(obj, dict) or not obj.get("kind") or not isinstance(obj.get("kind"), str):
            raise PodfixError(f"{_name(path)}: document {number}, item {index + 1}: not a Kubernetes object "
                              "(no kind); save with kubectl get ... -o yaml")
        try:
            obj = without_nulls(obj)
        except TooDeep:
            raise _too_deep(path, number) from None
        problem = shape_problem(obj)
        if problem:
            name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
            what = f"{obj['kind']} {name}" if isinstance(name, str) and name else obj["kind"]
            raise PodfixError(f"{_name(path)}: document {number}, item {index + 1} ({what}): {problem}")
        yield obj


# Environment variable names whose values are secrets: these words as whole segments of the name
# (DB_PASSWORD, apiKey, GITHUB_TOKEN, aws-secret-access-key), case-insensitive.
SECRET_WORDS = frozenset({"PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE", "PWD_HASH", "TOKEN", "TOKENS",
                          "SECRET", "SECRETS", "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "CREDS",
                          "PRIVATEKEY", "ACCESSKEY", "SECRETKEY", "AUTHTOKEN", "BEARER"})
_SEGMENTS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]*@")
MASKED = "***"
POD_SPEC_PATHS = (("spec",), ("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"))


def secret_env_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret (whole words, any case)."""
    parts = [p.upper() for p in _SEGMENTS.split(name or "") if p]
    return any(p in SECRET_WORDS for p in parts) or (name or "").upper() in SECRET_WORDS


def _mask_value(name: str, value: str) -> str | None:
    """The value to save instead of ``value`` (None: keep it): the whole value for a secret's name, the
    user:password of a URL otherwise."""
    if secret_env_name(name):
        return MASKED
    match = _URL_CREDENTIALS.search(value)
    if match:  # scheme://user:pass@host: keep the scheme and the host, they matter to a diagnosis
        from kubectl_podfix.redact import userinfo

        found = userinfo(value[match.start():])
        if found is not None:
            return value.replace(found[0] + "@", MASKED + "@", 1)
    return None


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def mask_env(obj: dict) -> tuple[dict, list[str]]:
    """(a copy of ``obj`` with what looks like a secret masked, what was masked: "pod/ns/x container c env
    NAME", never a value). Env values of pods and pod templates of workloads (``valueFrom`` references
    stay), the same inside the ``last-applied-configuration`` annotation (it repeats the spec as it was
    applied), and the user:password of a URL in any other value (args, annotations...)."""
    import copy

    meta = obj.get("metadata") or {}
    what = f"{str(obj.get('kind') or '').lower()}/{meta.get('namespace') or ''}/{meta.get('name') or ''}"
    out = copy.deepcopy(obj)
    masked = [f"{what} {found}" for found in _mask_env_in(out)]
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and isinstance(annotations.get(LAST_APPLIED), str):
        try:
            applied = json.loads(annotations[LAST_APPLIED])
        except (ValueError, RecursionError):
            applied = None
        if isinstance(applied, dict) and (list(_mask_env_in(applied)) + list(_mask_urls_in(applied))):
            annotations[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
            masked.append(f"{what} annotation {LAST_APPLIED}")
    masked += [f"{what} {found}" for found in _mask_urls_in(out)]
    return out, masked


def _mask_env_in(obj: dict) -> Iterator[str]:
    """Mask secret-looking env values in ``obj``'s pod spec, in place; yield what was masked."""
    for path in POD_SPEC_PATHS:
        spec = obj
        for key in path:
            spec = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            continue
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for c in spec.get(key) or []:
                for env in (c.get("env") or []) if isinstance(c, dict) else []:
                    if not isinstance(env, dict) or not isinstance(env.get("value"), str) or not env["value"]:
                        continue
                    new = _mask_value(str(env.get("name") or ""), env["value"])
                    if new is not None and new != env["value"]:
                        env["value"] = new
                        yield f"container {c.get('name')} env {env.get('name')}"
        break


def _mask_urls_in(value: Any, path: str = "") -> Iterator[str]:
    """Mask the user:password of every URL in the strings of ``value``, in place; yield their field paths."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        where = f"{path}[{key}]" if isinstance(value, list) else f"{path}.{key}" if path else str(key)
        if isinstance(item, str):
            new = _mask_urls(item)
            if new != item:
                value[key] = new
                yield where
        elif isinstance(item, (dict, list)):
            yield from _mask_urls_in(item, where)


def _mask_urls(text: str) -> str:
    from kubectl_podfix.redact import userinfo

    out, pos = [], 0
    for match in _URL_CREDENTIALS.finditer(text):
        if match.start() < pos:
            continue
        found = userinfo(match.group(0) + "host")
        if found is None or found[0] == MASKED:
            continue
        start = match.start() + match.group(0).index("://") + 3
        out.append(text[pos:start] + MASKED)
        pos = match.end() - 1  # keep the "@"
    return "".join(out) + text[pos:]


def write(path: str, snapshot: Snapshot, pods: list[dict], *, logs: bool = False) -> None:
    """Write the evidence used for ``pods`` as a bundle, readable by the user only (0600).

    Secret values are already gone; environment values that look like secrets are masked (and listed,
    without values, under ``masked`` in the header); previous-container log lines are included only
    with ``logs`` (``--save-logs``: logs may hold anything the application printed). The file is written
    to a temp file in the same directory and renamed over ``path``; a symbolic link at ``path`` is
    refused, never followed."""
    import yaml

    from kubectl_podfix.redact import scrub

    keep = {(p.get("metadata") or {}).get("uid") for p in pods}
    names = {((p.get("metadata") or {}).get("namespace"), (p.get("metadata") or {}).get("name")) for p in pods}
    events = [e for e in snapshot.events
              if (e.get("involvedObject") or {}).get("uid") in keep
              or ((e.get("involvedObject") or {}).get("namespace"), (e.get("involvedObject") or {}).get("name")) in names
              or (e.get("involvedObject") or {}).get("kind") in _WORKLOAD_EVENT_KINDS]
    masked: list[str] = []
    saved_pods = []
    for p in pods:
        clean, found = mask_env(p)
        saved_pods.append(clean)
        masked += found
    others = []
    for o in snapshot.objects.values():
        if o.get("kind") == "Secret":
            others.append(redact_secret(o))
            continue
        clean, found = mask_env(o)
        others.append(clean)
        masked += found
    for i, e in enumerate(events):  # an event message may quote a URL with its credentials (a pull error)
        clean_event = json.loads(json.dumps(e))
        found = list(_mask_urls_in(clean_event))
        if found:
            meta = e.get("metadata") or {}
            events[i] = clean_event
            masked += [f"event/{meta.get('namespace') or ''}/{meta.get('name') or ''} {f}" for f in found]
    withheld = [k for k in sorted(snapshot.logs) if (k[0], k[1]) in names] if not logs else []
    header: dict[str, Any] = {
        "apiVersion": "podfix.io/v1", "kind": BUNDLE_KIND,
        "listed": sorted([list(k) for k in snapshot.listed]),
        "missing": sorted(set(snapshot.missing) | ({"logs"} if withheld else set())),
    }
    if masked:
        header["masked"] = masked
    items: list[dict] = [header]
    items.extend(saved_pods)
    items.extend(events)
    items.extend(others)
    if logs:
        for (ns, pod, container), text in sorted(snapshot.logs.items()):
            if (ns, pod) in names:
                items.append({"apiVersion": "podfix.io/v1", "kind": LOG_KIND, "namespace": ns, "pod": pod,
                              "container": container, "text": text})
    for (ns, pod), metrics in snapshot.metrics.items():
        if (ns, pod) in names:
            items.append(metrics)
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}
    notes = ["# Saved by kubectl podfix explain --save: Secret values removed."]
    if masked:
        notes.append(f"# {len(masked)} value(s) that look like secrets (environment values, URL credentials) were "
                     f"masked as {MASKED} (listed under masked in the PodfixBundle item).")
    if withheld:
        notes.append(f"# Container log lines of {len(withheld)} container(s) were not saved (use --save-logs).")
    text = "\n".join(notes) + "\n" + scrub(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
    write_private(path, text)


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` readable by the user only: a new temp file (O_EXCL, 0600) in the same
    directory, renamed over ``path``. A symbolic link (or anything but a regular file) at ``path`` is
    refused; the temp file is removed on every way out (errors, Ctrl-C)."""
    import os
    import stat
    import tempfile

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise PodfixError(f"refusing to write {path}: it is a symbolic link, which --save does not follow; "
                          "remove it or choose another path")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise PodfixError(f"refusing to write {path}: it is not a regular file; choose another path")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".podfix-save-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise PodfixError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    import os

    try:
        os.unlink(path)
    except OSError:
        pass
