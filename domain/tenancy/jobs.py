"""Production jobs: a tenant's code run once next to the grant's raw data; outputs checked.

A job's state follows `TRANSITIONS` (queued → running → an outcome; queued or running →
cancelled). Every change is made under the store's write lock and only along the table, so a
job cancelled while it ran stays cancelled when its sandbox ends: nothing of it is released.

A job runs in a thread of the process that accepted it (its host, recorded with the job). If
that process dies (kill -9, power loss), `reconcile_orphans` finds the job's host gone and
records the job `failed`, audited, kills what is left of its sandbox and deletes its outputs
and its decrypted scratch data: the server does so when it starts and every half minute, and
every listing of jobs does it first, so no job stays `running` for ever.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
from datetime import timedelta
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from domain.clock import iso, parse_iso
from domain.errors import Conflict, InvalidTransition, NotFound
from domain.principals import SYSTEM
from domain.tenancy.hosts import host_alive, host_token
from domain.tenancy.imports import grant_datasets

if TYPE_CHECKING:
    from domain.core import Domain

TABLE_SUFFIXES = {".csv": "table", ".parquet": "table"}
MODEL_SUFFIXES = {".skops", ".pkl", ".pickle", ".joblib", ".onnx", ".pt"}
_LONG_DIGITS = re.compile(r"\d{11,}|\d{17}[\dXx]")


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    OUT_OF_MEMORY = "out_of_memory"
    CANCELLED = "cancelled"


J = JobState
FINISHED = frozenset({J.SUCCEEDED, J.FAILED, J.TIMED_OUT, J.OUT_OF_MEMORY})
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    J.QUEUED: frozenset({J.RUNNING, J.FAILED, J.CANCELLED}),
    J.RUNNING: FINISHED | {J.CANCELLED},
    **{done: frozenset() for done in FINISHED},
    J.CANCELLED: frozenset(),
}
MAX_REASON = 500


class Withheld(Conflict):
    """Something of a job that may not be shown (logs next to raw data that failed the check)."""


def _write_code(folder: Path, files) -> str:
    """The job's files under `folder` (readable by the sandbox); returns their joint SHA-256."""
    import hashlib
    from pathlib import PurePosixPath

    from tenants.gateway import BadRequest

    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        rel = PurePosixPath(name)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts or len(rel.parts) > 8:
            raise BadRequest("job file names must be relative paths inside the job")
        target = folder.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        target.write_bytes(data)
        target.chmod(0o644)
        digest.update(str(rel).encode() + b"\0" + hashlib.sha256(data).digest())
    for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        d.chmod(0o755)
    return digest.hexdigest()


@dataclass(frozen=True)
class JobRecord:
    """A job as the control plane shows it (CLI, API): never its code, data or unchecked logs."""

    id: str
    tenant_id: str
    name: str
    entrypoint: str
    state: str
    detail: str
    outputs: tuple[dict, ...]  # name, kind, sha256, state (released | withheld), reason
    logs_available: bool
    submitted_at: str
    finished_at: str | None

    @classmethod
    def from_row(cls, row) -> "JobRecord":
        import json

        return cls(id=row["id"], tenant_id=row["tenant_id"], name=row["name"], entrypoint=row["entrypoint"],
                   state=row["state"], detail=row["detail"], outputs=tuple(json.loads(row["outputs"])),
                   logs_available=row["logs"] is not None, submitted_at=row["submitted_at"],
                   finished_at=row["finished_at"])


# -- orphans: jobs whose hosting process died ----------------------------------------------

SCRATCH_ROOT = "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir()
_SCRATCH_PREFIX = "aod-job-"


