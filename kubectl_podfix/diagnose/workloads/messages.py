"""Read the API server's answer to a controller's create request (pure).

A controller that cannot create a pod (or a PVC, a Job, a ReplicaSet) records
the API server's error: in a ``FailedCreate`` event (``Error creating: <err>``,
StatefulSet's ``create Pod P in StatefulSet S failed error: <err>``, CronJob's
``Error creating job: <err>``) and in the ReplicaSet's ``ReplicaFailure``
condition, which holds the bare error and keeps the FIRST one. ``classify``
strips those wrappers and names what refused: a ResourceQuota, a LimitRange,
Pod Security admission, an admission webhook (that said no, or that could not
be reached), a missing ServiceAccount, validation (422).

Texts are matched case-insensitively (Kubernetes 1.3 said ``Exceeded quota``),
LimitRange sentences with or without their old trailing period, and
aggregated errors (``[a, b]``) item by item. Sources: docs/findings.md.
"""

from __future__ import annotations

import re
from typing import Any

_COMBINED = re.compile(r"^\(combined from similar events\):\s*", re.I)
_WRAPPERS = (
    re.compile(r"^Error creating(?: job)?:\s*", re.I),
    re.compile(r"^create Pod (?P<pod>\S+) in StatefulSet (?P<sts>\S+) failed error:\s*", re.I),
    re.compile(r"^create Claim (?P<pvc>\S+) for Pod (?P<pod>\S+) in StatefulSet (?P<sts>\S+) failed error:\s*", re.I),
    re.compile(r'^Failed to create new replica set "?(?P<rs>[^":\s]+)"?:\s*', re.I),
    re.compile(r"^\[?(?:f|F)ailed to create PVC (?P<pvc>\S+?):\s*", re.I),
)
_FORBIDDEN = re.compile(r'(?P<resource>[a-z][a-z0-9.]*) "(?P<name>[^"]*)" is forbidden:\s*(?P<rest>.*)', re.S)
_INVALID = re.compile(r'(?P<kind>[A-Z][A-Za-z]*)(?: "(?P<name>[^"]*)")? is invalid:\s*(?P<rest>.*)', re.S)
_WEBHOOK_DENY = re.compile(r'admission webhook "(?P<name>[^"]+)" denied the request'
                           r'(?:(?::\s*(?P<msg>.*))| without explanation)?', re.S)
_WEBHOOK_CALL = re.compile(r'failed calling (?:admission )?webhook "(?P<name>[^"]+)":\s*(?P<err>.*)', re.S)
_WEBHOOK_URL = re.compile(r'(?:Post|Get) "?(?P<url>https?://[^"\s]+?)"?:\s')
_SVC_HOST = re.compile(r"https?://(?P<svc>[a-z0-9-]+)\.(?P<ns>[a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::\d+)?/", re.I)
_API_TIMEOUT = re.compile(r"Timeout: request did not complete within (?:the )?(?:requested|allowed) timeout", re.I)
_QUOTA_EXCEEDED = re.compile(r"exceeded quota: (?P<name>[^,\s]+), requested: (?P<requested>\S+), "
                             r"used: (?P<used>\S+), limited: (?P<limited>[^\s\]]+)", re.I)
_QUOTA_MUST = re.compile(r"failed quota: (?P<name>[^:\s]+): must specify (?P<what>[^\]]+)", re.I)
_QUOTA_OTHER = re.compile(r"(?P<text>insufficient quota to (?:consume|match these scopes): .*"
                          r"|status unknown for quota: (?P<name>[^,\s]+).*|resource quota evaluation timed out)", re.I)
_LIMIT_BOUND = re.compile(
    r"(?P<bound>minimum|maximum) (?P<resource>\S+) usage per (?P<scope>Container|Pod|PersistentVolumeClaim) is "
    r"(?P<enforced>[0-9A-Za-z.+-]+?)(?:,\s*but (?P<what>request|limit) is (?P<observed>[0-9A-Za-z.+-]+?)\.?"
    r"(?=\s*(?:,|\]|$))|\.\s+No (?P<none>request|limit) is specified)", re.I)
_LIMIT_RATIO = re.compile(
    r"(?P<resource>\S+) max limit to request ratio per (?P<scope>Container|Pod) is (?P<enforced>[0-9.]+?),?\s*"
    r"but (?:provided ratio is (?P<observed>[0-9.]+?)\.?(?=\s*(?:,|\]|$))|no (?P<none>request|limit) is specified)",
    re.I)
_PSA = re.compile(r'violates PodSecurity "(?P<level>[^"]+)":\s*(?P<detail>.*)', re.S)
_PSP = re.compile(r"unable to validate against any pod security policy|no providers available to validate pod "
                  r"request|PodSecurityPolicy: unable to admit pod", re.I)
