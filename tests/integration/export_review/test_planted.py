"""Every planted bad product is blocked by the rule that should catch it, with a reason a
person can act on; every good product passes. The false-positive rate over the good products
is recorded (printed, and asserted to be zero)."""

from __future__ import annotations

import pytest

from export_review.checks import CheckContext, CheckStatus, Limits, run_checks
from export_review.testing.planted import bad_models, bad_tables, good_models, good_tables, model_data
from tests.integration.export_review.fixtures import GRANT, SCENARIO, make_world

LIMITS = Limits(mia_max_rows=2000, mia_repetitions=30)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """(world, [(planted, report)]) for every planted product, checked once."""
    world = make_world(tmp_path_factory.mktemp("planted") / "home")
    train, _ = model_data(world.raw)
    planted = (bad_tables(world.raw, world.products) + good_tables(world.raw, world.products)
               + bad_models(train, world.products) + good_models(train, world.products))
    out = []
    for p in planted:
        ctx = CheckContext(p.product, raw=world.access, grants=world.grants, grant_id=GRANT.id,
                           scenario=SCENARIO, org=GRANT.operator_id, policy=world.policy, limits=LIMITS)
        out.append((p, run_checks(ctx)))
    return world, out


def test_bad_products_are_blocked_with_actionable_reasons(checked):
    world, results = checked
    for planted, report in [(p, r) for p, r in results if p.bad]:
        assert report.status == CheckStatus.FAILED, planted.name
        blocking = {r.rule: r for r in report.failed}
        assert planted.rule in blocking, f"{planted.name}: expected {planted.rule}, got {sorted(blocking)}"
        finding = next(f for f in blocking[planted.rule].findings if f.status == CheckStatus.FAILED)
        assert finding.fix, f"{planted.name}: the finding offers no fix"
        assert len(finding.message) > 30
    assert not (world.products / "PWNED").exists(), "the planted pickle ran code"


def test_good_products_pass_and_false_positive_rate_is_recorded(checked, capsys):
    goods = [(p, r) for p, r in checked[1] if not p.bad]
    blocked = []
    for planted, report in goods:
        if report.status == CheckStatus.FAILED:
            blocked.append((planted.name, [f.message for r in report.failed for f in r.findings]))
    rate = len(blocked) / len(goods)
    with capsys.disabled():
        print(f"\nexport_review false-positive rate: {len(blocked)}/{len(goods)} good products blocked ({rate:.0%})")
    assert len(goods) >= 8
    assert all(p.product.kind.value in ("data_package", "report", "model") for p, _ in goods)
    assert blocked == []


@pytest.mark.parametrize("name,rule,words", [
    ("SHA-256 of ID numbers", "reversible", ["SHA256", "population.id_number"]),
    ("MD5 of phone numbers", "reversible", ["MD5", "population.phone"]),
    ("base64 of names", "reversible", ["base64", "population.name"]),
    ("raw rows, renamed columns", "raw_rows", ["500 of 500"]),
    ("phone numbers stored as floats", "identifiers", ["CN_MOBILE", "'contact'"]),
    ("phone numbers hidden as fraction digits", "identifiers", ["'score'", "population.phone"]),
    ("phone numbers scaled down and split by a point", "identifiers", ["'index'", "'code'", "population.phone"]),
    ("pickle that runs code on load", "model_format", ["not loaded", "posix.system"]),
    ("kNN model", "model_structure", ["instance-based"]),
    ("fully grown decision tree", "model_structure", ["fewer than 5"]),
    ("lookup-table model", "model_structure", ["lookup table"]),
])
def test_reasons_name_what_was_found(checked, name, rule, words):
    report = next(r for p, r in checked[1] if p.name == name)
    result = next(r for r in report.results if r.rule == rule)
    text = " ".join(f.message for f in result.findings)
    for word in words:
        assert word in text, (name, text)
