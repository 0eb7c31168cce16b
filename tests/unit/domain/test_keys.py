import sqlite3

import pytest

from domain import _hazmat
from domain.errors import NotFound
from domain.keys import KeyStoreError, open_bytes, seal_bytes
from tests.factories import new_domain


def test_data_keys_wrap_and_unwrap(home):
    d = new_domain(home)
    with d.store.transaction() as tx:
        key = d.keys.create(tx, "dataset", "population")
    assert d.keys.get("dataset", "population") == key
    assert len(key) == 32


def test_a_wrapped_key_cannot_be_replayed_for_another_owner(home):
    d = new_domain(home)
    key, wrapped = d.keys.generate("dataset", "a")
    with d.store.transaction() as tx:
        d.keys.insert(tx, "dataset", "b", wrapped)  # stolen wrapped key filed under another owner
    with pytest.raises(KeyStoreError):
        d.keys.get("dataset", "b")


def test_destroyed_key_is_gone_from_the_database_files(home):
    d = new_domain(home)
    with d.store.transaction() as tx:
        d.keys.create(tx, "tenant", "op-hz")
    wrapped = d.store.one("SELECT wrapped FROM data_keys WHERE owner='op-hz'")["wrapped"]
    with d.store.transaction() as tx:
        assert d.keys.destroy(tx, "tenant", "op-hz")
    d.keys.scrub_wal()
    with pytest.raises(NotFound):
        d.keys.get("tenant", "op-hz")
    for path in home.glob("control.db*"):
        assert wrapped not in path.read_bytes(), path.name


def test_sealed_bytes_are_bound_to_their_context():
    key = _hazmat.random_key()
    sealed = seal_bytes(key, b"workspace archive", "tenant:a")
    assert open_bytes(key, sealed, "tenant:a") == b"workspace archive"
    with pytest.raises(KeyStoreError):
        open_bytes(key, sealed, "tenant:b")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(KeyStoreError):
        open_bytes(key, tampered, "tenant:a")


def test_only_hazmat_module_touches_primitives():
    """Import contract: in domain/, cryptography's hazmat layer is used by _hazmat.py only."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "domain"
    offenders = [
        str(p.relative_to(root)) for p in root.rglob("*.py")
        if p.name != "_hazmat.py" and "cryptography.hazmat" in p.read_text(encoding="utf-8")
        and "rawstore" not in p.parts
    ]
    assert offenders == []
