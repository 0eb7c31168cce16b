"""The tenant image built by docker/build.sh: pinned, offline, non-root, with the SDK."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tenants.isolation import images

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def client():
    import docker

    return docker.from_env()  # fails (never skips) without an engine


def test_tenant_image_matches_the_repository(client):
    image_id = images.resolve(client, "tenant")
    image = client.images.get(image_id)
    assert image.labels["org.aod.image"] == "tenant"
    assert image.labels["org.aod.inputs"] == images.inputs_digest("tenant")
    assert image.attrs["Config"]["User"] == "65534:65534"


def test_tenant_image_has_the_pinned_stack_and_the_sdk(client):
    pins = dict(line.split("==") for line in (REPO / "docker/tenant/requirements.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    code = ("import importlib.metadata as m, tenants.sdk, json; "
            "print(json.dumps({n: m.version(n) for n in ('jupyterlab', 'pandas', 'pyarrow', 'duckdb')}))")
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "--read-only", "--pull", "never",
                          images.resolve(client, "tenant"), "python3", "-c", code],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    import json

    assert json.loads(out.stdout) == {n: pins[n] for n in ("jupyterlab", "pandas", "pyarrow", "duckdb")}


def test_a_stale_or_foreign_image_is_refused(client, monkeypatch):
    from tenants.errors import ImageMissing

    monkeypatch.setenv("AOD_TENANT_IMAGE", images.resolve(client, "base"))
    with pytest.raises(ImageMissing, match="not built by docker/build.sh as the tenant image"):
        images.resolve(client, "tenant")
    monkeypatch.setenv("AOD_TENANT_IMAGE", "sha256:" + "0" * 64)
    with pytest.raises(ImageMissing, match="not built"):
        images.resolve(client, "tenant")
