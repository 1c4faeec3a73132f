"""``kubectl podfix fix <fix-id> POD|TYPE/NAME``: memory, probe, image, restart, pull-secret, pod-security,
service-account.

Each subcommand reads what its planner needs (``fixes.workload.resolve`` finds
the top controller; then metrics, nodes, the registry...), calls the pure
planner in ``fixes/`` and hands the plan to ``engine.run``, which shows the
diff, checks RBAC, dry-runs, confirms, applies and waits. Nothing here writes
to the cluster itself.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from decimal import Decimal
from typing import Any, Callable

import click

from kubectl_podfix.cli.options import (
    CONTEXT_SETTINGS,
    Group,
    connect,
    connection_options,
    engine_options,
    isatty,
    parse_wait_timeout,
    target_argument,
)
from kubectl_podfix.diagnose.model import dig, parse_time
from kubectl_podfix.errors import Exit, PodfixError, Refused, UsageError

TARGET = "POD | TYPE/NAME"
OOM_REASON = "OOMKilled"
PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError"}
METRICS_PODS = 5  # PodMetrics read per workload for the observed peak


def _target_options(func: Callable) -> Callable:
    func = click.option("-c", "--container", metavar="NAME",
                        help="The container to fix (default: the one the problem is in).")(func)
    func = target_argument(TARGET, required=True)(func)
    return func


@click.group("fix", cls=Group, context_settings=CONTEXT_SETTINGS)
def fix() -> None:
    """Fix a diagnosed problem on the workload that owns the pod.

    \b
    kubectl podfix fix memory POD -n NS            raise an OOM-killed container's memory limit
    kubectl podfix fix probe POD -n NS             give a slow starter a startupProbe (or loosen a probe)
    kubectl podfix fix image POD -n NS --check-registry   pick an existing tag (or --image NEW)
    kubectl podfix fix restart deploy/web -n NS    delete failing pods so they are recreated now
    kubectl podfix fix pull-secret POD --name regcred ...  the secret command's flow
    kubectl podfix fix pod-security deploy/web -n NS      set the fields a Pod Security rejection names
    kubectl podfix fix service-account deploy/web -n NS   create the missing ServiceAccount the pods run as

    Every change goes to the top controller (ReplicaSet -> Deployment, Job -> CronJob) as a JSON patch
    that first tests what it changes (a concurrent change is never overwritten); the plan shows the diff
    and the command that undoes it.
    """


# -- shared flow ----------------------------------------------------------------------------------

def _interactive() -> bool:
    return isatty(sys.stdin) and isatty(sys.stderr)


def _execute(plan_fn: Callable[..., Any], cluster, *, dry_run: str, yes: bool, wait: bool | None,
             timeout: str, target: str | None = None) -> None:
    """Build the plan (printing the explanation when the target cannot be patched) and run the engine.

    ``plan_fn(w)`` plans from a workload read by ``_resolve``; when a write is refused because the object
    changed meanwhile, the engine asks for a new plan (on a terminal): ``target`` is read again for it."""
    from kubectl_podfix.fix import engine
    from kubectl_podfix.fix.workload import NotPatchable, resolve
    from kubectl_podfix.render.plan import plan_text
    from kubectl_podfix.render.terminal import use_color

    seconds = parse_wait_timeout(timeout)

    def build(fresh: bool):
        try:
            return plan_fn(resolve(cluster, cluster.conn.namespace, target) if fresh else None)
        except NotPatchable as exc:
            sys.stdout.write(plan_text(exc.plan, color=use_color(sys.stdout), blocked=True))
            raise

    plan = build(False)
    result = engine.run(plan, cluster, dry_run=dry_run, yes=yes, interactive=_interactive(),
                        wait=True if wait is None else wait, timeout=seconds, out=sys.stdout, err=sys.stderr,
                        replan=(lambda: build(True)) if target else None)
    if result.error:
        raise PodfixError(result.error, result.code)
    if result.code:
        raise SystemExit(int(result.code))


def _resolve(opts: dict, target: str, timeout: str | None = None):
    """Connect and read the target. Every usage error comes first: connecting may run an exec credential
    plugin, which a command that cannot go on must not start."""
    from kubectl_podfix.fix.workload import parse_target, resolve

    parse_target(target)
    if timeout is not None:
        parse_wait_timeout(timeout)
    cluster = connect(opts)
    return cluster, resolve(cluster, cluster.conn.namespace, target)


def _statuses(pod: dict | None):
    for key, is_init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for s in dig(pod, "status." + key, []) or []:
            if isinstance(s, dict):
                yield s, is_init


def _pick_container(w, container: str | None, wanted: Callable[[dict], bool], what: str) -> str:
    """The container named by -c, else the one (in the pod, else any pod of the workload) ``wanted`` picks,
    else the only container."""
    from kubectl_podfix.fix.workload import container_names

    source = w.top if w.top is not None else w.pod
    names = container_names(source) if source else []
    if container:
        if container not in names:
            raise UsageError(f"no container {container!r} in {_label(w)} (it has: {', '.join(names) or 'none'})")
        return container
    for pod in ([w.pod] if w.pod else []) + [p for p in w.pods if p is not w.pod]:
        hits = [s.get("name") for s, _ in _statuses(pod) if wanted(s) and s.get("name") in names]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UsageError(f"several containers {what} ({', '.join(hits)}): choose one with -c")
    app = [c.get("name") for c in dig(source, "spec.template.spec.containers", None)
           or dig(source, "spec.jobTemplate.spec.template.spec.containers", None)
           or dig(source, "spec.containers", []) or []]
    if len(app) == 1:
        return app[0]
    raise UsageError(f"no container {what} in {_label(w)}: choose one with -c (one of {', '.join(names)})")


def _label(w) -> str:
    from kubectl_podfix.fix.workload import ref

    if w.top is not None:
        return ref(w.top)
    return f"pod/{dig(w.pod, 'metadata.name')}"


def _findings(cluster, w) -> list:
    """The pod's findings (the rules' own diagnosis), or [] when they cannot be computed."""
    if w.pod is None:
        return []
    try:
        from kubectl_podfix.cluster.gather import gather_pod
        from kubectl_podfix.diagnose.context import contexts
        from kubectl_podfix.diagnose.rules import diagnose

        snap = gather_pod(cluster, w.namespace, dig(w.pod, "metadata.name"))
        ctxs = contexts(snap)
        return diagnose(ctxs[0]) if ctxs else []
    except (ImportError, PodfixError):
        return []


# -- memory -----------------------------------------------------------------------------------------

def _oom(status: dict) -> bool:
    return OOM_REASON in (dig(status, "lastState.terminated.reason"), dig(status, "state.terminated.reason"))


def read_peak(cluster, w, container: str) -> tuple[Decimal | None, str | None]:
    """The highest memory use of ``container`` across (up to METRICS_PODS of) the workload's pods."""
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.fix.quantity import parse_quantity

    pods = ([w.pod] if w.pod else []) + [p for p in w.pods if p is not w.pod]
    peak: Decimal | None = None
    for pod in pods[:METRICS_PODS]:
        try:
            metrics = cluster.get("PodMetrics", w.namespace, dig(pod, "metadata.name"))
        except ApiError as exc:
            if exc.status == 404 and peak is None and pod is pods[0]:
                return None, ("no usage metrics (metrics.k8s.io is not served: no metrics-server?), so the new "
                              "limit is based on the current limit alone")
            if exc.status == 403:
                return peak, "usage metrics could not be read (forbidden): the new limit is based on the current limit"
            continue
        for c in metrics.get("containers") or []:
            if c.get("name") == container and dig(c, "usage.memory"):
                try:
                    used = parse_quantity(str(dig(c, "usage.memory")), "memory usage")
                except UsageError:
                    continue
                peak = used if peak is None else max(peak, used)
    note = None if peak is not None else "no usage metrics for this container: the new limit is based on the current limit"
    return peak, note


