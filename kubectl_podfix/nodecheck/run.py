"""``kubectl podfix node-check POD``: test the registry from the failing pod's node, with a short-lived check pod.

The order is fixed:

1. read the pod, its image-pull finding (which image, which registry), its Node (taints, cached
   images, disk conditions) and any check pods an earlier run left behind (by label, also those of
   earlier podfix versions);
2. show the plan (the check Pod's manifest, the leftovers to delete) and ask, unless ``--yes``;
   no terminal and no ``--yes``: nothing is created, exit 4;
3. delete the leftovers, create the check pod, poll it until it finished, failed, could not pull
   its own image, or the timeout passed; read its log;
4. delete it in a ``finally``: on success, failure, timeout, API errors, Ctrl-C, SIGTERM and SIGHUP
   (turned into KeyboardInterrupt around the check when the process has no handler of its own). The
   pod's name is chosen before the create is sent, so a create whose answer never came (an interrupt or
   a client timeout while it was in flight) is cleaned up too: podfix deletes the name, and when the
   server has not stored it yet, tries again for a few seconds (``UNCERTAIN_CLEANUP``);
5. parse the log (``parse``) into steps and a verdict; for disk findings add the Node's
   conditions, capacity and the kubelet's summary API (``/api/v1/nodes/N/proxy/stats/summary``).

A rejected create (Pod Security admission, quota, RBAC, LimitRange) is one clear line and exit 4.
Every request goes through ``Cluster``; nothing here imports the Kubernetes client.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

from kubectl_podfix.diagnose.model import Finding, dig, parse_time, utcnow
from kubectl_podfix.errors import Exit, PodfixError
from kubectl_podfix import redact
from kubectl_podfix.nodecheck import parse, spec

PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"}
START_FAILURES = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff"}
DISK_CODES = {"image.node-disk-full"}
LEFTOVER_AGE = spec.DEADLINE + 60  # a younger check pod may belong to a run still going on
LOG_LINES = 500
UNCERTAIN_CLEANUP = 8.0  # seconds to look for a check pod whose create got no answer


@dataclass
class CheckReport:
    namespace: str
    pod: str
    node: str
    check_pod: str
    image: str
    image_why: str
    registry: str
    target_image: str
    container: str | None = None
    finding: str | None = None
    outcome: str = "not-run"  # completed | pull-failed | timeout | failed | rejected | not-run
    message: str = ""
    steps: list[parse.Step] = field(default_factory=list)
    verdict: parse.Verdict | None = None
    log: parse.CheckLog | None = None
    node_disk: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    code: int = Exit.OK

    def evidence(self) -> list[str]:
        lines = parse.evidence(self.steps, self.node)
        if self.outcome != "completed" and self.message:
            lines.append(f"node check on {self.node}: {self.message}")
        if self.verdict is not None:
            lines.append(f"node check verdict: {self.verdict.headline}")
        if self.node_disk and self.node_disk.get("summary"):
            lines.append(f"node {self.node} disk: {self.node_disk['summary']}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "outcome": self.outcome, "node": self.node, "checkPod": self.check_pod, "image": self.image,
            "imageChoice": self.image_why, "registry": self.registry, "forImage": self.target_image,
            "container": self.container, "finding": self.finding,
            "steps": [s.to_dict() for s in self.steps],
        }
        if self.message:
            out["message"] = self.message
        if self.verdict is not None:
            out["verdict"] = {"failingStep": self.verdict.step, "kind": self.verdict.kind,
                              "summary": self.verdict.headline, "meaning": self.verdict.meaning,
                              "nodeWide": self.verdict.node_wide}
        if self.log is not None:
            out["resolvers"] = self.log.resolvers
            out["proxies"] = self.log.proxies
            out["tools"] = self.log.tools
            out["complete"] = self.log.complete
        if self.node_disk is not None:
            out["nodeDisk"] = self.node_disk
        if self.notes:
            out["notes"] = list(self.notes)
        out["cleanup"] = list(self.cleanup)
        return out


class _Scrubbed:
    """A text stream whose writes pass through the one scrubber (plan, progress, cleanup lines)."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redact.scrub(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