_SCC = re.compile(r"unable to validate against any security context constraint", re.I)
_SA = re.compile(r"error looking up service account (?P<ns>[^/\s]+)/(?P<name>[^:\s]+):"
                 r"|service account (?P<ns2>[^/\s]+)/(?P<name2>\S+) was not found", re.I)
_TERMINATING = re.compile(r"because it is being terminated", re.I)
_STORAGECLASS = re.compile(r'storageclass(?:\.storage\.k8s\.io)? "(?P<name>[^"]+)" not found', re.I)

# In-tree admission plugins that refuse a pod with their own words ("is forbidden: ..."): what the plugin is, why
# it refused, what to do. Each entry: (pattern, plugin, why(match, ns), next steps(match, ns)).
_ADMISSION_PLUGINS: tuple = (
    (re.compile(r"no PriorityClass with name (?P<name>\S+) was found", re.I), "Priority",
     lambda m, ns: (f"the template's priorityClassName {m.group('name')} names a PriorityClass that does not exist "
                    "(PriorityClasses are cluster-wide; a chart or operator may expect it created first)"),
     lambda m, ns: ["kubectl get priorityclass",
                    f"create PriorityClass {m.group('name')}, or fix priorityClassName in the template"]),
    (re.compile(r"pods with (?P<name>system-(?:cluster|node)-critical) priorityClass is not permitted in "
                r"(?P<ns>\S+) namespace", re.I), "Priority",
     lambda m, ns: (f"the built-in {m.group('name')} PriorityClass is reserved for pods in kube-system, and this "
                    f"namespace is {m.group('ns')} (newer clusters enforce the same with a ResourceQuota: 'insufficient "
                    "quota to match these scopes')"),
     lambda m, ns: ["kubectl get priorityclass",
                    "give the template a PriorityClass of its own, or run it in kube-system"]),
    (re.compile(r"pod tolerations \(possibly merged with namespace default tolerations\) conflict with its "
                r"(?P<scope>\w+) whitelist", re.I), "PodTolerationRestriction",
     lambda m, ns: ("it admits only the tolerations on the "
                    + ("cluster's list (its admission configuration)" if m.group("scope").lower() == "cluster" else
                       "namespace's scheduler.alpha.kubernetes.io/tolerationsWhitelist annotation")
                    + ": the template's tolerations, merged with the namespace's defaultTolerations, include one "
                    "that is not on it"),
     lambda m, ns: [f"kubectl get namespace {ns} -o yaml   (annotations scheduler.alpha.kubernetes.io/"
                    "tolerationsWhitelist and defaultTolerations)",
                    "remove that toleration from the template, or have the cluster admin allow it"]),
    (re.compile(r"pod node label selector (?:conflicts with its namespace node label selector|labels conflict "
                r"with its namespace whitelist)", re.I), "PodNodeSelector",
     lambda m, ns: ("it merges the namespace's scheduler.alpha.kubernetes.io/"
                    "node-selector annotation into the pod's nodeSelector, and the template's nodeSelector sets one "
                    "of those labels to another value (or one the namespace's whitelist does not allow)"),
     lambda m, ns: [f"kubectl get namespace {ns} -o yaml   (annotation scheduler.alpha.kubernetes.io/node-selector)",
                    "drop or align the conflicting nodeSelector label in the template"]),
    (re.compile(r"(?:pod\.Spec\.)?SecurityContext\.\w+ is forbidden", re.I), "SecurityContextDeny",
     lambda m, ns: ("this plugin (deprecated, removed in Kubernetes 1.30) refuses pods "
                    "that set securityContext fields such as runAsUser, supplementalGroups, fsGroup or "
                    "seLinuxOptions"),
     lambda m, ns: ["remove those securityContext fields from the template",
                    "or have the cluster admin disable SecurityContextDeny (Pod Security admission replaces it)"]),
    (re.compile(r'RuntimeClass "(?P<name>[^"]+)" not found', re.I), "RuntimeClass",
     lambda m, ns: f"the template's runtimeClassName {m.group('name')} names a RuntimeClass that does not exist",
     lambda m, ns: ["kubectl get runtimeclass", "fix runtimeClassName in the template, or create the RuntimeClass"]),
)


def admission_plugin(text: str, namespace: str) -> dict[str, Any] | None:
    """The in-tree admission plugin that refused, in words: {plugin, why, todo, missing}; None when no known one did.
    ``missing``: the refusal names an object that does not exist yet (a PriorityClass, a RuntimeClass)."""
    for pattern, plugin, why, todo in _ADMISSION_PLUGINS:
        m = pattern.search(text)
        if m:
            return {"plugin": plugin, "why": why(m, namespace), "todo": todo(m, namespace),
                    "missing": "not found" in m.group(0).lower() or "was found" in m.group(0).lower()}
    return None


