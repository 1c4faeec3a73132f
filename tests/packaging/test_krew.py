"""Shipping as a kubectl plugin through krew: manifest rules, the archive, and a simulated install.

The rules are krew's own (docs: /work/shared/reference/krew.md §7), one check each:
A = ``ValidatePlugin`` (every install, and krew-release-bot), B = ``validate-krew-manifest``
(krew-index CI), C = install time, D = krew-index review conventions, E = kubectl at run time.
They run on plugin.yaml and on krew-manifest.yaml rendered the way krew-release-bot does.

The archive is built once per session by tools/build_dist.py into a temp dir, from the
current sources and this environment's site-packages (offline, seconds; the same path
``make dist`` takes), with a temp copy of plugin.yaml whose sha256 the build refreshes.
The install test then follows krew's install steps (sha256, content sniffing, safe
extraction, ``files`` moves, the bin symlink) and runs the real kubectl with a PATH
holding only the krew bin dir and links to kubectl and a python3 that cannot import
podfix from anywhere but the zip.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import importlib.util
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from apiserver import FakeAPIServer
from objects import pod, waiting

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "tools" / "build_dist.py"
NAME = "podfix"
EXAMPLE = ROOT / "examples" / "imagepull-notfound.yaml"
KUBECTL = shutil.which("kubectl")
API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
PAIRS = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"), ("linux", "amd64"),
         ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"), ("darwin", "386"), ("darwin", "amd64"),
         ("darwin", "arm64")]
LICENSE_NAMES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying",
                 "copying.txt"}
# apimachinery ParseSemantic (what krew's semver.Parse calls), applied after the leading "v".
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(rf"^{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
TEMPLATE_CALL = re.compile(r'\{\{\s*addURIAndSha\s+"((?:[^"\\]|\\.)*)"\s+\.TagName\s*\}\}')
TAG = re.compile(r"\{\{\s*\.TagName\s*\}\}")

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _load_build_module():
    spec = importlib.util.spec_from_file_location("build_dist", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_dist = _load_build_module()


def podfix_version() -> str:
    return re.search(r'__version__ = "([^"]+)"', (ROOT / "kubectl_podfix" / "__init__.py").read_text()).group(1)


# --------------------------------------------------------------------------- the build

def run_build(out: Path, *extra: str) -> str:
    proc = subprocess.run([sys.executable, str(BUILD), "--out-dir", str(out), "-q", *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = re.search(r"sha256:([0-9a-f]{64})", proc.stdout)
    assert m, proc.stdout
    return m.group(1)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    manifest = out / "plugin.yaml"
    shutil.copyfile(ROOT / "plugin.yaml", manifest)
    sha = run_build(out, "--manifest", str(manifest))
    archive = out / "kubectl-podfix.tar.gz"
    return {"dir": out, "archive": archive, "sha256": sha, "manifest": manifest,
            "zipapp": out / "kubectl-podfix", "doc": yaml.safe_load(manifest.read_text())}


def rendered_template(tag: str, sha256: str) -> str:
    """krew-manifest.yaml rendered like krew-release-bot: addURIAndSha, then .TagName."""
    text = (ROOT / "krew-manifest.yaml").read_text()

    def uri_and_sha(m: re.Match) -> str:
        url = TAG.sub(tag, m.group(1))
        return f"uri: {url}\n    sha256: {sha256}"

    return TAG.sub(tag, TEMPLATE_CALL.sub(uri_and_sha, text))


# --------------------------------------------------------------------------- krew's rules

def selector_matches(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def go_clean(path: str) -> str:
    """Go's path.Clean for relative paths."""
    return posixpath.normpath(path) if path else "."


