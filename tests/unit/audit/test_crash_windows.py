"""A writer that dies at any point of a batch spanning a segment boundary leaves a log the
next writer repairs and continues, and that verifies: no window where the next segment exists
while the current one is incomplete (seen as a flaky kill -9 test under load)."""

from __future__ import annotations

import os

import pytest

from audit import records
from audit import store as store_module

from .conftest import make_event, open_log


class SimulatedCrash(BaseException):
    """Stands in for SIGKILL: nothing on the failure path touches the files."""


def _crash_on_encode_of(index: int, monkeypatch) -> None:
    real = records.encode

    def encode(body, leaf, logged):
        if leaf == index:
            raise SimulatedCrash()
        return real(body, leaf, logged)

    monkeypatch.setattr(records, "encode", encode)


def _crash_in_write(nth: int, fraction: float, monkeypatch) -> None:
    """The batch's nth write of records writes `fraction` of its bytes, then the process dies."""
    real, calls = os.pwrite, []

    def pwrite(fd, data, offset):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".jsonl"):
            calls.append(1)
        if len(calls) == nth:
            if fraction:
                real(fd, data[: int(len(data) * fraction)], offset)
            raise SimulatedCrash()
        return real(fd, data, offset)

    monkeypatch.setattr(store_module.os, "pwrite", pwrite)


WINDOWS = {
    "encoding the next segment's first record": lambda mp: _crash_on_encode_of(16, mp),
    "encoding the next segment's second record": lambda mp: _crash_on_encode_of(17, mp),
    "before the current segment's write": lambda mp: _crash_in_write(1, 0.0, mp),
    "part-way through the current segment's write": lambda mp: _crash_in_write(1, 0.37, mp),
    "between the two segments' writes": lambda mp: _crash_in_write(2, 0.0, mp),
    "part-way through the next segment's write": lambda mp: _crash_in_write(2, 0.37, mp),
}


@pytest.mark.parametrize("window", list(WINDOWS))
def test_a_crash_in_a_batch_across_a_segment_boundary_is_repaired(window, tmp_path, signer, clock,
                                                                  monkeypatch):
    log = open_log(tmp_path / "audit", signer, clock)
    log.append_many([make_event(i) for i in range(12)])  # durable: #0..#11
    with monkeypatch.context() as mp:
        WINDOWS[window](mp)
        with pytest.raises(SimulatedCrash):
            log.append_many([make_event(i) for i in range(12, 20)])  # #12..#19 spans #16
    log.close()

    fresh = open_log(tmp_path / "audit", signer, clock)
    receipts = fresh.append_many([make_event(100 + i) for i in range(30)])
    assert [e.event.details["n"] for e in fresh.entries(0, 12)] == list(range(12))
    assert receipts[-1].index == receipts[0].index + 29
    fresh.checkpoint()
    report = fresh.verify(workers=1)
    assert report.size == fresh.size() > receipts[-1].index  # + the audit.repair event, if any
    assert [e.event.details.get("n") for e in fresh.entries(receipts[0].index, receipts[-1].index + 1)] == \
        list(range(100, 130))


@pytest.mark.parametrize("window", list(WINDOWS))
def test_the_log_a_crash_leaves_verifies_before_any_repair(window, tmp_path, signer, clock,
                                                            monkeypatch):
    """A regulator may verify before any writer has come back: not-yet-repaired torn tails
    are notes, never errors; nothing acknowledged is missing."""
    log = open_log(tmp_path / "audit", signer, clock)
    log.append_many([make_event(i) for i in range(12)])
    with monkeypatch.context() as mp:
        WINDOWS[window](mp)
        with pytest.raises(SimulatedCrash):
            log.append_many([make_event(i) for i in range(12, 20)])
    log.close()
    from audit import AuditLog

    report = AuditLog.reader(tmp_path / "audit").verify(workers=1)
    assert report.size >= 12


def test_an_empty_next_segment_left_by_an_older_writer_is_not_mistaken_for_records(
        tmp_path, signer, clock):
    log = open_log(tmp_path / "audit", signer, clock)
    log.append_many([make_event(i) for i in range(12)])
    log.close()
    with open(log.paths.segment(0), "ab") as fh:
        fh.write(b'{"event":{"action":"query.run"')  # torn record
    log.paths.segment(16).touch()                   # empty file of the next segment
    from audit import AuditLog

    report = AuditLog.reader(tmp_path / "audit").verify(workers=1)
    assert report.size == 12 and any("empty file" in n for n in report.notes)
    fresh = open_log(tmp_path / "audit", signer, clock)
    fresh.append_many([make_event(100 + i) for i in range(10)])  # repairs, fills #12.. past #16
    fresh.checkpoint()
    assert fresh.verify(workers=1).size == fresh.size() >= 22
