"""Child processes for the crash and concurrency tests (run as `python -m ...children MODE`).

Every appender prints `ACK <index> <event_id>` only after `append` returned, i.e. after its
event is durable, and flushes stdout, so whatever the parent has read was acknowledged.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import sys
import threading
import uuid
from pathlib import Path

from audit import Action, Actor, AuditEvent, AuditLog, Ref, outbox
from audit.checkpoint import Signer

_print_lock = threading.Lock()


def event(tag: str, n: int) -> AuditEvent:
    return AuditEvent(action=Action.QUERY_RUN, actor=Actor(f"staff-{tag}", "operator_staff"),
                      org=f"op-{tag}", inputs=(Ref("dataset", "population"),),
                      details={"n": n, "pad": "x" * random.randrange(0, 600)},
                      event_id=f"{tag}-{n}-{uuid.uuid4().hex[:8]}")


def ack(receipts, events) -> None:
    with _print_lock:
        for r, e in zip(receipts, events):
            sys.stdout.write(f"ACK {r.index} {e.event_id}\n")
        sys.stdout.flush()


def open_log(directory: str) -> AuditLog:
    signer = Signer.load_or_create(Path(directory).parent / "signing.pem")
    return AuditLog(directory, signer, segment_events=16)


def appender(directory: str, tag: str, threads: int, per_thread: int) -> None:
    """Append events from several threads, random batch sizes; ACK each one."""
    log = open_log(directory)

    def work(k: int) -> None:
        n = 0
        while per_thread <= 0 or n < per_thread:
            size = random.choice((1, 1, 1, 3, 7, 20))
            batch = [event(f"{tag}{k}", n + i) for i in range(size)]
            ack(log.append_many(batch), batch)
            n += size

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def outbox_writer(directory: str, db: str, count: int, die: str) -> None:
    """Queue `count` events in transactions, then flush, dying at the `die` point."""
    log = open_log(directory)
    conn = sqlite3.connect(db, isolation_level=None)
    outbox.ensure_schema(conn)
    for n in range(count):
        conn.execute("BEGIN IMMEDIATE")
        outbox.enqueue(conn, event("ob", n))
        conn.execute("COMMIT")
    real = AuditLog.append_many

    def dying(self, events):
        if die == "before_append":
            os.kill(os.getpid(), signal.SIGKILL)
        receipts = real(self, events)
        if die == "after_append":
            os.kill(os.getpid(), signal.SIGKILL)
        return receipts

    AuditLog.append_many = dying
    outbox.flush(conn, log)
    print("FLUSHED", flush=True)


def outbox_flusher(directory: str, db: str, tag: str, count: int) -> None:
    """Queue and flush concurrently with other processes doing the same."""
    log = open_log(directory)
    conn = sqlite3.connect(db, isolation_level=None, timeout=60)
    conn.execute("PRAGMA busy_timeout=60000")
    outbox.ensure_schema(conn)
    for n in range(count):
        conn.execute("BEGIN IMMEDIATE")
        outbox.enqueue(conn, event(tag, n))
        conn.execute("COMMIT")
        outbox.flush(conn, log)
    print("DONE", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "append":
        appender(args[0], args[1], int(args[2]), int(args[3]))
    elif mode == "outbox":
        outbox_writer(args[0], args[1], int(args[2]), args[3])
    elif mode == "flusher":
        outbox_flusher(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")