# Pod Security checks: which field fixes each, or why none does.
PSA_FIXES: dict[str, tuple[str | None, str]] = {
    "allowPrivilegeEscalation != false": ("containers[].securityContext.allowPrivilegeEscalation=false", ""),
    "unrestricted capabilities": ('containers[].securityContext.capabilities.drop=["ALL"]', ""),
    "runAsNonRoot != true": ("securityContext.runAsNonRoot=true", ""),
    "seccompProfile": ('securityContext.seccompProfile.type="RuntimeDefault"', ""),
    "privileged": (None, "the container asks to be privileged: that is a design choice podfix will not undo"),
    "host namespaces": (None, "the pod shares the node's network/PID/IPC namespace: a design choice"),
    "hostPath volumes": (None, "the pod mounts directories of the node: no field makes that allowed"),
    "restricted volume types": (None, "the pod uses a volume type the level forbids: no field makes it allowed"),
    "hostPort": (None, "the container binds a port on the node: no field makes that allowed"),
    "non-default capabilities": (None, "the container adds Linux capabilities it presumably needs"),
    "runAsUser=0": (None, "the pod asks for user 0 (root): choose a non-root UID the image supports"),
}


def strip_wrappers(message: str) -> tuple[str, dict[str, str]]:
    """The bare API error inside an event or condition message, and what the wrapper named (pod, pvc, sts, rs)."""
    text = _COMBINED.sub("", (message or "").strip())
    names: dict[str, str] = {}
    for _ in range(3):
        for wrapper in _WRAPPERS:
            m = wrapper.match(text)
            if m:
                names.update({k: v for k, v in m.groupdict().items() if v})
                text = text[m.end():]
                break
        else:
            break
    return text.strip(), names


def pairs(text: str) -> dict[str, str]:
    """``limits.cpu=1,limits.memory=2Gi`` -> {"limits.cpu": "1", "limits.memory": "2Gi"}."""
    out = {}
    for part in (text or "").split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def must_specify(text: str) -> dict[str, list[str]]:
    """``limits.cpu for: a,b; requests.cpu for: a`` -> {resource: [containers]} (old lists name no containers)."""
    out: dict[str, list[str]] = {}
    text = text.strip().rstrip(".")
    if " for: " in text:
        for part in text.split(";"):
            resource, _, containers = part.strip().partition(" for: ")
            out[resource.strip()] = [c.strip() for c in containers.split(",") if c.strip()]
    else:
        for resource in text.split(","):
            if resource.strip():
                out[resource.strip()] = []
    return out


