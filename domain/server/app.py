"""`create_app(domain)`: the FastAPI application over one domain."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager

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
        lifespan=_tenant_host(domain),
    )
    app.state.domain = domain
    _install_error_handlers(app)
    app.include_router(routes.router, prefix="/api/v1")
    _mount_export_review(app, domain)
    app.include_router(_tenant_routes(), prefix="/api/v1/tenants")
    app.include_router(_job_routes(), prefix="/api/v1/jobs")
    from domain.server.jupyter_proxy import create_jupyter_proxy

    from domain.server.web_login import create_login_router

    app.include_router(create_login_router())  # /login, /logout for the pages
    app.include_router(create_jupyter_proxy())  # /jupyter/<tenant>/…: the only way to a tenant's Lab
    for extension in domain.server_extensions:
        extension(app)
    return app


def _mount_export_review(app: FastAPI, domain) -> None:
    """The reviewers' pages at /review, over `domain.exports`, signed in as on the API."""
    from export_review import create_router

    from fastapi import Depends

    from domain.exports import check_compliant, csrf_secret
    from domain.server.deps import current_principal

    def compliant_principal(me=Depends(current_principal)):
        return check_compliant(domain, me)

    app.include_router(create_router(service=lambda: domain.exports, principal=compliant_principal,
                                     csrf_secret=csrf_secret(domain), prefix="/review"))


ENFORCE_EVERY_S = 0.5
HEAD_CHECK_EVERY_S = 5.0  # tree heads due by time (every T seconds) are signed even when idle
ORPHAN_CHECK_EVERY_S = 30.0  # jobs whose hosting process died are recorded failed


def _tenant_host(domain):
    """The server hosts the tenants it starts: every half second it closes those whose recorded
    status is no longer `running` (changed by any process); on shutdown it stops them all.
    The same loop signs audit tree heads that are due by time, so events appended just before
    the server went idle are covered by a signed head within T seconds, and records as failed
    the jobs whose hosting process died (at start, then every half minute)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        done = threading.Event()

        def enforce() -> None:
            next_head = next_orphans = time.monotonic()
            while not done.wait(ENFORCE_EVERY_S):
                if time.monotonic() >= next_orphans:
                    next_orphans = time.monotonic() + ORPHAN_CHECK_EVERY_S
                    try:
                        from domain.tenancy.jobs import reconcile_orphans

                        reconcile_orphans(domain)
                    except Exception as exc:  # noqa: BLE001
                        log.error("reconciling orphaned jobs failed: %s", type(exc).__name__)
                try:
                    domain.tenancy.enforce()
                except Exception as exc:  # noqa: BLE001 - keep enforcing; the kind only is logged
                    log.error("tenant enforcement failed: %s", type(exc).__name__)
                if time.monotonic() >= next_head:  # an idle server still signs its last events
                    next_head = time.monotonic() + HEAD_CHECK_EVERY_S
                    try:
                        domain.audit_log.maybe_checkpoint()
                    except Exception as exc:  # noqa: BLE001
                        log.error("signing a due audit tree head failed: %s", type(exc).__name__)

        thread = threading.Thread(target=enforce, name="aod-tenant-enforcer", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)
            domain.tenancy.close_all()

    return lifespan


def _tenant_routes():
    """Tenant lifecycle over HTTP, so the server process owns the running sandboxes."""
    from fastapi import APIRouter, Body, Depends

    from domain.cli.common import to_plain
    from domain.server.deps import current_principal, get_domain

    router = APIRouter()

    @router.get("")
    def list_tenants(me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(d.tenancy.list(me))

    @router.post("")
    def create_tenant(grant_id: str = Body(...), staff_id: str = Body(...), tenant_id: str | None = Body(None),
                      me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(d.tenancy.create(me, grant_id=grant_id, staff_id=staff_id, tenant_id=tenant_id))

    @router.get("/{tenant_id}")
    def show_tenant(tenant_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(d.tenancy.view(me, tenant_id))

    @router.post("/{tenant_id}/start")
    def start_tenant(tenant_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(d.tenancy.start(me, tenant_id))

    @router.post("/{tenant_id}/stop")
    def stop_tenant(tenant_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(d.tenancy.stop(me, tenant_id))

    for verb in ("suspend", "resume", "terminate", "risk_report", "risk_clear"):
        def change(tenant_id: str, reason: str = Body(..., embed=True), me=Depends(current_principal),
                   d=Depends(get_domain), _verb=verb):
            return to_plain(getattr(d.tenancy, _verb)(me, tenant_id, reason))

        path = verb.replace("_", "-")
        router.add_api_route(f"/{{tenant_id}}/{path}", change, methods=["POST"], name=f"{verb}_tenant")

    @router.get("/{tenant_id}/risks")
    def risks(tenant_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(d.tenancy.risk_reports(me, tenant_id))

    @router.get("/{tenant_id}/jobs")
    def tenant_jobs(tenant_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        from domain.tenancy.jobs import list_jobs

        return to_plain(list_jobs(d, me, tenant_id))
    return router


def _job_routes():
    """A tenant's production jobs for the authority and the operator's staff (the same services
    as `aod job list|show|logs|cancel`); tenants themselves use their gateway."""
    from fastapi import APIRouter, Body, Depends
    from fastapi.responses import PlainTextResponse

    from domain.cli.common import to_plain
    from domain.server.deps import current_principal, get_domain
    from domain.tenancy import jobs

    router = APIRouter()

    @router.get("/{job_id}")
    def show_job(job_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        return to_plain(jobs.show_job(d, me, job_id))

    @router.get("/{job_id}/logs", response_class=PlainTextResponse)
    def job_logs(job_id: str, me=Depends(current_principal), d=Depends(get_domain)):
        return jobs.job_logs(d, me, job_id)

    @router.post("/{job_id}/cancel")
    def cancel_job(job_id: str, reason: str = Body("", embed=True), me=Depends(current_principal),
                   d=Depends(get_domain)):
        return to_plain(jobs.cancel_job(d, me, job_id, reason))
    return router


def _install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError):
        # one line naming the fields, never the values sent (they may be identifiers)
        fields = sorted({".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
                         for err in exc.errors()})
        return JSONResponse({"error": f"invalid request: check {', '.join(fields)[:300]}"}, status_code=422)

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
