"""Fixtures of the tenants integration tests: the SAME tests run on both backends.

A backend that cannot run here (no engine, no image, no bubblewrap, no cgroups) makes its
tests fail with the reason, never skip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.integration.tenants.support import make_env

BACKENDS = [pytest.param("bwrap", marks=pytest.mark.bwrap), pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(params=BACKENDS, scope="module")
def backend_name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def env(backend_name):
    """A real runtime on a fake domain home, with tenant `acme` running."""
    root = Path(tempfile.mkdtemp(prefix=f"aod-{backend_name}-", dir="/tmp"))
    environment = make_env(backend_name, root)
    try:
        environment.start("acme")
        yield environment
    finally:
        environment.close()


@pytest.fixture(scope="module")
def kernel(env):
    endpoint = env.runtime.endpoint("acme")
    kernel_id = endpoint.start_kernel()
    yield endpoint, kernel_id


def run_cell(kernel, code: str, timeout_s: float = 120.0):
    endpoint, kernel_id = kernel
    return endpoint.execute(code, kernel_id, timeout_s=timeout_s)
