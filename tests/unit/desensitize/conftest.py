"""Fixtures for the desensitize tests: a secret, small labelled tables, the Presidio engine."""

from __future__ import annotations

import pytest

SECRET = b"unit-test-secret-0123456789abcdef"


@pytest.fixture
def secret() -> bytes:
    return SECRET


@pytest.fixture(scope="session")
def people_small():
    from desensitize import synthetic

    return synthetic.people(3000, 11)


@pytest.fixture(scope="session")
def presidio():
    from desensitize.analyzer import engine

    return engine()
