"""HTTP/1.1 over the tenant's gateway Unix socket, with the standard library only."""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any
from urllib.parse import urlencode

from tenants.sdk.errors import (
    BadRequestError,
    GatewayUnavailable,
    NotFoundError,
    RefusedError,
    SDKError,
    ServerError,
)

ARROW = "application/vnd.apache.arrow.stream"
_ERRORS = {403: RefusedError, 404: NotFoundError, 400: BadRequestError, 413: BadRequestError,
           405: NotFoundError}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("gateway", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        for attempt in range(50):  # a full listen queue answers EAGAIN at once: wait a little
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self._path)
                self.sock = sock
                return
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                raise GatewayUnavailable("the gateway is closed: this tenant is suspended or stopped") from None
            except BlockingIOError:
                sock.close()
                time.sleep(0.01 * (attempt + 1))
        raise GatewayUnavailable("the gateway is busy; try again")


class Transport:
    def __init__(self, socket_path: str, timeout: float = 600.0):
        self.socket_path = socket_path
        self.timeout = timeout

    def request(self, method: str, path: str, *, query: dict[str, str] | None = None,
                json_body: Any = None, body: bytes | None = None,
                content_type: str = "application/octet-stream") -> tuple[str, bytes]:
        """Send one request; returns (content type, body) or raises the matching SDK error."""
        if query:
            path = f"{path}?{urlencode(query)}"
        headers = {}
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        if body is not None:
            headers["Content-Type"] = content_type
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            raise GatewayUnavailable("the gateway closed the connection: this tenant may be suspended") from None
        except OSError as exc:
            raise GatewayUnavailable(f"cannot reach the gateway ({type(exc).__name__})") from None
        finally:
            conn.close()
        if resp.status >= 400:
            raise _error(resp.status, data)
        return resp.getheader("Content-Type", ""), data

    def json(self, method: str, path: str, **kwargs) -> Any:
        _, data = self.request(method, path, **kwargs)
        return json.loads(data)


def _error(status: int, data: bytes) -> SDKError:
    try:
        reason = json.loads(data)["error"]["reason"]
    except (ValueError, KeyError, TypeError):
        reason = f"the gateway answered HTTP {status}"
    return _ERRORS.get(status, ServerError)(reason)
