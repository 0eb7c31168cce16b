"""Request dependencies: the domain object and the authenticated principal."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, Request

from domain.errors import AuthenticationFailed, PermissionDenied
from domain.principals import Principal

SESSION_COOKIE = "aod_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_domain(request: Request):
    return request.app.state.domain


def bearer_or_cookie(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def from_cookie(request: Request) -> bool:
    """Is the request authenticated by the session cookie (what a browser sends by itself)?"""
    return not request.headers.get("authorization", "").lower().startswith("bearer ")


def same_origin(request: Request) -> bool:
    """Does the browser say this request comes from our own pages (Origin, else Referer)?"""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    return urlsplit(source).netloc == request.headers.get("host", "")


def current_principal(request: Request, domain=Depends(get_domain)) -> Principal:
    token = bearer_or_cookie(request)
    if not token:
        raise AuthenticationFailed("log in first")
    principal = domain.auth.authenticate(token)
    if from_cookie(request) and request.method not in SAFE_METHODS and not same_origin(request):
        # A browser sends the cookie with any site's form: a cookie alone never changes state.
        raise PermissionDenied("a session cookie changes state only from this server's own pages; "
                               "send a bearer token")
    return principal
