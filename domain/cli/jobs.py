"""`aod job list|show|logs|cancel`: a tenant's production jobs as the control plane records them.

Shows state, the content hashes of outputs and which outputs were released to the tenant or
withheld and why. Logs are shown only as the checked text the tenant's gateway would give
(written next to raw data, they are withheld when they hold values shaped like identifiers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import (
    HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_record, emit_table, open_domain,
)

app = typer.Typer(help="Production jobs of a tenant (code run next to raw data; outputs checked).",
                  no_args_is_help=True)


@app.command("list")
def list_(tenant: str = typer.Option(..., "--tenant", help="The tenant whose jobs to list."),
          home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
          as_json: bool = JsonOption) -> None:
    """The tenant's jobs: state and how many outputs were released or withheld."""
    from domain.tenancy.jobs import list_jobs

    domain = open_domain(home)
    jobs = list_jobs(domain, acting_principal(domain, token), tenant)
    if as_json:
        emit_json(jobs)
        return

    def outputs(job) -> str:
        released = sum(o["state"] == "released" for o in job.outputs)
        return f"{released} released, {len(job.outputs) - released} withheld"

    emit_table(f"jobs of {tenant}", ["id", "name", "state", "outputs", "submitted", "finished"],
               ([j.id, j.name, j.state, outputs(j), j.submitted_at, j.finished_at] for j in jobs))


@app.command("show")
def show(job_id: str = typer.Argument(...), home: Optional[Path] = HomeOption,
         token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    """One job: its state and each output with its SHA-256, released or withheld and why."""
    from domain.tenancy.jobs import show_job

    domain = open_domain(home)
    job = show_job(domain, acting_principal(domain, token), job_id)
    if as_json:
        emit_json(job)
        return
    emit_record(f"job {job.id}", {"tenant": job.tenant_id, "name": job.name, "entry point": job.entrypoint,
                                  "state": job.state, "detail": job.detail, "submitted": job.submitted_at,
                                  "finished": job.finished_at,
                                  "logs": "checked, available" if job.logs_available else "withheld"})
    emit_table("outputs", ["name", "kind", "state", "why", "sha256"],
               ([o["name"], o["kind"], o["state"], o["reason"], o["sha256"]] for o in job.outputs))


@app.command("logs")
def logs(job_id: str = typer.Argument(...), home: Optional[Path] = HomeOption,
         token: Optional[str] = TokenOption) -> None:
    """The job's logs as the tenant's gateway would give them (refused when withheld)."""
    from domain.tenancy.jobs import job_logs

    domain = open_domain(home)
    typer.echo(job_logs(domain, acting_principal(domain, token), job_id), nl=False)


@app.command("cancel")
def cancel(job_id: str = typer.Argument(...),
           reason: str = typer.Option("", "--reason", help="Why (on the audit record)."),
           home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
           as_json: bool = JsonOption) -> None:
    """Stop a queued or running job now: its sandbox is killed and nothing of it is released."""
    from domain.tenancy.jobs import cancel_job

    domain = open_domain(home)
    job = cancel_job(domain, acting_principal(domain, token), job_id, reason)
    if as_json:
        emit_json(job)
        return
    typer.echo(f"job {job.id} cancelled: {job.detail}")
