"""`aod audit …`: the regulator's command line (query, sql, verify, prove, trace, report)
and the operator's (prune, checkpoint, pubkey, settings, reindex).

Human tables by default, `--json` for machines. Every command takes the domain home from
`--home` or `AOD_HOME`. When the home's signing key is readable, regulators' reads are
themselves recorded (`audit.query`, `audit.verify`, `audit.report`).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(name="audit", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="The tamper-evident audit log: query, verify, prove, trace, report.")

HomeOpt = typer.Option(None, "--home", envvar="AOD_HOME", help="Domain home folder (or set AOD_HOME).")
JsonOpt = typer.Option(False, "--json", help="Print JSON for machines.")


def _home(home: Optional[Path]) -> Path:
    from audit.errors import AuditError

    if home is None:
        raise AuditError("no domain home: pass --home or set AOD_HOME")
    return Path(home)


def _open(home: Optional[Path], *, write: bool = False):
    from audit import AuditLog
    from audit.errors import AuditError, ReadOnlyLog

    path = _home(home)
    if (path / "keys" / "audit-signing.pem").exists():
        return AuditLog.for_home(path)
    if write:
        raise ReadOnlyLog(f"{path} has no audit signing key: this command writes to the log")
    if not (path / "audit" / "log.json").exists():
        raise AuditError(f"{path} holds no audit log")
    return AuditLog.reader(path)


def _actor():
    from audit import Actor

    return Actor(id=f"os-user:{getpass.getuser()}", role="regulator")


def _record(log, action, *, outcome=None, details=None, targets=()):
    """Record a regulator's read (best effort: a read-only log cannot record)."""
    from audit import AuditEvent, Outcome
    from audit.errors import AuditError

    if not log.writable:
        return
    try:
        log.append(AuditEvent(action=action, actor=_actor(), outcome=outcome or Outcome.OK,
                              targets=tuple(targets), details=details or {}))
    except AuditError as exc:
        typer.echo(f"aod: note: this read was not recorded in the log ({exc.diagnostics()})", err=True)


def _print_json(value) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _console():
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def _refs(refs) -> str:
    return ", ".join(r.key for r in refs)


def _entries_table(entries, title: str):
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in ("#", "time (UTC)", "actor", "org", "action", "outcome", "targets", "inputs → outputs"):
        table.add_column(col, overflow="fold", no_wrap=col in ("#", "time (UTC)", "action", "outcome"))
    for e in entries:
        ev = e.event
        flow = f"{_refs(ev.inputs)} → {_refs(ev.outputs)}" if ev.inputs or ev.outputs else ""
        table.add_row(str(e.index), ev.time.strftime("%Y-%m-%d %H:%M:%S"),
                      f"{ev.actor.id} ({ev.actor.role})", ev.org or "", ev.action.value,
                      ev.outcome.value, _refs(ev.targets), flow)
    return table


def _entry_json(e) -> dict:
    data = e.event.to_dict()
    return {"index": e.index, "logged": e.logged.isoformat(), "leaf_hash": e.leaf_hash.hex(), **data}


