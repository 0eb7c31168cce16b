"""Pieces with no sandbox: cgroup files, output collection, bounded logs, socket checks, digests."""

from __future__ import annotations

import ast
import io
import os
import socket
from pathlib import Path

import pytest

from tenants.errors import LimitsUnavailable, UnsafeSocket
from tenants.isolation import _bwrap_argv, images
from tenants.isolation._cgroups import Cgroups, join_script
from tenants.isolation._jobs import BoundedLog, collect_outputs
from tenants.jupyter._socket import connect_unix
from tenants.jupyter.launch import jupyter_argv, tenant_env
from tenants.spec import JobLimits, Limits, TenantLayout

REPO = Path(__file__).resolve().parents[3]


def _fake_v1(root: Path, proc_cgroup: Path) -> None:
    for ctrl in ("memory", "pids", "cpu"):
        (root / ctrl).mkdir(parents=True)
        (root / ctrl / "cgroup.procs").write_text("")
    proc_cgroup.write_text("4:memory:/outer\n8:pids:/\n1:cpu,cpuacct:/\n")


def test_v1_limits_are_written_under_our_own_cgroup(tmp_path):
    _fake_v1(tmp_path / "cg", tmp_path / "self")
    cg = Cgroups(tmp_path / "cg", proc_self_cgroup=tmp_path / "self")
    assert cg.version == 1
    made = cg.create("tenant-acme", Limits(memory_mb=256, cpus=0.5, pids=64))
    memory, pids, cpu = made.dirs
    assert memory == tmp_path / "cg" / "memory" / "outer" / "aod" / "tenant-acme"
    assert (memory / "memory.limit_in_bytes").read_text() == str(256 << 20)
    assert (pids / "pids.max").read_text() == "64"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000"
    assert made.procs_files[0] == memory / "cgroup.procs"


def test_v2_limits(tmp_path):
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory pids io")
    cg = Cgroups(root)
    made = cg.create("job-j1", Limits(memory_mb=128, cpus=2, pids=32))
    d = made.dirs[0]
    assert d == root / "aod" / "job-j1"
    assert (d / "memory.max").read_text() == str(128 << 20)
    assert (d / "cpu.max").read_text() == "200000 100000"
    assert "+memory" in (root / "cgroup.subtree_control").read_text()


def test_missing_controllers_fail_closed(tmp_path):
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu io")
    with pytest.raises(LimitsUnavailable, match="memory"):
        Cgroups(root).check_available()


def test_join_script_exits_97_when_it_cannot_join(tmp_path):
    import subprocess

    args = join_script((tmp_path / "missing" / "cgroup.procs",)) + ["true"]
    assert subprocess.run(args, capture_output=True).returncode == 97


def test_collect_outputs_copies_only_regular_files_within_bounds(tmp_path):
    stage, dest = tmp_path / "stage", tmp_path / "dest"
    stage.mkdir(), dest.mkdir()
    (stage / "a.parquet").write_bytes(b"abc")
    (stage / "sub").mkdir()
    (stage / "sub" / "b.txt").write_bytes(b"12345")
    (stage / "link").symlink_to("/etc/passwd")
    (stage / "dirlink").symlink_to("/etc")
    os.mkfifo(stage / "fifo")
    (stage / "big.bin").write_bytes(b"x" * 100)
    outputs, rejected = collect_outputs(stage, dest, JobLimits(max_output_bytes=50))
    assert [o.name for o in outputs] == ["a.parquet", "sub/b.txt"]
    assert outputs[0].sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert set(rejected) == {"big.bin", "dirlink", "fifo", "link"}
    assert sorted(p.name for p in dest.rglob("*")) == ["a.parquet", "b.txt", "sub"]


def test_bounded_log_keeps_the_head_and_says_it_was_cut():
    log = BoundedLog(io.BytesIO(b"x" * 5000 + "é".encode()), 1024)
    assert len(log.text()) == 1024 and log.truncated
    whole = BoundedLog(iter([b"ab", b"cd"]), 1024)
    assert whole.text() == "abcd" and not whole.truncated


def test_connect_unix_refuses_links_and_non_sockets(tmp_path):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    try:
        connect_unix(path).close()
        (tmp_path / "planted.sock").symlink_to(path)
        with pytest.raises(UnsafeSocket, match="symbolic link"):
            connect_unix(tmp_path / "planted.sock")
        (tmp_path / "file").write_text("x")
        with pytest.raises(UnsafeSocket, match="not a socket"):
            connect_unix(tmp_path / "file")
        with pytest.raises(UnsafeSocket, match="no socket"):
            connect_unix(tmp_path / "absent")
    finally:
        server.close()


