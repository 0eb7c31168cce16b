"""The tenant folders both backends prepare before a start and release after a stop.

The Jupyter socket folder is the one host folder a running tenant can write to besides its
workspace, so it is a tiny tmpfs (1 MiB, 64 inodes), fresh at every start: the tenant cannot
fill the domain's disk through it, and no stale socket or planted file survives a restart.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tenants.errors import BackendUnavailable
from tenants.spec import TenantSpec

JUPYTER_DIR_BYTES = 1 << 20


def _mounted(path: Path) -> bool:
    with open("/proc/self/mountinfo") as handle:
        return any(line.split()[4] == str(path) for line in handle)


def prepare(spec: TenantSpec, uid: int, gid: int) -> None:
    """Check the bound folders exist; give the Jupyter folder a fresh private tmpfs."""
    for name in ("samples_dir", "workspace_dir", "gateway_dir"):
        if not getattr(spec, name).is_dir():
            raise BackendUnavailable(f"tenant {spec.tenant_id}: {name} does not exist")
    release(spec)
    spec.jupyter_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    opts = f"size={JUPYTER_DIR_BYTES},nr_inodes=64,mode=0700,uid={uid},gid={gid},nosuid,nodev,noexec"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "aod-jupyter", str(spec.jupyter_dir)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BackendUnavailable(f"cannot mount the Jupyter socket folder ({done.stderr.strip()[:160]})")


def release(spec: TenantSpec) -> None:
    """Unmount the Jupyter folder's tmpfs (idempotent)."""
    while _mounted(spec.jupyter_dir):
        subprocess.run(["umount", "-l", str(spec.jupyter_dir)], capture_output=True)