@app.command("query")
def query_cmd(
    since: Optional[str] = typer.Option(None, help="From this date/time (UTC), e.g. 2026-11-01."),
    until: Optional[str] = typer.Option(None, help="Up to this date/time (a date includes the whole day)."),
    actor: Optional[str] = typer.Option(None, help="Actor id, e.g. staff:alice."),
    org: Optional[str] = typer.Option(None, help="Operator / tenant id."),
    dataset: Optional[str] = typer.Option(None, help="Dataset id (in targets, inputs or outputs)."),
    action: Optional[str] = typer.Option(None, help="Action, e.g. query.run, or a family: export.*"),
    outcome: Optional[str] = typer.Option(None, help="ok, refused or failed."),
    limit: int = typer.Option(100, help="At most this many events (the oldest first)."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Events matching filters, oldest first."""
    from audit import Action

    log = _open(home)
    filters = dict(since=since, until=until, actor=actor, org=org, dataset=dataset, action=action,
                   outcome=outcome, limit=limit)
    entries = log.query(**filters)
    _record(log, Action.AUDIT_QUERY, details={"filters": {k: v for k, v in filters.items() if v is not None},
                                             "matched": len(entries)})
    if as_json:
        _print_json([_entry_json(e) for e in entries])
    else:
        _console().print(_entries_table(entries, f"{len(entries)} event(s)"))


@app.command("sql")
def sql_cmd(
    sql: str = typer.Argument(..., help="One SELECT over the view `events` (see docs/audit.md)."),
    limit: int = typer.Option(1000, help="At most this many rows."),
    timeout: float = typer.Option(30.0, help="Stop the query after this many seconds."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Read-only SQL (DuckDB) over the log's columnar index."""
    import hashlib

    from rich.table import Table

    from audit import Action

    log = _open(home)
    result = log.sql(sql, limit=limit, timeout=timeout)
    _record(log, Action.AUDIT_QUERY, details={"sql_sha256": hashlib.sha256(sql.encode()).hexdigest(),
                                             "rows": len(result.rows)})
    if as_json:
        _print_json(result.to_json())
        return
    table = Table(*result.columns, title=f"{len(result.rows)} row(s)" + (" (truncated)" if result.truncated else ""))
    for row in result.to_json()["rows"]:
        table.add_row(*[json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v)
                        for v in row])
    _console().print(table)


@app.command("verify")
def verify_cmd(
    public_key: Optional[Path] = typer.Option(None, "--public-key", help="The log's public key as you "
                                              "received it (default: the home's audit/log.pub)."),
    trusted_head: List[Path] = typer.Option([], "--trusted-head", help="A tree head you kept "
                                            "earlier (aod audit checkpoint --out); repeatable."),
    deep: bool = typer.Option(False, help="Also parse, validate and re-encode every event."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Recompute every hash and check every signature; name what is wrong."""
    from audit import Action, AuditVerificationError, Outcome

    log = _open(home)
    heads = [p.read_text() for p in trusted_head]
    try:
        report = log.verify(public_key or log.public_key, trusted=heads, deep=deep)
    except AuditVerificationError as exc:
        _record(log, Action.AUDIT_VERIFY, outcome=Outcome.FAILED,
                details={"problems": len(exc.problems), "first_step": exc.first.step})
        if as_json:
            _print_json({"ok": False, "problems": [p.to_json() for p in exc.problems]})
        else:
            for p in exc.problems:
                typer.echo(f"FAIL {p.describe()}", err=True)
        raise
    _record(log, Action.AUDIT_VERIFY, details={"size": report.size, "tree_heads": report.tree_heads})
    if as_json:
        _print_json(report.to_json())
    else:
        typer.echo(f"OK: {report.summary()} in {report.seconds:.2f} s")
        for note in report.notes:
            typer.echo(f"note: {note}")


@app.command("prove")
def prove_cmd(
    event: Optional[str] = typer.Argument(None, help="Event index or event id (inclusion proof)."),
    size: Optional[int] = typer.Option(None, help="Prove against the tree head of this size."),
    consistency: Optional[int] = typer.Option(None, "--consistency", help="Prove that the log "
                                              "grew append-only from this size."),
    from_head: Optional[Path] = typer.Option(None, "--from-head", help="Prove append-only growth "
                                             "since a tree head you kept."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Inclusion proof of an event, or consistency proof between two tree heads."""
    from audit.checkpoint import SignedCheckpoint
    from audit.errors import QueryError

    log = _open(home)
    if size is None and log.writable and (from_head is not None or consistency is not None):
        log.checkpoint()  # prove up to the newest events, under a tree head signed now
    if from_head is not None:
        head = SignedCheckpoint.from_text(from_head.read_text())
        proof = log.prove_consistency(head.size, size)
        proof.verify(log.public_key, old_root=head.root)
    elif consistency is not None:
        proof = log.prove_consistency(consistency, size)
        proof.verify(log.public_key)
    elif event is not None:
        proof = log.prove_inclusion(event, size)
        proof.verify(log.public_key)
    else:
        raise QueryError("give an event (index or id), --consistency SIZE or --from-head FILE")
    if as_json:
        _print_json({"verified": True, **proof.to_json()})
    elif hasattr(proof, "index"):
        typer.echo(f"event #{proof.index} is in the signed tree of size {proof.size} "
                   f"(leaf {proof.leaf_hash.hex()}, {len(proof.path)} hashes): verified")
    else:
        typer.echo(f"the tree of size {proof.new.size} extends the tree of size {proof.old_size} "
                   f"append-only ({len(proof.path)} hashes): verified")


@app.command("trace")
def trace_cmd(
    ref: str = typer.Argument(..., help="An object as kind:id, e.g. dataset:population, export:x-1."),
    depth: int = typer.Option(8, help="How many steps to follow each way."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Where an object came from and where it went (inputs → event → outputs), with approvals."""
    from audit import Action, Ref

    log = _open(home)
    result = log.trace(ref, depth=depth)
    _record(log, Action.AUDIT_QUERY, targets=(Ref.parse(ref),), details={"trace_events": len(result.events)})
    if as_json:
        _print_json(result.to_json())
        return
    console = _console()
    console.print(f"[bold]{result.root}[/]: {len(result.upstream) - 1 if result.upstream else 0} upstream, "
                  f"{len(result.downstream) - 1 if result.downstream else 0} downstream object(s)")
    console.print(_entries_table(result.ordered_events(), "events on the trace"))


@app.command("report")
def report_cmd(
    org: str = typer.Argument(..., help="Operator id."),
    year: int = typer.Option(..., help="Calendar year, e.g. 2026."),
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """An operator's annual operation report (R18), from the log."""
    from audit import Action, Ref

    log = _open(home)
    report = log.annual_report(org, year)
    _record(log, Action.AUDIT_REPORT, targets=(Ref("operator", org),), details={"year": year})
    if as_json:
        _print_json(report.to_json())
    else:
        typer.echo(report.to_markdown() if markdown else _report_text(report))


def _report_text(report) -> str:
    lines = [f"{report.org} — {report.year}: {report.total} events"]
    for name, counts in report.sections.items():
        total = sum(counts.values())
        lines.append(f"  {name:<10} {total:>7}  " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    lines.append(f"  datasets   {', '.join(sorted(report.datasets)) or '-'}")
    lines.append(f"  products   {len(report.products)}; released exports: {', '.join(report.released) or '-'}")
    lines.append(f"  incidents  {len(report.incidents)}")
    return "\n".join(lines)


@app.command("prune")
def prune_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be pruned."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Remove whole sealed segments older than the retention (never under 180 days)."""
    log = _open(home, write=True)
    if dry_run:
        plan = log.prune_plan()
        out = {"would_prune_upto": plan.upto, "segments": len(plan.segments), "cutoff": plan.cutoff.isoformat()}
    else:
        from audit import Actor

        out = log.prune(Actor(id=f"os-user:{getpass.getuser()}", role="system"))
    _print_json(out) if as_json else typer.echo(", ".join(f"{k}: {v}" for k, v in out.items()))


@app.command("checkpoint")
def checkpoint_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="Also save the signed tree head here "
                                       "(keep it: `verify --trusted-head` and `prove --from-head` use it)."),
    home: Optional[Path] = HomeOpt,
) -> None:
    """Sign a tree head at the current size now and print it."""
    log = _open(home, write=True)
    head = log.checkpoint()
    text = head.to_text() if head else ""
    if out is not None:
        out.write_text(text)
    typer.echo(text, nl=False)


@app.command("pubkey")
def pubkey_cmd(home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt) -> None:
    """The log's public key (give it to regulators), its origin and key id."""
    from audit.checkpoint import key_id, raw_public

    log = _open(home)
    kid = key_id(log.identity.origin, raw_public(log.public_key)).hex()
    pem = log.public_key_pem.decode()
    if as_json:
        _print_json({"origin": log.identity.origin, "key_id": kid, "public_key_pem": pem})
    else:
        typer.echo(f"# origin {log.identity.origin}  key id {kid}")
        typer.echo(pem, nl=False)


@app.command("settings")
def settings_cmd(
    retention_days: Optional[int] = typer.Option(None, help="Days to keep events (at least 180)."),
    checkpoint_every_events: Optional[int] = typer.Option(None, help="Sign a tree head every N events."),
    checkpoint_every_seconds: Optional[int] = typer.Option(None, help="... or every T seconds."),
    home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Show or change the log's settings (changes are audited)."""
    import dataclasses

    changes = {k: v for k, v in dict(retention_days=retention_days,
                                     checkpoint_every_events=checkpoint_every_events,
                                     checkpoint_every_seconds=checkpoint_every_seconds).items() if v is not None}
    log = _open(home, write=bool(changes))
    settings = log.update_settings(_actor_system(), **changes) if changes else log.settings
    data = {**dataclasses.asdict(settings), "segment_events": log.identity.segment_events}
    _print_json(data) if as_json else typer.echo("\n".join(f"{k}: {v}" for k, v in data.items()))


def _actor_system():
    from audit import Actor

    return Actor(id=f"os-user:{getpass.getuser()}", role="system")


@app.command("reindex")
def reindex_cmd(home: Optional[Path] = HomeOpt) -> None:
    """Rebuild the Parquet index of sealed segments from the segment files."""
    from audit.index import ensure_indexed, indexed_files

    log = _open(home, write=True)
    for _, _, _, path in indexed_files(log.paths):
        path.unlink()
    ensure_indexed(log)
    typer.echo(f"indexed {len(indexed_files(log.paths))} sealed segment(s)")


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