def test_digest_depends_on_content_and_ignores_bytecode(tmp_path):
    for rel in ("docker/base/packages.txt", "docker/tenant/Dockerfile", "tenants/sdk/a.py",
                "tenants/jupyter/config/x.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("v1")
    first = images.inputs_digest("tenant", tmp_path)
    (tmp_path / "tenants/sdk/__pycache__").mkdir()
    (tmp_path / "tenants/sdk/__pycache__/a.pyc").write_text("junk")
    assert images.inputs_digest("tenant", tmp_path) == first
    (tmp_path / "tenants/sdk/a.py").write_text("v2")
    assert images.inputs_digest("tenant", tmp_path) != first
    assert images.inputs_digest("base", tmp_path) != first
    with pytest.raises(ValueError):
        images.inputs_digest("other", tmp_path)


def test_jupyter_runs_on_its_socket_without_terminals_or_extension_installs(tmp_path):
    spec = TenantLayout.for_home(tmp_path, "acme").spec()
    argv = jupyter_argv("/py", spec)
    for flag in ("--ServerApp.sock=/run/jupyter/jupyter.sock", "--ServerApp.terminals_enabled=False",
                 "--KernelManager.transport=ipc", "--LabApp.extension_manager=readonly",
                 "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
                 "--ServerApp.jpserver_extensions=notebook_shim=False",
                 "--ServerApp.jpserver_extensions=jupyter_lsp=False"):
        assert flag in argv
    assert not any(a.startswith(("--port", "--ServerApp.port")) for a in argv)
    assert not any(spec.jupyter_token in a for a in argv)  # the token goes by environment
    env = tenant_env(spec, "/usr/bin")
    assert env["JUPYTER_TOKEN"] == spec.jupyter_token
    assert env["AOD_GATEWAY_SOCKET"] == "/run/aod/gateway.sock"


def test_bwrap_sandbox_unshares_everything_and_binds_only_the_tenant(tmp_path):
    spec = TenantLayout.for_home(tmp_path, "acme").spec()
    args = _bwrap_argv.tenant_args(spec, tmp_path / "etc", {"A": "b"})
    for flag in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--clearenv"):
        assert flag in args
    assert args[args.index("--cap-drop") + 1] == "ALL"
    assert args[args.index("--uid") + 1] == "65534"
    binds = [args[i + 1] for i, a in enumerate(args) if a in ("--bind", "--ro-bind")]
    home_binds = [b for b in binds if b.startswith(str(tmp_path))]
    assert sorted(home_binds) == sorted(str(p) for p in (
        spec.samples_dir, spec.workspace_dir, spec.gateway_dir, spec.jupyter_dir,
        *(tmp_path / "etc" / n for n in (*_bwrap_argv.ETC_FILES, "sdk__init__.py")),
        *[tmp_path / "etc" / _bwrap_argv.MASK_FILE] * (len(_bwrap_argv._masked_tools(tmp_path / "etc")) // 3)))
    writable = [args[i + 1] for i, a in enumerate(args) if a == "--bind"]
    assert writable == [str(spec.workspace_dir), str(spec.jupyter_dir)]


def test_node_is_masked_by_an_empty_non_executable_file(tmp_path, monkeypatch):
    node = tmp_path / "usr-bin-node"
    node.write_text("#!/bin/sh\n")
    node.chmod(0o755)
    monkeypatch.setattr(_bwrap_argv.os.path, "realpath", lambda p: "/usr/bin/node" if "node" in str(p) else str(p))
    monkeypatch.setattr(_bwrap_argv.os.path, "isfile", lambda p: p == "/usr/bin/node")
    args = _bwrap_argv._masked_tools(tmp_path / "etc")
    assert args == ["--ro-bind", str(tmp_path / "etc" / "masked"), "/usr/bin/node"]  # node and nodejs: once
    _bwrap_argv.write_etc(tmp_path / "etc")
    mask = tmp_path / "etc" / "masked"
    assert mask.stat().st_size == 0 and not mask.stat().st_mode & 0o111


def test_jupyter_is_started_without_the_iri_checker_module():
    import subprocess
    import sys

    from tenants.jupyter.launch import SERVE

    probe = SERVE.split("from jupyterlab")[0] + "import jsonschema._format as f; print(hasattr(f, 'is_iri'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-300:]


def test_sdk_imports_nothing_but_the_standard_library_pandas_pyarrow_and_itself():
    allowed = {"pandas", "pyarrow", "tenants"}
    import sys

    for path in (REPO / "tenants" / "sdk").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in allowed, (path.name, name)
                if top == "tenants":
                    assert name.startswith("tenants.sdk"), (path.name, name)


def test_traversal_needs_search_permission_on_every_parent():
    import shutil
    import tempfile

    from tenants.isolation._visible import can_traverse

    root = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        inner = root / "a" / "b"
        inner.mkdir(parents=True)
        for d in (root, root / "a"):
            os.chmod(d, 0o755)
        assert can_traverse(inner, 65534, 65534)
        os.chmod(root / "a", 0o700)
        assert not can_traverse(inner, 65534, 65534)
        os.chown(root / "a", 65534, 65534)
        assert can_traverse(inner, 65534, 65534)
    finally:
        shutil.rmtree(root)


def test_two_domain_homes_never_share_a_cgroup_or_container_name(tmp_path):
    """cgroups and Docker names are machine-wide: a tenant id used in two homes must map to two
    names, or stopping one domain's tenant would kill the other's processes."""
    from tenants.isolation.bwrap import BwrapBackend
    from tenants.isolation.docker_backend import DockerBackend, container_name

    a, b = BwrapBackend(tmp_path / "a" / "_bwrap"), BwrapBackend(tmp_path / "b" / "_bwrap")
    assert a._cgroup_name("t-1") != b._cgroup_name("t-1")
    assert a._cgroup_name("t-1") == BwrapBackend(tmp_path / "a" / "_bwrap")._cgroup_name("t-1")  # stable
    da, db = DockerBackend(tmp_path / "a" / "_docker"), DockerBackend(tmp_path / "b" / "_docker")
    assert container_name("t-1", da.scope) != container_name("t-1", db.scope)
