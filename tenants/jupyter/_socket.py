"""Connecting to a socket that lives in a folder the tenant can write to, without being fooled.

The tenant's JupyterLab creates its socket in a host folder bound into the sandbox, so the
tenant controls what that name points to. A planted symbolic link would be followed by the
host and could lead the domain's proxy to another tenant's Jupyter or to a host service. So:
open the name with O_PATH|O_NOFOLLOW, check the inode is a socket, and connect through
/proc/self/fd/N, which refers to that exact inode (no second lookup, no race).
"""

from __future__ import annotations

import os
import socket
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tenants.errors import UnsafeSocket


@contextmanager
def socket_inode(path: Path | str) -> Iterator[str]:
    """Yield a `/proc/self/fd/N` path naming the socket inode at `path` (never a symlink)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UnsafeSocket(f"no socket at {Path(path).name}") from None
    except OSError as exc:
        raise UnsafeSocket(f"cannot open {Path(path).name} ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            raise UnsafeSocket(f"{Path(path).name} is a symbolic link, refused")
        if not stat.S_ISSOCK(mode):
            raise UnsafeSocket(f"{Path(path).name} is not a socket, refused")
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def connect_unix(path: Path | str, timeout_s: float | None = 10.0) -> socket.socket:
    """A connected, blocking AF_UNIX stream socket to the socket inode at `path`."""
    with socket_inode(path) as proc_path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        try:
            sock.connect(proc_path)
        except OSError:
            sock.close()
            raise
    return sock
