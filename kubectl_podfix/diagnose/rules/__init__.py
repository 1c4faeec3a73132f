"""The rule registry and the one function that runs it.

A rule is a pure function ``rule(ctx: PodContext) -> Iterable[Finding]``: no
I/O, no logging, no clock other than ``ctx.now``. Each family module lists the
codes it may produce in ``CODES`` (code -> one-line meaning), in root-cause
order; docs/findings.md documents every one of them (a test checks).

``diagnose`` runs every rule, drops findings that a more specific finding on
the same container supersedes, and orders the rest so the first finding is
the diagnosis. Then it keeps podfix's first promise, *silence means healthy*:
``diagnose.health`` says whether the pod is at its desired state, and
``fallback`` adds ``pod.unexplained``, ranked last, for every problem no
finding covers. A pod inside its deletion grace period gets no error: it is
going away.
"""

from __future__ import annotations

from kubectl_podfix.diagnose.health import assess
from kubectl_podfix.diagnose.model import SEVERITIES, Finding, PodContext
from kubectl_podfix.diagnose.rules import containers, fallback, images, pods, probes

# Families in the order their findings rank when several apply to one pod (the fallback always last).
FAMILIES = (images, pods, containers, probes, fallback)

RULES = tuple(rule for family in FAMILIES for rule in family.RULES)

CODES: dict[str, str] = {code: meaning for family in FAMILIES for code, meaning in family.CODES.items()}

# A finding with the key code hides findings with these codes on the same container.
SUPERSEDES: dict[str, frozenset[str]] = {}
for _family in FAMILIES:
    for _code, _hidden in getattr(_family, "SUPERSEDES", {}).items():
        SUPERSEDES[_code] = SUPERSEDES.get(_code, frozenset()) | frozenset(_hidden)

_RANK = {code: i for i, code in enumerate(CODES)}


def diagnose(ctx: PodContext) -> list[Finding]:
    """Run every rule on one pod and return its findings, root cause first."""
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(ctx))
    present: dict[str | None, set[str]] = {}
    for f in findings:
        present.setdefault(f.container, set()).add(f.code)
    kept = []
    for f in findings:
        hidden_by = [c for c in present.get(f.container, ()) if f.code in SUPERSEDES.get(c, ())]
        if not hidden_by:
            kept.append(f)
    health = assess(ctx.pod, ctx.now)
    if health.state == "terminating":
        for f in kept:
            if f.severity == "error":
                f.severity = "warning"
    kept.sort(key=lambda f: (SEVERITIES.index(f.severity), _RANK.get(f.code, len(_RANK))))
    return kept + fallback.unexplained(ctx, kept, health)