def _split_top(detail: str) -> list[str]:
    """Split ``a (x, y), b (z)`` on the commas outside parentheses."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(detail):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            items.append(detail[start:i])
            start = i + 1
    items.append(detail[start:])
    return [i.strip() for i in items if i.strip()]


_NAMED = re.compile(r'(?:containers?|volumes?) ((?:"[^"]+"(?:, )?)+)')


def psa_violations(detail: str) -> list[dict[str, Any]]:
    """Each failed Pod Security check: {check, detail, containers, field, fixable, why}."""
    out = []
    for item in _split_top(detail):
        check, _, rest = item.partition(" (")
        rest = rest[:-1] if rest.endswith(")") else rest
        check = check.strip()
        named = _NAMED.search(rest)
        names = re.findall(r'"([^"]+)"', named.group(1)) if named else []
        field, why = PSA_FIXES.get(check, (None, "podfix does not know a field that satisfies this check"))
        if check == "unrestricted capabilities" and "must not include" in rest:
            field, why = None, "the container adds Linux capabilities the level forbids (it presumably needs them)"
        if check == "seccompProfile" and "must not set" in rest:
            field = 'securityContext.seccompProfile.type="RuntimeDefault" (instead of the one set)'
        if check == "runAsNonRoot != true" and "must not set" in rest:
            field = "securityContext.runAsNonRoot=true (instead of false)"
        volumes = check in ("hostPath volumes", "restricted volume types")
        out.append({"check": check, "detail": rest, "containers": [] if volumes else names,
                    "volumes": names if volumes else [], "field": field, "fixable": field is not None,
                    "why": why})
    return out


def limit_violations(text: str) -> list[dict[str, str]]:
    out = []
    for m in _LIMIT_BOUND.finditer(text):
        d = {k: v for k, v in m.groupdict().items() if v}
        d["sentence"] = m.group(0).rstrip(".")
        out.append(d)
    for m in _LIMIT_RATIO.finditer(text):
        d = {k: v for k, v in m.groupdict().items() if v}
        d["bound"] = "ratio"
        d["sentence"] = m.group(0).rstrip(".")
        out.append(d)
    return out


def webhook_failure(err: str) -> str:
    """Why a webhook call failed, as a short kind."""
    low = re.sub(r"https?://\S+", "", err).lower()  # NB: the URL's own "?timeout=10s" is not a timeout
    if "no endpoints available" in low:
        return "no-endpoints"
    if re.search(r'service "[^"]+" not found', low):
        return "service-not-found"
    if "x509" in low or "tls:" in low or "certificate" in low:
        return "tls"
    if "connection refused" in low:
        return "connection-refused"
    if "deadline exceeded" in low or "timeout" in low or "timed out" in low:
        return "timeout"
    if "no such host" in low or "no route to host" in low or "network is unreachable" in low:
        return "unreachable"
    if "unexpected eof" in low or "connection reset" in low or re.search(r"\beof\s*$", low):
        return "connection-dropped"
    if "could not find the requested resource" in low or "404" in low:
        return "not-found-path"
    if "internal server error" in low or re.search(r"\b5\d\d\b", low):
        return "server-error"
    if "invalid webhook response" in low:
        return "bad-response"
    return "other"


def classify(message: str) -> dict[str, Any]:
    """What refused a create request: {"kind", "text", "object", "object_name", ...details}.

    kinds: quota, quota-resources, limitrange, pod-security, psp, webhook-denied, webhook-unreachable,
    serviceaccount, invalid, namespace-terminating, storageclass, other.
    """
    text, names = strip_wrappers(message)
    out: dict[str, Any] = {"kind": "other", "text": text, **{f"wrapper_{k}": v for k, v in names.items()}}
    forbidden = _FORBIDDEN.search(text)
    if forbidden:
        out["object"] = forbidden.group("resource")
        out["object_name"] = forbidden.group("name")
    m = _WEBHOOK_CALL.search(text)
    if m:
        err = m.group("err").strip()
        url = _WEBHOOK_URL.search(err)
        out.update(kind="webhook-unreachable", webhook=m.group("name"), error=err, failure=webhook_failure(err))
        if url:
            out["url"] = url.group("url")
            svc = _SVC_HOST.match(url.group("url"))
            if svc:
                out["service"] = f"{svc.group('ns')}/{svc.group('svc')}"
        return out
    m = _WEBHOOK_DENY.search(text)
    if m:
        out.update(kind="webhook-denied", webhook=m.group("name"),
                   reason=(m.group("msg") or "").strip() or "(the webhook gave no reason)")
        return out
    if _API_TIMEOUT.search(text):
        out.update(kind="webhook-unreachable", webhook=None, failure="apiserver-timeout", error=text)
        return out
    m = _QUOTA_EXCEEDED.search(text)
    if m:
        req, used, lim = pairs(m.group("requested")), pairs(m.group("used")), pairs(m.group("limited"))
        out.update(kind="quota", quota=m.group("name"),
                   resources={r: {"requested": req.get(r), "used": used.get(r), "limited": lim.get(r)}
                              for r in req or lim})
        return out
    m = _QUOTA_MUST.search(text)
    if m:
        out.update(kind="quota-resources", quota=m.group("name"), missing=must_specify(m.group("what")))
        return out
    m = _QUOTA_OTHER.search(text)
    if m:
        out.update(kind="quota", quota=m.group("name"), resources={}, quota_text=m.group("text").strip())
        return out
    m = _PSA.search(text)
    if m:
        out.update(kind="pod-security", level=m.group("level"), violations=psa_violations(m.group("detail")))
        return out
    if _PSP.search(text):
        out.update(kind="psp")
        return out
    if _SCC.search(text):
        out.update(kind="psp", policy="SecurityContextConstraints")
        return out
    m = _SA.search(text)
    if m:
        out.update(kind="serviceaccount", serviceaccount=m.group("name") or m.group("name2"),
                   sa_namespace=m.group("ns") or m.group("ns2"))
        return out
    limits = limit_violations(text)
    if limits:
        out.update(kind="limitrange", violations=limits)
        return out
    if _TERMINATING.search(text):
        out.update(kind="namespace-terminating")
        return out
    m = _STORAGECLASS.search(text)
    if m:
        out.update(kind="storageclass", storageclass=m.group("name"))
        return out
    m = _INVALID.search(text)
    if m and not forbidden:
        out.update(kind="invalid", object=m.group("kind"), object_name=m.group("name") or "",
                   errors=_invalid_errors(m.group("rest")))
        return out
    return out


def _invalid_errors(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("[") and rest.endswith("]"):
        rest = rest[1:-1]
    parts = re.split(r',\s*(?=(?:spec|metadata)\.)|,\s*[Ff]ailed to create PVC [^:]+: \w+ "[^"]*" is invalid:\s*', rest)
    return [p.strip() for p in parts if p.strip()]
