"""Kubeconfig loading with kubectl's exact rules.

The Python client merges several KUBECONFIG files differently from kubectl
(its last file to set current-context wins; kubectl's first one does), reads
KUBECONFIG at import time, writes refreshed tokens back into the file, and
only logs a failing exec credential plugin before sending the request
unauthenticated. So podfix merges the files itself, following client-go's
loader (first file to set a map key wins, relative paths resolve against the
file that named them), applies --context/--cluster/--user, and hands the
client a single, already-resolved config. This module reads files only; it
imports the Kubernetes client lazily, in ``client_configuration``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from kubectl_podfix.errors import Exit, PodfixError, UsageError

_SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass
class Connection:
    """A resolved kubeconfig: the one cluster/user/context to use."""

    config: dict[str, Any]  # a kubeconfig dict with exactly one context
    context: str
    namespace: str
    server: str
    in_cluster: bool = False
    files: list[str] = field(default_factory=list)
    # user:password written into the server URL (https://user:pass@host): never printed; sent as Basic
    # auth, as Go's http.Client sends a URL's userinfo
    server_login: tuple[str, str] | None = field(default=None, repr=False)


def kubeconfig_files(explicit: str | None) -> list[str]:
    """The files kubectl would read, in precedence order."""
    if explicit:
        path = os.path.expanduser(explicit)
        if not os.path.isfile(path):
            raise PodfixError(f"kubeconfig {explicit} not found: check the --kubeconfig path")
        return [path]
    env = os.environ.get("KUBECONFIG")
    if env:
        seen: list[str] = []
        for part in env.split(os.pathsep):
            path = os.path.expanduser(part.strip())
            if path and path not in seen and os.path.isfile(path):
                seen.append(path)
        return seen
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.isfile(default) else []


def _read(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise PodfixError(f"cannot read kubeconfig {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PodfixError(f"kubeconfig {path} is not valid YAML ({where.strip() or 'parse error'}): fix or remove the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PodfixError(f"kubeconfig {path} is not a kubeconfig (expected a mapping at the top)")
    return data


_FILE_KEYS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


def _resolved(kind: str, body: dict[str, Any], base: str) -> dict[str, Any]:
    """Copy ``body`` with relative file paths made absolute against ``base``, as client-go does."""
    body = dict(body or {})
    for key in _FILE_KEYS[kind]:
        value = body.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            body[key] = os.path.normpath(os.path.join(base, os.path.expanduser(value)))
    exec_ = body.get("exec")
    if kind == "user" and isinstance(exec_, dict):
        command = exec_.get("command")
        # NB: client-go resolves the exec command only when it contains a path separator.
        if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
            body["exec"] = dict(exec_, command=os.path.normpath(os.path.join(base, command)))
    return body


# The types client-go decodes a kubeconfig's fields into: kubectl refuses a file where one has another
# type ("cannot unmarshal number into Go struct field"), and so does podfix (a quoted "false" for
# insecure-skip-tls-verify must not read as true).
_TOP_TYPES: dict[str, type] = {"clusters": list, "users": list, "contexts": list, "current-context": str,
                               "preferences": dict, "extensions": list}
_FIELD_TYPES: dict[str, dict[str, type]] = {
    "cluster": {"server": str, "certificate-authority": str, "certificate-authority-data": str,
                "insecure-skip-tls-verify": bool, "tls-server-name": str, "proxy-url": str,
                "disable-compression": bool, "extensions": list},
    "user": {"token": str, "tokenFile": str, "client-certificate": str, "client-certificate-data": str,
             "client-key": str, "client-key-data": str, "username": str, "password": str, "as": str,
             "as-uid": str, "as-groups": list, "as-user-extra": dict, "exec": dict, "auth-provider": dict,
             "extensions": list},
    "context": {"cluster": str, "user": str, "namespace": str, "extensions": list},
}
_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list", dict: "a mapping"}


def _type_problem(value: Any, kind: type) -> str | None:
    if value is None or (isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))):
        return None
    got = "true or false" if isinstance(value, bool) else {str: "a string", list: "a list", dict: "a mapping",
                                                           int: "a number", float: "a number"}.get(type(value),
                                                                                                  "something else")
    return f"must be {_TYPE_NAMES[kind]}, not {got}"


def _check_types(path: str, data: dict) -> None:
    for key, kind in _TOP_TYPES.items():
        problem = _type_problem(data.get(key), kind)
        if problem:
            raise PodfixError(f"kubeconfig {path}: {key} {problem} (kubectl refuses the file too)")
    for section, kind in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        for item in data.get(section) or []:
            if not isinstance(item, dict) or not isinstance(item.get(kind), dict):
                continue
            for key, field_kind in _FIELD_TYPES[kind].items():
                problem = _type_problem(item[kind].get(key), field_kind)
                if problem:
                    raise PodfixError(f"kubeconfig {path}: {kind} {str(item.get('name'))!r}: {key} {problem} "
                                      "(kubectl refuses the file too)")


def merge(files: list[str]) -> dict[str, Any]:
    """Merge kubeconfig files with client-go's rules: the first file to set a key wins."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    for path in files:
        data = _read(path)
        _check_types(path, data)
        base = os.path.dirname(os.path.abspath(path))
        if not merged["current-context"] and data.get("current-context"):
            merged["current-context"] = str(data["current-context"])
        for section, kind in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for item in data.get(section) or []:
                if not isinstance(item, dict) or not item.get("name"):
                    continue
                name = str(item["name"])
                if name in merged[section]:
                    continue
                body = item.get(kind) or {}
                if not isinstance(body, dict):
                    raise PodfixError(f"kubeconfig {path}: {kind} {name!r} is malformed")
                merged[section][name] = body if kind == "context" else _resolved(kind, body, base)
    return merged