def manifest_errors(doc: dict, name: str = NAME) -> list[str]:
    """Rules A1-A20 (ValidatePlugin), B3-B5 (validate-krew-manifest), C6/C8 static parts."""
    errors = []
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    if doc.get("apiVersion") != API_VERSION:
        errors.append("A1 apiVersion")
    if doc.get("kind") != "Plugin":
        errors.append("A2 kind")
    plugin = meta.get("name") or ""
    if not re.fullmatch(r"[\w-]+", plugin, re.ASCII):
        errors.append("A3 name charset")
    if plugin.upper() in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                          *(f"LPT{i}" for i in range(1, 10))}:
        errors.append("A4 reserved name")
    if plugin != name:
        errors.append("A5 name")
    short = spec.get("shortDescription")
    if not short:
        errors.append("A6 shortDescription empty")
    elif "\r" in short or "\n" in short:
        errors.append("A7 shortDescription multi-line")
    platforms = spec.get("platforms") or []
    if not platforms:
        errors.append("A8 no platforms")
    version = spec.get("version")
    if not isinstance(version, str) or not version.startswith("v"):
        errors.append("A9 version must start with v")
    elif not SEMVER.match(version[1:]):
        errors.append("A10 version is not semver")
    for i, p in enumerate(platforms):
        if not p.get("uri"):
            errors.append(f"A11 platform {i} uri")
        if not p.get("sha256"):
            errors.append(f"A12 platform {i} sha256")
        elif not re.fullmatch(r"[a-f0-9]{64}", str(p["sha256"])):
            errors.append(f"A13 platform {i} sha256 format")
        if not p.get("bin"):
            errors.append(f"A14 platform {i} bin")
        elif p["bin"].startswith("/") or ".." in p["bin"].split("/"):
            errors.append(f"C8 platform {i} bin escapes the install dir")
        if "files" in p:
            files = p["files"]
            if not files:
                errors.append(f"A15 platform {i} files is empty")
            for f in files or []:
                if not f.get("from") or not f.get("to"):
                    errors.append(f"A16 platform {i} files item {f}")
                elif go_clean(f["to"]) != f["to"]:
                    errors.append(f"C6 platform {i} files to={f['to']!r} is not clean")
        selector = p.get("selector")
        if selector is None:
            errors.append(f"A17 platform {i} selector")
            continue
        labels, exprs = selector.get("matchLabels"), selector.get("matchExpressions")
        if not labels and not exprs:
            errors.append(f"A18/A20 platform {i} selector is empty")
        if labels is not None and not labels:
            errors.append(f"A20 platform {i} matchLabels {{}}")
        if exprs is not None and not exprs:
            errors.append(f"A20 platform {i} matchExpressions []")
        keys = set(labels or {}) | {e.get("key") for e in exprs or []}
        if keys - {"os", "arch"}:
            errors.append(f"A19 platform {i} selector keys {sorted(keys - {'os', 'arch'})}")
        for e in exprs or []:
            op, values = e.get("operator"), e.get("values")
            if op in ("In", "NotIn") and not values or op in ("Exists", "DoesNotExist") and values or \
                    op not in ("In", "NotIn", "Exists", "DoesNotExist"):
                errors.append(f"B4 platform {i} operator {op} with values {values}")
    matched: dict[tuple[str, str], int] = {}
    for i, p in enumerate(platforms):
        hits = [pair for pair in PAIRS if selector_matches(p.get("selector") or {}, dict(os=pair[0], arch=pair[1]))]
        if not hits:
            errors.append(f"B3 platform {i} matches no supported os/arch")
        for pair in hits:
            if pair in matched:
                errors.append(f"B5 {pair} matched by platforms {matched[pair]} and {i}")
            matched[pair] = i
    return errors


