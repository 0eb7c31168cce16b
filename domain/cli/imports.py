"""`aod import list|approve|refuse`: the competent authority's decision on social-data imports (R15).

An operator's staff upload external data from their tenant (SDK `request_import`); it waits in
a pending area. Approved, it is kept as the operator's own data inside the domain; refused, it
is destroyed. Both are audited. `aod tenant import-decide` does the same with --approve/--refuse.
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
        from domain.tenancy import ImportService

        domain = open_domain(home)
        state = ImportService(domain).decide(acting_principal(domain, token), import_id, approve=approve,
                                             reason=reason)
        typer.echo(f"import {import_id} is {state}")

    command.__doc__ = doc
    return command


app.command("approve")(_decide(True, "Approve: the data becomes the operator's own, inside the domain only."))
app.command("refuse")(_decide(False, "Refuse: the upload is destroyed."))
