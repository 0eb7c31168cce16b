"""Several processes (each with threads) append to one log at once: nothing is lost,
interleaved or duplicated, and the log verifies."""

from __future__ import annotations

import pytest

from audit import AuditLog

from .children import open_log
from .support import acks, spawn


@pytest.mark.slow
def test_processes_and_threads_append_concurrently(tmp_path):
    directory = str(tmp_path / "audit")
    open_log(directory)  # create the log (and its key) once
    procs = [spawn("append", directory, tag, "3", "60") for tag in ("a", "b", "c")]
    acked: dict[int, str] = {}
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        got = acks(out)
        assert not set(got) & set(acked), "two processes were given the same leaf index"
        acked.update(got)
    log = AuditLog.reader(directory)
    assert len(acked) == log.size() and sorted(acked) == list(range(log.size()))
    for entry in log.entries():
        assert entry.event.event_id == acked[entry.index]
    report = log.verify(workers=1)
    assert report.size == len(acked)
    assert report.tree_heads >= len(acked) // 16  # a tree head at every segment boundary at least
