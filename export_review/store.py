"""export_review's tables in the domain's control plane (`control.db`), as ordered migrations
the domain applies (`Store.migrate([("export_review", MIGRATIONS)])`). Never edit a shipped one.

History and votes are append-only (triggers refuse UPDATE and DELETE). `SqliteStore` is a
small unit of work with the same surface as the domain's store, for tests and standalone use.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

MIGRATIONS: list[str] = [
    """
    CREATE TABLE export_requests (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        org TEXT NOT NULL,
        requester TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        scenario TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        product_name TEXT NOT NULL,
        product_sha256 TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        check_status TEXT,
        status_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX export_requests_by_status ON export_requests(status);
    CREATE INDEX export_requests_by_org ON export_requests(org);
    CREATE TABLE export_checks (
        request_id TEXT NOT NULL REFERENCES export_requests(id),
        version INTEGER NOT NULL,
        rule TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT NOT NULL,
        ran_at TEXT NOT NULL,
        PRIMARY KEY (request_id, version, rule)
    );
    CREATE TABLE export_votes (
        request_id TEXT NOT NULL REFERENCES export_requests(id),
        version INTEGER NOT NULL,
        reviewer TEXT NOT NULL,
        reviewer_org TEXT,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        PRIMARY KEY (request_id, version, reviewer)
    );
    CREATE TABLE export_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL REFERENCES export_requests(id),
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT,
        at TEXT NOT NULL
    );
    CREATE TABLE export_releases (
        request_id TEXT PRIMARY KEY REFERENCES export_requests(id),
        file_name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        manifest TEXT NOT NULL,
        released_by TEXT NOT NULL,
        released_at TEXT NOT NULL
    );
    CREATE TABLE export_apis (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES export_requests(id),
        spec TEXT NOT NULL,
        status TEXT NOT NULL,
        published_at TEXT NOT NULL
    );
    CREATE TRIGGER export_history_no_update BEFORE UPDATE ON export_history
        BEGIN SELECT RAISE(ABORT, 'export_history is append-only'); END;
    CREATE TRIGGER export_history_no_delete BEFORE DELETE ON export_history
        BEGIN SELECT RAISE(ABORT, 'export_history is append-only'); END;
    CREATE TRIGGER export_votes_no_update BEFORE UPDATE ON export_votes
        BEGIN SELECT RAISE(ABORT, 'export_votes are final'); END;
    CREATE TRIGGER export_votes_no_delete BEFORE DELETE ON export_votes
        BEGIN SELECT RAISE(ABORT, 'export_votes are final'); END;
    CREATE TRIGGER export_releases_no_update BEFORE UPDATE ON export_releases
        BEGIN SELECT RAISE(ABORT, 'export_releases are final'); END;
    """,
]


class _Tx:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.events = 0

    def audit(self, event: Any) -> None:
        from audit import outbox

        outbox.enqueue(self.conn, event)
        self.events += 1


class SqliteStore:
    """A unit of work over one SQLite file: `transaction()` (BEGIN IMMEDIATE … COMMIT, then the
    queued audit events are flushed to `audit_log`), `one()` and `all()` for reads."""

    def __init__(self, path: Path | str, audit_log: Any = None):
        self.path = Path(path)
        self.audit_log = audit_log
        self._local = threading.local()
        from audit import outbox

        conn = self._conn()
        outbox.ensure_schema(conn)
        self.migrate(conn)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (package TEXT NOT NULL, "
                     "version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (package, version))")
        for version, script in enumerate(MIGRATIONS, start=1):
            if conn.execute("SELECT 1 FROM schema_migrations WHERE package='export_review' AND version=?",
                            (version,)).fetchone():
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES ('export_review', ?, datetime('now'))",
                             (version,))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        tx = _Tx(conn)
        try:
            yield tx
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if tx.events and self.audit_log is not None:
            from audit import outbox

            outbox.flush(conn, self.audit_log)

    def one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        return self._conn().execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _statements(script: str) -> list[str]:
    out, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
    return out + ([buffer.strip()] if buffer.strip() else [])


Clock = Callable[[], Any]
