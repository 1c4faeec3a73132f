"""Writes: create, update, patch, delete and deletecollection, as the real server does them.

Status is kept from the stored object on update/patch and reset on create; pods get a few defaults
(defaults.py) and immutable specs (validation.py); a write that changes nothing keeps its resourceVersion;
an object with finalizers is only marked for deletion; deleting a namespace deletes what is in it;
``dryRun=All`` does everything but store.  Every stored change is appended to the change log watches read
(``_record``).  The ``on_write``/``on_delete`` hooks are queued on ``hooks`` and run once the server's lock
is released.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid

from .defaults import apply_defaults
from .events import event_to_core, event_to_new
from .patches import json_patch, merge_patch, strategic_merge
from .reads import render
from .resources import GENERATION_KINDS, STATUS_KINDS, Res, now
from .status import ApiError, not_found, status_details
from .validation import validate
from .wire import Request


def dry_run(req: Request, body: dict | None = None) -> bool:
    values = req.query.get("dryRun") or (body or {}).get("dryRun") or []
    if any(v != "All" for v in values):
        raise ApiError(422, f'dryRun: Unsupported value: "{values[0]}": supported values: "All"')
    return bool(values)


def apply_patch(req: Request, res: Res, old: dict) -> dict:
    """The patched object: the body of a PATCH (strategic merge, merge or JSON patch) applied to ``old``."""
    ctype = req.content_type.split(";")[0].strip().lower()
    current = copy.deepcopy(event_to_new(old) if res.kind == "Event" and res.group else old)
    try:
        body = json.loads(req.body or b"null")
    except ValueError as e:
        raise ApiError(400, f"error decoding patch: {e}")
    if ctype == "application/strategic-merge-patch+json":
        if not isinstance(body, dict):
            raise ApiError(400, f"json: cannot unmarshal {type(body).__name__} into Go value of type "
                                "map[string]interface {}")
        return strategic_merge(current, body)
    if ctype == "application/merge-patch+json":
        return merge_patch(current, body)
    if ctype == "application/json-patch+json":
        if not isinstance(body, list):
            raise ApiError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            return json_patch(current, body)
        except (ValueError, TypeError, AttributeError):
            # like the real server (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go): the patch
            # library's error becomes NewGenericServerResponse(422, ...) with no causes, so a failed ``test``
            # op and a path that does not exist both read "the server rejected our request due to an error
            # in our request", reason Invalid, details {}
            raise ApiError(422, details={})
    raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, "
                        "application/strategic-merge-patch+json")


class Writes:
    """FakeAPIServer's write handlers, called with its lock held.

    They change the server's ``_store`` (via ``_lookup``, ``_next_rv``, ``_uid``, ``_seq`` too), queue its
    ``on_write``/``on_delete`` hooks, and deletecollection lists through ``Reads._list``.

    ``before_write`` (set on the instance: a list of ``hook(verb, kind, namespace, name)``) runs at the start
    of every create/update/patch/delete, before the stored object is looked at: a test's "someone else"
    changes the object there (``server.add``), between podfix's read and its write.
    """

    before_write: tuple = ()

    def _before(self, verb: str, res: Res, ns: str | None, name: str | None) -> None:
        for hook in list(self.before_write):
            hook(verb, res.kind, ns, name)

    def _write(self, req: Request, res: Res, verb: str, ns: str | None, name: str | None, hooks) -> tuple[int, dict]:
        self._before(verb, res, ns, name)
        old = self._lookup(res.store, ns or "", name) if name else None
        if verb in ("update", "patch") and old is None:
            raise not_found(res, name)
        if verb == "patch":
            obj = apply_patch(req, res, old)
        else:
            if req.content_type.split(";")[0].strip() not in ("application/json", "application/yaml", ""):
                raise ApiError(415, 'the body of the request was in an unknown format - accepted media types '
                                    'include: application/json, application/yaml')
            obj = copy.deepcopy(req.json)
            if not isinstance(obj, dict):
                raise ApiError(400, "the body of the request was in an unknown format")
        if res.kind == "Event":
            obj = event_to_core(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if res.namespaced:
            if meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "the namespace of the provided object does not match the namespace sent on "
                                    "the request")
            meta["namespace"] = ns
        if verb != "create" and meta.get("name") != name:
            raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match the name on the "
                                f"URL ({name})")
        dry = dry_run(req)
        obj["apiVersion"], obj["kind"] = "v1" if res.kind == "Event" else res.api_version, res.kind
        if verb == "create":
            if not meta.get("name") and meta.get("generateName"):
                self._seq += 1
                meta["name"] = meta["generateName"] + uuid.uuid5(uuid.NAMESPACE_URL, str(self._seq)).hex[:5]
            if ns and not self._lookup("namespaces", "", ns):
                raise ApiError(404, f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})
            validate(res, obj, None)
            if self._lookup(res.store, ns or "", meta["name"]):
                raise ApiError(409, f'{res.gr} "{meta["name"]}" already exists', "AlreadyExists",
                               status_details(res, meta["name"]))
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "uid"):
                meta.pop(k, None)
            apply_defaults(res, obj)
            meta["uid"], meta["creationTimestamp"] = self._uid(res, meta), now()
            if res.kind in GENERATION_KINDS:
                meta["generation"] = 1
        else:
            if meta.get("resourceVersion") not in (None, "", old["metadata"]["resourceVersion"]):
                raise ApiError(409, f'Operation cannot be fulfilled on {res.gr} "{name}": the object has been '
                                    "modified; please apply your changes to the latest version and try again",
                               "Conflict", status_details(res, name))
            validate(res, obj, old)
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
                meta.pop(k, None)
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
            if res.kind in STATUS_KINDS:
                obj.pop("status", None)
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
            if res.kind in GENERATION_KINDS and obj.get("spec") != old.get("spec"):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if res.kind == "Secret" and obj.get("stringData"):  # write-only convenience field
            obj.setdefault("data", {}).update({k: base64.b64encode(v.encode()).decode()
                                              for k, v in obj.pop("stringData").items()})
        old_rv = old["metadata"].get("resourceVersion") if old else None
        if old is not None and {**obj, "metadata": {**meta, "resourceVersion": old_rv}} == old:
            meta["resourceVersion"] = old_rv  # a no-op write keeps its resourceVersion, like the real server
        elif not dry:
            meta["resourceVersion"] = self._next_rv()
        if not dry:
            key = (ns or "", meta["name"])
            if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
                self._store[res.store].pop((ns or "", name))
                self._record_delete(res.store, key, obj)
                hooks.extend(lambda h=h, o=copy.deepcopy(obj): h(o) for h in self.on_delete)
            else:
                self._store.setdefault(res.store, {})[key] = obj
                if old is None or meta["resourceVersion"] != old_rv:
                    self._record("ADDED" if old is None else "MODIFIED", res.store, key, obj, old)
            hooks.extend(lambda h=h, o=copy.deepcopy(obj): h(verb, o) for h in self.on_write)
        return (201 if verb == "create" else 200), render(req, res, obj)

    def _delete(self, req: Request, res: Res, ns: str | None, name: str, hooks) -> tuple[int, dict]:
        self._before("delete", res, ns, name)
        obj = self._lookup(res.store, ns or "", name)
        if obj is None:
            raise not_found(res, name)
        opts = req.json if isinstance(req.json, dict) else {}
        pre = opts.get("preconditions") or {}
        for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if pre.get(key) and pre[key] != obj["metadata"].get(key):
                raise ApiError(409, f"Precondition failed: {label} in precondition: {pre[key]}, {label} in object "
                                    f"meta: {obj['metadata'].get(key)}", "Conflict", status_details(res, name))
        dry = dry_run(req, opts)
        obj = copy.deepcopy(obj)
        if obj["metadata"].get("finalizers"):  # stays until its finalizers are removed
            obj["metadata"].setdefault("deletionTimestamp", now())
            obj["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            if not dry:
                obj["metadata"]["resourceVersion"] = self._next_rv()
                self._record("MODIFIED", res.store, (ns or "", name), obj, self._store[res.store][(ns or "", name)])
                self._store[res.store][(ns or "", name)] = obj
            return 200, render(req, res, obj)
        if not dry:
            del self._store[res.store][(ns or "", name)]
            self._record_delete(res.store, (ns or "", name), obj)
            if res.kind == "Namespace":
                for store_name, store in self._store.items():
                    for key in [k for k in store if k[0] == name]:
                        self._record_delete(store_name, key, store.pop(key))
            hooks.extend(lambda h=h, o=copy.deepcopy(obj): h(o) for h in self.on_delete)
        return 200, render(req, res, obj)

    def _delete_collection(self, req: Request, res: Res, ns: str, hooks) -> tuple[int, dict]:
        sub = Request(req.method, req.path, {k: v for k, v in req.query.items() if k not in ("limit", "continue")},
                      {}, b"", None, "")
        _, listed = self._list(sub, res, ns)
        for item in listed["items"]:
            self._delete(req, res, ns, item["metadata"]["name"], hooks)
        return 200, listed