def load(kubeconfig: str | None = None, context: str | None = None, cluster: str | None = None,
         user: str | None = None, namespace: str | None = None) -> Connection:
    """Resolve the connection kubectl would use with the same flags and environment."""
    files = kubeconfig_files(kubeconfig)
    if not files:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not (context or cluster or user):
            return _in_cluster(namespace)
        where = os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise PodfixError(f"no kubeconfig found (looked at {where}): set KUBECONFIG, pass --kubeconfig, "
                          "or use -f FILE to explain saved objects")
    merged = merge(files)
    if not merged["contexts"] and not cluster:
        raise PodfixError(f"the kubeconfig has no contexts ({', '.join(files)}): add one with kubectl config "
                          "set-context NAME --cluster=CLUSTER --user=USER (or your cloud's get-credentials command), "
                          "or point KUBECONFIG or --kubeconfig at another file")
    ctx_name = context or merged["current-context"]
    ctx: dict[str, Any] = {}
    if ctx_name:
        if ctx_name not in merged["contexts"]:
            known = ", ".join(sorted(merged["contexts"])) or "none"
            raise PodfixError(f'context "{ctx_name}" does not exist in the kubeconfig (known contexts: {known}); '
                              "see kubectl config get-contexts", Exit.USAGE if context else Exit.ERROR)
        ctx = dict(merged["contexts"][ctx_name])
    elif not cluster:
        raise PodfixError("the kubeconfig sets no current-context: pass --context NAME "
                          "or run kubectl config use-context NAME")
    cluster_name = cluster or ctx.get("cluster")
    user_name = user or ctx.get("user")
    if not cluster_name or cluster_name not in merged["clusters"]:
        raise PodfixError(f'cluster "{cluster_name or ""}" does not exist in the kubeconfig: check --cluster or the context "{ctx_name}"')
    if user_name and user_name not in merged["users"]:
        raise PodfixError(f'user "{user_name}" does not exist in the kubeconfig: check --user or the context "{ctx_name}"')
    cluster_body = merged["clusters"][cluster_name]
    server, login = _server_url(cluster_name, cluster_body, merged["users"].get(user_name) or {})
    name = ctx_name or "podfix"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": dict(cluster_body, server=server)}],
        "users": [{"name": user_name or "podfix-anonymous", "user": merged["users"].get(user_name) or {}}],
        "contexts": [{"name": name, "context": {"cluster": cluster_name, "user": user_name or "podfix-anonymous"}}],
        "current-context": name,
    }
    ns = namespace or ctx.get("namespace") or "default"
    return Connection(config=config, context=name, namespace=ns, server=server, files=files, server_login=login)


