"""Exit codes and the one exception type the CLI turns into a message.

Every expected failure becomes a ``PodfixError`` carrying one line that says
what happened and what to do, and the exit code to leave with. ``cli.main``
is the only place that prints it.
"""

from __future__ import annotations

import enum

from kubectl_podfix.redact import scrub


class Exit(enum.IntEnum):
    OK = 0
    ERROR = 1  # could not do the job: cluster unreachable, bad file, API error
    USAGE = 2  # bad flags or flag values (click uses 2 too)
    FINDINGS = 3  # --exit-code and an error-severity finding
    REFUSED = 4  # a write was denied, not confirmed, or verification failed
    INTERRUPTED = 130


class PodfixError(Exception):
    """An expected failure: ``message`` is one line for the user.

    ``message`` and ``detail`` are scrubbed of every secret podfix holds (``redact.scrub``) whenever
    they are read, so a server's or registry's answer that echoes a password never reaches the user."""

    def __init__(self, message: str, code: int = Exit.ERROR, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = int(code)
        self.detail = detail  # shown with --debug only

    @property
    def message(self) -> str:
        return scrub(self._message)

    @message.setter
    def message(self, value: str) -> None:
        self._message = value

    @property
    def detail(self) -> str | None:
        return scrub(self._detail)

    @detail.setter
    def detail(self, value: str | None) -> None:
        self._detail = value

    def __str__(self) -> str:
        return self.message


class UsageError(PodfixError):
    """The command line itself is wrong or incomplete (exit 2): the message ends with where its help is."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message, Exit.USAGE, detail)
        self.command_path: str | None = None  # set on the way out: "kubectl podfix fix memory"


class Refused(PodfixError):
    """A fix refused on its merits (exit 4): the cluster's state makes it wrong or impossible."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message, Exit.REFUSED, detail)


# -- the error map ----------------------------------------------------------------
#
# Every failure that reaches the user is phrased here, in one place: API server
# answers (``api_error``) and transport failures (``transport_error``). The
# other modules raise PodfixError with their own one-liners for local problems
# (kubeconfig, files, flags); docs/errors.md lists them all.

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "HEAD": "get"}


def request_attributes(method: str, path: str) -> dict[str, str]:
    """The RBAC attributes of a request path: verb, group, resource (with /subresource), namespace, name."""
    from urllib.parse import unquote

    parts = [unquote(p) for p in path.split("?")[0].strip("/").split("/") if p]
    group = ""
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[3:]
    else:
        rest = parts
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource += "/" + rest[2]
    if method == "GET":
        verb = "get" if name else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return {"verb": verb, "group": group, "resource": resource, "namespace": namespace, "name": name}


def rbac_rule(verb: str, group: str, resource: str, namespace: str) -> str:
    """The RBAC rule that would allow a request, as a kubectl command an admin can run."""
    qualified = resource.split("/")[0] + (f".{group}" if group else "") + \
        ("/" + resource.split("/", 1)[1] if "/" in resource else "")
    short = resource.replace("/", "-") or "access"
    if namespace:
        return (f"kubectl create role podfix-{verb}-{short} --verb={verb} --resource={qualified} -n {namespace}"
                f" (then kubectl create rolebinding ... -n {namespace})")
    return (f"kubectl create clusterrole podfix-{verb}-{short} --verb={verb} --resource={qualified}"
            " (then kubectl create clusterrolebinding ...)")


def _what(attrs: dict[str, str]) -> str:
    res = attrs["resource"] + (f'.{attrs["group"]}' if attrs["group"] and "/" not in attrs["resource"] else "")
    where = f'in namespace "{attrs["namespace"]}"' if attrs["namespace"] else "at the cluster scope"
    return f'{attrs["verb"]} {res}{" " + repr(attrs["name"]) if attrs["name"] else ""} {where}'


# How admission plugins word a denial (a 403 like RBAC's, but not about who you are).
ADMISSION_MARKERS = ("admission webhook", "denied the request", "violates podsecurity", "exceeded quota",
                     "per container", "per pod", "per persistentvolumeclaim", "because it is being terminated")


