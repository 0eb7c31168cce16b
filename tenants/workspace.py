"""A tenant's `/workspace`, encrypted at rest with gocryptfs under a per-tenant 32-byte key.

The ciphertext lives in `cipher_dir` (file contents AES-256-GCM, names encrypted); while the
tenant runs, gocryptfs (FUSE, on the host) shows the plaintext at `mount_dir`, which the
backend binds into the sandbox at /workspace. Both backends see the same folder. The caller
(the domain's key store) holds the key; gocryptfs keeps only its own master key wrapped by a
key derived from ours (`gocryptfs.conf`). Destroying our key and deleting `cipher_dir` leaves
nothing readable: without the key the wrapped master key cannot be opened, and without the
files there is nothing to open.

The key reaches gocryptfs on its standard input, never on a command line or in a file.

With `quota_mb`, the ciphertext lives on its own ext4 volume (a sparse file of that size,
loop-mounted at `cipher_dir`), so a tenant cannot fill the domain's disk through /workspace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tenants.errors import WorkspaceError, WrongKey
from tenants.spec import TenantLayout

KEY_BYTES = 32
CONF = "gocryptfs.conf"
_WRONG_PASSWORD_EXIT = 12


def _check_key(key: bytes) -> str:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise WorkspaceError(f"a workspace key is exactly {KEY_BYTES} bytes")
    return bytes(key).hex()


def check_available() -> None:
    """Raise `WorkspaceError` unless gocryptfs, a way to unmount and /dev/fuse are here."""
    if shutil.which("gocryptfs") is None:
        raise WorkspaceError("gocryptfs is not installed (apt-get install gocryptfs fuse3)")
    if _unmount_tool() is None:
        raise WorkspaceError("fusermount3 is not installed (apt-get install fuse3)")
    if not Path("/dev/fuse").exists():
        raise WorkspaceError("/dev/fuse is missing: workspaces cannot be encrypted here")


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkspaceError(f"cannot {what} ({done.stderr.strip()[:160]})")


def _unmount_tool() -> list[str] | None:
    if shutil.which("fusermount3"):
        return ["fusermount3", "-u"]
    if os.geteuid() == 0 and shutil.which("umount"):
        return ["umount"]
    return None


def _mounted_at(path: Path) -> str | None:
    """The filesystem type mounted exactly at `path`, if any."""
    target = str(path)
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            mount_point = fields[4].replace("\\040", " ")
            if mount_point == target:
                return fields[fields.index("-") + 1]
    return None


@dataclass(frozen=True)
class Workspace:
    cipher_dir: Path
    mount_dir: Path
    quota_mb: int | None = None

    @classmethod
    def for_layout(cls, layout: TenantLayout, quota_mb: int | None = None) -> "Workspace":
        return cls(layout.cipher_dir, layout.workspace_dir, quota_mb)

    @property
    def volume(self) -> Path:
        return self.cipher_dir.with_name(self.cipher_dir.name + ".img")

    def exists(self) -> bool:
        if self.volume.exists():
            self._attach()
        return (self.cipher_dir / CONF).is_file()

    def _attach(self) -> None:
        """Create (once) and loop-mount the quota volume at `cipher_dir` (idempotent)."""
        if _mounted_at(self.cipher_dir) is not None:
            return
        fresh = not self.volume.exists()
        if fresh:
            with open(self.volume, "xb") as handle:
                handle.truncate(self.quota_mb * 1024 * 1024)
            os.chmod(self.volume, 0o600)
            _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", str(self.volume)], "make the quota volume")
        self.cipher_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _run(["mount", "-o", "loop,nosuid,nodev,noexec", str(self.volume), str(self.cipher_dir)],
             "mount the quota volume")
        if fresh:
            (self.cipher_dir / "lost+found").rmdir()
        os.chmod(self.cipher_dir, 0o700)

    def _detach(self, timeout_s: float = 10.0) -> None:
        """Unmount the quota volume; gocryptfs exits a moment after its FUSE unmount returns
        and holds the volume busy until then, so a busy volume is retried until the deadline."""
        deadline = time.monotonic() + timeout_s
        while _mounted_at(self.cipher_dir) is not None:
            done = subprocess.run(["umount", str(self.cipher_dir)], capture_output=True, text=True)
            if done.returncode == 0:
                continue
            if time.monotonic() > deadline:
                raise WorkspaceError(f"cannot unmount the quota volume ({done.stderr.strip()[:160]})")
            time.sleep(0.1)

    def is_mounted(self) -> bool:
        return _mounted_at(self.mount_dir) == "fuse.gocryptfs"

    def init(self, key: bytes) -> None:
        """Create the encrypted workspace (idempotent: an existing one is left as it is)."""
        password = _check_key(key)
        check_available()
        if self.exists():
            return
        if self.quota_mb:
            if self.quota_mb < 8:
                raise WorkspaceError("a workspace quota is at least 8 MB")
            self._attach()
        self.cipher_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if any(self.cipher_dir.iterdir()):
            raise WorkspaceError(f"{self.cipher_dir.name} is not empty and holds no workspace")
        self._gocryptfs(["-init", "-scryptn", "10", str(self.cipher_dir)], password)

    def mount(self, key: bytes, owner_uid: int, owner_gid: int | None = None) -> None:
        """Show the plaintext at `mount_dir`, its root owned by the sandbox's host uid."""
        password = _check_key(key)
        check_available()
        if not self.exists():
            raise WorkspaceError("the workspace was never created (init it first)")
        if not self.is_mounted():
            self.mount_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            if _mounted_at(self.mount_dir) is not None:
                raise WorkspaceError(f"something else is mounted at {self.mount_dir.name}")
            self._gocryptfs(["-allow_other", str(self.cipher_dir), str(self.mount_dir)], password)
        self._own(owner_uid, owner_uid if owner_gid is None else owner_gid)

    def _own(self, uid: int, gid: int) -> None:
        st = self.mount_dir.stat()
        if (st.st_uid, st.st_gid) != (uid, gid):
            for dirpath, dirnames, filenames in os.walk(self.mount_dir):
                for name in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, name), uid, gid)
            os.chown(self.mount_dir, uid, gid)
        os.chmod(self.mount_dir, 0o700)

    def _gocryptfs(self, args: list[str], password: str) -> None:
        # The mounting gocryptfs leaves a daemon behind that inherits our descriptors: its
        # messages go to a file (not a pipe we would wait on) and the key goes in on stdin.
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(["gocryptfs", "-q", "-nosyslog", *args], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=errors, close_fds=True)
            proc.stdin.write((password + "\n").encode())
            proc.stdin.close()
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise WorkspaceError("gocryptfs did not finish within 60s") from None
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
        if code == _WRONG_PASSWORD_EXIT:
            raise WrongKey("the key does not open this workspace")
        if code != 0:
            last = (message.splitlines() or ["no message"])[-1][:200]
            raise WorkspaceError(f"gocryptfs failed (exit {code}: {last})")

    def unmount(self, timeout_s: float = 10.0) -> None:
        """Hide the plaintext (idempotent). Raises `WorkspaceError` if it stays busy."""
        deadline = time.monotonic() + timeout_s
        while self.is_mounted():
            done = subprocess.run([*(_unmount_tool() or ["fusermount3", "-u"]), str(self.mount_dir)],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise WorkspaceError("the workspace is still in use and cannot be unmounted")
            time.sleep(0.1)
        self._detach()

    def destroy(self) -> None:
        """Unmount and delete the ciphertext and the mount point (the caller destroys the key)."""
        self.unmount()
        shutil.rmtree(self.cipher_dir, ignore_errors=True)
        self.volume.unlink(missing_ok=True)
        if self.mount_dir.exists() and not self.is_mounted():
            shutil.rmtree(self.mount_dir, ignore_errors=True)
        if self.cipher_dir.exists():
            raise WorkspaceError("the workspace files could not all be deleted")
