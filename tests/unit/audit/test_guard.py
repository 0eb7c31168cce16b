"""The raw-value guard: events holding ID-number- or mobile-shaped values are refused,
naming the field, never the value."""

from __future__ import annotations

import pytest

from audit import Actor, AuditEvent, RawValueInEvent, Ref
from audit.guard import finding, id_check_ok

from .conftest import T0, make_event

VALID_ID = "11010519491231002X"     # MOD 11-2 check character X
VALID_ID2 = "110101199003074514"
BAD_CHECK_ID = "110101199003074518"
MOBILE = "13812345678"


def test_check_digit():
    assert id_check_ok(VALID_ID) and id_check_ok(VALID_ID.lower()) and id_check_ok(VALID_ID2)
    assert not id_check_ok(BAD_CHECK_ID)


@pytest.mark.parametrize("text, kind", [
    (VALID_ID, "resident ID number"),
    (f"select * from p where id = '{VALID_ID2}'", "resident ID number"),
    (f"身份证{VALID_ID2}号", "resident ID number"),
    ("１１０１０１１９９００３０７４５１４", "resident ID number"),    # full-width digits
    (MOBILE, "mobile number"),
    ("+86 138 1234 5678", "mobile number"),
    ("+8613812345678", "mobile number"),
    ("tel:138-1234-5678.", "mobile number"),
    ("电话13812345678", "mobile number"),
])
def test_shapes_that_are_refused(text, kind):
    assert finding(text) == kind


@pytest.mark.parametrize("text", [
    BAD_CHECK_ID, "ab" * 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "0" + VALID_ID2, VALID_ID2 + "1", f"x{VALID_ID2}", "12812345678", "1381234567", "138123456789",
    "2026-11-23T09:00:00.000000Z", "550e8400-e29b-41d4-a716-446655440000", "count > 13",
])
def test_shapes_that_pass(text):
    assert finding(text) is None


@pytest.mark.parametrize("field, kwargs", [
    ("reason", {"reason": f"customer {VALID_ID2} asked"}),
    ("details.sql", {"details": {"sql": f"where phone = '{MOBILE}'"}}),
    ("details.phones[1]", {"details": {"phones": ["x", MOBILE]}}),
    ("details.n", {"details": {"n": 13812345678}}),
    ("details key", {"details": {VALID_ID2: 1}}),
    ("outputs[0].id", {"outputs": (Ref("file", f"export-{MOBILE}.csv"),)}),
    ("actor.id", {"actor": Actor(f"staff:{MOBILE}", "operator_staff")}),
    ("request_id", {"request_id": f"req {VALID_ID}"}),
])
def test_append_refuses_and_names_the_field_not_the_value(log, field, kwargs):
    event = make_event(1, **kwargs)
    with pytest.raises(RawValueInEvent) as err:
        log.append(event)
    message = err.value.diagnostics()
    assert field in message
    assert VALID_ID2 not in message and MOBILE not in message and VALID_ID not in message
    assert log.size() == 0


def test_a_batch_with_one_bad_event_writes_nothing(log):
    with pytest.raises(RawValueInEvent):
        log.append_many([make_event(1), make_event(2, reason=f"id {VALID_ID2}"), make_event(3)])
    assert log.size() == 0


def test_hashes_uuids_and_times_pass(log):
    receipt = log.append(make_event(1, time=T0, details={"sha": "ab" * 32, "uuid": "550e8400-e29b-41d4-a716-446655440000"}))
    assert receipt.index == 0


def test_escaped_newline_before_a_number_is_still_caught(log):
    with pytest.raises(RawValueInEvent):
        log.append(make_event(1, details={"note": f"a\n{MOBILE}"}))
