"""`aod export …`: submit | list | show | review | release | verify | trace | withdraw | override.

Thin commands over `ExportService`. The domain supplies the service and the acting principal:

    from export_review import cli as export_cli
    export_cli.configure(lambda home, token: (export_service, principal))   # in domain/cli
    SUBCOMMANDS.append(("export", "export_review.cli:app"))
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from export_review.errors import ExportReviewError

app = typer.Typer(help="Export review: products leave only after automatic checks and two reviewers.",
                  no_args_is_help=True)
Provider = Callable[[Optional[Path], Optional[str]], tuple[Any, Any]]
_provider: Provider | None = None

HomeOpt = typer.Option(None, "--home", envvar="AOD_HOME", help="Domain home (or AOD_HOME).")
TokenOpt = typer.Option(None, "--token", envvar="AOD_TOKEN", help="API token (or AOD_TOKEN, or 'aod login').")
JsonOpt = typer.Option(False, "--json", help="Print JSON for machines.")


class NotConfigured(ExportReviewError):
    """export commands need the domain: run them as 'aod export …'."""


def configure(provider: Provider) -> None:
    """Set how commands get (ExportService, acting principal) from --home and --token."""
    global _provider
    _provider = provider


def _open(home: Optional[Path], token: Optional[str]) -> tuple[Any, Any]:
    if _provider is None:
        raise NotConfigured()
    return _provider(home, token)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def _emit(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), ensure_ascii=False, indent=2, default=str))


@app.command("submit")
def submit(file: Path = typer.Argument(..., help="The product inside the domain (table, report, model, template)."),
           grant: str = typer.Option(..., "--grant"), scenario: str = typer.Option(..., "--scenario"),
           kind: str = typer.Option("data_package", "--kind", help="data_package | report | model | api"),
           title: str = typer.Option("", "--title"),
           meta: Optional[Path] = typer.Option(None, "--meta", help="JSON metadata (default: FILE.meta.json)."),
           home: Optional[Path] = HomeOpt, token: Optional[str] = TokenOpt, as_json: bool = JsonOpt) -> None:
    """Submit a product for export; the automatic checks run at once."""
    svc, me = _open(home, token)
    metadata = None
    if meta is not None:
        try:
            metadata = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise typer.BadParameter(f"{meta.name} is not a readable JSON file") from None
    req = svc.submit(me, grant_id=grant, scenario=scenario, kind=kind, file=file, title=title, metadata=metadata)
    if as_json:
        return _emit(req)
    typer.echo(f"export {req.id}: {req.status.value} (checks {req.check_status.value if req.check_status else '-'})")
    if req.status_reason:
        typer.echo(f"  {req.status_reason}")


@app.command("list")
def list_(status: Optional[str] = typer.Option(None, "--status"), home: Optional[Path] = HomeOpt,
          token: Optional[str] = TokenOpt, as_json: bool = JsonOpt) -> None:
    """Requests you may see (reviewers: start with the queue)."""
    svc, me = _open(home, token)
    found = svc.list(me, status)
    if as_json:
        return _emit(found)
    for r in found:
        typer.echo(f"{r.id}  {r.status.value:<18} {r.kind:<12} {r.org:<16} {r.title}")


@app.command("show")
def show(export_id: str, home: Optional[Path] = HomeOpt, token: Optional[str] = TokenOpt,
         as_json: bool = JsonOpt) -> None:
    """A request with its check report, (blinded) decisions and history. Audited."""
    svc, me = _open(home, token)
    view = svc.view(me, export_id)
    if as_json:
        return _emit(view)
    r = view.request
    typer.echo(f"{r.id} v{r.version} {r.status.value}: {r.title} [{r.kind}] by {r.requester} ({r.org})")
    typer.echo(f"grant {r.grant_id} — scenario {r.scenario}")
    for c in view.checks:
        typer.echo(f"  [{c.status.value}] {c.rule}")
        for f in c.findings:
            typer.echo(f"      - {f.message}" + (f" Fix: {f.fix}" if f.fix and f.status.value != 'passed' else ""))
    typer.echo(f"decisions {len(view.votes) + view.votes_hidden}/{view.required_reviews}"
               + (f" ({view.votes_hidden} hidden until all have decided)" if view.votes_hidden else ""))
    for v in view.votes:
        typer.echo(f"  {v.reviewer}: {v.decision.value} {v.reason}")


@app.command("review")
def review(export_id: str,
           decision: str = typer.Option(..., "--decision", help="approve | reject | request_changes"),
           reason: str = typer.Option("", "--reason"), home: Optional[Path] = HomeOpt,
           token: Optional[str] = TokenOpt, as_json: bool = JsonOpt) -> None:
    """Record your decision (reviewers from outside the requesting organisation)."""
    svc, me = _open(home, token)
    req = svc.vote(me, export_id, decision, reason)
    _emit(req) if as_json else typer.echo(f"export {req.id}: {req.status.value}")


@app.command("release")
def release(export_id: str, home: Optional[Path] = HomeOpt, token: Optional[str] = TokenOpt,
            as_json: bool = JsonOpt) -> None:
    """Release an approved request: watermarked copy + signed manifest."""
    svc, me = _open(home, token)
    rel = svc.release(me, export_id)
    _emit(rel) if as_json else typer.echo(f"released {rel.path}\nmanifest {rel.manifest_path}")


@app.command("verify")
def verify(file: Path, manifest: Optional[Path] = typer.Option(None, "--manifest"),
           trace: bool = typer.Option(False, "--trace", help="Also find whose copy it is, if it was altered."),
           home: Optional[Path] = HomeOpt, token: Optional[str] = TokenOpt, as_json: bool = JsonOpt) -> None:
    """Check a released file against its signed manifest; with --trace, recover the watermark."""
    svc, _ = _open(home, token)
    if trace:
        found = svc.trace(file)
        return _emit(found) if as_json else typer.echo(
            f"{file.name} comes from {found.request_id} (operator {found.operator}; {found.scheme}, "
            f"p={found.p_value:.2g})")
    body = svc.verify(file, manifest)
    _emit(body) if as_json else typer.echo(
        f"OK: {file.name} is release {body['request_id']} of {body['operator']} for scenario "
        f"{body['scenario']}, approved by {', '.join(r['id'] for r in body['reviewers'])}")


@app.command("withdraw")
def withdraw(export_id: str, reason: str = typer.Option("", "--reason"), home: Optional[Path] = HomeOpt,
             token: Optional[str] = TokenOpt) -> None:
    """Withdraw your organisation's request."""
    svc, me = _open(home, token)
    typer.echo(f"export {svc.withdraw(me, export_id, reason).id}: withdrawn")


@app.command("override")
def override(export_id: str, to: str = typer.Option(..., "--to", help="rejected | withdrawn | changes_requested"),
             reason: str = typer.Option(..., "--reason"), home: Optional[Path] = HomeOpt,
             token: Optional[str] = TokenOpt) -> None:
    """Authority only: force a request into a closing state (audited)."""
    svc, me = _open(home, token)
    typer.echo(f"export {export_id}: {svc.override(me, export_id, to, reason).status.value}")


@app.command("diagram")
def diagram() -> None:
    """Print the request state diagram (Mermaid), generated from the transition table."""
    from export_review.workflow.status import diagram as make

    typer.echo(make(), nl=False)
