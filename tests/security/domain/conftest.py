"""Fixtures of the domain's integration tests: one small world per module (ingest is the
expensive step), and a tiny CSV for tests that need a dataset of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import World


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("world"))


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
