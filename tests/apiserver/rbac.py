"""RBAC: everything is allowed except what ``FakeAPIServer.deny()`` forbids.

Denials answer 403 worded like the real authorizer, and SelfSubjectAccessReviews (``kubectl auth can-i``)
consult the same rules.  A rule is ``(verb, plural, subresource, group or None, namespace or None)``;
``deny("get", "pods")`` does not deny ``pods/log`` (a subresource is its own RBAC resource).
"""

from __future__ import annotations

from .resources import Res, dig
from .status import ApiError, status_details


def deny_rule(verb: str, resource: str, namespace: str | None) -> tuple:
    """The rule for deny(verb, resource, namespace): resource is "pods", "pods/log", "deployments.apps", "*"."""
    res, _, sub = resource.partition("/")
    plural, _, group = res.partition(".")
    return (verb, plural, sub, group or None, namespace)


def is_denied(rules: list[tuple], verb, group, plural, sub, ns) -> bool:
    # ns None: a cluster-wide request, which a deny in any namespace also forbids
    return any(v in ("*", verb) and p in ("*", plural) and s == (sub or "") and g in (None, group)
               and (ns is None or n in (None, ns)) for v, p, s, g, n in rules)


def authorize(rules: list[tuple], user: str, verb, res: Res, sub, ns, name) -> None:
    if not is_denied(rules, verb, res.group, res.plural, sub, ns):
        return
    head = f'{res.gr} "{name}"' if name else res.gr
    scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    resource = f"{res.plural}/{sub}" if sub else res.plural
    raise ApiError(403, f'{head} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
                        f'in API group "{res.group}" {scope}', details=status_details(res, name))


def access_review(rules: list[tuple], body: dict) -> dict:
    attrs = dig(body, "spec.resourceAttributes")
    allowed = not attrs or not is_denied(rules, attrs.get("verb", ""), attrs.get("group", ""),
                                         attrs.get("resource", ""), attrs.get("subresource", ""),
                                         attrs.get("namespace") or None)
    out = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
           "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {},
           "status": {"allowed": allowed}}
    if allowed:
        out["status"]["reason"] = "RBAC: allowed by FakeAPIServer"
    return out