def is_admission_denial(server_message: str) -> bool:
    """Whether a 403's message comes from admission (webhook, Pod Security, quota, LimitRange, namespace
    lifecycle) rather than from RBAC ('User "x" cannot create resource ...')."""
    low = (server_message or "").lower()
    if " cannot " in low and " resource " in low:
        return False
    return any(m in low for m in ADMISSION_MARKERS)


def api_error(status: int, reason: str, server_message: str, method: str, path: str, *,
              query: dict | None = None, attempts: int = 1, status_body: bool = True) -> tuple[str, int]:
    """(one-line message, exit code) for an error Status from the API server.

    ``status_body`` False: the answer was not a Kubernetes Status (a proxy's or gateway's page), so a
    403 is not RBAC and gets no RBAC rule."""
    attrs = request_attributes(method, path)
    said = " ".join((server_message or "").split())
    query = query or {}
    if status == 401:
        return ("the API server rejected your credentials (401 Unauthorized): they may have expired; "
                "log in again or refresh the kubeconfig (e.g. your cloud's get-credentials command)", Exit.ERROR)
    if status == 403 and not status_body:
        code = Exit.REFUSED if method in WRITE_METHODS else Exit.ERROR
        return (f"a proxy or gateway in front of the API server refused {method} {path} (403 {reason or 'Forbidden'}"
                f"{', ' + said if said else ''}): the answer is not a Kubernetes Status, so this is not RBAC; "
                "check the proxy settings (HTTPS_PROXY, NO_PROXY, the kubeconfig's proxy-url) and the server "
                "address", code)
    if status == 403 and is_admission_denial(said):
        return (f"rejected by admission: {said}. This is a policy of the cluster (an admission webhook, Pod "
                "Security, a ResourceQuota or LimitRange), not a missing permission: change the object to satisfy "
                "it, or ask the cluster's admins about the policy", Exit.REFUSED)
    if status == 403:
        who = said.split(" is forbidden: ", 1)[-1] if said else f"cannot {_what(attrs)}"
        code = Exit.REFUSED if method in WRITE_METHODS else Exit.ERROR
        return (f"forbidden: {who}. A cluster admin can allow it with: "
                f'{rbac_rule(attrs["verb"], attrs["group"], attrs["resource"], attrs["namespace"])}', code)
    if status == 400 and (query.get("labelSelector") or query.get("fieldSelector")) and attrs["verb"] == "list":
        flag, value = (("-l/--selector", query["labelSelector"]) if query.get("labelSelector")
                       and ("label" in said.lower() or "requirement" in said.lower() or not query.get("fieldSelector"))
                       else ("--field-selector", query.get("fieldSelector")))
        return f"invalid {flag} {value!r}: {said or 'the API server could not parse it'}", Exit.USAGE
    if status == 404:
        if said and "could not find the requested resource" not in said:
            return f"not found: {said} (check the name and -n NAMESPACE)", Exit.ERROR
        return (f"the API server does not serve {path}: is that API installed in this cluster "
                "(e.g. metrics-server for metrics.k8s.io)?", Exit.ERROR)
    if status == 407:
        return ("a proxy between podfix and the API server asked for credentials (407 Proxy Authentication "
                "Required): check the user and password in the proxy URL (HTTPS_PROXY/HTTP_PROXY or the "
                "kubeconfig's proxy-url)", Exit.ERROR)
    if status == 409:
        if reason == "AlreadyExists":
            return f"already exists: {said}: delete it first or choose another name", Exit.ERROR
        return (f"conflict: {said or 'the object changed'}: it changed while podfix worked on it; "
                "run the command again to use the current version", Exit.ERROR)
    if status == 410:
        return ("the list changed too much while podfix paged through it (410 Expired): run the command again",
                Exit.ERROR)
    if status == 422:
        return f"the API server rejected the request as invalid: {said or _what(attrs)}", Exit.ERROR
    if status == 429:
        return (f"the API server is throttling requests (429 Too Many Requests) after {attempts} attempts: "
                "wait a minute and try again", Exit.ERROR)
    if status >= 500:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return (f"the API server failed to {_what(attrs)} ({status} {reason or 'server error'}{': ' + said if said else ''})"
                f"{tries}: check the cluster's health and try again", Exit.ERROR)
    return f"the API server answered {status} {reason}: {said or method + ' ' + path}", Exit.ERROR


