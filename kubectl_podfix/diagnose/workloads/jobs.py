"""Jobs and CronJobs: a Job that failed (backoff limit, deadline, podFailurePolicy, failed indexes),
also after its pods were deleted; a suspended Job or CronJob (info); a CronJob that missed too many
schedules, has an invalid schedule, or is blocked by a long-running Job (concurrencyPolicy Forbid)."""

from __future__ import annotations

import re
from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, age, dig, event_time, parse_time
from kubectl_podfix.diagnose.workloads.cron import schedule_error
from kubectl_podfix.diagnose.workloads.common import (condition_line, event_line, pod_cause, pod_cause_lines,
                                                      pod_explain_cmd, pod_extra)
from kubectl_podfix.diagnose.workloads.model import WorkloadContext, condition

_FAILED_CODES = {"BackoffLimitExceeded": "workload.job-backoff-limit",
                 "DeadlineExceeded": "workload.job-deadline-exceeded",
                 "PodFailurePolicy": "workload.job-pod-failure-policy"}
_POLICY = re.compile(r"Container (?P<container>\S+) for pod (?P<pod>\S+) failed with exit code (?P<code>-?\d+) "
                     r"matching (?P<action>\w+) rule at index (?P<index>\d+)"
                     r"|Pod (?P<pod2>\S+) has condition (?P<cond>\S+) matching (?P<action2>\w+) rule at index "
                     r"(?P<index2>\d+)")


def job_failure(job: dict, events: list[dict]) -> dict | None:
    """The Job's failure condition (Failed, or the interim FailureTarget), or its failure event: {reason, message}."""
    for type_ in ("Failed", "FailureTarget"):
        cond = condition(job, type_)
        if cond and cond.get("status") == "True":
            return {"reason": cond.get("reason") or "", "message": cond.get("message") or "", "condition": cond}
    name = dig(job, "metadata.name")
    for ev in reversed(events):
        if dig(ev, "involvedObject.name") == name and ev.get("reason") in (
                "BackoffLimitExceeded", "DeadlineExceeded", "PodFailurePolicy", "MaxFailedIndexesExceeded",
                "FailedIndexes"):
            return {"reason": ev["reason"], "message": ev.get("message") or "", "event": ev}
    return None


def _job_pods(ctx: WorkloadContext, job_name: str):
    return [r for r in ctx.pods if any(ref.get("name") == job_name and ref.get("kind") == "Job"
                                       for ref in dig(r.ctx.pod, "metadata.ownerReferences", []) or [])]


