"""The encrypted workspace with real gocryptfs over FUSE."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from tenants.errors import WorkspaceError, WrongKey
from tenants.workspace import Workspace

PLAIN = b"operator notebook: revenue model v3 " * 100


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace(tmp_path / "workspace.enc", tmp_path / "workspace")
    yield workspace
    workspace.unmount()


def _all_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_plaintext_never_reaches_the_disk(ws):
    key = secrets.token_bytes(32)
    ws.init(key)
    ws.mount(key, owner_uid=65534)
    (ws.mount_dir / "secret-plan.txt").write_bytes(PLAIN)
    assert ws.is_mounted()
    assert os.stat(ws.mount_dir).st_uid == 65534
    ws.unmount()
    assert not ws.is_mounted() and not any(ws.mount_dir.iterdir())
    stored = _all_bytes(ws.cipher_dir)
    assert b"revenue model" not in stored and b"secret-plan" not in stored
    assert all(b"secret-plan" not in p.name.encode() for p in ws.cipher_dir.rglob("*"))
    ws.mount(key, owner_uid=0)
    assert (ws.mount_dir / "secret-plan.txt").read_bytes() == PLAIN


def test_wrong_key_opens_nothing(ws):
    ws.init(secrets.token_bytes(32))
    with pytest.raises(WrongKey):
        ws.mount(secrets.token_bytes(32), owner_uid=0)
    assert not ws.is_mounted()


@pytest.mark.parametrize("key", [b"", b"x" * 31, b"x" * 33, "a" * 32])
def test_key_must_be_32_bytes(ws, key):
    with pytest.raises(WorkspaceError, match="32 bytes"):
        ws.init(key)


def test_operations_are_idempotent(ws):
    key = secrets.token_bytes(32)
    ws.init(key)
    ws.init(key)
    ws.mount(key, owner_uid=0)
    ws.mount(key, owner_uid=0)
    assert subprocess.run(["grep", "-c", str(ws.mount_dir), "/proc/self/mountinfo"],
                          capture_output=True, text=True).stdout.strip() == "1"
    ws.unmount()
    ws.unmount()


def test_destroy_leaves_nothing_readable(ws):
    key = secrets.token_bytes(32)
    ws.init(key)
    ws.mount(key, owner_uid=0)
    (ws.mount_dir / "notes.txt").write_bytes(PLAIN)
    ws.destroy()
    assert not ws.cipher_dir.exists() and not ws.mount_dir.exists()
    with pytest.raises(WorkspaceError, match="never created"):
        ws.mount(key, owner_uid=0)


def test_quota_volume_bounds_the_workspace(tmp_path):
    ws = Workspace(tmp_path / "workspace.enc", tmp_path / "workspace", quota_mb=16)
    key = secrets.token_bytes(32)
    try:
        ws.init(key)
        ws.mount(key, owner_uid=0)
        with pytest.raises(OSError) as err:
            with open(ws.mount_dir / "big.bin", "wb") as handle:
                for _ in range(40):
                    handle.write(b"x" * (1 << 20))
        assert err.value.errno == 28  # ENOSPC inside the tenant's volume, not the domain's disk
        (ws.mount_dir / "big.bin").unlink()
        (ws.mount_dir / "small.txt").write_bytes(PLAIN)
        ws.unmount()
        assert not any(ws.cipher_dir.iterdir())  # the volume is detached: nothing shows
        assert ws.volume.stat().st_size == 16 << 20
        ws.mount(key, owner_uid=0)
        assert (ws.mount_dir / "small.txt").read_bytes() == PLAIN
        ws.destroy()
        assert not ws.volume.exists() and not ws.cipher_dir.exists()
    finally:
        ws.unmount()
