"""Secrets leave the API layer without their values: ``redact_secret``.

Applied by ``Cluster`` the moment a Secret arrives (get and list), and by
bundle.py to Secrets it reads from files or writes to a bundle, so no value
travels further than this boundary. Which registries a pull secret covers is kept (an annotation): the
image rules need it, and it is not a secret.
"""

from __future__ import annotations

from kubectl_podfix.registry.reference import dockerconfig_registries

REDACTED_ANNOTATION = "podfix.io/registries"



def redact_secret(secret: dict) -> dict:
    """A copy of a Secret without any value: data keys kept (values emptied), registries listed."""
    out = {k: v for k, v in secret.items() if k not in ("data", "stringData")}
    meta = dict(out.get("metadata") or {}) if isinstance(out.get("metadata"), dict) else {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    annotations = {k: v for k, v in annotations.items() if k != "kubectl.kubernetes.io/last-applied-configuration"}
    # NB: malformed data/stringData (a string, a list) is dropped whole: never echo what might be a value.
    data = secret.get("data") if isinstance(secret.get("data"), dict) else {}
    string_data = secret.get("stringData") if isinstance(secret.get("stringData"), dict) else {}
    registries = dockerconfig_registries(data)
    if registries is not None:
        # "" when the config holds no registry at all: that covers nothing, which differs from not knowing.
        annotations[REDACTED_ANNOTATION] = ",".join(registries)
    meta["annotations"] = annotations
    out["metadata"] = meta
    keys = {str(k) for k in data} | {str(k) for k in string_data}
    out["data"] = {k: "" for k in sorted(keys)}
    return out

