"""`aod desensitize …`: classify, review, plan, apply, sample and scan plain files.

CSV or Parquet in, Parquet out. A thin layer over the package's functions; heavy imports
(pyarrow, DuckDB, Presidio) happen inside the commands so `aod --help` stays fast. Errors
are `DesensitizeError`s, printed by `aod` as one line. The pseudonymization secret comes
from a file (`--secret-file`, raw bytes or hex; relative paths are under `--home`) or from
an environment variable (`--secret-env`, hex), never from the command line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(help="Classify and desensitize CSV/Parquet files (分类分级, 脱敏).", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)

HomeOpt = typer.Option(None, "--home", envvar="AOD_HOME", help="Domain home (for relative --secret-file paths).")
SecretFileOpt = typer.Option(None, "--secret-file", help="File holding the dataset secret (raw or hex).")
SecretEnvOpt = typer.Option("AOD_DESENSITIZE_SECRET", "--secret-env", help="Env variable with the secret (hex).")
JsonOpt = typer.Option(False, "--json", help="Print JSON for machines.")


def _echo_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _secret(secret_file: Optional[Path], secret_env: str, home: Optional[Path]) -> bytes:
    from .errors import SecretError

    if secret_file is not None:
        path = secret_file if secret_file.is_absolute() or home is None else home / secret_file
        try:
            raw = path.read_bytes()
        except OSError:
            raise SecretError(f"secret file {path}: cannot be read") from None
        return _decode_secret(raw)
    value = os.environ.get(secret_env)
    if not value:
        raise SecretError(f"no secret: give --secret-file or set {secret_env} (hex)")
    return _decode_secret(value.encode())


def _decode_secret(raw: bytes) -> bytes:
    text = raw.strip()
    try:
        if text and len(text) % 2 == 0 and all(c in b"0123456789abcdefABCDEF" for c in text):
            return bytes.fromhex(text.decode())
    except ValueError:
        pass
    return raw


def _progress(enabled: bool):
    """A rich progress bar as a `progress(rows, total)` callback, and the bar to close."""
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   transient=True)
    task = bar.add_task("rows", total=None)
    bar.start()

    def update(rows: int, total: Optional[int]) -> None:
        bar.update(task, completed=rows, total=total)
    return update, bar


def _show_classification(cls, as_json: bool) -> None:
    if as_json:
        _echo_json(cls.to_dict())
        return
    typer.echo(f"{cls.source}: grade {cls.grade.value}, {cls.rows_sampled} rows sampled")
    width = max(len(c.name) for c in cls.columns)
    for c in cls.columns:
        mark = " (confirmed)" if c.confirmed else ""
        entity = c.entity.value if c.entity else "-"
        typer.echo(f"  {c.name:<{width}}  {c.column_class.value:<17} {entity:<16} {c.confidence:.2f}  "
                   f"{c.decided_by}{mark}: {c.evidence[-1] if c.evidence else ''}")


@app.command()
def classify(source: Path = typer.Argument(..., help="CSV or Parquet file."),
             output: Optional[Path] = typer.Option(None, "-o", "--output", help="Classification file to write "
                                                   "(default: <name>.classification.json here)."),
             sample_rows: int = typer.Option(10_000, help="Rows to sample."),
             presidio: bool = typer.Option(True, help="Corroborate with Presidio on a sub-sample."),
             as_json: bool = JsonOpt) -> None:
    """Classify every column (class, entity, confidence, evidence) and write the classification."""
    from .classification import classify as run

    cls = run(source, sample_rows=sample_rows, use_presidio=presidio)
    out = output or Path(f"{source.stem}.classification.json")
    cls.save(out)
    _show_classification(cls, as_json)
    if not as_json:
        typer.echo(f"wrote {out}")


@app.command()
def show(classification: Path = typer.Argument(..., help="Classification file."), as_json: bool = JsonOpt) -> None:
    """Show a classification file."""
    from .classification import Classification

    _show_classification(Classification.load(classification), as_json)


@app.command()
def override(classification: Path = typer.Argument(..., help="Classification file (updated in place)."),
             column: str = typer.Argument(...),
             column_class: str = typer.Option(..., "--class", help="direct_identifier | quasi_identifier | "
                                              "sensitive | other"),
             entity: Optional[str] = typer.Option(None, help="Entity, e.g. CN_RESIDENT_ID."),
             reason: str = typer.Option(..., help="Why (recorded in the file)."),
             by: Optional[str] = typer.Option(None, help="Who decides.")) -> None:
    """Override one column's class (and entity), with a reason."""
    from .classification import Classification

    cls = Classification.load(classification).override(column, column_class=column_class, entity=entity,
                                                        reason=reason, by=by)
    cls.save(classification)
    typer.echo(f"{column}: {cls.column(column).column_class.value}; grade {cls.grade.value}")


@app.command()
def confirm(classification: Path = typer.Argument(..., help="Classification file (updated in place)."),
            column: Optional[str] = typer.Option(None, help="One column (default: all)."),
            by: Optional[str] = typer.Option(None, help="Who confirms.")) -> None:
    """Confirm the classification (one column or all) as reviewed by the provider."""
    from .classification import Classification

    cls = Classification.load(classification).confirm(column, by=by)
    cls.save(classification)
    typer.echo(f"confirmed {column or 'all columns'}; grade {cls.grade.value}")


