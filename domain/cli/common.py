"""Shared plumbing for the domain's CLI commands: the home, the acting principal, output.

Commands hold no logic: they parse arguments, call one service function, print its result.
The acting principal comes from a token: `--token`, `AOD_TOKEN`, or the session that
`aod login` saved for this home.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Optional

import typer

HomeOption = typer.Option(None, "--home", envvar="AOD_HOME", help="Domain home (or AOD_HOME).")
TokenOption = typer.Option(None, "--token", envvar="AOD_TOKEN", help="API token (or AOD_TOKEN, or 'aod login').")
JsonOption = typer.Option(False, "--json", help="Print JSON for machines.")


class CliError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        return self.message


def resolve_home(home: Optional[Path]) -> Path:
    if home is None:
        env = os.environ.get("AOD_HOME")
        if not env:
            raise CliError("no domain home: pass --home or set AOD_HOME")
        home = Path(env)
    return Path(home).expanduser().resolve()


def open_domain(home: Optional[Path]):
    from domain.core import Domain

    return Domain.open(resolve_home(home))


def session_file(home: Path) -> Path:
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:16]
    base = Path(os.environ.get("AOD_SESSION_DIR", Path.home() / ".config" / "aod" / "sessions"))
    return base / f"{digest}.token"


def save_session(home: Path, token: str) -> Path:
    path = session_file(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return path


def acting_principal(domain, token: Optional[str]):
    if not token:
        path = session_file(domain.home)
        if path.is_file():
            token = path.read_text().strip()
    if not token:
        raise CliError("not logged in: run 'aod login --user ID' or pass --token / AOD_TOKEN")
    return domain.auth.authenticate(token)


def to_plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def query_result(out) -> dict:
    """A checked query's outcome as plain data (the API's and `--json`'s shape)."""
    return {
        "query_id": out.query_id, "grant_id": out.grant_id, "engine": out.engine,
        "datasets": list(out.datasets), "k": out.k, "rows": out.rows, "suppressed": out.suppressed,
        "sha256": out.sha256, "columns": out.table.column_names, "data": to_plain(out.table.to_pylist()),
    }


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(to_plain(value), ensure_ascii=False, indent=2, sort_keys=True))


def emit_table(title: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(to_plain(v)) for v in row])
    Console().print(table)


def emit_record(title: str, record: dict[str, Any]) -> None:
    emit_table(title, ["field", "value"], ((k, v) for k, v in record.items()))
