"""Import the parts of the official Kubernetes client podfix uses, quickly.

``import kubernetes`` executes the package's ``__init__``, which imports every
API class and several thousand model classes: about 0.6 s on a laptop, most of
podfix's run time against a nearby API server. podfix reads raw JSON
(``_preload_content=False``) and never uses the models, so when the client is
not imported yet we register light package objects for ``kubernetes``,
``kubernetes.client`` and ``kubernetes.client.models`` (pointing at the real
directories) and import only ``configuration``, ``api_client``, ``rest`` and
``config.kube_config``. When something else already imported the full client
(tests, a host program), that one is used unchanged.

Only this module and cluster.py/kubeconfig.py touch the client.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

_loaded: dict[str, Any] = {}


def _stub(name: str, path: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [path]
    module.__package__ = name
    module.__podfix_stub__ = True  # type: ignore[attr-defined]
    sys.modules[name] = module
    return module


def _root() -> str:
    """The directory (or zip path) of the ``kubernetes`` package, stubbing the package if not imported."""
    module = sys.modules.get("kubernetes")
    if module is not None:
        return list(module.__path__)[0]
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or not spec.submodule_search_locations:
        from .errors import PodfixError

        raise PodfixError("the Python package 'kubernetes' is not installed: pip install 'kubernetes>=30,<37'")
    root = list(spec.submodule_search_locations)[0]
    _stub("kubernetes", root)
    return root


def _is_stub(name: str) -> bool:
    return bool(getattr(sys.modules.get(name), "__podfix_stub__", False))


def _load() -> dict[str, Any]:
    if _loaded:
        return _loaded
    root = _root()
    if _is_stub("kubernetes") and "kubernetes.client" not in sys.modules:
        client = _stub("kubernetes.client", root + "/client")
        _stub("kubernetes.client.models", root + "/client/models")
        sys.modules["kubernetes"].client = client  # type: ignore[attr-defined]
        from kubernetes.client import api_client, configuration

        client.ApiClient = api_client.ApiClient  # type: ignore[attr-defined]
        client.Configuration = configuration.Configuration  # type: ignore[attr-defined]
    from kubernetes.client import api_client, configuration, exceptions

    _loaded.update(ApiClient=api_client.ApiClient, Configuration=configuration.Configuration,
                   ApiException=exceptions.ApiException)
    return _loaded


def parse_quantity() -> Any:
    """The client's ``kubernetes.utils.quantity.parse_quantity``, without importing ``kubernetes.utils``'s
    package ``__init__`` (which pulls in the whole client)."""
    root = _root()
    if "kubernetes.utils" not in sys.modules:
        _stub("kubernetes.utils", root + "/utils")
    from kubernetes.utils import quantity

    return quantity.parse_quantity


def ApiClient() -> Any:  # noqa: N802 - returns the class
    return _load()["ApiClient"]


def Configuration() -> Any:  # noqa: N802
    return _load()["Configuration"]


def ApiException() -> Any:  # noqa: N802
    return _load()["ApiException"]
