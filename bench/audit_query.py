"""A regulator's filtered query (one operator, one month) over big logs, against a DuckDB
scan of the whole index without the layout's file pruning, measured in the same run.

    python bench/audit_query.py                          # 1M and 10M events (built once, cached)
    python bench/audit_query.py --sizes 1000000

The layout: one Parquet file per sealed segment named by its time range (a query opens only
the files of its month), rows sorted by (org, time) in 2,048-row groups (statistics skip
other operators), plus the open tail. The baseline runs the same filter over every file.
"""

from __future__ import annotations

import argparse
import statistics
import time

from audit import AuditLog
from audit.index import connect, quote

from audit_synth import cached

ORG, SINCE, UNTIL = "op-007", "2025-03-01", "2025-03-31"


def median_time(fn, repeat: int = 5):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def full_scan(log: AuditLog) -> int:
    con = connect()
    try:
        pattern = quote(str(log.paths.index / "0*.parquet"))
        return con.execute(
            f"SELECT count(*) FROM read_parquet({pattern}) WHERE org = ? AND time >= ? AND time <= ?",
            [ORG, f"{SINCE} 00:00:00", f"{UNTIL} 23:59:59.999999"]).fetchall()[0][0]
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    args = parser.parse_args()
    print(f"{'events':>12} {'matches':>8} {'query s':>8} {'+decode s':>9} {'full scan s':>12} {'x faster':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        path, _, _ = cached(size)
        log = AuditLog.reader(path)
        log.query(limit=1)  # warm the OS cache the same way for both
        took, entries = median_time(lambda: log.query(org=ORG, since=SINCE, until=UNTIL))
        decode, _ = median_time(lambda: [e.event for e in log.query(org=ORG, since=SINCE, until=UNTIL)], 3)
        base, count = median_time(lambda: full_scan(log))
        assert count == len(entries), (count, len(entries))
        print(f"{size:>12,} {len(entries):>8,} {took:>8.3f} {decode:>9.3f} {base:>12.3f} {base / took:>8.1f}x")


if __name__ == "__main__":
    main()
