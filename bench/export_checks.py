"""Benchmark: automatic checks of a 1M-row data package against 5M raw rows.

    python bench/export_checks.py [--raw 5000000] [--product 1000000]

The product is the hardest honest case: a raw sample with one column dropped and every
column renamed (all rules do their full work: mapping, record linkage, identifier scan,
decodings). Baseline, measured in the same run on the same engine and files: a plain DuckDB
hash join of the product with the raw table on the identifier column plus a full scan of both.
Prints seconds and the ratio checks/baseline. Target: checks ≤ 30 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from export_review.checks import CheckContext, Product, ProductKind, run_checks
    from export_review.engine import DuckDBRawAccess
    from export_review.protocols import GrantInfo
    from export_review.testing.stubs import StaticGrants
    from export_review.testing.synthetic import population, population_dataset

    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", type=int, default=5_000_000)
    parser.add_argument("--product", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aod-bench-"))
    (folder / "raw").mkdir()
    t = time.perf_counter()
    raw = population(args.raw, seed=1)
    pq.write_table(raw, folder / "raw" / "population.parquet")
    idx = np.random.default_rng(2).permutation(args.raw)[: args.product]
    product = raw.take(pa.array(idx)).drop_columns(["phone"])
    product = product.rename_columns([f"col_{i}" for i in range(product.num_columns)])
    pq.write_table(product, folder / "product.parquet")
    del raw
    print(f"data: {args.raw:,} raw rows, {args.product:,}-row product ({time.perf_counter() - t:.1f} s to make)")

    access = DuckDBRawAccess([population_dataset()], {"population": folder / "raw" / "population.parquet"})
    baseline = _baseline(access, folder / "product.parquet")
    grants = StaticGrants(GrantInfo("g-1", "op", ("s",), True))
    ctx = CheckContext(Product(ProductKind.DATA_PACKAGE, folder / "product.parquet"), raw=access,
                       grants=grants, grant_id="g-1", scenario="s", org="op")
    t = time.perf_counter()
    report = run_checks(ctx)
    checks = time.perf_counter() - t
    for r in report.results:
        print(f"  {r.rule:<12} {r.status.value:<12} {r.seconds:6.1f} s")
    print(f"baseline (DuckDB join + scans): {baseline:.1f} s")
    print(f"checks: {checks:.1f} s  -> ratio {checks / baseline:.1f}x baseline; "
          f"target 30 s: {'met' if checks <= 30 else 'MISSED'}; verdict {report.status.value}")


def _baseline(access, product_path: Path) -> float:
    t = time.perf_counter()
    with access.connect() as con:
        import pyarrow.parquet as pq

        con.register("product", pq.read_table(product_path))
        con.execute("SELECT count(*), sum(hash(p.col_1)) FROM product p JOIN population r "
                    "ON p.col_0 = r.id_number").fetchall()
        con.execute("SELECT count(DISTINCT name), count(DISTINCT income) FROM population").fetchall()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
