"""Secrets never leak, and ``explain --save`` bundles reproduce the live diagnosis.

The leak test runs every command with a sentinel password (as typed, inside Secrets in
the cluster and in -f files) and searches stdout, stderr, every file written under the
test's directory (HOME and TMPDIR point there), and the argv of every subprocess podfix
starts: recorded by a wrapper that hooks subprocess/os.exec*/posix_spawn in the podfix
process, and by a stand-in ``kubectl`` that copies its own /proc/self/cmdline.
Needles include the base64 forms (single and double encoded) of the sentinel.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml
from clitools import BIN, ROOT, Run
from objects import event, pod, running, waiting

SENTINEL = "PODFIX-SENTINEL-hunter2-9f8e7d6c5b4a3210"
SENTINEL2 = "PODFIX-SENTINEL-second-0a1b2c3d4e5f6789"
SENTINEL3 = "PODFIX-SENTINEL-wrongpw-feedfacecafe0042"
IMAGE = "registry.example.com/team/api:1.4"
AUTH = (f'Failed to pull image "{IMAGE}": failed to pull and unpack image "{IMAGE}": failed to resolve reference '
        f'"{IMAGE}": pull access denied, repository does not exist or may require authorization: server message: '
        'insufficient_scope: authorization failed')
CRASH_LOG = "starting api v2\nError: cannot connect to database at db:5432: connection refused\n"

TRACER = r'''
import json, os, subprocess, sys
LOG = os.environ["PODFIX_ARGV_LOG"]

def record(kind, args):
    if isinstance(args, (str, bytes)):
        args = [args]
    with open(LOG, "a") as fh:
        fh.write(json.dumps([kind] + [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args]) + "\n")

_init = subprocess.Popen.__init__
def _popen(self, args, *a, **kw):
    record("popen", args)
    return _init(self, args, *a, **kw)
subprocess.Popen.__init__ = _popen

def _wrap(name):
    real = getattr(os, name, None)
    if real is None:
        return
    def hooked(*args, **kw):
        record(name, [a for a in args if isinstance(a, (str, bytes))] +
               [x for a in args if isinstance(a, (list, tuple)) for x in a])
        return real(*args, **kw)
    setattr(os, name, hooked)

for _name in ("execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv", "spawnve",
              "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "system", "popen"):
    _wrap(_name)

from kubectl_podfix.cli import main
sys.argv[0] = "kubectl-podfix"
main(sys.argv[1:])
'''

FAKE_KUBECTL = """#!/bin/sh
cat /proc/$$/cmdline >> "$PODFIX_KUBECTL_LOG"
printf '\\n' >> "$PODFIX_KUBECTL_LOG"
exit 1
"""


def b64_fragments(data: bytes) -> set[str]:
    """Substrings of base64(anything containing ``data``), for the three alignments."""
    out = set()
    for offset in range(3):
        enc = base64.b64encode(b"\0" * offset + data).decode()
        first = -(-offset // 3) * 3  # the first byte group made only of ``data``
        last = (offset + len(data)) // 3 * 3
        frag = enc[first // 3 * 4: last // 3 * 4]
        if len(frag) >= 12:
            out.add(frag)
    return out


def needles(secret: str) -> set[str]:
    raw = secret.encode()
    found = {secret}
    single = b64_fragments(raw) | b64_fragments(b"u:" + raw)
    found |= single
    for frag in single:
        found |= b64_fragments(frag.encode())
    return found


class Sandbox:
    """Runs podfix with HOME/TMPDIR in a sandbox dir, recording outputs and subprocess argv."""

    def __init__(self, tmp: Path, kubeconfig: str):
        self.root = tmp / "sandbox"
        self.inputs = tmp / "inputs"  # what the test hands podfix (may hold the sentinel): not searched
        for d in (self.root, self.inputs, self.root / "home", self.root / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        self.tracer = self.inputs / "traced_podfix.py"
        self.tracer.write_text(TRACER)
        kubectl = self.inputs / "kubectl"
        kubectl.write_text(FAKE_KUBECTL)
        kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
        self.env = {"PATH": f"{self.inputs}{os.pathsep}{BIN}{os.pathsep}/usr/bin:/bin", "HOME": str(self.root / "home"),
                    "TMPDIR": str(self.root / "tmp"), "KUBECONFIG": kubeconfig,
                    "PODFIX_ARGV_LOG": str(self.root / "argv.log"),
                    "PODFIX_KUBECTL_LOG": str(self.root / "kubectl-cmdlines.log"),
                    "KUBECTL_PATH": str(kubectl), "PYTHONPATH": str(ROOT)}
        self.runs: list[tuple[list[str], Run]] = []

    def run(self, *args: str, stdin: str | None = None) -> Run:
        import subprocess

        proc = subprocess.run([sys.executable, str(self.tracer), *args], input=stdin, capture_output=True, text=True,
                              timeout=90, env=self.env, cwd=self.root)
        result = Run(proc.returncode, proc.stdout, proc.stderr)
        assert "Traceback" not in result.err, (args, result.err)
        self.runs.append((list(args), result))
        return result

    def haystacks(self):
        for args, run in self.runs:
            yield f"stdout of {args}", run.out
            yield f"stderr of {args}", run.err
        for path in self.root.rglob("*"):
            if path.is_file():
                yield str(path), path.read_bytes().decode("utf-8", "replace").replace("\0", " ")

    def assert_no_leak(self, *secrets: str) -> None:
        for where, text in self.haystacks():
            for secret in secrets:
                for needle in needles(secret):
                    assert needle not in text, f"{secret!r} (as {needle!r}) leaked into {where}"


def dockerconfig(password: str, server: str = "registry.example.com") -> str:
    auth = base64.b64encode(f"u:{password}".encode()).decode()
    doc = {"auths": {server: {"username": "u", "password": password, "auth": auth}}}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def raw_secret(password: str) -> dict:
    """A Secret as `kubectl get secret -o yaml` shows it, last-applied annotation and all."""
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred", "namespace": "shop"},
               "type": "kubernetes.io/dockerconfigjson",
               "stringData": {".dockerconfigjson": base64.b64decode(dockerconfig(password)).decode()}}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "regcred", "namespace": "shop", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:.dockerconfigjson": {}}}}]},
            "data": {".dockerconfigjson": dockerconfig(password), "password": base64.b64encode(password.encode()).decode()},
            "stringData": {"token": password}}


def pull_failing_pod(name="api-7d9f-x1", **kw):
    p = pod(name, namespace="shop", pull_secrets=["regcred"], owner=("ReplicaSet", "api-7d9f"),
            labels={"pod-template-hash": "7d9f", "app": "api"}, containers=[{"name": "api", "image": IMAGE}],
            statuses=[waiting("api", "ImagePullBackOff", f'Back-off pulling image "{IMAGE}"', image=IMAGE)], **kw)
    return p, event(p, "Failed", AUTH, container="api", count=3)


def crashing_pod(name="worker-5c8d-k2"):
    p = pod(name, namespace="shop", phase="Running", owner=("ReplicaSet", "worker-5c8d"),
            labels={"pod-template-hash": "5c8d"},
            statuses=[dict(waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container app",
                                   restarts=6),
                           lastState={"terminated": {"exitCode": 1, "reason": "Error",
                                                     "startedAt": "2026-11-20T09:00:00Z",
                                                     "finishedAt": "2026-11-20T09:00:02Z"}})])
    return p, event(p, "BackOff", f"Back-off restarting failed container app in pod {name}", container="app", count=30)


def has_command(name: str) -> bool:
    import click

    from kubectl_podfix.cli.root import cli
    return cli.get_command(click.Context(cli), name) is not None


# -- leaks -------------------------------------------------------------------------------------------

def test_no_command_leaks_a_credential(api, tmp_path):
    box = Sandbox(tmp_path, api.write_kubeconfig(str(tmp_path / "kubeconfig"), namespace="shop"))
    p, ev = pull_failing_pod()
    api.add(p, ev, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
             "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {}}})
    secrets = [SENTINEL]

    if has_command("secret"):
        secrets += [SENTINEL2, SENTINEL3]
        base = ["secret", "regcred", "--docker-server", "registry.example.com", "--docker-username", "u",
                "--password-stdin", "-n", "shop"]
        run = box.run(*base, "--for", p["metadata"]["name"], "--yes", "--debug", stdin=SENTINEL + "\n")
        assert run.code == 0, run.err
        assert api.get("Secret", "shop", "regcred") is not None  # the value did reach the cluster
        box.run(*base, "--yes", stdin=SENTINEL2 + "\n")  # exists with other content, no --overwrite
        box.run(*base, "--overwrite", "--dry-run", "client", "--debug", stdin=SENTINEL2 + "\n")
        box.run(*base, "--overwrite", "--dry-run", "server", "--debug", stdin=SENTINEL2 + "\n")
        box.run(*base, "--overwrite", "--yes", "-o", "json", stdin=SENTINEL2 + "\n")  # bad flag after a password
        box.run(*base, "--overwrite", "--yes", "--debug", stdin=SENTINEL2 + "\n")
        # --verify against a registry that rejects the password
        from registry_servers import FakeTokenRegistry
        with FakeTokenRegistry(user="u", password=SENTINEL2) as reg:
            box.run("secret", "regcred", "--docker-server", reg.host, "--docker-username", "u", "--password-stdin",
                    "-n", "shop", "--verify", "--insecure-registry", "--yes", "--debug", stdin=SENTINEL3 + "\n")
            box.run("secret", "regcred", "--docker-server", reg.host, "--docker-username", "u", "--password-stdin",
                    "-n", "shop", "--verify", "--insecure-registry", "--overwrite", "--dry-run", "client",
                    stdin=SENTINEL2 + "\n")
        if has_command("fix"):
            box.run("fix", "pull-secret", p["metadata"]["name"], "--name", "regcred", "--docker-username", "u",
                    "--password-stdin", "--overwrite", "--no-verify", "--dry-run", "client", "--debug",
                    stdin=SENTINEL2 + "\n")
            box.run("fix", "pull-secret", p["metadata"]["name"], "--name", "regcred", "--docker-username", "u",
                    "--password-stdin", "--overwrite", "--no-verify", "--dry-run", "server", stdin=SENTINEL + "\n")
        # a denied write: refused, and the refusal does not print the planned Secret
        api.deny("update", "secrets", "shop")
        api.deny("patch", "secrets", "shop")
        box.run(*base, "--overwrite", "--yes", "--debug", stdin=SENTINEL + "\n")
    else:
        api.add(raw_secret(SENTINEL))

    # the cluster holds the Secret with its values: every way of explaining must drop them
    api.add(*crashing_pod())
    name = p["metadata"]["name"]
    for output in ("text", "wide", "json", "yaml"):
        box.run("explain", name, "-o", output)
        box.run("explain", "-o", output, "--debug")
    box.run("explain", name, "--debug", "--save", str(box.root / "saved.yaml"))
    box.run("explain", "-A", "-o", "yaml", "--debug", "--save", str(box.root / "saved-all.yaml"))
    box.run("explain", "deploy/api", "-o", "json", "--save", str(box.root / "saved-deploy.yaml"))
    api.deny("get", "secrets", "shop")
    box.run("explain", name, "--debug")

    # saved files from users: raw Secrets with data, stringData and the last-applied annotation
    raw = box.inputs / "from-kubectl.yaml"
    raw.write_text(yaml.safe_dump_all([p, ev, raw_secret(SENTINEL)]))
    for output in ("text", "json", "yaml"):
        box.run("explain", "-f", str(raw), "-o", output, "--debug")
    box.run("explain", "-f", str(raw), "--save", str(box.root / "resaved.yaml"))
    box.run("explain", "-f", "-", "-o", "json", stdin=json.dumps({"kind": "List", "items": [p, raw_secret(SENTINEL)]}))
    broken = box.inputs / "broken.yaml"
    broken.write_text(yaml.safe_dump(raw_secret(SENTINEL)) + "---\nkind: Pod\nmetadata: {name: [\n")
    assert box.run("explain", "-f", str(broken)).code == 1
    weird = box.inputs / "weird.yaml"
    weird.write_text(yaml.safe_dump(p) + "---\n" + f"kind: Secret\nmetadata: {{name: x, namespace: shop}}\ndata: {SENTINEL}\n---\n"
                     f"kind: Secret\nmetadata: {{name: y}}\ndata: [{SENTINEL}]\nstringData: {SENTINEL}\n")
    box.run("explain", "-f", str(weird), "-o", "yaml")

    if has_command("node-check"):
        box.run("node-check", name, "--show-script")
        box.run("node-check", name, "-o", "json")  # no terminal, no --yes: refused before creating anything

    # completion starts kubectl: its argv must not carry what the user typed for the password
    box.run("__complete", "secret", "regcred", "--docker-password", SENTINEL, "--for", "")
    box.run("__complete", "explain", "-n", "")

    for (args, run) in box.runs:
        assert "internal error" not in run.err, (args, run.err)
    assert (box.root / "saved.yaml").exists() and (box.root / "resaved.yaml").exists()
    assert (box.root / "saved-deploy.yaml").exists()
    # the argv checks saw subprocesses (not vacuous): completion ran the stand-in kubectl
    assert "kubectl" in (box.root / "kubectl-cmdlines.log").read_text()
    assert "kubectl" in (box.root / "argv.log").read_text()
    box.assert_no_leak(*secrets)


def test_needles_catch_encoded_forms():
    cfg = base64.b64decode(dockerconfig(SENTINEL)).decode()
    assert any(n in dockerconfig(SENTINEL) for n in needles(SENTINEL) if n != SENTINEL)
    assert any(n in cfg for n in needles(SENTINEL) if n != SENTINEL)


# -- --save round trips -------------------------------------------------------------------------------

def _round_trip(api, podfix, tmp_path, target: str, *extra: str) -> dict:
    saved = tmp_path / "bundle.yaml"
    live = podfix("explain", target, "-n", "shop", "-o", "json", "--save", str(saved), *extra)
    assert live.code == 0, live.err
    offline = podfix("explain", "-f", str(saved), "-o", "json")
    assert offline.code == 0, offline.err
    assert offline.json == live.json
    text = podfix("explain", "-f", str(saved))
    assert text.out == podfix("explain", target, "-n", "shop").out
    return live.json


def test_save_reproduces_an_image_pull_diagnosis_with_a_pull_secret(api, podfix, tmp_path):
    p, ev = pull_failing_pod()
    api.add(p, ev, raw_secret(SENTINEL))
    report = _round_trip(api, podfix, tmp_path, p["metadata"]["name"])
    assert report["pods"][0]["findings"], report
    saved = (tmp_path / "bundle.yaml").read_text()
    for needle in needles(SENTINEL):
        assert needle not in saved
    kinds = [o.get("kind") for o in yaml.safe_load(saved)["items"]]
    assert kinds[0] == "PodfixBundle" and "Pod" in kinds and "Event" in kinds and "Secret" in kinds
    secret = next(o for o in yaml.safe_load(saved)["items"] if o.get("kind") == "Secret")
    assert set(secret["data"]) == {".dockerconfigjson", "password", "token"}
    assert all(v == "" for v in secret["data"].values()) and "stringData" not in secret
    assert "kubectl.kubernetes.io/last-applied-configuration" not in secret["metadata"].get("annotations", {})


def test_save_reproduces_a_crash_loop_with_its_logs(api, podfix, tmp_path):
    p, ev = crashing_pod()
    api.add(p, ev)
    api.logs[("shop", p["metadata"]["name"], "app", True)] = CRASH_LOG
    report = _round_trip(api, podfix, tmp_path, p["metadata"]["name"], "--save-logs")
    assert "cannot connect to database" in json.dumps(report)
    items = yaml.safe_load((tmp_path / "bundle.yaml").read_text())["items"]
    logs = [o for o in items if o.get("kind") == "PodfixLog"]
    assert [(o["pod"], o["container"]) for o in logs] == [(p["metadata"]["name"], "app")]


def test_save_reproduces_a_workload_scope(api, podfix, tmp_path):
    a, ev_a = pull_failing_pod("api-7d9f-x1")
    b, ev_b = pull_failing_pod("api-7d9f-x2")
    ok = pod("api-7d9f-x3", namespace="shop", phase="Running", owner=("ReplicaSet", "api-7d9f"),
             labels={"pod-template-hash": "7d9f", "app": "api"}, containers=[{"name": "api", "image": IMAGE}],
             statuses=[running("api", image=IMAGE)])
    api.add(a, ev_a, b, ev_b, ok, raw_secret(SENTINEL),
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
             "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {}}})
    saved = tmp_path / "bundle.yaml"
    live = podfix("explain", "deploy/api", "-n", "shop", "-o", "json", "--save", str(saved))
    assert live.code == 0, live.err
    offline = podfix("explain", "deploy/api", "-f", str(saved), "-o", "json")
    assert offline.code == 0, offline.err
    assert [r["name"] for r in offline.json["pods"]] == [r["name"] for r in live.json["pods"]]
    assert [r["findings"] for r in offline.json["pods"]] == [r["findings"] for r in live.json["pods"]]


def test_save_to_an_unwritable_path_is_one_line(api, podfix, tmp_path):
    p, ev = crashing_pod()
    api.add(p, ev)
    run = podfix("explain", p["metadata"]["name"], "-n", "shop", "--save", str(tmp_path / "no" / "dir" / "x.yaml"))
    assert run.code == 1 and run.err.startswith("error: cannot write") and "Traceback" not in run.err


@pytest.mark.parametrize("flag", ["--save"])
def test_save_with_files_round_trips_too(api, podfix, tmp_path, flag):
    p, ev = crashing_pod()
    src = tmp_path / "src.yaml"
    src.write_text(yaml.safe_dump_all([p, ev, raw_secret(SENTINEL)]))
    first = podfix("explain", "-f", str(src), "-o", "json", flag, str(tmp_path / "again.yaml"))
    second = podfix("explain", "-f", str(tmp_path / "again.yaml"), "-o", "json")
    assert first.code == second.code == 0, first.err + second.err
    assert first.json == second.json
    assert SENTINEL not in (tmp_path / "again.yaml").read_text()


# -- --save bundles: private, never through a link, secret-looking env masked, logs only on request ------

def _env_pod(name="api-env-1"):
    p, ev = crashing_pod(name)
    p["spec"]["containers"][0]["env"] = [
        {"name": "DB_PASSWORD", "value": SENTINEL}, {"name": "apiKey", "value": SENTINEL2},
        {"name": "GITHUB_TOKEN", "value": SENTINEL3}, {"name": "aws-secret-access-key", "value": SENTINEL},
        {"name": "DATABASE_URL", "value": f"postgres://app:{SENTINEL2}@db.shop:5432/app"},
        {"name": "KEYCLOAK_URL", "value": "https://sso.example.com"}, {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "SECRET_REF", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
    return p, ev


def test_save_writes_mode_0600_and_masks_secret_looking_env(api, podfix, tmp_path):
    p, ev = _env_pod()
    api.add(p, ev)
    api.logs[("shop", p["metadata"]["name"], "app", True)] = f"connecting with {SENTINEL3}\n"
    saved = tmp_path / "bundle.yaml"
    saved.write_text("old content")
    saved.chmod(0o644)
    run = podfix("explain", p["metadata"]["name"], "-n", "shop", "--save", str(saved))
    assert run.code == 0, run.err
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text()
    for secret in (SENTINEL, SENTINEL2, SENTINEL3):
        assert all(n not in text for n in needles(secret)), secret
    doc = yaml.safe_load(text)
    env = {e["name"]: e.get("value") for e in doc["items"][1]["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == env["apiKey"] == env["GITHUB_TOKEN"] == env["aws-secret-access-key"] == "***"
    assert env["DATABASE_URL"] == "postgres://***@db.shop:5432/app"
    assert env["KEYCLOAK_URL"] == "https://sso.example.com" and env["LOG_LEVEL"] == "debug"
    header = doc["items"][0]
    assert header["kind"] == "PodfixBundle" and "logs" in header["missing"]
    assert header["masked"] == [f"pod/shop/{p['metadata']['name']} container app env {n}" for n in
                                ("DB_PASSWORD", "apiKey", "GITHUB_TOKEN", "aws-secret-access-key", "DATABASE_URL")]
    assert text.startswith("# Saved by kubectl podfix") and "were masked" in text and "--save-logs" in text
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".podfix-save-")]  # no temp file left
    # the log lines only with --save-logs
    assert podfix("explain", p["metadata"]["name"], "-n", "shop", "--save", str(saved), "--save-logs").code == 0
    assert any(o.get("kind") == "PodfixLog" for o in yaml.safe_load(saved.read_text())["items"])
    assert podfix("explain", p["metadata"]["name"], "-n", "shop", "--save-logs").code == 2


def test_save_refuses_to_follow_a_symlink(api, podfix, tmp_path):
    p, ev = crashing_pod()
    api.add(p, ev)
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    link = tmp_path / "bundle.yaml"
    link.symlink_to(target)
    run = podfix("explain", p["metadata"]["name"], "-n", "shop", "--save", str(link))
    assert run.code == 1
    assert run.err.strip().splitlines() == [f"error: refusing to write {link}: it is a symbolic link, which --save "
                                            "does not follow; remove it or choose another path"]
    assert target.read_text() == "precious\n" and link.is_symlink()


@pytest.mark.parametrize("name, secret", [
    ("DB_PASSWORD", True), ("db_passwd", True), ("apiKey", True), ("API_KEY", True), ("APIKEY", True),
    ("client-secret", True), ("GITHUB_TOKEN", True), ("AWS_CREDENTIALS", True), ("SMTP_PASS", True),
    ("KEYCLOAK_URL", False), ("MONKEY", False), ("PASSENGER_COUNT", False), ("TOKENIZER_MODEL", False),
    ("HOME", False), ("PATH", False),
])
def test_secret_env_names_are_whole_words(name, secret):
    from kubectl_podfix.cluster.bundle import secret_env_name

    assert secret_env_name(name) is secret


def test_save_masks_the_last_applied_configuration_and_url_credentials_anywhere(api, podfix, tmp_path):
    """kubectl apply leaves the whole spec, env values included, in the last-applied-configuration
    annotation; args, other annotations and event messages may carry a URL with its password. --save
    masked only the env values themselves: the bundle, meant to be shared, kept every copy."""
    import json as _json

    p, ev = _env_pod("applied-1")
    container = p["spec"]["containers"][0]
    container["args"] = [f"--db=postgres://app:{SENTINEL3}@db.shop:5432/app"]
    p["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": _json.dumps({"spec": {"containers": [container]}}),
        "dashboards": f"https://admin:{SENTINEL2}@grafana.shop"}
    ev["message"] = f"pulling from https://robot:{SENTINEL}@registry.example.com/v2/: back-off"
    api.add(p, ev)
    saved = tmp_path / "bundle.yaml"
    run = podfix("explain", "applied-1", "-n", "shop", "--save", str(saved))
    assert run.code == 0, run.err
    text = saved.read_text()
    for secret in (SENTINEL, SENTINEL2, SENTINEL3):
        assert all(n not in text for n in needles(secret)), secret
    doc = yaml.safe_load(text)
    saved_pod = doc["items"][1]
    applied = _json.loads(saved_pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    env = {e["name"]: e.get("value") for e in applied["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == "***" and env["LOG_LEVEL"] == "debug"  # masked the same way, the rest kept
    assert saved_pod["spec"]["containers"][0]["args"] == ["--db=postgres://***@db.shop:5432/app"]
    assert saved_pod["metadata"]["annotations"]["dashboards"] == "https://***@grafana.shop"
    masked = doc["items"][0]["masked"]
    assert "pod/shop/applied-1 annotation kubectl.kubernetes.io/last-applied-configuration" in masked
    assert "pod/shop/applied-1 spec.containers[0].args[0]" in masked
    assert any(m.startswith("event/shop/") and m.endswith(" message") for m in masked)
    assert podfix("explain", "-f", str(saved)).code == 0  # the bundle still reads back
