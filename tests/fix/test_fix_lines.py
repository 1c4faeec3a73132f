"""Every `Fix:` line explain prints is a command that works, or refuses only for a documented reason.

The corpus: the rule fixtures (tests/diagnose/rules/failure_texts.yaml and image_pull_texts.yaml, built
into pods by the rule tests' own builders) and the examples/ bundles. Each pod is seeded into the loopback
API server with what owns it (a Deployment and its ReplicaSet, or the case's StatefulSet or Job), its events
and the objects its case holds; `explain POD` is run against it, and every `Fix:` command it prints is run
with `--dry-run=client`. It must exit 0, or exit with a code and message of a reason docs/fixes.md lists
under "Refusals a Fix: line may meet". Nothing may be written either way.

Both commands run in this process (kubectl_podfix.cli.root.run), so the ~90 cases take seconds. Registries
are unreachable on purpose (connection refused), so a fix that must ask one stops there, with exit 1.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import shlex
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from apiserver import FakeAPIServer
from clitools import ROOT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "diagnose" / "rules"))
import cases as failure_cases  # noqa: E402  (tests/diagnose/rules/cases.py)
import test_images as image_cases  # noqa: E402  (tests/diagnose/rules/test_images.py: the builders only)

from kubectl_podfix.cli.root import run  # noqa: E402
from kubectl_podfix.diagnose.model import pin_now  # noqa: E402

DOC = ROOT / "docs" / "fixes.md"
# docs/fixes.md "Refusals a Fix: line may meet": each bullet's bold words -> (exit code, what podfix says).
ALLOWED = {
    "The registry cannot be reached": (1, re.compile(
        r"^error: (--check-registry: cannot list the tags of|--verify:|cannot check that) .*(cannot reach|refused|"
        r"could not|resolve|did not answer|proxy)")),
    "The pod template cannot be patched": (4, re.compile(
        r"^error: nothing was changed: (job/\S+ has an immutable pod template|pod \S+ is a bare pod|\S+ could not be "
        r"read|\S+ cannot be patched by podfix)")),
    "The new limit does not fit on any node": (4, re.compile(r"^error: refusing a memory limit of \S+: the largest node")),
}
PASSWORD = "s3cret-not-used"


def documented_reasons() -> list[str]:
    text = DOC.read_text()
    section = text.split("### Refusals a `Fix:` line may meet", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\* \*\*(.+?)\*\*", section, flags=re.M)


def test_every_allowed_refusal_is_documented():
    assert sorted(documented_reasons()) == sorted(ALLOWED)


# -- the corpus -----------------------------------------------------------------------------------

def _corpus() -> list[tuple[str, str, list[dict], bool]]:
    """(id, PODFIX_NOW, objects: the pod first, then its events and related objects, whether the rules give
    the case a fix when run on the same objects without a cluster)."""
    out = []
    with open(failure_cases.FIXTURES, encoding="utf-8") as fh:
        for case in yaml.safe_load(fh)["cases"]:
            ctx = failure_cases.build_ctx(case)
            out.append((case["id"], failure_cases.NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), _objects(ctx), _fixed(ctx)))
    for i, entry in enumerate(image_cases.ENTRIES):
        ctx, _, _ = image_cases.case_from_entry(entry)
        out.append((f"image-{i}-{entry['code']}", image_cases.NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), _objects(ctx),
                    _fixed(ctx)))
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        items = [i for d in docs for i in (d.get("items") or [d])]
        pod = next(i for i in items if i.get("kind") == "Pod")
        out.append((path.name, "2026-11-20T10:35:00Z", [pod] + [i for i in items if i is not pod],
                    _bundle_fixed(path)))
    return out


def _bundle_fixed(path: Path) -> bool:
    from kubectl_podfix.cluster import bundle
    from kubectl_podfix.diagnose import explain

    outcome = explain.from_snapshot(bundle.read([str(path)]), paths=[str(path)])
    return any(f.fix for r in outcome.results for f in r.findings)


def _fixed(ctx) -> bool:
    from kubectl_podfix.diagnose.rules import diagnose

    return any(f.fix for f in diagnose(ctx))


def _objects(ctx) -> list[dict]:
    snap = ctx.snapshot
    objs = [ctx.pod, *ctx.events, *snap.objects.values()]
    for (ns, name), metrics in snap.metrics.items():
        objs.append({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                     "metadata": {"name": name, "namespace": ns}, **copy.deepcopy(metrics)})
    for (ns, pod, container), text in snap.logs.items():
        objs.append({"kind": "_Log", "key": (ns, pod, container), "text": text})
    return objs


CORPUS = _corpus()
WITH_FIX = [c[:3] for c in CORPUS if c[3]]


def _owned(server: FakeAPIServer, pod: dict) -> dict:
    """The pod, owned as in its case: a ReplicaSet (and a Deployment over it) unless the case names a
    StatefulSet or a Job; a pod with no owner gets a Deployment too. A controller the loopback server
    does not serve stays a reference to nothing (podfix cannot read it)."""
    pod = copy.deepcopy(pod)
    meta = pod["metadata"]
    ns, name = meta.get("namespace") or "default", meta["name"]
    ref = next(iter(meta.get("ownerReferences") or []), None)
    kind = ref["kind"] if ref else "ReplicaSet"
    owner_name = ref["name"] if ref else name.rsplit("-", 1)[0]
    tpl_spec = {k: copy.deepcopy(v) for k, v in pod["spec"].items() if k not in ("nodeName",)}
    labels = {"app": "corpus"}
    if kind == "ReplicaSet":
        deploy, _, hash_ = owner_name.rpartition("-")
        dep_uid, rs_uid = str(uuid.uuid4()), str(uuid.uuid4())
        server.add({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": deploy, "namespace": ns, "uid": dep_uid,
                                 "annotations": {"deployment.kubernetes.io/revision": "1"}},
                    "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": dict(labels)}, "spec": tpl_spec}}},
                   {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": owner_name, "namespace": ns, "uid": rs_uid,
                                 "labels": {**labels, "pod-template-hash": hash_},
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy,
                                                      "uid": dep_uid, "controller": True}]},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {**labels, "pod-template-hash": hash_}},
                             "template": {"metadata": {"labels": {**labels, "pod-template-hash": hash_}},
                                          "spec": tpl_spec}}})
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner_name, "uid": rs_uid, "controller": True}
        meta["labels"] = {**(meta.get("labels") or {}), **labels, "pod-template-hash": hash_}
    elif kind not in ("StatefulSet", "DaemonSet", "Job"):  # another controller (an Argo Workflow): left as is
        return pod
    else:
        uid = str(uuid.uuid4())
        group = "batch/v1" if kind == "Job" else "apps/v1"
        spec = {"template": {"metadata": {"labels": dict(labels)}, "spec": tpl_spec}}
        if kind != "Job":
            spec["selector"] = {"matchLabels": labels}
        server.add({"apiVersion": group, "kind": kind, "metadata": {"name": owner_name, "namespace": ns, "uid": uid},
                    "spec": spec})
        owner = {"apiVersion": group, "kind": kind, "name": owner_name, "uid": uid, "controller": True}
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
    meta["ownerReferences"] = [owner]
    return pod


def seed(server: FakeAPIServer, objects: list[dict]) -> tuple[str, str]:
    pod = objects[0]
    ns = pod["metadata"].get("namespace") or "default"
    if ns != "default":
        server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    server.add(_owned(server, pod))
    for obj in objects[1:]:
        if obj.get("kind") == "_Log":
            server.logs[(*obj["key"], True)] = obj["text"]
            continue
        obj = dict(obj, apiVersion=obj.get("apiVersion") or "v1")
        try:
            server.add(obj)
        except Exception:  # a kind the loopback server does not serve: rules only read it from files
            continue
    return ns, pod["metadata"]["name"]


@contextlib.contextmanager
def captured(stdin: str = ""):
    out, err = io.StringIO(), io.StringIO()
    old_in = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
    finally:
        sys.stdin = old_in


class _Refusing:
    """An opener for the registry client that finds every registry down (connection refused)."""

    def open(self, req, timeout=None):
        import urllib.error

        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


@pytest.fixture
def no_registry(monkeypatch):
    """Every registry is unreachable, at once and without the network (and no ~/.docker/config.json)."""
    from kubectl_podfix.registry import transport

    monkeypatch.setattr(transport.Transport, "_build_opener", lambda self: _Refusing())
    monkeypatch.setenv("HOME", "/nonexistent")
    yield
    pin_now(None)


@pytest.fixture(scope="module")
def server():
    with FakeAPIServer() as started:
        yield started


def reset(server: FakeAPIServer) -> None:
    """Empty the server for the next case (starting one per case costs more than the case itself)."""
    with server._lock:
        server._store.clear()
        server._key_cache.clear()
        server.logs.clear()
    server.clear_requests()
    server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})


def explain_fix_lines(server: FakeAPIServer, objects: list[dict], now: str, monkeypatch,
                      tmp_path) -> tuple[str, list[str]]:
    """Seed the emptied server with ``objects``; (kubeconfig, the Fix: commands explain POD prints)."""
    monkeypatch.setenv("PODFIX_NOW", now)
    reset(server)
    ns, name = seed(server, objects)
    kubeconfig = server.write_kubeconfig(str(tmp_path / "kubeconfig"), namespace=ns)
    with captured() as (out, err):
        code = run(["explain", name, "-n", ns, "--kubeconfig", kubeconfig])
    assert code == 0, err.getvalue()
    lines = [ln.strip() for ln in out.getvalue().splitlines()]
    fixes = [ln.split("Fix: ", 1)[1] for ln in lines if ln.startswith("Fix: ")]
    fixes += [lines[i + 1] for i, ln in enumerate(lines) if ln == "Fix:"]  # a long one, on its own line
    return kubeconfig, fixes


@pytest.mark.parametrize("case_id, now, objects", WITH_FIX, ids=[c[0] for c in WITH_FIX])
def test_fix_lines_run_or_refuse_for_a_documented_reason(case_id, now, objects, server, no_registry, monkeypatch,
                                                         tmp_path):
    kubeconfig, fixes = explain_fix_lines(server, objects, now, monkeypatch, tmp_path)
    assert fixes, "the rules give this pod a fix, explain printed no Fix: line"
    server.clear_requests()
    for command in fixes:
        args = shlex.split(command)
        assert args[:2] == ["kubectl", "podfix"], command
        with captured(stdin=PASSWORD + "\n") as (out, err):
            code = run(args[2:] + ["--dry-run=client", "--kubeconfig", kubeconfig])
        said = err.getvalue().strip().splitlines()
        if code != 0:
            reasons = [r for r, (want, pattern) in ALLOWED.items() if code == want and said
                       and pattern.search(said[-1])]
            assert reasons, f"{command}\nexit {code}: {err.getvalue()}\n{out.getvalue()}"
        assert "Traceback" not in err.getvalue()
        assert PASSWORD not in out.getvalue() + err.getvalue()
    assert [r for r in server.requests if r.method != "GET"] == [], "a dry run wrote"


def test_no_other_case_prints_a_fix_line(server, no_registry, monkeypatch, tmp_path):
    """The cases above are chosen by the rules run without a cluster; live, the others print no Fix: either."""
    printed = []
    for case_id, now, objects, fixed in CORPUS:
        if not fixed:
            printed += [(case_id, f) for f in explain_fix_lines(server, objects, now, monkeypatch, tmp_path)[1]]
    assert printed == []