def review_errors(doc: dict) -> list[str]:
    """D: krew-index review conventions."""
    errors = []
    spec = doc["spec"]
    short = spec.get("shortDescription", "")
    if len(short) > 50:
        errors.append("D2 shortDescription longer than krew search shows")
    if re.search(r"(?i)kubectl|plugin", short):
        errors.append("D2 redundant words in shortDescription")
    if not spec.get("description"):
        errors.append("description missing")
    elif re.search(r"(?m)^\s*--?\w", spec["description"]):
        errors.append("D3 description lists flags")
    caveats = spec.get("caveats", "")
    if not re.fullmatch(r"This plugin requires python3 \(3\.\d+ or newer\) on your PATH\.\n?", caveats):
        errors.append(f"D4 caveats should state only the python3 requirement: {caveats!r}")
    if spec.get("homepage", "") != "https://github.com/kubectl-podfix/kubectl-podfix":
        errors.append("D5 homepage")
    for p in spec.get("platforms", []):
        if selector_matches(p.get("selector") or {}, {"os": "windows", "arch": "amd64"}):
            errors.append("D6 windows selected but bin is not an .exe")
        if not p.get("uri", "").endswith(f"/releases/download/{spec['version']}/kubectl-podfix.tar.gz"):
            errors.append("D7 uri is not the release asset of the version's tag")
    return errors


def pick_platform(doc: dict, os_: str, arch: str) -> dict | None:
    """krew: the first platform whose selector matches wins."""
    return next((p for p in doc["spec"]["platforms"] if selector_matches(p["selector"], {"os": os_, "arch": arch})),
                None)


# --------------------------------------------------------------------------- the validator itself

@pytest.mark.parametrize("version,ok", [
    ("v0.0.0", True), ("v1.2.3-beta.2+foo.bar", True), ("v0.1.0", True), ("v10.20.30-rc.1", True),
    ("1.0.0", False), ("v1", False), ("v1.2", False), ("v 1.0.0", False), ("v01.2.3", False),
    ("v1.0.1-", False), ("v1.0.1+", False), ("v0.0.0a", False), ("v1.0.0-01", False),
])
def test_semver_rule_matches_krew(version, ok):
    doc = yaml.safe_load((ROOT / "plugin.yaml").read_text())
    doc["spec"]["version"] = version
    assert (not [e for e in manifest_errors(doc) if e.startswith(("A9", "A10"))]) is ok


def _mutations():
    def platform(d):
        return d["spec"]["platforms"][0]

    return {
        "A1": lambda d: d.update(apiVersion="krew.googlecontainertools.github.com/v1alpha1"),
        "A2": lambda d: d.update(kind="plugin"),
        "A3": lambda d: d["metadata"].update(name="pod.fix"),
        "A4": lambda d: d["metadata"].update(name="nul"),
        "A5": lambda d: d["metadata"].update(name="podfix2"),
        "A6": lambda d: d["spec"].update(shortDescription=""),
        "A7": lambda d: d["spec"].update(shortDescription="two\nlines"),
        "A8": lambda d: d["spec"].update(platforms=[]),
        "A13": lambda d: platform(d).update(sha256="AB" * 32),
        "A14": lambda d: platform(d).update(bin=""),
        "A15": lambda d: platform(d).update(files=[]),
        "A16": lambda d: platform(d).update(files=[{"from": "kubectl-podfix"}]),
        "A17": lambda d: platform(d).pop("selector"),
        "A19": lambda d: platform(d)["selector"].update(matchLabels={"distro": "debian"}),
        "A20": lambda d: platform(d).update(selector={"matchLabels": {}}),
        "B3": lambda d: platform(d)["selector"].update(matchExpressions=[
            {"key": "os", "operator": "In", "values": ["plan9"]}]),
        "B4": lambda d: platform(d)["selector"]["matchExpressions"][0].update(operator="Equals"),
        "B5": lambda d: d["spec"]["platforms"].append(dict(platform(d), selector={
            "matchLabels": {"os": "linux", "arch": "amd64"}})),
        "C6": lambda d: platform(d)["files"][0].update(to="./"),
        "C8": lambda d: platform(d).update(bin="../kubectl-podfix"),
    }


