"""The node check: a short-lived pod on the failing pod's node that tests the image's registry from there.

``spec`` builds the pod (pure), ``script`` is the shell script it runs, ``parse``
reads its output into steps and a verdict (pure), ``run`` creates, follows and
always deletes the pod. The command is ``kubectl podfix node-check``.
"""
