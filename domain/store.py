"""The control-plane store: SQLite in WAL mode behind a small data-access layer.

Every state change runs in `Store.transaction()`; its audit events are queued in the same
SQLite transaction (`Tx.audit`, the audit package's outbox) and moved to the tamper-evident
log right after commit. A state change and its event therefore commit together or not at all.

Packages that keep state here expose an ordered list of migrations; `Store.migrate` applies
the missing ones, each in its own transaction, recorded in `schema_migrations`.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from domain.clock import Clock, iso

Migrations = Sequence[tuple[str, Sequence[str]]]  # (package, [sql script, ...])


class Tx:
    """A write transaction: SQL plus the audit events that must commit with it."""

    def __init__(self, conn: sqlite3.Connection, now: Callable[[], Any]):
        self.conn = conn
        self.now = now
        self.events = 0

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def audit(self, event: Any) -> None:
        from audit import outbox

        outbox.enqueue(self.conn, event)
        self.events += 1


class Store:
    def __init__(self, path: Path, clock: Clock, audit_log: Any = None):
        self.path = path
        self.clock = clock
        self.audit_log = audit_log
        self._local = threading.local()

    # -- connections -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA secure_delete=ON")  # destroyed keys are overwritten, not left in free pages
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        tx = Tx(conn, self.clock)
        try:
            yield tx
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if tx.events:
            self.flush_audit()

    def flush_audit(self) -> int:
        """Move queued audit events to the log. Safe to call any time, from any process."""
        if self.audit_log is None:
            return 0
        from audit import outbox

        return outbox.flush(self._conn(), self.audit_log)

    def one(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Row | None:
        return self._conn().execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] | dict = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    # -- migrations --------------------------------------------------------------------
    def migrate(self, migrations: Migrations) -> list[str]:
        conn = self._conn()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " package TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,"
            " PRIMARY KEY (package, version))"
        )
        applied: list[str] = []
        for package, scripts in migrations:
            for version, script in enumerate(scripts, start=1):
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE package=? AND version=?",
                    (package, version),
                ).fetchone()
                if done:
                    continue
                self._apply(conn, package, version, script)
                applied.append(f"{package}:{version}")
        return applied

    def _apply(self, conn: sqlite3.Connection, package: str, version: int, script: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(script):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (package, version, applied_at) VALUES (?, ?, ?)",
                (package, version, iso(self.clock())),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements (sqlite3.complete_statement)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