# -- reading what the node check needs -----------------------------------------------------------------

def pick_target(pod: dict, findings: list[Finding]) -> tuple[str | None, str, Finding | None]:
    """(container, image, finding) to check: the image-pull finding's, else the first pulling container's."""
    containers = {c.get("name"): c for key in ("initContainers", "containers")
                  for c in dig(pod, f"spec.{key}", []) or [] if isinstance(c, dict)}
    for f in findings:
        if f.code.startswith("image.") and f.container in containers:
            image = (f.extra or {}).get("image") or containers[f.container].get("image") or ""
            return f.container, image, f
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in dig(pod, f"status.{key}", []) or []:
            if dig(s, "state.waiting.reason") in PULL_REASONS and s.get("name") in containers:
                return s.get("name"), containers[s.get("name")].get("image") or "", None
    name, first = next(iter(containers.items()), (None, {}))
    return name, (first or {}).get("image") or "", None


def read_node(cluster, name: str, notes: list[str]) -> dict | None:
    from kubectl_podfix.cluster.api import ApiError

    try:
        return cluster.get("Node", None, name)
    except ApiError as exc:
        notes.append(f"node {name} could not be read ({'forbidden' if exc.status == 403 else exc.message}): "
                     "its taints and cached images are unknown, so the check pod has no tolerations and may need a "
                     "pull")
        return None


def node_disk(cluster, node_name: str, node: dict | None) -> dict[str, Any]:
    """DiskPressure, ephemeral-storage capacity/allocatable, and the kubelet's fs/imageFs stats when readable."""
    from urllib.parse import quote

    from kubectl_podfix.cluster.api import ApiError

    out: dict[str, Any] = {}
    words: list[str] = []
    if node is not None:
        cond = next((c for c in dig(node, "status.conditions", []) or [] if c.get("type") == "DiskPressure"), None)
        if cond:
            out["diskPressure"] = cond.get("status")
            words.append("DiskPressure=" + str(cond.get("status")) + (f" ({cond.get('message')})"
                                                                       if cond.get("status") == "True" and cond.get("message") else ""))
        for key in ("capacity", "allocatable"):
            value = dig(node, f"status.{key}.ephemeral-storage")
            if value:
                out[f"ephemeralStorage{key.title()}"] = value
        if out.get("ephemeralStorageCapacity"):
            words.append(f"ephemeral-storage capacity {out['ephemeralStorageCapacity']}")
    try:
        summary = cluster.request("GET", f"/api/v1/nodes/{quote(node_name, safe='')}/proxy/stats/summary")
    except ApiError as exc:
        why = "forbidden (it needs get on nodes/proxy)" if exc.status == 403 else f"{exc.status} {exc.reason}".strip()
        out["summaryApi"] = why
        words.append(f"kubelet summary API not readable: {why}")
    else:
        for key, label in (("fs", "node fs"), ("runtime.imageFs", "image fs")):
            fs = dig(summary, f"node.{key}") or {}
            if fs.get("capacityBytes"):
                cap, avail = int(fs.get("capacityBytes") or 0), int(fs.get("availableBytes") or 0)
                used_pct = round(100 * (cap - avail) / cap) if cap else None
                out["imageFs" if key != "fs" else "nodeFs"] = {"capacityBytes": cap, "availableBytes": avail,
                                                              "usedBytes": fs.get("usedBytes"), "usedPercent": used_pct}
                words.append(f"{label} {_gib(avail)} free of {_gib(cap)} ({used_pct}% used)")
    out["summary"] = "; ".join(words)
    return out


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}GiB" if n >= 2**30 else f"{n / 2**20:.0f}MiB"


