#!/usr/bin/env python3
"""Build dist/kubectl-podfix.tar.gz: the krew archive of kubectl-podfix.

The archive holds exactly three regular files (krew rules, docs/install.md):

* ``kubectl-podfix``           0755  a zipapp: ``#!/usr/bin/env python3`` + a zip of
                                      ``__main__.py``, ``kubectl_podfix/`` and the
                                      vendored pure-Python dependencies
* ``kubectl_complete-podfix``  0755  kubectl's shell-completion helper (a 2-line sh script)
* ``LICENSE``                  0644

It also writes ``<out-dir>/plugin.yaml``: plugin.yaml with ``sha256:`` (and
``version:``/the release tag in ``uri:``) of the archive just built, for a local
``kubectl krew install --manifest=dist/plugin.yaml --archive=dist/...``. No file
outside the output directory changes (``make dist`` leaves the tree clean),
unless ``--manifest FILE`` asks for that file to be rewritten the same way:
``make release`` does it to plugin.yaml for the release commit (docs/install.md).

Where the dependencies come from
    They are copied from the Python environment running this script (``make dist``
    runs it with .venv/bin/python), following each distribution's RECORD: the
    closure of setup.cfg's ``install_requires``, each version checked against the
    pins there. This is offline, fast, and ships exactly the versions the test
    suite ran against; ``pip install --target`` would resolve whatever PyPI
    serves on the day (and needs the network in every test run). Release builds
    should run from a fresh ``make install`` so the venv holds nothing stale.
    The versions used are listed in ``licenses/VENDORED.txt`` inside the zip.

What is left out
    * compiled extensions (``*.so``/``*.pyd``/``*.dylib``): zipimport cannot load
      them and they would tie the archive to one OS/arch. PyYAML and
      charset_normalizer fall back to their pure-Python code. The build fails if
      one slips through (``check_zip``).
    * ``aiohttp`` (a hard requirement of kubernetes>=35, compiled) and with it
      ``kubernetes/aio``: only the asyncio client uses them; podfix uses the sync
      client, which never imports aiohttp (tests/test_krew.py checks this).
    * ``tzdata`` (python-dateutil's optional zone database, ~670 files): never
      used, and zipimport parses the whole zip directory on every start.
    * tests, type stubs, console scripts and dist-info metadata; each
      distribution's licence files are kept under ``licenses/<dist>/``.

Bytecode
    zipimport never writes bytecode, so without ``.pyc`` files every run would
    compile ~20 MB of source. Each module gets a legacy-placement ``.pyc`` next to
    its ``.py`` (what zipimport looks for), hash-based and *unchecked*
    (PEP 552) so it does not depend on file mtimes: the build stays
    byte-reproducible. They only help on the build's Python minor version (the
    magic number differs between minors); any other Python >= the floor ignores
    them and compiles from source - correct, just slower to start. The
    Kubernetes client's generated ``models``/``api`` packages, which podfix never
    imports (kubectl_podfix/cluster/client.py), get no ``.pyc``: that halves the size.

Reproducibility
    Sorted entries, fixed timestamps (``$SOURCE_DATE_EPOCH`` or 1980-01-01),
    fixed modes, uid/gid 0 with empty user/group names, USTAR headers, gzip mtime
    0 and no file name in the gzip header. Same sources + same environment =>
    same sha256 (tests/test_krew.py builds twice).

Usage: build_dist.py [--out-dir DIR] [--manifest FILE] [--no-bytecode] [-q]
"""

from __future__ import annotations

import argparse
import configparser
import gzip
import hashlib
import importlib.metadata as metadata
import importlib.util
import io
import marshal
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kubectl_podfix"
ZIPAPP = "kubectl-podfix"
HELPER = "kubectl_complete-podfix"
ARCHIVE = "kubectl-podfix.tar.gz"
SHEBANG = b"#!/usr/bin/env python3\n"
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip can store

