"""Cancelling production jobs on a real bubblewrap tenant of a real domain home: by the operator's
staff through `aod job cancel` (another process: the sandbox is killed by its machine-wide
name), from the tenant through its gateway, and at once when the tenant is suspended, halted
by a risk report or terminated. A cancelled job releases nothing and every step is audited."""

from __future__ import annotations

import time

import pytest

from tests.integration.domain_links.test_cli_jobs_imports import aod

pytestmark = [pytest.mark.bwrap, pytest.mark.slow]

SLOW = """
import pyarrow as pa, pyarrow.csv as csv, time
csv.write_csv(pa.table({'district': ['a'] * 50, 'n': [100] * 50}), '/job/outputs/early.csv')
time.sleep(300)
"""
TENANT = "t-cancel"


@pytest.fixture(scope="module")
def client(world):
    from tenants.sdk import Client

    d, admin = world.domain, world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id=TENANT)
    d.tenancy.start(admin, tenant.id, wait_s=60)
    try:
        yield Client.at_socket(d.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket, timeout=120)
    finally:
        if d.tenancy.get(TENANT).status.value != "terminated":
            d.tenancy.terminate(admin, TENANT, reason="test finished")


def start_slow_job(world, client, tmp_path) -> str:
    """A job whose sandbox is running (it wrote an output and sleeps); returns its id."""
    code = tmp_path / "slow.py"
    code.write_text(SLOW)
    job = client.submit_job(code, name="slow")
    stage = world.home / "tenants" / "_jobs" / job.job_id / ".outputs.stage"
    deadline = time.monotonic() + 90
    while not (stage / "early.csv").exists():
        assert time.monotonic() < deadline, "the job's sandbox never started"
        time.sleep(0.1)
    return job.job_id


def wait_sandbox_gone(world, job_id: str, timeout_s: float = 20.0) -> float:
    """Seconds until the job's runner has finished with it (its stage is unmounted and gone)."""
    stage = world.home / "tenants" / "_jobs" / job_id / ".outputs.stage"
    start = time.monotonic()
    while stage.exists():
        assert time.monotonic() - start < timeout_s, "the job's sandbox was not killed"
        time.sleep(0.1)
    return time.monotonic() - start


