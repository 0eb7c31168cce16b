"""`aod export …` is export_review's own Typer app; this module tells it how to reach the domain:
the export service of the home (`Domain.exports`) and the principal of the saved login session
(or `--token` / `AOD_TOKEN`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def provide(home: Optional[Path], token: Optional[str]):
    from domain.cli.common import acting_principal, open_domain
    from domain.exports import check_compliant

    domain = open_domain(home)
    return domain.exports, check_compliant(domain, acting_principal(domain, token))


def configure() -> None:
    from export_review import cli as export_cli

    export_cli.configure(provide)
