"""The one fix engine: show, (dry-)run, confirm, apply and verify a ``Plan``.

Every fixer returns a plan; this module is the only place that writes to the
cluster on a fixer's behalf. The order is fixed:

1. show the plan: every step with a diff (Secret values masked) and its undo command;
2. ``--dry-run=client`` stops here;
3. RBAC preflight: a SelfSubjectAccessReview per verb/resource/namespace the
   plan needs; anything denied -> nothing is written, the missing permissions
   are listed, exit 4;
4. ``--dry-run=server`` sends each step with ``dryRun=All`` and reports the
   server's verdict (nothing is persisted);
5. confirmation: a question on a TTY unless ``--yes``; no TTY and no ``--yes``
   -> not applied, exit 4;
6. apply the steps in order (field manager ``kubectl-podfix``); when one fails,
   say precisely which steps were done, which failed and which were not
   attempted (planners plan against the current state, so a re-run finishes).
   Every write is conditional on the state it was planned from (JSON patches
   that ``test`` what they change, a ``resourceVersion`` on replace, a ``uid``
   on delete): when the object changed meanwhile the server refuses it, and
   nothing is overwritten. Then, on a terminal, the plan is made again from
   the new state (``replan``), shown and asked again; with ``--yes`` or no
   terminal the run stops (exit 4) and says what changed;
7. wait (optional): poll the workload's pods until a new pod is Ready or fails
   again (then diagnose it again), or the timeout passes.
"""

from __future__ import annotations

import shlex
import tempfile
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from kubectl_podfix.diagnose.model import dig
from kubectl_podfix.errors import Exit
from kubectl_podfix.redact import scrub
from kubectl_podfix.fix.plan import JSON_PATCH, Plan, Step, WaitSpec, what_changed
from kubectl_podfix.render.plan import denied_text, findings_text, plan_text, results_text
from kubectl_podfix.render.terminal import use_color

# Waiting reasons that mean "the new pod fails again".
FAIL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError",
                "RegistryUnavailable", "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError",
                "RunContainerError"}


@dataclass
class StepResult:
    step: Step
    status: str  # done | failed | not attempted | ok | rejected | skipped
    message: str = ""


@dataclass
class WaitResult:
    outcome: str  # ready | failed | timeout | error
    pod: str | None = None
    message: str = ""
    seconds: float = 0.0


@dataclass
class EngineResult:
    code: int
    applied: bool = False
    results: list[StepResult] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    wait: WaitResult | None = None
    error: str | None = None  # one line for stderr ("error: ...") when a step failed
    conflict: StepResult | None = None  # the step refused because its object changed since it was read

    @property
    def done(self) -> list[Step]:
        return [r.step for r in self.results if r.status == "done"]