def finish_events(world, job_id: str, timeout_s: float = 20.0) -> list:
    """The job's job.finish events, once its runner has recorded its end."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [e.event for e in world.domain.audit_log.query(action="job.finish")
                 if e.event.targets[0].id == job_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def assert_cancelled(world, job_id: str, reason_part: str) -> None:
    d = world.domain
    (finish,) = finish_events(world, job_id)  # the runner ended it as cancelled, releasing nothing
    assert finish.details["state"] == "cancelled" and finish.details["released"] == [] and not finish.outputs
    row = d.store.one("SELECT * FROM tenant_jobs WHERE id=?", (job_id,))
    assert row["state"] == "cancelled" and reason_part in row["detail"], dict(row)
    assert row["outputs"] == "[]" and row["logs"] is None and row["finished_at"]
    assert not (world.home / "tenants" / "_jobs" / job_id / "outputs").exists()
    cancels = [e.event for e in d.audit_log.query(action="job.cancel") if e.event.targets[0].id == job_id]
    assert len(cancels) == 1 and reason_part in cancels[0].reason
    released = [e for e in d.audit_log.query(action="job.output_release")
                if any(r.id.startswith(f"{job_id}/") for r in e.event.outputs)]
    assert released == []


def test_staff_cancel_a_running_job_from_the_cli(world, client, tmp_path):
    from tenants.sdk import NotFoundError, RefusedError

    job_id = start_slow_job(world, client, tmp_path)
    done = aod(world, "alice", "job", "cancel", job_id, "--reason", "wrong parameters")
    assert done.returncode == 0, done.stderr
    assert f"job {job_id} cancelled: wrong parameters" in done.stdout
    assert wait_sandbox_gone(world, job_id) < 15  # killed by name from another process
    assert_cancelled(world, job_id, "wrong parameters")
    job = client.job(job_id)
    assert job.state == "cancelled" and job.finished and job.outputs == ()
    with pytest.raises((RefusedError, NotFoundError)):
        job.fetch("early.csv")
    again = aod(world, "alice", "job", "cancel", job_id)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "cancelled already" in again.stderr


def test_only_the_authority_and_the_operators_staff_may_cancel(world, client, tmp_path):
    job_id = start_slow_job(world, client, tmp_path)
    for outsider in ("rita", "rob"):
        refused = aod(world, outsider, "job", "cancel", job_id)
        assert refused.returncode == 2 and refused.stderr.startswith("aod: error:"), refused.stderr
    assert world.domain.store.one("SELECT state FROM tenant_jobs WHERE id=?", (job_id,))["state"] == "running"
    done = aod(world, "admin", "job", "cancel", job_id, "--json")
    assert done.returncode == 0 and '"state": "cancelled"' in done.stdout
    wait_sandbox_gone(world, job_id)
    assert_cancelled(world, job_id, "cancelled by admin")


def test_the_tenant_cancels_its_own_job_through_the_gateway(world, client, tmp_path):
    job_id = start_slow_job(world, client, tmp_path)
    job = client.job(job_id).cancel()  # the SDK's Job.cancel()
    assert job.state == "cancelled" and job.finished
    assert wait_sandbox_gone(world, job_id) < 15  # the runner in this process killed it
    assert_cancelled(world, job_id, f"cancelled by alice from tenant {TENANT}")


@pytest.mark.parametrize("how", ["suspend", "risk_report"])
def test_suspending_or_halting_the_tenant_cancels_its_jobs_at_once(world, client, tmp_path, how):
    d, admin = world.domain, world.principal("admin")
    job_id = start_slow_job(world, client, tmp_path)
    getattr(d.tenancy, how)(admin, TENANT, reason=f"test {how}")
    assert d.store.one("SELECT state FROM tenant_jobs WHERE id=?", (job_id,))["state"] == "cancelled"
    assert wait_sandbox_gone(world, job_id) < 15
    assert_cancelled(world, job_id, f"test {how}")
    if how == "suspend":
        d.tenancy.resume(admin, TENANT, reason="corrected")
    else:
        d.tenancy.risk_clear(admin, TENANT, reason="no risk after review")
    d.tenancy.start(admin, TENANT, wait_s=60)


def test_terminating_the_tenant_cancels_its_jobs_and_deletes_their_files(world, client, tmp_path):
    d, admin = world.domain, world.principal("admin")
    job_id = start_slow_job(world, client, tmp_path)
    jobs = [r["id"] for r in d.store.all("SELECT id FROM tenant_jobs WHERE tenant_id=?", (TENANT,))]
    d.tenancy.terminate(admin, TENANT, reason="licence ended")
    assert wait_sandbox_gone(world, job_id) < 15
    assert_cancelled(world, job_id, "licence ended")
    assert not any((world.home / "tenants" / "_jobs" / j).exists() for j in jobs)  # code and outputs gone


def test_job_state_table_covers_every_state_and_every_backend_outcome():
    from tenants.spec import JobOutcome

    from domain.tenancy.jobs import TRANSITIONS, JobState

    assert set(TRANSITIONS) == set(JobState)
    outcomes = {v for k, v in vars(JobOutcome).items() if k.isupper()}
    assert outcomes <= {s.value for s in JobState}  # every outcome of a sandbox is a state
    cancellable = {s for s, targets in TRANSITIONS.items() if JobState.CANCELLED in targets}
    assert cancellable == {JobState.QUEUED, JobState.RUNNING}
    assert all(not TRANSITIONS[s] for s in JobState if s not in (JobState.QUEUED, JobState.RUNNING))


def test_jobs_of_a_hosting_process_that_ends_are_cancelled_not_left_running(world, tmp_path):
    """A second Domain object stands for another hosting process (`aod tenant start`, the server):
    its tenant's jobs run in it, so when it closes, they are cancelled and audited."""
    from tenants.sdk import Client

    from domain.core import Domain

    host = Domain.open(world.home)
    admin = host.principals.get("admin")
    host.tenancy.create(admin, grant_id=world.grant.id, staff_id="alice", tenant_id="t-host")
    try:
        host.tenancy.start(admin, "t-host", wait_s=60)
        client = Client.at_socket(host.tenancy.runtime.backend.spec_of("t-host").gateway_socket, timeout=120)
        job_id = start_slow_job(world, client, tmp_path)
        host.tenancy.close_all()
        assert wait_sandbox_gone(world, job_id) < 15
        assert_cancelled(world, job_id, "the process hosting the tenant ended")
    finally:
        host.tenancy.terminate(admin, "t-host", reason="test finished")


