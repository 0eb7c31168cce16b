"""The gateway: HTTP/JSON on one Unix socket per tenant, the tenant's only channel out.

The socket is the identity. Each socket is bound to one tenant id when it is opened; every
request on it is handled as that tenant, whatever the request says. The routes are fixed
(`routes.ROUTES`): sample, query, job, export and import requests; no authority route exists.
`close(tenant)` stops the listener, cuts open connections and deletes the socket at once
(suspension); a handler can also refuse any request with a reason.
"""

from __future__ import annotations

import logging
import os
import socket
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable

from tenants.errors import GatewayError
from tenants.gateway import routes
from tenants.gateway.protocol import GatewayHandler
from tenants.spec import GATEWAY_SOCKET_NAME, check_id

log = logging.getLogger("tenants.gateway")


@dataclass(frozen=True)
class GatewayLimits:
    max_connections: int = 16          # concurrent connections per tenant
    max_json_bytes: int = 1 << 20      # query, export request
    max_job_bytes: int = 32 << 20      # a job's code
    max_import_bytes: int = 1 << 30    # an uploaded external dataset
    idle_timeout_s: float = 120.0      # a connection that sends nothing is closed


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False
    request_queue_size = 64

    def __init__(self, path: str, tenant_id: str, gateway: "Gateway"):
        self.tenant_id = tenant_id
        self.gateway = gateway
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()
        self.closing = False
        super().__init__(path, _RequestHandler)

    def verify_request(self, request, client_address) -> bool:
        with self.live_lock:
            if self.closing or len(self.live) >= self.gateway.limits.max_connections:
                return False
            self.live.add(request)
        return True

    def shutdown_request(self, request) -> None:
        with self.live_lock:
            self.live.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        # A tenant that hangs up mid-request is not an error of ours; never print tracebacks.
        log.debug("gateway %s: connection error", self.tenant_id, exc_info=True)

    def cut_all(self) -> None:
        with self.live_lock:
            self.closing = True
            for conn in list(self.live):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aod-gateway"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.gateway.limits.idle_timeout_s
        super().setup()

    def address_string(self) -> str:
        return f"tenant:{self.server.tenant_id}"

    def log_message(self, format: str, *args) -> None:  # paths only; bodies are never logged
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        if self.server.closing:
            self.close_connection = True
            return
        routes.dispatch(self, self.server.tenant_id, self.server.gateway)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch


class Gateway:
    """Serves one socket per open tenant, all answered by the same `GatewayHandler`."""

    def __init__(self, handler: GatewayHandler, spool_dir: Path, *, limits: GatewayLimits | None = None,
                 on_rejected: Callable[[str, str, str, int], None] | None = None):
        self.handler = handler
        self.spool_dir = Path(spool_dir)
        self.limits = limits or GatewayLimits()
        self.on_rejected = on_rejected
        self._servers: dict[str, tuple[_Server, threading.Thread, Path]] = {}
        self._lock = threading.Lock()

    def open(self, tenant_id: str, socket_dir: Path, owner_uid: int, owner_gid: int | None = None) -> Path:
        """Start serving `tenant_id` on `socket_dir/gateway.sock` (idempotent); returns the path.

        The socket belongs to `owner_uid` (the sandbox's uid as the host sees it) with mode
        0600; its folder is root's with mode 0711, so nothing else can list or replace it.
        """
        check_id(tenant_id)
        with self._lock:
            if tenant_id in self._servers:
                return self._servers[tenant_id][2]
            path = Path(socket_dir) / GATEWAY_SOCKET_NAME
            self._prepare_dir(Path(socket_dir), path)
            try:
                server = _Server(str(path), tenant_id, self)
            except OSError as exc:
                raise GatewayError(f"cannot open the gateway socket of {tenant_id} ({exc.strerror})") from None
            os.chown(path, owner_uid, owner_uid if owner_gid is None else owner_gid)
            os.chmod(path, 0o600)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name=f"aod-gateway-{tenant_id}", daemon=True)
            thread.start()
            self._servers[tenant_id] = (server, thread, path)
            return path

    @staticmethod
    def _prepare_dir(socket_dir: Path, path: Path) -> None:
        socket_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(socket_dir, 0, 0)
        os.chmod(socket_dir, 0o711)
        if path.exists() or path.is_symlink():
            path.unlink()

    def close(self, tenant_id: str) -> None:
        """Stop serving `tenant_id` at once (idempotent): no new or open request gets through."""
        with self._lock:
            entry = self._servers.pop(tenant_id, None)
        if entry is None:
            return
        server, thread, path = entry
        server.cut_all()
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    def is_open(self, tenant_id: str) -> bool:
        with self._lock:
            return tenant_id in self._servers

    def open_tenants(self) -> list[str]:
        with self._lock:
            return sorted(self._servers)

    def close_all(self) -> None:
        for tenant_id in self.open_tenants():
            self.close(tenant_id)
