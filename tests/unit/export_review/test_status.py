from export_review.workflow.status import (
    FINAL, OVERRIDE_TARGETS, STATUS_AUDIT_EVENT, STATUS_OWNERS, VALID_STATE_TRANSITIONS, Decision, Owner,
    RequestStatus as S, can_transition, check_transition, diagram, outcome_of,
)
from export_review.errors import InvalidTransition
import pytest


def test_every_status_has_an_owner_an_event_and_a_row():
    assert set(S) - STATUS_OWNERS.keys() == set()
    assert set(S) - STATUS_AUDIT_EVENT.keys() == set()
    assert set(S) - VALID_STATE_TRANSITIONS.keys() == set()


def test_final_states_are_owned_by_nobody_and_others_by_someone():
    assert FINAL == {S.REJECTED, S.RELEASED, S.WITHDRAWN}
    for status, owner in STATUS_OWNERS.items():
        assert (owner == Owner.NOBODY) == (status in FINAL)


def test_release_only_from_approved_and_approval_only_from_review():
    assert [s for s in S if S.RELEASED in VALID_STATE_TRANSITIONS[s]] == [S.APPROVED]
    assert [s for s in S if S.APPROVED in VALID_STATE_TRANSITIONS[s]] == [S.UNDER_REVIEW]
    assert not ({S.APPROVED, S.RELEASED} & OVERRIDE_TARGETS)


def test_every_state_is_reachable_from_draft():
    seen, todo = {S.DRAFT}, [S.DRAFT]
    while todo:
        for nxt in VALID_STATE_TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(S)


def test_check_and_can_agree():
    for old in S:
        for new in S:
            if can_transition(old, new):
                check_transition(old, new)
            else:
                with pytest.raises(InvalidTransition):
                    check_transition(old, new)


def test_outcomes():
    A, R, C = Decision.APPROVE, Decision.REJECT, Decision.REQUEST_CHANGES
    assert outcome_of([A, A]) == S.APPROVED
    assert outcome_of([R, R]) == S.REJECTED
    assert outcome_of([A, R]) == S.CHANGES_REQUESTED
    assert outcome_of([A, C]) == S.CHANGES_REQUESTED


def test_diagram_is_generated_from_the_table():
    text = diagram()
    for old, targets in VALID_STATE_TRANSITIONS.items():
        for new in targets:
            assert f"{old.value} --> {new.value}" in text
    assert text.count("-->") == sum(len(t) for t in VALID_STATE_TRANSITIONS.values()) + 1 + len(FINAL)