HOST = """
import sys, time
from pathlib import Path
from tenants.sdk import Client
from domain.core import Domain
home, grant, code = sys.argv[1:4]
d = Domain.open(home)
admin = d.principals.get("admin")
d.tenancy.create(admin, grant_id=grant, staff_id="alice", tenant_id="t-killed")
d.tenancy.start(admin, "t-killed", wait_s=60)
client = Client.at_socket(d.tenancy.runtime.backend.spec_of("t-killed").gateway_socket, timeout=120)
job = client.submit_job(Path(code), name="slow")
stage = Path(home) / "tenants" / "_jobs" / job.job_id / ".outputs.stage"
while not (stage / "early.csv").exists():
    time.sleep(0.1)
print(job.job_id, flush=True)
time.sleep(600)
"""


def test_jobs_of_a_hosting_process_killed_by_sigkill_are_failed_and_cleaned_up(world, tmp_path):
    """kill -9 of the process hosting a job: its sandbox dies with it (bwrap --die-with-parent),
    and the next listing records the job failed (audited), deletes its outputs and the decrypted
    raw data it left in /dev/shm. Before, the job stayed `running` for ever and the data stayed."""
    import glob
    import os
    import signal
    import subprocess
    import sys

    from domain.tenancy.jobs import list_jobs

    d, admin = world.domain, world.principal("admin")
    code = tmp_path / "slow.py"
    code.write_text(SLOW)
    host = subprocess.Popen([sys.executable, "-c", HOST, str(world.home), world.grant.id, str(code)],
                            stdout=subprocess.PIPE, text=True)
    try:
        job_id = host.stdout.readline().strip()
        assert job_id.startswith("j-"), "the hosting process did not start the job"
        scratch = glob.glob(f"/dev/shm/aod-job-{job_id}-*")
        assert scratch and any(p.endswith(".parquet") for p in glob.glob(f"{scratch[0]}/*"))
        host.send_signal(signal.SIGKILL)
        host.wait(timeout=30)
        stage = world.home / "tenants" / "_jobs" / job_id / ".outputs.stage"
        assert os.path.ismount(stage)  # the unchecked outputs the killed host left mounted
        jobs = {j.id: j for j in list_jobs(d, admin, "t-killed")}
        assert jobs[job_id].state == "failed" and "hosting process ended" in jobs[job_id].detail
        assert jobs[job_id].outputs == () and not jobs[job_id].logs_available
        assert glob.glob(f"/dev/shm/aod-job-{job_id}-*") == []  # no decrypted raw data left behind
        assert not (world.home / "tenants" / "_jobs" / job_id / "outputs").exists() and not stage.exists()
        (finish,) = finish_events(world, job_id)
        assert finish.details["orphaned"] is True and finish.details["released"] == []
    finally:
        if host.poll() is None:
            host.kill()
        d.tenancy.terminate(admin, "t-killed", reason="test finished")
