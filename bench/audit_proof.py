"""Inclusion and consistency proofs on big logs, against building the same inclusion proof
from the records (hash the event's segment, then the path), measured in the same run.

    python bench/audit_proof.py                       # 100k, 1M and 10M events (cached)

Each proof is produced by the stored log (node files, one pread per node) and verified
against its signed tree head, as a regulator would.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from audit import AuditLog, merkle
from audit.merkle import hash_leaf, level_up

from audit_synth import cached


def naive_proof(log: AuditLog, index: int, size: int) -> list[bytes]:
    """The same path, recomputing the event's segment from its records."""
    s = log.identity.segment_events
    first = index - index % s
    lines = log.paths.segment(first).read_bytes().split(b"\n")[:-1]
    levels = [[hash_leaf(x) for x in lines]]
    while len(levels[-1]) > 1:
        levels.append(level_up(levels[-1][: len(levels[-1]) // 2 * 2]))
    from audit.proofs import NodeSource

    stored = NodeSource(log)

    def node(level: int, i: int) -> bytes:
        if level <= log.identity.segment_bits and (i << level) >= first and ((i + 1) << level) <= first + len(lines):
            return levels[level][i - (first >> level)]
        return stored.node(level, i)

    return merkle.inclusion_proof(index, size, node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--proofs", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(5)
    print(f"{'events':>12} {'inclusion ms p50':>17} {'p95':>7} {'first-touch p50':>16} "
          f"{'consistency ms':>15} {'naive ms':>9} {'x faster':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        path, _, _ = cached(size)
        log = AuditLog.reader(path)
        head = log.latest_checkpoint()
        picks = [rng.randrange(head.size) for _ in range(args.proofs)]
        cold, times = [], []
        for record in (cold, times):  # first touch (files maybe not cached), then warm
            for index in picks:
                started = time.perf_counter()
                proof = log.prove_inclusion(index)
                proof.verify(log.public_key)
                record.append((time.perf_counter() - started) * 1000)
        cons = []
        for _ in range(20):
            old = rng.randrange(1, head.size)
            started = time.perf_counter()
            log.prove_consistency(old).verify(log.public_key)
            cons.append((time.perf_counter() - started) * 1000)
        naive = []
        for index in picks[:10]:
            started = time.perf_counter()
            path_ = naive_proof(log, index, head.size)
            naive.append((time.perf_counter() - started) * 1000)
            assert path_ == list(log.prove_inclusion(index).path)
        p50, p95 = statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1]
        print(f"{size:>12,} {p50:>17.2f} {p95:>7.2f} {statistics.median(cold):>16.2f} {statistics.median(cons):>15.2f} "
              f"{statistics.median(naive):>9.1f} {statistics.median(naive) / p50:>8.0f}x")


if __name__ == "__main__":
    main()
