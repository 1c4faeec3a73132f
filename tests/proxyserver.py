"""A loopback HTTP proxy that records what reaches it, for testing proxy choice on purpose.

``RecordingProxy`` speaks both ways a client uses a proxy: ``CONNECT host:port`` (a tunnel,
for https URLs; the bytes sent through it are recorded too) and absolute-form requests
(``GET http://host:port/path``, for http URLs). It resolves every host name to 127.0.0.1
(keeping the port), so a kubeconfig can name ``api.podfix.test:PORT`` and still reach a
loopback server, but only through the proxy: the name does not resolve anywhere else.

``Relay`` listens on another local address (e.g. the machine's non-loopback IP) and
forwards to a loopback server, so a test can reach a server by an address that is not
loopback (and so not exempt from proxying).
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Record:
    method: str
    target: str  # "host:port" for CONNECT, the absolute URL otherwise
    headers: dict[str, str]
    tunneled: bytearray = field(default_factory=bytearray)  # client -> server bytes inside a CONNECT tunnel

    def seen(self) -> str:
        """Everything the proxy saw from the client, as text (headers and tunneled bytes)."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.target}\n{head}\n" + self.tunneled.decode("latin-1")


class RecordingProxy:
    def __init__(self, *, require_auth: str | None = None, html_403: bool = False):
        self.require_auth = require_auth  # the exact Proxy-Authorization value required, else 407
        self.html_403 = html_403  # answer every forwarded request with a proxy's HTML 403 page
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""

    def seen(self) -> str:
        with self._lock:
            return "\n".join(r.seen() for r in self.records)

    def start(self) -> "RecordingProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _record(self) -> Record:
                rec = Record(self.command, self.path, {k: v for k, v in self.headers.items()})
                with proxy._lock:
                    proxy.records.append(rec)
                return rec

            def _authorized(self) -> bool:
                if proxy.require_auth is None or self.headers.get("Proxy-Authorization") == proxy.require_auth:
                    return True
                body = b"proxy authentication required"
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return False

            def do_CONNECT(self):
                rec = self._record()
                if not self._authorized():
                    return
                host, _, port = self.path.rpartition(":")
                try:
                    upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
                except OSError:
                    self.send_error(502)
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                client = self.connection
                try:
                    while True:
                        ready, _, _ = select.select([client, upstream], [], [], 30)
                        if not ready:
                            return
                        for sock in ready:
                            data = sock.recv(65536)
                            if not data:
                                return
                            if sock is client:
                                rec.tunneled.extend(data)
                                upstream.sendall(data)
                            else:
                                client.sendall(data)
                except OSError:
                    return
                finally:
                    upstream.close()

            def _forward(self):
                rec = self._record()
                if not self._authorized():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.html_403:
                    page = b"<html><body><h1>403 Forbidden</h1>Request blocked by the corporate proxy.</body></html>"
                    self.send_response(403)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                url = http.client.urlsplit(self.path)
                conn = http.client.HTTPConnection("127.0.0.1", url.port or 80, timeout=30)
                headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
                path = url.path + ("?" + url.query if url.query else "")
                try:
                    conn.request(self.command, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except OSError:
                    self.send_error(502)
                    return
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True, name="proxy").start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "RecordingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def local_ipv4() -> str | None:
    """A non-loopback IPv4 address of this machine that can be listened on, or None."""
    for probe in ("192.0.2.254", "10.255.255.254", "8.8.8.8"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))  # UDP: no packet is sent
                ip = s.getsockname()[0]
        except OSError:
            continue
        if ip and not ip.startswith("127.") and ip != "0.0.0.0":
            try:
                with socket.socket() as t:
                    t.bind((ip, 0))
                return ip
            except OSError:
                return None
    return None


class Relay:
    """Forward TCP connections from ``host`` (any port) to a loopback port."""

    def __init__(self, host: str, target_port: int):
        self.host, self.target_port = host, target_port
        self._sock = socket.socket()
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()

    def start(self) -> "Relay":
        threading.Thread(target=self._serve, daemon=True, name="relay").start()
        return self

    def _serve(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        except OSError:
            client.close()
            return
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()

    def __enter__(self) -> "Relay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