def reconcile_orphans(domain: "Domain") -> list[str]:
    """Record as `failed` every queued or running job whose host process is gone (audited, as
    any job's end); kill what is left of its sandbox, delete its outputs and its decrypted scratch
    data. A job whose host cannot be told (no record, another container) is failed only once it
    has run far longer than any job may (twice the sandbox's limit plus an hour). Returns the ids
    reconciled."""
    from audit import Action, Outcome

    rows = domain.store.all("SELECT * FROM tenant_jobs WHERE state IN ('queued', 'running')")
    if not rows:
        return []
    limit = timedelta(seconds=2 * _job_timeout(domain) + 3600)  # the sandbox's limit, plus decryption and checks
    done = []
    for row in rows:
        alive = host_alive(row["host"])
        if alive or (alive is None and domain.clock() - parse_iso(row["submitted_at"]) < limit):
            continue
        detail = ("its hosting process ended before the job finished; nothing was released" if alive is False
                  else "it ran longer than any job may and its host cannot be reached; nothing was released")
        tenant = domain.store.one("SELECT operator_id FROM tenants WHERE id=?", (row["tenant_id"],))
        with domain.store.transaction() as tx:
            old = JobState(tx.one("SELECT state FROM tenant_jobs WHERE id=?", (row["id"],))["state"])
            if J.FAILED not in TRANSITIONS[old]:
                continue  # it ended meanwhile
            tx.execute("UPDATE tenant_jobs SET state=?, detail=?, outputs='[]', logs=NULL, finished_at=? WHERE id=?",
                       (J.FAILED.value, detail, iso(tx.now()), row["id"]))
            tx.audit(domain.event(Action.JOB_FINISH, SYSTEM, org=tenant["operator_id"] if tenant else None,
                                  outcome=Outcome.FAILED, targets=[("job", row["id"]), ("tenant", row["tenant_id"])],
                                  reason=detail, details={"state": J.FAILED.value, "from": old.value,
                                                          "orphaned": True, "released": []}))
        _clean_up(domain, row["id"])
        done.append(row["id"])
    return done


def _clean_up(domain: "Domain", job_id: str) -> None:
    """Kill the job's sandbox if anything of it runs, delete its outputs (staged and kept) and
    its scratch data."""
    import logging

    try:
        domain.tenancy.runtime.backend.cancel_job(job_id)
    except Exception as exc:  # noqa: BLE001 - a bwrap sandbox died with its host anyway
        logging.getLogger("aod.jobs").warning("could not reach the sandbox of an orphaned job: %s",
                                              type(exc).__name__)
    from tenants.isolation._jobs import OutputStage, remove_stage

    outputs = JobRunner(domain).root(job_id) / "outputs"
    remove_stage(OutputStage.path_for(outputs))  # a tmpfs of unchecked outputs, still mounted
    JobRunner(domain).drop_outputs(job_id)
    for path in Path(SCRATCH_ROOT).glob(f"{_SCRATCH_PREFIX}{job_id}-*"):
        shutil.rmtree(path, ignore_errors=True)


def _job_timeout(domain: "Domain") -> float:
    return float(domain.config.query_timeout_seconds) * 10


def list_jobs(domain: "Domain", actor, tenant_id: str) -> list[JobRecord]:
    """The jobs of a tenant, for the authority or staff of the tenant's operator."""
    domain.tenancy.view(actor, tenant_id)
    reconcile_orphans(domain)
    return [JobRecord.from_row(r) for r in domain.store.all(
        "SELECT * FROM tenant_jobs WHERE tenant_id=? ORDER BY submitted_at, id", (tenant_id,))]


def _job_row(domain: "Domain", actor, job_id: str):
    row = domain.store.one("SELECT * FROM tenant_jobs WHERE id=?", (job_id,))
    if row is None:
        raise NotFound(f"no job {job_id!r}")
    domain.tenancy.view(actor, row["tenant_id"])  # the same permission as seeing its tenant
    if row["state"] in (J.QUEUED.value, J.RUNNING.value) and reconcile_orphans(domain):
        row = domain.store.one("SELECT * FROM tenant_jobs WHERE id=?", (job_id,))
    return row


def show_job(domain: "Domain", actor, job_id: str) -> JobRecord:
    return JobRecord.from_row(_job_row(domain, actor, job_id))


def job_logs(domain: "Domain", actor, job_id: str) -> str:
    """The logs exactly as the gateway would give them: checked text, or refused when withheld."""
    row = _job_row(domain, actor, job_id)
    if row["logs"] is None:
        raise Withheld(f"the logs of job {job_id} are withheld: they hold values shaped like identifiers, "
                       "the job has not finished, or its tenant was halted")
    return row["logs"]


