"""A tenant on the Docker backend driven through the domain (`tenant_backend = "docker"`), not
through tenants/ alone: created by the tenancy service on a real domain home, its JupyterLab
and kernel in a hardened container, the SDK inside it reading a desensitized sample through the
gateway socket, a production job in a one-shot container next to raw data, suspension refusing
at once, and termination leaving no container, folder, mount or key. Fails (never skips) when
the Docker engine or the tenant image is missing: `docker/engine.sh start && docker/build.sh all`."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest

from tests.integration.domain_links.conftest import _cleanup, build_world
from tests.integration.domain_links.test_gateway import JOB

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TENANT = "t-docker"
IN_TENANT = """
import os
from tenants.sdk import Client
client = Client.from_environment()
people = client.load_sample('population')
print('mounted:', sorted(os.listdir('/data/samples')))
print('sample:', len(people), all(str(v).startswith('ps_') for v in people['id_number']))
print('whoami:', client.tenant, os.getuid())
"""


@pytest.fixture(scope="module")
def docker_world():
    """Its own domain home whose configuration says `tenant_backend = "docker"`."""
    import docker

    from domain.config import DomainConfig
    from domain.core import CONFIG_FILE, Domain

    docker.from_env().ping()  # no engine: this fails here, with the engine's error
    root = Path(tempfile.mkdtemp(prefix="aod-links-docker-", dir="/tmp"))
    root.chmod(0o711)
    try:
        world = build_world(root)
        config = dataclasses.replace(DomainConfig.load(world.home / CONFIG_FILE), tenant_backend="docker")
        config.dump(world.home / CONFIG_FILE)
        world.domain = Domain.open(world.home)
        assert world.domain.config.tenant_backend == "docker"
        yield world
    finally:
        _cleanup(root)


@pytest.fixture(scope="module")
def tenant(docker_world):
    d, admin = docker_world.domain, docker_world.principal("admin")
    tenant = d.tenancy.create(admin, grant_id=docker_world.grant.id, staff_id="alice", tenant_id=TENANT)
    d.tenancy.start(admin, tenant.id, wait_s=120)
    yield tenant
    if d.tenancy.get(TENANT).status.value != "terminated":
        d.tenancy.terminate(admin, TENANT, reason="test finished")


def _container(world, tenant_id: str) -> dict:
    from tenants.isolation.docker_backend import container_name

    backend = world.domain.tenancy.runtime.backend
    return backend.client.api.inspect_container(container_name(tenant_id, backend.scope))


def test_the_domain_runs_the_tenant_in_a_hardened_container(docker_world, tenant):
    backend = docker_world.domain.tenancy.runtime.backend
    assert backend.name == "docker" and tenant.backend == "docker"
    host = _container(docker_world, TENANT)["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in " ".join(host["SecurityOpt"]) and host["PidsLimit"] > 0
    assert _container(docker_world, TENANT)["Config"]["User"] == "65534:65534"
    assert docker_world.domain.tenancy.runtime.endpoint(TENANT).is_ready()


def test_the_sdk_inside_reads_a_desensitized_sample(docker_world, tenant):
    endpoint = docker_world.domain.tenancy.runtime.endpoint(TENANT)
    kernel = endpoint.start_kernel()
    try:
        result = endpoint.execute(IN_TENANT, kernel, timeout_s=120)
    finally:
        endpoint.shutdown_kernel(kernel)
    assert result.ok, result.error
    assert "'population.parquet'" in result.stdout.split("mounted: ")[1].splitlines()[0]
    assert "sample: " in result.stdout and result.stdout.split("sample: ")[1].split()[1] == "True"
    assert f"whoami: {TENANT} 65534" in result.stdout
    reads = [e.event for e in docker_world.domain.audit_log.query(action="sample.read")]
    assert reads and reads[-1].actor.id == "alice" and reads[-1].targets[0].id == TENANT


def test_a_job_runs_in_a_one_shot_container_and_its_outputs_are_checked(docker_world, tenant, tmp_path):
    from tenants.sdk import Client

    d = docker_world.domain
    client = Client.at_socket(d.tenancy.runtime.backend.spec_of(TENANT).gateway_socket, timeout=120)
    (tmp_path / "main.py").write_text(JOB)
    job = client.submit_job(tmp_path / "main.py", name="headcount").wait(timeout=240)
    assert job.state == "succeeded", job.detail
    assert {o.name: o.state for o in job.outputs} == {"by_district.csv": "released", "leak.csv": "withheld"}
    assert len(job.fetch("by_district.csv")) > 0 and "rows read:" in job.logs()
    backend = d.tenancy.runtime.backend
    assert backend.client.containers.list(all=True, filters={"name": f"aod-{backend.scope}-job-"}) == []


def test_a_suspended_tenant_refuses_at_once_and_cannot_start(docker_world, tenant):
    from tenants.isolation.base import State
    from tenants.sdk import Client, GatewayUnavailable

    from domain.errors import InvalidTransition

    d, admin = docker_world.domain, docker_world.principal("admin")
    socket = d.tenancy.runtime.backend.spec_of(TENANT).gateway_socket
    d.tenancy.suspend(admin, TENANT, reason="agreement breached")
    with pytest.raises(GatewayUnavailable):
        Client.at_socket(socket, timeout=10).samples()
    assert d.tenancy.runtime.backend.status(TENANT).state is State.STOPPED
    assert not d.tenancy.runtime.endpoint(TENANT).is_ready()
    with pytest.raises(InvalidTransition):
        d.tenancy.start(admin, TENANT)


def test_termination_leaves_nothing(docker_world, tenant):
    d, admin = docker_world.domain, docker_world.principal("admin")
    backend = d.tenancy.runtime.backend
    layout = d.tenancy.runtime.layout(TENANT)
    jobs = [r["id"] for r in d.store.all("SELECT id FROM tenant_jobs WHERE tenant_id=?", (TENANT,))]
    assert jobs
    d.tenancy.terminate(admin, TENANT, reason="licence ended")
    assert backend.client.containers.list(all=True, filters={"label": f"org.aod.tenant={TENANT}"}) == []
    assert not layout.root.exists() and not (backend.state_dir / TENANT).exists()
    assert not any(str(layout.root) in line for line in Path("/proc/mounts").read_text().splitlines())
    assert not d.keys.exists("tenant", TENANT)
    assert not any((docker_world.home / "tenants" / "_jobs" / j).exists() for j in jobs)
    destroyed = [e.event for e in d.audit_log.query(action="key.destroy") if e.event.targets[1].id == TENANT]
    assert len(destroyed) == 1 and destroyed[0].details["workspace_deleted"] is True
