"""Full verification of big logs, against the bare hashing floor measured in the same run.

    python bench/audit_verify.py                  # 100k and 1M events (built once, cached)
    python bench/audit_verify.py --sizes 100000,1000000,10000000

`verify` recomputes every leaf and node hash, checks every record's frame and order, every
tree head's signature and chain, the index's leaf hashes, and compares roots. The floor is
a single process reading every segment and SHA-256-hashing every record (no tree, no
checks): the ratio shows what the checks cost over hashing alone.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from audit import AuditLog

from audit_synth import cached


def floor(log: AuditLog) -> float:
    started = time.perf_counter()
    sha = hashlib.sha256
    for first in log.paths.segment_firsts():
        data = log.paths.segment(first).read_bytes()
        [sha(b"\x00" + line).digest() for line in data.split(b"\n")[:-1]]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import pyarrow.parquet  # noqa: F401  (imported once, as a long-running verifier would)

    print(f"{'events':>12} {'verify s':>9} {'events/s':>11} {'hash floor s':>13} {'x floor':>8}")
    for size in [int(s) for s in args.sizes.split(",")]:
        path, _, built = cached(size)
        log = AuditLog.reader(path)
        base = floor(log)
        started = time.perf_counter()
        report = log.verify(workers=args.workers)
        took = time.perf_counter() - started
        assert report.size == size
        print(f"{size:>12,} {took:>9.2f} {size / took:>11,.0f} {base:>13.2f} {took / base:>7.2f}x"
              + (f"   (log built in {built:.0f} s)" if built else ""))


if __name__ == "__main__":
    main()
