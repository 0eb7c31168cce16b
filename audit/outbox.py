"""The transactional outbox: a state change and its audit event commit together.

    with conn:                                   # the caller's SQLite transaction
        conn.execute("UPDATE grants SET status = 'suspended' WHERE id = ?", (grant_id,))
        outbox.enqueue(conn, event)              # same transaction: both or neither
    outbox.flush(conn, log)                      # after commit: move queued events to the log

`flush` appends queued events in order, exactly once. Each flush first marks the events it
is about to append with the log's size (committed), then appends them, then deletes them.
A flush that finds marked events (its predecessor died between append and delete) looks
them up in the log from the marked size on, so events already appended are not appended
again. A file lock next to the database serialises flushes across threads and processes.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from audit.errors import AuditError
from audit.events import AuditEvent

TABLE = "audit_outbox"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,            -- the event's canonical JSON (raw-value guard passed)
    claimed_at_size INTEGER        -- log size when a flush last began appending it
)
"""
_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox table (idempotent)."""
    conn.execute(SCHEMA)


def enqueue(conn: sqlite3.Connection, event: AuditEvent,
            clock: Callable[[], datetime] | None = None) -> None:
    """Queue `event` inside the caller's open transaction. Sets the event's time now if it
    has none and runs the raw-value guard here, so a bad event fails the transaction."""
    if not isinstance(event, AuditEvent):
        raise AuditError("outbox.enqueue takes an AuditEvent")
    at = None if event.time else (clock or _utc_now)()
    body = event.canonical_json(at=at)
    event.check_no_raw_values(body)
    try:
        conn.execute(f"INSERT INTO {TABLE} (event_id, body) VALUES (?, ?)", (event.event_id, body))
    except sqlite3.IntegrityError:
        raise AuditError("this event (same event_id) is already queued") from None
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            raise AuditError("the audit outbox table is missing: call outbox.ensure_schema") from None
        raise


def pending(conn: sqlite3.Connection) -> int:
    return conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]


def flush(conn: sqlite3.Connection, log: Any) -> int:
    """Append queued events to `log` in order, exactly once; returns how many left the
    outbox. Call it after the transaction commits; safe from several processes at once."""
    if conn.in_transaction:
        raise AuditError("outbox.flush must run after the transaction commits")
    with _FlushLock(conn):
        rows = conn.execute(
            f"SELECT seq, event_id, body, claimed_at_size FROM {TABLE} ORDER BY seq").fetchall()
        if not rows:
            return 0
        done = _already_logged(log, rows)
        if done:
            _delete(conn, done)
        todo = [r for r in rows if r[0] not in done]
        if todo:
            _claim(conn, todo, _size(log))
            _append(log, [AuditEvent.from_json(r[2]) for r in todo])
            _delete(conn, {r[0] for r in todo})
        return len(rows)


def _already_logged(log: Any, rows: list) -> set[int]:
    """Outbox rows a dead flush appended before it could delete them."""
    claimed = [r for r in rows if r[3] is not None]
    find = getattr(log, "find_event_ids", None)
    if not claimed or find is None:
        return set()
    if hasattr(log, "sync"):
        log.sync()  # what we find must be durable before we forget the outbox copy
    found = find({r[1] for r in claimed}, min(r[3] for r in claimed))
    return {r[0] for r in claimed if r[1] in found}


def _size(log: Any) -> int | None:
    size = getattr(log, "size", None)
    return size() if callable(size) else None


def _append(log: Any, events: list[AuditEvent]) -> None:
    many = getattr(log, "append_many", None)
    if many is not None:
        many(events)
    else:
        for event in events:
            log.append(event)


def _claim(conn: sqlite3.Connection, rows: list, size: int | None) -> None:
    mark = size if size is not None else 0
    with _transaction(conn):
        conn.executemany(f"UPDATE {TABLE} SET claimed_at_size = ? WHERE seq = ?",
                         [(mark if r[3] is None else min(r[3], mark), r[0]) for r in rows])


def _delete(conn: sqlite3.Connection, seqs: set[int]) -> None:
    with _transaction(conn):
        conn.executemany(f"DELETE FROM {TABLE} WHERE seq = ?", [(s,) for s in sorted(seqs)])


class _transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *rest):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


class _FlushLock:
    """Serialise flushes of one database: a thread lock plus an flock on `<db>.audit-outbox.lock`."""

    def __init__(self, conn: sqlite3.Connection):
        path = _db_path(conn)
        self.lock_path = f"{path}.audit-outbox.lock" if path else None
        key = self.lock_path or f"memory:{id(conn)}"
        with _process_locks_guard:
            self.thread_lock = _process_locks.setdefault(key, threading.Lock())
        self.fd = -1

    def __enter__(self):
        self.thread_lock.acquire()
        try:
            if self.lock_path:
                self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.thread_lock.release()
            raise
        return self

    def __exit__(self, *exc):
        if self.fd >= 0:
            os.close(self.fd)  # closing the file releases the flock
            self.fd = -1
        self.thread_lock.release()


def _db_path(conn: sqlite3.Connection) -> str | None:
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return file or None
    return None


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


__all__ = ["ensure_schema", "enqueue", "flush", "pending"]
