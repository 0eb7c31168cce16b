"""`create_app(domain)`: the FastAPI application over one domain."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from domain.errors import AuthenticationFailed, DomainError

log = logging.getLogger("aod.server")


def create_app(domain) -> FastAPI:
    from domain.server import routes

    app = FastAPI(
        title="aod — authorized operation domain",
        version="0.1.0",
        description="Raw data stays in the domain; checked results come out. Every call is audited.",
    )
    app.state.domain = domain
    _install_error_handlers(app)
    app.include_router(routes.router, prefix="/api/v1")
    _mount_export_review(app, domain)
    for extension in domain.server_extensions:
        extension(app)
    return app


def _mount_export_review(app: FastAPI, domain) -> None:
    """The reviewers' pages at /review, over `domain.exports`, signed in as on the API."""
    from export_review import create_router

    from domain.exports import csrf_secret
    from domain.server.deps import current_principal

    app.include_router(create_router(service=lambda: domain.exports, principal=current_principal,
                                     csrf_secret=csrf_secret(domain), prefix="/review"))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationFailed) else None
        return JSONResponse({"error": exc.diagnostics()}, status_code=exc.http_status, headers=headers)

    @app.exception_handler(Exception)
    async def other_error(_: Request, exc: Exception):
        diagnostics = getattr(exc, "diagnostics", None)
        if callable(diagnostics):  # a user-facing error of another package (audit, desensitize…)
            return JSONResponse({"error": diagnostics()}, status_code=400)
        # Never echo the message: it may carry data values.
        log.error("internal error: %s", type(exc).__name__)
        return JSONResponse({"error": "internal error"}, status_code=500)
