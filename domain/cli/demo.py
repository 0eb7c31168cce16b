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
    from domain.demo import run_demo

    if home is None:
        home = Path("aod-demo-home")
    home = home.expanduser().resolve()
    if home.exists() and any(home.iterdir()):
        raise CliError(f"{home} is not empty; the demo needs a fresh home (pick another --home)")
    if people < 1000:
        raise CliError("--people must be at least 1000 (small groups would all be suppressed)")
    run_demo(home, people=people)