class Scrubbed:
    """A text stream whose writes pass through the one scrubber (kubectl_podfix.redact): plans, step
    reports and waits never show a secret podfix holds, whatever a server's message echoed."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(scrub(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


MAX_REPLANS = 3  # how often a conflict is planned again on a terminal before podfix gives up


def run(plan: Plan, cluster, *, dry_run: str = "none", yes: bool = False, interactive: bool | None = None,
        wait: bool = False, timeout: float = 120.0, out: TextIO | None = None, err: TextIO | None = None,
        confirm: Callable[[str], bool] | None = None, poll: float = 1.0,
        replan: Callable[[], Plan] | None = None) -> EngineResult:
    """Show, check, confirm, apply and wait (see the module docstring).

    ``replan`` reads the cluster again and returns a new plan: called when a write is refused because its
    object changed since it was read, on a terminal only (the user sees the new plan and is asked again).
    """
    out = Scrubbed(out or sys.stdout)
    err = Scrubbed(err or sys.stderr)
    if interactive is None:
        interactive = _isatty(sys.stdin) and _isatty(err)
    attempt = 0
    while True:
        result = _run_once(plan, cluster, dry_run=dry_run, yes=yes, interactive=interactive, wait=wait,
                           timeout=timeout, out=out, err=err, confirm=confirm, poll=poll)
        if result.conflict is None:
            return result
        step, why = result.conflict.step, result.conflict.message
        done = result.done
        kept = (f"steps done before it stay done ({', '.join(_step_ref(s) for s in done)}), {step.ref} was not "
                "changed" if done else "nothing was changed")
        if yes or not interactive or replan is None or attempt >= MAX_REPLANS:
            result.code = Exit.REFUSED
            result.error = scrub(f"{step.ref} changed since it was read ({why}): {kept}; run the command "
                                 "again to plan against the new state")
            return result
        attempt += 1
        out.write(f"\n{step.ref} changed since it was read ({why}): {kept}. Planning again against its "
                  "current state:\n\n")
        plan = replan()


def _step_ref(step: Step) -> str:
    return f"{step.verb} {step.ref}"


def _run_once(plan: Plan, cluster, *, dry_run: str, yes: bool, interactive: bool, wait: bool, timeout: float,
              out: TextIO, err: TextIO, confirm: Callable[[str], bool] | None, poll: float) -> EngineResult:
    out.write(plan_text(plan, color=use_color(out)))
    if plan.empty:
        if wait and plan.wait is not None and dry_run == "none":
            return _finish_wait(plan, cluster, EngineResult(Exit.OK), timeout, out, err, poll)
        return EngineResult(Exit.OK)
    if dry_run == "client":
        out.write("\nDry run (client): nothing was changed (podfix only read from the API server).\n")
        return EngineResult(Exit.OK)

    denied = preflight(plan, cluster, err)
    if denied:
        out.write("\n" + denied_text(denied))
        return EngineResult(Exit.REFUSED, denied=denied,
                            error=f"not applied: {len(denied)} permission(s) missing (listed above); nothing was "
                                  "changed")

    if dry_run == "server":
        return _server_dry_run(plan, cluster, out)

    if not yes:
        if not interactive:
            return EngineResult(Exit.REFUSED, error="not applied: no terminal to confirm on; re-run with --yes to "
                                "apply this plan (or --dry-run=server to have the API server check it)")
        ask = confirm or _confirm
        if not ask(f"Apply these {len(plan.steps)} change(s)?"):
            return EngineResult(Exit.REFUSED, error="not applied: not confirmed")

    result = apply(plan, cluster, out, err)
    out.write("\n" + ("Applied:\n" if result.code == Exit.OK else "Result (incomplete):\n"))
    out.write(results_text(result.results))
    if result.conflict is not None:
        result.conflict.message = _what_changed(result.conflict.step, cluster)
        return result
    if result.code != Exit.OK:
        out.write("Nothing else was changed. Fix the cause above and run the same command again: it plans "
                  "against what is now in the cluster and finishes the job (steps already done are skipped).\n")
        failed = next((r for r in result.results if r.status == "failed"), None)
        if failed is not None:  # the report above is on stdout; the one error line goes to stderr
            where = f" -n {failed.step.namespace}" if failed.step.namespace else ""
            result.error = scrub(f"{_step_ref(failed.step)}{where} failed: {failed.message}")
        return result
    if wait and plan.wait is not None:
        return _finish_wait(plan, cluster, result, timeout, out, err, poll)
    return result


def _what_changed(step: Step, cluster) -> str:
    """Read the object again and say in a few words what changed since the plan was made."""
    from kubectl_podfix.cluster.api import ApiError

    try:
        fresh = cluster.get(step.kind, step.namespace, step.name)
    except ApiError as exc:
        if exc.status == 404:
            return what_changed(step, None)
        return "it was modified"
    return what_changed(step, fresh)


# -- steps ----------------------------------------------------------------------------------

def send(step: Step, cluster, *, dry_run: bool = False) -> dict:
    """One step as one API request."""
    if step.verb == "create":
        return cluster.create(step.kind, step.namespace, step.body, dry_run=dry_run)
    if step.verb == "patch":
        return cluster.patch(step.kind, step.namespace, step.name, step.body,
                             content_type=step.content_type or "application/strategic-merge-patch+json",
                             dry_run=dry_run)
    if step.verb == "replace":
        return cluster.replace(step.kind, step.namespace, step.name, step.body, dry_run=dry_run)
    return cluster.delete(step.kind, step.namespace, step.name, dry_run=dry_run, uid=step.uid,
                          resource_version=step.resource_version)


GENERIC_422 = "the server rejected our request due to an error in our request"


def is_conflict(step: Step, exc) -> bool:
    """Whether the server refused ``step`` because its object changed since podfix read it: 409 Conflict
    (a resourceVersion or uid precondition) on a patch or replace, or a JSON patch whose ``test`` failed
    (the real server answers that with a bare 422 Invalid and its generic message, no causes; a
    validation error names the object: '... is invalid: ...')."""
    status = getattr(exc, "status", None)
    if step.verb == "delete":  # its uid precondition (a bare pod: also its resourceVersion) was not met
        return status == 409
    if step.verb == "create":  # planned because it did not exist: someone else created it meanwhile
        return status == 409 and getattr(exc, "reason", "") == "AlreadyExists"
    if step.verb not in ("patch", "replace"):
        return False
    if status == 409 and getattr(exc, "reason", "") != "AlreadyExists":
        return True
    said = getattr(exc, "server_message", "") or ""
    return status == 422 and step.content_type == JSON_PATCH and (said == GENERIC_422 or " is invalid" not in said)


def _why(step: Step, exc) -> str:
    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None) or str(exc)
    if is_conflict(step, exc) and step.verb == "delete":
        return (f"{step.kind} {step.name} changed after podfix read it (the server refused the conditional "
                "delete), so nothing was deleted")
    if is_conflict(step, exc) and step.verb == "create":
        return (f"{step.kind} {step.name} was created by someone else after podfix planned to create it, so "
                "nothing was overwritten")
    if is_conflict(step, exc):
        return (f"{step.kind} {step.name} changed after podfix read it (the server refused the conditional "
                "write), so nothing was overwritten")
    if status == 409 and step.verb == "create":
        return f"{message}: it was created meanwhile; run the command again to plan against it"
    if status == 409 and step.verb == "delete":
        return f"{message}: the pod was already replaced"
    return message


def apply(plan: Plan, cluster, out: TextIO | None = None, err: TextIO | None = None) -> EngineResult:
    """Send the steps in order; stop at the first failure.

    A delete that a later create undoes (a bare pod deleted and created again) is guarded: first the
    create is checked with a server dry run under a generated name (admission, quota, validation), and
    when it would be rejected nothing is deleted; then the manifest is saved to a file (mode 0600, its
    path printed before the delete) that is removed once the pod exists again and kept, with a message
    saying where, on every other way out (the create failed, Ctrl-C, a crash)."""
    from kubectl_podfix.cluster.api import ApiError

    out = out or sys.stdout
    err = err or sys.stderr
    results: list[StepResult] = []
    code = Exit.OK
    conflict = None
    saved: dict[tuple, str] = {}  # recreated object -> its manifest file
    deleted: set[tuple] = set()  # deleted (or maybe deleted) and not created again yet
    reported: set[tuple] = set()  # ... and the step report already says where its manifest is
    try:
        for i, step in enumerate(plan.steps):
            key = (step.kind, step.namespace, step.name)
            recreate = _recreate_of(plan, i)
            try:
                if recreate is not None:
                    try:
                        cluster.create(recreate.kind, recreate.namespace, recreate_check_body(recreate), dry_run=True)
                    except ApiError as exc:
                        results.append(StepResult(step, "failed", f"not deleted: creating {step.ref} again would be "
                                                                  f"rejected ({_why(recreate, exc)})"))
                        results.extend(StepResult(s, "not attempted") for s in plan.steps[i + 1:])
                        code = Exit.REFUSED if exc.status in (403, 422) else Exit.ERROR
                        break
                    try:
                        saved[key] = save_manifest(recreate)
                    except OSError as exc:
                        results.append(StepResult(step, "failed", f"not deleted: its manifest could not be saved "
                                                                  f"first ({exc.strerror or exc}, in "
                                                                  f"{tempfile.gettempdir()}): free space there or "
                                                                  "set TMPDIR to another directory"))
                        results.extend(StepResult(s, "not attempted") for s in plan.steps[i + 1:])
                        code = Exit.ERROR
                        break
                    out.write(f"\nsaved the manifest of {step.ref} to {saved[key]} before deleting it (if it is not "
                              f"created again: kubectl create -f {saved[key]})\n")
                    out.flush()
                    deleted.add(key)  # from here on the object may be gone: its manifest is kept unless it is back
                send(step, cluster)
            except ApiError as exc:
                if step.verb == "delete" and exc.status == 404 and recreate is None:
                    results.append(StepResult(step, "done", "already gone"))
                    continue
                if recreate is not None and exc.status != 404:
                    deleted.discard(key)  # the server refused the delete: the object is still there
                message = _why(step, exc)
                if key in saved and key in deleted:
                    message += f"; the pod is gone: its manifest is kept in {saved[key]} (kubectl create -f " \
                               f"{saved[key]})"
                    reported.add(key)
                failed = StepResult(step, "failed", message)
                results.append(failed)
                results.extend(StepResult(s, "not attempted") for s in plan.steps[i + 1:])
                code = Exit.REFUSED if exc.status == 403 else Exit.ERROR
                if is_conflict(step, exc) and key not in deleted:  # (a bare pod's re-create: its own case)
                    conflict = failed
                break
            results.append(StepResult(step, "done"))
            if recreate is not None:
                _wait_gone(step, cluster)
            elif step.verb == "create" and key in saved:
                deleted.discard(key)
                drop_manifest(saved.pop(key))
    finally:
        for key, path in list(saved.items()):
            if key not in deleted:
                drop_manifest(path)
            elif key not in reported:
                err.write(f"warning: {key[0].lower()}/{key[2]} was deleted and not created again: its manifest is "
                          f"kept in {path} (kubectl create -f {path})\n")
    return EngineResult(code, applied=any(r.status == "done" for r in results), results=results,
                        conflict=conflict)


def _recreate_of(plan: Plan, i: int) -> Step | None:
    """The later create step that undoes delete step ``i`` (a bare pod created again), if any."""
    step = plan.steps[i]
    if step.verb != "delete":
        return None
    return next((s for s in plan.steps[i + 1:] if s.verb == "create" and
                 (s.kind, s.namespace, s.name) == (step.kind, step.namespace, step.name)), None)


def recreate_check_body(step: Step) -> dict:
    """``step``'s object under a generated name, for a server dry run while the original still exists."""
    import copy

    body = copy.deepcopy(step.body)
    meta = body.setdefault("metadata", {})
    name = str(meta.pop("name", None) or step.name)
    meta["generateName"] = f"{name[:200]}-podfix-check-"
    return body


