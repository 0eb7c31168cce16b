"""Browser sign-in for the domain server's pages (reviewer queue, tenants' JupyterLab).

`GET /login` shows a form; `POST /login` checks the password through the same authenticator
as the API (failed attempts audited) and sets the session token as an `HttpOnly`,
`SameSite=Strict` cookie; `POST /logout` revokes it. `next` only ever points inside this
server (a path starting with one `/`), never to another site.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.server.deps import SESSION_COOKIE, get_domain

PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>aod — sign in</title></head>
<body><h1>aod — authorized operation domain</h1>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>User <input name="user" id="user" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="login">Sign in</button></form></body></html>"""


def safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review/"


def create_login_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def form(next: str = "/review/"):
        return PAGE.format(error="", next=html.escape(safe_next(next)))

    @router.post("/login")
    async def login(user: str = Form(...), password: str = Form(...), next: str = Form("/review/"),
                    domain=Depends(get_domain)):
        try:
            issued = await run_in_threadpool(domain.auth.login, user, password)
        except DomainError as exc:
            error = f"<p id='error'>{html.escape(exc.diagnostics())}</p>"
            return HTMLResponse(PAGE.format(error=error, next=html.escape(safe_next(next))),
                                status_code=getattr(exc, "http_status", 401))
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, samesite="strict", path="/")
        return response

    @router.post("/logout")
    async def logout(request: Request, domain=Depends(get_domain)):
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            try:
                await run_in_threadpool(domain.auth.revoke, token)
            except DomainError:
                pass  # already gone
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
