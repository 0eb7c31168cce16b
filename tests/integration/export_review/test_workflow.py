"""The review workflow end to end through the real service, store, engine and checks."""

from __future__ import annotations

import sqlite3

import pyarrow.csv as pcsv
import pytest

from export_review.errors import (
    ChecksNotPassed, InvalidInput, ManifestInvalid, PermissionDenied, WatermarkNotFound,
)
from export_review.product_io import read_table
from export_review.testing.planted import bad_tables, good_tables, write_metadata
from export_review.workflow.status import RequestStatus as S
from tests.integration.export_review.fixtures import (
    ADMIN, ALICE, BOB, GRANT, INSIDER, MALLORY, REGULATOR, RITA, ROB, SCENARIO,
)


def _outcome(event):
    value = event.get("outcome") if isinstance(event, dict) else event.outcome
    return str(getattr(value, "value", value))


def _action(event):
    value = event.get("action") if isinstance(event, dict) else event.action
    return str(getattr(value, "value", value))


def _good(world, index=0):
    planted = good_tables(world.raw, world.products)[index]
    write_metadata(planted.product)
    return planted.product.path


def _submit(world, path, who=ALICE, scenario=SCENARIO):
    return world.service.submit(who, grant_id=GRANT.id, scenario=scenario, kind="data_package", file=path)


def _approved(world):
    req = _submit(world, _good(world))
    assert req.status == S.UNDER_REVIEW, req.status_reason
    world.service.vote(RITA, req.id, "approve")
    return world.service.vote(ROB, req.id, "approve")


def test_good_product_goes_through_two_reviewers_to_release(world):
    req = _approved(world)
    assert req.status == S.APPROVED
    released = world.service.release(ROB, req.id)
    assert world.service.get(req.id).status == S.RELEASED
    body = world.service.verify(released.path)
    assert body["operator"] == "op-a" and body["scenario"] == SCENARIO and body["grant_id"] == GRANT.id
    assert {r["id"] for r in body["reviewers"]} == {"rita", "rob"}
    assert [h.to_status for h in world.service.history(req.id)] == [
        "draft", "submitted", "under_review", "approved", "released"]
    actions = world.log.actions()
    for action in ("export.create", "export.submit", "export.check", "export.review", "export.vote",
                   "export.approve", "export.release"):
        assert action in actions


def test_bad_product_is_sent_back_before_any_human_sees_it(world):
    bad = bad_tables(world.raw, world.products)[0]
    req = _submit(world, bad.product.path)
    assert req.status == S.CHANGES_REQUESTED
    assert "raw_rows" in req.status_reason and "population" in req.status_reason
    assert world.service.queue(RITA) == []
    with pytest.raises(PermissionDenied):
        world.service.vote(RITA, req.id, "approve")


def test_votes_are_blinded_until_both_decided(world):
    req = _submit(world, _good(world))
    world.service.vote(RITA, req.id, "approve")
    view = world.service.view(ROB, req.id)
    assert view.votes == () and view.votes_hidden == 1
    assert [v.reviewer for v in world.service.view(RITA, req.id).votes] == ["rita"]
    world.service.vote(ROB, req.id, "reject", "rates are too fine-grained")
    shown = world.service.view(RITA, req.id)
    assert {v.reviewer for v in shown.votes} == {"rita", "rob"} and shown.votes_hidden == 0
    assert shown.request.status == S.CHANGES_REQUESTED  # disagreement goes back to the requester


def test_independence_rules(world):
    req = _submit(world, _good(world))
    for who in (ALICE, BOB, INSIDER, MALLORY, REGULATOR, ADMIN):
        with pytest.raises(PermissionDenied):
            world.service.vote(who, req.id, "approve")
    world.service.vote(RITA, req.id, "approve")
    with pytest.raises(PermissionDenied, match="already decided"):
        world.service.vote(RITA, req.id, "approve")
    assert world.service.get(req.id).status == S.UNDER_REVIEW
    refused = [e for e in world.log.events if _outcome(e) == "refused"]
    assert len(refused) == 7 and all(_action(e) == "export.vote" for e in refused)


def test_reasons_are_required_to_reject(world):
    req = _submit(world, _good(world))
    with pytest.raises(InvalidInput):
        world.service.vote(RITA, req.id, "reject", "   ")
    with pytest.raises(InvalidInput):
        world.service.vote(RITA, req.id, "maybe")


def test_both_reject_is_final(world):
    req = _submit(world, _good(world))
    world.service.vote(RITA, req.id, "reject", "not within the scenario")
    req = world.service.vote(ROB, req.id, "reject", "no")
    assert req.status == S.REJECTED
    with pytest.raises(PermissionDenied):
        world.service.submit_draft(ALICE, req.id, file=_good(world, 1))