def cancel_job(domain: "Domain", actor, job_id: str, reason: str = "") -> JobRecord:
    """Cancel a queued or running job (the authority, or staff of the tenant's operator): it
    is recorded `cancelled` (audited) first, then its sandbox is killed wherever it runs on
    this machine; nothing of it is ever released. A finished job cannot be cancelled."""
    row = _job_row(domain, actor, job_id)
    why = (reason or "").strip()[:MAX_REASON] or f"cancelled by {actor.id}"
    if not _cancel(domain, actor, row, why):
        raise InvalidTransition(f"job {job_id} is {domain.store.one('SELECT state FROM tenant_jobs WHERE id=?', (job_id,))['state']}"
                                " already: only a queued or running job can be cancelled")
    return show_job(domain, actor, job_id)


def cancel_tenant_jobs(domain: "Domain", actor, tenant_id: str, reason: str) -> list[str]:
    """Cancel every queued or running job of a tenant (it was suspended, halted or ended)."""
    rows = domain.store.all("SELECT * FROM tenant_jobs WHERE tenant_id=? AND state IN ('queued', 'running')",
                            (tenant_id,))
    return [row["id"] for row in rows if _cancel(domain, actor, row, reason)]


def _cancel(domain: "Domain", actor, row, reason: str) -> bool:
    """Record the cancellation (if the job may still be cancelled), then kill its sandbox."""
    from audit import Action

    tenant = domain.store.one("SELECT operator_id FROM tenants WHERE id=?", (row["tenant_id"],))
    with domain.store.transaction() as tx:
        old = JobState(tx.one("SELECT state FROM tenant_jobs WHERE id=?", (row["id"],))["state"])
        if J.CANCELLED not in TRANSITIONS[old]:
            return False
        tx.execute("UPDATE tenant_jobs SET state=?, detail=?, outputs='[]', logs=NULL, finished_at=? WHERE id=?",
                   (J.CANCELLED.value, reason, iso(tx.now()), row["id"]))
        tx.audit(domain.event(Action.JOB_CANCEL, actor, org=tenant["operator_id"] if tenant else None,
                              targets=[("job", row["id"]), ("tenant", row["tenant_id"])], reason=reason,
                              details={"from": old.value}))
    domain.tenancy.runtime.backend.cancel_job(row["id"])
    JobRunner(domain).drop_outputs(row["id"])
    return True


