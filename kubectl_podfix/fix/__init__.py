"""Fixing: plans as data, pure planners, and the one engine that applies them.

``plan`` defines ``Plan``/``Step`` (what a fix will send, the object before and
after, the undo command). The planners (``pull_secret``, ``memory``, ``probe``,
``image``, ``restart``) build plans from objects already read; ``workload``
finds the object to change (the top controller) and builds its patches, and
``quantity`` parses Kubernetes quantities. ``engine`` shows, preflights,
dry-runs, confirms, applies and verifies a plan: the only place that writes on
a fixer's behalf.
"""
