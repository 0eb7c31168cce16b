"""`aod grant …`: create, list, show, activate, suspend, resume, terminate."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from domain.cli.common import (
    HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_record, emit_table,
    open_domain,
)
from domain.clock import parse_date

app = typer.Typer(help="Grants: operator + scenario + columns + term (≤ 3 years) + emergency plan.", no_args_is_help=True)


@app.command("create")
def create(
    operator: str = typer.Option(..., "--operator"),
    scenario: str = typer.Option(..., "--scenario", help="The application scenario (应用场景)."),
    dataset: List[str] = typer.Option(..., "--dataset", help="dataset:col1,col2 (repeat per dataset)."),
    emergency_plan: str = typer.Option(..., "--emergency-plan", help="Reference of the emergency plan (一授权一预案)."),
    starts: str = typer.Option(..., "--starts", help="YYYY-MM-DD"),
    expires: str = typer.Option(..., "--expires", help="YYYY-MM-DD, at most three years after the start."),
    purpose: str = typer.Option("", "--purpose"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Record a grant (pending until activated)."""
    from domain.grants import parse_column_spec

    domain = open_domain(home)
    grant = domain.grants.create(
        acting_principal(domain, token), operator_id=operator, scenario=scenario,
        columns=parse_column_spec(dataset), emergency_plan=emergency_plan,
        starts_on=parse_date(starts, "--starts"), expires_on=parse_date(expires, "--expires"), purpose=purpose,
    )
    emit_json(grant) if as_json else typer.echo(f"grant {grant.id} created ({grant.status.value})")


def _transition(verb: str):
    def command(
        grant_id: str = typer.Argument(...),
        reason: str = typer.Option(..., "--reason"),
        home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
    ) -> None:
        domain = open_domain(home)
        grant = getattr(domain.grants, verb)(acting_principal(domain, token), grant_id, reason)
        emit_json(grant) if as_json else typer.echo(f"grant {grant.id} is {grant.status.value}")

    command.__doc__ = f"{verb.capitalize()} a grant (audited, with a reason)."
    return command


for _verb in ("activate", "suspend", "resume", "terminate"):
    app.command(_verb)(_transition(_verb))


@app.command("list")
def list_(
    operator: Optional[str] = typer.Option(None, "--operator"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    domain = open_domain(home)
    grants = domain.grants.list(acting_principal(domain, token), operator)
    if as_json:
        return emit_json(grants)
    emit_table("grants", ["id", "operator", "scenario", "datasets", "term", "status"],
               ((g.id, g.operator_id, g.scenario, ", ".join(g.columns), f"{g.starts_on} → {g.expires_on}",
                 g.status.value) for g in grants))


@app.command("show")
def show(grant_id: str, home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
         as_json: bool = JsonOption) -> None:
    domain = open_domain(home)
    grant = domain.grants.view(acting_principal(domain, token), grant_id)
    if as_json:
        return emit_json(grant)
    record = {k: v for k, v in vars(grant).items() if k != "columns"}
    record.update({f"columns of {d}": ", ".join(c) for d, c in grant.columns.items()})
    emit_record(f"grant {grant.id}", record)

