"""``fix image``: point a container at an image reference that exists (and runs on the node).

Two halves:

* ``plan_image`` (pure): the patch that sets one container's ``image`` on the
  top controller.
* the registry half (network, no cluster): ``registry_credentials`` picks the
  credentials the kubelet would use (the pod's pull secrets, read raw and kept
  in memory only) or the user's ``~/.docker/config.json`` ``auths``;
  ``suggest`` lists the repository's tags and ranks the closest ones ("lates"
  -> "latest"), or the ones whose manifest covers the node's platform;
  ``verify`` checks the chosen reference exists before anything is patched.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field

from kubectl_podfix import redact
from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.errors import Exit, PodfixError, UsageError
from kubectl_podfix.fix import workload as wl
from kubectl_podfix.fix.plan import Plan
from kubectl_podfix.registry.reference import ImageRef, dockerconfig_auths, parse_image, server_matches

FIX_ID = "image"
MAX_PLATFORM_CHECKS = 12  # manifests fetched to find tags with the node's platform


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one registry, in memory only (never printed: see __repr__)."""

    username: str
    password: str = field(repr=False)
    source: str = ""  # "pull secret regcred" / "~/.docker/config.json"

    def __post_init__(self) -> None:
        redact.remember_login(self.username, self.password)

    def __repr__(self) -> str:
        return f"RegistryAuth(username={self.username!r}, password=***, source={self.source!r})"

    __str__ = __repr__


@dataclass
class Suggestion:
    current: str
    candidates: list[str]  # full image references, best first
    tags: int  # how many tags the repository has
    reason: str  # how they were ranked
    notes: list[str] = field(default_factory=list)


# -- the plan -----------------------------------------------------------------------------------

def plan_image(w: wl.Workload, container: str, new_image: str, *, verified: str | None = None) -> Plan:
    source, spec = wl.target_container(w, container)
    if parse_image(new_image) is None:
        raise UsageError(f"invalid image reference {new_image!r}")
    plan = Plan(FIX_ID, f"change the image of container {container} of {wl.ref(source)}", w.namespace,
                pod=dig(w.pod, "metadata.name") if w.pod else None)
    old = spec.get("image")
    if verified:
        plan.notes.append(verified)
    if old == new_image:
        plan.notes.append(f"container {container} already uses {new_image}: unchanged")
        return plan
    return wl.finish(plan, w, container, {"image": new_image}, f"image {old} -> {new_image}",
                     what="change its image")


# -- credentials --------------------------------------------------------------------------------

def _auths_of_secret(secret: dict) -> dict:
    return dockerconfig_auths(secret.get("data") or {})


def _entry_auth(entry: dict) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            user, sep, pw = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return (user, pw) if sep else None
    if entry.get("username") and entry.get("password"):
        return str(entry["username"]), str(entry["password"])
    return None


def registry_credentials(image: str, secrets: list[tuple[str, dict]], docker_config: str | None = None,
                         ) -> tuple[RegistryAuth | None, list[str]]:
    """The credentials the kubelet would use for ``image``: the first of the pod's pull secrets (raw
    Secrets, in order) with a matching ``auths`` key, else the user's docker config. (auth, notes)."""
    notes: list[str] = []
    for name, secret in secrets:
        for key, entry in _auths_of_secret(secret).items():
            if server_matches(key, image):
                pair = _entry_auth(entry)
                if pair:
                    return RegistryAuth(pair[0], pair[1], f"pull secret {name}"), notes
    path = docker_config or os.path.join(os.path.expanduser("~"), ".docker", "config.json")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError:
        return None, notes
    except ValueError:
        notes.append(f"{path} is not JSON: not used")
        return None, notes
    if not isinstance(doc, dict):
        return None, notes
    auths = doc.get("auths") if isinstance(doc.get("auths"), dict) else {}
    for key, entry in auths.items():
        if server_matches(key, image):
            pair = _entry_auth(entry)
            if pair:
                return RegistryAuth(pair[0], pair[1], path), notes
    if doc.get("credsStore") or doc.get("credHelpers"):
        notes.append(f"{path} uses a credential helper (credsStore/credHelpers), which podfix does not run: "
                     "asking the registry anonymously")
    return None, notes


# -- the registry -------------------------------------------------------------------------------

def _kw(auth: RegistryAuth | None, insecure: bool) -> dict:
    return {"username": auth.username if auth else None, "password": auth.password if auth else None,
            "insecure": insecure}


