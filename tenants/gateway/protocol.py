"""The contract between the gateway and the domain: what a tenant may ask, and the answers.

The domain implements `GatewayHandler`. Every method receives a `GatewayContext` whose
`tenant_id` is the tenant bound to the socket the request arrived on (never anything the
request says). A method refuses by raising `Refused(reason)`: the tenant sees the reason, so
it must be free of raw values. `Missing` means "no such thing for this tenant" (404).
Tables travel as `pyarrow.Table` and reach the tenant as Arrow IPC streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from tenants.errors import TenantError


class Refused(TenantError):
    """The policy said no; `diagnostics()` (the reason) is shown to the tenant."""

    status = 403


class Missing(TenantError):
    """No such sample, job or output for this tenant."""

    status = 404


class BadRequest(TenantError):
    """A malformed request (bad JSON, missing field, bad name)."""

    status = 400


@dataclass(frozen=True)
class GatewayContext:
    tenant_id: str
    request_id: str


@dataclass(frozen=True)
class SampleInfo:
    name: str
    rows: int
    columns: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class JobSubmission:
    """Code from the tenant: files (relative path -> bytes), the entry script, parameters."""

    name: str
    entrypoint: str
    files: Mapping[str, bytes]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputInfo:
    """One output of a job as the tenant may know it. `state`: released | withheld | pending."""

    name: str
    kind: str            # table | model | file
    state: str
    reason: str = ""
    sha256: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    name: str
    state: str           # queued | running | succeeded | failed | timed_out | out_of_memory | refused
    detail: str = ""
    outputs: tuple[OutputInfo, ...] = ()
    submitted_at: str = ""
    finished_at: str = ""


@dataclass(frozen=True)
class ExportRequest:
    job_id: str
    output: str
    scenario: str
    note: str = ""


@dataclass(frozen=True)
class ExportInfo:
    request_id: str
    state: str
    detail: str = ""


@dataclass(frozen=True)
class ImportUpload:
    """An uploaded external dataset, spooled by the gateway; the handler moves or deletes it."""

    name: str
    filename: str
    path: Path
    size: int
    sha256: str
    description: str = ""


@dataclass(frozen=True)
class ImportInfo:
    import_id: str
    state: str           # pending | approved | refused
    detail: str = ""


@runtime_checkable
class GatewayHandler(Protocol):
    """What the domain does for a tenant. Raise `Refused`, `Missing` or `BadRequest` to say no."""

    def list_samples(self, ctx: GatewayContext) -> Sequence[SampleInfo]: ...

    def load_sample(self, ctx: GatewayContext, name: str): ...  # -> pyarrow.Table

    def query(self, ctx: GatewayContext, sql: str): ...  # -> pyarrow.Table (checked result)

    def submit_job(self, ctx: GatewayContext, job: JobSubmission) -> JobInfo: ...

    def list_jobs(self, ctx: GatewayContext) -> Sequence[JobInfo]: ...

    def job_status(self, ctx: GatewayContext, job_id: str) -> JobInfo: ...

    def cancel_job(self, ctx: GatewayContext, job_id: str) -> JobInfo: ...  # queued or running only

    def job_logs(self, ctx: GatewayContext, job_id: str) -> str: ...  # checked: logs ran next to raw data

    def fetch_output(self, ctx: GatewayContext, job_id: str, name: str): ...  # -> pyarrow.Table (released only)

    def request_export(self, ctx: GatewayContext, request: ExportRequest) -> ExportInfo: ...

    def request_import(self, ctx: GatewayContext, upload: ImportUpload) -> ImportInfo: ...