class JobRunner:
    """Runs a tenant's job once in a production sandbox next to the grant's raw data (granted
    columns only, decrypted into a private in-memory folder for the run). Table outputs reach
    the tenant only after the export checks (raw rows, identifiers, reversible, disclosure)
    pass; models and other files are withheld; logs are withheld when they hold long digit runs."""

    def __init__(self, domain: "Domain"):
        self.d = domain

    def root(self, job_id: str) -> Path:
        return self.d.home / "tenants" / "_jobs" / job_id

    def drop_outputs(self, job_id: str) -> None:
        """Delete what a job left (a cancelled job's outputs are never kept, let alone released)."""
        shutil.rmtree(self.root(job_id) / "outputs", ignore_errors=True)

    def row(self, tenant_id: str, job_id: str):
        row = self.d.store.one("SELECT * FROM tenant_jobs WHERE id=? AND tenant_id=?", (job_id, tenant_id))
        if row is None:
            raise NotFound(f"no job {job_id!r} for this tenant")
        return row

    def info(self, row):
        import json

        from tenants.gateway import JobInfo, OutputInfo

        outputs = tuple(OutputInfo(o["name"], o["kind"], o["state"], o["reason"], o["sha256"], {})
                        for o in json.loads(row["outputs"]))
        return JobInfo(row["id"], row["name"], row["state"], row["detail"], outputs,
                       row["submitted_at"], row["finished_at"] or "")

    def output(self, row, name: str):
        import json

        for output in json.loads(row["outputs"]):
            if output["name"] == name:
                return output, self.root(row["id"]) / "outputs" / name
        raise NotFound(f"job {row['id']} has no output {name!r}")

    def submit(self, tenant, grant, staff, job, request_id):
        from audit import Action
        from tenants.gateway import BadRequest

        if job.entrypoint not in job.files:
            raise BadRequest(f"the entry point {job.entrypoint} is not among the job's files")
        job_id = "j-" + secrets.token_hex(6)
        root = self.root(job_id)
        root.mkdir(parents=True, mode=0o711)
        root.parent.chmod(0o711)
        code_sha = _write_code(root / "code", job.files)
        with self.d.store.transaction() as tx:
            tx.execute("INSERT INTO tenant_jobs (id, tenant_id, name, entrypoint, state, submitted_at, host)"
                       " VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                       (job_id, tenant.id, (job.name or job.entrypoint)[:100], job.entrypoint, iso(tx.now()),
                        host_token()))
            tx.audit(self.d.event(
                Action.JOB_SUBMIT, staff, org=tenant.operator_id, request_id=request_id,
                targets=[("job", job_id), ("tenant", tenant.id), ("grant", grant.id)],
                inputs=[("code", job_id, code_sha)], details={"entrypoint": job.entrypoint}))
        threading.Thread(target=self.run, args=(tenant, grant, staff, job_id, job.entrypoint, dict(job.params)),
                         name=f"aod-job-{job_id}", daemon=True).start()
        return self.info(self.row(tenant.id, job_id))

    def run(self, tenant, grant, staff, job_id: str, entrypoint: str, params: dict) -> None:
        if not self._move(job_id, J.RUNNING):
            return  # cancelled before it began (audited by the cancellation)
        state, detail, outputs, logs = J.FAILED, "", [], None
        datasets = {name: () for name in grant.columns}
        try:
            datasets = grant_datasets(self.d, grant)  # granted columns and the operator's imports
            result = self._execute(tenant, grant, job_id, entrypoint, params, datasets)
            state, detail = JobState(result.outcome), f"exit code {result.exit_code}, {result.duration_s:.1f} s"
            if not self._cancelled(job_id):  # a cancelled job's outputs are never even checked
                state, detail, outputs, logs = self._checked(grant, tenant, job_id, result, state, detail)
        except Exception as exc:  # noqa: BLE001 - recorded as the job's failure, kind only
            diagnostics = getattr(exc, "diagnostics", None)
            detail = diagnostics() if callable(diagnostics) else f"internal error ({type(exc).__name__})"
        if not self._move(job_id, state, detail=detail, outputs=outputs, logs=logs):
            self.drop_outputs(job_id)  # cancelled (or judged orphaned) while it ran: nothing kept
            if not (self.root(job_id) / "code").exists():  # its tenant was terminated meanwhile
                shutil.rmtree(self.root(job_id), ignore_errors=True)
            if self._state(job_id) != J.CANCELLED:
                return  # reconcile_orphans ended it and recorded its end: one job.finish only
            state, outputs, logs = J.CANCELLED, [], None
        self._finished(tenant, job_id, datasets, state, outputs, logs)

    def _checked(self, grant, tenant, job_id: str, result, state, detail: str):
        """The job's outputs judged, its logs checked, all withheld if its tenant was halted."""
        if result.rejected:
            detail += f"; {len(result.rejected)} output(s) rejected by the sandbox"
        outputs = [self._judge(grant, tenant, job_id, o) for o in result.outputs]
        logs = None if _LONG_DIGITS.search(result.logs) else result.logs
        halted = self._halted(tenant.id)
        if halted:  # the tenant was halted (risk report) or closed while the job ran
            outputs = [{**o, "state": "withheld", "reason": halted} for o in outputs]
            logs, detail = None, f"{detail}; {halted}"
        return state, detail, outputs, logs

    def _state(self, job_id: str) -> JobState:
        return JobState(self.d.store.one("SELECT state FROM tenant_jobs WHERE id=?", (job_id,))["state"])

    def _cancelled(self, job_id: str) -> bool:
        return self._state(job_id) == J.CANCELLED

    def _finished(self, tenant, job_id: str, datasets, state: JobState, outputs, logs) -> None:
        from audit import Action, Outcome

        with self.d.store.transaction() as tx:
            tx.audit(self.d.event(
                Action.JOB_FINISH, SYSTEM, org=tenant.operator_id,
                outcome=Outcome.OK if state == J.SUCCEEDED else Outcome.FAILED,
                targets=[("job", job_id), ("tenant", tenant.id)],
                inputs=[("dataset", name) for name in sorted(datasets)],
                outputs=[("file", f"{job_id}/{o['name']}", o["sha256"]) for o in outputs],
                details={"state": state.value, "released": [o["name"] for o in outputs if o["state"] == "released"],
                         "logs_withheld": logs is None}))

    def _halted(self, tenant_id: str) -> str:
        """Why nothing of a finished job may ever reach its tenant ('' when it may): a risk report
        halted the tenant while the job ran (a stopped or suspended tenant gets its outputs when
        it runs again; the gateway refuses until then)."""
        row = self.d.store.one("SELECT status FROM tenants WHERE id=?", (tenant_id,))
        status = row["status"] if row else "unknown"
        if status in ("halted", "terminated", "unknown"):
            return f"withheld: the tenant was {status if status != 'halted' else 'halted by a risk report'}"
        return ""

    def _execute(self, tenant, grant, job_id, entrypoint, params, datasets):
        """The job in its sandbox with `datasets` ({name: columns}) decrypted at /data/raw."""
        import pyarrow.parquet as pq
        from tenants.spec import JobLimits, JobSpec

        from domain.rawstore import read_table

        outputs = self.root(job_id) / "outputs"
        outputs.mkdir(mode=0o755)
        # named after the job, so that reconcile_orphans finds it if this process dies
        with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{job_id}-", dir=SCRATCH_ROOT) as data:
            Path(data).chmod(0o755)
            for name, columns in datasets.items():
                target = Path(data) / f"{name}.parquet"
                pq.write_table(read_table(self.d.catalog.raw_dir(name), self.d.keys.get("dataset", name),
                                          columns=list(columns)), target)
                target.chmod(0o644)
            spec = JobSpec(job_id=job_id, tenant_id=tenant.id, code_dir=self.root(job_id) / "code",
                           entrypoint=entrypoint, data_dir=Path(data), outputs_dir=outputs, params=params,
                           limits=JobLimits(timeout_s=_job_timeout(self.d)))
            return self.d.tenancy.runtime.backend.run_job(spec)

    def _judge(self, grant, tenant, job_id: str, output) -> dict:
        from export_review.checks import CheckContext, CheckStatus, Product, ProductKind, run_checks

        from domain.exports import DomainGrants, raw_access_for

        path = self.root(job_id) / "outputs" / output.name
        record = {"name": output.name, "sha256": output.sha256, "kind": "file", "state": "withheld",
                  "reason": "only tables are released to the tenant"}
        if path.suffix in MODEL_SUFFIXES:
            record.update(kind="model", reason="trained models never reach the tenant; request an export")
        if path.suffix not in TABLE_SUFFIXES:
            return record
        record["kind"] = "table"
        ctx = CheckContext(Product(ProductKind.DATA_PACKAGE, path), raw=raw_access_for(self.d, grant.id),
                           grants=DomainGrants(self.d), grant_id=grant.id, scenario=grant.scenario,
                           org=tenant.operator_id)
        report = run_checks(ctx, only=("raw_rows", "identifiers", "reversible", "disclosure"))
        if report.status == CheckStatus.PASSED:
            record.update(state="released", reason="")
        else:
            worst = report.failed or tuple(r for r in report.results if r.status != CheckStatus.PASSED)
            finding = worst[0].findings[0].message if worst[0].findings else worst[0].rule
            record["reason"] = f"{worst[0].rule}: {finding}"
        return record

    def _move(self, job_id: str, new: JobState, *, detail: str = "", outputs=None, logs=None) -> bool:
        """Change the job's state along `TRANSITIONS` under the write lock; False (nothing
        changed) when it may not, i.e. it was cancelled meanwhile."""
        import json

        with self.d.store.transaction() as tx:
            old = JobState(tx.one("SELECT state FROM tenant_jobs WHERE id=?", (job_id,))["state"])
            if new not in TRANSITIONS[old]:
                return False
            tx.execute("UPDATE tenant_jobs SET state=?, detail=?, outputs=?, logs=?, finished_at=? WHERE id=?",
                       (new.value, detail, json.dumps(outputs or []), logs,
                        None if new == J.RUNNING else iso(tx.now()), job_id))
        return True

