"""Which process hosts a job, and whether it still runs.

A job runs in a thread of the process that accepted it. `host_token()` names that process as
boot id / pid namespace / pid / start time: a pid alone is reused, a start time with it is not,
and the boot id tells a restarted machine. `host_alive(token)` answers True or False only when
it can be told from here, and None otherwise (another pid namespace, an unreadable /proc).
"""

from __future__ import annotations

import os
from functools import lru_cache


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, str]:
    """(state, start time) of a process from /proc/<pid>/stat (fields 3 and 22), or ("", "").
    The start time, in clock ticks since boot, names one process with its pid (pids are reused,
    start times with them are not)."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat.rsplit(")", 1)[-1].split() if ")" in stat else []
    return (fields[0], fields[19]) if len(fields) > 19 else ("", "")


def _start_time(pid: int) -> str:
    return _stat(pid)[1]


def _exists(pid: int) -> bool | None:
    """Whether a process with this pid exists, asked of the kernel (None: cannot tell)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


@lru_cache(maxsize=None)
def _host_of(pid: int) -> str:
    return "/".join((_read("/proc/sys/kernel/random/boot_id"), _pid_namespace(), str(pid), _start_time(pid)))


def host_token() -> str:
    """This process, as recorded with the jobs it runs: boot id / pid namespace / pid / start time."""
    return _host_of(os.getpid())


def host_alive(token: str | None) -> bool | None:
    """True or False when it can be told whether the process `token` names still runs; None
    when it cannot (no token, or a process in another pid namespace, e.g. another container)."""
    parts = (token or "").split("/")
    if len(parts) != 4 or not parts[0]:
        return None
    boot, namespace, pid, started = parts
    here = _read("/proc/sys/kernel/random/boot_id")
    if not here or not namespace or namespace != _pid_namespace() or not pid.isdigit() or not started:
        return None  # another container (or a kernel that gives each its own boot id), or no /proc
    if boot != here:
        return False  # the machine restarted since: every process of that boot is gone
    state, now_started = _stat(int(pid))
    if not now_started:  # unreadable (hidepid, a non-dumpable host) or gone: ask the kernel
        return None if _exists(int(pid)) else False
    return now_started == started and state not in ("Z", "X")  # a zombie runs nothing any more
