"""`aod dataset …`: ingest, confirm, list, show."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from domain.cli.common import (
    HomeOption, JsonOption, TokenOption, acting_principal, emit_json, emit_record, emit_table,
    open_domain,
)

app = typer.Typer(help="The catalog: register, classify and confirm datasets.", no_args_is_help=True)


@app.command("ingest")
def ingest(
    source: Path = typer.Argument(..., help="CSV (UTF-8 or GBK) or Parquet file."),
    name: str = typer.Option(..., "--name", help="Table name used in SQL, e.g. population."),
    title: str = typer.Option(..., "--title", help="Catalog title, e.g. 人口基础信息."),
    provider: str = typer.Option(..., "--provider", help="Providing agency id."),
    open_attribute: str = typer.Option(..., "--open", help="unconditional | restricted | prohibited"),
    frequency: str = typer.Option("irregular", "--frequency", help="realtime|daily|weekly|monthly|quarterly|yearly|irregular"),
    description: str = typer.Option("", "--description"),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Validate, classify and encrypt a provider's file; it waits for classification confirmation."""
    domain = open_domain(home)
    ds = domain.catalog.ingest(acting_principal(domain, token), source, name=name, title=title,
                               provider=provider, open_attribute=open_attribute,
                               update_frequency=frequency, description=description)
    if as_json:
        return emit_json(ds)
    _print_columns(ds)
    typer.echo(f"dataset {ds.name}: {ds.rows} rows, grade {ds.grade}; confirm with 'aod dataset confirm {ds.name}'")


def _print_columns(ds) -> None:
    conf = {c["name"]: c for c in ds.classification.get("columns", [])}
    emit_table(
        f"{ds.name} — {ds.title} ({ds.status.value})",
        ["column", "type", "class", "entity", "confidence"],
        ((c.name, c.dtype, c.klass, c.entity or "", f"{conf.get(c.name, {}).get('confidence', 0):.2f}") for c in ds.columns),
    )


@app.command("confirm")
def confirm(
    name: str = typer.Argument(...),
    set_class: List[str] = typer.Option([], "--set", help="Override: column=class (direct_identifier|quasi_identifier|sensitive|other)."),
    reason: str = typer.Option("", "--reason", help="Why the classification is overridden."),
    privacy_unit: Optional[str] = typer.Option(None, "--privacy-unit", help="Column identifying a person or enterprise."),
    min_group_size: Optional[int] = typer.Option(None, "--k", help="Minimum distinct privacy units per result row (≥ domain default)."),
    home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption,
) -> None:
    """Confirm (or correct) a dataset's classification; it becomes grantable."""
    from domain.errors import InvalidInput

    overrides = {}
    for item in set_class:
        column, sep, klass = item.partition("=")
        if not sep:
            raise InvalidInput(f"--set {item!r} must be column=class")
        overrides[column.strip()] = klass.strip()
    domain = open_domain(home)
    ds = domain.catalog.confirm(acting_principal(domain, token), name, overrides=overrides, reason=reason,
                                privacy_unit=privacy_unit, min_group_size=min_group_size)
    if as_json:
        return emit_json(ds)
    typer.echo(f"dataset {ds.name} active: grade {ds.grade}, privacy unit {ds.privacy_unit}, k={ds.min_group_size}")


@app.command("list")
def list_(home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption, as_json: bool = JsonOption) -> None:
    """The catalog."""
    domain = open_domain(home)
    acting_principal(domain, token)
    items = domain.catalog.list()
    if as_json:
        return emit_json([{k: v for k, v in vars(d).items() if k != "classification"} for d in items])
    emit_table("catalog", ["name", "title", "provider", "open", "grade", "frequency", "rows", "status"],
               ((d.name, d.title, d.provider, d.open_attribute.value, d.grade, d.update_frequency.value,
                 d.rows, d.status.value) for d in items))


@app.command("show")
def show(name: str, home: Optional[Path] = HomeOption, token: Optional[str] = TokenOption,
         as_json: bool = JsonOption) -> None:
    """One dataset with its column classes."""
    domain = open_domain(home)
    acting_principal(domain, token)
    ds = domain.catalog.get(name)
    if as_json:
        return emit_json(ds)
    emit_record(f"dataset {ds.name}", {k: v for k, v in vars(ds).items() if k not in ("columns", "classification")})
    _print_columns(ds)
