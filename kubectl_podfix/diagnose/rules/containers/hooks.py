"""container.hook-failed: a postStart or preStop lifecycle hook failed (or a postStart hook never returns).

What the kubelet records (pkg/kubelet/lifecycle/handlers.go, kuberuntime_container.go):

* ``FailedPostStartHook`` / ``FailedPreStopHook`` events: ``Exec lifecycle hook ([cmd]) for Container "c" in Pod
  "p_ns(uid)" failed - error: command 'cmd' exited with 126: <output>, message: "<output, %q-quoted>"``, and
  ``Http lifecycle hook (path) ... failed - error: Get ...: <error>, message: ""`` (``HTTP lifecycle hook`` on
  newer kubelets). Current kubelets withhold the error ("PostStartHook failed" / "PreStopHook failed", so that
  secrets do not leak): only the kubelet's log has it.
* After a failed postStart the kubelet kills the container (a ``Killing`` event whose message is
  ``FailedPostStartHook``): its last state then shows 137, 143 or even Completed/0, none of which is the cause.
* The waiting reason ``PostStartHookError``; kubelets around 1.13-1.15 folded the error into the reason itself
  (``PostStartHookError: command '/bin/sh -c x' exited with 124: ``).
* A container whose postStart hook has not returned stays ``Waiting`` (``PodInitializing`` or
  ``ContainerCreating``) although its process started (a ``Started`` event).

``PreStartHookError`` is not a lifecycle hook (it is the kubelet's CPU/memory/topology managers): the
start-failed rule explains it.
"""

from __future__ import annotations

import datetime as _dt
import re
import shlex
from typing import Iterable

from kubectl_podfix.diagnose.health import RECOVERED_AFTER, STUCK_AFTER
from kubectl_podfix.diagnose.model import Finding, PodContext, age, dig, event_time
from kubectl_podfix.diagnose.rules.common import describe_event, kubectl, node_phrase, waiting
from kubectl_podfix.diagnose.rules.containers.state import (
    each_container,
    instance_window,
    kind_label,
    recent_events,
    restart_phase,
    severity_for,
    skip_pod,
    state_line,
)

_EVENT = re.compile(r"(?P<handler>exec|http) lifecycle hook \((?P<target>.*?)\) for container \"(?P<container>[^\"]*)\""
                    r" in pod \"[^\"]*\" failed - error: (?P<error>.*?)(?:, message: \"(?P<output>.*?)\"?\s*)?$",
                    re.S | re.I)
_COMMAND = re.compile(r"command '(?P<cmd>.*)' exited with (?P<code>-?\d+)(?::\s?(?P<out>.*))?$", re.S)
_OLD_REASON = re.compile(r"^(?P<kind>PostStart|PreStop)HookError:\s*(?P<rest>.+)$", re.S)
_OPAQUE = {"PostStartHook failed", "PreStopHook failed"}

_HOOK_EVENTS = {"FailedPostStartHook": "postStart", "FailedPreStopHook": "preStop"}


def _unquote(text: str) -> str:
    """The kubelet quotes the hook's output with %q: undo the common escapes for quoting it."""
    return (text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "").replace("\\t", "\t")
            .replace('\\\\"', '"').replace('\\"', '"').replace("\\\\", "\\")).strip()


def parse_hook_message(message: str) -> dict:
    """{handler, target, error, exit_code, command, output} from a hook failure message (keys may be missing)."""
    msg = (message or "").strip()
    out: dict = {}
    m = _EVENT.search(msg)
    if m:
        out["handler"] = m.group("handler").lower()
        out["target"] = m.group("target").strip()
        error = (m.group("error") or "").strip()
        output = _unquote(m.group("output") or "")
        c = _COMMAND.search(error)
        if c:
            out["command"] = c.group("cmd")
            out["exit_code"] = int(c.group("code"))
            error = f"exited with {c.group('code')}"
            if not output:
                output = _unquote(c.group("out") or "")
        out["error"] = error
        if output:
            out["output"] = output
        return out
    c = _COMMAND.search(msg)
    if c:
        out.update(command=c.group("cmd"), exit_code=int(c.group("code")), error=f"exited with {c.group('code')}")
        if (c.group("out") or "").strip():
            out["output"] = _unquote(c.group("out"))
    return out


