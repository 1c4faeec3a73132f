"""Container family: why a container crashes, restarts, or never starts.

Codes, root cause first: an out-of-memory kill, a binary built for another
CPU, a missing command, a failed lifecycle hook (``hooks``), other start
failures, create failures, missing
configuration, then the generic crash loop and the "exits 0 but is
restarted" case. Probes live in ``probes.py``; pod-level causes (eviction,
scheduling, volumes...) in ``pods``.

One module per kind of failure (``oom``, ``start``, ``hooks``, ``config``, ``crash``),
on top of what they read: ``messages`` (exit codes, signals, runtime
messages), ``state`` (the container's spec and status, restart timing),
``logs`` (the previous log: what to fetch and what to quote) and
``resources`` (quantities, memory limits and use).
"""

from __future__ import annotations

from kubectl_podfix.diagnose.rules.containers.config import config_error_rule
from kubectl_podfix.diagnose.rules.containers.crash import completed_rule, crash_rule
from kubectl_podfix.diagnose.rules.containers.hooks import hook_failed_rule
from kubectl_podfix.diagnose.rules.containers.initwait import init_wait_rule
from kubectl_podfix.diagnose.rules.containers.logs import needs_logs, quote_log
from kubectl_podfix.diagnose.rules.containers.messages import exit_signal, explain_exit, find_command_not_found
from kubectl_podfix.diagnose.rules.containers.oom import oom_rule
from kubectl_podfix.diagnose.rules.containers.resources import format_bytes, parse_quantity
from kubectl_podfix.diagnose.rules.containers.start import (
    command_not_found_rule,
    create_failed_rule,
    exec_format_rule,
    start_failed_rule,
)

__all__ = ["CODES", "SUPERSEDES", "RULES", "needs_logs", "quote_log", "exit_signal", "explain_exit",
           "find_command_not_found", "format_bytes", "parse_quantity"]

CODES: dict[str, str] = {
    "container.oom-killed": "the container was killed for exceeding its memory limit (OOMKilled)",
    "container.exec-format-error": "the image's binary is built for another CPU architecture (exec format error)",
    "container.command-not-found": "the command or entrypoint does not exist in the image",
    "container.hook-failed": "a postStart or preStop lifecycle hook failed, or a postStart hook never returns",
    "container.start-failed": "the runtime could not start the container's process",
    "container.create-failed": "the runtime could not create the container (CreateContainerError)",
    "container.config-error": "a ConfigMap, Secret or key the container needs is missing (CreateContainerConfigError)",
    "container.crash-loop": "the container's process keeps exiting with an error",
    "container.completed-restarting": "the process exits 0 but the restart policy restarts it",
    "container.init-not-finishing": "an init container has been running a long time without finishing (Init:0/1)",
}

_CRASH_CODES = {"container.crash-loop", "container.completed-restarting"}
SUPERSEDES: dict[str, set[str]] = {
    "container.oom-killed": _CRASH_CODES | {"container.readiness-probe-failed"},
    "container.exec-format-error": _CRASH_CODES | {"container.command-not-found", "container.start-failed",
                                                   "container.create-failed", "container.readiness-probe-failed"},
    "container.command-not-found": _CRASH_CODES | {"container.start-failed", "container.create-failed",
                                                   "container.readiness-probe-failed"},
    "container.hook-failed": _CRASH_CODES | {"container.command-not-found", "container.start-failed",
                                             "container.readiness-probe-failed"},
    "container.start-failed": _CRASH_CODES | {"container.readiness-probe-failed"},
    "container.create-failed": _CRASH_CODES,
    "container.config-error": _CRASH_CODES | {"container.create-failed"},
    "container.crash-loop": {"container.readiness-probe-failed", "container.completed-restarting"},
    "container.completed-restarting": {"container.readiness-probe-failed"},
}

RULES = (oom_rule, exec_format_rule, command_not_found_rule, hook_failed_rule, start_failed_rule,
         create_failed_rule, config_error_rule, crash_rule, completed_rule, init_wait_rule)
