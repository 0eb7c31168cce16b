"""Every public name of the SDK is documented in docs/api/sdk.md (Datasette's test_docs idea)."""

from __future__ import annotations

import inspect
from pathlib import Path

import tenants.sdk as sdk
from tenants.sdk import Client, Job

DOC = (Path(__file__).resolve().parents[3] / "docs" / "api" / "sdk.md").read_text()


def test_every_public_name_is_documented():
    missing = [name for name in sdk.__all__ if f"`{name}" not in DOC]
    assert missing == []


def test_every_public_method_is_documented():
    for cls in (Client, Job):
        for name, member in inspect.getmembers(cls):
            if not name.startswith("_") and (callable(member) or isinstance(member, property)):
                assert f"`{name}" in DOC or f".{name}(" in DOC, f"{cls.__name__}.{name}"
