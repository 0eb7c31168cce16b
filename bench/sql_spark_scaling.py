"""Spark against DuckDB on the same policy-checked query over the same encrypted raw store, at
growing sizes: how each engine's cost grows.

    python bench/sql_spark_scaling.py                       # 1M, 5M, 20M social_insurance rows
    python bench/sql_spark_scaling.py --sizes 1000000 5000000 --rounds 1

Population is a fifth of the records. Both engines read the same encrypted files on every
query (Spark through its own Parquet decryption, DuckDB through its own: the DuckDB engine runs
without its decrypted-column cache here, see bench/sql_overhead.py for that) and run the same
rewritten plan
(k rule, suppression, rounding). Spark runs local[2] with one shared session started before
the first measurement (its start-up time is printed separately, not counted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sql_data import prepare, scope  # noqa: E402
from bench.sql_overhead import QUERIES  # noqa: E402
from domain.sql import check  # noqa: E402
from domain.sql.engines import Limits  # noqa: E402
from domain.sql.engines.duckdb_engine import DuckDBEngine  # noqa: E402
from domain.sql.engines.spark_engine import SparkEngine, build_session  # noqa: E402


def timed(engine, decision, opened, limits, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        engine.execute(decision, opened, limits)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 20_000_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--query", choices=sorted(QUERIES), default="join+group")
    args = parser.parse_args()
    limits = Limits(timeout_seconds=3600, memory_limit="12GB", threads=2)
    started = time.perf_counter()
    spark = SparkEngine(build_session(driver_memory="8g"))
    print(f"Spark session start: {time.perf_counter() - started:.1f} s (not counted below)")
    decision = check(QUERIES[args.query], scope())
    assert decision.allowed, decision.reasons
    duck = DuckDBEngine(cache=None)
    previous = None
    print(f"query: {args.query}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="aod-bench-spark-") as tmp:
            opened, _ = prepare(Path(tmp), size, size // 5)
            timed(spark, decision, opened, limits, 1)  # warm the JVM for this size's files
            d = timed(duck, decision, opened, limits, args.rounds)
            s = timed(spark, decision, opened, limits, args.rounds)
        growth = ""
        if previous:
            growth = f"   growth vs previous size: DuckDB {d / previous[0]:.2f}x, Spark {s / previous[1]:.2f}x"
        print(f"{size:>11,} rows   DuckDB {d:8.2f} s   Spark {s:8.2f} s   Spark/DuckDB {s / d:5.2f}x{growth}")
        previous = (d, s)


if __name__ == "__main__":
    main()