def _server_url(cluster_name: str, cluster: dict, user: dict) -> tuple[str, tuple[str, str] | None]:
    """The cluster's server as a URL. Like client-go's DefaultServerURL, an address without a scheme gets
    https:// when TLS is configured (a CA, a client certificate, insecure-skip-tls-verify), else http://.

    A ``user:password@`` in it is taken out (the URL podfix prints never has it; kubectl masks it) and
    returned apart: Go's http.Client sends it as Basic auth."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    from kubectl_podfix import redact

    server = str(cluster.get("server") or "").strip()
    if not server:
        raise PodfixError(f'cluster "{cluster_name}" in the kubeconfig has no server address')
    try:
        parts = urlsplit(server)
        if not parts.scheme or not parts.netloc:
            tls = any(cluster.get(k) for k in ("certificate-authority", "certificate-authority-data",
                                               "insecure-skip-tls-verify")) or \
                any(user.get(k) for k in ("client-certificate", "client-certificate-data"))
            server = ("https://" if tls else "http://") + server
            parts = urlsplit(server)
        parts.port  # noqa: B018 - a bad port raises ValueError
    except ValueError:
        raise PodfixError(f'cluster "{cluster_name}" in the kubeconfig has a server address that is not a URL: '
                          f"{_without_login(server)!r}") from None
    login = None
    if "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        name, _, password = userinfo.partition(":")
        login = (unquote(name), unquote(password))
        redact.remember(login[1], userinfo)
        server = urlunsplit(parts._replace(netloc=hostport))
        parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PodfixError(f'cluster "{cluster_name}" in the kubeconfig has a server address that is not an http(s) '
                          f"URL: {_without_login(server)!r}")
    return server, login


def _without_login(server: str) -> str:
    """``server`` with any ``user:password@`` masked, for a message."""
    return re.sub(r"^([^/]*//)?[^/?#]*@", lambda m: (m.group(1) or "") + "***@", server)


def _in_cluster(namespace: str | None) -> Connection:
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    ns = namespace
    if not ns:
        try:
            with open(os.path.join(_SA_DIR, "namespace"), encoding="utf-8") as fh:
                ns = fh.read().strip()
        except OSError:
            ns = "default"
    return Connection(config={}, context="in-cluster", namespace=ns or "default",
                      server=f"https://{host}:{port}", in_cluster=True)


# The longest duration Go (kubectl) holds: 2^63-1 ns, about 292 years. Longer is refused, as
# time.ParseDuration refuses it (and no clock or lock of the machine could wait that long).
MAX_DURATION = (2 ** 63 - 1) / 1e9


def parse_timeout(value: str | None) -> float | None:
    """Parse kubectl's --request-timeout ("0" = none, "30", "30s", "1m", "1h", "500ms")."""
    if value is None or str(value).strip() in ("", "0"):
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _at_most_go(float(text), value)
    total, pos = 0.0, 0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    if pos != len(text) or total <= 0:
        raise UsageError(f"invalid --request-timeout {value!r}: use a duration like 30s, 1m or 0 for none")
    return _at_most_go(total, value)


def _at_most_go(seconds: float, value: str) -> float:
    if seconds > MAX_DURATION:
        raise UsageError(f"invalid --request-timeout {value!r}: longer than the longest duration kubectl "
                         "accepts (2562047h); use 0 for none")
    return seconds


def client_configuration(conn: Connection) -> Any:
    """Build a ``kubernetes.client.Configuration`` for ``conn`` (imports the client's configuration)."""
    from kubectl_podfix.cluster import client as kube

    cfg = kube.Configuration()()
    # NB: the client's Configuration copies HTTP(S)_PROXY into .proxy and ignores NO_PROXY. kubectl
    # proxies by the kubeconfig's proxy-url, else by Go's ProxyFromEnvironment (transport.py): .proxy
    # holds the proxy-url and nothing else.
    cfg.proxy, cfg.no_proxy = None, None
    if conn.in_cluster:
        try:
            kube.incluster_config().InClusterConfigLoader(
                token_filename=os.path.join(_SA_DIR, "token"),
                cert_filename=os.path.join(_SA_DIR, "ca.crt")).load_and_set(cfg)
        except Exception as exc:  # ConfigException and OSError
            raise PodfixError(f"cannot use the in-cluster service account: {exc}") from None
        return cfg
    _load_user(conn, cfg)
    cfg.proxy = conn.config["clusters"][0]["cluster"].get("proxy-url") or None
    cfg.no_proxy = None
    return cfg


