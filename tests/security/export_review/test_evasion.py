"""Red team: products built to slip raw data past the checks. Every one must be blocked, and
no message may carry a raw value."""

from __future__ import annotations

import base64
import hashlib
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from export_review.checks import CheckContext, CheckStatus, Product, ProductKind, run_checks
from tests.integration.export_review.fixtures import GRANT, SCENARIO

ID_SHAPE = re.compile(r"\d{17}[\dX]|1[3-9]\d{9}")


def _check(world, table: pa.Table, name: str):
    path = world.products / name
    pcsv.write_csv(table, path)
    ctx = CheckContext(Product(ProductKind.DATA_PACKAGE, path), raw=world.access, grants=world.grants,
                       grant_id=GRANT.id, scenario=SCENARIO, org=GRANT.operator_id)
    return run_checks(ctx)


def _sample(world, n=300, seed=1):
    idx = np.random.default_rng(seed).permutation(world.raw.num_rows)[:n]
    return world.raw.take(pa.array(idx))


def _col(t, name):
    return t.column(name).to_pylist()


def _assert_blocked(report, rule):
    assert report.status == CheckStatus.FAILED
    assert rule in {r.rule for r in report.failed}, [(r.rule, r.status) for r in report.results]
    text = str(report.to_dict())
    assert not ID_SHAPE.search(text), "a raw identifier leaked into the check report"


def test_perturbed_incomes_still_match_raw_rows(world):
    s = _sample(world).drop_columns(["id_number", "phone"])
    s = s.set_column(s.column_names.index("income"), "income", pa.array([v + 1 for v in _col(s, "income")]))
    _assert_blocked(_check(world, s.rename_columns([f"c{i}" for i in range(s.num_columns)]), "perturbed.csv"),
                    "raw_rows")


def test_types_changed_to_text_still_match(world):
    s = _sample(world).select(["income", "birth_date", "district", "name"])
    t = pa.table({c: pa.array([str(v) for v in _col(s, c)]) for c in s.column_names})
    _assert_blocked(_check(world, t, "as_text.csv"), "raw_rows")


@pytest.mark.parametrize("transform,name", [
    (lambda v: v.encode().hex(), "hex"),
    (lambda v: v[::-1], "reversed"),
    (lambda v: "".join(chr(ord(c) + 2) for c in v), "char shift"),
    (lambda v: base64.urlsafe_b64encode(v.encode()).decode().rstrip("="), "base64"),
])
def test_encoded_identifiers(world, transform, name):
    s = _sample(world)
    t = pa.table({"k": [transform(v) for v in _col(s, "id_number")], "district": s.column("district")})
    report = _check(world, t, f"enc_{name.replace(' ', '_')}.csv")
    _assert_blocked(report, "reversible")
    assert name in " ".join(f.message for r in report.failed for f in r.findings)


def test_rotated_phone_digits(world):
    s = _sample(world)
    t = pa.table({"k": ["".join(str((int(c) + 7) % 10) for c in v) for v in _col(s, "phone")]})
    _assert_blocked(_check(world, t, "rot_phone.csv"), "reversible")


@pytest.mark.parametrize("algorithm", ["sha1", "sha512"])
def test_other_unsalted_hashes(world, algorithm):
    s = _sample(world)
    t = pa.table({"k": [hashlib.new(algorithm, v.encode()).hexdigest() for v in _col(s, "name")]})
    report = _check(world, t, f"{algorithm}.csv")
    _assert_blocked(report, "reversible")
    assert "population.name" in str(report.to_dict())


def test_fixed_salt_hash_is_blocked_even_unverified(world):
    s = _sample(world)
    t = pa.table({"k": [hashlib.sha256(("pepper" + v).encode()).hexdigest() for v in _col(s, "id_number")],
                  "n": [12] * s.num_rows})
    report = _check(world, t, "salted.csv")
    _assert_blocked(report, "reversible")
    assert "salt" in str(report.to_dict())


def test_base64_digest_is_recomputed(world):
    s = _sample(world)
    t = pa.table({"k": [base64.b64encode(hashlib.sha256(v.encode()).digest()).decode() for v in _col(s, "id_number")]})
    report = _check(world, t, "b64digest.csv")
    _assert_blocked(report, "reversible")
    assert "population.id_number" in str(report.to_dict())


def test_presidio_encrypt_output(world):
    from presidio_anonymizer.operators.aes_cipher import AESCipher

    s = _sample(world, 60)
    t = pa.table({"k": [AESCipher.encrypt(b"0123456789abcdef", v) for v in _col(s, "name")]})
    _assert_blocked(_check(world, t, "aes.csv"), "reversible")


def test_domain_pseudonyms_are_never_exportable(world):
    from desensitize import pseudonymize_value

    s = _sample(world, 100)
    t = pa.table({"k": [pseudonymize_value(v, secret=b"s" * 32) for v in _col(s, "id_number")], "n": [10] * 100})
    report = _check(world, t, "pseudonyms.csv")
    assert report.status == CheckStatus.FAILED
    assert "never exportable" in str(report.to_dict())


def test_identifier_hidden_in_free_text_and_one_raw_id_among_many_rows(world):
    s = _sample(world, 50)
    notes = [f"客户 {v} 已核验" for v in _col(s, "id_number")]
    _assert_blocked(_check(world, pa.table({"note": notes}), "notes.csv"), "identifiers")
    one = ["ok"] * 999 + [_col(s, "phone")[0]]
    _assert_blocked(_check(world, pa.table({"x": one}), "needle.csv"), "identifiers")


def test_small_cells_hidden_in_a_report(world, tmp_path):
    path = world.products / "report.md"
    path.write_text("# 报告\n\n| 区县 | 人数 |\n| --- | --- |\n| 西湖区 | 3 |\n| 滨江区 | 40 |\n", encoding="utf-8")
    ctx = CheckContext(Product(ProductKind.REPORT, path), raw=world.access, grants=world.grants,
                       grant_id=GRANT.id, scenario=SCENARIO, org=GRANT.operator_id)
    report = run_checks(ctx)
    assert "disclosure" in {r.rule for r in report.failed}


def test_unreadable_and_missing_engine_fail_closed(world):
    path = world.products / "broken.csv"
    path.write_bytes(b"\xff\xfe\x00garbage\x00\x00")
    report = run_checks(CheckContext(Product(ProductKind.DATA_PACKAGE, path), raw=world.access,
                                     grants=world.grants, grant_id=GRANT.id, scenario=SCENARIO))
    assert report.status == CheckStatus.FAILED
    good = world.products / "fine.csv"
    good.write_text("district,n\n西湖区,12\n", encoding="utf-8")
    report = run_checks(CheckContext(Product(ProductKind.DATA_PACKAGE, good), raw=None, grants=world.grants,
                                     grant_id=GRANT.id, scenario=SCENARIO))
    assert {r.rule for r in report.failed} >= {"raw_rows", "identifiers", "reversible"}


def test_a_rule_that_runs_too_long_fails(world):
    from export_review.checks import Limits

    s = _sample(world, 2000).drop_columns(["phone"])
    path = world.products / "slow.csv"
    pcsv.write_csv(s, path)
    report = run_checks(CheckContext(Product(ProductKind.DATA_PACKAGE, path), raw=world.access,
                                     limits=Limits(rule_seconds=0.001)), only=["raw_rows"])
    [result] = report.results
    assert result.status == CheckStatus.FAILED and "cannot decide" in result.findings[0].message