def save_manifest(step: Step) -> str:
    """Write ``step``'s object as YAML to a new file only the user can read, in a podfix-named directory
    under the temp dir ($TMPDIR): not the working directory, where it could end up committed."""
    import os
    import tempfile

    from kubectl_podfix.fix.plan import to_yaml

    folder = tempfile.mkdtemp(prefix="podfix-recreate-")  # mode 0700
    path = os.path.join(folder, f"{step.namespace or 'cluster'}-{step.name}.yaml")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(to_yaml(step.body))
            fh.flush()
            os.fsync(fh.fileno())  # the only copy once the delete is sent: on disk before it is
    except BaseException:  # a full disk, a quota, Ctrl-C: nothing is deleted, and no partial copy stays
        drop_manifest(path)
        raise
    return path


def drop_manifest(path: str) -> None:
    import os

    for remove, target in ((os.unlink, path), (os.rmdir, os.path.dirname(path))):
        try:
            remove(target)
        except OSError:
            pass


def _wait_gone(step: Step, cluster, timeout: float = 90.0, poll: float = 1.0) -> None:
    """Before re-creating an object under the same name, wait until its deletion has finished
    (a terminating pod still holds its name: the create would get 409 AlreadyExists)."""
    from kubectl_podfix.cluster.api import ApiError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.get(step.kind, step.namespace, step.name)
        except ApiError as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(poll)


