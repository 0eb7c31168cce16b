"""The gateway's fixed route table and the translation between HTTP and `GatewayHandler`.

Answers are JSON (`{"error": {"kind": ..., "reason": ...}}` on failure) or Arrow IPC streams
(`application/vnd.apache.arrow.stream`) for tables. Any other path or method is 404/405 and
reported to `on_rejected`; exceptions other than the protocol's typed ones become a 500 that
names only the exception type (its message may hold data).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from tenants.errors import TenantError
from tenants.gateway.protocol import (
    BadRequest,
    ExportRequest,
    GatewayContext,
    ImportUpload,
    JobSubmission,
    Missing,
    Refused,
)

log = logging.getLogger("tenants.gateway")
ARROW = "application/vnd.apache.arrow.stream"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_OUTPUT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,255}$")
_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,200}$")


class _Reply:
    def __init__(self, status: int, body: bytes, content_type: str = "application/json"):
        self.status, self.body, self.content_type = status, body, content_type


def _json(data: Any, status: int = 200) -> _Reply:
    return _Reply(status, json.dumps(data, ensure_ascii=False, default=_plain).encode())


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return value.name
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(type(value).__name__)


def _arrow(table) -> _Reply:
    import pyarrow as pa

    if not isinstance(table, pa.Table):
        raise TypeError("handler returned something other than a pyarrow.Table")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return _Reply(200, sink.getvalue().to_pybytes(), ARROW)


def _name(value: str, pattern: re.Pattern = _NAME, what: str = "name") -> str:
    if not pattern.fullmatch(value) or ".." in value.split("/"):
        raise BadRequest(f"invalid {what}")
    return value


class _Request:
    """What a route function needs from the HTTP request (body read lazily, bounded)."""

    def __init__(self, http, gateway, ctx: GatewayContext, query: dict[str, list[str]]):
        self.http, self.gateway, self.ctx, self.query = http, gateway, ctx, query

    def length(self, limit: int) -> int:
        raw = self.http.headers.get("Content-Length")
        if raw is None or not raw.isdigit():
            raise BadRequest("a body needs a Content-Length")
        if int(raw) > limit:
            raise _TooLarge(f"the request body exceeds {limit} bytes")
        return int(raw)

    def body(self, limit: int) -> bytes:
        return self.http.rfile.read(self.length(limit))

    def json(self, limit: int) -> dict:
        try:
            data = json.loads(self.body(limit))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return data

    def param(self, key: str) -> str:
        values = self.query.get(key)
        if not values:
            raise BadRequest(f"missing parameter {key}")
        return values[0]


class _TooLarge(TenantError):
    status = 413


def _field(data: dict, key: str, kind=str, default=None):
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise BadRequest(f"field {key} is missing or has the wrong type")
    return value


# -- route functions ----------------------------------------------------------------------
def whoami(req: _Request) -> _Reply:
    return _json({"tenant": req.ctx.tenant_id})


def list_samples(req: _Request) -> _Reply:
    return _json({"samples": list(req.gateway.handler.list_samples(req.ctx))})


def load_sample(req: _Request, name: str) -> _Reply:
    return _arrow(req.gateway.handler.load_sample(req.ctx, _name(name)))


def query(req: _Request) -> _Reply:
    sql = _field(req.json(req.gateway.limits.max_json_bytes), "sql")
    return _arrow(req.gateway.handler.query(req.ctx, sql))


def submit_job(req: _Request) -> _Reply:
    data = req.json(req.gateway.limits.max_job_bytes)
    files = {}
    for path, encoded in _field(data, "files", dict).items():
        try:
            files[_name(path, _FILE, "file name")] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, TypeError):
            raise BadRequest("job files must be base64") from None
    entrypoint = _name(_field(data, "entrypoint"), _FILE, "entrypoint")
    if entrypoint not in files:
        raise BadRequest("the entrypoint is not among the files")
    job = JobSubmission(name=_name(_field(data, "name")), entrypoint=entrypoint, files=files,
                        params=_field(data, "params", dict, {}))
    return _json(req.gateway.handler.submit_job(req.ctx, job), 201)


def list_jobs(req: _Request) -> _Reply:
    return _json({"jobs": list(req.gateway.handler.list_jobs(req.ctx))})


def job_status(req: _Request, job_id: str) -> _Reply:
    return _json(req.gateway.handler.job_status(req.ctx, _name(job_id)))


def cancel_job(req: _Request, job_id: str) -> _Reply:
    return _json(req.gateway.handler.cancel_job(req.ctx, _name(job_id)))


def job_logs(req: _Request, job_id: str) -> _Reply:
    return _json({"logs": req.gateway.handler.job_logs(req.ctx, _name(job_id))})


def fetch_output(req: _Request, job_id: str) -> _Reply:
    name = _name(req.param("name"), _OUTPUT, "output name")
    return _arrow(req.gateway.handler.fetch_output(req.ctx, _name(job_id), name))


def request_export(req: _Request) -> _Reply:
    data = req.json(req.gateway.limits.max_json_bytes)
    request = ExportRequest(job_id=_name(_field(data, "job_id")),
                            output=_name(_field(data, "output"), _OUTPUT, "output name"),
                            scenario=_field(data, "scenario"), note=_field(data, "note", str, ""))
    return _json(req.gateway.handler.request_export(req.ctx, request), 201)


def request_import(req: _Request) -> _Reply:
    name = _name(req.param("name"))
    filename = _name(req.param("filename"), _NAME, "file name")
    description = req.query.get("description", [""])[0][:2000]
    size = req.length(req.gateway.limits.max_import_bytes)
    path, digest = _spool(req, size)
    try:
        upload = ImportUpload(name, filename, path, size, digest, description)
        return _json(req.gateway.handler.request_import(req.ctx, upload), 201)
    finally:
        path.unlink(missing_ok=True)  # the handler moved it if it kept it


def _spool(req: _Request, size: int) -> tuple[Path, str]:
    spool = req.gateway.spool_dir / req.ctx.tenant_id
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = spool / f"{req.ctx.request_id}.upload"
    digest = hashlib.sha256()
    left = size
    with open(path, "xb") as out:
        while left:
            chunk = req.http.rfile.read(min(left, 1 << 16))
            if not chunk:
                path.unlink()
                raise BadRequest("the upload ended early")
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return path, digest.hexdigest()


ROUTES: list[tuple[str, re.Pattern, Callable]] = [
    ("GET", re.compile(r"^/v1/whoami$"), whoami),
    ("GET", re.compile(r"^/v1/samples$"), list_samples),
    ("GET", re.compile(r"^/v1/samples/([^/]+)$"), load_sample),
    ("POST", re.compile(r"^/v1/query$"), query),
    ("POST", re.compile(r"^/v1/jobs$"), submit_job),
    ("GET", re.compile(r"^/v1/jobs$"), list_jobs),
    ("GET", re.compile(r"^/v1/jobs/([^/]+)$"), job_status),
    ("POST", re.compile(r"^/v1/jobs/([^/]+)/cancel$"), cancel_job),
    ("GET", re.compile(r"^/v1/jobs/([^/]+)/logs$"), job_logs),
    ("GET", re.compile(r"^/v1/jobs/([^/]+)/output$"), fetch_output),
    ("POST", re.compile(r"^/v1/exports$"), request_export),
    ("POST", re.compile(r"^/v1/imports$"), request_import),
]


def _match(method: str, path: str):
    allowed = False
    for route_method, pattern, fn in ROUTES:
        found = pattern.match(path)
        if found:
            if route_method == method:
                return fn, found.groups(), 200
            allowed = True
    return None, (), 405 if allowed else 404


def dispatch(http, tenant_id: str, gateway) -> None:
    """Answer one request on `tenant_id`'s socket."""
    ctx = GatewayContext(tenant_id=tenant_id, request_id=uuid.uuid4().hex)
    parts = urlsplit(http.path)
    fn, args, status = _match(http.command, parts.path)
    if fn is None:
        _drain(http)
        if gateway.on_rejected:
            gateway.on_rejected(tenant_id, http.command, parts.path[:200], status)
        return _send(http, _error(status, "not_found" if status == 404 else "method", "no such route"))
    req = _Request(http, gateway, ctx, parse_qs(parts.query))
    try:
        reply = fn(req, *args)
    except (Refused, Missing, BadRequest, _TooLarge) as exc:
        kind = {403: "refused", 404: "missing", 400: "bad_request", 413: "too_large"}[exc.status]
        reply = _error(exc.status, kind, exc.diagnostics())
        http.close_connection = http.close_connection or _has_body(http)
    except TenantError as exc:
        reply = _error(400, "error", exc.diagnostics())
        http.close_connection = http.close_connection or _has_body(http)
    except Exception as exc:  # never echo the message: it may contain data
        log.error("gateway %s: %s in %s", tenant_id, type(exc).__name__, fn.__name__)
        reply = _error(500, "internal", f"internal error ({type(exc).__name__})")
        http.close_connection = True
    _send(http, reply)


def _has_body(http) -> bool:
    """A body may be left unread after an error: the connection cannot be reused."""
    return http.headers.get("Content-Length", "0") not in ("", "0")


def _drain(http) -> None:
    raw = http.headers.get("Content-Length", "0")
    if not raw.isdigit() or int(raw) > (1 << 20):
        http.close_connection = True
    elif int(raw):
        http.rfile.read(int(raw))


def _error(status: int, kind: str, reason: str) -> _Reply:
    return _json({"error": {"kind": kind, "reason": reason}}, status)


def _send(http, reply: _Reply) -> None:
    try:
        http.send_response(reply.status)
        http.send_header("Content-Type", reply.content_type)
        http.send_header("Content-Length", str(len(reply.body)))
        http.send_header("Cache-Control", "no-store")
        http.end_headers()
        if http.command != "HEAD":
            http.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError, OSError):
        http.close_connection = True
