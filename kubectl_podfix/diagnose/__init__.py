"""Diagnosis: pure functions from a snapshot to findings. No I/O, no clock but ``ctx.now``.

``model`` holds the plain data (``Snapshot``, ``PodContext``, ``Finding``);
``context`` builds one ``PodContext`` per pod; ``rules`` is the registry and one
subpackage or module per failure family; ``report`` is the JSON contract and the
triage groups; ``explain`` runs the rules over a snapshot for the explain command.
"""