def read_node_max(cluster) -> tuple[Decimal | None, str | None, str | None]:
    """(largest node allocatable memory, its node, a note when it could not be read)."""
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.fix.quantity import parse_quantity

    try:
        nodes = list(cluster.list("Node"))
    except ApiError as exc:
        if exc.status in (403, 404):
            return None, None, ("the nodes could not be listed (forbidden), so podfix could not check the new "
                                "limit fits on a node")
        raise
    best: tuple[Decimal, str] | None = None
    for node in nodes:
        value = dig(node, "status.allocatable.memory")
        if not value:
            continue
        try:
            amount = parse_quantity(str(value), "node allocatable memory")
        except UsageError:
            continue
        if best is None or amount > best[0]:
            best = (amount, dig(node, "metadata.name"))
    if best is None:
        return None, None, "no node reports its allocatable memory: the new limit was not checked against nodes"
    return best[0], best[1], None


@fix.command("memory", context_settings=CONTEXT_SETTINGS)
@_target_options
@click.option("--memory", metavar="QUANTITY",
              help="The new memory limit, e.g. 768Mi or 2Gi (default: max(2 x limit, peak + 25%), rounded up).")
@engine_options
@connection_options
def memory_cmd(target: str, container: str | None, memory: str | None, dry_run: str, yes: bool,
               wait: bool | None, timeout: str, **opts: Any) -> None:
    """Raise an OOM-killed container's memory limit (and its request if it would exceed it).

    The change goes to the owning Deployment/StatefulSet/DaemonSet or CronJob's pod template; a bare pod
    or a standalone Job cannot be changed in place, so podfix prints the manifest to recreate it.
    """
    from kubectl_podfix.fix.memory import MemoryInput, plan_memory
    from kubectl_podfix.fix.quantity import parse_quantity

    if memory is not None:  # usage errors before any request
        amount = parse_quantity(memory, "--memory")
        if amount <= 0:
            raise UsageError(f"invalid --memory {memory!r}: must be more than 0")
        if amount != amount.to_integral_value():  # "512m" is 0.512 bytes, a limit no container starts with
            raise UsageError(f"invalid --memory {memory!r}: that is {amount.normalize():f} bytes, not a whole number "
                             "(m means thousandths); use binary units like 512Mi or 2Gi")
    cluster, w = _resolve(opts, target, timeout)
    name = _pick_container(w, container, _oom, "was OOM-killed")
    if memory is None and not any(_oom(s) for p in ([w.pod] if w.pod else []) + list(w.pods)
                                  for s, _ in _statuses(p) if s.get("name") == name):
        raise PodfixError(f"container {name} of {_label(w)} was not OOM-killed, so podfix has no reason to raise "
                          "its memory: pass --memory SIZE to set the limit anyway", Exit.REFUSED)
    peak, metrics_note = read_peak(cluster, w, name)
    node_max, node_name, node_note = read_node_max(cluster)
    inp = MemoryInput(w, name, peak=peak, node_max=node_max, node_max_name=node_name, node_note=node_note,
                      metrics_note=metrics_note)
    _execute(lambda fresh: plan_memory(replace(inp, workload=fresh) if fresh else inp, memory=memory), cluster,
             dry_run=dry_run, yes=yes, wait=wait, timeout=timeout, target=target)