def _server_dry_run(plan: Plan, cluster, out: TextIO) -> EngineResult:
    from kubectl_podfix.cluster.api import ApiError

    results: list[StepResult] = []
    code = Exit.OK
    deleted: set[tuple[str, str | None, str]] = set()
    for step in plan.steps:
        key = (step.kind, step.namespace, step.name)
        try:
            if step.verb == "create" and key in deleted:  # the original still exists: check under another name
                cluster.create(step.kind, step.namespace, recreate_check_body(step), dry_run=True)
                results.append(StepResult(step, "ok", "checked under a generated name (the deletion above is not "
                                                      "done by a dry run)"))
                continue
            send(step, cluster, dry_run=True)
            results.append(StepResult(step, "ok"))
        except ApiError as exc:
            results.append(StepResult(step, "rejected", _why(step, exc)))
            code = max(code, Exit.REFUSED if exc.status == 403 else Exit.ERROR)
        if step.verb == "delete":
            deleted.add(key)
    out.write("\nDry run (server): the API server checked each step with dryRun=All; nothing was persisted.\n")
    out.write(results_text(results))
    rejected = next((r for r in results if r.status == "rejected"), None)
    error = None
    if rejected is not None:  # the report above is on stdout; the one error line goes to stderr
        where = f" -n {rejected.step.namespace}" if rejected.step.namespace else ""
        error = scrub(f"the server dry run rejected {_step_ref(rejected.step)}{where}: {rejected.message}")
    return EngineResult(code, results=results, error=error)


