"""Hostile input ends in bounded time and memory: one line (or a correct result), never a hang.

Each case runs the installed CLI and measures it: it must end within 10 s with at most
500 MB resident (the child's own peak, from wait4), exit with the documented code, print one
``error:`` line and no traceback. The inputs: YAML alias bombs and deep nesting in -f files,
-f /dev/zero and oversized files and stdin, an API server that gzips without end, answers
with 100k-deep JSON, sends an endless log, and a kubeconfig whose tokenFile is /dev/zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import yaml
from clitools import BIN, ROOT, cli_env
from hostile import gzip_body, gzip_forever, raw
from objects import pod, waiting

SECONDS = 10
MEGABYTES = 500


@dataclass
class Measured:
    code: int
    out: str
    err: str
    seconds: float
    max_rss_mb: float


def measured(args: list[str], *, env: dict, stdin: bytes | None = None, timeout: float = 30) -> Measured:
    """Run the CLI and measure its wall time and its own peak resident memory."""
    started = time.monotonic()
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), *args], stdin=subprocess.PIPE if stdin else
                            subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    out: dict[str, bytes] = {}

    def drain(name, stream):
        out[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    if stdin:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    return Measured(proc.returncode, out["out"].decode(), out["err"].decode(), time.monotonic() - started,
                    usage.ru_maxrss / 1024)


def bounded_one_line(run: Measured, code: int = 1, *fragments: str) -> str:
    assert run.seconds < SECONDS, f"took {run.seconds:.1f}s: {run.err[-500:]}"
    assert run.max_rss_mb < MEGABYTES, f"used {run.max_rss_mb:.0f} MB"
    assert run.code == code, (run.code, run.err[-2000:])
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err[-2000:]
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def explain_file(path, *, stdin: bytes | None = None, **env):
    return measured(["explain", "-f", str(path)], env=cli_env(None, **env), stdin=stdin)


POD_YAML = yaml.safe_dump(pod("web-1", statuses=[waiting("app", "CrashLoopBackOff", restarts=2)]))


# -- -f files and stdin --------------------------------------------------------------------------------

def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """A Pod whose spec holds 10**9 "lol"s in a few hundred bytes of YAML aliases."""
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: bomb", "spec:", '  a0: &a0 ["lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused(tmp_path):
    f = tmp_path / "bomb.yaml"
    f.write_text(billion_laughs())
    bounded_one_line(explain_file(f), 1, "bomb.yaml: document 1", "alias bomb")


def test_an_alias_inside_its_own_anchor_is_one_line(tmp_path):
    f = tmp_path / "loop.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: &s {containers: *s}\n")
    bounded_one_line(explain_file(f), 1, "loop.yaml: document 1")


def test_small_legitimate_aliases_still_work(tmp_path):
    p = pod("web-1", containers=[{"name": "app", "image": "nginx:1.27"}, {"name": "side", "image": "nginx:1.27"}],
            statuses=[waiting("app", "CrashLoopBackOff", restarts=2)])
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    for c in p["spec"]["containers"]:
        c["env"] = env  # shared: safe_dump writes an anchor and an alias
    text = yaml.safe_dump(p)
    assert "&id001" in text and "*id001" in text
    f = tmp_path / "anchors.yaml"
    f.write_text(text)
    run = measured(["explain", "-f", str(f), "-o", "json"], env=cli_env(None))
    assert run.code == 0, run.err
    assert json.loads(run.out)["pods"][0]["name"] == "web-1"


def test_dev_zero_is_refused_at_once():
    bounded_one_line(explain_file("/dev/zero"), 1, "/dev/zero: not a text file")


def test_a_file_beyond_the_size_cap_is_refused_unread(tmp_path):
    f = tmp_path / "huge.yaml"
    with open(f, "wb") as fh:
        fh.truncate(600 << 20)  # sparse: 600 MB that take no disk
    bounded_one_line(explain_file(f), 1, "huge.yaml: larger than 512 MiB", "PODFIX_MAX_FILE_BYTES")
    small = tmp_path / "pod.yaml"
    small.write_text(POD_YAML)
    bounded_one_line(explain_file(small, PODFIX_MAX_FILE_BYTES="100"), 1, "larger than 100 bytes")


def test_stdin_beyond_the_size_cap_is_refused():
    run = measured(["explain", "-f", "-"], env=cli_env(None, PODFIX_MAX_FILE_BYTES=str(1 << 20)),
                   stdin=b"# padding\n" * 200_000)
    bounded_one_line(run, 1, "stdin: larger than 1 MiB")


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' * 100_000 + "1" + "}" * 100_000,
    '{"kind": "Pod", "metadata": {"name": "x"}, "spec": ' + '{"a": ' * 150 + "1" + "}" * 150 + "}",
    "- " * 100_000 + "x\n",
    "kind: Pod\nmetadata: {name: x}\nspec: {x: " + "[" * 150 + "]" * 150 + "}\n",
], ids=["json-list-100k", "json-map-100k", "json-150", "yaml-block-100k", "yaml-flow-150"])
def test_deep_nesting_is_one_line(tmp_path, text):
    f = tmp_path / "deep.json"
    f.write_text(text)
    line = bounded_one_line(explain_file(f), 1, "deep.json: document 1")
    assert "nested" in line or "nesting" in line


# -- the API server -------------------------------------------------------------------------------------

def crashing():
    return pod("web-1", namespace="shop", phase="Running",
               statuses=[waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container", restarts=7)])


@pytest.fixture
def shop(api, kubeconfig):
    api.add(crashing())
    return lambda *args, **env: measured(["explain", "web-1", "-n", "shop", *args], env=cli_env(kubeconfig, **env))


def test_endless_gzip_answer_is_cut_at_the_response_cap(api, shop):
    api.answer("GET", r"/pods/web-1$", gzip_forever())
    bounded_one_line(shop(), 1, "GET /api/v1/namespaces/shop/pods/web-1", "more than 256 MiB (after gzip decoding)",
                     "PODFIX_MAX_RESPONSE_BYTES")


def test_a_gzip_answer_is_decoded(api, shop):
    api.answer("GET", r"/pods/web-1$", gzip_body(api.get("Pod", "shop", "web-1")))
    run = shop("-o", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["pods"][0]["name"] == "web-1"


def test_an_encoding_podfix_did_not_ask_for_is_one_line(api, shop):
    api.answer("GET", r"/pods/web-1$", raw(b"\x00\x01garbage", headers={"Content-Encoding": "br"}))
    bounded_one_line(shop(), 1, "'br' encoding")


def test_a_corrupt_gzip_answer_is_one_line(api, shop):
    api.answer("GET", r"/pods/web-1$", raw(b"\x1f\x8b\x08\x00garbage-not-gzip", headers={"Content-Encoding": "gzip"}))
    bounded_one_line(shop(), 1, "gzip body that does not decompress")


def test_deep_json_answer_is_one_line(api, shop):
    api.answer("GET", r"/pods/web-1$", raw(b"[" * 100_000 + b"]" * 100_000))
    bounded_one_line(shop(), 1, "GET /api/v1/namespaces/shop/pods/web-1", "nested too deeply")


def endless_log(h, req):
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Connection", "close")
    h.end_headers()
    line = b"Error: this log never ends and ignores limitBytes\n" * 100
    try:
        while True:
            h.wfile.write(line)
    except OSError:
        pass
    h.close_connection = True


def test_log_read_stops_at_64_kib_whatever_the_server_sends(api, shop):
    api.answer("GET", r"/pods/web-1/log$", endless_log)
    run = shop("-o", "json")
    assert run.seconds < SECONDS and run.max_rss_mb < MEGABYTES
    assert run.code == 0, run.err
    assert [r.q("limitBytes") for r in api.requests if r.path.endswith("/log")] == ["65536"]


def test_cluster_log_returns_at_most_limit_bytes(api, kubeconfig):
    from kubectl_podfix.cluster import kubeconfig as kc
    from kubectl_podfix.cluster.api import Cluster

    api.add(crashing())
    api.answer("GET", r"/pods/web-1/log$", endless_log)
    text = Cluster(kc.load(kubeconfig), timeout=10).log("shop", "web-1", "app")
    assert 60_000 < len(text.encode()) <= 64 * 1024


def test_token_file_dev_zero_is_one_line(api, tmp_path):
    cfg = tmp_path / "kc"
    cfg.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": api.url}}],
        "users": [{"name": "u", "user": {"tokenFile": "/dev/zero"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    bounded_one_line(measured(["explain", "x"], env=cli_env(str(cfg))), 1, "tokenFile /dev/zero",
                     "larger than 1 MiB")


def test_a_token_with_a_newline_is_one_line_and_not_printed(api, tmp_path):
    cfg = tmp_path / "kc"
    cfg.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": api.url}}],
        "users": [{"name": "u", "user": {"token": "SENTINEL-tok\r\nX-Injected: 1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    line = bounded_one_line(measured(["explain", "x"], env=cli_env(str(cfg))), 1, "not a single line")
    assert "SENTINEL" not in line
    assert api.requests == []


def test_docker_config_dev_zero_is_one_line(api, tmp_path):
    """--from-docker-config /dev/zero read the device into memory until the machine killed podfix (24 GB)."""
    cfg = api.write_kubeconfig(str(tmp_path / "kc"))
    run = measured(["secret", "regcred", "--docker-server", "reg.example.com", "--from-docker-config", "/dev/zero",
                    "--dry-run=client"], env=cli_env(cfg))
    bounded_one_line(run, 1, "/dev/zero is larger than 16 MiB, which no docker config is")
    assert api.requests == []


def test_password_stdin_without_a_newline_is_one_line(api, tmp_path):
    """--password-stdin read its first line without a bound: `cat /dev/zero |` took all the memory."""
    cfg = api.write_kubeconfig(str(tmp_path / "kc"))
    run = measured(["secret", "regcred", "--docker-server", "reg.example.com", "--docker-username", "u",
                    "--password-stdin", "--dry-run=client"], env=cli_env(cfg), stdin=b"\0" * (3 << 20))
    bounded_one_line(run, 2, "--password-stdin: the first line of stdin is longer than 1 MiB")
