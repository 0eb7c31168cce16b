"""`aod import list|approve|refuse`: the competent authority's decision on social-data imports (R15).

An operator's staff upload external data from their tenant (SDK `request_import`); it waits in
a pending area. Approved, it becomes the operator's own dataset `imp_<operator>_<name>` inside
the domain (usable by that operator's grants, never exported raw); refused, it is destroyed. Both are audited. `aod tenant import-decide` does the same with --approve/--refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_table, open_domain

app = typer.Typer(help="Social-data imports (R15): pending until the competent authority decides.",
                  no_args_is_help=True)


@app.command("list")
def list_(state: Optional[str] = typer.Option(None, "--state", help="pending, approved or refused."),
          home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
          as_json: bool = JsonOption) -> None:
    """Imports you may see (all for the authority; your operator's for its staff)."""
    from domain.tenancy import ImportService

    domain = open_domain(home)
    found = ImportService(domain).list(acting_principal(domain, token), state)
    if as_json:
        emit_json(found)
        return
    emit_table("imports", ["id", "operator", "tenant", "name", "file", "bytes", "sha256", "state", "decided by",
                           "reason"],
               ([i.id, i.operator_id, i.tenant_id, i.name, i.filename, i.size, i.sha256[:16] + "…", i.state,
                 i.decided_by, i.reason] for i in found))


def _decide(approve: bool, doc: str):
    def command(import_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
                home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption) -> None:
        _run(import_id, approve, reason, None, home, token)

    command.__doc__ = doc
    return command


def _run(import_id: str, approve: bool, reason: str, privacy_unit: Optional[str], home, token) -> None:
    from domain.tenancy import ImportService
    from domain.tenancy.imports import dataset_name

    domain = open_domain(home)
    service = ImportService(domain)
    state = service.decide(acting_principal(domain, token), import_id, approve=approve, reason=reason,
                           privacy_unit=privacy_unit)
    if approve:
        row = domain.store.one("SELECT operator_id, name FROM tenant_imports WHERE id=?", (import_id,))
        name = dataset_name(row["operator_id"], row["name"], import_id)
        typer.echo(f"import {import_id} is {state}: dataset {name} of {row['operator_id']} "
                   f"(restricted, privacy unit {domain.catalog.get(name).privacy_unit})")
    else:
        typer.echo(f"import {import_id} is {state}")


@app.command("approve")
def approve(import_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
            privacy_unit: Optional[str] = typer.Option(
                None, "--privacy-unit", help="The column identifying a person or enterprise (default: detected)."),
            home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption) -> None:
    """Approve: the upload becomes the operator's own dataset (classified, encrypted, restricted),
    joinable under its grants inside the domain only; the pending file is deleted."""
    _run(import_id, True, reason, privacy_unit, home, token)


app.command("refuse")(_decide(False, "Refuse: the upload is destroyed."))
