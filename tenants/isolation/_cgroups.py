"""Resource limits for bubblewrap sandboxes through cgroups (v1 or v2), managed as root.

One cgroup per sandbox and controller (memory, pids, cpu). The sandbox joins it before
`bwrap` runs (see `join_script`), so every process inside counts against its limits: a fork
bomb stops at `pids`, memory exhaustion is OOM-killed inside the group, CPU is throttled.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tenants.errors import LimitsUnavailable
from tenants.spec import Limits

CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupSet:
    """The cgroup folders of one sandbox (one per controller on v1, one on v2)."""

    name: str
    dirs: tuple[Path, ...]
    version: int

    @property
    def procs_files(self) -> tuple[Path, ...]:
        return tuple(d / "cgroup.procs" for d in self.dirs)


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise LimitsUnavailable(f"cannot set {path.name} in {path.parent} ({exc.strerror})") from None


class Cgroups:
    """Creates, inspects and removes the cgroups of sandboxes under an `aod` parent."""

    def __init__(self, root: Path = Path("/sys/fs/cgroup"), prefix: str = "aod",
                 proc_self_cgroup: Path = Path("/proc/self/cgroup")):
        self.root = root
        self.prefix = prefix
        self._self_cgroup = proc_self_cgroup
        self.version = 2 if (root / "cgroup.controllers").exists() else 1

    def check_available(self) -> None:
        """Raise `LimitsUnavailable` unless limits can be enforced here."""
        if os.geteuid() != 0:
            raise LimitsUnavailable("cgroup limits need root")
        if self.version == 2:
            have = (self.root / "cgroup.controllers").read_text().split()
            missing = [c for c in CONTROLLERS if c not in have]
        else:
            missing = [c for c in CONTROLLERS if not (self.root / c / "cgroup.procs").exists()]
        if missing:
            raise LimitsUnavailable(f"cgroup controller(s) missing: {', '.join(missing)}")

    def _v1_parent(self, controller: str) -> Path:
        own = "/"
        for line in self._self_cgroup.read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            if controller in ctrls.split(","):
                own = path
        return self.root / controller / own.lstrip("/") / self.prefix

    def _dirs(self, name: str) -> tuple[Path, ...]:
        if self.version == 2:
            return (self.root / self.prefix / name,)
        return tuple(self._v1_parent(c) / name for c in CONTROLLERS)

    def handle(self, name: str) -> CgroupSet:
        """The cgroups of `name` (which may not exist)."""
        return CgroupSet(name, self._dirs(name), self.version)

    def create(self, name: str, limits: Limits) -> CgroupSet:
        """Make (or reuse) the cgroups of `name` and write `limits` into them."""
        self.check_available()
        cg = CgroupSet(name, self._dirs(name), self.version)
        if self.version == 2:
            self._enable_v2_controllers()
        for d in cg.dirs:
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LimitsUnavailable(f"cannot create cgroup {d} ({exc.strerror})") from None
        self._set_limits(cg, limits)
        return cg

    def _enable_v2_controllers(self) -> None:
        parent = self.root / self.prefix
        parent.mkdir(exist_ok=True)
        for d in (self.root, parent):
            _write(d / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))

    def _set_limits(self, cg: CgroupSet, limits: Limits) -> None:
        mem = limits.memory_mb * 1024 * 1024
        quota = max(1000, int(limits.cpus * CPU_PERIOD_US))
        if cg.version == 2:
            d = cg.dirs[0]
            _write(d / "memory.max", str(mem))
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(limits.pids))
            _write(d / "cpu.max", f"{quota} {CPU_PERIOD_US}")
            return
        memory, pids, cpu = cg.dirs
        _write(memory / "memory.limit_in_bytes", str(mem))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            _write(memory / "memory.memsw.limit_in_bytes", str(mem))
        _write(pids / "pids.max", str(limits.pids))
        _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(cpu / "cpu.cfs_quota_us", str(quota))

    def pids(self, cg: CgroupSet) -> set[int]:
        found: set[int] = set()
        for f in cg.procs_files:
            try:
                found.update(int(p) for p in f.read_text().split())
            except FileNotFoundError:
                continue
        return found

    def kill_all(self, cg: CgroupSet, sig: int = signal.SIGKILL) -> None:
        for pid in self.pids(cg):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def remove(self, cg: CgroupSet, timeout_s: float = 5.0) -> None:
        """Kill what is left and remove the folders; raises `LimitsUnavailable` if stuck."""
        deadline = time.monotonic() + timeout_s
        while self.pids(cg):
            self.kill_all(cg)
            if time.monotonic() > deadline:
                raise LimitsUnavailable(f"processes of {cg.name} survive SIGKILL")
            time.sleep(0.05)
        for d in cg.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)

    def memory_bytes(self, cg: CgroupSet) -> int:
        """Memory charged to the sandbox now (resident + page cache)."""
        d = cg.dirs[0]
        name = "memory.current" if cg.version == 2 else "memory.usage_in_bytes"
        try:
            return int((d / name).read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def oom_killed(self, cg: CgroupSet) -> bool:
        d = cg.dirs[0]
        name = "memory.events" if cg.version == 2 else "memory.oom_control"
        try:
            text = (d / name).read_text()
        except FileNotFoundError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        if cg.version == 1:
            try:
                return int((d / "memory.failcnt").read_text()) > 0 and "under_oom 1" in text
            except (FileNotFoundError, ValueError):
                return False
        return False


def join_script(procs_files: tuple[Path, ...]) -> list[str]:
    """A `/bin/sh -c` prefix that moves itself into the cgroups, then execs the rest of argv.

    It exits 97 (and the sandbox never starts) if it cannot join: limits fail closed.
    """
    joins = " && ".join(f'echo $$ > "{f}"' for f in procs_files) or "true"
    return ["/bin/sh", "-c", f'{joins} || exit 97; exec "$@"', "aod-sandbox"]
