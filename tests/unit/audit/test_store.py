"""The appender: receipts, segments, tree heads, reopening, repair and fail-closed damage."""

from __future__ import annotations

import json
import os
import threading

import pytest

from audit import Action, AuditCorrupted, AuditLog, ReadOnlyLog
from audit.merkle import hash_leaf, root_of

from .conftest import T0, make_event, open_log


def test_receipts_are_contiguous_and_hash_the_stored_record(log):
    receipts = log.append_many([make_event(i) for i in range(5)])
    assert [r.index for r in receipts] == list(range(5))
    for r in receipts:
        line = log.entry_line(r.index)
        assert hash_leaf(line) == r.leaf_hash
        assert log.entry(r.index).event.details == {"n": r.index}
    assert receipts[0].time == T0


def test_a_missing_time_is_the_logs_time(log, clock):
    event = make_event(1)
    assert event.time is None
    log.append(event)
    assert log.entry(0).event.time == clock.now


def test_segments_seal_with_a_tree_head_at_every_boundary(log):
    log.append_many([make_event(i) for i in range(40)])
    assert log.paths.segment_firsts() == [0, 16, 32]
    sizes = log.checkpoint_sizes()
    assert 16 in sizes and 32 in sizes
    roots = log.paths.roots.read_bytes()
    assert roots[:32] == root_of([e.leaf_hash for e in log.entries(0, 16)])
    for size in sizes:
        assert log.checkpoint_at(size).root == root_of([e.leaf_hash for e in log.entries(0, size)])


def test_tree_heads_every_n_events_and_every_t_seconds(log, clock):
    log.update_settings(checkpoint_every_events=5, checkpoint_every_seconds=60)
    log.append(make_event(0))
    before = set(log.checkpoint_sizes())
    for i in range(4):
        log.append(make_event(i))
    assert log.size() - max(log.checkpoint_sizes()) < 5
    log.append_many([make_event(i) for i in range(6)])
    assert max(log.checkpoint_sizes()) == log.size() and set(log.checkpoint_sizes()) > before
    clock.advance(seconds=61)
    log.append(make_event(99))
    assert max(log.checkpoint_sizes()) == log.size()


def test_tree_heads_chain_to_each_other(log):
    for i in range(40):
        log.append(make_event(i))
    heads = [log.checkpoint_at(s) for s in log.checkpoint_sizes()]
    for prev, head in zip(heads, heads[1:]):
        assert head.checkpoint.prev == (prev.size, prev.note_hash())
    assert heads[0].checkpoint.prev is None


def test_reopening_continues_the_log(tmp_path, signer, clock):
    first = open_log(tmp_path / "audit", signer, clock)
    first.append_many([make_event(i) for i in range(20)])
    first.close()
    second = open_log(tmp_path / "audit", signer, clock)
    assert second.append(make_event(20)).index == 20
    second.verify()


def test_logged_time_never_goes_backwards(log, clock):
    log.append(make_event(0))
    clock.advance(hours=-5)
    log.append(make_event(1))
    assert log.entry(1).logged == log.entry(0).logged


def test_two_writers_on_one_log_interleave_safely(tmp_path, signer, clock):
    a = open_log(tmp_path / "audit", signer, clock)
    b = open_log(tmp_path / "audit", signer, clock)
    got = []
    for i in range(25):
        got.append((a if i % 2 else b).append(make_event(i)).index)
    assert got == list(range(25))
    assert [e.event.details["n"] for e in a.entries()] == list(range(25))
    a.verify()


def test_threads_share_group_commits(log):
    indexes: list[int] = []
    lock = threading.Lock()

    def work(k):
        for i in range(30):
            r = log.append(make_event(k * 100 + i))
            with lock:
                indexes.append(r.index)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(indexes) == list(range(240))
    log.verify()


def test_a_torn_last_record_is_repaired_quarantined_and_recorded(log, signer, clock, tmp_path):
    log.append_many([make_event(i) for i in range(5)])
    seg = log.paths.segment(0)
    torn = b'{"event":{"action":"query.run","actor":{"id":"x'
    with open(seg, "ab") as fh:
        fh.write(torn)
    fresh = open_log(tmp_path / "audit", signer, clock)
    assert fresh.append(make_event(5)).index == 5
    quarantined = list(log.paths.quarantine.iterdir())
    assert [q.read_bytes() for q in quarantined] == [torn]
    repairs = fresh.query(action="audit.repair")
    assert len(repairs) == 1 and repairs[0].event.details["bytes"] == len(torn)
    assert [e.event.details.get("n") for e in fresh.entries(0, 6)] == [0, 1, 2, 3, 4, 5]
    fresh.verify()


