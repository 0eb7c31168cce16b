"""Signed tree heads (C2SP signed notes) and the signing key's file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from audit import AuditConfigError, AuditLog
from audit.checkpoint import BadCheckpoint, Checkpoint, SignedCheckpoint, Signer, key_id, raw_public

from .conftest import T0

VECTORS = Path(__file__).parent / "vectors"


def _head(signer: Signer, size: int = 5, prev=None) -> SignedCheckpoint:
    return Checkpoint(signer.name, size, b"\x11" * 32, T0, prev).sign(signer)


def test_round_trip_and_signature(signer):
    head = _head(signer, prev=(3, b"\x22" * 32))
    text = head.to_text()
    assert text.splitlines()[:3] == [signer.name, "5", "ERERERERERERERERERERERERERERERERERERERERERE="]
    again = SignedCheckpoint.from_text(text)
    assert again == head and again.signature_ok(signer.public_key)
    assert again.key_id == key_id(signer.name, raw_public(signer.public_key))


def test_another_key_is_named_in_the_error(signer):
    other = Signer.generate()
    forged = Checkpoint(signer.name, 5, b"\x11" * 32, T0).sign(other)
    with pytest.raises(BadCheckpoint, match="signed by key .* not by this log's key"):
        forged.check_signature(signer.public_key)


def test_altered_body_fails_the_signature(signer):
    text = _head(signer).to_text().replace("\n5\n", "\n6\n")
    head = SignedCheckpoint.from_text(text)
    assert not head.signature_ok(signer.public_key)
    with pytest.raises(BadCheckpoint, match="invalid signature"):
        head.check_signature(signer.public_key)


@pytest.mark.parametrize("path", sorted(VECTORS.glob("checkpoint_*.txt")), ids=lambda p: p.stem)
def test_malformed_tree_head_fixtures_are_refused(path):
    with pytest.raises(BadCheckpoint):
        SignedCheckpoint.from_text(path.read_bytes())


def test_key_file_is_created_0600_and_public_key_published(tmp_path):
    log = AuditLog.for_home(tmp_path)
    key = tmp_path / "keys" / "audit-signing.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "audit" / "log.pub").read_bytes() == log.public_key_pem
    again = AuditLog.for_home(tmp_path)
    assert again.identity.origin == log.identity.origin  # same key reused


def test_a_key_readable_by_others_is_refused(tmp_path):
    AuditLog.for_home(tmp_path)
    os.chmod(tmp_path / "keys" / "audit-signing.pem", 0o644)
    with pytest.raises(AuditConfigError, match="readable by others"):
        AuditLog.for_home(tmp_path)


def test_a_foreign_signing_key_cannot_write_to_the_log(tmp_path):
    AuditLog(tmp_path / "audit", Signer.generate())
    with pytest.raises(AuditConfigError, match="does not belong to this log"):
        AuditLog(tmp_path / "audit", Signer.generate())
