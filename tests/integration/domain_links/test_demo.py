"""`aod demo` end to end on a small population: its export step releases the aggregate after two
reviewers and blocks the product holding raw identifiers, on a machine without Docker."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from rich.console import Console


def test_demo_releases_one_product_and_blocks_the_other():
    from domain.core import Domain
    from domain.demo import run_demo

    root = Path(tempfile.mkdtemp(prefix="aod-links-demo-", dir="/tmp"))
    try:
        out = io.StringIO()
        run_demo(root / "home", people=3000, console=Console(file=out, width=200))
        d = Domain.open(root / "home")
        statuses = {r["product_name"]: r["status"] for r in d.store.all("SELECT product_name, status FROM export_requests")}
        assert statuses == {"headcount_by_district_education.csv": "released", "top_contributors.csv": "changes_requested"}
        text = out.getvalue()
        assert "with a signed manifest; verified: reviewers rita, rob" in text
        assert "blocked before any reviewer saw it" in text
    finally:
        shutil.rmtree(root, ignore_errors=True)