def test_changes_requested_then_resubmitted_as_new_version(world):
    req = _submit(world, _good(world))
    world.service.vote(RITA, req.id, "request_changes", "round the averages")
    req = world.service.vote(ROB, req.id, "approve")
    assert req.status == S.CHANGES_REQUESTED
    with pytest.raises(InvalidInput):
        world.service.submit_draft(ALICE, req.id)
    req = world.service.submit_draft(BOB, req.id, file=_good(world, 1))
    assert req.version == 2 and req.status == S.UNDER_REVIEW
    assert world.service.votes(req) == []  # votes start again for the new version
    world.service.vote(RITA, req.id, "approve")


def test_only_the_operators_staff_submit_and_only_for_their_grant(world):
    with pytest.raises(PermissionDenied):
        _submit(world, _good(world), who=MALLORY)
    with pytest.raises(PermissionDenied):
        _submit(world, _good(world), who=RITA)
    req = _submit(world, _good(world), scenario="别的场景")
    assert req.status == S.CHANGES_REQUESTED and "scenario" in req.status_reason


def test_release_needs_an_active_grant(world):
    from dataclasses import replace

    req = _approved(world)
    world.grants.put(replace(GRANT, active=False, status="suspended"))
    with pytest.raises(ChecksNotPassed, match="not active"):
        world.service.release(RITA, req.id)
    assert world.service.get(req.id).status == S.APPROVED
    assert not (world.home / "exports" / req.id / "release" / "manifest.json").exists()


def test_override_is_explicit_audited_and_cannot_approve(world):
    req = _submit(world, _good(world))
    with pytest.raises(PermissionDenied):
        world.service.override(RITA, req.id, "rejected", "no")
    with pytest.raises(InvalidInput):
        world.service.override(ADMIN, req.id, "approved", "urgent")
    with pytest.raises(InvalidInput):
        world.service.override(ADMIN, req.id, "rejected", "")
    req = world.service.override(ADMIN, req.id, "rejected", "grant under investigation")
    assert req.status == S.REJECTED
    assert "export.override" in world.log.actions()
    with pytest.raises(PermissionDenied):  # a final state is final, for the authority too
        world.service.override(ADMIN, req.id, "withdrawn", "again")


def test_withdraw_by_requesting_organisation(world):
    req = _submit(world, _good(world))
    with pytest.raises(PermissionDenied):
        world.service.withdraw(MALLORY, req.id)
    assert world.service.withdraw(BOB, req.id, "superseded").status == S.WITHDRAWN


def test_views_and_downloads_are_audited(world):
    req = _approved(world)
    before = world.log.actions().count("export.view")
    world.service.view(RITA, req.id)
    world.service.preview(RITA, req.id)
    assert world.log.actions().count("export.view") == before + 2
    with pytest.raises(PermissionDenied):
        world.service.download(ALICE, req.id)  # not released yet
    world.service.release(RITA, req.id)
    path = world.service.download(ALICE, req.id)
    assert path.name.endswith(".csv") and "export.download" in world.log.actions()
    with pytest.raises(PermissionDenied):
        world.service.download(MALLORY, req.id)


def test_history_votes_and_releases_are_append_only(world):
    req = _approved(world)
    conn = world.store._conn()
    for sql in ("UPDATE export_history SET actor='x'", "DELETE FROM export_history",
                "UPDATE export_votes SET decision='reject'", "DELETE FROM export_votes"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql)
    assert len(world.service.votes(req)) == 2


def test_state_change_and_event_commit_together(world, monkeypatch):
    req = _submit(world, _good(world))
    from audit import outbox

    def broken(conn, event):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        world.service.vote(RITA, req.id, "approve")
    monkeypatch.undo()
    assert world.service.votes(world.service.get(req.id)) == []


def test_verify_and_trace_a_leaked_copy(world, tmp_path):
    req = _approved(world)
    released = world.service.release(RITA, req.id)
    table = read_table(released.path)
    leaked = table.select(list(reversed(table.column_names))).slice(3, 10)
    leak = tmp_path / "leak.csv"
    pcsv.write_csv(leaked, leak)
    trace = world.service.trace(leak)
    assert (trace.request_id, trace.operator) == (req.id, "op-a") and trace.p_value < 1e-6
    with pytest.raises(ManifestInvalid):
        world.service.verify(leak, released.manifest_path)
    other = tmp_path / "other.csv"
    pcsv.write_csv(read_table(_good(world)), other)
    with pytest.raises(WatermarkNotFound):
        world.service.trace(other)


def test_resume_checks_after_a_crash(world):
    req = world.service.create(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="data_package",
                               file=_good(world))
    with world.store.transaction() as tx:  # a process died right after 'submitted' committed
        tx.conn.execute("UPDATE export_requests SET status='submitted' WHERE id=?", (req.id,))
    assert world.service.run_pending_checks(req.id).status == S.UNDER_REVIEW