def _platform_ok(node: str, platforms: list[str]) -> bool:
    """Whether one of ``platforms`` runs on ``node`` ("linux/arm64" runs "linux/arm64/v8" and vice versa)."""
    n = node.split("/")
    for p in platforms:
        parts = p.split("/")
        if parts[:2] == n[:2] and (len(parts) < 3 or len(n) < 3 or parts[2] == n[2]):
            return True
    return False


def suggest(image: str, *, auth: RegistryAuth | None = None, insecure: bool = False,
            node_platform: str | None = None, n: int = 3) -> Suggestion:
    """Tags of ``image``'s repository closest to its tag; with ``node_platform`` only those that have it."""
    from kubectl_podfix.registry.client import RegistryError, closest_tags, list_tags, manifest_platforms

    ref = _ref(image)
    try:
        tags = list_tags(ref.registry, ref.repository, **_kw(auth, insecure))
    except RegistryError as exc:
        raise PodfixError(f"--check-registry: cannot list the tags of {ref.registry}/{ref.repository}: "
                          f"{exc.message}", Exit.ERROR) from None
    wanted = ref.tag or "latest"
    if not node_platform:
        ranked = [t for t in closest_tags(wanted, tags, n=n + 1) if t != wanted or ref.digest][:n]
        return Suggestion(image, [ref.with_tag(t) for t in ranked], len(tags),
                          f"tags of {ref.registry}/{ref.repository} closest to {wanted!r}")
    ranked = closest_tags(wanted, tags, n=MAX_PLATFORM_CHECKS)
    rest = [t for t in sorted(tags, reverse=True) if t not in ranked]
    out, notes, checked = [], [], 0
    for tag in ranked + rest:
        if checked >= MAX_PLATFORM_CHECKS or len(out) >= n:
            break
        checked += 1
        try:
            platforms = manifest_platforms(ref.registry, ref.repository, tag, **_kw(auth, insecure))
        except RegistryError as exc:
            notes.append(f"{tag}: {exc.message}")
            continue
        if _platform_ok(node_platform, platforms):
            out.append(ref.with_tag(tag))
    if checked >= MAX_PLATFORM_CHECKS and len(out) < n:
        notes.append(f"checked the platforms of {checked} of {len(tags)} tags")
    return Suggestion(image, out, len(tags), f"tags of {ref.registry}/{ref.repository} with {node_platform}", notes)


def verify(image: str, *, auth: RegistryAuth | None = None, insecure: bool = False,
           node_platform: str | None = None) -> str:
    """Check ``image`` exists (and has ``node_platform``); a one-line note, or PodfixError (nothing patched)."""
    from kubectl_podfix.registry.client import RegistryError, manifest_exists, manifest_platforms

    ref = _ref(image)
    try:
        answer = manifest_exists(ref.registry, ref.repository, ref.reference, **_kw(auth, insecure))
    except RegistryError as exc:
        raise PodfixError(f"cannot check that {image} exists: {exc.message}. Nothing was changed "
                          "(pass --no-verify to patch without checking)", Exit.ERROR) from None
    if not answer.ok:
        raise PodfixError(f"{image} cannot be pulled: {answer.message}. Nothing was changed", Exit.REFUSED)
    note = f"verified: {image} exists in the registry" + (f" ({answer.digest})" if answer.digest else "")
    if node_platform:
        try:
            platforms = manifest_platforms(ref.registry, ref.repository, ref.reference, **_kw(auth, insecure))
        except RegistryError as exc:
            return note + f"; its platforms could not be read ({exc.message})"
        if platforms and not _platform_ok(node_platform, platforms):
            raise PodfixError(f"{image} exists but has no {node_platform} variant (it has: "
                              f"{', '.join(platforms)}): it would not run on the node. Nothing was changed",
                              Exit.REFUSED)
        if platforms:
            note += f" with {node_platform}"
    return note


def _ref(image: str) -> ImageRef:
    ref = parse_image(image)
    if ref is None:
        raise UsageError(f"invalid image reference {image!r}")
    return ref


def node_platform(node: dict | None) -> str | None:
    info = dig(node, "status.nodeInfo") or {}
    os_, arch = info.get("operatingSystem"), info.get("architecture")
    if not os_ or not arch:
        return None
    return f"{os_}/{arch}"
