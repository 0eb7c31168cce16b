"""Jobs whose hosting process died: recorded failed (audited), outputs and decrypted scratch
data deleted; jobs of live hosts, and of hosts that cannot be told apart yet, left alone.
(The kill -9 of a real hosting process is in tests/integration/domain_links/test_job_cancel.py.)"""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from domain.clock import iso
from domain.tenancy import hosts, jobs
from domain.tenancy.hosts import host_alive, host_token
from domain.tenancy.jobs import reconcile_orphans


def dead_host() -> str:
    """The token of a process that has ended."""
    out = subprocess.run([sys.executable, "-c", "from domain.tenancy.hosts import host_token; print(host_token())"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_host_is_alive_while_its_process_runs():
    assert host_alive(host_token()) is True
    assert host_alive(dead_host()) is False
    boot, ns, pid, started = host_token().split("/")
    assert host_alive("/".join(("another-boot", ns, pid, started))) is False  # the machine restarted
    assert host_alive("/".join((boot, ns, pid, str(int(started) + 1)))) is False  # the pid was reused
    assert host_alive("/".join((boot, "pid:[1]", pid, started))) is None  # another container: cannot tell
    assert host_alive("/".join(("another-boot", "pid:[1]", pid, started))) is None
    for unknown in (None, "", "garbage", "a/b/c"):
        assert host_alive(unknown) is None


@pytest.fixture
def add_job(world):
    d = world.domain
    made = []

    def add(state: str, host: str | None, age: timedelta = timedelta(0)) -> str:
        job_id = f"j-{secrets.token_hex(6)}"
        with d.store.transaction() as tx:
            tx.execute("INSERT INTO tenant_jobs (id, tenant_id, name, entrypoint, state, submitted_at, host)"
                       " VALUES (?, 't-gone', 'x', 'main.py', ?, ?, ?)",
                       (job_id, state, iso(d.clock() - age), host))
        made.append(job_id)
        return job_id

    yield add
    with d.store.transaction() as tx:
        for job_id in made:
            tx.execute("DELETE FROM tenant_jobs WHERE id=?", (job_id,))


def state(world, job_id: str) -> tuple[str, str]:
    row = world.domain.store.one("SELECT state, detail FROM tenant_jobs WHERE id=?", (job_id,))
    return row["state"], row["detail"]


def test_jobs_of_dead_hosts_are_failed_and_their_leftovers_deleted(world, add_job):
    d = world.domain
    running, queued = add_job("running", dead_host()), add_job("queued", dead_host())
    outputs = jobs.JobRunner(d).root(running) / "outputs"
    outputs.mkdir(parents=True)
    (outputs / "result.csv").write_text("district,n\na,100\n")
    scratch = Path(jobs.SCRATCH_ROOT) / f"aod-job-{running}-abc"
    scratch.mkdir()
    (scratch / "population.parquet").write_bytes(b"decrypted raw data")
    live, finished = add_job("running", host_token()), add_job("succeeded", dead_host())

    assert sorted(reconcile_orphans(d)) == sorted([running, queued])
    assert state(world, running) == ("failed", "its hosting process ended before the job finished; nothing was released")
    assert state(world, queued)[0] == "failed"
    assert state(world, live)[0] == "running" and state(world, finished)[0] == "succeeded"
    assert not outputs.exists() and not scratch.exists()
    events = {e.event.targets[0].id: e.event for e in d.audit_log.query(action="job.finish")}
    assert events[running].details["orphaned"] is True and events[running].details["released"] == []
    assert events[running].outcome.value == "failed" and events[queued].details["from"] == "queued"
    assert reconcile_orphans(d) == []  # once


def test_a_job_whose_host_cannot_be_told_fails_only_after_the_longest_job_time(world, add_job):
    d = world.domain
    limit = timedelta(seconds=2 * d.config.query_timeout_seconds * 10 + 3600)
    recent = add_job("running", None, age=limit - timedelta(minutes=1))
    old = add_job("running", None, age=limit + timedelta(minutes=1))
    elsewhere = add_job("running", host_token().replace(host_token().split("/")[1], "pid:[1]"), age=timedelta(0))
    assert reconcile_orphans(d) == [old]
    assert state(world, old) == ("failed", "it ran longer than any job may and its host cannot be reached; "
                                           "nothing was released")
    assert state(world, recent)[0] == "running" and state(world, elsewhere)[0] == "running"


def test_zombies_unreadable_hosts_and_a_missing_boot_id(monkeypatch):
    import time

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while hosts._stat(child.pid)[0] not in ("Z", "X"):  # exited, not yet reaped
        time.sleep(0.05)
    boot, ns, _, _ = host_token().split("/")
    zombie = "/".join((boot, ns, str(child.pid), hosts._start_time(child.pid)))
    assert host_alive(zombie) is False  # a zombie runs nothing any more
    child.wait()

    me = host_token()
    monkeypatch.setattr(hosts, "_stat", lambda pid: ("", ""))  # /proc hidepid, a non-dumpable host
    assert host_alive(me) is None  # it exists (the kernel says so), but it cannot be identified
    assert host_alive(dead_host()) in (False, None)  # gone, unless its pid was reused meanwhile
    monkeypatch.undo()
    read = hosts._read
    monkeypatch.setattr(hosts, "_read", lambda path: "" if "boot_id" in path else read(path))
    assert host_alive(me) is None  # no boot id here: cannot tell


def test_a_runner_that_ends_after_its_job_was_judged_orphaned_adds_no_second_finish(world, add_job, monkeypatch):
    """The job ends in the runner thread after reconcile_orphans recorded it failed: the state
    stays failed and the log holds one job.finish for it, not a contradicting second one."""
    from types import SimpleNamespace

    d = world.domain
    job_id = add_job("running", host_token())
    result = SimpleNamespace(outcome="succeeded", exit_code=0, duration_s=1.0, outputs=[], rejected=(), logs="")

    def execute(*_args):
        monkeypatch.setattr(jobs, "host_alive", lambda token: False)  # judged dead meanwhile
        assert reconcile_orphans(d) == [job_id]
        return result

    runner = jobs.JobRunner(d)
    monkeypatch.setattr(runner, "_execute", execute)
    monkeypatch.setattr(runner, "_move", lambda job, new, **kw: jobs.JobRunner._move(runner, job, new, **kw)
                        if new != jobs.J.RUNNING else True)
    runner.run(SimpleNamespace(id="t-gone", operator_id="op-hz"), world.grant, world.alice, job_id, "main.py", {})
    assert state(world, job_id)[0] == "failed"
    finishes = [e for e in d.audit_log.query(action="job.finish") if e.event.targets[0].id == job_id]
    assert len(finishes) == 1 and finishes[0].event.details["orphaned"] is True
