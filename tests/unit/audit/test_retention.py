"""Retention: whole sealed segments older than the retention (never under 180 days) are
pruned, the pruning is an event, and the rest still verifies from the anchor."""

from __future__ import annotations

import json

import pytest

from audit import Action, AuditConfigError, AuditLog, ProofError, RetentionError
from audit.layout import RETENTION_FLOOR_DAYS, Settings

from .conftest import make_event, open_log


@pytest.fixture
def aged(log, clock):
    log.append_many([make_event(i) for i in range(40)])
    clock.advance(days=181)
    log.append_many([make_event(100 + i) for i in range(30)])
    return log


def test_prune_removes_old_sealed_segments_and_stays_verifiable(aged):
    result = aged.prune()
    assert result["pruned_upto"] == 32 and result["segments"] == 2
    assert aged.paths.segment_firsts() == [32, 48, 64]
    assert min(aged.checkpoint_sizes()) == 32
    anchor = json.loads(aged.paths.anchor.read_text())
    assert anchor["size"] == 32 and len(anchor["segment_roots"]) == 2
    (prune_event,) = aged.query(action=Action.AUDIT_PRUNE)
    assert prune_event.index == anchor["prune_event"]
    assert prune_event.event.details["pruned_upto"] == 32
    report = aged.verify()
    assert report.first_index == 32 and report.size == aged.size()
    aged.prove_inclusion(40).verify(aged.public_key)
    aged.prove_consistency(32).verify(aged.public_key)
    with pytest.raises(ProofError):
        aged.prove_inclusion(5)
    with pytest.raises(ProofError):
        aged.prove_consistency(10)
    assert [e.index for e in aged.query()][0] == 32


def test_a_second_prune_extends_the_anchor(aged, clock):
    aged.prune()
    aged.append_many([make_event(200 + i) for i in range(20)])
    clock.advance(days=200)
    aged.append_many([make_event(300 + i) for i in range(20)])
    aged.prune()
    anchor = json.loads(aged.paths.anchor.read_text())
    assert anchor["size"] > 32 and len(anchor["segment_roots"]) == anchor["size"] // 16
    aged.verify()


def test_nothing_younger_than_the_retention_is_pruned(log, clock):
    log.append_many([make_event(i) for i in range(40)])
    clock.advance(days=RETENTION_FLOOR_DAYS - 1)
    with pytest.raises(RetentionError, match="nothing to prune"):
        log.prune()
    assert log.paths.segment_firsts() == [0, 16, 32]


def test_a_longer_configured_retention_is_respected(aged):
    aged.update_settings(retention_days=365)
    with pytest.raises(RetentionError):
        aged.prune()


def test_the_open_segment_is_never_pruned(log, clock):
    log.append_many([make_event(i) for i in range(10)])
    clock.advance(days=1000)
    with pytest.raises(RetentionError):
        log.prune()


@pytest.mark.parametrize("days", [0, 30, 179, -5])
def test_the_floor_cannot_be_lowered(tmp_path, signer, clock, days):
    log = open_log(tmp_path / "audit", signer, clock)
    with pytest.raises(AuditConfigError, match="floor"):
        log.update_settings(retention_days=days)
    assert log.settings.retention_days == 180
    with pytest.raises(AuditConfigError):
        Settings(retention_days=days)
    log.paths.settings.write_text(json.dumps({"retention_days": days, "checkpoint_every_events": 1000,
                                              "checkpoint_every_seconds": 60}))
    with pytest.raises(AuditConfigError, match="refusing"):
        open_log(tmp_path / "audit", signer, clock)


def test_a_prune_needs_the_signing_key(aged, tmp_path):
    from audit import ReadOnlyLog

    with pytest.raises(ReadOnlyLog):
        AuditLog.reader(tmp_path / "audit").prune()
