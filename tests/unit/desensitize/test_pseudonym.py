"""Keyed pseudonyms: DuckDB's HMAC equals Python's hmac; stable, keyed, never a plain hash."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from desensitize import pseudonymize, pseudonymize_value, synthetic
from desensitize.entities import Entity
from desensitize.errors import SecretError
from desensitize.pseudonym import hmac_bound, pseudonym_key, pseudonym_sql
from desensitize.sqlkit import query, shared


@pytest.fixture(params=["native", "sql"])
def hmac_form(request, monkeypatch):
    """Every test taking this runs twice: with the native HMAC and with HMAC built in SQL."""
    if request.param == "sql":
        monkeypatch.setenv("AOD_NATIVE_HMAC", "0")
    return request.param


@pytest.mark.parametrize("entity", [Entity.RESIDENT_ID, Entity.MOBILE, Entity.EMAIL, Entity.LANDLINE, None])
def test_vectorized_pseudonyms_equal_pythons_hmac(entity, secret, hmac_form):
    values = synthetic.values(entity or Entity.PLATE, 500, 3, messy_rate=0.5).to_pylist() + [None, ""]
    vector = pseudonymize(values, secret, entity).to_pylist()
    assert vector == [pseudonymize_value(v, secret, entity) for v in values]
    assert vector[-2:] == [None, None]


def test_the_hmac_is_standard_hmac_sha256(secret):
    from desensitize.normalize import canonical_identifier

    value = "33010619900101123X"
    expected = hmac.new(pseudonym_key(secret), canonical_identifier(value, Entity.RESIDENT_ID).encode(),
                        hashlib.sha256).hexdigest()[:32]
    assert pseudonymize_value(value, secret, Entity.RESIDENT_ID) == "ps_" + expected


def test_messy_forms_of_one_identifier_share_a_pseudonym(secret, hmac_form):
    forms = ["33010619900101123X", "33010619900101123x", "３３０１０６１９９００１０１１２３Ｘ", "330106 19900101 123X",
             "330106-19900101-123x"]
    assert len(set(pseudonymize(forms, secret, Entity.RESIDENT_ID).to_pylist())) == 1
    mobiles = ["13812345678", "+86 138 1234 5678", "0086-13812345678", "１３８１２３４５６７８"]
    assert len(set(pseudonymize(mobiles, secret, Entity.MOBILE).to_pylist())) == 1


def test_legacy_and_new_id_numbers_of_one_person_share_a_pseudonym(secret):
    from desensitize.normalize import canonical_identifier

    new = canonical_identifier("330106900101123", Entity.RESIDENT_ID)
    assert pseudonymize_value("330106900101123", secret, Entity.RESIDENT_ID) == \
        pseudonymize_value(new, secret, Entity.RESIDENT_ID)


def test_keyed_not_a_plain_or_fixed_salt_hash(secret):
    value = "33010619900101123X"
    p = pseudonymize_value(value, secret, Entity.RESIDENT_ID)
    assert p != pseudonymize_value(value, secret[::-1], Entity.RESIDENT_ID)
    assert p[3:] not in (hashlib.sha256(value.encode()).hexdigest()[:32], hashlib.md5(value.encode()).hexdigest())


def test_weak_secrets_are_refused():
    with pytest.raises(SecretError):
        pseudonymize_value("x", b"short")
    with pytest.raises(SecretError):
        pseudonymize_value("x", "not-bytes-but-long-enough")  # type: ignore[arg-type]


def test_pseudonym_sql_for_other_engines(secret, hmac_form):
    values = synthetic.values(Entity.MOBILE, 200, 5, messy_rate=0.5)
    sql = f"SELECT {pseudonym_sql('v', Entity.MOBILE)} AS p FROM t"
    assert ("__aod_hmac_ps(" in sql) == (hmac_form == "native")
    con = shared()
    with hmac_bound(con, sql, secret) as params:
        out = query(con, sql, {"t": pa.table({"v": values})}, params=params)
    assert out.column(0).to_pylist() == pseudonymize(values, secret, Entity.MOBILE).to_pylist()


def test_the_native_and_sql_forms_agree(secret):
    values = synthetic.values(Entity.RESIDENT_ID, 3000, 9, messy_rate=0.5)
    table = pa.table({"v": values})
    con = shared()
    outs = []
    for use_native in (True, False):
        sql = f"SELECT {pseudonym_sql('v', Entity.RESIDENT_ID, use_native=use_native)} AS p FROM t"
        with hmac_bound(con, sql, secret) as params:
            outs.append(query(con, sql, {"t": table}, params=params).column(0).to_pylist())
    assert outs[0] == outs[1] and len(set(outs[0])) > 2000


def test_the_keyed_function_is_gone_after_the_work(secret):
    """The native form registers a function holding the key; nothing can call it afterwards."""
    import duckdb

    con = shared()
    sql = f"SELECT {pseudonym_sql('v', Entity.MOBILE, use_native=True)} AS p FROM t"
    with hmac_bound(con, sql, secret) as params:
        assert params is None
        query(con, sql, {"t": pa.table({"v": ["13812345678"]})})
    with pytest.raises(duckdb.CatalogException):
        con.sql("SELECT __aod_hmac_ps('13812345678')").fetchall()


def test_the_native_module_is_built():
    """setup.py builds it; without it `apply` silently takes the 10x slower SQL form."""
    from desensitize import native

    assert native.available(), "desensitize/_hmac.c is not built: pip install -e . with gcc and libssl-dev"


@pytest.mark.parametrize("hmac_form_", ["native", "sql"])
def test_the_key_never_appears_in_sql_text(secret, hmac_form_):
    sql = pseudonym_sql("v", Entity.RESIDENT_ID, use_native=hmac_form_ == "native")
    key = pseudonym_key(secret)
    assert key.hex() not in sql and secret.decode() not in sql
