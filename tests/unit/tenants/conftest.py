from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tenants.gateway import Gateway
from tenants.isolation import StubBackend
from tests.integration.tenants.support import ReferenceHandler


@pytest.fixture
def short_tmp():
    """A short folder (Unix socket paths are limited to 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="aodt-") as d:
        yield Path(d)


@pytest.fixture
def gateway(short_tmp):
    handler = ReferenceHandler(StubBackend(), short_tmp / "work")
    rejected: list = []
    gw = Gateway(handler, spool_dir=short_tmp / "spool",
                 on_rejected=lambda *args: rejected.append(args))
    gw.rejected = rejected
    gw.sockets = {t: gw.open(t, short_tmp / t, owner_uid=os.geteuid()) for t in ("acme", "rival")}
    yield gw
    gw.close_all()