# -- RBAC preflight ----------------------------------------------------------------------------

def needed_permissions(plan: Plan) -> list[tuple[str, str, str, str | None]]:
    """(verb, group, resource, namespace) for every write in the plan, each once, in plan order."""
    seen: list[tuple[str, str, str, str | None]] = []
    for step in plan.steps:
        group, resource = step.resource
        verb = "update" if step.verb == "replace" else step.verb
        item = (verb, group, resource, step.namespace)
        if item not in seen:
            seen.append(item)
    return seen


def describe_permission(verb: str, group: str, resource: str, namespace: str | None) -> str:
    qualified = f"{resource}.{group}" if group else resource
    where = f' in namespace "{namespace}"' if namespace else " cluster-wide"
    return f"{verb} {qualified}{where}"


def preflight(plan: Plan, cluster, err: TextIO) -> list[str]:
    """The permissions the plan needs that the API server says the user lacks ([] = all allowed)."""
    from kubectl_podfix.cluster.api import ApiError

    denied = []
    for verb, group, resource, namespace in needed_permissions(plan):
        try:
            allowed, _reason = cluster.access_review(verb, group, resource, namespace)
        except ApiError as exc:
            err.write(f"warning: could not check permissions in advance ({exc.message}); the API server "
                      "still checks each step\n")
            return []
        if not allowed:
            denied.append(describe_permission(verb, group, resource, namespace))
    return denied


# -- waiting -----------------------------------------------------------------------------------

def _isatty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _confirm(question: str) -> bool:
    import click

    return click.confirm(question, default=False, err=True)


def classify(pod: dict) -> tuple[str, str]:
    """("ready" | "failed" | "pending", why) for one pod."""
    for cond in dig(pod, "status.conditions", []) or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return "ready", "Ready"
    if dig(pod, "status.phase") == "Failed":
        return "failed", dig(pod, "status.reason") or "Failed"
    for key in ("initContainerStatuses", "containerStatuses"):
        for status in dig(pod, "status." + key, []) or []:
            reason = dig(status, "state.waiting.reason")
            if reason in FAIL_REASONS:
                message = dig(status, "state.waiting.message") or ""
                return "failed", f"{status.get('name')}: {reason}" + (f" ({message})" if message else "")
    reasons = [dig(s, "state.waiting.reason") for s in dig(pod, "status.containerStatuses", []) or []]
    reasons = [r for r in reasons if r]
    return "pending", reasons[0] if reasons else (dig(pod, "status.phase") or "Pending")


def _new_pods(spec: WaitSpec, cluster) -> list[dict]:
    from kubectl_podfix.cluster.api import ApiError

    if spec.selector:
        pods = list(cluster.list("Pod", spec.namespace, label_selector=spec.selector))
    elif spec.pod_name:
        try:
            pods = [cluster.get("Pod", spec.namespace, spec.pod_name)]
        except ApiError as exc:
            if exc.status == 404:
                return []
            raise
    else:
        return []
    old = set(spec.old_uids)
    return [p for p in pods if dig(p, "metadata.uid") not in old and not dig(p, "metadata.deletionTimestamp")]


