"""A writer killed with SIGKILL at random moments, again and again: no acknowledged event is
ever lost, a torn last record is repaired (and kept in quarantine), and the log verifies."""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest

from audit import AuditLog
from tests.integration.audit.children import open_log
from tests.integration.audit.support import acks, spawn

ROUNDS = 20


def _run_and_kill(directory: str, tag: str, rng: random.Random) -> dict[int, str]:
    proc = spawn("append", directory, tag, "4", "0")  # appends until killed
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not lines and time.monotonic() < deadline:  # wait until it is really appending
        time.sleep(0.02)
    assert lines, "the writer never acknowledged an event: " + proc.stderr.read()[-2000:]
    time.sleep(rng.uniform(0.0, 0.6))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    reader.join(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return acks("".join(lines))


@pytest.mark.slow
def test_sigkill_during_appends_loses_nothing_acknowledged(tmp_path):
    rng = random.Random(2026)
    directory = str(tmp_path / "audit")
    open_log(directory)
    acked: dict[int, str] = {}
    for round_no in range(ROUNDS):
        got = _run_and_kill(directory, f"r{round_no}-", rng)
        assert not set(got) & set(acked), "an index was handed out twice"
        acked.update(got)
        log = open_log(directory)  # a fresh writer: repairs a torn tail, finishes tree heads
        log.sync()
        for index, event_id in got.items():
            assert log.entry(index).event.event_id == event_id, f"acknowledged event #{index} lost"
        log.close()
    log = open_log(directory)
    log.checkpoint()
    report = AuditLog.reader(directory).verify(workers=1)
    assert report.size >= len(acked) > 0
    assert all(log.entry(i).event.event_id == e for i, e in acked.items())
    repairs = [e for e in log.query(action="audit.repair")]
    quarantined = list((tmp_path / "audit" / "quarantine").glob("*.bin")) if (tmp_path / "audit" / "quarantine").exists() else []
    assert len(repairs) == len(quarantined)
    print(f"{ROUNDS} kills, {len(acked)} acknowledged events kept, {len(repairs)} torn tails repaired")
