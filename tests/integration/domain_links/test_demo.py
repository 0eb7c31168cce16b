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


def test_demo_tenant_step_uses_a_bwrap_tenant_through_the_sdk():
    """On 1000 people, with bubblewrap here (required: fails, never skips, without it)."""
    import re

    from domain.core import Domain
    from domain.demo import run_demo

    assert shutil.which("bwrap"), "bubblewrap is required for the demo's tenant step (apt-get install bubblewrap)"
    root = Path(tempfile.mkdtemp(prefix="aod-links-demo-", dir="/tmp"))
    root.chmod(0o711)
    try:
        out = io.StringIO()
        run = run_demo(root / "home", people=1000, console=Console(file=out, width=250))
        text = out.getvalue()
        assert "tenant t-alice running for alice on bubblewrap" in text
        assert "sample population (desensitized), first 3 rows" in text
        assert "query for raw rows refused: population.id_number is a direct identifier" in text
        assert re.search(r"accepted aggregate query: \d+ districts", text)
        assert re.search(r"job j-[0-9a-f]+ on raw data succeeded", text)
        assert "contribution_by_district.csv released to the tenant" in text
        assert "avg_base_by_district.csv withheld: disclosure" in text
        assert "checked job output" in text and "share_above_median_base" in text
        assert "tenant t-alice terminated: sandbox removed, workspace deleted, key destroyed" in text
        d = Domain.open(root / "home")
        assert d.tenancy.get("t-alice").status.value == "terminated" and not d.keys.exists("tenant", "t-alice")
        assert not (root / "home" / "tenants" / "t-alice").exists()
        step = next(t for title, t in run.timings.items() if title.startswith("9."))
        print(f"tenant step: {step:.1f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_demo_tenant_step_says_what_is_missing_without_bubblewrap(tmp_path, monkeypatch):
    from domain.demo import _tenant_missing

    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no bwrap on it
    assert _tenant_missing(tmp_path) == ("the tenant step needs bubblewrap: apt-get install bubblewrap "
                                         "(or scripts/setup)")