@pytest.mark.parametrize("rule", sorted(_mutations()))
def test_validator_catches_each_broken_rule(rule):
    doc = yaml.safe_load((ROOT / "plugin.yaml").read_text())
    doc["spec"]["platforms"][0]["sha256"] = "0" * 64
    assert manifest_errors(doc) == []
    _mutations()[rule](doc)
    assert any(e.startswith(rule) or rule in e.split()[0] for e in manifest_errors(doc)), manifest_errors(doc)


# --------------------------------------------------------------------------- the manifests

def test_plugin_yaml_passes_krew_validation():
    doc = yaml.safe_load((ROOT / "plugin.yaml").read_text())
    assert manifest_errors(doc) == []
    assert review_errors(doc) == []


def test_plugin_yaml_file_rules():
    path = ROOT / "plugin.yaml"
    assert path.suffix == ".yaml"  # B1 (.yml fails in krew-index CI)
    doc = yaml.safe_load(path.read_text())
    # B2: in krew-index the file is plugins/<name>.yaml; the name must be what users type.
    assert doc["metadata"]["name"] == NAME and f"kubectl-{NAME.replace('-', '_')}" == "kubectl-podfix"  # C10


def test_manifest_version_matches_the_package():
    doc = yaml.safe_load((ROOT / "plugin.yaml").read_text())
    assert doc["spec"]["version"] == f"v{podfix_version()}"


def test_caveat_floor_matches_setup_cfg():
    doc = yaml.safe_load((ROOT / "plugin.yaml").read_text())
    floor = re.search(r"python_requires\s*=\s*>=\s*(\d+\.\d+)", (ROOT / "setup.cfg").read_text()).group(1)
    assert f"python3 ({floor} or newer)" in doc["spec"]["caveats"]


def test_build_refreshes_only_version_and_sha256(built):
    original = (ROOT / "plugin.yaml").read_text().splitlines()
    updated = built["manifest"].read_text().splitlines()
    assert len(original) == len(updated)
    changed = [(a, b) for a, b in zip(original, updated) if a != b]
    assert all(re.match(r"\s*(sha256|version|uri):", b) for _, b in changed), changed
    doc = built["doc"]
    assert doc["spec"]["platforms"][0]["sha256"] == built["sha256"]
    assert doc["spec"]["version"] == f"v{podfix_version()}"
    assert manifest_errors(doc) == [] and review_errors(doc) == []


def test_release_template_is_not_yaml_until_rendered():
    text = (ROOT / "krew-manifest.yaml").read_text()
    assert TAG.search(text) and TEMPLATE_CALL.search(text)
    # addURIAndSha emits "uri: ...\n    sha256: ..." with a hard-coded 4-space indent (krew.md §4)
    assert not [ln for ln in text.splitlines() if ln.lstrip().startswith("#") and "{{" in ln]
    (line,) = [ln for ln in text.splitlines() if "addURIAndSha" in ln and not ln.lstrip().startswith("#")]
    assert re.match(r"^    \{\{", line), line
    assert "/releases/download/{{ .TagName }}/kubectl-podfix.tar.gz" in line
    assert re.search(r"(?m)^  version: \{\{ \.TagName \}\}$", text)


@pytest.mark.parametrize("tag", ["v0.1.0", "v1.2.3-rc.1"])
def test_rendered_release_template_passes_krew_validation(tag):
    doc = yaml.safe_load(rendered_template(tag, "a" * 64))
    assert manifest_errors(doc) == []
    assert review_errors(doc) == []
    assert doc["spec"]["version"] == tag
    assert doc["spec"]["platforms"][0]["uri"].endswith(f"/download/{tag}/kubectl-podfix.tar.gz")


def test_rendered_release_template_equals_plugin_yaml(built):
    """The bot's output for this version is exactly the manifest make dist produced."""
    rendered = yaml.safe_load(rendered_template(built["doc"]["spec"]["version"], built["sha256"]))
    assert rendered == built["doc"]


# --------------------------------------------------------------------------- the archive