def _failed_finding(ctx: WorkloadContext, job: dict, failure: dict, via: str = "") -> Finding:
    reason, message = failure["reason"], failure["message"]
    code = _FAILED_CODES.get(reason, "workload.job-failed")
    name = dig(job, "metadata.name", "")
    st = job.get("status") or {}
    pods = _job_pods(ctx, name)
    found = pod_cause(pods)
    evidence = [condition_line("Job", name, failure["condition"], ctx) if failure.get("condition")
                else event_line(ctx, failure["event"])]
    per_index = dig(job, "spec.backoffLimitPerIndex")
    limits = (f"backoffLimitPerIndex {per_index}" + (f", maxFailedIndexes {dig(job, 'spec.maxFailedIndexes')}"
                                                     if dig(job, "spec.maxFailedIndexes") is not None else "")
              if per_index is not None else  # backoffLimit is then MaxInt32 by default: noise
              f"backoffLimit {dig(job, 'spec.backoffLimit') if dig(job, 'spec.backoffLimit') is not None else 6}")
    evidence.append(f"job/{name}: {st.get('failed') or 0} failed, {st.get('succeeded') or 0} succeeded, {limits}"
                    + (f", activeDeadlineSeconds {dig(job, 'spec.activeDeadlineSeconds')}"
                       if dig(job, "spec.activeDeadlineSeconds") else ""))
    if st.get("failedIndexes") or st.get("completedIndexes"):
        evidence.append(f"job/{name}: failed indexes {st.get('failedIndexes') or 'none'}, completed indexes "
                        f"{st.get('completedIndexes') or 'none'}")
    extra: dict = {"job": name, "reason": reason, "failed": st.get("failed") or 0}
    head = f"job/{name}" + (f" (the latest run of {ctx.ref})" if via else "")
    if code == "workload.job-backoff-limit":
        limit = dig(job, "spec.backoffLimit")
        failed = st.get("failed")
        title = (f"{head} failed: its pods failed "
                 + (f"{failed} time{'s' if failed != 1 else ''}" if isinstance(failed, int) and failed else
                    "more times than allowed")
                 + f" (backoffLimit {6 if limit is None else limit})")
        expl = "The Job gave up after more pod failures than spec.backoffLimit allows; the cause is in its failed pods. "
    elif code == "workload.job-deadline-exceeded":
        deadline = dig(job, "spec.activeDeadlineSeconds")
        title = (f"{head} failed: it ran longer than activeDeadlineSeconds"
                 + (f" ({deadline}s)" if deadline else ""))
        expl = ("The Job was active longer than spec.activeDeadlineSeconds: its running pods were killed and it "
                "failed whatever backoffLimit says (time spent Pending counts too). ")
    elif code == "workload.job-pod-failure-policy":
        m = _POLICY.search(message)
        detail = {}
        if m:
            detail = {k: v for k, v in m.groupdict().items() if v}
            extra.update({"container": detail.get("container"), "exit_code": int(detail["code"])
                          if detail.get("code") else None, "rule": int(detail.get("index") or
                                                                       detail.get("index2") or 0)})
        title = f"{head} failed at once: a podFailurePolicy rule matched ({message[:120]})"
        expl = ("spec.podFailurePolicy said to fail the whole Job without retrying: " + message + ". The exit "
                "code is the application's own 'do not retry' signal; its log says why. ")
    else:
        said = ": ".join(x for x in (reason, message) if x)
        title = f"{head} failed" + (f": {said}" if said else "")
        expl = (f"The Job failed ({said}). " if said else
                "The Job's Failed condition is True but names no reason or message. ")
        if reason in ("FailedIndexes", "MaxFailedIndexesExceeded") and st.get("failedIndexes"):
            extra["failed_indexes"] = st.get("failedIndexes")
            title += f" (indexes {st.get('failedIndexes')})"
            expl += (f"Indexes {st.get('failedIndexes')} failed, each after "
                     f"{(per_index or 0) + 1} attempt{'s' if (per_index or 0) else ''} (backoffLimitPerIndex "
                     f"{per_index if per_index is not None else 'not set'})"
                     + (f"; indexes {st.get('completedIndexes')} completed" if st.get("completedIndexes") else "")
                     + (". An Indexed Job with failed indexes ends Failed once every index has finished"
                        if reason == "FailedIndexes" else
                        f". More indexes failed than maxFailedIndexes ({dig(job, 'spec.maxFailedIndexes')}) allows, "
                        "so the Job stopped the others") + ". ")
    if found:
        expl += "Pods: " + f"{found[2]} failed with {found[1].code}: {found[1].title}."
        evidence += pod_cause_lines(found[0], found[1])
        extra["pod"] = pod_extra(*found)
    elif not pods:
        expl += (f"Its pods are gone ({st.get('failed') or 0} failed; deleted by the Job controller, a TTL or pod "
                 "garbage collection), so their own diagnosis cannot be read now: the Job's conditions and events "
                 "are what is left.")
    sugg = []
    if found:
        sugg.append(pod_explain_cmd(ctx, found[0].ctx.name))
    sugg.append(f"kubectl logs job/{name} -n {ctx.namespace} (while a pod still exists)")
    sugg.append(f"kubectl describe job {name} -n {ctx.namespace}")
    if code == "workload.job-deadline-exceeded":
        sugg.append("raise spec.activeDeadlineSeconds, or find why the work is slow or pods wait to start")
    return Finding(code, "error", None, title, expl, evidence, sugg, found[1].fix if found else None,
                   since=(failure.get("condition") or {}).get("lastTransitionTime"), extra=extra)


