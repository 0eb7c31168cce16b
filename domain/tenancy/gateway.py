"""`DomainGatewayHandler`: what a tenant may ask of the domain, checked afresh on every request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from audit import Action
from domain.authz import Perm
from domain.errors import NotFound
from domain.tenancy.imports import ImportService
from domain.tenancy.jobs import JobRunner
from domain.tenancy.model import S, Tenant

if TYPE_CHECKING:
    from domain.core import Domain

_SAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def _refusing(fn):
    """Map domain and export errors to the gateway's answers (reasons only, never values)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from export_review.errors import ExportReviewError
        from tenants.gateway import BadRequest, Missing, Refused

        from domain.errors import DomainError, PermissionDenied

        try:
            return fn(*args, **kwargs)
        except (Refused, Missing, BadRequest):
            raise
        except NotFound as exc:
            raise Missing(exc.diagnostics()) from None
        except PermissionDenied as exc:
            raise Refused(exc.diagnostics()) from None
        except (DomainError, ExportReviewError) as exc:
            status = getattr(exc, "http_status", 400)
            kind = Refused if status in (403, 409) else Missing if status == 404 else BadRequest
            raise kind(exc.diagnostics()) from None
        except Exception as exc:  # noqa: BLE001 - another package's user-facing error
            if callable(getattr(exc, "diagnostics", None)):
                raise BadRequest(exc.diagnostics()) from None
            raise
    return wrapper


