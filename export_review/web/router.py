"""Server-rendered reviewer pages (thin views over `ExportService`).

    router = create_router(service=get_service, principal=get_principal, csrf_secret=secret,
                           prefix="/review")
    app.include_router(router)          # the router carries its prefix (links are built from it)

`service` and `principal` are FastAPI dependencies supplied by the domain: the first returns
the `ExportService`, the second the logged-in principal (or raises; the domain decides how a
missing login answers). Pages: the queue, a request with its check report and blinded votes,
a safe preview, the decision form (CSRF-protected), release and download."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from export_review.errors import ExportReviewError, PermissionDenied
from export_review.web import csrf

TEMPLATES = Path(__file__).parent / "templates"


def create_router(*, service: Callable[..., Any], principal: Callable[..., Any], csrf_secret: bytes,
                  prefix: str = "/review", title: str = "aod · export review") -> APIRouter:
    if len(csrf_secret) < 16:
        raise ValueError("csrf_secret needs at least 16 bytes")
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    router = APIRouter(prefix=prefix.rstrip("/"))
    base = prefix.rstrip("/")

    def render(request: Request, name: str, me: Any, status: int = 200, **context) -> HTMLResponse:
        html = env.get_template(name).render(
            title=title, me=me, base=str(request.scope.get("root_path", "")) + base,
            csrf=csrf.issue(csrf_secret, me.id) if me is not None else "", **context)
        return HTMLResponse(html, status_code=status)

    def fail(request: Request, me: Any, exc: ExportReviewError) -> HTMLResponse:
        return render(request, "error.html", me, status=exc.http_status, message=exc.diagnostics())

    def guard_post(request: Request, me: Any, token: str) -> None:
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            raise PermissionDenied("cross-site form submission refused")
        csrf.check(csrf_secret, me.id, token)

    @router.get("/", response_class=HTMLResponse)
    def queue(request: Request, me=Depends(principal), svc=Depends(service)):
        try:
            mine = svc.queue(me)
            others = [r for r in svc.list(me) if r not in mine]
        except ExportReviewError as exc:
            return fail(request, me, exc)
        return render(request, "queue.html", me, queue=mine, others=others)

    @router.get("/{export_id}", response_class=HTMLResponse)
    def show(export_id: str, request: Request, me=Depends(principal), svc=Depends(service)):
        try:
            view = svc.view(me, export_id)
        except ExportReviewError as exc:
            return fail(request, me, exc)
        return render(request, "request.html", me, view=view, r=view.request)

    @router.get("/{export_id}/preview", response_class=HTMLResponse)
    def preview(export_id: str, request: Request, me=Depends(principal), svc=Depends(service)):
        try:
            shown = svc.preview(me, export_id)
            req = svc.get(export_id)
        except ExportReviewError as exc:
            return fail(request, me, exc)
        return render(request, "preview.html", me, p=shown, r=req)

    @router.post("/{export_id}/vote")
    def vote(export_id: str, request: Request, decision: str = Form(...), reason: str = Form(""),
             csrf_token: str = Form(""), me=Depends(principal), svc=Depends(service)):
        try:
            guard_post(request, me, csrf_token)
            svc.vote(me, export_id, decision, reason)
        except ExportReviewError as exc:
            return fail(request, me, exc)
        return RedirectResponse(f"{base}/{export_id}", status_code=303)

    @router.post("/{export_id}/release")
    def release(export_id: str, request: Request, csrf_token: str = Form(""), me=Depends(principal),
                svc=Depends(service)):
        try:
            guard_post(request, me, csrf_token)
            svc.release(me, export_id)
        except ExportReviewError as exc:
            return fail(request, me, exc)
        return RedirectResponse(f"{base}/{export_id}", status_code=303)

    @router.get("/{export_id}/download")
    def download(export_id: str, request: Request, me=Depends(principal), svc=Depends(service)):
        try:
            path = svc.download(me, export_id)
        except ExportReviewError as exc:
            return fail(request, me, exc)
        return FileResponse(path, filename=path.name)

    return router
