"""The domain server hosts the tenants it starts: lifecycle over HTTP, and a suspension recorded
by another process (another Domain on the same home) closes the gateway within a second."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]


def test_server_starts_a_tenant_and_closes_it_when_another_process_suspends_it(world):
    from fastapi.testclient import TestClient

    from domain.core import Domain
    from domain.server.app import create_app
    from domain.tenancy import TenantStatus
    from tenants.sdk import Client

    admin = {"Authorization": f"Bearer {world.token('admin')}"}
    alice = {"Authorization": f"Bearer {world.token('alice')}"}
    with TestClient(create_app(world.domain)) as http:
        made = http.post("/api/v1/tenants", headers=admin,
                         json={"grant_id": world.grant.id, "staff_id": "alice", "tenant_id": "t-served"})
        assert made.status_code == 200 and made.json()["status"] == "provisioned"
        assert http.post("/api/v1/tenants/t-served/start", headers=alice).status_code == 403
        assert http.post("/api/v1/tenants/t-served/start", headers=admin).json()["status"] == "running"
        socket = world.domain.tenancy.runtime.backend.spec_of("t-served").gateway_socket
        assert Client.at_socket(socket).tenant == "t-served"
        assert [t["id"] for t in http.get("/api/v1/tenants", headers=alice).json()].count("t-served") == 1

        other = Domain.open(world.home)  # as another process would: its own store and services
        tenant = other.tenancy.get("t-served")
        other.tenancy._record(world.principal("admin"), tenant, TenantStatus.SUSPENDED, "risk report")
        deadline = time.monotonic() + 3
        while socket.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not socket.exists()
        assert not world.domain.tenancy.runtime.gateway.is_open("t-served")
        again = http.post("/api/v1/tenants/t-served/start", headers=admin)
        assert again.status_code == 409
        done = http.post("/api/v1/tenants/t-served/terminate", headers=admin, json={"reason": "test finished"})
        assert done.json()["status"] == "terminated"


def test_risk_report_and_clear_over_http(world):
    from fastapi.testclient import TestClient

    from domain.server import create_app

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-risk-http")
    try:
        with TestClient(create_app(d)) as client:
            staff = {"Authorization": f"Bearer {world.token('alice')}"}
            boss = {"Authorization": f"Bearer {world.token('admin')}"}
            r = client.post(f"/api/v1/tenants/{tenant.id}/risk-report", headers=staff,
                            json={"reason": "a notebook printed raw-looking rows"})
            assert r.status_code == 200 and r.json()["status"] == "halted", r.text
            assert client.post(f"/api/v1/tenants/{tenant.id}/risk-clear", headers=staff,
                               json={"reason": "mine"}).status_code == 403
            assert client.post(f"/api/v1/tenants/{tenant.id}/start", headers=boss).status_code in (403, 409)
            r = client.post(f"/api/v1/tenants/{tenant.id}/risk-clear", headers=boss, json={"reason": "reviewed"})
            assert r.status_code == 200 and r.json()["status"] != "halted", r.text
            risks = client.get(f"/api/v1/tenants/{tenant.id}/risks", headers=boss).json()
            assert len(risks) == 1
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test over")


def test_jobs_over_http_list_show_logs_and_cancel(world, tmp_path):
    """The authority and the operator's staff see and cancel a tenant's jobs at /api/v1 (the
    tenant itself uses its gateway); people outside the operator are refused."""
    from fastapi.testclient import TestClient

    from domain.server import create_app
    from tenants.sdk import Client

    from tests.integration.domain_links.test_job_cancel import SLOW

    d = world.domain
    auth = {who: {"Authorization": f"Bearer {world.token(who)}"} for who in ("admin", "alice", "rita")}
    with TestClient(create_app(d)) as http:
        assert http.post("/api/v1/tenants", headers=auth["admin"], json={
            "grant_id": world.grant.id, "staff_id": "alice", "tenant_id": "t-jobs-http"}).status_code == 200
        try:
            assert http.post("/api/v1/tenants/t-jobs-http/start", headers=auth["admin"]).status_code == 200
            client = Client.at_socket(d.tenancy.runtime.backend.spec_of("t-jobs-http").gateway_socket, timeout=120)
            code = tmp_path / "slow.py"
            code.write_text(SLOW)
            job_id = client.submit_job(code, name="slow").job_id

            listed = http.get("/api/v1/tenants/t-jobs-http/jobs", headers=auth["alice"])
            assert listed.status_code == 200 and [j["id"] for j in listed.json()] == [job_id]
            assert http.get("/api/v1/tenants/t-jobs-http/jobs", headers=auth["rita"]).status_code == 403
            shown = http.get(f"/api/v1/jobs/{job_id}", headers=auth["admin"]).json()
            assert shown["state"] in ("queued", "running") and shown["name"] == "slow"
            assert http.get(f"/api/v1/jobs/{job_id}", headers=auth["rita"]).status_code == 403
            logs = http.get(f"/api/v1/jobs/{job_id}/logs", headers=auth["alice"])
            assert logs.status_code == 409 and "withheld" in logs.json()["error"]
            assert http.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth["rita"], json={}).status_code == 403
            done = http.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth["alice"], json={"reason": "not needed"})
            assert done.status_code == 200 and done.json()["state"] == "cancelled", done.text
            again = http.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth["alice"], json={})
            assert again.status_code == 409 and "already" in again.json()["error"]
            assert http.get("/api/v1/jobs/j-nosuchjob", headers=auth["admin"]).status_code == 404
        finally:
            http.post("/api/v1/tenants/t-jobs-http/terminate", headers=auth["admin"], json={"reason": "test finished"})
