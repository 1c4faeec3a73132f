"""Container family rules, table-driven from failure_texts.yaml (beside this file; see cases.py)."""

from __future__ import annotations

import copy

import pytest
from cases import NOW, build_ctx, check_case, load_cases, ts  # noqa: F401

from kubectl_podfix.diagnose.rules import diagnose
from kubectl_podfix.diagnose.rules.containers import (
    exit_signal,
    explain_exit,
    find_command_not_found,
    needs_logs,
    parse_quantity,
    quote_log,
)

CASES = load_cases("containers")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_container_case(case):
    check_case(case)


def test_every_container_code_has_real_texts():
    from kubectl_podfix.diagnose.rules import containers
    wanted = set(containers.CODES)
    covered = {c["expect"].get("code") for c in CASES}
    assert wanted <= covered, wanted - covered


def test_oom_fix_pointer():
    case = next(c for c in CASES if c["id"] == "oom-crashloop-describe")
    f = diagnose(build_ctx(case))[0]
    assert f.fix is not None and f.fix.id == "memory"
    assert f.fix.command == "kubectl podfix fix memory web-7d9f8b6c5-x2x4q -n default"


def test_crash_loop_has_no_fix_pointer():
    case = next(c for c in CASES if c["id"] == "crash-exit-1-python")
    assert diagnose(build_ctx(case))[0].fix is None


# -- helpers --------------------------------------------------------------------------

@pytest.mark.parametrize("code,signal", [(137, "SIGKILL"), (139, "SIGSEGV"), (143, "SIGTERM"), (134, "SIGABRT"),
                                         (130, "SIGINT"), (1, None), (0, None), (255, None), (127, None)])
def test_exit_signal(code, signal):
    assert exit_signal({"exitCode": code}) == signal


def test_explain_exit_words():
    assert "not be executed" in explain_exit(126)
    assert "could not find the command" in explain_exit(127)
    assert "segmentation fault" in explain_exit(139)
    assert "SIGTERM" in explain_exit(143)
    assert "255" in explain_exit(255)


@pytest.mark.parametrize("text,quantity", [("300Mi", 300 * 2**20), ("4Gi", 4 * 2**30), ("250m", 0.25), ("2", 2.0),
                                           ("1e3", 1000.0), ("48458972Ki", 48458972 * 1024), ("bogus", None)])
def test_parse_quantity(text, quantity):
    assert parse_quantity(text) == quantity


@pytest.mark.parametrize("text,cmd", [
    ('exec: "foo": executable file not found in $PATH: unknown', "foo"),
    ('starting container process caused "exec: \\"python3\\": executable file not found in $PATH": unknown', "python3"),
    ('exec: "/app": stat /app: no such file or directory: unknown', "/app"),
    ("executable file `foo` not found in $PATH: No such file or directory", "foo"),
    ("/bin/sh: 1: celery: not found", "celery"),
    ("sh: line 1: gunicorn: command not found", "gunicorn"),
    ("error mounting \"/var/lib/kubelet/pods/x\" to rootfs: no such file or directory", None),
])
def test_find_command_not_found(text, cmd):
    assert find_command_not_found(text) == cmd


def test_quote_log_picks_errors_and_tail():
    log = "\n".join([f"info line {i}" for i in range(30)] + ["ERROR cannot connect to db", "info shutting down"])
    out = quote_log(log)
    assert "ERROR cannot connect to db" in out and out[-1] == "info shutting down"
    assert len(out) <= 8


# -- needs_logs ---------------------------------------------------------------------------

def _status(name, **kw):
    st = {"name": name, "restartCount": kw.get("restarts", 0), "ready": kw.get("ready", False), "state": {},
          "lastState": {}}
    if "waiting" in kw:
        st["state"] = {"waiting": {"reason": kw["waiting"]}}
    if "running" in kw:
        st["state"] = {"running": {"startedAt": ts(kw["running"])}}
    if "term" in kw:
        st["state"] = {"terminated": {"exitCode": kw["term"][0], "reason": kw["term"][1]}}
    if "last" in kw:
        st["lastState"] = {"terminated": {"exitCode": kw["last"][0], "reason": kw["last"][1]}}
    return st


def test_needs_logs_selects_only_crashing_containers():
    pod = {"status": {"phase": "Running", "containerStatuses": [
        _status("crashing", waiting="CrashLoopBackOff", restarts=4, last=(1, "Error")),
        _status("oom", waiting="CrashLoopBackOff", restarts=4, last=(137, "OOMKilled")),
        _status("healthy", running=5000, ready=True),
        _status("recovered", running=5000, ready=True, restarts=2, last=(1, "Error")),
        _status("flapping", running=20, ready=False, restarts=2, last=(2, "Error")),
        _status("done-ok", term=(0, "Completed")),
        _status("pulling", waiting="ImagePullBackOff"),
    ], "initContainerStatuses": [_status("init-fail", term=(1, "Error"))]}}
    assert needs_logs(pod) == ["init-fail", "crashing", "flapping"]


def test_needs_logs_skips_succeeded_and_evicted_pods():
    st = [_status("a", term=(137, "Error"))]
    assert needs_logs({"status": {"phase": "Succeeded", "containerStatuses": st}}) == []
    assert needs_logs({"status": {"phase": "Failed", "reason": "Evicted", "containerStatuses": st}}) == []
    assert needs_logs({"status": {"phase": "Failed", "containerStatuses": st}}) == ["a"]


def test_needs_logs_with_now_skips_old_restarts():
    pod = {"status": {"containerStatuses": [_status("slow", running=3600, ready=False, restarts=1,
                                                    last=(1, "Error"))]}}
    assert needs_logs(pod) == ["slow"]
    assert needs_logs(pod, now=NOW) == []


def test_needs_logs_is_bounded():
    pod = {"status": {"containerStatuses": [_status(f"c{i}", waiting="CrashLoopBackOff", restarts=3,
                                                    last=(1, "Error")) for i in range(20)]}}
    assert len(needs_logs(pod)) <= 6


def test_no_doubled_parentheses_around_the_default_command():
    case = next(c for c in CASES if c["id"] == "crash-exit-1-python")
    case = copy.deepcopy(case)
    for c in case["containers"]:
        (c.get("spec") or {}).pop("command", None)
        (c.get("spec") or {}).pop("args", None)
    f = diagnose(build_ctx(case))[0]
    assert "(the image's ENTRYPOINT/CMD)" in f.explanation
    assert "((" not in f.explanation and "))" not in f.explanation


def test_config_error_suggests_creating_the_keys_the_container_reads():
    case = next(c for c in CASES if c["id"] == "cfg-missing-secret")
    f = diagnose(build_ctx(case))[0]
    assert ("kubectl create secret generic secretpostgresql --from-literal=postgresql-password=VALUE -n default"
            in f.suggestions), f.suggestions