# -- probe ------------------------------------------------------------------------------------------

PROBE_CODES = {"container.liveness-probe-failed": "liveness", "container.startup-probe-failed": "startup",
               "container.readiness-probe-failed": "readiness"}


def _seconds(a: Any, b: Any) -> float | None:
    start, end = parse_time(a), parse_time(b)
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def observed_start(pods: list[dict], container: str) -> float | None:
    """The longest time from container start to pod Ready seen among ``pods`` (None when none got Ready)."""
    longest = None
    for pod in pods:
        ready = next((c for c in dig(pod, "status.conditions", []) or []
                      if c.get("type") == "Ready" and c.get("status") == "True"), None)
        if not ready:
            continue
        for s, _ in _statuses(pod):
            if s.get("name") == container and s.get("ready"):
                took = _seconds(dig(s, "state.running.startedAt"), ready.get("lastTransitionTime"))
                if took is not None:
                    longest = took if longest is None else max(longest, took)
    return longest


def last_run(pod: dict | None, container: str) -> float | None:
    for s, _ in _statuses(pod):
        if s.get("name") == container:
            term = dig(s, "lastState.terminated") or dig(s, "state.terminated") or {}
            return _seconds(term.get("startedAt"), term.get("finishedAt"))
    return None


@fix.command("probe", context_settings=CONTEXT_SETTINGS)
@_target_options
@click.option("--probe", "probe_kind", type=click.Choice(("liveness", "readiness", "startup")),
              help="The probe to change (default: the one that failed).")
