"""`aod query --grant G "SQL"`: a checked query on raw data, as the logged-in staff member."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import HomeOption, JsonOption, TokenOption, acting_principal, emit_table, open_domain


def query(
    sql: str = typer.Argument(..., help="One SELECT over the grant's datasets."),
    grant: str = typer.Option(..., "--grant", help="The grant the query runs under."),
    limit: int = typer.Option(50, "--limit", help="Rows to print (the result is not cut)."),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Run SQL on raw data through the policy: checked before, checked after, audited."""
    import json

    domain = open_domain(home)
    outcome = domain.queries.run(acting_principal(domain, token), grant, sql)
    if as_json:
        typer.echo(json.dumps({"query_id": outcome.query_id, "rows": outcome.table.to_pylist(),
                               "suppressed": outcome.suppressed, "k": outcome.k, "sha256": outcome.sha256},
                              ensure_ascii=False, default=str))
        return
    typer.echo(f"{outcome.query_id}: {outcome.rows} rows, {outcome.suppressed} suppressed below k={outcome.k}")
    emit_table("result", outcome.table.column_names,
               (list(r.values()) for r in outcome.table.slice(0, max(limit, 0)).to_pylist()))
