"""The domain's GatewayHandler behind a real gateway socket, used with the real SDK, against a
real domain home; the tenant runs in a real bubblewrap sandbox and jobs run next to raw data."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]

JOB = """
import pyarrow.parquet as pq, pyarrow.csv as csv
t = pq.read_table('/data/raw/population.parquet')
by = t.group_by('district').aggregate([('id_number', 'count')]).rename_columns(['district', 'n'])
csv.write_csv(by, '/job/outputs/by_district.csv')
csv.write_csv(t.select(['id_number', 'district']).slice(0, 30), '/job/outputs/leak.csv')
print('rows read:', t.num_rows)
"""


@pytest.fixture(scope="module")
def tenant(world):
    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-gateway")
    d.tenancy.start(admin, tenant.id, wait_s=60)
    yield tenant
    d.tenancy.terminate(admin, tenant.id, reason="test finished")


@pytest.fixture(scope="module")
def client(world, tenant):
    from tenants.sdk import Client

    return Client.at_socket(world.domain.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket, timeout=120)


def test_socket_is_the_identity(client, tenant):
    assert client.tenant == tenant.id


def test_samples_are_desensitized_and_granted_columns_only(world, client, raw_people):
    from tenants.sdk import NotFoundError

    from domain.tenancy.imports import grant_datasets

    # the granted datasets, and the operator's approved imports (another test may have made one)
    assert {s.name for s in client.samples()} == set(grant_datasets(world.domain, world.grant))
    people = client.load_sample("population")
    assert tuple(people.columns) == world.grant.columns["population"]
    assert 0 < len(people) <= world.domain.config.sample_rows
    raw_ids = set(raw_people.column("id_number").to_pylist())
    assert not raw_ids & set(people["id_number"].astype(str))
    assert all(str(v).startswith("ps_") for v in people["id_number"].head(20))
    with pytest.raises(NotFoundError):
        client.load_sample("../population")
    reads = [e.event for e in world.domain.audit_log.query(action="sample.read")]
    assert reads and reads[-1].actor.id == "alice" and reads[-1].outputs[0].id.endswith("/population")
    assert len(reads[-1].outputs[0].sha256) == 64


def test_query_allowed_and_refused_through_the_gateway(world, client):
    from tenants.sdk import RefusedError

    counts = client.query("SELECT education, count(*) AS n FROM population GROUP BY education")
    assert len(counts) > 0 and counts["n"].min() >= world.domain.config.min_group_size
    with pytest.raises(RefusedError) as refused:
        client.query("SELECT id_number, district FROM population")
    assert "direct identifier" in refused.value.reason
    runs = [e.event for e in world.domain.audit_log.query() if e.event.action.value == "query.run"]
    assert runs[-1].outcome.value == "refused" and runs[-1].details["via"] == "gateway"
    assert runs[-1].actor.id == "alice"


def test_job_outputs_are_checked_before_the_tenant_sees_them(world, client, tmp_path):
    from tenants.sdk import RefusedError

    code = tmp_path / "main.py"
    code.write_text(JOB)
    job = client.submit_job(code, name="headcount").wait(timeout=180)
    assert job.state == "succeeded", job.detail
    states = {o.name: o.state for o in job.outputs}
    assert states == {"by_district.csv": "released", "leak.csv": "withheld"}
    assert len(job.fetch("by_district.csv")) > 0
    with pytest.raises(RefusedError):
        job.fetch("leak.csv")
    handed = [e.event for e in world.domain.audit_log.query(action="job.output_release")]
    assert [r.id.split("/")[-1] for e in handed for r in e.outputs] == ["by_district.csv"]  # never leak.csv
    assert "rows read:" in job.logs()
    ticket = client.request_export(job, "by_district.csv", scenario=world.grant.scenario)
    assert ticket.state == "under_review"
    leaked = client.request_export(job, "leak.csv", scenario=world.grant.scenario)
    assert leaked.state == "changes_requested"
    request = world.domain.exports.get(ticket.request_id)
    assert request.requester == "alice" and request.org == "op-hz-insight"


def test_export_for_another_scenario_is_refused(world, client, tmp_path):
    code = tmp_path / "main.py"
    code.write_text(JOB)
    job = client.submit_job(code).wait(timeout=180)
    ticket = client.request_export(job, "by_district.csv", scenario="a scenario nobody granted")
    assert ticket.state == "changes_requested"
    assert "scenario" in world.domain.exports.get(ticket.request_id).status_reason


def test_import_request_waits_for_the_authority_and_a_refusal_destroys_it(world, client, tmp_path):
    from domain.tenancy import ImportService

    upload = tmp_path / "survey.csv"
    upload.write_text("district,score\n西湖区,3\n")
    ticket = client.request_import(upload, name="survey", description="street survey")
    assert ticket.state == "pending"
    folder = world.home / "imports" / ticket.import_id
    assert folder.is_dir()
    with pytest.raises(Exception) as denied:
        ImportService(world.domain).decide(world.principal("alice"), ticket.import_id, approve=True, reason="me")
    assert "may not" in denied.value.diagnostics()
    ImportService(world.domain).decide(world.principal("admin"), ticket.import_id, approve=False, reason="no licence")
    assert not folder.exists()


def test_grant_suspension_cuts_the_gateway_at_once(world, client, tenant):
    from tenants.gateway import GatewayContext, Refused
    from tenants.sdk import GatewayUnavailable

    from domain.tenancy import DomainGatewayHandler

    d, admin = world.domain, world.principal("admin")
    socket_path = d.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket
    d.grants.suspend(admin, world.grant.id, reason="risk report under investigation")
    try:
        assert d.tenancy.get(tenant.id).status.value == "suspended"
        assert not socket_path.exists()
        with pytest.raises(GatewayUnavailable):
            client.samples()
        # even a socket left open elsewhere is refused by the handler (fail closed)
        with pytest.raises(Refused):
            DomainGatewayHandler(d).query(GatewayContext(tenant.id, "r-1"), "SELECT count(*) AS n FROM population")
    finally:
        d.grants.resume(admin, world.grant.id, reason="cleared")
    assert d.tenancy.get(tenant.id).status.value == "suspended"  # the authority resumes tenants explicitly


def test_handler_refuses_when_the_staff_member_may_not_act_today(world):
    from datetime import timedelta

    from tenants.gateway import GatewayContext, Refused

    from domain.tenancy import DomainGatewayHandler, TenantStatus

    d, admin = world.domain, world.principal("admin")
    today = d.today()
    d.principals.create(admin, principal_id="carl", display_name="training missing", role="operator_staff",
                        org="op-hz-insight", password="carl-pass-123456")
    d.principals.set_compliance(admin, "carl", realname_verified_on=today, realname_method="counter",
                                nda_signed_on=today, nda_expires_on=today + timedelta(days=365))
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="carl", tenant_id="t-carl")
    try:
        d.tenancy._record(admin, tenant, TenantStatus.RUNNING, "handler check only, no sandbox")
        with pytest.raises(Refused, match="pre-job training not passed"):
            DomainGatewayHandler(d).list_samples(GatewayContext(tenant.id, "r-2"))
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")