def archive_members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getmembers()


def test_archive_sha256_matches_manifest(built):  # C1
    assert hashlib.sha256(built["archive"].read_bytes()).hexdigest() == built["sha256"]
    assert built["doc"]["spec"]["platforms"][0]["sha256"] == built["sha256"]


def test_archive_is_gzip_by_content(built):  # C2: krew sniffs, the extension is ignored
    data = built["archive"].read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert data[3] == 0 and data[4:8] == b"\0\0\0\0", "gzip header: no file name, mtime 0"


def test_archive_entries_are_safe_regular_files(built):  # C3, C4, C5, E6
    members = archive_members(built["archive"])
    names = [m.name for m in members]
    assert names == sorted(names) == ["LICENSE", "kubectl-podfix", "kubectl_complete-podfix"]
    for m in members:
        assert m.isreg(), m.name
        assert ".." not in m.name and not m.name.startswith(("/", "\\"))
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
        assert m.mtime == build_dist.epoch()
    modes = {m.name: m.mode for m in members}
    assert modes == {"LICENSE": 0o644, "kubectl-podfix": 0o755, "kubectl_complete-podfix": 0o755}
    assert not [n for n in names if n.startswith("kubectl-podfix-")]


def test_archive_files_and_bin_resolve(built, tmp_path):  # C7, C8, C9
    platform = built["doc"]["spec"]["platforms"][0]
    install = krew_install(built["manifest"], built["archive"], tmp_path / "krew")
    store = install["store"]
    assert (store / platform["bin"]).is_file() and os.access(store / platform["bin"], os.X_OK)
    assert {p.name.lower() for p in store.iterdir() if p.is_file()} & LICENSE_NAMES
    assert sorted(p.name for p in store.iterdir()) == ["LICENSE", "kubectl-podfix", "kubectl_complete-podfix"]


def zipapp_entries(built) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(built["zipapp"]) as zf:
        return {i.filename: i for i in zf.infolist()}


