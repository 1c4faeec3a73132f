"""Loopback endpoints the node check script's tools are pointed at (tests and fixture capture).

Everything listens on 127.0.0.1 only:

* ``TLSRegistry``: an HTTPS server answering ``GET /v2/`` like a registry (401 with a Bearer realm),
  with a generated certificate that is self-signed, expired, or made for another host name;
  ``tls=False`` serves the same answer over plain HTTP (the "HTTP registry, HTTPS client" case);
* ``refused_port()``: a port nothing listens on;
* ``Blackhole``: a listening socket whose accept queue is full, so new connections time out
  (the kernel drops the SYNs, as a firewall that drops packets does);
* ``DNSServer``: a tiny UDP DNS server answering A queries for given names (NXDOMAIN otherwise),
  or ``silent=True``: it never answers (the "resolver unreachable" case).
"""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
from pathlib import Path


def make_cert(directory: Path, *, kind: str = "self-signed") -> tuple[Path, Path]:
    """A self-signed certificate made by ``openssl ca -selfsign``: kind "self-signed" (valid now, for
    registry.test, localhost and 127.0.0.1), "expired" (January 2025) or "wrong-host" (other.example only)."""
    d = Path(directory) / kind
    d.mkdir(parents=True, exist_ok=True)
    sans = "DNS:other.example" if kind == "wrong-host" else "DNS:registry.test,DNS:localhost,IP:127.0.0.1"
    cn = "other.example" if kind == "wrong-host" else "registry.test"
    (d / "index.txt").write_text("")
    (d / "serial").write_text("01\n")
    (d / "ca.cnf").write_text(
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\ndefault_md = sha256\n"
        "policy = p\ncopy_extensions = none\nx509_extensions = ext\nserial = serial\n"
        "[p]\ncommonName = supplied\norganizationName = optional\n"
        f"[ext]\nbasicConstraints = critical,CA:TRUE\nsubjectAltName = {sans}\n")
    now = dt.datetime.now(dt.timezone.utc)
    start, end = ((dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)) if kind == "expired"
                  else (now - dt.timedelta(hours=1), now + dt.timedelta(days=2)))
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
        "-out", "req.csr", "-subj", f"/CN={cn}/O=podfix test registry")
    run("ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "key.pem", "-in", "req.csr", "-out",
        "cert.pem", "-notext", "-startdate", start.strftime("%Y%m%d%H%M%SZ"), "-enddate", end.strftime("%Y%m%d%H%M%SZ"))
    return d / "cert.pem", d / "key.pem"


class _RegistryHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "podfix-test-registry"
    sys_version = ""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}\n'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Www-Authenticate", 'Bearer realm="https://auth.registry.test/token",service="registry.test"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


class _TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    ctx: ssl.SSLContext | None = None

    def get_request(self):
        sock, addr = super().get_request()
        if self.ctx is not None:  # the handshake happens in the handler thread, not in accept()
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address) -> None:  # handshake failures are expected
        pass


class TLSRegistry:
    def __init__(self, kind: str = "self-signed", *, tls: bool = True, strict: bool = False):
        self.kind = kind
        self._dir = tempfile.TemporaryDirectory(prefix="podfix-node-check-")
        self.server = _TLSServer(("127.0.0.1", 0), _RegistryHandler)
        if tls:
            cert, key = make_cert(Path(self._dir.name), kind=kind)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(cert), str(key))
            if not strict:  # busybox wget's TLS 1.2 client offers few suites; strict: OpenSSL's defaults
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            self.server.ctx = ctx
            self.cert = cert
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "TLSRegistry":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Blackhole:
    """A port that accepts nothing more: connects hang until the client's timeout."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self._fill: list[socket.socket] = []

    def __enter__(self) -> "Blackhole":
        for _ in range(4):  # fill the accept queue (backlog 0 holds one; the rest may wait in SYN state)
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self._fill.append(c)
        return self

    def __exit__(self, *exc) -> None:
        for c in self._fill:
            c.close()
        self.sock.close()


class DNSServer:
    """Answers A queries for ``names`` (NXDOMAIN for others, empty NOERROR for other types); silent: never."""

    def __init__(self, names: dict[str, str] | None = None, *, silent: bool = False):
        self.names = {k.lower().rstrip("."): v for k, v in (names or {}).items()}
        self.silent = silent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "DNSServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(512)
            except (socket.timeout, OSError):
                continue
            if self.silent or len(data) < 12:
                continue
            try:
                self.sock.sendto(self._answer(data), addr)
            except (ValueError, IndexError, struct.error, OSError):
                continue

    def _answer(self, q: bytes) -> bytes:
        qid, _flags = struct.unpack(">HH", q[:4])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode())
            i += 1 + q[i]
        question = q[12:i + 5]
        qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
        name = ".".join(labels).lower()
        if name not in self.names:
            return struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
        if qtype != 1:
            return struct.pack(">HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question  # NOERROR, no answer
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton(self.names[name])
        return struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer
