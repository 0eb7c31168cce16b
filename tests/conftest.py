"""Shared fixtures. Package-specific fixtures live in each package's test folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty domain home folder."""
    path = tmp_path / "home"
    path.mkdir()
    return path
