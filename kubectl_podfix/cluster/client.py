"""Import the parts of the official Kubernetes client podfix uses, quickly.

``import kubernetes`` executes the package's ``__init__``, which imports every
API class and several thousand model classes (about 0.6 s), and the client's
``ApiClient``/``rest`` layer imports ``requests``, ``dateutil`` and
``multiprocessing`` on top of urllib3 (another 0.15 s). For ``explain POD``,
two requests that take 20 ms, that was most of the run time (docs/benchmarks.md).

podfix reads raw JSON and never uses the models, so it takes from the client:
``Configuration`` (filled by kubeconfig.py, with the client's own
``ExecProvider`` for exec credential plugins; kubeconfig.py loads every other
auth method itself), and talks HTTP through the same library the client does,
urllib3, set up the way ``kubernetes.client.rest.RESTClientObject`` sets it up
(``pool_manager``). When the client is not imported yet, light package objects
for ``kubernetes``, ``kubernetes.client``, ``kubernetes.config`` and
``kubernetes.utils`` (pointing at the real directories, so this also works
inside the zipapp) let single modules load without their package ``__init__``.
When something already imported the full client (tests, a host program), that
one is used unchanged.

Only this module, kubeconfig.py and transport.py (the pool) touch the client.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def _stub(name: str, path: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [path]
    module.__package__ = name
    module.__podfix_stub__ = True  # type: ignore[attr-defined]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module


def _root() -> str:
    """The directory (or zip path) of the ``kubernetes`` package, stubbing the package if not imported."""
    module = sys.modules.get("kubernetes")
    if module is not None:
        return list(module.__path__)[0]
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or not spec.submodule_search_locations:
        from kubectl_podfix.errors import PodfixError

        raise PodfixError("the Python package 'kubernetes' is not installed: pip install 'kubernetes>=30,<37'")
    root = list(spec.submodule_search_locations)[0]
    _stub("kubernetes", root)
    return root


def _package(name: str) -> None:
    """Make ``kubernetes.<name>`` importable without running its ``__init__`` (unless already imported)."""
    root = _root()
    full = f"kubernetes.{name}"
    if full not in sys.modules:
        _stub(full, f"{root}/{name}")
        if name == "client":
            _stub("kubernetes.client.models", f"{root}/client/models")


def Configuration() -> Any:  # noqa: N802 - returns the class
    _package("client")
    from kubernetes.client import configuration

    client = sys.modules["kubernetes.client"]
    if not hasattr(client, "Configuration"):  # kubernetes.config's modules import it from there
        client.Configuration = configuration.Configuration  # type: ignore[attr-defined]
    return configuration.Configuration


def exec_provider() -> Any:
    """The client's ``ExecProvider`` class (runs exec credential plugins)."""
    _package("config")
    from kubernetes.config import exec_provider as module

    return module.ExecProvider


def kube_config() -> Any:
    """The client's ``kube_config`` module (podfix no longer loads kubeconfigs with it; kept for callers)."""
    Configuration()
    client = sys.modules["kubernetes.client"]
    if not hasattr(client, "ApiClient"):
        from kubernetes.client import api_client

        client.ApiClient = api_client.ApiClient  # type: ignore[attr-defined]
    _package("config")
    from kubernetes.config import kube_config as module

    return module


def incluster_config() -> Any:
    Configuration()
    _package("config")
    from kubernetes.config import incluster_config as module

    return module


def parse_quantity() -> Any:
    """The client's ``kubernetes.utils.quantity.parse_quantity``."""
    _package("utils")
    from kubernetes.utils import quantity

    return quantity.parse_quantity


def pool_manager(cfg: Any, proxy: str | None = None, proxy_headers: dict | None = None) -> Any:
    """A urllib3 pool set up from a client ``Configuration`` as ``RESTClientObject`` does it."""
    import ssl

    import urllib3

    if cfg.verify_ssl:
        ca_certs = cfg.ssl_ca_cert
        if ca_certs is None:
            import certifi

            ca_certs = certifi.where()
        options: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": ca_certs}
    else:
        options = {"cert_reqs": ssl.CERT_NONE}
        urllib3.disable_warnings()  # kubectl does not warn either; the kubeconfig asked for it
    if cfg.cert_file:
        options.update(cert_file=cfg.cert_file, key_file=cfg.key_file)
    if getattr(cfg, "tls_server_name", None):
        options["server_hostname"] = cfg.tls_server_name
    if cfg.assert_hostname is not None:
        options["assert_hostname"] = cfg.assert_hostname
    options.update(num_pools=4, maxsize=4, retries=False)
    if proxy:
        return urllib3.ProxyManager(proxy_url=proxy, proxy_headers=proxy_headers, **options)
    return urllib3.PoolManager(**options)
