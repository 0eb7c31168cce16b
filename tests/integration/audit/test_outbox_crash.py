"""The outbox's crash window, for real: a process killed between appending to the log and
deleting from the outbox (or before appending) does not lose or duplicate events; several
processes flushing at once append each event exactly once."""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter

import pytest

from audit import outbox

from .children import open_log
from .support import spawn


@pytest.mark.parametrize("die", ["after_append", "before_append"])
def test_a_flush_killed_mid_way_is_finished_exactly_once(tmp_path, die):
    directory, db = str(tmp_path / "audit"), str(tmp_path / "control.db")
    open_log(directory)
    proc = spawn("outbox", directory, db, "25", die)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    assert "FLUSHED" not in out
    conn = sqlite3.connect(db, isolation_level=None)
    assert outbox.pending(conn) == 25  # the dead flush never deleted its rows
    log = open_log(directory)
    assert log.size() == (25 if die == "after_append" else 0)
    assert outbox.flush(conn, log) == 25
    assert outbox.pending(conn) == 0
    ids = [e.event.event_id for e in log.entries()]
    assert len(ids) == 25 and len(set(ids)) == 25
    assert [int(i.split("-")[1]) for i in ids] == list(range(25))  # in queue order
    log.verify(workers=1)


@pytest.mark.slow
def test_concurrent_flushers_append_every_event_once(tmp_path):
    directory, db = str(tmp_path / "audit"), str(tmp_path / "control.db")
    open_log(directory)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    outbox.ensure_schema(conn)
    procs = [spawn("flusher", directory, db, tag, "40") for tag in ("p", "q", "r")]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0 and "DONE" in out, err[-2000:]
    log = open_log(directory)
    counts = Counter(e.event.event_id for e in log.entries())
    assert len(counts) == 120 and set(counts.values()) == {1}
    assert outbox.pending(conn) == 0
    log.verify(workers=1)