def leftovers(cluster, namespace: str) -> tuple[list[dict], list[dict]]:
    """(to delete, too young to be sure) check pods found by label in ``namespace`` (today's or the old one)."""
    from kubectl_podfix.cluster.api import ApiError

    try:
        pods = [p for p in cluster.list("Pod", namespace, label_selector=spec.LEFTOVER_SELECTOR)
                if spec.is_check_pod(p)]
    except ApiError as exc:
        if exc.status == 403:
            return [], []
        raise
    now = utcnow()
    old, young = [], []
    for p in pods:
        created = parse_time(dig(p, "metadata.creationTimestamp"))
        done = dig(p, "status.phase") in ("Succeeded", "Failed")
        if done or created is None or (now - created).total_seconds() > LEFTOVER_AGE:
            old.append(p)
        else:
            young.append(p)
    return old, young


# -- the plan ---------------------------------------------------------------------------------------------

def plan_text(manifest: dict, report: CheckReport, old: list[dict], young: list[dict]) -> str:
    from kubectl_podfix.fix.plan import to_yaml

    # NB: a proxy URL may carry user:password@: shown without it (the pod itself gets the pod's own value)
    shown = {**manifest, "spec": {**manifest["spec"], "containers": [
        {**c, "command": ["sh", "-c", "<the node check script: kubectl podfix node-check --show-script>"],
         "env": [{**e, "value": parse.redact(e.get("value") or "")} for e in c.get("env") or []]}
        for c in manifest["spec"]["containers"]]}}
    lines = [f"Plan: node check of registry {report.registry} from node {report.node} (for pod {report.pod}, image "
             f"{report.target_image})",
             f"  note: check pod image {report.image}: {report.image_why}"]
    lines += [f"  note: {n}" for n in report.notes]
    lines.append(f"  note: the pod runs at most {manifest['spec']['activeDeadlineSeconds']}s, as user 65534, without a "
                 "ServiceAccount token, and is deleted when podfix is done (also on failure, timeout and Ctrl-C)")
    if young:
        lines.append("  note: check pods of another run still going on are left alone: "
                     + ", ".join(dig(p, "metadata.name") for p in young))
    lines.append("")
    step = 1
    if old:
        lines.append(f"{step}. delete leftover check pod(s) of earlier runs: " + ", ".join(dig(p, "metadata.name") for p in old))
        step += 1
    lines.append(f"{step}. create pod/{manifest['metadata']['name']} -n {manifest['metadata']['namespace']}:")
    lines += ["    " + line for line in to_yaml(shown).splitlines()]
    lines.append(f"{step + 1}. read its log, then delete pod/{manifest['metadata']['name']}")
    return "\n".join(lines) + "\n"


# -- running it -------------------------------------------------------------------------------------------

def _rejection(exc) -> str:
    said = redact.scrub(" ".join((getattr(exc, "server_message", "") or "").split()))
    low = said.lower()
    if "podsecurity" in low:
        return f"the check pod was rejected by Pod Security admission: {said}"
    if "exceeded quota" in low or "quota" in low and getattr(exc, "status", 0) == 403:
        return f"the check pod was rejected by a ResourceQuota: {said}"
    if getattr(exc, "status", 0) == 403:
        return (f"you may not create pods in namespace {exc.path.split('/namespaces/')[-1].split('/')[0]}: {said or exc.message} "
                "(the node check needs create/get/delete on pods and get on pods/log)")
    return f"the check pod was rejected: {exc.message}"


def _state(pod: dict) -> tuple[str, str]:
    """("done" | "pull-failed" | "failed" | "pending", why) for the check pod."""
    phase = dig(pod, "status.phase")
    statuses = dig(pod, "status.containerStatuses", []) or []
    for s in statuses:
        waiting = dig(s, "state.waiting") or {}
        if waiting.get("reason") in PULL_REASONS:
            return "pull-failed", f"{waiting.get('reason')}: {waiting.get('message') or ''}".strip(": ")
        if waiting.get("reason") in START_FAILURES:
            return "failed", f"{waiting.get('reason')}: {waiting.get('message') or ''}".strip(": ")
    if phase in ("Succeeded", "Failed"):
        return "done", dig(pod, "status.reason") or phase
    return "pending", phase or "Pending"


