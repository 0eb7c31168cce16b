"""A process that opens a domain can hold decrypted raw data: it writes no core file and is not
dumpable (no ptrace or /proc/<pid>/mem by processes of the same user); a sandbox it starts gets
its own setting back."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import resource, sys
from domain.hardening import is_dumpable
from domain.core import Domain
Domain.init(sys.argv[1], admin_password="a-long-admin-password-1")
print(resource.getrlimit(resource.RLIMIT_CORE), is_dumpable())
with open("/proc/self/status") as fh:
    print(open("/proc/self/stat").read().split()[0] != "", flush=True)
"""


def run(home, env=None):
    import os

    out = subprocess.run([sys.executable, "-c", PROBE, str(home)], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.splitlines()


def test_a_domain_process_writes_no_core_file_and_is_not_dumpable(tmp_path):
    limits, own_proc = run(tmp_path / "home")
    assert limits == "(0, 0) False" and own_proc == "True"  # it still reads its own /proc entries


def test_the_switch_for_debugging(tmp_path):
    (limits, _) = run(tmp_path / "home", {"AOD_ALLOW_CORE_DUMPS": "1"})
    assert limits.endswith("True")


def test_an_execd_child_is_dumpable_again():
    code = ("from domain.hardening import protect_process_memory, is_dumpable; import subprocess, sys; "
            "protect_process_memory(); print(is_dumpable()); "
            "print(subprocess.run([sys.executable, '-c', 'from domain.hardening import is_dumpable; "
            "print(is_dumpable())'], capture_output=True, text=True).stdout.strip())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True"], out.stderr