@app.command()
def plan(classification: Path = typer.Argument(..., help="Classification file."),
         output: Path = typer.Option(Path("plan.yaml"), "-o", "--output", help="Plan file (.yaml or .json)."),
         as_json: bool = JsonOpt) -> None:
    """Write the default transform plan of a classification, for review and editing."""
    from .classification import Classification
    from .plan import TransformPlan

    p = TransformPlan.default(Classification.load(classification))
    p.save(output)
    if as_json:
        _echo_json(p.to_dict())
    else:
        for c in p.columns:
            typer.echo(f"{c.column}: {c.transform} {c.options or ''}".rstrip())
        typer.echo(f"wrote {output}")


def _load_plan(plan_file: Optional[Path], classification: Optional[Path]):
    from .classification import Classification
    from .errors import PlanError
    from .plan import TransformPlan

    if plan_file is not None:
        return TransformPlan.load(plan_file)
    if classification is not None:
        return TransformPlan.default(Classification.load(classification))
    raise PlanError("give --plan or --classification")


@app.command()
def apply(source: Path = typer.Argument(..., help="CSV or Parquet file."),
          dest: Path = typer.Argument(..., help="Parquet file to write."),
          plan_file: Optional[Path] = typer.Option(None, "--plan", help="Transform plan (YAML/JSON)."),
          classification: Optional[Path] = typer.Option(None, help="Use the default plan of this classification."),
          batch_size: int = typer.Option(262_144, help="Rows per batch (memory bound)."),
          secret_file: Optional[Path] = SecretFileOpt, secret_env: str = SecretEnvOpt,
          home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt) -> None:
    """Desensitize a whole file according to a plan (streamed, bounded memory)."""
    from .bulk import apply as run

    p = _load_plan(plan_file, classification)
    update, bar = _progress(not as_json)
    try:
        report = run(source, dest, p, _secret(secret_file, secret_env, home), batch_size=batch_size,
                     progress=update)
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        _echo_json(report.to_dict())
    else:
        typer.echo(f"wrote {report.dest}: {report.rows} rows in {report.seconds:.2f} s (sha256 {report.sha256[:16]}…)")


@app.command()
def sample(source: Path = typer.Argument(..., help="CSV or Parquet file."),
           dest: Path = typer.Argument(..., help="Parquet file to write."),
           classification: Path = typer.Option(..., help="Classification file."),
           plan_file: Optional[Path] = typer.Option(None, "--plan", help="Transform plan (default: the "
                                                    "classification's)."),
           rows: int = typer.Option(5000, help="At most this many rows."),
           fraction: float = typer.Option(0.1, help="At most this share of the file."),
           k: int = typer.Option(5, help="k-anonymity over the quasi-identifiers."),
           l_min: Optional[int] = typer.Option(None, "--l", help="Required l-diversity of sensitive columns."),
           strata: Optional[List[str]] = typer.Option(None, "--strata", help="Stratify by column (repeatable)."),
           seed: Optional[int] = typer.Option(None, help="Random seed (recorded in the report)."),
           max_suppression: float = typer.Option(0.05, help="Largest share of rows that may be suppressed."),
           secret_file: Optional[Path] = SecretFileOpt, secret_env: str = SecretEnvOpt,
           home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt) -> None:
    """Draw a desensitized, k-anonymous sample; nothing is written if a check fails."""
    from .classification import Classification
    from .plan import TransformPlan
    from .sample import make_sample

    report = make_sample(source, dest, Classification.load(classification),
                         secret=_secret(secret_file, secret_env, home), rows=rows, fraction=fraction, k=k, l=l_min,
                         strata=strata, seed=seed, plan=TransformPlan.load(plan_file) if plan_file else None,
                         max_suppression=max_suppression)
    if as_json:
        _echo_json(report.to_dict())
        return
    typer.echo(f"wrote {report.dest}: {report.rows_written} of {report.rows_drawn} drawn rows; k={report.k_reached} "
               f"(asked {report.k_requested}); suppressed {report.suppression_rate:.1%}; l-diversity "
               f"{report.l_diversity or '-'}")
    for rule in report.rules:
        typer.echo(f"  - {rule}")


@app.command()
def scan(source: Path = typer.Argument(..., help="CSV or Parquet file."), as_json: bool = JsonOpt) -> None:
    """Find identifiers anywhere in a file (entity, column, rows, confidence; never values)."""
    from .io import read_table
    from .scan import scan_table

    findings = scan_table(read_table(source))
    if as_json:
        _echo_json([f.to_dict() for f in findings])
        return
    if not findings:
        typer.echo("no identifiers found")
    for f in findings:
        typer.echo(f"{f.column}: {f.entity.value} in {f.rows} rows ({f.mode}, confidence {f.confidence:.2f}, "
                   f"{f.method})")


@app.command()
def synth(kind: str = typer.Argument(..., help="people | enterprises | mixed | bench"),
          rows: int = typer.Argument(..., help="Number of rows."),
          dest: Path = typer.Argument(..., help="Output file (.csv or .parquet)."),
          seed: int = typer.Option(0, help="Random seed (same seed, same data)."),
          encoding: str = typer.Option("utf-8", help="CSV encoding: utf-8, utf-8-sig or gbk.")) -> None:
    """Write a synthetic labelled table (all identifiers fake, with valid check digits)."""
    from .errors import InputError
    from .synthetic import write_table

    kinds = ("people", "enterprises", "mixed", "bench")
    if kind not in kinds:
        raise InputError(f"kind must be one of {', '.join(kinds)}")
    write_table(kind, rows, dest, seed=seed, encoding=encoding)
    typer.echo(f"wrote {dest}: {rows} synthetic rows ({kind})")
