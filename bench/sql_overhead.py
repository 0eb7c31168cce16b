"""Cost of the secure-SQL door against plain DuckDB on the same data, measured in the same run.

    python bench/sql_overhead.py                          # 5M x 1M rows, 5 rounds
    python bench/sql_overhead.py --records 1000000 --people 200000 --rounds 3

Baseline: plain DuckDB (default settings, all optimizers, a fresh connection per run) running
the operator's SQL on the same rows stored as plaintext Parquet with the same layout.

Secure, always `policy.check` + the locked-down `DuckDBEngine` (a fresh sealed connection per
query, the k rule, suppression and rounding, the result checked and hashed) on the encrypted
raw store, in three ways:

- warm: the engine's decrypted-column cache already holds the plan's columns, as in a running
  domain server (`aod serve`) after a dataset's first query: no decryption in the query;
- cold: the cache is emptied before every run, so each run decrypts the plan's columns with
  pyarrow/OpenSSL first (every `aod query` CLI call, which starts a new process, is cold);
- stream: no cache at all (`DuckDBEngine(cache=None)`): DuckDB decrypts the files itself while
  scanning (the engine's path for datasets larger than the cache).

The k rule is first certified by a bitmap lower bound of distinct units; "small cells" leaves
groups that bound cannot decide, so the exact count(DISTINCT) runs after it. A plan that needed
the exact count once goes straight to it when it runs again: "first" is warm with that memory
cleared before every run (certify, then exact), the other secure columns are repeats.

Rounds alternate baseline and the secure runs; the medians give the ratios. Then the policy
analysis alone, per query, over a mix of accepted and refused queries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from bench.sql_data import prepare, scope  # noqa: E402
from domain.sql import check  # noqa: E402
from domain.sql.engines import Limits  # noqa: E402
from domain.rawstore import DecryptedCache  # noqa: E402
from domain.sql.engines import base as engine_base  # noqa: E402
from domain.sql.engines.duckdb_engine import DuckDBEngine  # noqa: E402

QUERIES = {
    "join+group": ("SELECT p.district, count(*) AS records, avg(s.amount) AS mean_amount "
                   "FROM social_insurance s JOIN population p ON s.id_number = p.id_number GROUP BY p.district"),
    "join+group+distinct": ("SELECT p.district, p.education, count(DISTINCT s.id_number) AS people, "
                            "sum(s.amount) AS total FROM social_insurance s JOIN population p "
                            "ON s.id_number = p.id_number GROUP BY p.district, p.education"),
    "small cells": ("SELECT p.district, p.education, p.birth_year, s.month, count(*) AS records, "
                    "avg(s.amount) AS mean_amount FROM social_insurance s JOIN population p "
                    "ON s.id_number = p.id_number GROUP BY 1, 2, 3, 4"),
}
ANALYSIS_MIX = [QUERIES["join+group"], QUERIES["join+group+distinct"]] + [
    "SELECT id_number FROM population",
    "SELECT district, count(*) FROM population WHERE id_number = '330100000000000001' GROUP BY 1",
    "WITH per AS (SELECT id_number, sum(amount) t FROM social_insurance GROUP BY id_number) "
    "SELECT p.district, avg(per.t) FROM per JOIN population p ON p.id_number = per.id_number GROUP BY 1",
    "SELECT district, count(*) n, rank() OVER (ORDER BY count(*) DESC) r FROM population GROUP BY 1 "
    "QUALIFY r <= 3 ORDER BY n DESC LIMIT 2",
    "SELECT max(id_number) FROM population",
    "SELECT read_csv('/etc/passwd')",
]


def baseline(plain: dict[str, Path], sql: str, threads: int) -> float:
    con = duckdb.connect(config={"threads": threads})
    for name, path in plain.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    started = time.perf_counter()
    con.sql(sql).to_arrow_table()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def secure(opened: dict, sql: str, limits: Limits, engine: DuckDBEngine) -> float:
    started = time.perf_counter()
    decision = check(sql, scope())
    assert decision.allowed, decision.reasons
    engine.execute(decision, opened, limits)
    return time.perf_counter() - started


def undecided_groups(opened: dict, sql: str, limits: Limits) -> int:
    """How many groups the certifying gate left to the exact count (0: one pass sufficed)."""
    plan = check(sql, scope()).plan
    if not plan.exact_sql:
        return 0
    con = DuckDBEngine.connect(plan, opened, limits, DecryptedCache(max_bytes=8 << 30))
    try:
        return int(con.execute(plan.dropped_sql).fetchall()[0][1])
    finally:
        con.close()


def analysis_ms(rounds: int = 30, cached: bool = False) -> float:
    from domain.sql import policy

    the_scope = scope()
    elapsed = 0.0
    for _ in range(rounds):
        for sql in ANALYSIS_MIX:
            if not cached:
                policy._cached_check.cache_clear()
            started = time.perf_counter()
            check(sql, the_scope)
            elapsed += time.perf_counter() - started
    return 1000 * elapsed / (rounds * len(ANALYSIS_MIX))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--analysis-only", action="store_true")
    args = parser.parse_args()
    if args.analysis_only:
        return report_analysis()
    limits = Limits(timeout_seconds=3600, memory_limit="12GB", threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="aod-bench-sql-") as tmp:
        started = time.perf_counter()
        opened, plain = prepare(Path(tmp), args.records, args.people)
        print(f"data: {args.records:,} social_insurance x {args.people:,} population rows, "
              f"written in {time.perf_counter() - started:.1f} s")
        cache = DecryptedCache(max_bytes=8 << 30)
        engines = {"warm": DuckDBEngine(cache=cache), "cold": DuckDBEngine(cache=cache),
                   "stream": DuckDBEngine(cache=None)}
        for label, sql in QUERIES.items():
            times: dict[str, list[float]] = {"plain": [], **{name: [] for name in engines}}
            secure(opened, sql, limits, engines["warm"])  # the server's first query fills the cache
            times["first"] = []
            for _ in range(args.rounds):
                times["plain"].append(baseline(plain, sql, args.threads))
                times["warm"].append(secure(opened, sql, limits, engines["warm"]))
                engine_base._EXACT_PLANS.clear()
                times["first"].append(secure(opened, sql, limits, engines["warm"]))
                cache.clear()
                times["cold"].append(secure(opened, sql, limits, engines["cold"]))
                times["stream"].append(secure(opened, sql, limits, engines["stream"]))
            b = statistics.median(times["plain"])
            ratios = "   ".join(f"{name} {statistics.median(times[name]):6.3f} s {statistics.median(times[name]) / b:5.2f}x"
                                for name in ("warm", "first", "cold", "stream"))
            print(f"{label:20s} plain DuckDB {b:6.3f} s   {ratios}   "
                  f"(undecided groups: {undecided_groups(opened, sql, limits)})", flush=True)
    report_analysis()


def report_analysis() -> None:
    cold, warm = analysis_ms(), analysis_ms(cached=True)
    print(f"policy analysis: {cold:.2f} ms per query first time, {warm:.3f} ms repeated (cached); "
          f"mix of {len(ANALYSIS_MIX)} accepted and refused queries")


if __name__ == "__main__":
    main()
