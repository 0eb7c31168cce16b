"""The outbox: events commit with their state change and reach the log exactly once."""

from __future__ import annotations

import sqlite3

import pytest

from audit import AuditError, RawValueInEvent, outbox

from .conftest import make_event


@pytest.fixture
def conn(tmp_path):
    c = sqlite3.connect(tmp_path / "control.db", isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    outbox.ensure_schema(c)
    c.execute("CREATE TABLE grants (id TEXT PRIMARY KEY, status TEXT)")
    return c


def _change(conn, grant, status, event, fail=False):
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT OR REPLACE INTO grants VALUES (?, ?)", (grant, status))
        outbox.enqueue(conn, event)
        if fail:
            raise RuntimeError("the service failed after queueing")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def test_event_and_state_commit_together(conn, log):
    _change(conn, "g-1", "active", make_event(1))
    with pytest.raises(RuntimeError):
        _change(conn, "g-2", "active", make_event(2), fail=True)
    assert conn.execute("SELECT id FROM grants").fetchall() == [("g-1",)]
    assert outbox.pending(conn) == 1
    assert outbox.flush(conn, log) == 1
    assert outbox.pending(conn) == 0 and log.size() == 1


def test_flush_keeps_order_and_time_of_enqueue(conn, log, clock):
    events = [make_event(i) for i in range(5)]
    for i, event in enumerate(events):
        clock.advance(seconds=1)
        _change(conn, f"g-{i}", "active", event)
    clock.advance(hours=1)
    outbox.flush(conn, log)
    got = log.entries()
    assert [e.event.event_id for e in got] == [e.event_id for e in events]
    assert all(e.event.time is not None for e in got)


def test_enqueue_runs_the_raw_value_guard_and_fails_the_transaction(conn, log):
    with pytest.raises(RawValueInEvent):
        _change(conn, "g-1", "active", make_event(1, reason="phone 13812345678"))
    assert conn.execute("SELECT count(*) FROM grants").fetchone() == (0,)
    assert outbox.pending(conn) == 0


def test_flush_inside_a_transaction_is_refused(conn, log):
    conn.execute("BEGIN")
    with pytest.raises(AuditError, match="after the transaction commits"):
        outbox.flush(conn, log)
    conn.execute("ROLLBACK")


def test_a_flush_that_died_after_appending_is_not_repeated(conn, log):
    for i in range(3):
        _change(conn, f"g-{i}", "active", make_event(i))
    rows = conn.execute("SELECT seq, event_id, body FROM audit_outbox ORDER BY seq").fetchall()
    # what a dead flush leaves: rows claimed at size 0, events appended, rows not deleted
    conn.execute("UPDATE audit_outbox SET claimed_at_size = 0")
    from audit import AuditEvent

    log.append_many([AuditEvent.from_json(r[2]) for r in rows[:2]])
    assert outbox.flush(conn, log) == 3
    ids = [e.event.event_id for e in log.entries()]
    assert ids == [r[1] for r in rows] and len(set(ids)) == 3


def test_missing_schema_is_a_clear_error(tmp_path):
    c = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    with pytest.raises(AuditError, match="ensure_schema"):
        outbox.enqueue(c, make_event(1))


def test_a_duck_typed_log_with_only_append_works(conn):
    class MemoryLog:
        def __init__(self):
            self.events = []

        def append(self, event):
            self.events.append(event)

    memory = MemoryLog()
    _change(conn, "g-1", "active", make_event(1))
    assert outbox.flush(conn, memory) == 1 and len(memory.events) == 1
