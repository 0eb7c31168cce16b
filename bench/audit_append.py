"""Durable append throughput: the audit log's group commit against a plain fsync-per-event
append of the same records, measured in the same run.

    python bench/audit_append.py                      # 64 threads, then 2 processes x 32 threads
    python bench/audit_append.py --events 40000 --threads 128

Every appended event is durable (fdatasync) before `append` returns, in both cases. The
baseline writes the same record bytes to a plain file with one fdatasync per event (no
Merkle tree, no locks): the best a log without group commit can do on this disk.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from audit import Action, Actor, AuditEvent, AuditLog, Ref, records
from audit.checkpoint import Signer
from audit.events import format_time


def make_events(n: int, tag: str = "") -> list[AuditEvent]:
    return [AuditEvent(action=Action.QUERY_RUN, actor=Actor(f"staff-{i % 40}", "operator_staff"),
                       org=f"op-{i % 50:03d}", targets=(Ref("grant", f"g-{i % 50}"),),
                       inputs=(Ref("dataset", "population"),),
                       outputs=(Ref("result", f"r{tag}-{i}", "ab" * 32),),
                       request_id=f"req{tag}-{i}",
                       details={"rows": i % 997, "sql_redacted": "select district, count(*) from t group by 1"})
            for i in range(n)]


def baseline(directory: Path, events: list[AuditEvent]) -> float:
    """Plain append of the same records, one fdatasync per event: events/s."""
    now = datetime.now(timezone.utc)
    lines = [records.encode(e.canonical_json(at=now), i, format_time(now)) for i, e in enumerate(events)]
    fd = os.open(directory / "plain.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    started = time.perf_counter()
    for line in lines:
        os.write(fd, line)
        os.fdatasync(fd)
    elapsed = time.perf_counter() - started
    os.close(fd)
    return len(lines) / elapsed


def threaded(log: AuditLog, events: list[AuditEvent], threads: int) -> float:
    """`threads` callers each appending one event at a time: events/s."""
    def work(k: int) -> None:
        for event in events[k::threads]:
            log.append(event)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(events) / (time.perf_counter() - started)


def _child(directory: str, pem: str, count: int, threads: int, tag: str, barrier, done) -> None:
    log = AuditLog(directory, Signer.load_or_create(Path(pem)))
    events = make_events(count, tag)
    barrier.wait()
    threaded(log, events, threads)
    done.put(count)


def processes(directory: Path, pem: Path, count: int, procs: int, threads: int) -> float:
    """`procs` processes with `threads` threads each, all on the same log: events/s."""
    ctx = mp.get_context("fork")
    barrier, done = ctx.Barrier(procs + 1), ctx.Queue()
    per = count // procs
    children = [ctx.Process(target=_child, args=(str(directory), str(pem), per, threads, f"p{k}", barrier, done))
                for k in range(procs)]
    for c in children:
        c.start()
    barrier.wait()
    started = time.perf_counter()
    total = sum(done.get(timeout=1200) for _ in children)
    elapsed = time.perf_counter() - started
    for c in children:
        c.join()
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--baseline-events", type=int, default=500)
    parser.add_argument("--big", type=Path, default=None, help="a log directory to copy and append to")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aod-bench-append-", dir="/var/tmp"))
    try:
        rows = run(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = rows[0][1]
    print(f"{'case':<52} {'events/s':>12} {'x baseline':>11}")
    for name, rate in rows:
        print(f"{name:<52} {rate:>12,.0f} {rate / base:>10.1f}x")


def run(root: Path, args) -> list[tuple[str, float]]:
    events = make_events(args.events)
    rows = [("baseline: plain file, fdatasync per event", baseline(root, events[:args.baseline_events]))]
    signer = Signer.generate()
    log = AuditLog(root / "t" / "audit", signer)
    log.append(events[0])
    rows.append((f"audit log, 1 thread (one event per append)",
                 threaded(log, events[1:1 + args.baseline_events], 1)))
    rows.append((f"audit log, {args.threads} threads (one event per append)",
                 threaded(log, events, args.threads)))
    pem = _write_key(root, signer)
    rows.append((f"audit log, {args.processes} processes x {args.threads // args.processes} threads",
                 processes(root / "t" / "audit", pem, args.events, args.processes, args.threads // args.processes)))
    batch = make_events(args.events, "b")
    started = time.perf_counter()
    for i in range(0, len(batch), 1000):
        log.append_many(batch[i:i + 1000])
    rows.append(("audit log, append_many of 1,000 events", len(batch) / (time.perf_counter() - started)))
    if args.big is not None and (args.big / "log.json").exists():
        big = root / "big" / "audit"
        shutil.copytree(args.big, big, ignore=shutil.ignore_patterns("index"))
        big_signer = Signer.load_or_create(args.big.parent / "bench-signer.pem")
        big_log = AuditLog(big, big_signer)
        size = big_log.size()
        rows.append((f"audit log of {size:,} events, {args.threads} threads",
                     threaded(big_log, make_events(args.events, "g"), args.threads)))
    return rows


def _write_key(root: Path, signer: Signer) -> Path:
    from cryptography.hazmat.primitives import serialization as s

    path = root / "key.pem"
    path.write_bytes(signer._key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    os.chmod(path, 0o600)
    return path


if __name__ == "__main__":
    main()
