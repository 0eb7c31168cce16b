"""Desensitize a large file on 2 cores in bounded memory: time, and peak RSS at two sizes.

    python bench/desensitize_scale.py                       # 1M and 10M rows
    python bench/desensitize_scale.py --small 200000 --large 2000000
    python bench/desensitize_scale.py --compare-sql-hmac    # also with pseudonyms HMAC'd in SQL

For each size, a fresh process runs `classify` + `TransformPlan.default` + `apply`
(Parquet in, Parquet out, 262,144-row batches) on `synthetic.bench_table` data, and reports
its wall time and peak RSS (`ru_maxrss`). The baseline, in the same run and on the same
file, is a plain streaming copy (read the batches, write them to Parquet with the same
writer and compression): the ratio says what desensitizing costs over just moving the data.
Memory that does not grow with the file shows as (nearly) the same peak RSS at both sizes.

With `--compare-sql-hmac`, each size is desensitized a second time with the native HMAC
turned off (`AOD_NATIVE_HMAC=0`: HMAC built from DuckDB's `sha256()`), for the ratio of the two.

CPU seconds (user + system, all threads of the child) are printed too: on a shared machine
they drift much less than wall time, and CPU / 2 is about what the run takes on 2 idle cores
kept busy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = b"benchmark-secret-0123456789abcdef"


def child_desensitize(src: str, dest: str) -> dict:
    from desensitize import TransformPlan, apply, classify

    started = time.perf_counter()
    cls = classify(src)
    report = apply(src, dest, TransformPlan.default(cls), SECRET)
    return {"seconds": time.perf_counter() - started, "rows": report.rows}


def child_copy(src: str, dest: str) -> dict:
    from desensitize.io import AtomicParquetWriter, open_source

    started = time.perf_counter()
    source = open_source(src)
    rows = 0
    with AtomicParquetWriter(dest, source.schema) as writer:
        for batch in source.batches(262_144):
            writer.write(batch)
            rows += batch.num_rows
    return {"seconds": time.perf_counter() - started, "rows": rows}


def run_child(mode: str, src: Path, dest: Path, env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(src), str(dest)], capture_output=True,
                         text=True, check=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1_000_000)
    ap.add_argument("--large", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--compare-sql-hmac", action="store_true", help="also run with AOD_NATIVE_HMAC=0")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, src, dest = args.child
        result = (child_desensitize if mode == "desensitize" else child_copy)(src, dest)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return

    from desensitize import synthetic

    work = args.dir or Path(tempfile.mkdtemp(prefix="aod-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    try:
        for rows in (args.small, args.large):
            src = work / f"bench-{rows}.parquet"
            started = time.perf_counter()
            if not src.exists():
                synthetic.write_table("bench", rows, src, seed=1, row_group_size=262_144)
            made = time.perf_counter() - started
            copy = run_child("copy", src, work / "copy.parquet")
            des = run_child("desensitize", src, work / "out.parquet")
            print(f"{rows:>11,} rows ({src.stat().st_size / 2**20:,.0f} MiB, made in {made:.0f} s): "
                  f"desensitize {des['seconds']:6.1f} s ({rows / des['seconds']:,.0f} rows/s, peak RSS "
                  f"{des['peak_rss_mb']:,.0f} MiB, CPU {des['cpu_seconds']:.1f} s); plain copy "
                  f"{copy['seconds']:5.1f} s (peak RSS {copy['peak_rss_mb']:,.0f} MiB, CPU {copy['cpu_seconds']:.1f} s); "
                  f"ratio desensitize/copy {des['seconds'] / copy['seconds']:.1f}x; load now "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            if args.compare_sql_hmac:
                (work / "out.parquet").unlink(missing_ok=True)
                sql = run_child("desensitize", src, work / "out.parquet", {"AOD_NATIVE_HMAC": "0"})
                print(f"{'':>11} with HMAC in SQL: {sql['seconds']:6.1f} s (CPU {sql['cpu_seconds']:.1f} s); "
                      f"native/SQL {des['seconds'] / sql['seconds']:.2f}x wall, "
                      f"{des['cpu_seconds'] / sql['cpu_seconds']:.2f}x CPU", flush=True)
            for name in ("copy.parquet", "out.parquet"):
                (work / name).unlink(missing_ok=True)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