def _handler_of(spec: dict, hook: str) -> dict:
    h = dig(spec, f"lifecycle.{hook}")
    return h if isinstance(h, dict) else {}


def _describe_handler(handler: dict) -> str:
    if isinstance(handler.get("exec"), dict):
        return "exec [" + " ".join(str(c) for c in handler["exec"].get("command") or []) + "]"
    if isinstance(handler.get("httpGet"), dict):
        h = handler["httpGet"]
        return (f"http-get {(h.get('scheme') or 'HTTP').lower()}://{h.get('host') or '<pod IP>'}:{h.get('port')}"
                f"{'/' if not str(h.get('path') or '').startswith('/') else ''}{h.get('path') or ''}")
    if isinstance(handler.get("sleep"), dict):
        return f"sleep {handler['sleep'].get('seconds')}s"
    if isinstance(handler.get("tcpSocket"), dict):
        return f"tcp-socket :{handler['tcpSocket'].get('port')}"
    return ""


def _why(hook: str, parsed: dict, spec: dict, pod: dict) -> tuple[str, str]:
    """(kind, plain words) for why the hook failed."""
    code = parsed.get("exit_code")
    text = " ".join(str(parsed.get(k) or "") for k in ("error", "output")).lower()
    handler = _handler_of(spec, hook)
    if "executable file not found" in text or "no such file or directory" in text or code == 127:
        what = "the hook's command does not exist in the image (or at that path: relative paths start in workingDir)"
        if "sleep" in text or any("sleep" == str(c) for c in dig(handler, "exec.command", []) or []):
            what += ("; a minimal (distroless, scratch) image has no sleep: from Kubernetes 1.29 use the built-in "
                     "`lifecycle.preStop.sleep.seconds` action instead of exec-ing sleep")
        return "command-missing", what
    if "permission denied" in text or code == 126:
        return "not-executable", ("the hook's command exists but cannot be executed (exit code 126: not executable, "
                                  "permission denied, or a script without a valid interpreter)")
    if "malformed http response" in text and ("\\x15\\x03" in text or "\x15\x03" in text):
        return "tls-mismatch", ("the hook spoke plain HTTP to a TLS (HTTPS) port: the bytes it got back are a TLS "
                                "alert. Older kubelets ignored `scheme: HTTPS` for lifecycle hooks")
    if "connection refused" in text:
        port = dig(handler, "httpGet.port")
        return "connection-refused", ("nothing listened on the hook's port" + (f" {port}" if port else "")
                                      + (": a postStart HTTP hook runs right after the process starts, usually "
                                         "before it listens" if hook == "postStart" else ""))
    if "eof when reading a line" in text:
        return "interactive", ("the hook's command waited for input on stdin (a prompt), and hooks have no stdin: "
                               "pass the answers as arguments")
    if code == 124:
        return "timeout", "the hook's command timed out: exit code 124 is what `timeout` returns when its limit fires"
    if code == 137:
        if hook == "preStop":
            return "killed", ("the hook was killed (exit code 137, SIGKILL) because the container stopped while it "
                              "ran: usually the hook itself stopped the main process (e.g. `nginx -s quit`), or the "
                              "grace period ran out")
        return "killed", ("the hook was killed (exit code 137, SIGKILL): the container was being stopped while the "
                          "hook still ran")
    if parsed.get("error") or parsed.get("output"):
        if code is not None:
            return "exit", f"the hook's command exited with {code}"
        return "error", "the hook's request failed"
    if hook == "preStop" and dig(pod, "spec.hostNetwork") and isinstance(handler.get("httpGet"), dict):
        return "opaque", ("the kubelet does not record why (only its log has it); an httpGet preStop hook on a "
                          "hostNetwork pod is a known kubelet bug (kubernetes#134285: \"failed to find networking "
                          "container\")")
    return "opaque", ("the kubelet does not record why in its events (so that secrets do not leak): its log on the "
                      "node has it, or run the hook's command by hand")


