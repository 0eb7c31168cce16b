"""Shared test support for tenants/: a reference `GatewayHandler`, a fake domain home with
decoys, and a runtime on a real backend.

`ReferenceHandler` stands in for the domain's side of the gateway (which the domain package
implements): it answers from in-memory samples and runs queries with DuckDB on the raw
tables, refusing any query that names a forbidden column, and runs jobs for real through the
backend's `run_job`. It is a test double for the *domain*, never for the sandbox, the
gateway, Jupyter or the SDK, which are all real here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tenants.gateway import (
    ExportInfo,
    Gateway,
    ImportInfo,
    JobInfo,
    Missing,
    OutputInfo,
    Refused,
    SampleInfo,
)
from tenants.isolation import get_backend
from tenants.runtime import TenantRuntime
from tenants.spec import JobLimits, JobSpec, Limits

DECOY = "DECOY-" + "7f3a9c1e5b"  # content planted in every file a tenant must never read
RAW_PEOPLE = pa.table({
    "id_number": ["330106199001011234", "330106198505052345", "330106197712123456", "330106200002024567"],
    "district": ["xihu", "xihu", "binjiang", "binjiang"],
    "income": [100, 200, 300, 400],
})
SAMPLE_PEOPLE = pa.table({"district": ["xihu", "binjiang"], "income_band": ["100-200", "300-400"]})


@dataclass
class _Job:
    info: JobInfo
    outputs_dir: Path


@dataclass
class ReferenceHandler:
    """The domain's side of the gateway, reduced to what the tenants tests need."""

    backend: object
    work_dir: Path
    forbidden_columns: frozenset = frozenset({"id_number"})
    calls: list = field(default_factory=list)
    refuse_all: str = ""

    def __post_init__(self) -> None:
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._lock = threading.Lock()
        self.raw_dir = self.work_dir / "raw-view"
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(RAW_PEOPLE, self.raw_dir / "people.parquet")
        os.chmod(self.raw_dir, 0o755)
        os.chmod(self.raw_dir / "people.parquet", 0o644)

    def _record(self, ctx, what: str) -> None:
        self.calls.append((ctx.tenant_id, what))
        if self.refuse_all:
            raise Refused(self.refuse_all)

    def list_samples(self, ctx):
        self._record(ctx, "list_samples")
        return [SampleInfo("people", SAMPLE_PEOPLE.num_rows, tuple(SAMPLE_PEOPLE.column_names), "desensitized")]

    def load_sample(self, ctx, name):
        self._record(ctx, "load_sample")
        if name != "people":
            raise Missing(f"no sample {name}")
        return SAMPLE_PEOPLE

    def query(self, ctx, sql):
        import duckdb

        self._record(ctx, "query")
        for column in self.forbidden_columns:
            if column in sql.lower():
                raise Refused(f"column people.{column} is a direct identifier and cannot be projected")
        con = duckdb.connect()
        con.register("people", RAW_PEOPLE)
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error:
            raise Refused("the query cannot be parsed or uses something not allowed") from None

    def submit_job(self, ctx, job):
        self._record(ctx, "submit_job")
        job_id = f"j{uuid.uuid4().hex[:12]}"
        base = self.work_dir / "jobs" / job_id
        code = base / "code"
        for rel, content in job.files.items():
            (code / rel).parent.mkdir(parents=True, exist_ok=True)
            (code / rel).write_bytes(content)
        for d in (base, code):
            os.chmod(d, 0o755)
        for f in code.rglob("*"):
            os.chmod(f, 0o755 if f.is_dir() else 0o644)
        (base / "outputs").mkdir()
        info = JobInfo(job_id, job.name, "running")
        with self._lock:
            self._jobs[(ctx.tenant_id, job_id)] = _Job(info, base / "outputs")
        spec = JobSpec(job_id=job_id, tenant_id=ctx.tenant_id, code_dir=code, entrypoint=job.entrypoint,
                       data_dir=self.raw_dir, outputs_dir=base / "outputs", params=job.params,
                       limits=JobLimits(timeout_s=60, memory_mb=512))
        threading.Thread(target=self._run, args=(ctx.tenant_id, spec), daemon=True).start()
        return info

    def _run(self, tenant_id: str, spec: JobSpec) -> None:
        result = self.backend.run_job(spec)
        outputs = tuple(
            OutputInfo(o.name, "table" if o.name.endswith(".parquet") else "model",
                       "released" if o.name.endswith(".parquet") else "withheld",
                       "" if o.name.endswith(".parquet") else "models never leave the domain", o.sha256)
            for o in result.outputs)
        with self._lock:
            job = self._jobs[(tenant_id, spec.job_id)]
            job.info = JobInfo(spec.job_id, job.info.name, result.outcome, "", outputs)

    def _job(self, ctx, job_id) -> _Job:
        with self._lock:
            job = self._jobs.get((ctx.tenant_id, job_id))
        if job is None:
            raise Missing(f"no job {job_id}")
        return job

    def list_jobs(self, ctx):
        self._record(ctx, "list_jobs")
        with self._lock:
            return [j.info for (t, _), j in self._jobs.items() if t == ctx.tenant_id]

    def job_status(self, ctx, job_id):
        self._record(ctx, "job_status")
        return self._job(ctx, job_id).info

    def cancel_job(self, ctx, job_id):
        self._record(ctx, "cancel_job")
        job = self._job(ctx, job_id)
        self.backend.cancel_job(job_id)
        return job.info

    def job_logs(self, ctx, job_id):
        self._record(ctx, "job_logs")
        self._job(ctx, job_id)
        raise Refused("job logs are withheld until checked")

    def fetch_output(self, ctx, job_id, name):
        self._record(ctx, "fetch_output")
        job = self._job(ctx, job_id)
        for out in job.info.outputs:
            if out.name == name:
                if out.state != "released":
                    raise Refused(out.reason)
                return pq.read_table(job.outputs_dir / name)
        raise Missing(f"no output {name}")

    def request_export(self, ctx, request):
        self._record(ctx, "request_export")
        self._job(ctx, request.job_id)
        return ExportInfo(f"x{uuid.uuid4().hex[:8]}", "pending", "queued for review")

    def request_import(self, ctx, upload):
        self._record(ctx, "request_import")
        pending = self.work_dir / "imports" / ctx.tenant_id
        pending.mkdir(parents=True, exist_ok=True)
        shutil.move(upload.path, pending / upload.filename)
        return ImportInfo(f"i{upload.sha256[:8]}", "pending", f"{upload.size} bytes")