def _load_user(conn: Connection, cfg: Any) -> None:
    """Fill ``cfg`` from the resolved kubeconfig the way client-go does: TLS, then the one authentication
    method (a token or tokenFile, username/password, an exec plugin, an auth provider, a client certificate).

    podfix loads every method itself: the client's own loader ignores impersonation (``as``: the requests
    would go as the wrong user), sends nothing for an auth provider it cannot use (the requests would go
    anonymous) and writes client keys to temporary files.
    """
    cluster = conn.config["clusters"][0]["cluster"]
    user = conn.config["users"][0]["user"] or {}
    user_name = conn.config["users"][0]["name"]
    cfg.host = conn.server.rstrip("/")
    if cluster.get("insecure-skip-tls-verify") and (cluster.get("certificate-authority")
                                                    or cluster.get("certificate-authority-data")):
        raise PodfixError(f"kubeconfig cluster of context {conn.context!r}: specifying a root certificates file with "
                          "the insecure flag is not allowed (kubectl refuses it too): remove "
                          "insecure-skip-tls-verify or the certificate-authority")
    if cluster.get("insecure-skip-tls-verify"):
        cfg.verify_ssl = False
    _check_tls_files(conn, cluster, user)
    cfg.ssl_ca_cert = _file_or_data(conn, cluster, "certificate-authority")
    if cluster.get("tls-server-name"):
        cfg.tls_server_name = cluster["tls-server-name"]
    cert = _file_or_data(conn, user, "client-certificate")
    key = _file_or_data(conn, user, "client-key")
    if cert and key:
        cfg.cert_file, cfg.key_file = cert, key
    impersonation_headers(conn)  # refuses a malformed impersonation before any request
    if isinstance(user.get("exec"), dict) and user.get("auth-provider"):
        raise PodfixError(f"authProvider cannot be provided in combination with an exec plugin for {user_name} "
                          f"(kubectl refuses it too): check the user of context {conn.context!r} in the kubeconfig")
    methods = [m for m, keys in (("token", ("token", "tokenFile")), ("basicAuth", ("username", "password")))
               if any(user.get(k) for k in keys)]
    if len(methods) > 1:
        raise PodfixError(f"more than one authentication method found for {user_name}; found "
                          f"[{' '.join(methods)}], only one is allowed (kubectl refuses it too): check the "
                          f"user of context {conn.context!r} in the kubeconfig")
    token = user.get("token")
    token_file = None
    if not token and user.get("tokenFile"):
        token_file = str(user["tokenFile"])
        token = _read_token_file(conn, token_file)
    if not token and isinstance(user.get("auth-provider"), dict):
        token = _auth_provider_token(conn, user_name, user["auth-provider"])
    if user.get("username") or user.get("password"):
        from kubectl_podfix import redact

        redact.remember(user.get("password"))
        cfg.username, cfg.password = user.get("username") or "", user.get("password") or ""
    elif token:
        _set_bearer(cfg, token, f"the token of the user in context {conn.context!r} is not a single line of text: "
                                "check the kubeconfig's token (or tokenFile)")
        if token_file:
            _follow_token_file(conn, cfg, token_file)
    elif isinstance(user.get("exec"), dict):
        _run_exec(conn, cfg, user["exec"], cluster)


