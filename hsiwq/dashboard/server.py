"""The dashboard's HTTP server: the standard library's threading HTTP server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .app import Dashboard

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server_version = "hsiwq-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may take to send its request

    def _answer(self, head_only: bool = False) -> None:
        app: Dashboard = self.server.app  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp = app.handle("GET" if head_only else self.command, self.path, headers)
        self.send_response(resp.status)
        for k, v in resp.all_headers().items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only and resp.body:
            self.wfile.write(resp.body)

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head_only=True)

    def _refuse(self) -> None:
        app: Dashboard = self.server.app  # type: ignore[attr-defined]
        resp = app.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        self.send_response(resp.status)
        for k, v in resp.all_headers().items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(resp.body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.info("%s %s", self.address_string(), format % args)


class DashboardServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the :class:`Dashboard` it serves."""

    daemon_threads = True

    def __init__(self, app: Dashboard, host: str, port: int) -> None:
        self.app = app
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
        super().__init__((host.strip("[]"), port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        if shown in ("0.0.0.0", "[::]"):
            shown = socket.gethostname()
        return f"http://{shown}:{port}/"


def serve(app: Dashboard, host: str = "127.0.0.1", port: int = 8765,
          ready: Callable[[DashboardServer], None] | None = None) -> None:
    """Serve until interrupted; ``ready`` is called with the bound server before serving."""
    with DashboardServer(app, host, port) as server:
        if ready is not None:
            ready(server)
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
