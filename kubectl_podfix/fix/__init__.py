"""Fixers: pure planners. Each takes objects already read and returns a ``plan.Plan``.

No I/O here: the command modules read what a planner needs through
``Cluster`` and ``engine.run`` applies the plan.
"""

from __future__ import annotations

FIXES = {
    "pull-secret": "create or repair a registry pull secret and attach it to what the pod uses",
}
