"""The `aod` command line.

One root Typer app; each package contributes its own command group from its own `cli.py`
module (a thin layer over that package's service functions). Every command takes the domain
home from `--home` or `AOD_HOME`; the root option sets `AOD_HOME` for the subcommand.

Errors: an exception with a `diagnostics()` method is a user-facing error (bad input, refused
request). It is printed as one line and the exit code is 2. Anything else is an internal
error: only its type is printed, never its message, because a message may carry raw values.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import click
import typer

app = typer.Typer(
    name="aod",
    help="Authorized operation domain (授权运营域): raw data stays in, checked results come out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # rich tracebacks print locals, which may hold raw values
    add_completion=False,
)

# (command group, "module:attribute", help). A group whose module is not importable is an
# installation error, reported when the CLI starts.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("init", "domain.cli.admin:init"),
    ("login", "domain.cli.admin:login"),
    ("logout", "domain.cli.admin:logout"),
    ("whoami", "domain.cli.admin:whoami"),
    ("operator", "domain.cli.people:operator_app"),
    ("staff", "domain.cli.people:staff_app"),
    ("dataset", "domain.cli.datasets:app"),
    ("grant", "domain.cli.grants:app"),
    ("serve", "domain.cli.serve:serve"),
    ("demo", "domain.cli.demo:demo"),
    ("audit", "audit.cli:app"),
    ("desensitize", "desensitize.cli:app"),
    ("export", "export_review.cli:app"),
    ("tenant", "domain.cli.tenants:app"),
    ("query", "domain.cli.query:query"),
    ("job", "domain.cli.jobs:app"),
    ("import", "domain.cli.imports:app"),
]


@app.callback()
def _root(
    home: Optional[Path] = typer.Option(
        None, "--home", envvar="AOD_HOME", help="Domain home folder (or set AOD_HOME)."
    ),
) -> None:
    if home is not None:
        os.environ["AOD_HOME"] = str(home)


def _register_subcommands() -> None:
    for name, target in SUBCOMMANDS:
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # package not built yet
        sub = getattr(module, attr)
        if isinstance(sub, typer.Typer):
            app.add_typer(sub, name=name)
        else:
            app.command(name=name)(sub)


_register_subcommands()


def _configure_packages() -> None:
    """Hand the packages' command groups what they need from the domain (no heavy imports)."""
    from domain.cli import exports

    exports.configure()


_configure_packages()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_errors() -> tuple[type, ...]:
    """click's exception classes, and those of the click that typer vendors (typer ≥ 0.29)."""
    found: list[type] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException
    except ImportError:
        return tuple(found)
    return (*found, VendoredClickException)


def _aborts() -> tuple[type, ...]:
    found: list[type] = [click.exceptions.Abort]
    try:
        from typer.exceptions import Abort as TyperAbort
    except ImportError:
        return tuple(found)
    return (*found, TyperAbort)


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="aod", standalone_mode=False)
    except _aborts():
        click.echo("aod: aborted", err=True)
        sys.exit(130)
    except _usage_errors() as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("aod: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the CLI edge maps every error to one line
        diagnostics = getattr(exc, "diagnostics", None)
        if callable(diagnostics):
            click.echo(f"aod: error: {_one_line(diagnostics())}", err=True)
            sys.exit(2)
        click.echo(
            f"aod: internal error ({type(exc).__name__}); details withheld because they may "
            "contain data values. Re-run with AOD_DEBUG=1 on a test home to see them.",
            err=True,
        )
        if os.environ.get("AOD_DEBUG") == "1":
            raise
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
