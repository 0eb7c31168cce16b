"""Locks shared by threads and processes, and the shared 'durable up to' mark.

`FileLock` is a `threading.Lock` plus an `flock` on a lock file: the thread lock orders the
threads of one process (flock is per open file, so it would not), the flock orders processes.
A process that forks gets fresh locks (`reset_after_fork`).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class FileLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._thread_lock = threading.Lock()
        self._fd = -1
        self._pid = os.getpid()

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # forked: the inherited fd shares the parent's lock
            self._thread_lock = threading.Lock()
            self._fd = -1
            self._pid = os.getpid()

    def acquire(self) -> None:
        self._check_fork()
        self._thread_lock.acquire()
        try:
            if self._fd < 0:  # opened under the thread lock: two threads racing here would
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # open two fds,
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # and flocks on two fds exclude each other
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = -1


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


class DurableMark:
    """How many leaves are known to be on disk (fsynced) in this boot. Read and written only
    under the sync lock. A mark from an earlier boot counts as zero: after a power loss the
    files may hold less than the mark said."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._boot = boot_id()

    WIDTH = 64

    def _fd(self) -> int:
        if getattr(self, "_pid", None) != os.getpid():
            self._pid, self._handle = os.getpid(), os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._handle

    def read(self) -> int:
        try:
            text = os.pread(self._fd(), self.WIDTH, 0).decode("ascii")
        except (OSError, UnicodeDecodeError):
            return 0
        boot, _, size = text.strip().partition(" ")
        if boot != self._boot or not size.isdigit():
            return 0
        return int(size)

    def write(self, size: int) -> None:
        """One fixed-width pwrite (no rename: this runs once per group commit)."""
        os.pwrite(self._fd(), f"{self._boot} {size}".ljust(self.WIDTH - 1).encode() + b"\n", 0)
