"""Making host folders reachable by the unprivileged user that runs bubblewrap.

bubblewrap runs as uid 65534 (never as root: a sandbox whose uid maps to root outside could
still write root-owned files such as /proc/sys entries). That user must be able to traverse
to every folder it binds. The tenant's own folders are checked (`check_traversable`); system
folders that live where it cannot look (a Python installed under /root, a checkout in a
private folder) are shown to it through a read-only bind mount under /run/aod-bwrap, made
once per folder and shared by all sandboxes.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

from tenants.errors import BackendUnavailable

STAGE = Path("/run/aod-bwrap")


def can_traverse(path: Path, uid: int, gid: int) -> bool:
    """Whether `uid`/`gid` may walk down to `path` (search permission on every ancestor)."""
    path = Path(path).resolve()
    for folder in [*reversed(path.parents), path]:
        st = folder.stat()
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def check_traversable(path: Path, uid: int, gid: int, what: str) -> None:
    if not can_traverse(path, uid, gid):
        raise BackendUnavailable(
            f"{what} is not reachable by the sandbox user {uid}: give its parent folders o+x")


def _mounted(target: Path) -> bool:
    with open("/proc/self/mountinfo") as handle:
        return any(line.split()[4] == str(target) for line in handle)


def visible(path: Path, uid: int, gid: int) -> Path:
    """`path` itself if `uid` can reach it, else a read-only bind of it under /run/aod-bwrap."""
    path = Path(path).resolve()
    if can_traverse(path, uid, gid):
        return path
    target = STAGE / hashlib.sha256(str(path).encode()).hexdigest()[:16]
    if _mounted(target):
        return target
    STAGE.mkdir(mode=0o755, exist_ok=True)
    os.chmod(STAGE, 0o755)
    target.mkdir(mode=0o755, exist_ok=True)
    for args in (["mount", "--bind", str(path), str(target)],
                 ["mount", "-o", "remount,bind,ro", str(target)]):
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackendUnavailable(f"cannot show {path.name} to the sandbox user ({done.stderr.strip()[:120]})")
    return target
