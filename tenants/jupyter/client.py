"""Reaching a tenant's JupyterLab through its Unix socket: HTTP (httpx) and WebSocket.

`JupyterEndpoint` is what the domain's reverse proxy and the tests use. Every connection goes
through `_socket.socket_inode`, so a link the tenant plants in its socket folder is refused.
Requests carry the tenant's Jupyter token in an `Authorization` header, which also exempts
them from Jupyter's XSRF cookie check; the browser never sees the token.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpcore
import httpx

from tenants.errors import JupyterUnavailable, UnsafeSocket
from tenants.jupyter._socket import connect_unix, socket_inode
from tenants.spec import TenantSpec

HOST = "tenant"


class _SafeSyncBackend(httpcore.SyncBackend):
    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        with socket_inode(path) as proc_path:
            return super().connect_unix_socket(proc_path, timeout, socket_options)


class _SafeAsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, *args, **kwargs):
        raise httpcore.ConnectError("a tenant's Jupyter is reached only through its socket")

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        with socket_inode(path) as proc_path:
            return await self._inner.connect_unix_socket(proc_path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.lru_cache(maxsize=1)
def _unused_tls_context() -> ssl.SSLContext:
    """httpx makes a TLS context for every transport unless given one, loading the CA bundle
    each time (0.17 s of CPU here: 2.3 s while polling a starting JupyterLab, and on every
    proxied request). These transports speak plain HTTP over a Unix socket through their own
    connection pool and never use it, so one default context is made once and shared."""
    return ssl.create_default_context()


def _transport(path: Path, asynchronous: bool):
    """An httpx transport whose connections go through the safe socket backends."""
    if asynchronous:
        transport = httpx.AsyncHTTPTransport(uds=str(path), verify=_unused_tls_context())
        transport._pool = httpcore.AsyncConnectionPool(uds=str(path), network_backend=_SafeAsyncBackend())
    else:
        transport = httpx.HTTPTransport(uds=str(path), verify=_unused_tls_context())
        transport._pool = httpcore.ConnectionPool(uds=str(path), network_backend=_SafeSyncBackend())
    return transport


@dataclass(frozen=True)
class ExecutionResult:
    """What one cell printed and returned; `error` is `(ename, evalue)` if it raised."""

    stdout: str = ""
    stderr: str = ""
    result: str = ""
    error: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class JupyterEndpoint:
    socket_path: Path
    token: str = field(repr=False)
    base_url: str = "/"

    @classmethod
    def for_spec(cls, spec: TenantSpec) -> "JupyterEndpoint":
        return cls(spec.jupyter_socket, spec.jupyter_token, spec.jupyter_base_url)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def url(self, path: str) -> str:
        """`path` (e.g. `api/status`) under the server's base URL."""
        return f"http://{HOST}{self.base_url}{path.lstrip('/')}"

    def client(self, timeout_s: float = 30.0) -> httpx.Client:
        return httpx.Client(transport=_transport(self.socket_path, False), headers=self.headers,
                            timeout=timeout_s)

    def async_client(self, timeout_s: float = 30.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=_transport(self.socket_path, True), headers=self.headers,
                                 timeout=timeout_s)

    async def websocket(self, path: str, *, subprotocols=None, extra_headers=None, max_size=2**26):
        """An open `websockets` client connection to `path` (the caller closes it)."""
        from websockets.asyncio.client import connect

        sock = connect_unix(self.socket_path, timeout_s=None)
        sock.setblocking(False)
        headers = {**self.headers, **(extra_headers or {})}
        url = self.url(path).replace("http://", "ws://", 1)
        return await connect(url, sock=sock, additional_headers=headers,
                             subprotocols=subprotocols, max_size=max_size, open_timeout=30)

    def is_ready(self) -> bool:
        try:
            with self.client(timeout_s=2.0) as http:
                return http.get(self.url("api/status")).status_code == 200
        except (httpx.HTTPError, UnsafeSocket, OSError):
            return False

    def wait_ready(self, timeout_s: float = 30.0, interval_s: float = 0.05) -> float:
        """Seconds until `GET api/status` answers 200; raises `JupyterUnavailable` on timeout."""
        start = time.monotonic()
        while True:
            if self.is_ready():
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise JupyterUnavailable(f"JupyterLab did not answer on its socket within {timeout_s:.0f}s")
            time.sleep(interval_s)

    def start_kernel(self, name: str = "python3") -> str:
        with self.client() as http:
            resp = http.post(self.url("api/kernels"), json={"name": name})
        if resp.status_code != 201:
            raise JupyterUnavailable(f"cannot start a kernel (HTTP {resp.status_code})")
        return resp.json()["id"]

    def shutdown_kernel(self, kernel_id: str) -> None:
        with self.client() as http:
            http.delete(self.url(f"api/kernels/{kernel_id}"))

    def execute(self, code: str, kernel_id: str, timeout_s: float = 60.0) -> ExecutionResult:
        """Run `code` in the kernel as a notebook cell would, and collect what it printed."""
        return asyncio.run(self.aexecute(code, kernel_id, timeout_s))

    async def aexecute(self, code: str, kernel_id: str, timeout_s: float = 60.0) -> ExecutionResult:
        ws = await self.websocket(f"api/kernels/{kernel_id}/channels")
        try:
            msg_id = uuid.uuid4().hex
            await ws.send(json.dumps(_execute_request(msg_id, code)))
            return await asyncio.wait_for(_collect(ws, msg_id), timeout_s)
        except asyncio.TimeoutError:
            raise JupyterUnavailable(f"the kernel did not finish within {timeout_s:.0f}s") from None
        finally:
            await ws.close()


def _execute_request(msg_id: str, code: str) -> dict:
    return {
        "header": {"msg_id": msg_id, "username": "aod", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


async def _collect(ws, msg_id: str) -> ExecutionResult:
    out: dict[str, list[str]] = {"stdout": [], "stderr": [], "result": []}
    error = None
    async for raw in ws:
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg.get("msg_type"), msg.get("content", {})
        if kind == "stream":
            out[content.get("name", "stdout")].append(content.get("text", ""))
        elif kind == "execute_result":
            out["result"].append(content.get("data", {}).get("text/plain", ""))
        elif kind == "error":
            error = (content.get("ename", ""), content.get("evalue", ""))
        elif kind == "status" and content.get("execution_state") == "idle":
            break
    return ExecutionResult("".join(out["stdout"]), "".join(out["stderr"]), "".join(out["result"]), error)