def hook_failed_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        if not status:
            continue
        finding = _post_start(ctx, spec, status, is_init, name) or _pre_stop(ctx, spec, status, is_init, name)
        if finding is not None:
            yield finding


def _post_start(ctx: PodContext, spec: dict, status: dict, is_init: bool, name: str) -> Finding | None:
    w_reason, w_msg = waiting(status)
    since = instance_window(status)
    events = recent_events(ctx, name, {"FailedPostStartHook"}, since)
    if not events and since is not None and restart_phase(ctx, status) == "current":
        # Restarting now: the hook's failures of the runs just before count too (the event series lags).
        events = recent_events(ctx, name, {"FailedPostStartHook"}, since - _dt.timedelta(seconds=RECOVERED_AFTER))
    kills = [ev for ev in recent_events(ctx, name, {"Killing"}, since)
             if (ev.get("message") or "").strip() == "FailedPostStartHook"]
    old = _OLD_REASON.match(w_reason)
    term_reason = dig(status, "lastState.terminated.reason") or dig(status, "state.terminated.reason") or ""
    failed = events or kills or w_reason == "PostStartHookError" or (old and old.group("kind") == "PostStart") \
        or term_reason == "PostStartHookError"
    if not failed:
        return _post_start_hang(ctx, spec, status, is_init, name)
    parsed: dict = {}
    sources = [w_msg, old.group("rest") if old else ""] + [ev.get("message") or "" for ev in reversed(events)]
    for text in sources:
        if text and text.strip() not in _OPAQUE:
            parsed = parse_hook_message(text)
            if parsed:
                break
    return _finding(ctx, spec, status, is_init, name, "postStart", parsed, events + kills, restart_phase(ctx, status))


def _post_start_hang(ctx: PodContext, spec: dict, status: dict, is_init: bool, name: str) -> Finding | None:
    """A container whose process started but whose postStart hook has not returned (it stays Waiting)."""
    w_reason, _ = waiting(status)
    if w_reason not in ("PodInitializing", "ContainerCreating") or not _handler_of(spec, "postStart"):
        return None
    started = [ev for ev in recent_events(ctx, name, {"Started"}, instance_window(status))]
    if not started:
        return None
    when = event_time(started[-1])
    waited = (ctx.now - when).total_seconds() if when else None
    if waited is not None and waited < 30:
        return None
    handler = _describe_handler(_handler_of(spec, "postStart"))
    sev = "error" if waited is None or waited >= STUCK_AFTER else "warning"
    return Finding(
        code="container.hook-failed", severity=sev, container=name,
        title=f"{name}: postStart hook has not returned" + (f" for {age(waited)}" if waited is not None else ""),
        explanation=(f"The {kind_label(spec, is_init)} {name} started" + (f" {age(waited)} ago" if waited else "")
                     + f", but it stays Waiting ({w_reason}) because its postStart hook ({handler}) is still "
                     "running: the kubelet does not mark a container Running until postStart returns. The hook is "
                     "slow or hung (waiting for something that is not there, or a loop)."),
        evidence=[f"postStart hook: {handler}"] + state_line(status) + [describe_event(started[-1], ctx.now)],
        suggestions=[f"kubectl exec {ctx.name} -c {name} -n {ctx.namespace} -- ps aux (is the hook's command "
                     "still running?)", "make the hook return quickly, or move its work into the application",
                     kubectl(ctx, "describe", "pod", ctx.name)],
        extra={"hook": "postStart", "handler": handler, "kind": "hung", "init": is_init},
    )


def _pre_stop(ctx: PodContext, spec: dict, status: dict, is_init: bool, name: str) -> Finding | None:
    since = instance_window(status)
    events = recent_events(ctx, name, {"FailedPreStopHook"}, since)
    if not events:
        return None
    parsed: dict = {}
    for ev in reversed(events):
        text = (ev.get("message") or "").strip()
        if text and text not in _OPAQUE:
            parsed = parse_hook_message(text)
            if parsed:
                break
    # A failed preStop skips the graceful-shutdown step; the container is stopped anyway.
    phase = "flapping" if parsed.get("exit_code") != 137 else "recovered"
    return _finding(ctx, spec, status, is_init, name, "preStop", parsed, events, phase)


