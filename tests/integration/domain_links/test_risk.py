"""Risk reports (R17) on a real bubblewrap tenant used through the real SDK: a report by the
operator's staff halts the tenant at once (gateway closed, sandbox stopped, every request
refused with the reason), only the competent authority clears it, and all of it is audited."""

from __future__ import annotations

import pytest

from domain.tenancy import TRANSITIONS, VERBS, TenantStatus as TS, can_transition
from domain.tenancy.imports import grant_datasets

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]

REASON = "correlating districts with contribution bands singles out a small group"


def _events(world, tenant_id):
    return [e.event for e in world.domain.audit_log.query()
            if any(r.kind == "tenant" and r.id == tenant_id for r in e.event.targets)]


def test_halted_leaves_only_through_clearance_or_termination():
    assert TRANSITIONS[TS.HALTED] == frozenset({TS.STOPPED, TS.SUSPENDED, TS.TERMINATED})
    for verb in ("start", "stop", "suspend", "resume"):
        assert not any(old == TS.HALTED for old, _ in VERBS[verb]), verb
    assert not can_transition(TS.HALTED, TS.SUSPENDED, "suspend")
    assert can_transition(TS.HALTED, TS.SUSPENDED, "risk_clear")
    assert all((old, new) in {(o, n) for o in TRANSITIONS for n in TRANSITIONS[o]}
               for pairs in VERBS.values() for old, new in pairs)


def test_staff_report_halts_the_running_tenant_and_only_the_authority_clears_it(world, tmp_path):
    from tenants.gateway import ExportRequest, GatewayContext, JobSubmission, Refused
    from tenants.isolation.base import State
    from tenants.sdk import Client, GatewayUnavailable

    from domain.errors import InvalidTransition, PermissionDenied
    from domain.tenancy import DomainGatewayHandler

    d, admin, alice = world.domain, world.principal("admin"), world.principal("alice")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-risk")
    try:
        d.tenancy.start(admin, tenant.id, wait_s=None)
        socket_path = d.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket
        client = Client.at_socket(socket_path, timeout=60)
        assert len(client.query("SELECT education, count(*) AS n FROM population GROUP BY education")) > 0

        halted = d.tenancy.risk_report(alice, tenant.id, REASON)
        assert halted.status == TS.HALTED and halted.status_reason == REASON
        assert not socket_path.exists()
        assert d.tenancy.runtime.status(tenant.id).state is not State.RUNNING
        with pytest.raises(GatewayUnavailable):
            client.samples()

        # a socket left open elsewhere is refused by the handler itself, with the reason
        handler, ctx = DomainGatewayHandler(d), GatewayContext(tenant.id, "r-risk")
        attempts = {
            "query": lambda: handler.query(ctx, "SELECT education, count(*) AS n FROM population GROUP BY 1"),
            "job": lambda: handler.submit_job(ctx, JobSubmission("j", "main.py", {"main.py": b"print(1)"})),
            "export": lambda: handler.request_export(ctx, ExportRequest("j-000000000000", "x.csv", "s")),
            "samples": lambda: handler.list_samples(ctx),
        }
        for what, attempt in attempts.items():
            with pytest.raises(Refused) as refused:
                attempt()
            assert "halted by a risk report" in refused.value.diagnostics() and REASON in refused.value.diagnostics(), what
        assert d.store.one("SELECT count(*) AS n FROM tenant_jobs WHERE tenant_id=?", (tenant.id,))["n"] == 0

        with pytest.raises(PermissionDenied):
            d.tenancy.risk_clear(alice, tenant.id, "I looked again, it is fine")
        for verb, call in {"start": lambda: d.tenancy.start(admin, tenant.id, wait_s=None),
                           "suspend": lambda: d.tenancy.suspend(admin, tenant.id, "suspend instead"),
                           "resume": lambda: d.tenancy.resume(admin, tenant.id, "resume instead")}.items():
            with pytest.raises(InvalidTransition):
                call()
            assert d.tenancy.get(tenant.id).status == TS.HALTED, verb

        d.tenancy.risk_report(admin, tenant.id, "the authority adds its own finding")  # recorded, still halted
        assert [r["cleared_at"] for r in d.tenancy.risk_reports(admin, tenant.id)] == [None, None]

        cleared = d.tenancy.risk_clear(admin, tenant.id, "the grouping was coarsened; no person can be singled out")
        assert cleared.status == TS.STOPPED
        assert all(r["cleared_by"] == "admin" for r in d.tenancy.risk_reports(alice, tenant.id))
        d.tenancy.start(admin, tenant.id, wait_s=None)
        client = Client.at_socket(socket_path, timeout=60)
        assert client.tenant == tenant.id and len(client.samples()) == len(grant_datasets(world.domain, world.grant))
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")

    events = _events(world, tenant.id)
    flow = [(e.action.value, e.actor.id) for e in events]
    assert flow == [("tenant.create", "admin"), ("tenant.start", "admin"), ("risk.report", "alice"),
                    ("auth.denied", "alice"), ("risk.report", "admin"), ("risk.clear", "admin"), ("tenant.start", "admin"),
                    ("tenant.terminate", "admin"), ("key.destroy", "admin")]
    report = next(e for e in events if e.action.value == "risk.report")
    assert report.reason == REASON and report.details == {"from": "running", "to": "halted"}
    assert any(r.kind == "risk" for r in report.targets)
    denied = next(e for e in events if e.action.value == "auth.denied")
    assert denied.details["permission"] == "risk.clear" and denied.outcome.value == "refused"