class DomainGatewayHandler:
    """`tenants.gateway.GatewayHandler` over the domain. Each request is checked afresh: the
    tenant must be `running`, its grant usable today, and the staff member it acts for
    compliant; queries, jobs and exports then go through the same services as the CLI."""

    def __init__(self, domain: "Domain"):
        self.d = domain
        self.jobs = JobRunner(domain)

    def _scope(self, ctx):
        from tenants.gateway import Refused

        row = self.d.store.one("SELECT * FROM tenants WHERE id=?", (ctx.tenant_id,))
        if row is None:
            raise Refused(f"tenant {ctx.tenant_id} is not known to the domain")
        tenant = Tenant.from_row(row)
        if tenant.status != S.RUNNING:
            why = f": {tenant.status_reason}" if tenant.status_reason else ""
            if tenant.status == S.HALTED:
                raise Refused(f"tenant {tenant.id} is halted by a risk report until the authority clears it{why}")
            raise Refused(f"tenant {tenant.id} is {tenant.status.value}{why}")
        grant = self.d.grants.sync_expiry(self.d.grants.get(tenant.grant_id))
        today = self.d.today()
        if not grant.is_usable(today):
            raise Refused(f"grant {grant.id} is {grant.effective_status(today).value}")
        staff = self.d.principals.get(tenant.staff_id)
        gaps = staff.compliance_gaps(today)
        if gaps:
            raise Refused(f"{staff.id} cannot act: " + "; ".join(gaps))
        return tenant, grant, staff

    # samples
    def _sample_files(self, grant) -> dict[str, Path]:
        """The grant's samples, made first for any dataset it reaches since (an approved import)."""
        from domain.tenancy.samples import refresh_grant_samples

        folder = self.d.home / "samples" / grant.id
        reached = refresh_grant_samples(self.d, grant, folder)
        return {name: folder / f"{name}.parquet" for name in reached}

    @_refusing
    def list_samples(self, ctx):
        import pyarrow.parquet as pq
        from tenants.gateway import SampleInfo

        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.SAMPLE_READ, grant.resource)
        found = []
        for name, path in self._sample_files(grant).items():
            meta = pq.read_metadata(path)
            found.append(SampleInfo(name, meta.num_rows, tuple(meta.schema.names),
                                    f"desensitized sample of {name} for grant {grant.id}"))
        return found

    @_refusing
    def load_sample(self, ctx, name: str):
        import pyarrow.parquet as pq
        from tenants.gateway import Missing

        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.SAMPLE_READ, grant.resource)
        path = self._sample_files(grant).get(name) if _SAMPLE_NAME.match(name or "") else None
        if path is None:
            raise Missing(f"no sample {name!r} for this tenant")
        table = pq.read_table(path)
        self._handed_over(Action.SAMPLE_READ, staff, tenant, ("sample", f"{grant.id}/{name}", path), ctx)
        return table

    # queries
    @_refusing
    def query(self, ctx, sql: str):
        tenant, grant, staff = self._scope(ctx)
        return self.d.queries.run(staff, grant.id, sql, request_id=ctx.request_id, source="gateway").table

    # jobs
    @_refusing
    def submit_job(self, ctx, job):
        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.JOB_SUBMIT, grant.resource)
        return self.jobs.submit(tenant, grant, staff, job, ctx.request_id)

    @_refusing
    def list_jobs(self, ctx):
        tenant, _, _ = self._scope(ctx)
        return [self.jobs.info(r) for r in self.d.store.all(
            "SELECT * FROM tenant_jobs WHERE tenant_id=? ORDER BY submitted_at", (tenant.id,))]

    @_refusing
    def job_status(self, ctx, job_id: str):
        tenant, _, _ = self._scope(ctx)
        return self.jobs.info(self.jobs.row(tenant.id, job_id))

    @_refusing
    def cancel_job(self, ctx, job_id: str):
        from domain.tenancy.jobs import cancel_job

        tenant, _, staff = self._scope(ctx)
        self.jobs.row(tenant.id, job_id)  # this tenant's job, or Missing
        cancel_job(self.d, staff, job_id, f"cancelled by {staff.id} from tenant {tenant.id}")
        return self.jobs.info(self.jobs.row(tenant.id, job_id))

    @_refusing
    def job_logs(self, ctx, job_id: str) -> str:
        from tenants.gateway import Refused

        tenant, _, _ = self._scope(ctx)
        row = self.jobs.row(tenant.id, job_id)
        if row["logs"] is None:
            raise Refused("the logs are withheld: they hold values shaped like identifiers, or the job has not finished")
        return row["logs"]

    @_refusing
    def fetch_output(self, ctx, job_id: str, name: str):
        from tenants.gateway import Refused

        tenant, _, staff = self._scope(ctx)
        output, path = self.jobs.output(self.jobs.row(tenant.id, job_id), name)
        if output["state"] != "released":
            raise Refused(f"output {name} is withheld: {output['reason']}")
        table = _read_table(path)
        self._handed_over(Action.JOB_OUTPUT_RELEASE, staff, tenant, ("file", f"{job_id}/{name}", path), ctx)
        return table

    def _handed_over(self, action, staff, tenant, ref, ctx) -> None:
        """Audit data handed into a tenant (a sample, a checked job output) with its hash."""
        from domain.raw import file_sha256

        kind, ref_id, path = ref
        with self.d.store.transaction() as tx:
            tx.audit(self.d.event(action, staff, org=tenant.operator_id, request_id=ctx.request_id,
                                  targets=[("tenant", tenant.id)],
                                  outputs=[(kind, ref_id, file_sha256(path))]))

    # exports and imports
    @_refusing
    def request_export(self, ctx, request):
        from tenants.gateway import ExportInfo

        tenant, grant, staff = self._scope(ctx)
        output, path = self.jobs.output(self.jobs.row(tenant.id, request.job_id), request.output)
        kind = "model" if output["kind"] == "model" else "data_package"
        submitted = self.d.exports.submit(staff, grant_id=grant.id, scenario=request.scenario, kind=kind,
                                          file=path, title=request.note[:200] or path.name)
        return ExportInfo(submitted.id, submitted.status.value, submitted.status_reason or "")

    @_refusing
    def request_import(self, ctx, upload):
        tenant, grant, staff = self._scope(ctx)
        self.d.check(staff, Perm.IMPORT_REQUEST, grant.resource)
        return ImportService(self.d).request(tenant, staff, upload, ctx.request_id)


def _read_table(path: Path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)

