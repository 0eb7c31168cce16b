"""Key store recipes: one master key per domain wraps per-dataset and per-tenant data keys.

Destroying a data key (crypto-shredding) deletes its wrapped form with SQLite's secure_delete
on and truncates the WAL, so no copy of it stays in the database files.
"""

from __future__ import annotations

import os
from pathlib import Path

from domain import _hazmat
from domain.clock import iso
from domain.errors import DomainError, NotFound
from domain.store import Store, Tx

MASTER_KEY_FILE = "master.key"


class KeyStoreError(DomainError):
    pass


def create_master_key(keys_dir: Path) -> None:
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = keys_dir / MASTER_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(_hazmat.random_key())
        handle.flush()
        os.fsync(handle.fileno())


class KeyStore:
    def __init__(self, keys_dir: Path, store: Store, on_destroy=None):
        self.keys_dir = keys_dir
        self.store = store
        self.on_destroy = on_destroy  # (purpose, owner): drop what was derived from the key

    def _master(self) -> bytes:
        path = self.keys_dir / MASTER_KEY_FILE
        try:
            mode = path.stat().st_mode
            key = path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError("the domain master key is missing") from None
        if mode & 0o077:  # like ssh with a private key: fail closed, say how to fix it
            raise KeyStoreError(f"the domain master key is readable by others; run 'chmod 600 {path}'")
        if len(key) != _hazmat.KEY_BYTES:
            raise KeyStoreError("the domain master key is damaged")
        return key

    @staticmethod
    def _context(purpose: str, owner: str) -> bytes:
        return f"aod-data-key:{purpose}:{owner}".encode()

    def generate(self, purpose: str, owner: str) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form; store it with `insert` in a transaction."""
        key = _hazmat.random_key()
        return key, _hazmat.seal(self._master(), key, self._context(purpose, owner))

    def insert(self, tx: Tx, purpose: str, owner: str, wrapped: bytes) -> None:
        tx.execute(
            "INSERT INTO data_keys (purpose, owner, wrapped, created_at) VALUES (?, ?, ?, ?)",
            (purpose, owner, wrapped, iso(tx.now())),
        )

    def create(self, tx: Tx, purpose: str, owner: str) -> bytes:
        """Make and store a fresh data key for (purpose, owner) in the caller's transaction."""
        key, wrapped = self.generate(purpose, owner)
        self.insert(tx, purpose, owner, wrapped)
        return key

    def get(self, purpose: str, owner: str) -> bytes:
        row = self.store.one(
            "SELECT wrapped FROM data_keys WHERE purpose=? AND owner=?", (purpose, owner)
        )
        if row is None:
            raise NotFound(f"no {purpose} key for {owner} (destroyed or never created)")
        try:
            return _hazmat.open_sealed(self._master(), row["wrapped"], self._context(purpose, owner))
        except _hazmat.DecryptionFailed:
            raise KeyStoreError(f"the {purpose} key for {owner} cannot be unwrapped") from None

    def exists(self, purpose: str, owner: str) -> bool:
        row = self.store.one("SELECT 1 FROM data_keys WHERE purpose=? AND owner=?", (purpose, owner))
        return row is not None

    def destroy(self, tx: Tx, purpose: str, owner: str) -> bool:
        cur = tx.execute("DELETE FROM data_keys WHERE purpose=? AND owner=?", (purpose, owner))
        if self.on_destroy is not None:  # at once, even if the transaction later rolls back:
            self.on_destroy(purpose, owner)  # a dropped cache entry only costs a reload
        return cur.rowcount > 0

    def scrub_wal(self) -> None:
        """After a destruction commits: push it into the main file and empty the WAL."""
        self.store.one("PRAGMA wal_checkpoint(TRUNCATE)")


def seal_bytes(key: bytes, plaintext: bytes, context: str) -> bytes:
    return _hazmat.seal(key, plaintext, context.encode())


def open_bytes(key: bytes, sealed: bytes, context: str) -> bytes:
    try:
        return _hazmat.open_sealed(key, sealed, context.encode())
    except _hazmat.DecryptionFailed:
        raise KeyStoreError(f"sealed data for {context} cannot be opened") from None