def make_fake_home(home: Path) -> dict[str, Path]:
    """A domain home holding decoys a tenant must never read (raw store, keys, control plane)."""
    decoys = {
        "raw": home / "raw" / "people" / "part-0.parquet.enc",
        "master_key": home / "keys" / "master.key",
        "control_db": home / "control.db",
        "audit": home / "audit" / "segment-000001.log",
    }
    for path in decoys.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{DECOY} {path.name}\n")
    return decoys


@dataclass
class Env:
    """A real runtime (backend, gateway, encrypted workspace) on a fake domain home."""

    home: Path
    runtime: TenantRuntime
    handler: ReferenceHandler
    keys: dict[str, bytes]
    decoys: dict[str, Path]

    def start(self, tenant_id: str, limits: Limits | None = None) -> None:
        key = self.keys.setdefault(tenant_id, secrets.token_bytes(32))
        spec = self.runtime.provision(tenant_id, key, limits=limits)
        (spec.samples_dir / "people.csv").write_text("district,income_band\nxihu,100-200\n")
        os.chmod(spec.samples_dir / "people.csv", 0o644)
        self.runtime.start(tenant_id, key, wait_s=90)

    def close(self) -> None:
        for tenant_id in list(self.keys):
            try:
                self.runtime.destroy(tenant_id)
            except Exception:  # cleanup goes on for the other tenants
                pass
        self.runtime.gateway.close_all()


def make_env(backend_name: str, root: Path) -> Env:
    home = root / "home"
    home.mkdir(parents=True)
    os.chmod(root, 0o755)
    os.chmod(home, 0o755)
    decoys = make_fake_home(home)
    backend = get_backend(backend_name, home / "tenants" / f"_{backend_name}")
    backend.check_available()
    handler = ReferenceHandler(backend, root / "domain-work")
    gateway = Gateway(handler, spool_dir=root / "spool")
    return Env(home, TenantRuntime(home, backend, gateway), handler, {}, decoys)


def wait_for(predicate, timeout_s: float = 30.0, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def docker_engine_answers() -> bool:
    return subprocess.run(["docker", "version"], capture_output=True).returncode == 0