@click.option("--initial-delay", type=click.IntRange(min=0), metavar="SECONDS", help="Set initialDelaySeconds.")
@click.option("--failure-threshold", type=click.IntRange(min=1), metavar="N", help="Set failureThreshold.")
@click.option("--timeout-seconds", type=click.IntRange(min=1), metavar="SECONDS", help="Set timeoutSeconds.")
@engine_options
@connection_options
def probe_cmd(target: str, container: str | None, probe_kind: str | None, initial_delay: int | None,
              failure_threshold: int | None, timeout_seconds: int | None, dry_run: str, yes: bool,
              wait: bool | None, timeout: str, **opts: Any) -> None:
    """Give a slow starter a startupProbe, or change a probe's delay, threshold or timeout.

    Default for a liveness kill: a startupProbe mirroring the liveness probe with a budget covering the
    observed start time. --initial-delay/--failure-threshold/--timeout-seconds set exactly those fields.
    """
    from kubectl_podfix.fix.probe import ProbeInput, plan_probe

    cluster, w = _resolve(opts, target, timeout)
    kind, result, name = probe_kind, None, container
    for f in _findings(cluster, w):
        if f.code in PROBE_CODES and (name is None or f.container == name) \
                and (probe_kind is None or PROBE_CODES[f.code] == probe_kind):
            name, kind = f.container, kind or PROBE_CODES[f.code]
            result = (f.extra or {}).get("result")
            break
    if name is None:
        name = _pick_container(w, None, lambda s: (s.get("restartCount") or 0) > 0 or s.get("ready") is False,
                               "is restarting or not Ready")
    if kind is None:
        source = w.top if w.top is not None else w.pod
        from kubectl_podfix.fix.workload import find_container

        spec, _ = find_container(source, name)
        restarted = any((s.get("restartCount") or 0) > 0 for s, _ in _statuses(w.pod) if s.get("name") == name)
        kind = "liveness" if restarted and (spec or {}).get("livenessProbe") else \
            "readiness" if (spec or {}).get("readinessProbe") else None
        if kind is None:
            raise Refused(f"no failing probe found for container {name}: choose one with --probe")
    inp = ProbeInput(w, name, kind, result=result, observed_start=observed_start(w.pods, name),
                     last_run=last_run(w.pod, name))
    _execute(lambda fresh: plan_probe(replace(inp, workload=fresh) if fresh else inp, probe=probe_kind,
                                      initial_delay=initial_delay, failure_threshold=failure_threshold,
                                      timeout_seconds=timeout_seconds),
             cluster, dry_run=dry_run, yes=yes, wait=wait, timeout=timeout, target=target)


# -- image ------------------------------------------------------------------------------------------

def _pull_failing(status: dict) -> bool:
    return dig(status, "state.waiting.reason") in PULL_REASONS


def read_pull_secrets(cluster, w) -> tuple[list[tuple[str, dict]], list[str]]:
    """The pod's pull secrets WITH their values (in memory only, for registry credentials)."""
    from kubectl_podfix.cluster.api import ApiError

    out, notes = [], []
    source = w.pod if w.pod is not None else w.top
    spec = dig(source, "spec", {}) if source is w.pod else None
    if spec is None:
        from kubectl_podfix.fix.workload import pod_spec

        spec = pod_spec(source) if source else {}
    for ref in spec.get("imagePullSecrets") or []:
        name = (ref or {}).get("name")
        if not name:
            continue
        try:
            out.append((name, cluster.get_secret_raw(w.namespace, name)))
        except ApiError as exc:
            notes.append(f"pull secret {name} could not be read ({'not found' if exc.status == 404 else exc.message})")
    return out, notes


