"""The HTTP API over a real domain (FastAPI TestClient, no mocks)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.server import create_app
from tests.factories import ADMIN_PASSWORD, STAFF_PASSWORD, uscc

API = "/api/v1"


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(world.domain), raise_server_exceptions=False) as c:
        yield c


def _token(client, user, password):
    r = client.post(f"{API}/login", json={"user": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="module")
def admin_h(client):
    return _token(client, "admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def alice_h(client):
    return _token(client, "alice", STAFF_PASSWORD)


def _one_line_error(r):
    body = r.json()
    assert set(body) == {"error"} and body["error"] and "\n" not in body["error"]
    return body["error"]


def test_login_and_whoami(client, alice_h):
    r = client.get(f"{API}/whoami", headers=alice_h)
    assert r.status_code == 200
    assert r.json()["id"] == "alice" and r.json()["compliance_gaps"] == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer aod_forged"}, {"Authorization": "Basic YWRtaW4="},
                                     {"Authorization": "Bearer "}])
def test_no_or_bad_token_is_401(client, headers):
    r = client.get(f"{API}/whoami", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    _one_line_error(r)


def test_a_wrong_password_is_401_and_vague(client):
    r = client.post(f"{API}/login", json={"user": "alice", "password": "not-her-password"})
    assert r.status_code == 401 and _one_line_error(r) == "authentication failed"
    r2 = client.post(f"{API}/login", json={"user": "nobody-at-all", "password": "not-her-password"})
    assert r2.status_code == 401 and r2.json() == r.json()


def test_a_session_cookie_works_like_a_bearer_token(client, world):
    token = world.domain.auth.login("alice", STAFF_PASSWORD).token
    client.cookies.set("aod_session", token)
    try:
        assert client.get(f"{API}/whoami").json()["id"] == "alice"
    finally:
        client.cookies.clear()


def test_staff_may_not_manage_and_get_403(client, alice_h):
    r = client.post(f"{API}/operators", headers=alice_h,
                    json={"id": "op-rogue", "name": "Rogue", "credit_code": uscc("91330106MA2KRRRR1")})
    assert r.status_code == 403 and "may not" in _one_line_error(r)
    r = client.post(f"{API}/principals", headers=alice_h,
                    json={"id": "mallory", "display_name": "M", "role": "authority", "password": "x" * 12})
    assert r.status_code == 403


def test_admin_registers_an_operator_and_bad_input_is_400(client, admin_h):
    good = {"id": "op-api", "name": "API Ltd", "credit_code": uscc("91330106MA2KAPXX1")}
    r = client.post(f"{API}/operators", headers=admin_h, json=good)
    assert r.status_code == 201 and r.json()["id"] == "op-api"
    assert client.post(f"{API}/operators", headers=admin_h, json=good).status_code == 409
    code = good["credit_code"]
    bad = {**good, "id": "op-api2", "credit_code": code[:17] + ("0" if code[17] != "0" else "1")}
    r = client.post(f"{API}/operators", headers=admin_h, json=bad)
    assert r.status_code == 400 and "credit code" in _one_line_error(r)
    assert "op-api" in {o["id"] for o in client.get(f"{API}/operators", headers=admin_h).json()}


def test_grants_over_http(client, admin_h, alice_h, world):
    starts = world.domain.today().isoformat()
    body = {"operator_id": "op-hz", "scenario": "api scenario", "columns": {"population": ["district"]},
            "emergency_plan": "EP-9", "starts_on": starts, "expires_on": f"{int(starts[:4]) + 4}{starts[4:]}"}
    r = client.post(f"{API}/grants", headers=admin_h, json=body)
    assert r.status_code == 400 and "three years" in _one_line_error(r)
    body["expires_on"] = f"{int(starts[:4]) + 1}{starts[4:]}"
    assert client.post(f"{API}/grants", headers=alice_h, json=body).status_code == 403
    r = client.post(f"{API}/grants", headers=admin_h, json=body)
    assert r.status_code == 201
    gid = r.json()["id"]
    r = client.post(f"{API}/grants/{gid}/activate", headers=admin_h, json={"reason": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = client.post(f"{API}/grants/{gid}/activate", headers=admin_h, json={"reason": "again"})
    assert r.status_code == 409
    assert client.post(f"{API}/grants/{gid}/explode", headers=admin_h, json={"reason": "x"}).status_code == 404
    assert client.post(f"{API}/grants/{gid}/suspend", headers=alice_h, json={"reason": "x"}).status_code == 403
    assert client.get(f"{API}/grants/{gid}", headers=alice_h).json()["status"] == "active"
    ids = {g["id"] for g in client.get(f"{API}/grants", headers=alice_h).json()}
    assert gid in ids and world.other_grant.id not in ids


def test_another_operators_grant_is_403_and_unknown_is_404(client, alice_h, world):
    assert client.get(f"{API}/grants/{world.other_grant.id}", headers=alice_h).status_code == 403
    r = client.get(f"{API}/grants", params={"operator_id": "op-other"}, headers=alice_h)
    assert r.status_code == 403
    r = client.get(f"{API}/grants/g-nope", headers=alice_h)
    assert r.status_code == 404 and _one_line_error(r)


def test_datasets_are_listed_without_values(client, alice_h, world):
    r = client.get(f"{API}/datasets", headers=alice_h)
    assert r.status_code == 200 and {"population", "enterprise"} <= {d["name"] for d in r.json()}
    one = client.get(f"{API}/datasets/population", headers=alice_h).json()
    assert {c["name"] for c in one["columns"]} >= {"id_number", "district"}
    assert world.an_id_number(0) not in client.get(f"{API}/datasets/population", headers=alice_h).text
    assert client.get(f"{API}/datasets/nope", headers=alice_h).status_code == 404


def test_a_revoked_token_is_401_over_http(client, world):
    token = world.domain.auth.login("alice", STAFF_PASSWORD).token
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/whoami", headers=headers).status_code == 200
    world.domain.auth.revoke(token)
    assert client.get(f"{API}/whoami", headers=headers).status_code == 401


def test_openapi_lists_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"{API}/login", f"{API}/grants", f"{API}/datasets"} <= set(paths)


def test_a_checked_query_over_http(client, alice_h, world):
    url = f"{API}/grants/{world.grant.id}/query"
    r = client.post(url, headers=alice_h, json={"sql": "SELECT district, count(*) AS n FROM population GROUP BY 1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["district", "n"] and body["k"] == 10
    assert all(row["n"] >= 10 for row in body["data"]) and len(body["data"]) == body["rows"]
    secret = world.an_id_number(2)
    r = client.post(url, headers=alice_h, json={"sql": f"SELECT count(*) FROM population WHERE id_number = '{secret}'"})
    assert r.status_code == 403 and "direct identifier" in _one_line_error(r) and secret not in r.text
    r = client.post(f"{API}/grants/{world.other_grant.id}/query", headers=alice_h, json={"sql": "SELECT 1"})
    assert r.status_code == 403
    assert client.post(url, json={"sql": "SELECT 1"}).status_code == 401
    via = world.domain.audit_log.query(action="query.run")[-2].event.details["via"]
    assert via == "api"


def test_a_malformed_body_is_a_one_line_error_without_its_values(client):
    r = client.post(f"{API}/login", json={"user": 330106199001011234, "password": "x"})
    assert r.status_code in (400, 422)
    assert "330106199001011234" not in r.text
    _one_line_error(r)


def test_an_idle_server_signs_a_tree_head_over_its_last_events(tmp_path, monkeypatch):
    """Tree heads are due every T seconds; an append checks that, and so does the server's
    housekeeping loop, so the last events before a quiet spell do not stay unsigned."""
    import time

    from domain.server import app as server_app
    from tests.factories import new_domain

    monkeypatch.setattr(server_app, "HEAD_CHECK_EVERY_S", 0.2)
    d = new_domain(tmp_path / "home")
    d.audit_log.update_settings(checkpoint_every_seconds=1)
    with TestClient(create_app(d)) as client:
        _token(client, "admin", ADMIN_PASSWORD)  # appends auth.login, then the server is idle
        size = d.audit_log.size()
        assert d.audit_log.latest_checkpoint().size < size
        deadline = time.monotonic() + 15
        while d.audit_log.latest_checkpoint().size < size and time.monotonic() < deadline:
            time.sleep(0.2)
        assert d.audit_log.latest_checkpoint().size == size