def run_check(cluster, namespace: str, pod_name: str, *, findings: list[Finding] | None = None,
              check_image: str | None = None, yes: bool = False, interactive: bool = False,
              timeout: float = 120.0, out: TextIO | None = None, err: TextIO | None = None,
              confirm: Callable[[str], bool] | None = None, poll: float = 1.0,
              sleep: Callable[[float], None] = time.sleep, name: str | None = None) -> CheckReport:
    from kubectl_podfix.cluster.api import ApiError

    out = _Scrubbed(out or sys.stdout)
    err = _Scrubbed(err or sys.stderr)
    try:
        pod = cluster.get("Pod", namespace, pod_name)
    except ApiError as exc:
        if exc.status == 404:
            raise PodfixError(f'pod "{pod_name}" not found in namespace "{namespace}"') from None
        raise
    node_name = dig(pod, "spec.nodeName")
    if not node_name:
        raise PodfixError(f"pod {pod_name} is not on a node yet (it is not scheduled): there is no node to check "
                          f"from; see kubectl podfix explain {pod_name} -n {namespace}")
    if findings is None:
        findings = _diagnose(cluster, namespace, pod_name)
    container, target_image, finding = pick_target(pod, findings)
    if not target_image:
        raise PodfixError(f"pod {pod_name} names no image to check")
    notes: list[str] = []
    node = read_node(cluster, node_name, notes)
    try:
        spec.registry_endpoint(target_image)
    except spec.BadEndpoint as exc:
        raise PodfixError(f"{exc} (image {target_image!r} of pod {pod_name}): podfix does not pass it to the check "
                          "pod's tools; nothing was created", Exit.REFUSED) from None
    image, why = spec.choose_image(node, check_image)
    manifest = spec.build(pod, node, image=image, target_image=target_image, container=container, name=name)
    for env in manifest["spec"]["containers"][0]["env"]:
        if env["name"] in spec.PROXY_VARS:  # user:password of a proxy URL: never printed, logged or saved
            redact.remember_url_credentials(env.get("value"))
    check_name = manifest["metadata"]["name"]
    host, port = spec.registry_endpoint(target_image)
    report = CheckReport(namespace, pod_name, node_name, check_name, image, why, f"{host}:{port}", target_image,
                         container, finding.code if finding else None, notes=notes)
    if finding is None:
        notes.append("no image-pull finding on this pod: probing the registry of its image anyway")
    if any(e["name"] not in ("REGISTRY_HOST", "REGISTRY_PORT", "CHECK_STEP_TIMEOUT")
           for e in manifest["spec"]["containers"][0]["env"]):
        notes.append("the container's proxy variables are copied, to test the registry through that proxy too")
    old, young = leftovers(cluster, namespace)
    out.write(plan_text(manifest, report, old, young))

    if not yes:
        if not interactive:
            err.write("not run: no terminal to confirm on; re-run with --yes to create the check pod\n")
            report.outcome, report.code = "not-run", Exit.REFUSED
            report.message = "not run: not confirmed (use --yes)"
            return report
        ask = confirm or _confirm
        if not ask(f"Create check pod {check_name} on node {node_name}?"):
            err.write("not run: not confirmed\n")
            report.outcome, report.code, report.message = "not-run", Exit.REFUSED, "not run: not confirmed"
            return report

    for p in old:
        _delete(cluster, namespace, dig(p, "metadata.name"), report, "leftover")

    sent = answered = False
    text = ""
    with signals_as_interrupt():
        try:
            try:
                # from here on the check pod may exist, even when the answer never comes: its name was chosen
                # before sending, so the finally can delete it whatever happens next
                sent = True
                cluster.create("Pod", namespace, manifest)
                answered = True
            except ApiError as exc:  # the server answered with an error: nothing was created
                sent = False
                if exc.status in (403, 422, 400):
                    report.outcome, report.code = "rejected", Exit.REFUSED
                    report.message = _rejection(exc)
                    return report
                raise
            text = _wait(cluster, namespace, check_name, report, timeout=timeout, poll=poll, sleep=sleep, err=err)
        except BaseException:
            if sent:  # leaving early (Ctrl-C, SIGTERM, a timeout): the report is never printed, say it here
                _delete(cluster, namespace, check_name, report, "check", uncertain=not answered)
                sent = False
                for line in report.cleanup:
                    err.write(f"cleanup: {line}\n")
            raise
        finally:
            if sent:
                _delete(cluster, namespace, check_name, report, "check", uncertain=not answered)
    _conclude(cluster, report, text, node)
    return report