@fix.command("image", context_settings=CONTEXT_SETTINGS)
@_target_options
@click.option("--image", "new_image", metavar="IMAGE", help="The image reference to set.")
@click.option("--check-registry", is_flag=True,
              help="List the repository's tags and offer the closest existing ones (or those with the node's platform).")
@click.option("--insecure-registry", is_flag=True, help="Skip TLS verification / allow plain http for the registry.")
@click.option("--no-verify", is_flag=True, help="Patch without checking that the image exists (not recommended).")
@engine_options
@connection_options
def image_cmd(target: str, container: str | None, new_image: str | None, check_registry: bool,
              insecure_registry: bool, no_verify: bool, dry_run: str, yes: bool, wait: bool | None, timeout: str,
              **opts: Any) -> None:
    """Point a container at an image reference that exists (and has the node's platform).

    With --check-registry podfix lists the repository's tags (credentials from the pod's pull secrets or
    ~/.docker/config.json) and offers the closest ones ("lates" -> "latest"); --image NEW sets it
    explicitly. The new reference is checked in the registry before anything is patched.
    """
    from kubectl_podfix.fix import image as imgfix
    from kubectl_podfix.fix.workload import find_container

    if not new_image and not check_registry:
        raise UsageError("pass --image NEW, or --check-registry to choose among the registry's tags")
    if new_image and imgfix.parse_image(new_image) is None:
        raise UsageError(f"invalid --image {new_image!r}")
    cluster, w = _resolve(opts, target, timeout)
    name = _pick_container(w, container, _pull_failing, "fails to pull its image")
    source = w.top if w.top is not None else w.pod
    spec, _ = find_container(source, name)
    current = (spec or {}).get("image") or ""
    codes = {f.code for f in _findings(cluster, w) if f.container == name}
    platform = None
    if codes & {"image.platform-mismatch", "container.exec-format-error"}:
        platform = _node_platform(cluster, w)
    secrets, notes = read_pull_secrets(cluster, w)
    auth, more = imgfix.registry_credentials(new_image or current, secrets)
    notes += more
    del secrets  # the raw Secrets are not needed any longer
    if auth:
        notes.append(f"registry credentials: {auth.source} (user {auth.username})")
    if not new_image:
        suggestion = imgfix.suggest(current, auth=auth, insecure=insecure_registry, node_platform=platform)
        notes += suggestion.notes
        if not suggestion.candidates:
            raise PodfixError(f"no tag of {current.rsplit(':', 1)[0]} looks like what was meant "
                              f"({suggestion.tags} tags listed; {suggestion.reason}): choose one with --image",
                              Exit.REFUSED)
        new_image = _choose(suggestion, yes)
        notes.append(f"suggested ({suggestion.reason}): {', '.join(suggestion.candidates)}; chosen: {new_image}")
    verified = None
    if no_verify:
        notes.append(f"{new_image} was not checked in the registry (--no-verify)")
    elif dry_run == "client" and not check_registry:
        notes.append(f"{new_image} was not checked in the registry: --dry-run=client contacts no registry (add "
                     "--check-registry to check, or run without --dry-run=client: the image is checked before "
                     "anything is patched)")
    else:
        verified = imgfix.verify(new_image, auth=auth, insecure=insecure_registry, node_platform=platform)

    def build(fresh):
        plan = imgfix.plan_image(fresh or w, name, new_image, verified=verified)
        plan.notes[:0] = notes
        return plan

    _execute(build, cluster, dry_run=dry_run, yes=yes, wait=wait, timeout=timeout, target=target)


def _node_platform(cluster, w) -> str | None:
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.fix.image import node_platform

    node_name = dig(w.pod, "spec.nodeName")
    if not node_name:
        return None
    try:
        return node_platform(cluster.get("Node", None, node_name))
    except ApiError:
        return None


