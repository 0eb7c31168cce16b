"""Request dependencies: the domain object and the authenticated principal."""

from __future__ import annotations

from fastapi import Depends, Request

from domain.errors import AuthenticationFailed
from domain.principals import Principal

SESSION_COOKIE = "aod_session"


def get_domain(request: Request):
    return request.app.state.domain


def bearer_or_cookie(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_principal(request: Request, domain=Depends(get_domain)) -> Principal:
    token = bearer_or_cookie(request)
    if not token:
        raise AuthenticationFailed("log in first")
    return domain.auth.authenticate(token)
