"""`aod demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from domain.cli.common import CliError, HomeOption


def demo(
    home: Optional[Path] = HomeOption,
    people: int = typer.Option(100_000, "--people", help="Residents in the synthetic population register."),
) -> None:
    """Build a demo domain in a fresh home and run the whole flow end to end."""
    from domain.demo import DEMO_MARKER, run_demo

    if home is None:
        home = Path("aod-demo-home")
    home = home.expanduser().resolve()
    if people < 1000:
        raise CliError("--people must be at least 1000 (small groups would all be suppressed)")
    if home.exists() and any(home.iterdir()):
        if not (home / DEMO_MARKER).is_file():
            raise CliError(f"{home} is not empty; the demo needs a fresh home (pick another --home)")
        typer.echo(f"replacing the earlier demo home {home}")
        _remove_demo_home(home)
    run_demo(home, people=people)


def _remove_demo_home(home: Path) -> None:
    """Delete a home the demo made (a tenant's mount left by an interrupted run detached first)."""
    import shutil
    import subprocess

    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        target = line.split()[1]
        if target.startswith(str(home) + "/"):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    shutil.rmtree(home)