def _check_tls_files(conn: Connection, cluster: dict, user: dict) -> None:
    """client-go's checks of the certificate fields, with kubectl's words: a file and its -data both set, a
    client certificate without its key (or a key alone: the request would go anonymous), a file that cannot
    be read (it failed later as a TLS or connection error naming the wrong cause)."""
    cluster_name, user_name = conn.config["clusters"][0]["name"], conn.config["users"][0]["name"]
    if cluster.get("certificate-authority") and cluster.get("certificate-authority-data"):
        raise PodfixError(f"certificate-authority-data and certificate-authority are both specified for "
                          f"{cluster_name}. certificate-authority-data will override. (kubectl refuses it too): keep one")
    for key, short in (("client-certificate", "client-cert"), ("client-key", "client-key")):
        if user.get(key) and user.get(f"{key}-data"):
            raise PodfixError(f"{short}-data and {short} are both specified for {user_name}. {short}-data will "
                              "override. (kubectl refuses it too): keep one")
    has_cert = bool(user.get("client-certificate") or user.get("client-certificate-data"))
    has_key = bool(user.get("client-key") or user.get("client-key-data"))
    if has_cert and not has_key:
        raise PodfixError(f"client-key-data or client-key must be specified for {user_name} to use the clientCert "
                          "authentication method (kubectl refuses it too)")
    if has_key and not has_cert:
        raise PodfixError(f"client-certificate-data or client-certificate must be specified for {user_name} to use "
                          "the clientCert authentication method: a client key alone is no credential")
    for body, key, short, owner in ((cluster, "certificate-authority", "certificate-authority", cluster_name),
                                    (user, "client-certificate", "client-cert", user_name),
                                    (user, "client-key", "client-key", user_name)):
        path = body.get(key)
        if path and not body.get(f"{key}-data"):
            why = _unreadable(str(path))
            if why:
                raise PodfixError(f"unable to read {short} {path} for {owner} due to {why} (kubectl refuses it too): "
                                  "check the path in the kubeconfig")


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read as a certificate file, or None. Opened without blocking (a FIFO would block
    until a writer comes), never read."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return f"open {path}: {(exc.strerror or str(exc)).lower()}"  # Go's words, as kubectl prints them
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if stat.S_ISDIR(mode):
        return f"read {path}: is a directory"
    if not stat.S_ISREG(mode):  # a FIFO nobody writes holds the TLS library's read until Ctrl-C
        return f"read {path}: not a regular file"
    return None


