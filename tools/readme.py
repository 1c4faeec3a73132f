#!/usr/bin/env python3
"""Regenerate the example outputs quoted in README.md from the examples/ bundles.

Every ```console block of README.md is a series of ``$ command`` lines, each followed by its output.
The output of a command listed in EXAMPLES is replaced by what that command prints now, run the way a
reader would (piped, so wrapped at podfix's stable 100 columns) with PODFIX_NOW pinned, so that ages
("x4 over 1d") do not drift. Other commands (captured against a live cluster) are left as written.

    python tools/readme.py            rewrite README.md
    python tools/readme.py --check    exit 1 and show a diff when README.md is out of date (a test runs this)

``make readme`` runs the first. Commands run the console script installed next to this Python
(``.venv/bin/kubectl-podfix``). The live example (``explain POD --fix``) runs against the test suite's
loopback API server (tests/apiserver/) holding the objects of examples/crashloop-oom.yaml and their
StatefulSet.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOW = "2026-11-20T10:35:00Z"  # after the last event of every example
PODFIX = Path(sys.executable).parent / "kubectl-podfix"
LIVE = "examples/crashloop-oom.yaml"
# Commands whose output README.md quotes, generated here. "live": run against the loopback API server.
EXAMPLES = {
    "kubectl podfix explain -f examples/imagepull-notfound.yaml": "file",
    "kubectl podfix explain -f examples/ -o wide | head -9": "file",
    "kubectl podfix explain -f examples/deployment-quota.yaml deploy/checkout": "file",
    "kubectl podfix explain orders-db-0 -n shop --fix | tail -3": "live",
}
BLOCK = re.compile(r"(```console\n)(.*?)(```)", re.S)


def env(kubeconfig: str | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if not k.startswith(("KUBE", "PODFIX")) and k not in ("COLUMNS", "NO_COLOR")}
    out["PODFIX_NOW"] = NOW
    if kubeconfig:
        out["KUBECONFIG"] = kubeconfig
    return out


def run(command: str, kubeconfig: str | None = None) -> str:
    """The command's output (stdout and stderr); a trailing ``| head -N`` / ``| tail -N`` keeps N lines."""
    command, _, pipe = command.partition(" | ")
    args = shlex.split(command)
    assert args[:2] == ["kubectl", "podfix"], command
    proc = subprocess.run([str(PODFIX), *args[2:]], cwd=ROOT, env=env(kubeconfig), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    lines = proc.stdout.splitlines(keepends=True)
    if pipe:
        tool, count = shlex.split(pipe)[0], int(shlex.split(pipe)[1].lstrip("-"))
        lines = lines[:count] if tool == "head" else lines[-count:]
    return "".join(lines)


def live_server():
    """The loopback API server with examples/crashloop-oom.yaml's objects and the StatefulSet that owns the pod."""
    import yaml

    sys.path.insert(0, str(ROOT / "tests"))
    from apiserver import FakeAPIServer

    items = yaml.safe_load((ROOT / LIVE).read_text())["items"]
    pod = next(i for i in items if i["kind"] == "Pod")
    ref = pod["metadata"]["ownerReferences"][0]
    server = FakeAPIServer().start()
    server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
               {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": ref["name"], "namespace": "shop", "uid": ref["uid"]},
                "spec": {"replicas": 1, "serviceName": ref["name"], "selector": {"matchLabels": {"app": ref["name"]}},
                         "template": {"metadata": {"labels": {"app": ref["name"]}},
                                      "spec": {"containers": pod["spec"]["containers"]}}}},
               *items)
    return server


def generate(text: str) -> str:
    server = None
    kubeconfig = None
    try:
        def render(match: re.Match) -> str:
            nonlocal server, kubeconfig
            parts = re.split(r"(?m)^(\$ .*\n)", match.group(2))
            out = [parts[0]]
            for prompt, body in zip(parts[1::2], parts[2::2]):
                command = prompt[2:].strip()
                kind = EXAMPLES.get(command)
                if kind == "live" and server is None:
                    server = live_server()
                    kubeconfig = server.write_kubeconfig(os.path.join(tempfile.mkdtemp(), "config"),
                                                         namespace="shop")
                out += [prompt, run(command, kubeconfig if kind == "live" else None) + ("\n" if body.endswith(
                    "\n\n") else "") if kind else body]
            return match.group(1) + "".join(out) + match.group(3)

        return BLOCK.sub(render, text)
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when README.md is out of date")
    args = parser.parse_args(argv)
    text = README.read_text()
    new = generate(text)
    missing = [c for c in EXAMPLES if f"$ {c}\n" not in text]
    if missing:
        print(f"README.md quotes none of: {', '.join(missing)}", file=sys.stderr)
        return 1
    if new == text:
        return 0
    if args.check:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                                   "README.md", "README.md (regenerated)"))
        print("README.md's examples are out of date: run make readme", file=sys.stderr)
        return 1
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
