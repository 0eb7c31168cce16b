"""Red team against the workflow and the web pages: self-approval, colleagues, replayed or
forged forms, path tricks."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from export_review.errors import PermissionDenied
from export_review.testing.planted import good_tables, write_metadata
from export_review.testing.webapp import create_app
from export_review.workflow.status import RequestStatus as S
from tests.integration.export_review.fixtures import ALICE, GRANT, INSIDER, RITA, ROB, SCENARIO


def _request(world):
    planted = good_tables(world.raw, world.products)[1]
    return world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="data_package",
                                file=planted.product.path)


@pytest.fixture
def client(world):
    app = create_app(world.service, {"rita": (RITA, "rita-password-1"), "rob": (ROB, "rob-password-12"),
                                     "alice": (ALICE, "alice-password1"), "ivan": (INSIDER, "ivan-password-1")})
    return TestClient(app)


def _login(client, user, password):
    r = client.post("/login", data={"user": user, "password": password}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("session", r.cookies["session"])


def _token(client, export_id):
    page = client.get(f"/review/{export_id}")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)


def test_forged_and_cross_site_forms_are_refused(world, client):
    req = _request(world)
    _login(client, "rita", "rita-password-1")
    assert client.post(f"/review/{req.id}/vote", data={"decision": "approve"}).status_code == 403
    token = _token(client, req.id).group(1)
    r = client.post(f"/review/{req.id}/vote", data={"decision": "approve", "csrf_token": token},
                    headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    assert world.service.votes(world.service.get(req.id)) == []


def test_a_token_of_one_reviewer_does_not_work_for_another(world, client):
    req = _request(world)
    _login(client, "rita", "rita-password-1")
    token = _token(client, req.id).group(1)
    _login(client, "rob", "rob-password-12")
    assert client.post(f"/review/{req.id}/vote", data={"decision": "approve", "csrf_token": token}).status_code == 403


def test_requester_and_insider_see_no_decision_form(world, client):
    req = _request(world)
    for user, password in (("alice", "alice-password1"), ("ivan", "ivan-password-1")):
        _login(client, user, password)
        page = client.get(f"/review/{req.id}")
        assert "decision-form" not in page.text
    with pytest.raises(PermissionDenied):
        world.service.vote(INSIDER, req.id, "approve")


def test_unauthenticated_pages_redirect_to_login(world, client):
    req = _request(world)
    r = client.get(f"/review/{req.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_unknown_request_is_404_and_pages_escape_html(world, client):
    _login(client, "rita", "rita-password-1")
    assert client.get("/review/x-doesnotexist").status_code == 404
    planted = good_tables(world.raw, world.products)[1]
    req = world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="data_package",
                               file=planted.product.path, title="<script>alert(1)</script>")
    page = client.get(f"/review/{req.id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_product_names_cannot_escape_the_exports_folder(world, tmp_path):
    weird = world.products / "..%2F..%2Fevil.csv"
    weird.write_text("district,n\n西湖区,12\n", encoding="utf-8")
    req = world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="data_package", file=weird)
    path = world.service.product_path(req).resolve()
    assert (world.home / "exports").resolve() in path.parents


def test_an_approved_request_cannot_be_released_by_the_requester(world):
    req = _request(world)
    world.service.vote(RITA, req.id, "approve")
    world.service.vote(ROB, req.id, "approve")
    with pytest.raises(PermissionDenied):
        world.service.release(ALICE, req.id)
    assert world.service.get(req.id).status == S.APPROVED
