"""Keep decrypted data in this process's memory out of core files and other processes' reach.

A process that opens a domain may hold raw data decrypted in memory (the raw cache, a query's
result before it is checked, a job's inputs). `protect_process_memory()` sets the core file
size limit to 0 (children inherit it) and marks the process non-dumpable (PR_SET_DUMPABLE 0),
so a crash writes no core file and processes of the same user cannot ptrace it or read its
/proc/<pid>/mem; an exec'd child (a sandbox) becomes dumpable again (the core limit, harmless
there, is inherited). Idempotent; each protection is tried on its own and a warning names one
that could not be set. `AOD_ALLOW_CORE_DUMPS=1` leaves both alone (debugging).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _prctl():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def protect_process_memory() -> bool:
    """True when both protections are in place; a warning names the one that could not be set."""
    if os.environ.get("AOD_ALLOW_CORE_DUMPS") == "1":
        return False
    missing = []
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        missing.append("core file limit 0")
    prctl = _prctl()
    if prctl is None or prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        missing.append("non-dumpable")
    if missing:
        logging.getLogger("aod.hardening").warning("decrypted data in this process is less protected: "
                                                   "could not set %s", " and ".join(missing))
    return not missing


def is_dumpable() -> bool | None:
    prctl = _prctl()
    return None if prctl is None else bool(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