def _choose(suggestion, yes: bool) -> str:
    candidates = suggestion.candidates
    if yes or not _interactive() or len(candidates) == 1:
        return candidates[0]
    click.echo(f"Tags that exist ({suggestion.reason}):", err=True)
    for i, c in enumerate(candidates, 1):
        click.echo(f"  {i}. {c}", err=True)
    pick = click.prompt("Use which one", type=click.IntRange(1, len(candidates)), default=1, err=True)
    return candidates[pick - 1]


# -- restart ----------------------------------------------------------------------------------------

@fix.command("restart", context_settings=CONTEXT_SETTINGS)
@target_argument(TARGET, required=True)
@click.option("--recreate-bare", is_flag=True,
              help="Also delete a bare pod (no controller) and create it again from its manifest.")
@engine_options
@connection_options
def restart_cmd(target: str, recreate_bare: bool, dry_run: str, yes: bool, wait: bool | None, timeout: str,
                **opts: Any) -> None:
    """Delete the failing pods of a workload so their controller recreates them now.

    For back-offs that outlive their cause. With POD, only that pod; with TYPE/NAME, every failing pod.
    A bare pod is never deleted without --recreate-bare (and then a confirmation, or --yes).
    """
    from kubectl_podfix.fix.restart import plan_restart
    from kubectl_podfix.fix.workload import parse_target

    kind, _ = parse_target(target)
    cluster, w = _resolve(opts, target, timeout)
    _execute(lambda fresh: plan_restart(fresh or w, only_pod=kind == "Pod", recreate_bare=recreate_bare), cluster,
             dry_run=dry_run, yes=yes, wait=wait, timeout=timeout, target=target)


# -- pull-secret ------------------------------------------------------------------------------------

@fix.command("pull-secret", context_settings=CONTEXT_SETTINGS)
@target_argument(TARGET, required=True)
@click.option("--name", "secret_name", metavar="NAME",
              help="The secret's name (default: the pull secret the pod names, else regcred).")
@click.option("--docker-server", metavar="SERVER", help="Registry host (default: from the failing image).")
@click.option("--docker-username", metavar="USER", help="Registry user name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--docker-email", metavar="EMAIL", help="Email written into the entry (optional).")
@click.option("--from-docker-config", metavar="PATH", help="Take the credentials from a docker config.json.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Log in to the registry before writing anything.")
@click.option("--insecure-registry", is_flag=True, help="With --verify: skip TLS verification / allow plain http.")
@click.option("--overwrite", is_flag=True, help="Update the secret when it exists with other content.")
@engine_options
@connection_options
def pull_secret_cmd(target: str, secret_name: str | None, docker_server: str | None, docker_username: str | None,
                    password_stdin: bool, docker_email: str | None, from_docker_config: str | None, verify: bool,
                    insecure_registry: bool, overwrite: bool, dry_run: str, yes: bool, wait: bool | None,
                    timeout: str, **opts: Any) -> None:
    """Create or repair the pod's pull secret, attach it, restart the pod (the secret command's flow)."""
    from kubectl_podfix.cli.secret import check_credential_flags, run_secret

    # usage errors before the first connection (which may run an exec credential plugin)
    check_credential_flags(username=docker_username, password=None, password_stdin=password_stdin,
                           docker_config=from_docker_config)
    parse_wait_timeout(timeout)
    cluster, w = _resolve(opts, target, timeout)
    if w.pod is None:
        raise PodfixError(f"{target} has no pods to take the failing image from")
    pod_name = dig(w.pod, "metadata.name")
    if not secret_name:
        from kubectl_podfix.fix.workload import pod_spec

        names = [r.get("name") for r in (dig(w.pod, "spec.imagePullSecrets") or
                                         (pod_spec(w.top).get("imagePullSecrets") if w.top else None) or [])
                 if isinstance(r, dict) and r.get("name")]
        secret_name = names[0] if names else "regcred"
    code = run_secret(secret_name, server=docker_server, username=docker_username, password_stdin=password_stdin,
                      email=docker_email, docker_config=from_docker_config, for_pod=pod_name, verify=verify,
                      insecure=insecure_registry, restart=True, overwrite=overwrite, dry_run=dry_run, yes=yes,
                      wait=wait, timeout=timeout, opts=opts, cluster=cluster)
    if code:
        raise SystemExit(code)