def test_zipapp_is_a_pure_python_single_file(built):
    data = built["zipapp"].read_bytes()
    assert data.startswith(b"#!/usr/bin/env python3\n")
    entries = zipapp_entries(built)
    assert not [n for n in entries if n.endswith((".so", ".pyd", ".dylib", ".dll")) or ".so." in n]
    assert "__main__.py" in entries and "kubectl_podfix/cli/__init__.py" in entries
    assert not [n for n in entries if n.startswith(("aiohttp/", "kubernetes/aio/"))]
    assert "yaml/__init__.py" in entries and "kubernetes/config/kube_config.py" in entries
    assert "kubectl_podfix/cli/completion.py" in entries
    # bytecode beside the sources, where zipimport looks, for what runs on every start
    for module in ("kubectl_podfix/cli/root", "click/core", "kubernetes/client/api_client", "yaml/__init__"):
        assert f"{module}.pyc" in entries, module
    with zipfile.ZipFile(built["zipapp"]) as zf:
        header = zf.read("kubectl_podfix/cli/root.pyc")[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(header[4:8], "little") == 0b01, "unchecked hash-based pyc"
        vendored = zf.read("licenses/VENDORED.txt").decode()
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.filename.endswith("/") or info.external_attr >> 16 == 0o100644
    for dist in re.findall(r"(?m)^([A-Za-z0-9_.-]+)==", vendored):
        assert [n for n in entries if n.startswith(f"licenses/{dist}/")], f"no licence for {dist}"
    assert re.search(r"(?m)^kubernetes==3[0-6]\.", vendored)


def test_build_check_rejects_compiled_extensions():
    files = {"__main__.py": b"", "kubectl_podfix/cli/__init__.py": b"", "yaml/_yaml.cpython-311-x86_64-linux-gnu.so": b"x"}
    with pytest.raises(build_dist.BuildError, match="compiled extensions"):
        build_dist.check_zip(build_dist.build_zipapp(files, build_dist.DEFAULT_EPOCH))
    files = {"__main__.py": b"", "kubectl_podfix/cli/__init__.py": b"", "lib/native.bin": b"\x7fELF\x02\x01\x01"}
    with pytest.raises(build_dist.BuildError, match="compiled extensions"):
        build_dist.check_zip(build_dist.build_zipapp(files, build_dist.DEFAULT_EPOCH))


def test_build_is_byte_reproducible(tmp_path):
    """Two builds of one source snapshot (others may be editing the work tree meanwhile) are identical."""
    snap = tmp_path / "src"
    shutil.copytree(ROOT / "kubectl_podfix", snap / "kubectl_podfix", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tools", snap / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "LICENSE"):
        shutil.copyfile(ROOT / name, snap / name)
    builds = []
    for run in ("one", "two"):
        proc = subprocess.run([sys.executable, str(snap / "tools" / "build_dist.py"), "--out-dir", str(tmp_path / run),
                               "--no-manifest", "-q"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        builds.append((tmp_path / run / "kubectl-podfix.tar.gz").read_bytes())
    assert hashlib.sha256(builds[0]).hexdigest() == hashlib.sha256(builds[1]).hexdigest()
    assert builds[0] == builds[1]


def test_update_manifest_rewrites_in_place(tmp_path):
    path = tmp_path / "plugin.yaml"
    shutil.copyfile(ROOT / "plugin.yaml", path)
    build_dist.update_manifest(path, "9.8.7", "f" * 64)
    doc = yaml.safe_load(path.read_text())
    assert doc["spec"]["version"] == "v9.8.7"
    assert doc["spec"]["platforms"][0]["sha256"] == "f" * 64
    assert "/download/v9.8.7/" in doc["spec"]["platforms"][0]["uri"]


# --------------------------------------------------------------------------- start-up

def _imports(cmd: list[str], env=None) -> set[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["explain", "--help"], ["__complete", "explain", ""]])
def test_zipapp_fast_paths_do_not_import_the_kubernetes_client(built, args):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), "KUBECONFIG": "/nonexistent"}
    mods = _imports([sys.executable, "-X", "importtime", str(built["zipapp"]), *args], env=env)
    assert "kubectl_podfix" in mods
    assert not {m for m in mods if m.split(".")[0] in ("kubernetes", "urllib3", "requests", "aiohttp")}
    if args[0] == "__complete":
        assert "click" not in mods


def test_vendored_sync_client_never_imports_aiohttp(built):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from kubectl_podfix.cluster import client as kube; kube.kube_config(); "
            "import kubernetes.client.rest; "
            "print(sorted(m for m in sys.modules if m.startswith('aiohttp')) or 'none', "
            "sys.modules['kubernetes'].__path__[0])")
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(built["zipapp"])], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded, path = proc.stdout.split()
    assert loaded == "none"
    assert path.startswith(str(built["zipapp"]))


# --------------------------------------------------------------------------- simulated krew install

