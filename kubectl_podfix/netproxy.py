"""Which proxy a request goes through: Go's ``http.ProxyFromEnvironment``, exactly.

kubectl (client-go) sends a request to the cluster's ``proxy-url`` when the
kubeconfig sets one, and otherwise asks Go's ``net/http.ProxyFromEnvironment``
(``golang.org/x/net/http/httpproxy``). This module is that function, pure (the
environment is a parameter) and used by both podfix's HTTP clients: the API
server transport (``cluster/transport.py``) and the registry client
(``registry/transport.py``). The rules, as Go implements them:

* ``HTTPS_PROXY``/``https_proxy`` for https URLs, ``HTTP_PROXY``/``http_proxy``
  for http URLs (the upper-case name wins when both are set and non-empty).
  ``ALL_PROXY`` is not read.
* A value without a scheme (``proxy:3128``) means ``http://proxy:3128``.
* ``NO_PROXY``/``no_proxy``: comma-separated; ``*`` matches everything; an IP
  address (``10.0.0.1``, ``[::1]:6443``) or CIDR (``10.0.0.0/8``) matches IP
  hosts; a domain (``example.com``) matches itself and its subdomains, a
  leading dot (``.example.com``) only subdomains, ``*.example.com`` is
  ``.example.com``; a ``:port`` suffix limits an entry to that port.
* ``localhost`` and loopback addresses (127.0.0.0/8, ::1) are never proxied.
* With ``REQUEST_METHOD`` set (a CGI program, where ``HTTP_PROXY`` may come from
  a request's ``Proxy:`` header), a request that would use ``HTTP_PROXY`` fails.

``user:password@`` in a proxy URL becomes a ``Proxy-Authorization: Basic``
header; ``display`` is the URL without it, the only form podfix ever prints.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import unquote, urlsplit

SCHEMES = ("http", "https", "socks5")
_DEFAULT_PORTS = {"http": "80", "https": "443", "socks5": "1080"}


class ProxyError(ValueError):
    """A proxy setting podfix cannot use; the message is one line for the user."""


@dataclass(frozen=True)
class Proxy:
    """The proxy one request goes through."""

    url: str  # scheme://host:port, without credentials: what the HTTP library is given
    authorization: str | None  # "Basic ..." from the URL's user:password, or None
    source: str  # where it came from: "HTTPS_PROXY", "http_proxy", "the kubeconfig's proxy-url"...

    @property
    def display(self) -> str:
        return self.url

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    def __repr__(self) -> str:  # never the credentials
        return f"Proxy({self.url!r}, from {self.source})"


def _getenv_any(env: Mapping[str, str], *names: str) -> tuple[str, str]:
    for name in names:
        value = env.get(name) or ""
        if value:
            return name, value
    return "", ""


def parse_proxy(value: str, source: str, *, strict: bool = False) -> Proxy:
    """A proxy URL as Go reads it.

    From the environment (``strict=False``) a value without a scheme or a host
    (``proxy:3128``, ``10.0.0.1:3128``, ``proxy``) is read again with ``http://`` in
    front, like httpproxy's parseProxy. The kubeconfig's ``proxy-url`` is ``strict``,
    like client-go's parseProxyURL: an http, https or socks5 URL, nothing else.
    """
    text = value.strip()
    parts = _split(text)
    if (parts is None and "://" in text) or (parts is not None and parts.netloc and parts.port == 0):
        # NB: a URL with a scheme that does not parse (a port 99999 or "abc", "[::1") is not read again with
        # http:// in front: "http://http://user:pass@proxy:99999" would name the proxy host "http"
        raise ProxyError(f"{source} is not a valid proxy URL (expected scheme://host:port, a port from 1 to "
                         "65535)")
    if not strict and (parts is None or not parts.scheme or not parts.netloc):
        parts = _split("http://" + text)
    if parts is None:
        raise ProxyError(f"{source} is not a valid proxy URL (expected http://host:port)")
    if parts.scheme not in SCHEMES:
        raise ProxyError(f'{source} has an unsupported scheme "{parts.scheme}": it must be http, https or socks5')
    if parts.scheme == "socks5":
        raise ProxyError(f"{source} is a socks5 proxy, which podfix does not support: use an http or https "
                         "proxy (or kubectl)")
    if not parts.hostname:
        raise ProxyError(f"{source} names no proxy host (expected {parts.scheme}://host:port)")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or int(_DEFAULT_PORTS[parts.scheme])
    authorization = None
    if parts.username is not None or parts.password is not None:
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return Proxy(f"{parts.scheme}://{host}:{port}", authorization, source)


def _split(text: str):
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    return parts


def proxy_for(url: str, env: Mapping[str, str]) -> Proxy | None:
    """The proxy Go's ProxyFromEnvironment picks for ``url`` (None: connect directly).

    Raises ProxyError for an unusable proxy value, and in a CGI environment when
    HTTP_PROXY would apply, as Go does.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        name, value = _getenv_any(env, "HTTPS_PROXY", "https_proxy")
    elif scheme == "http":
        name, value = _getenv_any(env, "HTTP_PROXY", "http_proxy")
        if value and env.get("REQUEST_METHOD"):
            raise ProxyError("refusing to use HTTP_PROXY in a CGI environment (REQUEST_METHOD is set), as Go "
                             "and kubectl do: unset HTTP_PROXY or REQUEST_METHOD")
    else:
        return None
    if not value:
        return None
    proxy = parse_proxy(value, name)
    host = parts.hostname or ""
    port = str(parts.port) if parts.port else _DEFAULT_PORTS.get(scheme, "")
    if not use_proxy(host, port, _getenv_any(env, "NO_PROXY", "no_proxy")[1]):
        return None
    return proxy