def job_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    if ctx.kind != "Job":
        return []
    if dig(ctx.workload, "spec.suspend"):
        return [_suspended(ctx)]
    failure = job_failure(ctx.workload, ctx.events)
    if failure:
        found = _failed_finding(ctx, ctx.workload, failure)
        cref = next((r for r in dig(ctx.workload, "metadata.ownerReferences", []) or [] if isinstance(r, dict)
                     and r.get("controller") and r.get("kind") == "CronJob"), None)
        cron = ctx.snapshot.get("CronJob", ctx.namespace, cref.get("name")) \
            if cref and isinstance(cref.get("name"), str) else None
        since = succeeded_since(cron, ctx.workload, failure) if isinstance(cron, dict) else None
        if since:  # a CronJob's run that failed before a later run succeeded: history, as its pods are
            found.severity = "warning"
            found.evidence = [*found.evidence, since]
        return [found]
    if condition(ctx.workload, "Complete") and condition(ctx.workload, "Complete").get("status") == "True":
        return []
    found = pod_cause(ctx.pods)
    if found:
        st = ctx.workload.get("status") or {}
        result, f, count = found
        limit = dig(ctx.workload, "spec.backoffLimit")
        return [Finding("workload.pods-failing", f.severity, None,
                        f"{count} pod{'s' if count != 1 else ''} of job/{ctx.name} fail: {f.code}: {f.title}",
                        f"The Job is still running and retrying ({st.get('failed') or 0} failed so far, backoffLimit "
                        f"{6 if limit is None else limit}). " + f"Its pods fail with {f.code}: {f.title}.",
                        pod_cause_lines(result, f), [pod_explain_cmd(ctx, result.ctx.name)], f.fix, since=f.since,
                        extra={"pod": pod_extra(*found)})]
    return _retrying(ctx)


def _retrying(ctx: WorkloadContext) -> list[Finding]:
    """A Job that is neither Complete nor Failed but whose pods have failed, with no failing pod in the data to
    quote (deleted, or not read): it is retrying. A warning while nothing runs (it waits out the back-off between
    attempts), info while a new attempt runs."""
    st = ctx.workload.get("status") or {}
    failed = st.get("failed")
    if not isinstance(failed, int) or failed <= 0:
        return []
    active = st.get("active") if isinstance(st.get("active"), int) else 0
    limit = dig(ctx.workload, "spec.backoffLimit")
    limit = 6 if limit is None else limit
    running = active > 0 or any(dig(r.ctx.pod, "status.phase") in ("Running", "Pending") for r in ctx.pods)
    counts = f"{failed} failed, {active} active, {st.get('succeeded') or 0} succeeded, backoffLimit {limit}"
    expl = (f"{ctx.ref} has no Complete or Failed condition yet, and {failed} of its pods failed: the Job controller "
            f"retries them until backoffLimit ({limit}) is passed. "
            + ("A new attempt is running now. " if running else
               "No pod is running now: the controller waits out its back-off (10s, doubling, at most 6 minutes) "
               "before the next attempt. ")
            + ("The failed pods are not in the data (deleted, or not read), so their own diagnosis cannot be "
               "quoted: explain them while they exist, or read the Job's events."))
    return [Finding("workload.not-ready", "info" if running else "warning", None,
                    f"{ctx.ref} is retrying: {failed} pod{'s' if failed != 1 else ''} failed so far "
                    f"(backoffLimit {limit})", expl, [f"{ctx.ref}: {counts}"],
                    [ctx.kubectl("get", "pods", "-l", f"job-name={ctx.name}"),
                     ctx.kubectl("describe", ctx.ref),
                     f"kubectl logs job/{ctx.name} -n {ctx.namespace} (while a pod still exists)"],
                    extra={"failed": failed, "active": active, "backoff_limit": limit})]


def _suspended(ctx: WorkloadContext) -> Finding:
    queue = (dig(ctx.workload, "metadata.labels", {}) or {}).get("kueue.x-k8s.io/queue-name")
    who = f" (Kueue queue {queue} admits it when there is capacity)" if queue else ""
    return Finding("workload.suspended", "info", None, f"{ctx.ref} is suspended (spec.suspend: true){who}",
                   f"A suspended {ctx.kind} creates no {'pods' if ctx.kind == 'Job' else 'Jobs'} on purpose; that is "
                   "not a failure. A queue controller such as Kueue suspends Jobs until it admits them.",
                   [f"{ctx.ref} spec.suspend: true"],
                   [f"kubectl patch {ctx.ref} -n {ctx.namespace} --type=merge -p '{{\"spec\":{{\"suspend\":false}}}}'"])


