"""``kubectl podfix secret NAME``: create or repair a registry pull secret, attach it, restart, verify.

The click command only parses flags. ``read_credentials`` turns flags (or a
docker config.json) into ``Credentials``; ``read_situation`` reads what the
planner needs through ``Cluster``; ``fixes.pull_secret`` plans; ``engine.run``
shows, confirms, applies and waits. Nothing here imports the Kubernetes client
at module level, and the password only ever lives in a ``Credentials`` object
(never printed, logged, saved or passed to a subprocess).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from kubectl_podfix.cli.options import (
    CONTEXT_SETTINGS,
    connect,
    connection_options,
    engine_options,
    isatty,
    parse_wait_timeout,
)
from kubectl_podfix.diagnose.model import TARGET_KINDS, kind_of
from kubectl_podfix.errors import Exit, PodfixError, UsageError

# --attach TYPE/NAME: a ServiceAccount, or a workload with a pod template (kubectl's spellings).
ATTACH_KINDS = {**{k: v for k, v in TARGET_KINDS.items() if v not in ("Pod", "ReplicaSet")},
                "sa": "ServiceAccount", "serviceaccount": "ServiceAccount", "serviceaccounts": "ServiceAccount"}
ARGV_PASSWORD_WARNING = ("warning: --docker-password puts the password in your shell history and in the process "
                         "list; prefer --password-stdin")


@click.command("secret", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--docker-server", metavar="SERVER",
              help="Registry host, e.g. registry.example.com (default: from --for's failing image, else Docker Hub).")
@click.option("--docker-username", metavar="USER", help="Registry user name.")
@click.option("--docker-password", metavar="PASSWORD",
              help="Registry password (lands in shell history: prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--docker-email", metavar="EMAIL", help="Email written into the entry (optional, like kubectl).")
@click.option("--from-docker-config", metavar="PATH",
              help="Take the server's credentials from a docker/podman config.json.")
@click.option("--for", "for_pod", metavar="POD",
              help="The failing pod: registry, namespace and what to attach to are taken from it.")
@click.option("--attach", multiple=True, metavar="TYPE/NAME",
              help="Attach to sa/NAME, deploy/, sts/, ds/, cronjob/ (repeatable).")
@click.option("--verify", is_flag=True, help="Log in to the registry with these credentials before writing anything.")
@click.option("--insecure-registry", is_flag=True, help="With --verify: skip TLS verification / allow plain http.")
@click.option("--restart", is_flag=True, help="Delete the failing controller-owned pods so they pull again at once.")
@click.option("--overwrite", is_flag=True, help="Update the secret when it exists with other content.")
@engine_options
@connection_options
def secret(name: str, docker_server: str | None, docker_username: str | None, docker_password: str | None,
           password_stdin: bool, docker_email: str | None, from_docker_config: str | None, for_pod: str | None,
           attach: tuple[str, ...], verify: bool, insecure_registry: bool, restart: bool, overwrite: bool,
           dry_run: str, yes: bool, wait: bool | None, timeout: str, **opts: Any) -> None:
    """Create or repair an image pull secret, attach it where the pod looks, and restart the pod.

    \b
    kubectl podfix secret regcred --docker-server registry.example.com \\
        --docker-username u --password-stdin --for POD -n NS --verify --restart --yes
    """
    if docker_password is not None:
        click.echo(ARGV_PASSWORD_WARNING, err=True)
    code = run_secret(name, server=docker_server, username=docker_username, password=docker_password,
                      password_stdin=password_stdin, email=docker_email, docker_config=from_docker_config,
                      for_pod=for_pod, attach=list(attach), verify=verify, insecure=insecure_registry,
                      restart=restart, overwrite=overwrite, dry_run=dry_run, yes=yes, wait=wait,
                      timeout=timeout, opts=opts)
    if code:
        raise SystemExit(code)


def run_secret(name: str, *, server: str | None = None, username: str | None = None, password: str | None = None,
               password_stdin: bool = False, email: str | None = None, docker_config: str | None = None,
               for_pod: str | None = None, attach: list[str] | None = None, verify: bool = False,
               insecure: bool = False, restart: bool = False, overwrite: bool = False, dry_run: str = "none",
               yes: bool = False, wait: bool | None = None, timeout: str = "2m", opts: dict | None = None,
               cluster=None, credentials=None) -> int:
    """The whole flow; returns the exit code. ``credentials`` skips reading them (explain --fix)."""
    from kubectl_podfix.fix import engine
    from kubectl_podfix.fix.pull_secret import plan_pull_secret
    opts = opts or {}
    # every usage error before the first connection: connecting may run an exec credential plugin
    wait_seconds = parse_wait_timeout(timeout)
    attach_refs = [parse_attach(a) for a in attach or []]
    if credentials is None:
        check_credential_flags(username=username, password=password, password_stdin=password_stdin,
                               docker_config=docker_config)
        if password_stdin:
            password, password_stdin = _password_from_stdin(), False
            if not password:
                raise UsageError("--password-stdin: stdin held no password (an empty first line)")
    cluster = cluster or connect(opts)
    namespace = cluster.conn.namespace
    pod = _get_pod(cluster, namespace, for_pod) if for_pod else None
    failing_image = failing_image_of(pod) if pod else None
    creds = credentials or read_credentials(server=server, username=username, password=password,
                                            password_stdin=password_stdin, email=email, docker_config=docker_config,
                                            image=failing_image)
    warnings = []
    if failing_image:
        from kubectl_podfix.registry.reference import server_matches

        if not server_matches(creds.key, failing_image):
            warnings.append(f"the secret is for {creds.key}, but pod {for_pod} fails to pull {failing_image}: the "
                            "kubelet will not use it for that image (check --docker-server)")
    if verify:
        check_registry(creds, failing_image, insecure=insecure)
    sit = read_situation(cluster, namespace, name, pod=pod, attach=attach_refs, restart=restart)
    interactive = isatty(sys.stdin) and isatty(sys.stderr)
    recreate_bare = False
    bare = [p for p in sit.failing_pods if not _controller(p)]
    if restart and bare and dry_run == "none" and interactive and not yes:
        names = ", ".join(p["metadata"]["name"] for p in bare)
        recreate_bare = click.confirm(f"pod {names} has no controller: delete it and create it again from its "
                                      "manifest so it uses the new secret?", default=False, err=True)
    def build(fresh: bool):
        current = sit
        if fresh:  # a write was refused because its object changed: read everything again
            again = _get_pod(cluster, namespace, for_pod) if for_pod else None
            current = read_situation(cluster, namespace, name, pod=again, attach=attach_refs, restart=restart)
        plan = plan_pull_secret(current, creds, overwrite=overwrite, restart=restart, recreate_bare=recreate_bare)
        plan.warnings[:0] = warnings
        return plan

    do_wait = restart if wait is None else wait
    result = engine.run(build(False), cluster, dry_run=dry_run, yes=yes, interactive=interactive, wait=do_wait,
                        timeout=wait_seconds, out=sys.stdout, err=sys.stderr, replan=lambda: build(True))
    if result.error:
        raise PodfixError(result.error, result.code)
    return int(result.code)


def _controller(obj: dict) -> dict | None:
    return next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")), None)


def parse_attach(text: str) -> tuple[str, str]:
    kind, _, name = text.partition("/")
    real = kind_of(kind, ATTACH_KINDS)
    if not real or not name or "/" in name:
        raise UsageError(f"invalid --attach {text!r}: use TYPE/NAME with TYPE one of sa, deploy, sts, ds, cronjob")
    if real == "Job":
        raise UsageError(f"job/{name}: a Job's pod template cannot be changed after creation (the API server "
                         "rejects it); attach to its ServiceAccount with --attach sa/NAME, or to the CronJob that "
                         "creates it")
    return real, name


def check_credential_flags(*, username: str | None, password: str | None, password_stdin: bool,
                           docker_config: str | None, interactive: bool | None = None) -> None:
    """The credential flags' usage errors, decided before anything connects (an exec credential plugin
    must not run for a command that cannot go on). ``read_credentials`` asks the same questions later."""
    if interactive is None:
        interactive = isatty(sys.stdin)
    if password is not None and password_stdin:
        raise UsageError("--docker-password and --password-stdin cannot be used together")
    if docker_config:
        if password is not None or password_stdin or username:
            raise UsageError("--from-docker-config cannot be combined with --docker-username/--docker-password/"
                             "--password-stdin")
        return
    if not username and not (interactive and not password_stdin):
        raise UsageError("--docker-username is required (or --from-docker-config PATH)")
    if password is None and not password_stdin and not interactive:
        raise UsageError("no password: pass --password-stdin and pipe it in (or --from-docker-config PATH)")


# -- credentials -------------------------------------------------------------------------------

def read_credentials(*, server: str | None, username: str | None, password: str | None, password_stdin: bool,
                     email: str | None, docker_config: str | None, image: str | None):
    from kubectl_podfix.fix.pull_secret import Credentials
    from kubectl_podfix.registry.reference import DOCKER_HUB, DOCKER_HUB_KEY, parse_image

    if password is not None and password_stdin:
        raise UsageError("--docker-password and --password-stdin cannot be used together")
    if not server:
        ref = parse_image(image) if image else None
        server = (DOCKER_HUB_KEY if ref.registry == DOCKER_HUB else ref.registry) if ref else DOCKER_HUB_KEY
    if docker_config:
        if password is not None or password_stdin or username:
            raise UsageError("--from-docker-config cannot be combined with --docker-username/--docker-password/"
                             "--password-stdin")
        user, pw = from_docker_config(docker_config, server)
        return Credentials(server, user, pw, email)
    if password_stdin:
        password = _password_from_stdin()
        if not password:
            raise UsageError("--password-stdin: stdin held no password (an empty first line)")
    if not username:
        if isatty(sys.stdin) and not password_stdin:
            username = click.prompt(f"Username for {server}", err=True)
        else:
            raise UsageError("--docker-username is required (or --from-docker-config PATH)")
    if password is None:
        if isatty(sys.stdin):
            password = click.prompt(f"Password for {username}@{server}", hide_input=True, err=True)
        else:
            raise UsageError("no password: pass --password-stdin and pipe it in (or --from-docker-config PATH)")
    return Credentials(server, username, password, email)


def _password_from_stdin() -> str:
    """The first line of stdin, as UTF-8 (a docker config holds the password as UTF-8 JSON text)."""
    from kubectl_podfix.cluster.limits import PASSWORD_BYTES

    stream = getattr(sys.stdin, "buffer", None)
    # NB: a bounded read: `cat /dev/zero |` (no newline, ever) must not take the machine's memory
    raw = stream.readline(PASSWORD_BYTES + 1) if stream is not None else sys.stdin.readline(PASSWORD_BYTES + 1)
    if len(raw) > PASSWORD_BYTES:
        raise UsageError(f"--password-stdin: the first line of stdin is longer than {PASSWORD_BYTES >> 20} MiB, "
                         "which no password is: pipe the password alone, on one line")
    if isinstance(raw, str):
        return raw.rstrip("\r\n")
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:  # NB: the bytes are not shown: they are the password
        raise UsageError("--password-stdin: the password read from stdin is not UTF-8 text; a pull secret stores "
                         "it as UTF-8 (pipe it as UTF-8, e.g. iconv -t UTF-8)") from None


def from_docker_config(path: str, server: str) -> tuple[str, str]:
    """(username, password) for ``server`` from a docker/podman config.json (``auths``; helpers unsupported)."""
    import base64
    import json
    import os

    from kubectl_podfix.cluster.limits import DOCKER_CONFIG_BYTES, read_small_file
    from kubectl_podfix.registry.reference import normalize_server

    data = read_small_file(os.path.expanduser(path), DOCKER_CONFIG_BYTES, path, "docker config")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise PodfixError(f"{path} is not a JSON docker config") from None
    if not isinstance(doc, dict):
        raise PodfixError(f"{path} is not a JSON docker config")
    want = normalize_server(server)
    auths = doc.get("auths") if isinstance(doc.get("auths"), dict) else {}
    entry = next((v for k, v in auths.items() if normalize_server(k) == want and isinstance(v, dict)), None)
    helpers = doc.get("credHelpers") if isinstance(doc.get("credHelpers"), dict) else {}
    helper = next((v for k, v in helpers.items() if normalize_server(k) == want), None)
    has_creds = bool(entry) and bool(entry.get("auth") or entry.get("username"))
    if not has_creds and (helper or doc.get("credsStore")):
        name = helper or doc.get("credsStore")
        raise PodfixError(f"{path} keeps the credentials for {server} in the credential helper "
                          f"docker-credential-{name}, which podfix does not run: pass --docker-username and "
                          "--password-stdin instead", Exit.USAGE)
    if not entry:
        known = ", ".join(sorted(auths)) or "none"
        raise PodfixError(f"{path} has no entry for {server} (entries: {known})", Exit.USAGE)
    if entry.get("identitytoken") and not has_creds:
        raise PodfixError(f"{path} holds an identity token for {server}, which a pull secret cannot use: pass "
                          "--docker-username and --password-stdin instead", Exit.USAGE)
    for key in ("auth", "username", "password"):  # strings in docker's own config type, as docker reads them
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise PodfixError(f"{path}: the {key} field for {server} is not a string", Exit.USAGE)
    if entry.get("auth"):
        try:
            user, sep, pw = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise PodfixError(f"{path}: the auth field for {server} is not base64 of user:password",
                              Exit.USAGE) from None
        if not sep:
            raise PodfixError(f"{path}: the auth field for {server} is not base64 of user:password", Exit.USAGE)
        return user, pw
    if entry.get("username") and entry.get("password"):
        return entry["username"], entry["password"]
    raise PodfixError(f"{path}: the entry for {server} has no auth or username/password", Exit.USAGE)


def check_registry(creds, image: str | None, *, insecure: bool) -> None:
    """--verify: log in to the registry (and HEAD the pod's image manifest); refuse on failure."""
    from kubectl_podfix.diagnose.model import sentence
    from kubectl_podfix.redact import scrub
    from kubectl_podfix.registry.client import RegistryError, verify_credentials
    from kubectl_podfix.registry.reference import normalize_server, parse_image

    ref = parse_image(image) if image else None
    same = ref is not None and normalize_server(ref.registry) == normalize_server(creds.server).split("/")[0]
    try:
        answer = verify_credentials(creds.server, creds.username, creds.password,
                                    repository=ref.repository if same else None,
                                    reference=ref.reference if same else None, insecure=insecure)
    except RegistryError as exc:
        raise PodfixError(f"--verify: {sentence(exc.message)} Nothing was created", Exit.ERROR) from None
    if not answer.ok:
        raise PodfixError(f"--verify failed: {sentence(answer.message)} Nothing was created", Exit.REFUSED)
    print(f"verified: {scrub(answer.message)}", file=sys.stderr)


# -- reading the cluster -------------------------------------------------------------------------

def _get_pod(cluster, namespace: str, name: str) -> dict:
    from kubectl_podfix.cluster.api import ApiError

    try:
        return cluster.get("Pod", namespace, name)
    except ApiError as exc:
        if exc.status == 404:
            raise PodfixError(f'pod "{name}" not found in namespace "{namespace}": pass -n NAMESPACE (if --restart '
                              f"already replaced it, the fix is done: kubectl get pods -n {namespace}; use --attach "
                              "TYPE/NAME to target the workload instead)") from None
        raise


def failing_image_of(pod: dict) -> str | None:
    """The image of the first container that fails to pull (from the spec, as written)."""
    from kubectl_podfix.cluster.gather import IMAGE_REASONS

    spec = pod.get("spec") or {}
    images = {c.get("name"): c.get("image") for key in ("initContainers", "containers")
              for c in spec.get(key) or [] if isinstance(c, dict)}
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in status.get(key) or []:
            reason = ((s.get("state") or {}).get("waiting") or {}).get("reason")
            if reason in IMAGE_REASONS:
                return images.get(s.get("name")) or s.get("image")
    return None


def _get_or_none(cluster, kind: str, namespace: str, name: str) -> dict | None:
    from kubectl_podfix.cluster.api import ApiError

    try:
        obj = cluster.get(kind, namespace, name)
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise
    obj.setdefault("kind", kind)
    return obj


def owner_chain(cluster, pod: dict) -> list[dict]:
    """The pod's controllers, nearest first (ReplicaSet, Deployment; Job, CronJob)."""
    from kubectl_podfix.cluster.api import RESOURCES

    chain: list[dict] = []
    obj = pod
    ns = (pod.get("metadata") or {}).get("namespace") or ""
    for _ in range(4):
        ref = _controller(obj)
        if not ref or ref.get("kind") not in RESOURCES or ref.get("kind") in ("Node", "Pod"):
            break
        owner = _get_or_none(cluster, ref["kind"], ns, ref.get("name", ""))
        if owner is None:
            break
        chain.append(owner)
        obj = owner
    return chain


def read_situation(cluster, namespace: str, name: str, *, pod: dict | None, attach: list[tuple[str, str]],
                   restart: bool):
    from kubectl_podfix.cluster.api import ApiError
    from kubectl_podfix.cluster.gather import pull_failing
    from kubectl_podfix.fix.pull_secret import Situation, selector_string, top_workload

    sit = Situation(namespace, name, pod=pod)
    try:
        sit.secret = cluster.get_secret_raw(namespace, name)
    except ApiError as exc:
        if exc.status != 404:
            raise
    if pod is not None:
        sit.owners = owner_chain(cluster, pod)
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        sit.service_account = _get_or_none(cluster, "ServiceAccount", namespace, sa)
    for kind, obj_name in attach:
        try:
            obj = cluster.get(kind, namespace, obj_name)
        except ApiError as exc:
            if exc.status == 404:
                raise PodfixError(f'{kind.lower()} "{obj_name}" not found in namespace "{namespace}"') from None
            raise
        obj.setdefault("kind", kind)
        sit.attach.append(obj)
    if not restart:
        return sit
    failing: list[dict] = []
    workload = top_workload(sit.owners) if pod is not None else next(
        (o for o in sit.attach if o.get("kind") != "ServiceAccount"), None)
    if workload is not None:
        selector_owner = workload if workload.get("kind") != "CronJob" or not sit.owners else sit.owners[0]
        selector = selector_string((selector_owner.get("spec") or {}).get("selector"))
        if selector:
            failing = [p for p in cluster.list("Pod", namespace, label_selector=selector) if pull_failing(p)]
    elif pod is None:
        for obj in sit.attach:  # a ServiceAccount: its pods that fail to pull
            sa_name = obj["metadata"]["name"]
            failing += [p for p in cluster.list("Pod", namespace, field_selector=f"spec.serviceAccountName={sa_name}")
                        if pull_failing(p) and _controller(p)]
    if pod is not None and pull_failing(pod) and all(p["metadata"]["name"] != pod["metadata"]["name"]
                                                     for p in failing):
        failing.insert(0, pod)
    sit.failing_pods = failing
    return sit
