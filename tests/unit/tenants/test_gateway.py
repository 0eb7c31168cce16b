"""The gateway on real Unix sockets, spoken to with raw HTTP and with the SDK."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time

import pyarrow as pa
import pytest

from tenants.gateway import Gateway, GatewayLimits, Refused
from tenants.gateway.routes import ROUTES
from tenants.isolation import StubBackend
from tenants.sdk import BadRequestError, Client, GatewayUnavailable, NotFoundError, RefusedError, ServerError
from tests.integration.tenants.support import ReferenceHandler


def raw(path, request: bytes) -> tuple[int, dict]:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), (json.loads(body) if body.startswith(b"{") else {})


def get(path, target: str, headers: str = "") -> tuple[int, dict]:
    return raw(path, f"GET {target} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode())


def test_the_socket_is_the_identity(gateway):
    assert Client.at_socket(gateway.sockets["acme"]).tenant == "acme"
    assert Client.at_socket(gateway.sockets["rival"]).tenant == "rival"
    status, body = get(gateway.sockets["acme"], "/v1/whoami?tenant=rival",
                       "X-AOD-Tenant: rival\r\nAuthorization: Bearer rival\r\n")
    assert (status, body) == (200, {"tenant": "acme"})


def test_the_handler_gets_the_tenant_of_the_socket(gateway):
    Client.at_socket(gateway.sockets["rival"]).samples()
    assert gateway.handler.calls[-1] == ("rival", "list_samples")


def test_socket_file_is_private(gateway):
    st = os.stat(gateway.sockets["acme"])
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(gateway.sockets["acme"].parent).st_mode) == 0o711


@pytest.mark.parametrize("method,target", [
    ("GET", "/v1/grants"), ("POST", "/v1/grants"), ("POST", "/v1/tenants/rival/suspend"),
    ("POST", "/v1/imports/i1/approve"), ("POST", "/v1/exports/x1/vote"), ("GET", "/admin"),
    ("GET", "/v1/samples/../../keys/master.key"), ("GET", "/api/audit"), ("DELETE", "/v1/jobs"),
    ("PUT", "/v1/query"), ("GET", "/v1/query"),
])
def test_no_authority_route_exists(gateway, method, target):
    status, body = raw(gateway.sockets["acme"],
                       f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    assert status in (404, 405) and body["error"]["kind"] in ("not_found", "method")
    assert gateway.rejected[-1][:2] == ("acme", method)


def test_route_table_holds_only_tenant_requests():
    names = {fn.__name__ for _, _, fn in ROUTES}
    assert names == {"whoami", "list_samples", "load_sample", "query", "submit_job", "list_jobs",
                     "job_status", "cancel_job", "job_logs", "fetch_output", "request_export", "request_import"}


def test_samples_and_queries_through_the_sdk(gateway):
    client = Client.at_socket(gateway.sockets["acme"])
    assert [s.name for s in client.samples()] == ["people"]
    assert list(client.load_sample("people").columns) == ["district", "income_band"]
    table = client.query_arrow("select district, count(*) as n from people group by 1 order by 1")
    assert isinstance(table, pa.Table) and table.column("n").to_pylist() == [2, 2]
    with pytest.raises(RefusedError, match="direct identifier"):
        client.query("select id_number from people")
    with pytest.raises(NotFoundError):
        client.load_sample("nope")


def test_a_refusing_handler_refuses_everything_with_its_reason(gateway):
    gateway.handler.refuse_all = "processing is halted pending a risk report"
    with pytest.raises(RefusedError, match="risk report"):
        Client.at_socket(gateway.sockets["acme"]).samples()


def test_internal_errors_never_echo_their_message(gateway):
    def boom(ctx, sql):
        raise ValueError("330106199001011234 leaked")
    gateway.handler.query = boom
    with pytest.raises(ServerError) as err:
        Client.at_socket(gateway.sockets["acme"]).query("select 1")
    assert "3301" not in err.value.reason and "ValueError" in err.value.reason


def test_bad_requests_get_one_line_errors(gateway):
    status, body = raw(gateway.sockets["acme"],
                       b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope")
    assert status == 400 and "JSON" in body["error"]["reason"]
    with pytest.raises(BadRequestError):
        Client.at_socket(gateway.sockets["acme"])._transport.json("POST", "/v1/jobs", json_body={"files": 3})


def test_oversized_bodies_are_refused_before_reading(short_tmp):
    gw = Gateway(ReferenceHandler(StubBackend(), short_tmp / "w"), short_tmp / "spool",
                 limits=GatewayLimits(max_json_bytes=100))
    path = gw.open("acme", short_tmp / "acme", os.geteuid())
    try:
        status, body = raw(path, b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n")
        assert status == 413
    finally:
        gw.close_all()


def test_close_refuses_at_once_and_is_idempotent(gateway):
    client = Client.at_socket(gateway.sockets["acme"])
    assert client.tenant == "acme"
    start = time.monotonic()
    gateway.close("acme")
    gateway.close("acme")
    with pytest.raises(GatewayUnavailable, match="suspended"):
        client.samples()
    assert time.monotonic() - start < 1.0
    assert not gateway.sockets["acme"].exists()
    assert Client.at_socket(gateway.sockets["rival"]).tenant == "rival"


def test_close_cuts_open_connections(gateway):
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(gateway.sockets["acme"]))
    s.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200" in s.recv(4096)
    gateway.close("acme")
    s.settimeout(2)
    try:
        s.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096) == b""
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        s.close()


def test_connection_count_is_bounded(short_tmp):
    gw = Gateway(ReferenceHandler(StubBackend(), short_tmp / "w"), short_tmp / "spool",
                 limits=GatewayLimits(max_connections=2, idle_timeout_s=5))
    path = gw.open("acme", short_tmp / "acme", os.geteuid())
    held = []
    try:
        for _ in range(2):
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(path))
            s.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200" in s.recv(4096)
            held.append(s)
        third = socket.socket(socket.AF_UNIX)
        third.connect(str(path))
        third.settimeout(3)
        try:
            third.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
            assert third.recv(4096) == b""
        except (ConnectionResetError, BrokenPipeError):
            pass  # refused either way
        third.close()
    finally:
        for s in held:
            s.close()
        gw.close_all()


def test_open_replaces_a_planted_file_and_is_idempotent(short_tmp):
    gw = Gateway(ReferenceHandler(StubBackend(), short_tmp / "w"), short_tmp / "spool")
    (short_tmp / "acme").mkdir()
    (short_tmp / "acme" / "gateway.sock").symlink_to("/etc/passwd")
    try:
        path = gw.open("acme", short_tmp / "acme", os.geteuid())
        assert gw.open("acme", short_tmp / "acme", os.geteuid()) == path
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        gw.close_all()


def test_import_is_spooled_hashed_and_handed_over(gateway, short_tmp):
    src = short_tmp / "ext.csv"
    src.write_bytes(b"a,b\n1,2\n")
    ticket = Client.at_socket(gateway.sockets["acme"]).request_import(src, name="ext")
    assert ticket.state == "pending"
    kept = short_tmp / "work" / "imports" / "acme" / "ext.csv"
    assert kept.read_bytes() == b"a,b\n1,2\n"
    assert not any((short_tmp / "spool" / "acme").iterdir())


def test_many_concurrent_requests(gateway):
    client = Client.at_socket(gateway.sockets["acme"])
    errors = []

    def work():
        try:
            for _ in range(10):
                assert client.tenant == "acme"
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