# -- workload fixes: pod-security, service-account ------------------------------------------------------

def _workload_finding(cluster, w, code: str):
    """The workload's own finding with ``code`` (the workload rules over what explain TYPE/NAME reads)."""
    from kubectl_podfix.cluster.gather import gather_target
    from kubectl_podfix.diagnose.explain import from_cluster
    from kubectl_podfix.diagnose.workloads.model import SHORT

    top = w.top
    if top is None:
        return None
    target = f"{SHORT.get(top.get('kind'), str(top.get('kind')).lower())}/{dig(top, 'metadata.name')}"
    snap, kind, name = gather_target(cluster, target=target, namespace=w.namespace)
    outcome = from_cluster(snap, kind, name)
    return next((f for r in outcome.workloads for f in r.findings if f.code == code), None)


@fix.command("pod-security", context_settings=CONTEXT_SETTINGS)
@target_argument(TARGET, required=True)
@engine_options
@connection_options
def pod_security_cmd(target: str, dry_run: str, yes: bool, wait: bool | None, timeout: str, **opts: Any) -> None:
    """Set the securityContext fields a Pod Security rejection names, on the workload's pod template.

    \b
    From the API server's own violation list (workload.pod-security-violated): allowPrivilegeEscalation=false
    and capabilities.drop=["ALL"] on the containers it names, runAsNonRoot=true and seccompProfile
    RuntimeDefault on the pod. Refuses, changing nothing, when a violation cannot be fixed by a field
    (privileged, host namespaces, hostPath volumes, hostPort, added capabilities, runAsUser=0).
    """
    from kubectl_podfix.fix.pod_security import plan_pod_security

    cluster, w = _resolve(opts, target, timeout)
    finding = _workload_finding(cluster, w, "workload.pod-security-violated")
    if finding is None:
        raise PodfixError(f"no Pod Security rejection found for {_label(w)} (no FailedCreate event or ReplicaFailure "
                          "condition names one; events expire after an hour): nothing to fix", Exit.REFUSED)
    if finding.extra.get("policy") != "PodSecurity":
        raise PodfixError(f"{_label(w)} is rejected by a legacy PodSecurityPolicy, not Pod Security admission: "
                          "podfix cannot tell which fields that policy wants; see kubectl get psp", Exit.REFUSED)
    violations, level = finding.extra.get("violations") or [], finding.extra.get("level") or "?"
    _execute(lambda fresh: plan_pod_security(fresh or w, violations, level), cluster, dry_run=dry_run, yes=yes,
             wait=wait, timeout=timeout, target=target)


@fix.command("service-account", context_settings=CONTEXT_SETTINGS)
@target_argument(TARGET, required=True)
@engine_options
@connection_options
def service_account_cmd(target: str, dry_run: str, yes: bool, wait: bool | None, timeout: str,
                        **opts: Any) -> None:
    """Create the ServiceAccount the workload's pods run as, when it does not exist.

    The ServiceAccount admission plugin rejects every pod that names a missing account
    (workload.serviceaccount-missing). The account is created empty: no RBAC, pull secrets or cloud identity.
    """
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.fix.service_account import account_of, plan_service_account

    cluster, w = _resolve(opts, target, timeout)
    source = w.top if w.top is not None else w.pod
    name = account_of(source or {})
    try:
        cluster.get("ServiceAccount", w.namespace, name)
        exists = True
    except ApiError as exc:
        if exc.status not in (403, 404):
            raise
        exists = False  # 403: cannot tell; the create answers 409 if it exists after all
    _execute(lambda fresh: plan_service_account(fresh or w, exists, name), cluster, dry_run=dry_run, yes=yes,
             wait=wait, timeout=timeout)