def test_damage_followed_by_good_records_is_not_repaired(log, signer, clock, tmp_path):
    log.append(make_event(0))  # the first append signs a tree head at size 1
    for i in range(1, 7):
        log.append(make_event(i))  # these stay after the last tree head (N=1000, T=60 s)
    assert max(log.checkpoint_sizes()) == 1
    seg = log.paths.segment(0)
    lines = seg.read_bytes().split(b"\n")
    lines[4] = b"garbage"
    seg.write_bytes(b"\n".join(lines))
    with pytest.raises(AuditCorrupted, match="followed by good ones"):
        open_log(tmp_path / "audit", signer, clock).append(make_event(9))
    assert seg.read_bytes().split(b"\n")[4] == b"garbage"  # nothing silently dropped


def test_damaged_node_files_are_rebuilt_from_the_records(log, signer, clock, tmp_path):
    log.append_many([make_event(i) for i in range(40)])
    for first in log.paths.segment_firsts():
        log.paths.tree(first).write_bytes(b"\0" * 64)
    log.paths.roots.write_bytes(b"")
    fresh = open_log(tmp_path / "audit", signer, clock)
    fresh.append(make_event(40))
    fresh.verify()
    fresh.prove_inclusion(3).verify(fresh.public_key)
    fresh.prove_inclusion(33).verify(fresh.public_key)


def test_records_missing_under_a_tree_head_fail_closed(log, signer, clock, tmp_path):
    log.append_many([make_event(i) for i in range(10)])
    log.checkpoint()
    seg = log.paths.segment(0)
    seg.write_bytes(b"".join(seg.read_bytes().splitlines(keepends=True)[:7]))
    with pytest.raises(AuditCorrupted):
        open_log(tmp_path / "audit", signer, clock).append(make_event(11))


def test_a_reader_cannot_write(log, tmp_path):
    log.append(make_event(0))
    reader = AuditLog.reader(tmp_path / "audit")
    with pytest.raises(ReadOnlyLog):
        reader.append(make_event(1))
    assert reader.size() == 1 and len(reader.query()) == 1


def test_a_durable_mark_from_another_boot_is_ignored(log, monkeypatch):
    log.append(make_event(0))
    (log.paths.root / "durable").write_text("not-this-boot 999999".ljust(63) + "\n")
    synced = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (synced.append(fd), real(fd)))
    log.append(make_event(1))
    assert synced, "the append trusted a stale durable mark and skipped its fsync"


def test_identity_and_settings_files(log):
    identity = json.loads(log.paths.identity.read_text())
    assert identity["segment_events"] == 16 and identity["origin"] == log.signer.name
    assert json.loads(log.paths.settings.read_text())["retention_days"] == 180


def test_update_settings_is_audited(log):
    log.update_settings(retention_days=365)
    assert log.settings.retention_days == 365
    (entry,) = log.query(action=Action.CONFIG_CHANGE)
    assert entry.event.details["changed"]["retention_days"] == {"from": 180, "to": 365}


def test_a_file_lock_first_taken_by_many_threads_at_once_opens_one_fd(tmp_path, monkeypatch):
    """Threads racing to open the lock file used to open one fd each; flocks on two fds of
    one process exclude each other, and the release unlocked the wrong one (a deadlock)."""
    import time

    from audit import locks

    real_open = os.open

    def slow_open(*args, **kw):  # widens the race window the way a loaded machine does
        time.sleep(0.02)
        return real_open(*args, **kw)

    monkeypatch.setattr(locks.os, "open", slow_open)
    lock = locks.FileLock(tmp_path / "x.lock")
    start, count = threading.Barrier(8), []

    def take():
        start.wait()
        for _ in range(20):
            with lock:
                count.append(1)

    threads = [threading.Thread(target=take, daemon=True) for _ in range(8)]
    [t.start() for t in threads]
    [t.join(timeout=10) for t in threads]
    assert not any(t.is_alive() for t in threads), "threads deadlocked on the file lock"
    assert len(count) == 160
    assert len([fd for fd in os.listdir("/proc/self/fd")
                if os.path.realpath(f"/proc/self/fd/{fd}") == str(tmp_path / "x.lock")]) == 1
    lock.close()
