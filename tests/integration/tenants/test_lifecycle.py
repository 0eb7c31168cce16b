"""A tenant's life on each backend: start, JupyterLab on its socket, stop, restart, destroy."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from tenants.isolation import State, get_backend
from tenants.jupyter import JupyterEndpoint
from tests.integration.tenants.conftest import run_cell
from tests.integration.tenants.support import wait_for


def test_running_tenant_answers_on_its_jupyter_socket(env):
    assert env.runtime.status("acme").state is State.RUNNING
    endpoint = env.runtime.endpoint("acme")
    with endpoint.client() as http:
        assert http.get(endpoint.url("api/status")).status_code == 200
        assert http.get(endpoint.url("lab")).status_code == 200
        assert http.get(endpoint.url("api/terminals")).status_code == 404
    stranger = JupyterEndpoint(endpoint.socket_path, "not-the-tenant-token-0000", endpoint.base_url)
    with stranger.client() as http:
        assert http.get(stranger.url("api/contents")).status_code in (401, 403)


def test_operations_are_idempotent(env):
    spec = env.runtime.backend.spec_of("acme")
    assert env.runtime.backend.create(spec).state is State.RUNNING
    assert env.runtime.backend.start("acme").state is State.RUNNING
    assert "acme" in env.runtime.backend.tenants()


def test_a_new_backend_object_finds_the_running_tenant(env, backend_name):
    fresh = get_backend(backend_name, env.runtime.backend.state_dir)
    assert fresh.status("acme").state is State.RUNNING
    assert fresh.spec_of("acme") == env.runtime.backend.spec_of("acme")


def test_kernel_runs_as_nobody_inside(kernel):
    out = run_cell(kernel, "import os, json; print(json.dumps([os.getuid(), os.getgid(), sorted(os.listdir('/data/samples'))]))")
    assert out.ok, out.error
    assert json.loads(out.stdout) == [65534, 65534, ["people.csv"]]


def test_workspace_survives_stop_and_start_and_is_destroyed_with_the_tenant(env):
    env.start("keeper")
    endpoint = env.runtime.endpoint("keeper")
    kid = endpoint.start_kernel()
    assert endpoint.execute("open('/workspace/notes.txt','w').write('keep me')", kid).ok
    assert env.runtime.stop("keeper").state is State.STOPPED
    assert not env.runtime.workspace("keeper").is_mounted()
    assert not endpoint.is_ready()
    assert env.runtime.stop("keeper").state is State.STOPPED
    env.runtime.start("keeper", env.keys["keeper"], wait_s=90)
    kid = endpoint.start_kernel()
    out = endpoint.execute("print(open('/workspace/notes.txt').read())", kid)
    assert out.stdout.strip() == "keep me"
    layout = env.runtime.layout("keeper")
    env.runtime.destroy("keeper")
    assert env.runtime.status("keeper").state is State.UNKNOWN
    assert not layout.root.exists()
    env.keys.pop("keeper")


def test_a_sandbox_that_dies_reads_as_error(env, backend_name):
    env.start("fragile")
    backend = env.runtime.backend
    if backend_name == "docker":
        from tenants.isolation.docker_backend import container_name

        subprocess.run(["docker", "kill", container_name("fragile", backend.scope)], check=True, capture_output=True)
    else:
        info = json.loads((backend.state_dir / "fragile" / "run.json").read_text())
        os.kill(info["pid"], signal.SIGKILL)
    assert wait_for(lambda: backend.status("fragile").state is State.ERROR, 20)
    assert env.runtime.stop("fragile").state is State.STOPPED
    env.runtime.destroy("fragile")
    env.keys.pop("fragile")


@pytest.mark.docker
def test_docker_container_is_hardened_and_pinned(env, backend_name):
    if backend_name != "docker":
        return  # the bwrap equivalent is checked on its command line (unit tests)
    import docker

    from tenants.isolation import images
    from tenants.isolation.docker_backend import container_name

    client = docker.from_env()
    info = client.api.inspect_container(container_name("acme", env.runtime.backend.scope))
    host = info["HostConfig"]
    assert info["Image"] == images.resolve(client, "tenant")
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert info["Config"]["User"] == "65534:65534"
    assert host["PidsLimit"] > 0 and host["Memory"] > 0 and host["NanoCpus"] > 0
    assert {m["Destination"]: m["RW"] for m in info["Mounts"]} == {
        "/data/samples": False, "/workspace": True, "/run/aod": False, "/run/jupyter": True}