@contextlib.contextmanager
def signals_as_interrupt():
    """SIGTERM and SIGHUP raise KeyboardInterrupt (like Ctrl-C) while the check pod may exist, so the
    ``finally`` that deletes it runs. Only where the process has no handler of its own for them (the
    default action would end it without cleanup); the previous handlers come back afterwards."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    installed = []
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL, None):
            installed.append((sig, signal.signal(sig, interrupt)))
    try:
        yield
    finally:
        for sig, previous in installed:
            signal.signal(sig, previous)


def _diagnose(cluster, namespace: str, pod_name: str) -> list[Finding]:
    try:
        from kubectl_podfix.cluster.gather import gather_pod
        from kubectl_podfix.diagnose.context import contexts
        from kubectl_podfix.diagnose.rules import diagnose

        ctxs = contexts(gather_pod(cluster, namespace, pod_name))
        return diagnose(ctxs[0]) if ctxs else []
    except (ImportError, PodfixError):
        return []


def _wait(cluster, namespace: str, name: str, report: CheckReport, *, timeout: float, poll: float,
          sleep: Callable[[float], None], err: TextIO) -> str:
    """Poll the check pod; return its log ("" when there is none). Sets report.outcome/message."""
    from kubectl_podfix.cluster.api import ApiError

    started = time.monotonic()
    progress = bool(getattr(err, "isatty", lambda: False)())
    pod: dict = {}
    try:
        while True:
            try:
                pod = cluster.get("Pod", namespace, name)
            except ApiError as exc:
                if exc.status == 404:
                    report.outcome, report.code = "failed", Exit.ERROR
                    report.message = f"the check pod {name} disappeared before it finished (deleted by someone else?)"
                    return ""
                raise
            state, why = _state(pod)
            if state == "pull-failed":
                report.outcome = "pull-failed"
                report.message = f"the node could not pull the check pod's image {report.image} either ({why})"
                return ""
            if state == "failed":
                report.outcome, report.code = "failed", Exit.ERROR
                report.message = f"the check pod's container could not start: {why}"
                return _log(cluster, namespace, name)
            if state == "done":
                report.outcome = "completed"
                if why not in ("Succeeded", "Failed"):
                    report.message = f"the check pod ended: {why}"
                return _log(cluster, namespace, name)
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                report.outcome, report.code = "timeout", Exit.ERROR
                report.message = (f"the check pod did not finish within {int(timeout)}s (still {why}); "
                                  "what it printed so far is used")
                return _log(cluster, namespace, name) if dig(pod, "status.phase") == "Running" else ""
            if progress:
                err.write(f"\r\033[Kcheck pod {name} on {report.node}: {why}, {int(elapsed)}s...")
                err.flush()
            sleep(min(poll, max(timeout - elapsed, 0.05)))
    finally:
        if progress:
            err.write("\r\033[K")
            err.flush()


def _log(cluster, namespace: str, name: str) -> str:
    from kubectl_podfix.cluster.api import ApiError

    try:
        return cluster.log(namespace, name, spec.CONTAINER, previous=False, tail=LOG_LINES) or ""
    except ApiError:
        return ""


def _delete(cluster, namespace: str, name: str, report: CheckReport, what: str, *, uncertain: bool = False,
            sleep: Callable[[float], None] = time.sleep) -> None:
    """Delete pod ``name``. ``uncertain``: its create got no answer, so the server may store it after a
    first 404: look again for ``UNCERTAIN_CLEANUP`` seconds before concluding it was never created."""
    from kubectl_podfix.cluster.api import ApiError

    deadline = time.monotonic() + (UNCERTAIN_CLEANUP if uncertain else 0)
    try:
        while True:
            try:
                cluster.delete("Pod", namespace, name)
                report.cleanup.append(f"deleted {what} pod {name}")
                return
            except ApiError as exc:
                if exc.status != 404:
                    report.cleanup.append(f"could NOT delete {what} pod {name}: {exc.message}; delete it with: "
                                          f"kubectl delete pod {name} -n {namespace}")
                    return
                if time.monotonic() >= deadline:
                    report.cleanup.append(
                        f"{what} pod {name} already gone" if not uncertain else
                        f"{what} pod {name} was not found (its create got no answer); if it shows up later: "
                        f"kubectl delete pod {name} -n {namespace} (it stops by itself after "
                        f"{spec.DEADLINE}s, and the next node check deletes it as a leftover)")
                    return
            except PodfixError as exc:  # no answer to the delete either (timeout, connection)
                report.cleanup.append(f"could NOT delete {what} pod {name}: {exc.message}; delete it with: "
                                      f"kubectl delete pod {name} -n {namespace}")
                return
            sleep(0.25)
    except KeyboardInterrupt:
        report.cleanup.append(f"interrupted while deleting {what} pod {name}: kubectl delete pod {name} -n {namespace}")
        raise


def _conclude(cluster, report: CheckReport, text: str, node: dict | None) -> None:
    if text:
        log = parse.parse(text)
        if not log.version:
            last = [parse.redact(line.strip()) for line in text.splitlines() if line.strip()]
            report.outcome, report.code = "failed", Exit.ERROR
            report.message = "the check pod printed no results" + (f": {last[-1][:200]}" if last else "")
            return
        report.log = log
        report.steps = parse.interpret(log)
        report.verdict = parse.verdict(log, report.steps, node=report.node, code=report.finding)
        if not log.complete:
            report.notes.append("the check pod did not finish every step (its deadline, or it was stopped): "
                                "the results are partial")
    if report.outcome == "pull-failed":
        report.verdict = _pull_verdict(report)
    disk_step = next((s for s in report.steps if s.name == "disk"), None)
    if report.finding in DISK_CODES or (disk_step is not None and disk_step.ok is False):
        report.node_disk = node_disk(cluster, report.node, node)
        if report.finding in DISK_CODES:
            report.verdict = _disk_verdict(report, disk_step)


def _pull_verdict(report: CheckReport) -> parse.Verdict:
    from kubectl_podfix.registry.reference import registry_of

    try:
        from kubectl_podfix.diagnose.rules.images import classify
        cause = classify(report.message).code
    except ImportError:
        cause = ""
    check_registry = registry_of(report.image) or "docker.io"
    target_registry = registry_of(report.target_image) or "docker.io"
    where = "Docker Hub" if check_registry == "docker.io" else check_registry
    same = check_registry == target_registry
    head = (f"from {report.node}: the node cannot pull {report.image} from {where} either: "
            + ("the node cannot pull from this registry at all" if same else "a node-wide problem"))
    meaning = (f"The check pod's own pull failed ({report.message.split('(', 1)[-1].rstrip(')')})"
               + (f", classified as {cause}" if cause else "") + ". " +
               ("Both images come from the same registry, so it is the node-to-registry path (network, DNS, proxy, "
                "certificate) or the node itself (disk, runtime) that fails, not the image."
                if same else f"A different registry fails too, so the problem is not specific to {report.target_image}:"
                " look at the node's network egress, DNS, proxy, disk and container runtime. --image with an "
                "image the node already has (or from the same registry) tests further."))
    return parse.Verdict("pull", cause or "pull-failed", head, meaning, True)


def _disk_verdict(report: CheckReport, step: parse.Step | None) -> parse.Verdict:
    disk = report.node_disk or {}
    image_fs = disk.get("imageFs") or disk.get("nodeFs") or {}
    pct = image_fs.get("usedPercent")
    if pct is None and step is not None:
        pct = step.data.get("usedPercent")
    pressure = disk.get("diskPressure") == "True"
    facts = "; ".join(x for x in (disk.get("summary"), step.summary if step else "") if x)
    if pressure or (pct is not None and pct >= parse.DISK_HIGH):
        return parse.Verdict("disk", "full", f"from {report.node}: the image filesystem is "
                                   f"{pct if pct is not None else '?'}% used" + (", DiskPressure" if pressure else ""),
                                   f"{facts}. The runtime cannot store the image's layers: free space on the node "
                                   "(crictl rmi --prune; the kubelet's image GC starts at 85%) or grow its disk.", True)
    return parse.Verdict(None, "space-now", f"from {report.node}: the image filesystem has space now "
                               f"({pct if pct is not None else '?'}% used)",
                               f"{facts}. The disk filled while the image was unpacked and has been freed since "
                               "(image GC), or the image is larger than the free space: compare the image's "
                               "uncompressed size with the free space above.", False)


def _confirm(question: str) -> bool:
    import click

    return click.confirm(question, default=False, err=True)


# -- text -----------------------------------------------------------------------------------------------

def report_text(report: CheckReport) -> str:
    lines = [f"Node check of {report.registry} from node {report.node} (pod {report.check_pod}, image {report.image}):"]
    if report.outcome == "rejected":
        lines.append(f"  not run: {report.message}")
    elif report.outcome == "not-run":
        lines.append(f"  {report.message}")
    for s in report.steps:
        mark = "ok" if s.ok else "FAILED" if s.ok is False else "-"
        lines.append(f"  {s.name:<8} {mark:<7} {s.summary}")
    if report.outcome not in ("completed", "rejected", "not-run") and report.message:
        lines.append(f"  {report.message}")
    if report.verdict is not None:
        lines.append(f"Verdict: {report.verdict.headline}")
        lines.append(f"  {report.verdict.meaning}")
    if report.node_disk and report.node_disk.get("summary"):
        lines.append(f"Node disk: {report.node_disk['summary']}")
    for c in report.cleanup:
        lines.append(f"Cleanup: {c}")
    return redact.scrub("\n".join(lines) + "\n")


# -- explain --node-check -------------------------------------------------------------------------------

def attach(cluster, results: list, *, yes: bool, interactive: bool, err: TextIO, check_image: str | None = None,
           timeout: float = 120.0) -> tuple[int, list[str]]:
    """Run the node check for each pod with an image-pull finding and attach the report to that finding.

    Returns (exit code, warnings). The plan and questions go to ``err`` (stdout is the report)."""
    code, warnings = 0, []
    for r in results:
        findings = r.findings
        target = next((f for f in findings if f.code.startswith("image.")), None)
        if target is None:
            warnings.append(f"--node-check: pod {r.ctx.name} has no image-pull finding to check")
            continue
        try:
            report = run_check(cluster, r.ctx.namespace, r.ctx.name, findings=findings, check_image=check_image,
                               yes=yes, interactive=interactive, timeout=timeout, out=err, err=err)
        except PodfixError as exc:  # e.g. the pod is not on a node: the diagnosis still stands
            warnings.append(f"--node-check: {exc.message}")
            code = max(code, exc.code)
            continue
        target.extra["nodeCheck"] = report.to_dict()
        target.evidence.extend(report.evidence())
        if report.code:
            code = max(code, report.code)
        if report.outcome in ("rejected", "not-run"):
            warnings.append(f"--node-check: {report.message}")
    return code, warnings