def test_who_may_report_and_a_suspension_survives_clearance(world):
    from domain.errors import InvalidInput, InvalidTransition, PermissionDenied

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-risk-susp")
    try:
        for outsider in ("rita", "reg"):  # a reviewer and a regulator may not halt tenants
            with pytest.raises(PermissionDenied):
                d.tenancy.risk_report(world.principal(outsider), tenant.id, REASON)
        with pytest.raises(InvalidInput):
            d.tenancy.risk_report(world.principal("alice"), tenant.id, "   ")
        with pytest.raises(InvalidTransition):
            d.tenancy.risk_clear(admin, tenant.id, "nothing was reported")
        d.tenancy.suspend(admin, tenant.id, "licence review")
        assert d.tenancy.risk_report(world.principal("alice"), tenant.id, REASON).status == TS.HALTED
        assert d.tenancy.risk_clear(admin, tenant.id, "finding closed").status == TS.SUSPENDED
        assert d.tenancy.resume(admin, tenant.id, "licence confirmed").status == TS.STOPPED
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")
    with pytest.raises(InvalidTransition):
        d.tenancy.risk_report(admin, tenant.id, REASON)


def _aod(world, who: str, *args: str, **kw):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "AOD_HOME": str(world.home), "AOD_TOKEN": world.token(who), "PYTHONPATH": str(repo),
           "AOD_SESSION_DIR": str(world.home.parent / "sessions"), "COLUMNS": "250"}
    return subprocess.Popen([sys.executable, "-m", "domain", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=repo, **kw)


def _run(world, who: str, *args: str):
    proc = _aod(world, who, *args)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_a_report_from_another_process_closes_the_tenant_served_by_aod_tenant_start(world):
    """`aod tenant start` serves the tenant in one process; `aod tenant risk-report` from another
    (as staff) closes it within the poll interval; the CLI refuses to restart it until cleared."""
    import time

    from tenants.sdk import Client, GatewayUnavailable

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-risk-cli")
    socket_path = d.tenancy.runtime.layout(tenant.id).root / "gateway" / "gateway.sock"
    server = _aod(world, "admin", "tenant", "start", tenant.id, "--wait", "0")
    try:
        deadline = time.monotonic() + 60
        while not socket_path.exists() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.2)
        client = Client.at_socket(socket_path, timeout=60)
        assert client.tenant == tenant.id

        code, out, err = _run(world, "alice", "tenant", "risk-report", tenant.id, "--reason", REASON)
        assert code == 0 and f"tenant {tenant.id} is halted ({REASON})" in out, err
        served, _ = server.communicate(timeout=30)
        assert server.returncode == 0 and f"tenant {tenant.id} is halted: access closed" in served
        assert not socket_path.exists()
        with pytest.raises(GatewayUnavailable):
            client.samples()

        code, _, err = _run(world, "admin", "tenant", "start", tenant.id, "--wait", "0")
        assert code == 2 and "halted by a risk report" in err
        code, _, err = _run(world, "alice", "tenant", "risk-clear", tenant.id, "--reason", "fine now")
        assert code == 2 and "may not risk.clear" in err
        code, out, _ = _run(world, "admin", "tenant", "risk-clear", tenant.id, "--reason", "groups coarsened")
        assert code == 0 and f"tenant {tenant.id} is stopped" in out
        code, out, _ = _run(world, "alice", "tenant", "risks", tenant.id, "--json")
        [risk] = __import__("json").loads(out)
        assert (risk["reported_by"], risk["cleared_by"], risk["reason"]) == ("alice", "admin", REASON)
    finally:
        if server.poll() is None:
            server.terminate()
            server.communicate(timeout=30)
        d.tenancy.terminate(admin, tenant.id, reason="test finished")