# Distributions required by a dependency but never imported on podfix's code paths.
EXCLUDED_DISTS = {
    "aiohttp": "only kubernetes.aio (the asyncio client) imports it; compiled",
    # 670 zone files: a third of the zip's entries, and zipimport reads the whole directory
    # on every start. dateutil loads it lazily and treats ImportError as "zone not found";
    # neither podfix nor the sync client looks time zones up by name.
    "tzdata": "dateutil.tz's optional zone database, loaded lazily; never used",
}
# Path prefixes (inside site-packages) left out of the zip.
EXCLUDED_PREFIXES = (
    "kubernetes/aio/",  # the asyncio client: needs aiohttp
)
# Generated modules podfix never imports: shipped as source only (see "Bytecode").
NO_BYTECODE_PREFIXES = (
    "kubernetes/client/models/",
    "kubernetes/client/api/",
)
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
NATIVE_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")  # ELF, Mach-O
LICENSE_RE = re.compile(r"(?i)^(licen[cs]e|copying|notice|authors)")
TEST_RE = re.compile(r"(^|/)(tests?|e2e_tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$")

HELPER_SCRIPT = b"""#!/bin/sh
# kubectl's shell-completion helper for the kubectl-podfix plugin (kubectl >= 1.26):
# `kubectl podfix <TAB>` runs `kubectl_complete-podfix <args...> <word>`.
exec kubectl-podfix __complete "$@"
"""

MAIN_TEMPLATE = '''\
# Entry point of the kubectl-podfix zipapp (generated by tools/build_dist.py).
import sys

if sys.version_info < {floor!r}:
    sys.stderr.write("error: kubectl-podfix needs python3 >= {floor_text} (found %d.%d)\\n" % sys.version_info[:2])
    sys.exit(1)
if sys.argv[1:2] == ["__complete"] or sys.argv[1:2] == ["__completeNoDesc"]:
    # Shell completion: no click, no Kubernetes client.
    from kubectl_podfix.cli.completion import run

    sys.exit(run(sys.argv[2:]))
from kubectl_podfix.cli import main

main()
'''


class BuildError(Exception):
    pass


def log(quiet: bool, *args) -> None:
    if not quiet:
        print(*args, file=sys.stderr)


# --------------------------------------------------------------------------- requirements

def _packaging():
    try:
        from packaging.markers import default_environment
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:  # a bare venv: pip always vendors packaging
        from pip._vendor.packaging.markers import default_environment  # type: ignore[no-redef]
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
        from pip._vendor.packaging.version import Version  # type: ignore[no-redef]
    return Requirement, Version, default_environment


