"""Cluster access: everything podfix reads from (and writes to) an API server, or from saved files.

``kubeconfig`` loads the user's kubeconfig with kubectl's exact rules and fills
the official client's ``Configuration`` (``client`` imports just the parts of the
client podfix uses, quickly). ``transport`` sends requests (auth, TLS, proxy,
timeouts, retries); ``api.Cluster`` is the one entry point for API calls (raw
JSON, ``paging`` for LISTs, ``redact`` drops Secret values the moment they
arrive, ``errors.ApiError`` for error answers). ``gather`` decides which objects
a diagnosis needs and reads them in as few requests as possible; ``bundle``
reads ``-f`` files and writes ``--save`` bundles. Both produce a
``diagnose.model.Snapshot``.
"""