def cronjob_rule(ctx: WorkloadContext) -> Iterable[Finding]:
    if ctx.kind != "CronJob":
        return []
    out: list[Finding] = []
    if dig(ctx.workload, "spec.suspend"):
        out.append(_suspended(ctx))
    own = ctx.events_of("CronJob", ctx.name)
    last_ok = max((event_time(e) for e in own if e.get("reason") == "SuccessfulCreate" and event_time(e)),
                  default=None)

    def current(reasons: set[str]) -> list[dict]:
        return [e for e in own if e.get("reason") in reasons
                and not (last_ok and event_time(e) and event_time(e) < last_ok
                         and e.get("reason") != "JobAlreadyActive")]

    bad_schedule = current({"UnparseableSchedule", "InvalidSchedule", "UnknownTimeZone", "UnParseableCronJobSchedule"})
    if bad_schedule:
        ev = bad_schedule[-1]
        out.append(Finding("workload.cronjob-schedule-invalid", "error", None,
                           f"{ctx.ref} never runs: its schedule is invalid ({dig(ctx.workload, 'spec.schedule')!r})",
                           f"The CronJob controller cannot parse spec.schedule / spec.timeZone: {ev.get('message')}",
                           [event_line(ctx, ev)], ["fix spec.schedule (five fields, e.g. '*/5 * * * *') or "
                                                   "spec.timeZone (an IANA name)"]))
    elif schedule_error(dig(ctx.workload, "spec.schedule")):
        # No event (expired, or a file never applied): the schedule itself does not parse.
        sched = dig(ctx.workload, "spec.schedule")
        err = schedule_error(sched)
        out.append(Finding("workload.cronjob-schedule-invalid", "error", None,
                           f"{ctx.ref} never runs: its schedule is invalid ({sched!r})",
                           f"spec.schedule does not parse as a cron schedule ({err}), so the CronJob controller "
                           "never starts a Job. The API server refuses such a schedule when the object is created or "
                           "updated: an object that holds one was stored before that check, or is a file that was "
                           "never applied.",
                           [f"{ctx.ref} spec.schedule: {sched!r}: {err}"],
                           ["fix spec.schedule: five fields (minute hour day-of-month month day-of-week, e.g. "
                            "'*/5 * * * *') or a descriptor such as '@hourly'"],
                           extra={"schedule": sched, "error": err}))
    missed = current({"FailedNeedsStart", "TooManyMissedTimes", "MissSchedule"})
    if missed:
        ev = missed[-1]
        stops = ev.get("reason") == "FailedNeedsStart" or "Cannot determine" in (ev.get("message") or "")
        sev = "error" if stops else "warning"
        sds = dig(ctx.workload, "spec.startingDeadlineSeconds")
        title = (f"{ctx.ref} stopped scheduling: more than 100 start times were missed" if stops else
                 f"{ctx.ref} missed {'too many start times' if ev.get('reason') != 'MissSchedule' else 'a start time'}")
        expl = ("The CronJob controller counts the schedule times missed since the last run (controller down, "
                "clock skew, a suspended or long-blocked CronJob). "
                + ("The legacy controller (before 1.21) gives up for good past 100 and starts nothing. " if stops else
                   "Past 100 the controller warns and starts only the latest. " if ev.get("reason") != "MissSchedule"
                   else "A run was skipped because its start was later than startingDeadlineSeconds allows. ")
                + (f"spec.startingDeadlineSeconds is {sds}." if sds else
                   "spec.startingDeadlineSeconds is not set: then every missed time since the last run counts."))
        out.append(Finding("workload.cronjob-missed-schedules", sev, None, title, expl, [event_line(ctx, ev)],
                           ["set spec.startingDeadlineSeconds (e.g. 200) so only recent misses count",
                            "check the controller manager and the clock of the control plane"]))
    blocked = [e for e in own if e.get("reason") == "JobAlreadyActive"]
    active = [j for j in ctx.children if not any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                                                  for c in dig(j, "status.conditions", []) or [])]
    forbid = dig(ctx.workload, "spec.concurrencyPolicy") == "Forbid"
    if forbid and active and (blocked or _long_running(ctx, active[-1])):
        job = active[-1]
        jname = dig(job, "metadata.name", "")
        ran = ctx.age_of(dig(job, "status.startTime") or dig(job, "metadata.creationTimestamp"))
        found = pod_cause(_job_pods(ctx, jname))
        expl = (f"concurrencyPolicy Forbid: a new run starts only when the previous Job has finished, and job/{jname} "
                f"has been running for {age(ran)}. Each skipped run is recorded as JobAlreadyActive. ")
        evidence = ([event_line(ctx, blocked[-1])] if blocked else []) + \
            [f"job/{jname}: started {age(ran)} ago, {dig(job, 'status.active') or 0} active pods"]
        extra = {"job": jname, "running_seconds": int(ran) if ran is not None else None}
        if found:
            expl += f"It is stuck because its pods fail: {found[1].code}: {found[1].title}."
            evidence += pod_cause_lines(found[0], found[1])
            extra["pod"] = pod_extra(*found)
        else:
            expl += "Its pods do not fail: it is slow or hangs (no activeDeadlineSeconds to stop it)."
        out.append(Finding("workload.cronjob-blocked", "error" if found else "warning", None,
                           f"{ctx.ref} skips its runs: job/{jname} is still running ({age(ran)}) and "
                           "concurrencyPolicy is Forbid", expl, evidence,
                           ([pod_explain_cmd(ctx, found[0].ctx.name)] if found else []) +
                           [f"kubectl delete job {jname} -n {ctx.namespace} (if it hangs)",
                            "set jobTemplate.spec.activeDeadlineSeconds so a hung run ends"], extra=extra))
    elif active:
        # The current run (concurrencyPolicy Allow or Replace) fails while it is still retrying: its pods say why.
        job = active[-1]
        jname = dig(job, "metadata.name", "")
        found = pod_cause(_job_pods(ctx, jname))
        if found:
            result, f, count = found
            st = job.get("status") or {}
            limit = dig(job, "spec.backoffLimit")
            out.append(Finding(
                "workload.pods-failing", f.severity, None,
                f"{ctx.ref}: its current run job/{jname} fails: {f.code}: {f.title}",
                f"job/{jname}, started by {ctx.ref}, is still running and retrying ({st.get('failed') or 0} failed "
                f"pods so far, backoffLimit {6 if limit is None else limit}); {count} of its pods "
                f"fail{'s' if count == 1 else ''} with {f.code}: {f.title}. Later runs use the same job template: "
                "unless the cause lies outside it, they fail the same way.",
                pod_cause_lines(result, f), [pod_explain_cmd(ctx, result.ctx.name)], f.fix, since=f.since,
                extra={"job": jname, "pod": pod_extra(*found)}))
    finished = [j for j in ctx.children if j not in active]
    if finished:
        latest = finished[0]  # children are newest first
        failure = job_failure(latest, ctx.events)
        if failure and not any(c is not latest and _succeeded(c) and _newer(c, latest) for c in ctx.children) \
                and not succeeded_since(ctx.workload, latest, failure):
            out.append(_failed_finding(ctx, latest, failure, via="cronjob"))
    elif not active and not dig(ctx.workload, "status.lastScheduleTime"):
        pass  # never ran yet: nothing to say
    return out


