"""`aod tenant …`: create, start, stop, suspend, resume, status, terminate; risk reports (R17).

A tenant's sandbox and gateway socket live as long as the process that started them: `aod
tenant start` serves the tenant in the foreground until Ctrl-C, or until its recorded status
changes (a stop, suspension or grant suspension recorded by any other process closes it
within half a second).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import (
    HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_table, open_domain,
)

app = typer.Typer(help="Tenants: one isolated sandbox per operator grant (bubblewrap or Docker).",
                  no_args_is_help=True)
POLL_S = 0.5


def _say(tenant, as_json: bool) -> None:
    if as_json:
        emit_json(tenant)
    else:
        reason = f" ({tenant.status_reason})" if tenant.status_reason else ""
        typer.echo(f"tenant {tenant.id} is {tenant.status.value}{reason}")


@app.command("create")
def create(
    grant: str = typer.Option(..., "--grant", help="The grant the tenant works under."),
    staff: str = typer.Option(..., "--staff", help="The operator's staff member the tenant acts for."),
    tenant_id: Optional[str] = typer.Option(None, "--id", help="Tenant id (a-z, 0-9, '-'); made up if absent."),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Make the tenant's key, desensitized samples, encrypted workspace and sandbox."""
    domain = open_domain(home)
    tenant = domain.tenancy.create(acting_principal(domain, token), grant_id=grant, staff_id=staff,
                                   tenant_id=tenant_id)
    _say(tenant, as_json)


@app.command("start")
def start(
    tenant_id: str = typer.Argument(...),
    wait: float = typer.Option(60.0, "--wait", help="Seconds to wait for JupyterLab (0: do not wait)."),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
) -> None:
    """Run the tenant and serve its gateway socket in the foreground (Ctrl-C stops it)."""
    import signal

    def interrupted(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # a terminated console stops the tenant cleanly
    domain = open_domain(home)
    actor = acting_principal(domain, token)
    tenant = domain.tenancy.start(actor, tenant_id, wait_s=wait or None)
    spec = domain.tenancy.runtime.backend.spec_of(tenant_id)
    typer.echo(f"tenant {tenant.id} is running; gateway {spec.gateway_socket}; Ctrl-C stops it")
    try:
        while not domain.tenancy.enforce():
            time.sleep(POLL_S)
        typer.echo(f"tenant {tenant_id} is {domain.tenancy.get(tenant_id).status.value}: access closed")
    except KeyboardInterrupt:
        domain.tenancy.stop(actor, tenant_id, reason="stopped from the console")
        typer.echo(f"tenant {tenant_id} stopped")
    finally:
        domain.tenancy.close_all()  # its jobs ran in this process: cancelled, not left running


@app.command("stop")
def stop(tenant_id: str = typer.Argument(...), home: Optional[Path] = HomeOption,
         token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    """Close access at once and stop the sandbox (data kept)."""
    domain = open_domain(home)
    _say(domain.tenancy.stop(acting_principal(domain, token), tenant_id), as_json)


def _with_reason(verb: str, doc: str):
    def command(tenant_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
                home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
                as_json: bool = JsonOption) -> None:
        domain = open_domain(home)
        _say(getattr(domain.tenancy, verb)(acting_principal(domain, token), tenant_id, reason), as_json)

    command.__doc__ = doc
    return command


app.command("suspend")(_with_reason("suspend", "Close access at once; data kept until resumed or terminated."))
app.command("resume")(_with_reason("resume", "Lift a suspension (the tenant is stopped; start it again)."))
app.command("terminate")(_with_reason(
    "terminate", "Remove the sandbox, destroy the tenant's key and delete its workspace (audited)."))
app.command("risk-report")(_with_reason(
    "risk_report", "Report a risk (R17): halts the tenant's processing at once until the authority clears it."))
app.command("risk-clear")(_with_reason(
    "risk_clear", "The authority clears a tenant's risk reports; the tenant can then be started again."))


@app.command("risks")
def risks(tenant_id: str = typer.Argument(...), home: Optional[Path] = HomeOption,
          token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    """A tenant's risk reports, open and cleared."""
    domain = open_domain(home)
    found = domain.tenancy.risk_reports(acting_principal(domain, token), tenant_id)
    if as_json:
        emit_json(found)
        return
    emit_table(f"risk reports of {tenant_id}", ["id", "reported by", "at", "reason", "cleared by", "clearance"],
               ([r["id"], r["reported_by"], r["reported_at"], r["reason"], r["cleared_by"], r["clear_reason"]]
                for r in found))


@app.command("status")
def status(tenant_id: Optional[str] = typer.Argument(None), home: Optional[Path] = HomeOption,
           token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    """One tenant, or every tenant you may see."""
    domain = open_domain(home)
    actor = acting_principal(domain, token)
    tenants = [domain.tenancy.view(actor, tenant_id)] if tenant_id else domain.tenancy.list(actor)
    if as_json:
        emit_json(tenants)
        return
    emit_table("tenants", ["id", "operator", "grant", "staff", "backend", "status", "reason"],
               ([t.id, t.operator_id, t.grant_id, t.staff_id, t.backend, t.status.value, t.status_reason]
                for t in tenants))


app.command("list")(status)


@app.command("import-decide")
def import_decide(
    import_id: str = typer.Argument(...),
    approve: bool = typer.Option(..., "--approve/--refuse", help="Approve (keep) or refuse (destroy)."),
    reason: str = typer.Option(..., "--reason"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
) -> None:
    """The competent authority decides on an operator's data import."""
    from domain.tenancy import ImportService

    domain = open_domain(home)
    state = ImportService(domain).decide(acting_principal(domain, token), import_id, approve=approve, reason=reason)
    typer.echo(f"import {import_id} is {state}")