def test_staff_with_a_lapsed_agreement_may_still_report(world):
    """A report only takes access away: it is accepted from staff who may not otherwise act."""
    from datetime import timedelta

    d, admin = world.domain, world.principal("admin")
    today = d.today()
    d.principals.create(admin, principal_id="dora", display_name="NDA lapsed", role="operator_staff",
                        org="op-hz-insight", password="dora-pass-123456")
    d.principals.set_compliance(admin, "dora", realname_verified_on=today, realname_method="counter",
                                nda_signed_on=today - timedelta(days=800), nda_expires_on=today - timedelta(days=1),
                                training_passed_on=today)
    assert d.principals.get("dora").compliance_gaps(today)
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-risk-dora")
    try:
        assert d.tenancy.risk_report(world.principal("dora"), tenant.id, REASON).status == TS.HALTED
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")


SLOW_JOB = """
import time, pyarrow.parquet as pq, pyarrow.csv as csv
t = pq.read_table('/data/raw/population.parquet')
time.sleep(4)
csv.write_csv(t.group_by('education').aggregate([('id_number', 'count')]).rename_columns(['education', 'n']),
              '/job/outputs/by_education.csv')
print('done')
"""


def test_a_job_in_flight_when_the_tenant_is_halted_is_cancelled_and_releases_nothing(world, tmp_path):
    import time

    from tenants.sdk import Client

    from domain.tenancy.jobs import job_logs, show_job

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-risk-job")
    try:
        d.tenancy.start(admin, tenant.id, wait_s=None)
        client = Client.at_socket(d.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket, timeout=60)
        (tmp_path / "main.py").write_text(SLOW_JOB)
        job = client.submit_job(tmp_path / "main.py", name="slow")
        d.tenancy.risk_report(world.principal("alice"), tenant.id, REASON)
        deadline = time.monotonic() + 120
        while show_job(d, admin, job.job_id).finished_at is None and time.monotonic() < deadline:
            time.sleep(0.5)
        record = show_job(d, admin, job.job_id)
        assert record.state == "cancelled" and record.outputs == () and not record.logs_available
        assert "halted by a risk report" in record.detail
        with pytest.raises(Exception, match="withheld"):
            job_logs(d, admin, job.job_id)
    finally:
        d.tenancy.terminate(admin, tenant.id, reason="test finished")


COMMANDS = ("stop", "suspend", "resume", "risk_report", "risk_report_admin", "risk_clear")


def _expected(status: TS, first_halted_from: TS | None, command: str) -> TS | None:
    """The model: the status after `command`, or None when it must be refused."""
    if command.startswith("risk_report"):
        return TS.HALTED
    if command == "risk_clear":
        return None if status != TS.HALTED else (TS.SUSPENDED if first_halted_from == TS.SUSPENDED else TS.STOPPED)
    if command == "stop":  # idempotent: only a running tenant changes (none runs here)
        return status
    if status == TS.HALTED:
        return None
    return {"suspend": TS.SUSPENDED if status in (TS.PROVISIONED, TS.STOPPED) else None,
            "resume": TS.STOPPED if status == TS.SUSPENDED else None}[command]


def test_random_command_sequences_follow_the_model(world):
    """Hypothesis drives report/clear/suspend/resume/stop on a real (provisioned) tenant and
    compares every outcome and audit event with a small model."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    from domain.errors import DomainError

    d, admin, alice = world.domain, world.principal("admin"), world.principal("alice")
    calls = {"stop": lambda t: d.tenancy.stop(admin, t),
             "suspend": lambda t: d.tenancy.suspend(admin, t, "licence review"),
             "resume": lambda t: d.tenancy.resume(admin, t, "review closed"),
             "risk_report": lambda t: d.tenancy.risk_report(alice, t, REASON),
             "risk_report_admin": lambda t: d.tenancy.risk_report(admin, t, "authority finding"),
             "risk_clear": lambda t: d.tenancy.risk_clear(admin, t, "finding closed")}
    counter = iter(range(1000))

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=10))
    def walk(commands):
        tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice",
                                  tenant_id=f"t-risk-walk-{next(counter)}")
        status, halted_from = TS.PROVISIONED, None
        try:
            for command in commands:
                want = _expected(status, halted_from, command)
                before = len(d.audit_log.query())
                try:
                    got = calls[command](tenant.id).status
                except DomainError:
                    got = None
                assert got == want, (commands, command, status)
                if got is None:
                    continue
                new_events = [e.event.action.value for e in d.audit_log.query()[before:]]
                if command.startswith("risk_report"):
                    assert new_events == ["risk.report"]
                    halted_from = halted_from or status
                elif command == "risk_clear":
                    assert new_events == ["risk.clear"]
                    halted_from = None
                status = got
        finally:
            d.tenancy.terminate(admin, tenant.id, reason="walk finished")

    walk()
