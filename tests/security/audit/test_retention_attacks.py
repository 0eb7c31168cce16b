"""Retention cannot be bypassed: not by settings, not by a moved clock, not by hand."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from audit import AuditConfigError, AuditLog, AuditVerificationError
from audit.checkpoint import Signer
from audit.retention import Anchor
from tests.unit.audit.conftest import Clock, make_event, open_log


def test_settings_file_below_the_floor_blocks_everything(tmp_path):
    log = AuditLog.for_home(tmp_path)
    log.append(make_event(1))
    settings = json.loads(log.paths.settings.read_text())
    settings["retention_days"] = 7
    log.paths.settings.write_text(json.dumps(settings))
    with pytest.raises(AuditConfigError, match="below the legal floor"):
        AuditLog.for_home(tmp_path).prune()
    with pytest.raises(AuditConfigError):
        log.prune()  # an open log re-reads changed settings


def test_pruning_with_a_clock_moved_forward_is_caught(tmp_path):
    signer = Signer.generate()
    real_now = datetime.now(timezone.utc)
    fake = Clock(real_now + timedelta(days=200))
    log = open_log(tmp_path / "audit", signer, Clock(real_now))
    log.append_many([make_event(i) for i in range(40)])
    forged = open_log(tmp_path / "audit", signer, fake)
    forged.prune()  # the writer's own clock says 200 days passed
    with pytest.raises(AuditVerificationError) as err:
        AuditLog.reader(tmp_path / "audit").verify()  # the regulator's clock says otherwise
    assert any("future" in p.what for p in err.value.problems)


def _aged(tmp_path):
    clock = Clock()
    log = open_log(tmp_path / "audit", Signer.generate(), clock)
    log.append_many([make_event(i) for i in range(40)])
    clock.advance(days=181)
    log.append_many([make_event(i) for i in range(30)])
    return log, clock


def test_an_anchor_widened_by_hand_is_caught(tmp_path):
    log, clock = _aged(tmp_path)
    log.prune()  # legitimately prunes [0, 32)
    anchor = json.loads(log.paths.anchor.read_text())
    roots = [bytes.fromhex(r) for r in anchor["segment_roots"]] + [log.verified_segment_root(32)]
    wider = Anchor(48, tuple(roots), log.checkpoint_at(48), anchor["prune_event"])
    log.paths.anchor.write_bytes(wider.to_json())
    log.paths.segment(32).unlink()
    with pytest.raises(AuditVerificationError) as err:
        AuditLog.reader(tmp_path / "audit", clock=clock).verify()
    assert any(p.step == "retention" for p in err.value.problems)


def test_deleting_the_oldest_segment_by_hand_is_caught(tmp_path):
    log, clock = _aged(tmp_path)
    log.paths.segment(0).unlink()
    with pytest.raises(AuditVerificationError) as err:
        AuditLog.reader(tmp_path / "audit", clock=clock).verify()
    assert err.value.first.segment == "000000000000"


def test_restoring_an_old_copy_after_a_prune_does_not_fool_verify(tmp_path):
    log, clock = _aged(tmp_path)
    backup = tmp_path / "backup"
    shutil.copytree(log.paths.root, backup)
    log.prune()
    log.append(make_event(999))
    AuditLog.reader(tmp_path / "audit", clock=clock).verify()
    # splicing the pre-prune segments back in is noticed, not silently accepted
    shutil.copy(backup / "segments" / "000000000000.jsonl", log.paths.segment(0))
    report = AuditLog.reader(tmp_path / "audit", clock=clock).verify()
    assert any("pruned prefix" in n for n in report.notes)
