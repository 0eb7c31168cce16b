"""A small FastAPI app mounting the reviewer router, with a toy password login: what the
functional tests drive in Chromium (the domain mounts the same router behind its own login)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from export_review.web import create_router

LOGIN_PAGE = """<!doctype html><html><body><h1>Sign in</h1>
<form method="post" action="/login"><label>User <input name="user" id="user"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="login">Sign in</button></form></body></html>"""


def create_app(service: Any, people: dict[str, tuple[Any, str]]) -> FastAPI:
    """`people`: user id → (principal, password)."""
    app = FastAPI()
    sessions: dict[str, Any] = {}

    def principal(request: Request):
        who = sessions.get(request.cookies.get("session", ""))
        if who is None:
            raise HTTPException(status_code=303, headers={"Location": "/login"})
        return who

    @app.get("/login", response_class=HTMLResponse)
    def login_form():
        return LOGIN_PAGE

    @app.post("/login")
    def login(user: str = Form(...), password: str = Form(...)):
        entry = people.get(user)
        if entry is None or not secrets.compare_digest(entry[1], password):
            return HTMLResponse("<p id='error'>login failed</p>", status_code=401)
        token = secrets.token_urlsafe(24)
        sessions[token] = entry[0]
        response = RedirectResponse("/review/", status_code=303)
        response.set_cookie("session", token, httponly=True, samesite="strict")
        return response

    @app.get("/logout")
    def logout(request: Request):
        sessions.pop(request.cookies.get("session", ""), None)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie("session")
        return response

    app.include_router(create_router(service=lambda: service, principal=principal,
                                     csrf_secret=secrets.token_bytes(32), prefix="/review"))
    return app
