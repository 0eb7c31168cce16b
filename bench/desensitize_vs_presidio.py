"""classify + apply against Presidio row by row, same table, same recognizers, same run.

    python bench/desensitize_vs_presidio.py                    # 100k rows, Presidio on 5k rows
    python bench/desensitize_vs_presidio.py --rows 100000 --presidio-rows 100000   # no extrapolation

The table is `synthetic.bench_table` (8 columns: name, resident ID, mobile, date of birth,
sex, address, income, remarks with identifiers embedded; 10 % of identifiers messy).

- ours: `classify(file)` (a sample, vectorized checks + Presidio on a few values per
  column) + `TransformPlan.default` + `apply(file → Parquet)` (DuckDB, in bulk).
- Presidio: `BatchAnalyzerEngine.analyze_dict` over every cell (column names as context)
  + `BatchAnonymizerEngine.anonymize_dict` with our Operators — the same recognizers
  (Presidio knows no Chinese identifiers by itself) and the same transforms. Measured on the
  first `--presidio-rows` rows and extrapolated linearly (Presidio's cost is per cell).
- recall: of the direct identifiers in those rows (name, ID, mobile, address cells and every
  identifier embedded in the remarks), the share whose raw value (as typed or normalized)
  no longer appears in its output cell. Engines are built and imports done before timing
  (Presidio's import and engine build are reported separately).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SECRET = b"benchmark-secret-0123456789abcdef"


def direct_values(labelled, rows: int) -> list[tuple[int, str, str]]:
    """(row, column, raw value) of every direct identifier in the first `rows` rows."""
    from desensitize import ColumnClass, Entity

    out = []
    for column, (column_class, entity) in labelled.labels.items():
        if column_class == ColumnClass.DIRECT_IDENTIFIER and entity != Entity.FREE_TEXT:
            for i, v in enumerate(labelled.table.column(column).slice(0, rows).to_pylist()):
                if v and v.strip():
                    out.append((i, column, v))
    for column, emb in labelled.embedded.items():
        for r in emb.to_pylist():
            if r["row"] < rows:
                out.append((r["row"], column, r["value"]))
    return out


def recall(values, output: dict) -> float:
    from desensitize import normalize_identifier

    kept = 0
    for row, column, raw in values:
        cell = output[column][row]
        cell = "" if cell is None else str(cell)
        leaked = raw.strip() in cell or normalize_identifier(raw) in (normalize_identifier(cell) or "")
        kept += not leaked
    return kept / len(values)


def run_ours(src: Path, out: Path) -> float:
    from desensitize import TransformPlan, apply, classify

    started = time.perf_counter()
    cls = classify(src)
    apply(src, out, TransformPlan.default(cls), SECRET)
    return time.perf_counter() - started


def run_presidio(table: pa.Table) -> tuple[float, dict]:
    from presidio_analyzer import BatchAnalyzerEngine
    from presidio_anonymizer import BatchAnonymizerEngine

    from desensitize.analyzer import LANGUAGE, engine
    from desensitize.operators import anonymizer, operators_for

    analyzer, anonymizer_ = BatchAnalyzerEngine(engine()), BatchAnonymizerEngine(anonymizer())
    data = {name: table.column(name).to_pylist() for name in table.column_names}
    started = time.perf_counter()
    results = analyzer.analyze_dict(data, language=LANGUAGE, score_threshold=0.4)
    output = anonymizer_.anonymize_dict(results, operators=operators_for(SECRET))
    return time.perf_counter() - started, output


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--presidio-rows", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    started = time.perf_counter()
    from desensitize import synthetic
    from desensitize.analyzer import engine
    engine()
    print(f"Presidio import + engine build: {time.perf_counter() - started:.1f} s (excluded from both timings)")

    labelled = synthetic.bench_table(args.rows, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "bench.parquet", Path(tmp) / "out.parquet"
        pq.write_table(labelled.table, src, row_group_size=131_072)
        run_ours(src, Path(tmp) / "warm.parquet")  # warm caches (regex compilation, DuckDB)
        ours = run_ours(src, out)
        ours_out = pq.read_table(out).to_pydict()
    p = min(args.presidio_rows, args.rows)
    presidio_part, presidio_out = run_presidio(labelled.table.slice(0, p))
    presidio = presidio_part * args.rows / p
    values = direct_values(labelled, p)
    r_ours, r_presidio = recall(values, ours_out), recall(values, presidio_out)
    r_ours_all = recall(direct_values(labelled, args.rows), ours_out)

    print(f"table: {args.rows} rows x {labelled.table.num_columns} columns (bench_table, seed {args.seed})")
    print(f"ours     classify+apply: {ours:8.2f} s  {args.rows / ours:12,.0f} rows/s")
    print(f"Presidio analyze+anonymize: {presidio_part:8.2f} s for {p} rows ({p / presidio_part:,.0f} rows/s); "
          f"{'extrapolated' if p < args.rows else 'measured'} {presidio:.1f} s for {args.rows} rows")
    print(f"recall on the first {p} rows ({len(values)} direct identifiers): ours {r_ours:.4%}, "
          f"Presidio {r_presidio:.4%}; ours on all rows {r_ours_all:.4%}")
    print(f"ratio (Presidio time / ours): {presidio / ours:.0f}x")


if __name__ == "__main__":
    main()
