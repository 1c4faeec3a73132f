"""Container registries: image references (``reference``, pure) and an OCI distribution client.

The client checks credentials, manifests, tags and platforms the way the
container runtime would: ``transport`` (HTTP, TLS, redirects, scrubbing),
``auth`` (challenges, Basic and Bearer tokens), ``client`` (the operations),
``suggest`` (the closest existing tags), ``errors``.
"""