def setup_cfg() -> tuple[list[str], tuple[int, int]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    reqs = [line.split("#", 1)[0].strip() for line in cfg.get("options", "install_requires").splitlines()]
    floor = re.search(r">=\s*(\d+)\.(\d+)", cfg.get("options", "python_requires", fallback=">=3.10"))
    return [r for r in reqs if r], (int(floor.group(1)), int(floor.group(2))) if floor else (3, 10)


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(top: list[str]) -> list[metadata.Distribution]:
    """The installed distributions needed by ``top`` (markers evaluated with no extras)."""
    Requirement, Version, default_environment = _packaging()
    env = dict(default_environment(), extra="")
    found: dict[str, metadata.Distribution] = {}
    queue = [(Requirement(r), "setup.cfg") for r in top]
    while queue:
        req, why = queue.pop(0)
        key = norm(req.name)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        if key in EXCLUDED_DISTS:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise BuildError(f"{req.name} (required by {why}) is not installed in {sys.prefix}: run `make install`")
        if req.specifier and not req.specifier.contains(Version(dist.version), prereleases=True):
            raise BuildError(f"{req.name} {dist.version} is installed but {why} requires {req}: run `make install`")
        if key in found:
            continue
        found[key] = dist
        for sub in dist.requires or []:
            queue.append((Requirement(sub), f"{dist.metadata['Name']} {dist.version}"))
    return [found[k] for k in sorted(found)]


# --------------------------------------------------------------------------- collecting files

def vendored_files(dists: list[metadata.Distribution]) -> tuple[dict[str, bytes], list[str], list[str]]:
    """arcname -> bytes for every vendored file, plus the compiled files left out and VENDORED.txt lines."""
    files: dict[str, bytes] = {}
    stripped: list[str] = []
    listing: list[str] = []
    for dist in dists:
        name, version = dist.metadata["Name"], dist.version
        listing.append(f"{name}=={version}")
        if dist.files is None:
            raise BuildError(f"{name} has no RECORD; reinstall it with pip")
        licenses = 0
        for entry in dist.files:
            rel = PurePosixPath(str(entry).replace(os.sep, "/"))
            text = rel.as_posix()
            if text.startswith("../") or "__pycache__" in rel.parts or rel.suffix in (".pyc", ".pyo"):
                continue
            source = Path(dist.locate_file(entry))
            if ".dist-info" in rel.parts[0]:
                if LICENSE_RE.match(rel.name) and source.is_file():
                    inner = PurePosixPath(*rel.parts[1:])
                    if inner.parts and inner.parts[0] == "licenses":
                        inner = PurePosixPath(*inner.parts[1:])
                    files[f"licenses/{name}/{inner.as_posix()}"] = source.read_bytes()
                    licenses += 1
                continue
            if rel.suffix in COMPILED_SUFFIXES or ".so." in rel.name:
                stripped.append(text)
                continue
            if (text.startswith(EXCLUDED_PREFIXES) or TEST_RE.search(text) or rel.suffix == ".pyi"
                    or rel.name == "py.typed"):
                continue
            if not source.is_file():
                raise BuildError(f"{name}: {text} is listed in RECORD but missing at {source}")
            files[text] = source.read_bytes()
        if not licenses:
            raise BuildError(f"{name} {version} ships no licence file in its dist-info; cannot vendor it")
    return files, stripped, listing


def package_files() -> dict[str, bytes]:
    files = {}
    for path in sorted((ROOT / PACKAGE).rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if (path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
                and not path.name.startswith(".")):
            files[rel] = path.read_bytes()
    return files


# --------------------------------------------------------------------------- bytecode

def pyc(source: bytes, arcname: str) -> bytes:
    """An unchecked hash-based .pyc (PEP 552), independent of mtimes."""
    code = compile(source, f"{ZIPAPP}/{arcname}", "exec", dont_inherit=True, optimize=0)
    flags = 0b01  # hash-based, check_source=False
    return importlib.util.MAGIC_NUMBER + flags.to_bytes(4, "little") + importlib.util.source_hash(source) + \
        marshal.dumps(code)


def add_bytecode(files: dict[str, bytes]) -> None:
    for arcname in sorted(files):
        if arcname.endswith(".py") and not arcname.startswith(NO_BYTECODE_PREFIXES) and arcname != "__main__.py":
            files[arcname + "c"] = pyc(files[arcname], arcname)


# --------------------------------------------------------------------------- writing

def epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return max(int(value), DEFAULT_EPOCH) if value else DEFAULT_EPOCH


def build_zipapp(files: dict[str, bytes], mtime: int) -> bytes:
    date_time = time.gmtime(mtime)[:6]
    dirs = {PurePosixPath(name).parents[i].as_posix() + "/"
            for name in files for i in range(len(PurePosixPath(name).parents) - 1)}
    buf = io.BytesIO()
    buf.write(SHEBANG)  # before the zip: offsets stay absolute, as zipapp writes them
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(set(files) | dirs):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.create_system = 3  # unix, so external_attr holds the mode
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


def check_zip(data: bytes) -> list[str]:
    """Fail on anything that can't run from a zip; return the entry names."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        bad = [n for n in names if n.lower().endswith(COMPILED_SUFFIXES) or ".so." in n]
        for info in zf.infolist():
            if not info.is_dir() and zf.read(info)[:4] in NATIVE_MAGIC:
                bad.append(info.filename)
        if bad:
            raise BuildError(f"compiled extensions in the zipapp (zipimport cannot load them): {sorted(set(bad))}")
        if "__main__.py" not in names or f"{PACKAGE}/cli/__init__.py" not in names:
            raise BuildError("zipapp lacks __main__.py or the package")
    return names


def build_tar(members: list[tuple[str, bytes, int]], mtime: int) -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data, mode in sorted(members):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime, info.type = len(data), mode, mtime, tarfile.REGTYPE
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def update_manifest(path: Path, version: str, sha256: str) -> None:
    """Rewrite version, the release tag in uri and sha256 in place (the rest of the file is kept as written)."""
    text = path.read_text()
    new, n_sha = re.subn(r"(?m)^(\s*sha256:\s*)\S*\s*$", lambda m: f"{m.group(1)}{sha256}", text)
    new, n_ver = re.subn(r"(?m)^(  version:\s*)\S+\s*$", lambda m: f"{m.group(1)}v{version}", new)
    new = re.sub(r"(/releases/download/)v[^/\s]+(/)", lambda m: f"{m.group(1)}v{version}{m.group(2)}", new)
    if n_sha != 1 or n_ver != 1:
        raise BuildError(f"{path}: expected exactly one spec.version and one sha256 line (found {n_ver}, {n_sha})")
    if new != text:
        path.write_text(new)


def smoke_test(zipapp: Path, version: str) -> float:
    """Run the zipapp with this Python; return the --version wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(zipapp), "--version"], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    if out.returncode != 0 or f"v{version}" not in out.stdout:
        raise BuildError(f"the built zipapp does not run: {out.returncode} {out.stdout!r} {out.stderr!r}")
    return elapsed


def build(out_dir: Path, manifest: Path | None, bytecode: bool = True, quiet: bool = False) -> dict:
    spec = importlib.util.spec_from_file_location("_podfix_version", ROOT / PACKAGE / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    version = module.__version__
    requires, floor = setup_cfg()
    dists = resolve(requires)
    files, stripped, listing = vendored_files(dists)
    ours = package_files()
    clash = set(ours) & set(files)
    if clash:
        raise BuildError(f"vendored files collide with the package: {sorted(clash)[:5]}")
    files.update(ours)
    files["__main__.py"] = MAIN_TEMPLATE.format(floor=floor, floor_text="%d.%d" % floor).encode()
    files["licenses/VENDORED.txt"] = ("# Pure-Python dependencies vendored in this zipapp\n"
                                      f"# built with Python {sys.version_info[0]}.{sys.version_info[1]}"
                                      " (the .pyc files only help on that minor version)\n"
                                      + "\n".join(listing) + "\n").encode()
    if bytecode:
        add_bytecode(files)
    mtime = epoch()
    app = build_zipapp(files, mtime)
    names = check_zip(app)

    out_dir.mkdir(parents=True, exist_ok=True)
    zipapp_path = out_dir / ZIPAPP
    zipapp_path.write_bytes(app)
    zipapp_path.chmod(0o755)
    helper_path = out_dir / HELPER
    helper_path.write_bytes(HELPER_SCRIPT)
    helper_path.chmod(0o755)
    tar = build_tar([(ZIPAPP, app, 0o755), (HELPER, HELPER_SCRIPT, 0o755),
                     ("LICENSE", (ROOT / "LICENSE").read_bytes(), 0o644)], mtime)
    archive = out_dir / ARCHIVE
    archive.write_bytes(tar)
    sha = hashlib.sha256(tar).hexdigest()
    (out_dir / (ARCHIVE + ".sha256")).write_text(f"{sha}  {ARCHIVE}\n")
    local = out_dir / "plugin.yaml"
    if (ROOT / "plugin.yaml").is_file() and local.resolve() != (ROOT / "plugin.yaml").resolve():
        local.write_text((ROOT / "plugin.yaml").read_text())
        update_manifest(local, version, sha)
    if manifest is not None:
        update_manifest(manifest, version, sha)
    startup = smoke_test(zipapp_path, version)

    log(quiet, f"vendored: {', '.join(listing)}")
    log(quiet, f"left out (compiled, zipimport can't load them): {', '.join(stripped) or 'none'}")
    log(quiet, f"left out (unused): {', '.join(f'{k} ({v})' for k, v in EXCLUDED_DISTS.items())}, "
               f"{', '.join(EXCLUDED_PREFIXES)}")
    log(quiet, f"zipapp: {zipapp_path} ({len(app) / 1e6:.1f} MB, {len(names)} entries, "
               f"bytecode for Python {sys.version_info[0]}.{sys.version_info[1]}; --version in {startup:.2f}s)")
    if manifest is not None:
        log(quiet, f"updated {manifest}: version v{version}, sha256 {sha}")
    print(f"{archive} {len(tar)} bytes sha256:{sha}")
    return {"archive": archive, "zipapp": zipapp_path, "helper": helper_path, "sha256": sha, "version": version,
            "size": len(tar), "stripped": stripped, "vendored": listing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist", help="where to write the archive (default: dist/)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--manifest", type=Path, default=None,
                       help="krew manifest whose version/sha256 to rewrite (make release: plugin.yaml); "
                            "default: none, the source tree is left untouched")
    group.add_argument("--no-manifest", action="store_true", help="the default; kept for old scripts")
    parser.add_argument("--no-bytecode", action="store_true", help="ship sources only (slow start; for comparison)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        build(args.out_dir, args.manifest, bytecode=not args.no_bytecode,
              quiet=args.quiet)
    except BuildError as exc:
        print(f"build_dist: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
