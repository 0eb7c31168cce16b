"""One real domain home for the domain ↔ export_review / tenants links: the demo's three agencies'
registers (small), ingested, classified, encrypted at rest, and an active grant for the
operator `op-hz-insight` with staff alice and reviewers rita and rob outside it.

The home lives under a folder uid 65534 can traverse (bubblewrap sandboxes run as that uid),
not under pytest's private tmp folders.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

PEOPLE = 3000


@dataclass
class World:
    home: Path
    domain: object
    grant: object
    passwords: dict

    def principal(self, pid: str):
        return self.domain.principals.get(pid)

    def token(self, pid: str) -> str:
        return self.domain.auth.login(pid, self.passwords[pid]).token


def build_world(root: Path) -> World:
    from domain import demo

    run = demo.DemoRun(home=root / "home", people=PEOPLE, console=Console(file=io.StringIO(), width=120))
    domain = demo._init(run)
    files = demo._make_files(run)
    demo._ingest_all(run, domain, files)
    grant = demo._license(run, domain)
    return World(home=run.home, domain=domain, grant=grant, passwords=run.passwords)


@pytest.fixture(scope="package")
def world():
    root = Path(tempfile.mkdtemp(prefix="aod-links-", dir="/tmp"))
    root.chmod(0o711)
    try:
        yield build_world(root)
    finally:
        _cleanup(root)


def _cleanup(root: Path) -> None:
    import subprocess

    # A failed test may leave a tenant's workspace mounted: unmount before deleting.
    for line in Path("/proc/mounts").read_text().splitlines():
        target = line.split()[1]
        if target.startswith(str(root)):
            subprocess.run(["fusermount3", "-uz", target], check=False, capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def raw_people(world):
    """The population register as the trusted side holds it (for planting bad products)."""
    from domain.rawstore import read_table

    d = world.domain
    return read_table(d.catalog.raw_dir("population"), d.keys.get("dataset", "population"))
