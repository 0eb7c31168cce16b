"""`aod init`, `aod login`, `aod logout`, `aod whoami`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import (
    HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_record, open_domain,
    resolve_home, save_session, session_file,
)


def init(
    home: Optional[Path] = HomeOption,
    admin: str = typer.Option("admin", "--admin", help="Id of the first authority administrator."),
    password: str = typer.Option(
        ..., "--password", envvar="AOD_ADMIN_PASSWORD", prompt="Administrator password",
        hide_input=True, confirmation_prompt=True, help="Or AOD_ADMIN_PASSWORD.",
    ),
) -> None:
    """Create a new domain in an empty home: config, master key, control plane, audit log."""
    from domain.core import Domain

    path = resolve_home(home)
    Domain.init(path, admin_id=admin, admin_password=password)
    typer.echo(f"domain created in {path}; administrator: {admin}")


def login(
    home: Optional[Path] = HomeOption,
    user: str = typer.Option(..., "--user", "-u", help="Principal id."),
    password: str = typer.Option(..., "--password", envvar="AOD_PASSWORD", prompt=True, hide_input=True),
    print_token: bool = typer.Option(False, "--print-token", help="Print the token instead of saving a session."),
) -> None:
    """Log in; the token is saved as this home's session (or printed)."""
    domain = open_domain(home)
    issued = domain.auth.login(user, password)
    if print_token:
        typer.echo(issued.token)
        return
    path = save_session(domain.home, issued.token)
    typer.echo(f"logged in as {user} until {issued.expires_at:%Y-%m-%d %H:%M} UTC (session in {path})")


def logout(home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption) -> None:
    """Revoke the current token and forget the saved session."""
    domain = open_domain(home)
    path = session_file(domain.home)
    token = token or (path.read_text().strip() if path.is_file() else None)
    from domain.errors import AuthenticationFailed

    note = ""
    if token:
        try:
            domain.auth.revoke(token)
        except AuthenticationFailed:
            note = " (the token had already expired or been revoked)"
    path.unlink(missing_ok=True)
    typer.echo("logged out" + note)


def whoami(home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    """Show the acting principal and whether they may act today."""
    domain = open_domain(home)
    me = acting_principal(domain, token)
    record = {"id": me.id, "name": me.display_name, "role": me.role.value, "org": me.org,
              "may act": "yes" if me.can_act(domain.today()) else "; ".join(me.compliance_gaps(domain.today()))}
    emit_json(record) if as_json else emit_record("whoami", record)