def krew_install(manifest: Path, archive: Path, krew_root: Path, os_: str = "linux", arch: str = "amd64") -> dict:
    """`kubectl krew install --manifest=M --archive=A`, step by step (krew internal/installation)."""
    doc = yaml.safe_load(manifest.read_text())
    assert manifest_errors(doc) == []
    name, version = doc["metadata"]["name"], doc["spec"]["version"]
    if (krew_root / "receipts" / f"{name}.yaml").exists():
        raise AssertionError("already installed")
    platform = pick_platform(doc, os_, arch)
    assert platform is not None, f"no platform for {os_}/{arch}"
    data = archive.read_bytes()
    assert hashlib.sha256(data).hexdigest() == platform["sha256"], "checksum does not match"  # C1
    staging = krew_root / "tmp" / "staging"
    staging.mkdir(parents=True)
    if data[:2] == b"\x1f\x8b":  # http.DetectContentType -> application/x-gzip
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            for m in tar.getmembers():
                assert ".." not in m.name and not m.name.startswith(("/", "\\")), m.name  # C3
                if m.name == "pax_global_header":
                    continue
                dest = staging / m.name
                if m.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                assert m.isreg(), f"unable to handle file type of {m.name}"  # C4
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(m).read())
                dest.chmod(m.mode & 0o7777)  # krew keeps the archive's mode and never chmods (C5)
    elif data[:4] == b"PK\x03\x04":
        raise AssertionError("zip archives are accepted by krew but not produced by this build")
    else:
        raise AssertionError("unsupported archive type")  # C2
    moved = krew_root / "tmp" / "moved"
    moved.mkdir()
    for spec in platform.get("files") or [{"from": "*", "to": "."}]:
        assert go_clean(spec["to"]) == spec["to"]  # C6
        matches = glob.glob(str(staging / spec["from"]))
        assert matches, f"files.from {spec['from']} matched nothing"  # C7
        for src in matches:
            dest = moved / spec["to"] / os.path.basename(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(src, dest)
    store = krew_root / "store" / name / version
    store.parent.mkdir(parents=True)
    moved.rename(store)
    binary = store / platform["bin"]
    assert binary.resolve().is_relative_to(store.resolve()) and binary.is_file()  # C8
    link = krew_root / "bin" / f"kubectl-{name.replace('-', '_')}"  # C10
    link.parent.mkdir(parents=True)
    link.symlink_to(binary)
    (krew_root / "receipts").mkdir()
    (krew_root / "receipts" / f"{name}.yaml").write_text(manifest.read_text())
    shutil.rmtree(krew_root / "tmp")
    return {"store": store, "bin": link.parent, "link": link}


@pytest.mark.parametrize("os_,arch", [("linux", "amd64"), ("linux", "arm64"), ("darwin", "arm64"),
                                      ("darwin", "amd64")])
def test_every_unix_platform_selects_the_archive(built, os_, arch):
    assert pick_platform(built["doc"], os_, arch)["bin"] == "kubectl-podfix"


def test_windows_is_not_offered(built):
    assert pick_platform(built["doc"], "windows", "amd64") is None


@pytest.fixture
def installed(built, tmp_path):
    """The archive installed into a fresh KREW_ROOT, and an environment that only sees it."""
    krew = krew_install(built["manifest"], built["archive"], tmp_path / "krew")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "kubectl").symlink_to(KUBECTL or "/usr/bin/kubectl")
    # the base interpreter, not the venv: it has neither podfix nor its dependencies
    (tools / "python3").symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    env = {"PATH": f"{krew['bin']}{os.pathsep}{tools}", "HOME": str(tmp_path / "home"),
           "KREW_ROOT": str(tmp_path / "krew"), "KUBECONFIG": str(tmp_path / "no-kubeconfig"), "LANG": "C.UTF-8"}
    (tmp_path / "home").mkdir()
    work = tmp_path / "work"
    work.mkdir()

    def run(*args, extra_env=None, **kw):
        return subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd=work,
                              env={**env, **(extra_env or {})}, **kw)

    proc = run("python3", "-c", "import kubectl_podfix")
    assert proc.returncode != 0, "podfix must only be importable from the installed zipapp"
    return {**krew, "run": run, "env": env, "tmp": tmp_path}


