"""Following a rollout or a scope as it changes: ``kubectl podfix wait`` and ``explain --watch``.

Both keep a live copy of the objects they follow (``live.Live``: one LIST and one WATCH per kind, through
``cluster.watch``), diagnose it with the same rules as ``explain`` (``diagnose``), and render with the
same renderers (``render``). ``wait.py`` decides when a rollout is done, failed for good
(``diagnose.heal``) or out of time; ``watching.py`` prints a new block each time a pod's diagnosis changes.
"""