def succeeded_since(cron: dict, job: dict, failure: dict) -> str | None:
    """An evidence line when the CronJob's ``status.lastSuccessfulTime`` is after this run failed (a later run
    succeeded, even if its Job is gone or was not read), or None."""
    last_ok = parse_time(dig(cron, "status.lastSuccessfulTime"))
    failed_at = parse_time((failure.get("condition") or {}).get("lastTransitionTime")) \
        or parse_time(dig(job, "status.startTime")) or parse_time(dig(job, "metadata.creationTimestamp"))
    if last_ok is None or failed_at is None or last_ok <= failed_at:
        return None
    return (f"cronjob/{dig(cron, 'metadata.name', '')} has succeeded since (its last successful run: "
            f"{dig(cron, 'status.lastSuccessfulTime')}): job/{dig(job, 'metadata.name', '')}'s failure is history")


def _succeeded(job: dict) -> bool:
    return any(c.get("type") == "Complete" and c.get("status") == "True"
               for c in dig(job, "status.conditions", []) or [])


def _newer(a: dict, b: dict) -> bool:
    ta, tb = parse_time(dig(a, "metadata.creationTimestamp")), parse_time(dig(b, "metadata.creationTimestamp"))
    return bool(ta and tb and ta > tb)


def _long_running(ctx: WorkloadContext, job: dict) -> bool:
    ran = ctx.age_of(dig(job, "status.startTime") or dig(job, "metadata.creationTimestamp"))
    return ran is not None and ran > 3600