def excluded_by(url: str, env: Mapping[str, str]) -> bool:
    """Whether a proxy is set for ``url``'s scheme but NO_PROXY or the loopback rule skips it (for --debug)."""
    parts = urlsplit(url)
    names = {"https": ("HTTPS_PROXY", "https_proxy"), "http": ("HTTP_PROXY", "http_proxy")}.get(parts.scheme, ())
    if not names or not _getenv_any(env, *names)[1]:
        return False
    port = str(parts.port) if parts.port else _DEFAULT_PORTS.get(parts.scheme, "")
    return not use_proxy(parts.hostname or "", port, _getenv_any(env, "NO_PROXY", "no_proxy")[1])


def _ip(text: str):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # Go's net.IP treats ::ffff:a.b.c.d as a.b.c.d
    return ip


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's net.SplitHostPort: raises ValueError when there is no port part."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 >= len(hostport) or hostport[end + 1] != ":":
            raise ValueError("missing port")
        host, port = hostport[1:end], hostport[end + 2:]
        if "[" in host or "]" in host:
            raise ValueError("bad brackets")
    else:
        i = hostport.rfind(":")
        if i < 0:
            raise ValueError("missing port")
        host, port = hostport[:i], hostport[i + 1:]
        if ":" in host or "[" in host or "]" in host:
            raise ValueError("too many colons")
    if "[" in port or "]" in port:
        raise ValueError("bad port")
    return host, port


def _ascii(name: str) -> str:
    """A host name in its ASCII (punycode) form, as Go's idna.Lookup.ToASCII gives it."""
    if name.isascii():
        return name
    try:
        return ".".join(label.encode("idna").decode("ascii") if label else "" for label in name.split("."))
    except UnicodeError:
        return name


def use_proxy(host: str, port: str, no_proxy: str) -> bool:
    """httpproxy's useProxy: False for loopback and for hosts NO_PROXY matches."""
    host = _ascii(host.strip().lower())
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return False
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        return False
    ip_matchers: list[tuple[str, object, str]] = []
    domain_matchers: list[tuple[str, str, bool]] = []
    for entry in no_proxy.split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return False
        if "/" in entry:
            try:
                ip_matchers.append(("cidr", _network(entry), ""))
                continue
            except ValueError:
                pass
        try:
            phost, pport = split_host_port(entry)
            if not phost:
                continue
        except ValueError:
            phost, pport = entry, ""
        pip = _ip(phost)
        if pip is not None:
            ip_matchers.append(("ip", pip, pport))
            continue
        if not phost:
            continue
        if phost.startswith("*."):
            phost = phost[1:]
        match_host = not phost.startswith(".")
        if match_host:
            phost = "." + phost
        phost = _ascii(phost)
        domain_matchers.append((phost, pport, match_host))
    if ip is not None:
        for kind, value, pport in ip_matchers:
            if kind == "cidr":
                if ip.version == value.version and ip in value:  # type: ignore[attr-defined,operator]
                    return False
            elif value == ip and (not pport or pport == port):
                return False
    for suffix, pport, match_host in domain_matchers:
        if host.endswith(suffix) or (match_host and host == suffix[1:]):
            if not pport or pport == port:
                return False
    return True


def _network(entry: str):
    net = ipaddress.ip_network(entry, strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None \
            and net.prefixlen >= 96:
        return ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
    return net
