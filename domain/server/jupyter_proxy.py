"""The authenticated reverse proxy to a tenant's JupyterLab (HTTP and WebSocket).

JupyterLab listens only on a Unix socket inside the tenant's folder; the only way a browser
reaches it is `/jupyter/<tenant>/…` on the domain server. Every request is authorised afresh:
a valid session, the operator's staff (same organisation as the tenant), real-name check,
confidentiality agreement and training in order, the tenant's grant usable today and the tenant
running. A suspended or terminated tenant is refused at once. The domain's session cookie and
bearer token are never forwarded; the proxy adds the tenant's own Jupyter token, which the
browser never sees. Proxy sessions and kernel starts are audited (not every request: JupyterLab
makes hundreds; the first request of a session per tenant, every kernel start and every
WebSocket are).
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx
from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from tenants.errors import TenantError
from starlette.concurrency import run_in_threadpool

from domain.authz import Perm
from domain.errors import DomainError, InvalidTransition, PermissionDenied
from domain.server.deps import SAFE_METHODS, bearer_or_cookie, from_cookie, get_domain, same_origin

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# hop-by-hop and identity headers that never cross the proxy
DROP_REQUEST = {"host", "cookie", "authorization", "connection", "keep-alive", "transfer-encoding",
                "upgrade", "te", "trailer", "proxy-authorization", "content-length"}
DROP_RESPONSE = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length",
                 "set-cookie", "upgrade", "te", "trailer"}
MAX_BODY = 64 * 1024 * 1024
MAX_SESSIONS_REMEMBERED = 10_000


def authorize(domain, token: str | None, tenant_id: str):
    """(actor, tenant, endpoint) or a DomainError saying why not (audited by the services)."""
    from domain.errors import AuthenticationFailed

    if not token:
        raise AuthenticationFailed("log in first")
    actor = domain.auth.authenticate(token)
    tenant = domain.tenancy.get(tenant_id)
    domain.check(actor, Perm.TENANT_USE, tenant.resource)
    domain.grants.check_usable(actor, tenant.grant_id, Perm.TENANT_USE)
    if tenant.status.value != "running":
        raise InvalidTransition(f"tenant {tenant.id} is {tenant.status.value}")
    return actor, tenant, domain.tenancy.runtime.endpoint(tenant.id)


def _audit(domain, action, actor, tenant, details: dict) -> None:
    with domain.store.transaction() as tx:
        tx.audit(domain.event(action, actor, org=tenant.operator_id,
                              targets=[("tenant", tenant.id)], details=details))


def _session_key(token: str, tenant_id: str) -> str:
    return hashlib.sha256(f"{tenant_id}\0{token}".encode()).hexdigest()


def create_jupyter_proxy() -> APIRouter:
    router = APIRouter()
    seen: set[str] = set()

    @router.api_route("/jupyter/{tenant_id}/{path:path}", methods=METHODS, include_in_schema=False)
    async def http_proxy(tenant_id: str, path: str, request: Request, domain=Depends(get_domain)):
        from audit import Action

        token = bearer_or_cookie(request)
        if from_cookie(request) and request.method not in SAFE_METHODS and not same_origin(request):
            raise PermissionDenied("cross-site request to a tenant refused")  # the API's CSRF rule
        actor, tenant, endpoint = await run_in_threadpool(authorize, domain, token, tenant_id)
        key = _session_key(token, tenant.id)
        if key not in seen:
            await run_in_threadpool(_audit, domain, Action.JUPYTER_SESSION, actor, tenant, {"via": "http"})
            if len(seen) >= MAX_SESSIONS_REMEMBERED:
                seen.clear()  # at worst a session is audited again
            seen.add(key)
        body = await request.body()
        if len(body) > MAX_BODY:
            raise PermissionDenied("request body too large for the proxy")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in DROP_REQUEST}
        upstream_path = endpoint.base_url + path
        try:
            async with endpoint.async_client(timeout_s=120.0) as client:
                reply = await client.request(request.method, f"http://tenant{upstream_path}",
                                             params=request.query_params.multi_items(), content=body,
                                             headers=headers)
        except (httpx.TransportError, TenantError) as exc:  # not listening (yet), gone, or a planted link
            return _unavailable(tenant.id, exc)
        if request.method == "POST" and path.rstrip("/").endswith("api/kernels") and reply.status_code < 300:
            await run_in_threadpool(_audit, domain, Action.JUPYTER_KERNEL_START, actor, tenant,
                                    {"status": reply.status_code})
        out = {k: v for k, v in reply.headers.items() if k.lower() not in DROP_RESPONSE}
        # JupyterLab embeds the token it was reached with in its page config; the browser
        # never needs it (the proxy authenticates every request), so it never gets it
        content = reply.content.replace(endpoint.token.encode(), b"")
        return Response(content, status_code=reply.status_code, headers=out)

    @router.websocket("/jupyter/{tenant_id}/{path:path}")
    async def ws_proxy(websocket: WebSocket, tenant_id: str, path: str):
        from audit import Action

        domain = websocket.app.state.domain
        token = bearer_or_cookie(websocket)
        if from_cookie(websocket) and not same_origin(websocket):  # browsers always send Origin here
            await websocket.close(code=4403)
            return
        try:
            actor, tenant, endpoint = await run_in_threadpool(authorize, domain, token, tenant_id)
        except DomainError:
            await websocket.close(code=4403)
            return
        query = websocket.url.query
        target = path + (f"?{query}" if query else "")  # endpoint.url adds the base URL
        protocols = list(websocket.scope.get("subprotocols") or []) or None
        try:
            upstream = await endpoint.websocket(target, subprotocols=protocols)
        except Exception as exc:  # the Lab refused or is gone: say so by type only
            await websocket.close(code=1011, reason=f"tenant unavailable ({type(exc).__name__})")
            return
        await run_in_threadpool(_audit, domain, Action.JUPYTER_SESSION, actor, tenant, {"via": "websocket"})
        await websocket.accept(subprotocol=upstream.subprotocol)
        await _pump(websocket, upstream)

    return router


def _unavailable(tenant_id: str, exc: Exception) -> JSONResponse:
    """502 with one line: the tenant's JupyterLab is not answering on its socket (by kind only)."""
    why = exc.diagnostics() if isinstance(exc, TenantError) else f"connection failed ({type(exc).__name__})"
    return JSONResponse({"error": {"kind": "tenant_unavailable",
                                   "reason": f"JupyterLab of tenant {tenant_id} is not answering: {why}; "
                                             "it may be starting, try again"}}, status_code=502)


async def _pump(client: WebSocket, upstream) -> None:
    from starlette.websockets import WebSocketDisconnect

    async def to_upstream():
        try:
            while True:
                message = await client.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                await upstream.send(data if data is not None else message.get("text", ""))
        except WebSocketDisconnect:
            return

    async def to_client():
        async for data in upstream:
            if isinstance(data, bytes):
                await client.send_bytes(data)
            else:
                await client.send_text(data)

    tasks = [asyncio.create_task(to_upstream()), asyncio.create_task(to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await upstream.close()
        try:
            await client.close()
        except RuntimeError:
            pass  # already closed