def transport_error(text: str, server: str, context: str, method: str = "", path: str = "", *,
                    proxy: str | None = None) -> str:
    """One line for a request that got no HTTP answer: refused, timed out, dropped, TLS, DNS.

    ``proxy`` names the proxy the request went through ("http://proxy:3128 (HTTPS_PROXY)", never with
    credentials): a failure to get through it is said as such.
    """
    where = f"{server} (context {context})"
    low = text.lower()
    if proxy and ("proxyerror" in low or "tunnel connection failed" in low or "unable to connect to proxy" in low):
        return (f"cannot reach the API server {where} through the proxy {proxy}: {_proxy_reason(text)}. "
                "Check the proxy address and its credentials, or exclude the server with NO_PROXY")
    if "certificate" in low or "ssl" in low or "tls" in low or "wrong version number" in low:
        why = _tls_reason(text)
        if "mismatch" in why:
            return (f"TLS verification of the API server {where} failed ({why}): use an address the certificate "
                    "names, or set the cluster's tls-server-name in the kubeconfig")
        return (f"TLS verification of the API server {where} failed ({why}): check the kubeconfig's "
                "certificate-authority data (or that the server address is the cluster's)")
    if "timed out" in low or "timeout" in low:
        return (f"the API server {where} did not answer {method} {path} in time: raise --request-timeout "
                "or check the cluster's health").replace("  ", " ")
    if "remotedisconnected" in low or "without response" in low or "connection aborted" in low or "reset" in low:
        return (f"the API server {where} closed the connection without answering: check the cluster's health, "
                "proxies and load balancers in between, then try again")
    if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low \
            or "getaddrinfo" in low:
        return f"cannot resolve the API server's host name {where}: check the server address, DNS and VPN"
    if "refused" in low:
        return (f"cannot reach the API server {where}: connection refused. Check the cluster is up and "
                "reachable (VPN, proxy, kubectl config current-context)")
    return (f"cannot reach the API server {where}: {_short(text.split(' <- ')[0])}. "
            "Check the cluster is up and reachable (VPN, proxy, kubectl config current-context)")


def _proxy_reason(text: str) -> str:
    import re

    match = re.search(r"Tunnel connection failed: ([^'\"()]+)", text)
    if match:
        return "it refused the tunnel (" + match.group(1).strip().rstrip(".,") + ")"
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "name or service not known" in low or "name resolution" in low or "nodename nor servname" in low:
        return "its host name does not resolve"
    if "timed out" in low or "timeout" in low:
        return "it did not answer in time"
    return _short(text.split(" <- ")[0], 120)


def _tls_reason(text: str) -> str:
    import re

    match = re.search(r"(Hostname|IP address) mismatch, certificate is not valid for '([^']+)'", text)
    if match:  # Python's own wording; the generic pattern below would cut it at the quote
        return f"the certificate is not valid for {match.group(2)}: {match.group(1).lower()} mismatch"
    match = re.search(r"certificate verify failed: ([^()'\"]+)", text)
    if match:
        return "certificate verify failed: " + match.group(1).strip().rstrip(".,)")
    match = re.search(r"hostname '?([^ ']+)'? doesn't match", text)
    if match:
        return f"the certificate does not name {match.group(1)}"
    if "wrong version number" in text.lower():
        return "the server did not speak TLS: is the server address http rather than https?"
    return _short(text, 120)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    for marker in ("Caused by ", "caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text if len(text) <= limit else text[: limit - 3] + "..."