def _set_bearer(cfg: Any, token: Any, problem: str) -> None:
    """Send ``token`` as the bearer token: one line of text (a newline would split the Authorization header,
    and http.client's refusal quotes the value), and told to the scrubber, so no message ever shows it."""
    from kubectl_podfix import redact

    if not isinstance(token, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise PodfixError(problem)
    redact.remember(token)
    cfg.api_key["BearerToken"] = f"Bearer {token}"


TOKEN_FILE_PERIOD = 60.0  # seconds: client-go's cached file token source reads a tokenFile again this often


def _follow_token_file(conn: Connection, cfg: Any, path: str) -> None:
    """Read ``path`` again at most once a minute, as client-go does: a rotated token (a projected service
    account token, a CI job's) reaches a long ``wait`` or ``explain --watch``. A read that fails or finds
    no token keeps the token podfix has, as client-go keeps it."""
    import threading
    import time

    state = {"read": time.monotonic()}
    lock = threading.Lock()

    def refresh(_cfg: Any) -> None:
        with lock:
            if time.monotonic() - state["read"] < TOKEN_FILE_PERIOD:
                return
            state["read"] = time.monotonic()
        try:
            token = _read_token_file(conn, path)
            if token:
                _set_bearer(cfg, token, "not a single line")
        except PodfixError:
            pass

    cfg.refresh_api_key_hook = refresh


def _read_token_file(conn: Connection, path: str) -> str:
    """A tokenFile's token: at most TOKEN_FILE_BYTES (``tokenFile: /dev/zero`` is one line, not a hang)."""
    from kubectl_podfix.cluster.limits import TOKEN_FILE_BYTES, read_small_file

    where = f"the tokenFile {path} of context {conn.context!r}"
    data = read_small_file(path, TOKEN_FILE_BYTES, where, "token")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PodfixError(f"{where} is not text: check the path") from None


def _file_or_data(conn: Connection, body: dict, key: str) -> str | None:
    """A path for ``key``, writing ``key``-data (base64) to a private temp file when that is what is set."""
    data = body.get(f"{key}-data")
    if data:
        import base64
        import binascii

        try:
            return _private_file(base64.b64decode(data, validate=False))
        except (binascii.Error, ValueError):
            raise PodfixError(f"kubeconfig context {conn.context!r}: {key}-data is not valid base64") from None
    return body.get(key) or None


_TEMP_DIR: list[str] = []
_MEMFDS: list[int] = []  # kept open: their /proc/self/fd paths stay valid while podfix runs


def _private_file(content: bytes) -> str:
    """A path OpenSSL can read ``content`` (a client key, a certificate) from.

    ``ssl`` loads certificates and keys only from files. On Linux podfix gives it an anonymous
    memory file (``os.memfd_create``, opened through ``/proc/self/fd/N``): nothing is ever written
    to disk, and the memory goes with the process however it ends. Elsewhere it falls back to a
    0600 file in a 0700 directory, removed at exit, which SIGTERM and SIGHUP reach too (the CLI
    turns them into an orderly exit: cli/root.py), and which a second signal removes on its way out.
    """
    path = _memory_file(content)
    if path:
        return path
    import atexit
    import tempfile

    if not _TEMP_DIR:
        _TEMP_DIR.append(tempfile.mkdtemp(prefix="podfix-"))
        atexit.register(remove_private_files)
    fd, path = tempfile.mkstemp(dir=_TEMP_DIR[0])
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return path


def _memory_file(content: bytes) -> str | None:
    create = getattr(os, "memfd_create", None)
    if create is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        fd = create("podfix-credential")  # close-on-exec: exec plugins and kubectl never inherit it
    except OSError:
        return None
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        os.close(fd)
        return None
    _MEMFDS.append(fd)
    return f"/proc/self/fd/{fd}"


def remove_private_files() -> None:
    """Remove the fallback directory of credential files (the memory files need nothing)."""
    import shutil

    while _TEMP_DIR:
        shutil.rmtree(_TEMP_DIR.pop(), ignore_errors=True)


class _Node(dict):
    """The little of the client's ConfigNode that ExecProvider uses."""

    def safe_get(self, key: str) -> Any:
        return self.get(key)

    @property
    def value(self) -> dict:
        return dict(self)


_EXEC_TYPES: dict[str, type] = {"command": str, "apiVersion": str, "args": list, "env": list, "installHint": str,
                                "provideClusterInfo": bool, "interactiveMode": str}
_INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")


def _check_exec(conn: Connection, user_name: str, exec_config: dict) -> None:
    """client-go's checks of an exec section, with kubectl's words: field types (kubectl refuses the file),
    command and apiVersion, env names, interactiveMode (v1 needs it; Always needs a terminal on stdin)."""
    import sys

    where = f"(context {conn.context!r})"
    for key, kind in _EXEC_TYPES.items():
        problem = _type_problem(exec_config.get(key), kind)
        if problem:
            raise PodfixError(f"kubeconfig user {user_name!r}: exec {key} {problem} {where} (kubectl refuses the "
                              "file too)")
    for key in ("args", "env"):
        for item in exec_config.get(key) or []:
            fields = [item] if key == "args" else ([item.get("name"), item.get("value")]
                                                    if isinstance(item, dict) else [item])
            if not all(isinstance(f, str) or (f is None and key == "env") for f in fields):
                raise PodfixError(f"kubeconfig user {user_name!r}: exec {key} must be "
                                  f"{'strings' if key == 'args' else 'name/value pairs of strings'} {where} "
                                  "(kubectl refuses the file too)")
    if not exec_config.get("command"):
        raise PodfixError(f"command must be specified for {user_name} to use exec authentication plugin {where}")
    if not exec_config.get("apiVersion"):
        raise PodfixError(f"apiVersion must be specified for {user_name} to use exec authentication plugin {where}")
    if any(not (e or {}).get("name") for e in exec_config.get("env") or []):
        raise PodfixError(f"env variable name must be specified for {user_name} to use exec authentication plugin "
                          f"{where}")
    mode = exec_config.get("interactiveMode")
    if not mode and exec_config.get("apiVersion") == "client.authentication.k8s.io/v1":
        # NB: client-go refuses a v1 exec plugin without interactiveMode; so does podfix, with kubectl's words.
        raise PodfixError(f"interactiveMode must be specified for {user_name} to use exec authentication plugin "
                          f"{where}: add interactiveMode: IfAvailable (or Never) to its exec section")
    if mode and mode not in _INTERACTIVE_MODES:
        raise PodfixError(f'invalid interactiveMode for {user_name}: "{mode}" {where}: use Never, IfAvailable or '
                          "Always")
    if mode == "Always" and not (sys.stdin is not None and sys.stdin.isatty()):
        raise PodfixError(f"the exec credential plugin {exec_config.get('command')!r} for user in context "
                          f"{conn.context!r} needs a terminal (interactiveMode: Always), and standard input is not a "
                          "terminal (kubectl refuses it too): run it from a terminal, or log in first")


def _run_exec(conn: Connection, cfg: Any, exec_config: dict, cluster: dict) -> None:
    """Run the exec credential plugin with the client's ExecProvider; refresh when the credential expires."""
    from kubectl_podfix.cluster import client as kube
    from kubectl_podfix.diagnose.model import parse_time, utcnow

    command = exec_config.get("command", "?")
    user_name = conn.config["users"][0]["name"]
    _check_exec(conn, user_name, exec_config)
    if exec_config.get("env"):  # a name alone is an empty value, as in client-go (the client's provider needs both)
        exec_config = dict(exec_config, env=[{"name": e["name"], "value": e.get("value") or ""}
                                             for e in exec_config["env"]])
    cluster_info = {k: v for k, v in cluster.items() if k not in ("extensions",)}
    cluster_info["server"] = conn.server
    try:
        provider = kube.exec_provider()(_Node(exec_config), None, _Node(cluster_info))
    except Exception as exc:  # ConfigException: malformed exec section
        raise PodfixError(f"kubeconfig context {conn.context!r}: {exc}") from None
    state: dict[str, Any] = {}

    def load() -> None:
        try:
            status = provider.run()
        except Exception as exc:  # the plugin failed: kubectl fails the same way
            why = str(exc).removeprefix("exec: ")
            hint = exec_config.get("installHint")
            if isinstance(exc, FileNotFoundError) and hint:  # client-go shows the hint when the command is missing
                why += " (" + " ".join(str(hint).split()) + ")"
            raise PodfixError(f"the exec credential plugin {command!r} for user in context {conn.context!r} "
                              f"failed: {why}. Check it is installed and you are logged in "
                              "(kubectl fails the same way)") from None
        plugin = f"the exec credential plugin {command!r} for user in context {conn.context!r}"
        if not isinstance(status, dict):
            raise PodfixError(f"{plugin} returned a malformed ExecCredential (its status is not a mapping): check "
                              "the plugin (kubectl refuses it too)")
        for key in ("token", "clientCertificateData", "clientKeyData"):
            if status.get(key) is not None and not isinstance(status[key], str):
                raise PodfixError(f"{plugin} returned a malformed ExecCredential (status.{key} is not a string): "
                                  "check the plugin (kubectl refuses it too)")
        if status.get("token"):
            _set_bearer(cfg, status["token"], f"{plugin} returned a token that is not a single line of text: "
                                              "check the plugin")
        elif status.get("clientCertificateData") and status.get("clientKeyData"):
            cfg.cert_file = _private_file(status["clientCertificateData"].encode())
            cfg.key_file = _private_file(status["clientKeyData"].encode())
        else:
            raise PodfixError(f"{plugin} returned no token and no client certificate")
        state["expiry"] = parse_time(status.get("expirationTimestamp"))

    def refresh(_cfg: Any) -> None:
        if state.get("expiry") and utcnow() >= state["expiry"]:
            load()

    load()
    cfg.refresh_api_key_hook = refresh


# client-go's words for the auth providers it removed (kubectl 1.26): podfix refuses them the same way
_REMOVED_PROVIDERS = {
    "gcp": 'The gcp auth plugin has been removed. Please use the "gke-gcloud-auth-plugin" kubectl/client-go '
           "credential plugin instead. See https://cloud.google.com/blog/products/containers-kubernetes/"
           "kubectl-auth-changes-in-gke for further details",
    "azure": "The azure auth plugin has been removed. Please use the https://github.com/Azure/kubelogin "
             "kubectl/client-go credential plugin instead. See https://kubernetes.io/docs/reference/"
             "access-authn-authz/authentication/#client-go-credential-plugins for further details",
}
_OIDC_EXPIRY_DELTA = 10  # seconds: client-go treats an id-token expiring this soon as expired


def _auth_provider_token(conn: Connection, user_name: str, provider: dict) -> str:
    """The bearer token of a kubeconfig ``auth-provider``, as client-go would send it, or one line why not.

    Only ``oidc`` is still in client-go, and podfix uses its ``id-token`` while it is valid; it does not
    refresh an expired one (that posts the refresh token to the issuer and rewrites the kubeconfig):
    kubectl does, so one kubectl command makes podfix work again. Never an anonymous request.
    """
    import base64
    import binascii
    import json
    import time

    name = str(provider.get("name") or "")
    where = f"(user {user_name}, context {conn.context!r})"
    if name in _REMOVED_PROVIDERS:
        raise PodfixError(f"{_REMOVED_PROVIDERS[name]} {where}")
    if name != "oidc":
        raise PodfixError(f'no Auth Provider found for name "{name}" {where}: kubectl refuses it too; use an exec '
                          "credential plugin")
    config = provider.get("config") if isinstance(provider.get("config"), dict) else {}
    token = config.get("id-token")
    if not isinstance(token, str) or not token:
        raise PodfixError(f"the oidc auth provider {where} has no id-token: podfix does not refresh oidc tokens; run "
                          "any kubectl command (kubectl gets one and saves it in the kubeconfig), then podfix again")
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        expiry = float(claims.get("exp") or 0) if isinstance(claims, dict) else 0.0
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise PodfixError(f"the oidc id-token {where} is not a valid JWT (kubectl refuses it too): log in again") \
            from None
    if time.time() + _OIDC_EXPIRY_DELTA >= expiry:
        raise PodfixError(f"the oidc id-token {where} has expired: podfix does not refresh oidc tokens; run any "
                          "kubectl command (kubectl refreshes it and saves it in the kubeconfig), then podfix again")
    return token


def _header_key(key: str) -> str:
    """client-go's headerKeyEscape: bytes that may not appear in a header name, and '%', percent-encoded."""
    legal = set(b"!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return "".join(chr(b) if b in legal else f"%{b:02X}" for b in key.encode("utf-8"))


def impersonation_headers(conn: Connection) -> list[tuple[str, str]]:
    """The Impersonate-* headers kubectl sends for the user's ``as``, ``as-uid``, ``as-groups`` and
    ``as-user-extra`` (client-go's impersonating round tripper), in that order."""
    if conn.in_cluster:
        return []
    user = conn.config["users"][0]["user"] or {}
    user_name = conn.config["users"][0]["name"]
    as_user, uid = user.get("as") or "", user.get("as-uid") or ""
    groups, extra = user.get("as-groups") or [], user.get("as-user-extra") or {}
    if not as_user and (uid or groups or extra):
        raise PodfixError(f"requesting uid, groups or user-extra for {user_name} without impersonating a user "
                          f"(kubectl refuses it too): add as: USER to the user of context {conn.context!r}")
    headers: list[tuple[str, str]] = []
    if as_user:
        headers.append(("Impersonate-User", as_user))
    if uid:
        headers.append(("Impersonate-Uid", uid))
    for group in groups:
        headers.append(("Impersonate-Group", group))
    for key, values in extra.items():
        for value in values if isinstance(values, list) else [values]:
            headers.append((f"Impersonate-Extra-{_header_key(str(key))}", value))
    for name, value in headers:
        if not isinstance(value, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise PodfixError(f"the impersonation ({name}) of the user in context {conn.context!r} is not a single "
                              "line of text: check the kubeconfig's as, as-uid, as-groups and as-user-extra")
    return headers
