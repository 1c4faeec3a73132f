"""A loopback HTTP server that behaves like the Kubernetes API server, for tests.

It is the only fake in the project: the real ``kubernetes`` client, real kubeconfig
loading and the real ``kubectl`` binary talk to it over HTTP on 127.0.0.1.  It copies
the real server's wire behaviour for what podfix uses: URL shapes, query parameters,
``metav1.Status`` error bodies, list metadata, content types, RBAC messages.

Choices worth knowing:

* ``add()`` seeds objects verbatim (status included, no hooks).  Writes through the
  API behave like the real server: status is kept from the stored object on
  update/patch and reset on create, pods get a few defaults, pod specs are immutable.
* Core ``v1`` events and ``events.k8s.io/v1`` events share one store (as in a real
  cluster); objects are kept in the core shape and converted when served under
  ``/apis/events.k8s.io/v1``.
* List items carry no ``kind``/``apiVersion`` (the real server strips them);
  ``metadata.continue`` is present only when there is a next page and
  ``remainingItemCount`` only when no selector was given.  A page is full before a
  continue token is issued, so the last page of a filtered list may be empty.
* Continue tokens look like the real ones; a malformed token gets 400, a token older
  than the last ``compact()`` gets 410 Expired.  Later pages read the current store.
* ``page_default`` caps every page (the server may return fewer items than ``limit``).
* ``deny("get", "pods")`` does not deny ``pods/log`` (RBAC semantics); use
  ``deny("get", "pods/log")``.  A resource may be qualified: ``"deployments.apps"``.
* ``fail(path_regex=...)`` is ``re.search``-ed against the path without the query; so is
  ``answer(path_regex=..., fn)``, whose ``fn(handler, request)`` writes any answer itself (a
  misbehaving server: tests/hostile.py).
* Unknown paths (``/openapi/v2``, ``/openapi/v3``...) get 404: kubectl get/describe/logs/
  patch/delete/auth can-i cope; ``kubectl create|apply -f`` need ``--validate=false``.
* ``kubectl auth can-i`` posts its SelfSubjectAccessReview as protobuf; that one body is
  decoded (``Request.json`` shows it).  Everything else is JSON (or YAML) only.
* Watch is served as the real server serves it (watch.py): a chunked stream of JSON lines, initial ADDED
  events without a resourceVersion, selectors, BOOKMARKs, ``timeoutSeconds``, 410 as an ERROR event after
  ``compact()``.  Every change, through the API or the helpers (``add``/``remove``), is in the change log
  watches read; ``drop_watches()`` cuts open streams, ``wait_for_watchers()`` is a test's sync point.
* Not supported: server-side apply (415), garbage collection, ``sendInitialEvents`` (watch-list).

Client behaviour worth knowing when counting requests: the Python client (urllib3's
default ``Retry(3)``) retries GETs by itself after a dropped connection, a read timeout,
or a 429/503 that carries ``Retry-After``; kubectl (the gcloud dispatcher build) sends
``GET /version`` before every command.

Modules (tests import from the package: ``from apiserver import FakeAPIServer``):

* ``server``: ``FakeAPIServer`` (state, lifecycle, test helpers, faults), the HTTP handler, routing.
* ``wire``: ``Request``; reading a request off the socket, writing the response.
* ``reads``: objects as served, lists (selectors, pagination, continue tokens), pod logs.
* ``writes``: create, update, patch, delete, deletecollection, dry-run.
* ``watch``: watch streams and the change log they read.
* ``validation`` and ``defaults``: what create/update reject (422) and fill in.
* ``resources``: the served resources (``Res``) and discovery documents.
* ``status``: ``metav1.Status`` error bodies and ``ApiError``.
* ``rbac``: ``deny()`` rules, 403s, SelfSubjectAccessReview answers.
* ``selector``: label and field selectors.
* ``patches``: strategic merge patch, JSON merge patch, JSON patch.
* ``events``: core ``v1`` <-> ``events.k8s.io/v1`` Events.
* ``tables``: the Tables ``kubectl get`` asks for.
* ``protobuf``: decoding the SelfSubjectAccessReview ``kubectl auth can-i`` posts.
"""

from .patches import json_patch, merge_patch, strategic_merge
from .resources import RESOURCES, Res
from .selector import labels_match, parse_field_selector, parse_label_selector
from .server import FakeAPIServer
from .status import ApiError, status_body
from .wire import Request

__all__ = ["FakeAPIServer", "Request", "ApiError", "status_body", "Res", "RESOURCES", "parse_label_selector",
           "labels_match", "parse_field_selector", "strategic_merge", "merge_patch", "json_patch"]