def _finding(ctx: PodContext, spec: dict, status: dict, is_init: bool, name: str, hook: str, parsed: dict,
             events: list[dict], phase: str) -> Finding:
    handler = _describe_handler(_handler_of(spec, hook))
    command = parsed.get("command") or (f"{parsed['target']}" if parsed.get("target") else "") or handler
    kind, why = _why(hook, parsed, spec, ctx.pod)
    label = kind_label(spec, is_init)
    if hook == "postStart":
        expl = (f"The {label} {name}'s postStart hook ({command or 'see the pod spec'}) failed: {why}. When postStart "
                f"fails the kubelet kills the container and restarts it, so the exit code and last state it leaves "
                f"(137, 143, even Completed/0) describe that kill, not the application: fix the hook.")
    else:
        expl = (f"The {label} {name}'s preStop hook ({command or 'see the pod spec'}) failed: {why}. The kubelet "
                f"then stops the container anyway, so the graceful-shutdown step the hook was for (draining, "
                f"deregistering) was skipped.")
    if kind in ("not-executable", "command-missing") and spec.get("imagePullPolicy") in (None, "IfNotPresent"):
        expl += (" With imagePullPolicy IfNotPresent the node may run an older cached image under the same tag, "
                 "one without that file: compare the image ID in the container's status.")
    evidence = [f"{hook} hook: {handler}"] if handler else []
    if parsed.get("command"):
        evidence.append(f"hook command: {parsed['command']}")
    if parsed.get("exit_code") is not None:
        evidence.append(f"hook exit code: {parsed['exit_code']}")
    if parsed.get("error") and not parsed.get("command"):
        evidence.append(f"hook error: {parsed['error'][:400]}")
    if parsed.get("output"):
        out = " | ".join(line.strip() for line in parsed["output"].splitlines() if line.strip())
        evidence.append("hook output: " + (out if len(out) <= 400 else out[:397] + "..."))
    evidence += state_line(status)
    for ev in events[-2:]:
        evidence.append(describe_event(ev, ctx.now))
    sugs = []
    if isinstance(dig(spec, f"lifecycle.{hook}.exec"), dict):
        cmd = shlex.join(str(c) for c in dig(spec, f"lifecycle.{hook}.exec.command", []) or [])
        sugs.append(f"kubectl exec {ctx.name} -c {name} -n {ctx.namespace} -- {cmd} (run the hook by hand)")
    if kind == "opaque":
        sugs.append(f"on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: journalctl -u kubelet | grep -i "
                    f"'{'PostStart' if hook == 'postStart' else 'PreStop'}'")
    sugs += [f"kubectl get pod {ctx.name} -n {ctx.namespace} -o jsonpath='{{.spec.containers[?(@.name==\"{name}\")]"
             f".lifecycle}}'", kubectl(ctx, "describe", "pod", ctx.name)]
    title_why = {"command-missing": "command not found", "not-executable": "command not executable",
                 "tls-mismatch": "HTTP sent to a TLS port", "connection-refused": "connection refused",
                 "interactive": "it waits for input", "timeout": "timed out", "killed": "killed (137)",
                 "opaque": "reason withheld by the kubelet"}.get(kind, parsed.get("error") or "failed")
    return Finding(
        code="container.hook-failed", severity=severity_for(phase), container=name,
        title=f"{name}: {hook} hook failed ({title_why})"[:160],
        explanation=expl, evidence=evidence, suggestions=sugs,
        since=events[0].get("firstTimestamp") if events else None,
        extra={"hook": hook, "handler": handler, "kind": kind, "command": parsed.get("command"),
               "exit_code": parsed.get("exit_code"), "output": parsed.get("output"), "init": is_init},
    )
