"""`aod operator …` and `aod staff …`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import (
    HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_record, emit_table,
    open_domain,
)
from domain.clock import parse_date

operator_app = typer.Typer(help="Authorized operators (licensed companies).", no_args_is_help=True)
staff_app = typer.Typer(help="People: authority, providers, operator staff, reviewers, regulators.", no_args_is_help=True)


@operator_app.command("add")
def operator_add(
    operator_id: str = typer.Argument(..., help="Short id, e.g. op-hz-analytics."),
    name: str = typer.Option(..., "--name"),
    credit_code: str = typer.Option(..., "--credit-code", help="Unified social credit code (18 chars)."),
    contact: str = typer.Option("", "--contact"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Register a licensed operator."""
    domain = open_domain(home)
    op = domain.operators.register(acting_principal(domain, token), operator_id=operator_id, name=name,
                                   credit_code=credit_code, contact=contact)
    emit_json(op) if as_json else typer.echo(f"operator {op.id} registered")


@operator_app.command("list")
def operator_list(home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    domain = open_domain(home)
    acting_principal(domain, token)
    ops = domain.operators.list()
    if as_json:
        return emit_json(ops)
    emit_table("operators", ["id", "name", "credit code", "status"], ((o.id, o.name, o.credit_code, o.status) for o in ops))


@staff_app.command("add")
def staff_add(
    principal_id: str = typer.Argument(...),
    name: str = typer.Option(..., "--name", help="Real name as verified."),
    role: str = typer.Option(..., "--role", help="authority | provider | operator_staff | reviewer | regulator"),
    org: Optional[str] = typer.Option(None, "--org", help="Operator or provider organisation."),
    password: Optional[str] = typer.Option(None, "--password", envvar="AOD_NEW_PASSWORD", help="Initial password (or AOD_NEW_PASSWORD)."),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Add a person with a role."""
    domain = open_domain(home)
    p = domain.principals.create(acting_principal(domain, token), principal_id=principal_id, display_name=name,
                                 role=role, org=org, password=password)
    emit_json(p) if as_json else typer.echo(f"{p.role.value} {p.id} added")


def _date_opt(value: Optional[str], what: str) -> Optional[date]:
    return parse_date(value, what) if value else None


@staff_app.command("comply")
def staff_comply(
    principal_id: str = typer.Argument(...),
    realname_verified: Optional[str] = typer.Option(None, "--realname-verified", help="Date of real-name verification."),
    method: Optional[str] = typer.Option(None, "--method", help="How: e.g. 'unified identity platform', 'in person'."),
    nda_signed: Optional[str] = typer.Option(None, "--nda-signed", help="Date the confidentiality agreement was signed."),
    nda_expires: Optional[str] = typer.Option(None, "--nda-expires", help="End of its term."),
    training_passed: Optional[str] = typer.Option(None, "--training-passed", help="Date pre-job training was passed."),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Record real-name verification, confidentiality agreement and training (all three needed to act)."""
    domain = open_domain(home)
    p = domain.principals.set_compliance(
        acting_principal(domain, token), principal_id,
        realname_verified_on=_date_opt(realname_verified, "--realname-verified"), realname_method=method,
        nda_signed_on=_date_opt(nda_signed, "--nda-signed"), nda_expires_on=_date_opt(nda_expires, "--nda-expires"),
        training_passed_on=_date_opt(training_passed, "--training-passed"),
    )
    gaps = p.compliance_gaps(domain.today())
    if as_json:
        return emit_json({"principal": p, "gaps": gaps})
    typer.echo(f"{p.id}: " + ("may act" if not gaps else "cannot act yet: " + "; ".join(gaps)))


@staff_app.command("disable")
def staff_disable(
    principal_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
) -> None:
    """Disable a person and revoke their tokens."""
    domain = open_domain(home)
    domain.principals.disable(acting_principal(domain, token), principal_id, reason)
    typer.echo(f"{principal_id} disabled; tokens revoked")


@staff_app.command("unlock")
def staff_unlock(
    principal_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
) -> None:
    """Clear a login lock left by repeated failed logins (it also runs out by itself)."""
    domain = open_domain(home)
    cleared = domain.principals.unlock_login(acting_principal(domain, token), principal_id, reason)
    typer.echo(f"{principal_id}: login lock cleared" if cleared else f"{principal_id} was not locked")


@staff_app.command("list")
def staff_list(
    org: Optional[str] = typer.Option(None, "--org"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    domain = open_domain(home)
    people = domain.principals.list(acting_principal(domain, token), org=org)
    if as_json:
        return emit_json(people)
    today = domain.today()
    emit_table("people", ["id", "name", "role", "org", "status", "may act"],
               ((p.id, p.display_name, p.role.value, p.org, p.status.value,
                 "yes" if p.can_act(today) else "; ".join(p.compliance_gaps(today))) for p in people))


@staff_app.command("show")
def staff_show(principal_id: str, home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
               as_json: bool = JsonOption) -> None:
    domain = open_domain(home)
    p = domain.principals.view(acting_principal(domain, token), principal_id)
    emit_json(p) if as_json else emit_record(f"principal {p.id}", {k: v for k, v in vars(p).items()})