def wait_for(spec: WaitSpec, cluster, *, timeout: float, err: TextIO, poll: float = 1.0,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> WaitResult:
    """Poll until ``spec.expect`` new pods are Ready, one fails again, or ``timeout`` seconds pass."""
    from kubectl_podfix.cluster.api import ApiError

    started = clock()
    progress = _isatty(err)
    shown = False
    try:
        while True:
            elapsed = clock() - started
            try:
                pods = _new_pods(spec, cluster)
            except ApiError as exc:
                return WaitResult("error", None, f"could not watch the pods: {exc.message}", elapsed)
            ready = []
            for pod in pods:
                state, why = classify(pod)
                if state == "failed":
                    return WaitResult("failed", dig(pod, "metadata.name"), why, elapsed)
                if state == "ready":
                    ready.append(dig(pod, "metadata.name"))
            if len(ready) >= spec.expect:
                return WaitResult("ready", ready[0], f"{', '.join(ready)} Ready", elapsed)
            if elapsed >= timeout:
                waiting = ", ".join(f"{dig(p, 'metadata.name')} {classify(p)[1]}" for p in pods) or "no new pod yet"
                return WaitResult("timeout", None, f"after {int(timeout)}s: {waiting}", elapsed)
            if progress:
                err.write(f"\r\033[Kwaiting for {spec.label}: {len(ready)}/{spec.expect} new pod(s) Ready, "
                          f"{int(elapsed)}s...")
                err.flush()
                shown = True
            sleep(min(poll, max(timeout - elapsed, 0.05)))
    finally:
        if shown:
            err.write("\r\033[K")
            err.flush()


def diagnose_pod(cluster, namespace: str, name: str) -> str:
    """Explain a pod again (gather + rules) as text; a one-line note when that is not possible."""
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.errors import PodfixError

    try:
        from kubectl_podfix.cluster.gather import gather_pod
        from kubectl_podfix.diagnose.context import contexts
        from kubectl_podfix.diagnose.rules import diagnose
    except ImportError as exc:  # a rule family not installed
        return f"(cannot diagnose again: {exc})\n"
    try:
        snap = gather_pod(cluster, namespace, name)
    except (ApiError, PodfixError) as exc:
        return f"(cannot diagnose pod {name} again: {exc.message})\n"
    ctxs = contexts(snap)
    return findings_text(diagnose(ctxs[0]) if ctxs else [], name)


def follow_command(spec: WaitSpec) -> str:
    """The kubectl command that keeps watching what ``--wait`` watched."""
    kind = (spec.owner_kind or "").lower()
    if kind in ("deployment", "statefulset", "daemonset") and spec.owner_name:
        return f"kubectl rollout status {kind}/{spec.owner_name} -n {spec.namespace}"
    if spec.selector:
        return f"kubectl get pods -n {spec.namespace} -l {shlex.quote(spec.selector)} -w"
    if spec.pod_name:
        return f"kubectl get pod {spec.pod_name} -n {spec.namespace} -w"
    return f"kubectl get pods -n {spec.namespace} -w"


def _signal_name(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def interrupted_text(plan: Plan, result: EngineResult) -> str:
    """Ctrl-C while waiting: the change is in the cluster; how to follow it and how to undo it."""
    assert plan.wait is not None
    if not result.applied:
        return (f"\ninterrupted while waiting: podfix changed nothing.\n"
                f"  follow the pods: {follow_command(plan.wait)}\n")
    undo = [r.step.undo for r in result.results
            if r.status == "done" and r.step.undo and not r.step.undo.startswith("(")]
    lines = ["", "interrupted while waiting: the change stays applied (podfix does not roll it back).",
             f"  follow it: {follow_command(plan.wait)}"]
    if undo:
        lines.append("  undo it:" if len(undo) == 1 else "  undo it (in this order):")
        lines.extend(f"    {u}" for u in reversed(undo))
    else:
        lines.append("  undo: nothing to undo by a command (deleted pods are recreated by their controller)")
    return "\n".join(lines) + "\n"


def _finish_wait(plan: Plan, cluster, result: EngineResult, timeout: float, out: TextIO, err: TextIO,
                 poll: float) -> EngineResult:
    spec = plan.wait
    assert spec is not None
    try:
        outcome = wait_for(spec, cluster, timeout=timeout, err=err, poll=poll)
    except KeyboardInterrupt as exc:
        err.write(interrupted_text(plan, result))
        result.code = Exit.INTERRUPTED
        signum = getattr(exc, "signum", None)  # cli.root.Signalled: SIGTERM or SIGHUP
        result.error = "interrupted" if signum in (None, 2) else f"interrupted ({_signal_name(signum)})"
        return result
    result.wait = outcome
    secs = f"{outcome.seconds:.0f}s"
    if outcome.outcome == "ready":
        out.write(f"\nResult: {spec.label}: new pod {outcome.message} after {secs}.\n")
        return result
    if outcome.outcome == "failed":
        line = f"{spec.label}: new pod {outcome.pod} fails again: {outcome.message}"
        out.write(f"\nResult: {line}\n")
        out.write(diagnose_pod(cluster, spec.namespace, outcome.pod or ""))
        result.error = f"{line} (diagnosis above; the change stays applied)"
    elif outcome.outcome == "timeout":
        line = f"{spec.label}: no new pod Ready {outcome.message}"
        out.write(f"\nResult: {line} (raise --timeout to wait longer; kubectl get pods -n {spec.namespace} -w to "
                  "watch)\n")
        result.error = f"{line}; the change stays applied (raise --timeout to wait longer)"
    else:
        out.write(f"\nResult: {outcome.message}\n")
        result.error = outcome.message
    result.error = scrub(result.error)
    result.code = Exit.ERROR
    return result