@needs_kubectl
def test_kubectl_plugin_list_shows_it_without_warnings(installed):  # E1, E2
    proc = installed["run"]("kubectl", "plugin", "list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert str(installed["link"]) in proc.stdout.split()
    assert [ln for ln in proc.stdout.splitlines() if ln.startswith("/")] == [str(installed["link"])]


@needs_kubectl
def test_kubectl_podfix_version_matches_manifest(installed, built):
    proc = installed["run"]("kubectl", "podfix", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kubectl-podfix {built['doc']['spec']['version']}"


@needs_kubectl
def test_kubectl_podfix_help_names_the_plugin(installed):  # E3
    proc = installed["run"]("kubectl", "podfix", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "kubectl podfix" in proc.stdout and "explain" in proc.stdout


@needs_kubectl
def test_kubectl_podfix_explains_the_example_bundle(installed):
    proc = installed["run"]("kubectl", "podfix", "explain", "-f", str(EXAMPLE), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    codes = {f["code"] for p in report["pods"] for f in p["findings"]}
    assert "image.not-found" in codes, codes
    text = installed["run"]("kubectl", "podfix", "explain", "-f", str(EXAMPLE))
    assert text.returncode == 0 and "web-7c9d8b6f5d-x2lqp" in text.stdout, text.stderr


@needs_kubectl
def test_kubectl_podfix_explains_a_live_pod_through_the_vendored_client(installed):  # E4: flags after the name
    with FakeAPIServer() as api:
        api.add(pod("web-1", namespace="shop", statuses=[waiting("app", "CrashLoopBackOff", restarts=5)]))
        kubeconfig = api.write_kubeconfig(str(installed["tmp"] / "kubeconfig"), namespace="default")
        proc = installed["run"]("kubectl", "podfix", "explain", "web-1", "-n", "shop", "-o", "json",
                                extra_env={"KUBECONFIG": kubeconfig})
        assert proc.returncode == 0, proc.stderr
        (result,) = json.loads(proc.stdout)["pods"]
        assert api.count("GET", "/api/v1/namespaces/shop/pods") >= 1
    assert "web-1" in json.dumps(result)


@needs_kubectl
def test_completion_through_kubectl_with_the_documented_helper(installed, built):  # E5
    # what `kubectl podfix completion` tells krew users to do: the shipped copy works as well
    shutil.copy2(installed["store"] / "kubectl_complete-podfix", installed["bin"] / "kubectl_complete-podfix")
    with FakeAPIServer() as api:
        api.add(pod("web-1", statuses=[waiting("app", "ImagePullBackOff")]), pod("web-2", phase="Running"))
        kubeconfig = api.write_kubeconfig(str(installed["tmp"] / "kubeconfig"), namespace="default")
        env = {"KUBECONFIG": kubeconfig}
        proc = installed["run"]("kubectl", "__complete", "podfix", "explain", "", extra_env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == ["web-1\tPending ImagePullBackOff", "web-2\tRunning", ":4"]
        direct = installed["run"]("kubectl_complete-podfix", "explain", "", extra_env=env)
        assert direct.stdout == "web-1\tPending ImagePullBackOff\nweb-2\tRunning\n:4\n"
    listed = installed["run"]("kubectl", "plugin", "list")
    assert listed.returncode == 0 and listed.stderr == "" and "kubectl_complete" not in listed.stdout
    instructions = installed["run"]("kubectl", "podfix", "completion")
    assert instructions.returncode == 0, instructions.stderr
    assert "already installed" in instructions.stdout


@needs_kubectl
def test_completion_instructions_for_a_fresh_krew_install(installed):
    proc = installed["run"]("kubectl", "podfix", "completion")
    assert proc.returncode == 0, proc.stderr
    target = installed["bin"] / "kubectl_complete-podfix"
    assert f'cat > "{target}"' in proc.stdout
    assert 'exec kubectl-podfix __complete "$@"' in proc.stdout
    # follow the printed steps literally, then complete through kubectl
    script = proc.stdout[proc.stdout.index("cat > "):proc.stdout.index("chmod")].splitlines()
    script = "\n".join(line.strip() for line in script) + f'\nchmod +x "{target}"\n'
    subprocess.run(["/bin/sh", "-c", script], check=True, timeout=10)
    assert os.access(target, os.X_OK)
    out = installed["run"]("kubectl", "__complete", "podfix", "ex")
    assert out.stdout.splitlines()[0] == "explain\tExplain why a pod is not running", out.stdout + out.stderr
