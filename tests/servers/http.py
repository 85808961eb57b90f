"""Private HTTP(S) servers and certificates for the HTTP provider's tests.

- ``serve_http(routes, tls=None)``: a threaded HTTP server on a free 127.0.0.1 port, answering
  each path as its ``Route`` says (status, body, delay, a header it insists on); over TLS when
  given a ``Certificate``. It records the headers of every request it receives.
- ``make_certificate(directory, ...)``: a self-signed certificate made with the ``openssl`` CLI,
  with any validity window (an expired one too) and any subjectAltName.
- ``full_backlog_port()``: a port whose accept queue is full, so a TCP connect times out.
- fixtures: ``http_server`` (the standard routes below) and ``certificates`` (a factory of
  certificates in the test's tmp_path).

Nothing here touches a non-loopback address.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Route:
    """How the server answers one path."""

    status: int = 200
    body: str = "ok"
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    # When set, a request without exactly these headers gets 401.
    require: Mapping[str, str] = field(default_factory=dict)


STANDARD_ROUTES: dict[str, Route] = {
    "/health": Route(200, '{"status": "ok", "db": "up"}', headers={"Content-Type": "text/json"}),
    "/error": Route(500, "Traceback: database connection pool exhausted\n\x1b[31mred\x1b[0m"),
    "/slow": Route(200, "eventually", delay=0.4),
    "/redirect": Route(301, "", headers={"Location": "/health"}),
}


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


class HttpServer:
    """A running server: its address, and the requests it saw."""

    def __init__(self, server: _Server, scheme: str) -> None:
        self._server = server
        self.scheme = scheme
        self.host = "127.0.0.1"
        self.port = int(server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/health") -> str:
        return f"{self.base_url}{path}"

    @property
    def requests(self) -> list[dict[str, str]]:
        """Headers of each request received, in order (names lower-cased)."""
        return list(self._server.seen)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, routes: Mapping[str, Route], tls: ssl.SSLContext | None) -> None:
        self.routes = dict(routes)
        self.tls = tls
        self.seen: list[dict[str, str]] = []
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        if self.tls is None:
            with contextlib.suppress(OSError):
                super().finish_request(request, client_address)
            return
        try:  # the handshake runs in the request's thread, never blocking accept()
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):  # the client rejected our certificate
            return
        # wrap_socket detached `request`, so shutdown_request cannot close this one.
        with wrapped, contextlib.suppress(OSError):
            super().finish_request(wrapped, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.seen.append({name.lower(): value for name, value in self.headers.items()})
        route = self.server.routes.get(self.path.split("?")[0])
        if route is None:
            route = Route(404, "not found")
        if route.delay:
            self.server.stopping.wait(route.delay)
        status, body = route.status, route.body
        if any(self.headers.get(name) != value for name, value in route.require.items()):
            status, body = 401, "missing or wrong credentials"
        payload = body.encode()
        self.send_response(status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_http(
    routes: Mapping[str, Route] | None = None, *, tls: Certificate | None = None
) -> Iterator[HttpServer]:
    """Run an HTTP server (HTTPS with ``tls``) on a free loopback port until the block ends."""
    context = None
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
    server = _Server(STANDARD_ROUTES if routes is None else routes, context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield HttpServer(server, "https" if tls else "http")
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_CA_CONFIG = """\
[ca]
default_ca = local
[local]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = none
x509_extensions = extensions
unique_subject = no
[anything]
commonName = supplied
[extensions]
basicConstraints = CA:FALSE
subjectAltName = {sans}
"""


def make_certificate(
    directory: Path,
    *,
    common_name: str = "localhost",
    sans: tuple[str, ...] = ("DNS:localhost", "IP:127.0.0.1"),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Certificate:
    """A self-signed certificate (EC P-256) valid from ``not_before`` to ``not_after``.

    ``openssl ca -selfsign`` is used because it accepts any dates, past ones too, which
    ``openssl req -x509 -days`` does not.
    """
    now = datetime.now(UTC)
    not_before = not_before or now - timedelta(days=1)
    not_after = not_after or now + timedelta(days=365)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("01\n")
    (directory / "ca.cnf").write_text(_CA_CONFIG.format(sans=",".join(sans)))

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-out",
        "key.pem",
    )
    openssl("req", "-new", "-key", "key.pem", "-subj", f"/CN={common_name}", "-out", "req.csr")
    openssl(
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-selfsign",
        "-keyfile",
        "key.pem",
        "-in",
        "req.csr",
        "-out",
        "cert.pem",
        "-notext",
        "-startdate",
        f"{not_before:%Y%m%d%H%M%SZ}",
        "-enddate",
        f"{not_after:%Y%m%d%H%M%SZ}",
    )
    return Certificate(cert=directory / "cert.pem", key=directory / "key.pem")


@contextlib.contextmanager
def full_backlog_port() -> Iterator[int]:
    """A port that listens but whose accept queue is full: a new connect gets no SYN-ACK.

    Linux drops a SYN when the listener's accept queue is full, so the connect times out
    just as it does behind a firewall that drops packets, all on loopback.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        # With a backlog of 0 one connection fills the queue; the next one gets no answer.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            yield port


CertificateFactory = Callable[..., Certificate]


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A plain-HTTP server with the standard routes (/health, /error, /slow, /redirect)."""
    with serve_http() as server:
        yield server


@pytest.fixture
def certificates(tmp_path: Path) -> CertificateFactory:
    """``certificates(name, **make_certificate options)``: a certificate in tmp_path/name."""

    def make(name: str = "cert", **options: Any) -> Certificate:
        return make_certificate(tmp_path / name, **options)

    return make
