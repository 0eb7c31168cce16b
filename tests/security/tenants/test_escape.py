"""Escape probes: code in a tenant's notebook kernel tries to get out. Every attempt must fail.

The SAME probes run on both backends. Decoys with known content sit in a fake domain home
(raw store, master key, control-plane database, audit log) and in another tenant's workspace;
the host listens on loopback TCP/UDP and on an abstract Unix socket. Network probes only ever
target loopback or addresses that exist inside the sandbox; outside addresses are probed by a
route lookup (a UDP `connect`, which sends nothing).
"""

from __future__ import annotations

import ast
import json
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tenants.isolation import State
from tenants.isolation._bwrap_argv import python_prefixes
from tenants.spec import Limits
from tests.integration.tenants.support import DECOY, make_env

BACKENDS = [pytest.param("bwrap", marks=pytest.mark.bwrap), pytest.param("docker", marks=pytest.mark.docker)]
PIDS = 160
MEMORY_MB = 700
WORKSPACE_MB = 32

PRELUDE = r'''
import errno, json, os, socket, subprocess, sys, time
def attempt(fn):
    try:
        value = fn()
        return ["ok", repr(value)[:200]]
    except Exception as exc:
        return ["denied", type(exc).__name__ + ":" + str(getattr(exc, "errno", ""))]
'''


@pytest.fixture(scope="module", params=BACKENDS)
def world(request):
    """Tenants `acme` (attacker) and `rival` running; host listeners and decoys in place."""
    root = Path(tempfile.mkdtemp(prefix=f"aod-sec-{request.param}-", dir="/tmp"))
    env = make_env(request.param, root)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.5)
    abstract_name = f"aod-probe-{uuid.uuid4().hex[:8]}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    abstract.listen(8)
    try:
        env.start("rival")
        rival_ws = env.runtime.layout("rival").workspace_dir
        (rival_ws / "rival-secret.txt").write_text(f"{DECOY} rival workspace\n")
        env.start("acme", limits=Limits(memory_mb=MEMORY_MB, pids=PIDS, cpus=1.0, tmp_mb=64, workspace_mb=WORKSPACE_MB))
        endpoint = env.runtime.endpoint("acme")
        kernel_id = endpoint.start_kernel()
        assert endpoint.execute(PRELUDE, kernel_id).ok
        yield {"env": env, "endpoint": endpoint, "kernel": kernel_id, "tcp": tcp.getsockname()[1],
               "udp": udp, "abstract": abstract_name, "backend": request.param}
    finally:
        env.close()
        for s in (tcp, udp, abstract):
            s.close()
        _remove(root)


def _remove(root: Path) -> None:
    """Delete the test's folder; a mount a failed teardown left under it is detached first."""
    import shutil
    import subprocess

    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        target = line.split()[1]
        if target.startswith(str(root) + "/"):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def probe(world, code: str, timeout_s: float = 60.0):
    """Run `code` (which sets `result`) in the attacker's kernel; returns `result`."""
    out = world["endpoint"].execute(code + "\nprint('@@' + json.dumps(result))", world["kernel"], timeout_s)
    assert out.ok, (out.error, out.stderr[-1000:])
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("@@")][-1]
    return json.loads(line[2:])


def assert_all_denied(results: dict) -> None:
    leaked = {k: v for k, v in results.items() if v[0] != "denied"}
    assert not leaked, leaked


# -- network -------------------------------------------------------------------------------
def test_tcp_to_host_loopback_is_refused(world):
    r = probe(world, f"""
s = socket.socket(); s.settimeout(2)
result = {{"tcp": attempt(lambda: s.connect(("127.0.0.1", {world['tcp']})))}}""")
    assert_all_denied(r)


def test_udp_to_host_loopback_never_arrives(world):
    r = probe(world, f"""
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
result = {{"sent": attempt(lambda: u.sendto(b"escape", ("127.0.0.1", {world['udp'].getsockname()[1]})))}}""")
    with pytest.raises(socket.timeout):
        world["udp"].recvfrom(100)  # whatever the sandbox did, nothing reached the host
    assert r["sent"][0] in ("ok", "denied")


def test_host_abstract_unix_socket_is_out_of_reach(world):
    r = probe(world, f"""
a = socket.socket(socket.AF_UNIX)
result = {{"abstract": attempt(lambda: a.connect("\\0{world['abstract']}"))}}""")
    assert_all_denied(r)


def test_no_route_to_the_host_or_outside(world):
    # A UDP connect only looks the route up: no packet is sent, whatever the answer.
    host_addrs = sorted({a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
                         if not a[4][0].startswith("127.")})
    targets = host_addrs + ["192.0.2.1", "198.51.100.7", "8.8.8.8"]
    r = probe(world, f"""
def route(addr):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.connect((addr, 53)); return u.getsockname()
result = {{addr: attempt(lambda addr=addr: route(addr)) for addr in {targets!r}}}
result["ipv6"] = attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).connect(("2001:db8::1", 53)))""")
    assert_all_denied(r)


def test_only_loopback_interface_exists(world):
    r = probe(world, "result = sorted(n for _, n in socket.if_nameindex())")
    assert r == ["lo"]


def test_dns_resolution_fails(world):
    r = probe(world, """
result = {name: attempt(lambda name=name: socket.getaddrinfo(name, 443)) for name in ("pypi.org", "deb.debian.org")}""")
    assert_all_denied(r)


def test_raw_and_packet_sockets_are_denied(world):
    r = probe(world, """
result = {"raw": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
          "packet": attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))}""")
    assert_all_denied(r)


def test_docker_socket_and_host_runtime_sockets_are_absent(world):
    r = probe(world, """
def conn(p):
    s = socket.socket(socket.AF_UNIX); s.connect(p)
result = {p: attempt(lambda p=p: conn(p)) for p in ("/var/run/docker.sock", "/run/docker.sock",
          "/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock")}""")
    assert_all_denied(r)


# -- files ---------------------------------------------------------------------------------
def test_domain_secrets_are_not_reachable_by_path(world):
    env = world["env"]
    paths = [str(p) for p in env.decoys.values()] + [str(env.home), "/work", str(env.home / "keys")]
    r = probe(world, f"result = {{p: attempt(lambda p=p: os.listdir(p) if os.path.isdir(p) else open(p).read()) for p in {paths!r}}}")
    assert_all_denied(r)
    # /root exists inside only to hold the Python installation's mount point (when it lives there).
    allowed = {Path(p).relative_to("/root").parts[0] for p in python_prefixes() if p.startswith("/root/")}
    seen = probe(world, "result = attempt(lambda: sorted(os.listdir('/root')))")
    assert seen[0] == "denied" or set(ast.literal_eval(seen[1])) <= allowed, seen


def test_no_decoy_anywhere_in_the_visible_filesystem(world):
    r = probe(world, f"""
hits, scanned = [], 0
skip = ("/proc", "/sys", "/dev", "/usr", sys.base_prefix, sys.prefix, "/opt/aod/venv")
for top, dirs, files in os.walk("/"):
    if top.startswith(skip):
        dirs[:] = []; continue
    for f in files:
        p = os.path.join(top, f)
        try:
            with open(p, "rb") as h:
                scanned += 1
                if {DECOY.encode()!r} in h.read(1 << 20): hits.append(p)
        except OSError:
            pass
result = {{"hits": hits, "scanned": scanned}}""", timeout_s=180)
    assert r["hits"] == [] and r["scanned"] > 0


def test_other_tenant_folders_and_socket_are_invisible(world):
    rival = world["env"].runtime.layout("rival")
    paths = [str(rival.root), str(rival.workspace_dir / "rival-secret.txt"), str(rival.gateway_dir / "gateway.sock"),
             str(rival.jupyter_dir / "jupyter.sock"), str(rival.cipher_dir)]
    r = probe(world, f"""
def touch(p):
    if p.endswith(".sock"):
        s = socket.socket(socket.AF_UNIX); s.connect(p); return "connected"
    return os.listdir(p) if os.path.isdir(p) else open(p).read()
result = {{p: attempt(lambda p=p: touch(p)) for p in {paths!r}}}""")
    assert_all_denied(r)


def test_writing_outside_workspace_fails(world):
    r = probe(world, """
targets = ["/data/samples/people.csv", "/data/samples/new.csv", "/run/aod/gateway.sock.x", "/run/aod/x",
           "/etc/passwd", "/usr/bin/python-evil", "/opt/evil", "/evil", "/run/evil"]
result = {t: attempt(lambda t=t: open(t, "a").write("x")) for t in targets}
result["mkdir"] = attempt(lambda: os.mkdir("/data/evil"))
result["chmod-samples"] = attempt(lambda: os.chmod("/data/samples", 0o777))""")
    assert_all_denied(r)


def test_jupyter_socket_folder_cannot_fill_the_host_disk(world):
    r = probe(world, """
def fill():
    with open("/run/jupyter/filler", "wb") as f:
        f.write(b"x" * (4 << 20))
result = {"fill": attempt(fill)}
if os.path.exists("/run/jupyter/filler"): os.remove("/run/jupyter/filler")""")
    assert_all_denied(r)
    assert r["fill"][1].endswith(":28")  # ENOSPC: a 1 MiB tmpfs, not the domain's disk


def test_workspace_cannot_fill_the_host_disk(world):
    r = probe(world, f"""
def fill():
    with open("/workspace/filler.bin", "wb") as f:
        for _ in range({WORKSPACE_MB * 2}):
            f.write(b"x" * (1 << 20))
result = {{"fill": attempt(fill)}}
os.remove("/workspace/filler.bin")
result["after"] = attempt(lambda: open("/workspace/after.txt", "w").write("room again"))""")
    assert r["fill"][0] == "denied" and r["fill"][1].endswith(":28")  # ENOSPC on its own volume
    assert r["after"][0] == "ok"


def test_tmp_is_private_to_the_sandbox(world):
    marker = f"aod-tmp-marker-{uuid.uuid4().hex[:8]}"
    r = probe(world, f"open('/tmp/{marker}', 'w').write('x'); result = os.path.exists('/tmp/{marker}')")
    assert r is True
    assert not Path("/tmp", marker).exists()


# -- /proc, /sys, privileges -----------------------------------------------------------------
def test_host_processes_are_invisible(world):
    r = probe(world, """
cmds = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try: cmds.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode())
        except OSError: pass
result = {"count": len(cmds), "host": [c for c in cmds if any(w in c for w in ("pytest", "dockerd", "containerd", "gocryptfs"))]}""")
    assert r["host"] == [] and r["count"] < 40


def test_proc_and_sys_cannot_be_written(world):
    r = probe(world, """
targets = ["/proc/sys/kernel/hostname", "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches",
           "/sys/kernel/uevent_helper", "/sys/fs/cgroup/cgroup.procs", "/proc/1/oom_score_adj_x"]
result = {t: attempt(lambda t=t: open(t, "w").write("1")) for t in targets}
result["proc1root"] = attempt(lambda: open("/proc/1/root/etc/shadow").read())
result["kcore"] = attempt(lambda: open("/proc/kcore", "rb").read(16))
result["kmsg"] = attempt(lambda: open("/dev/kmsg").read(16))""")
    assert_all_denied(r)


def test_no_privilege_can_be_gained(world):
    r = probe(world, """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def call(rc):
    if rc != 0: raise OSError(ctypes.get_errno(), "failed")
    return rc
result = {"setuid0": attempt(lambda: os.setuid(0)),
          "mount": attempt(lambda: call(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))),
          "unshare_user": attempt(lambda: call(libc.unshare(0x10000000))),
          "unshare_net": attempt(lambda: call(libc.unshare(0x40000000))),
          "mknod": attempt(lambda: os.mknod("/tmp/sda", 0o600 | 0o060000, os.makedev(8, 0))),
          "chroot": attempt(lambda: os.chroot("/tmp")),
          "sethostname": attempt(lambda: call(libc.sethostname(b"evil", 4)))}""")
    assert_all_denied(r)


def test_no_capabilities_and_no_block_devices(world):
    r = probe(world, """
st = {l.split(":")[0]: l.split(":")[1].strip() for l in open("/proc/self/status") if ":" in l}
result = {"CapEff": st["CapEff"], "NoNewPrivs": st["NoNewPrivs"],
          "devs": sorted(d for d in os.listdir("/dev") if d.startswith(("sd", "vd", "nvme", "loop", "mem", "fuse")))}""")
    assert r["CapEff"] == "0000000000000000" and r["devs"] == []
    assert r["NoNewPrivs"] == "1" or world["backend"] == "bwrap"  # bwrap: no setuid binaries exist to gain from


# -- the gateway -----------------------------------------------------------------------------
def test_gateway_answers_as_this_tenant_whatever_the_request_says(world):
    r = probe(world, """
from tenants.sdk import Client
c = Client.from_environment()
ctype, body = c._transport.request("GET", "/v1/whoami", query={"tenant": "rival"})
result = json.loads(body)""")
    assert r == {"tenant": "acme"}


def test_authority_routes_do_not_exist_on_the_gateway(world):
    r = probe(world, """
from tenants.sdk import Client, SDKError
c = Client.from_environment()
routes = [("POST", "/v1/grants"), ("POST", "/v1/tenants/rival/suspend"), ("POST", "/v1/imports/i1/approve"),
          ("POST", "/v1/exports/x1/approve"), ("GET", "/v1/audit"), ("GET", "/admin"), ("DELETE", "/v1/tenants/acme"),
          ("GET", "/v1/samples/..%2F..%2Fkeys"), ("POST", "/api/v1/auth/login")]
result = {f"{m} {p}": attempt(lambda m=m, p=p: c._transport.request(m, p, json_body={})) for m, p in routes}""")
    assert_all_denied(r)
    assert all(v[1].startswith("NotFoundError") or v[1].startswith("BadRequest") for v in r.values()), r


# -- resources -------------------------------------------------------------------------------
def test_fork_bomb_stays_contained(world):
    r = probe(world, r"""
bomb = subprocess.Popen([sys.executable, "-c", '''
import os, time
n = 0
for i in range(100000):
    try:
        if os.fork() == 0:
            time.sleep(30); os._exit(0)
        n += 1
    except OSError:
        break
print(n, flush=True)
time.sleep(30)
'''], stdout=subprocess.PIPE, start_new_session=True)
line = bomb.stdout.readline()
os.killpg(bomb.pid, 9)
bomb.wait()
result = int(line or b"-1")""", timeout_s=120)
    assert 0 < r < PIDS
    assert probe(world, "result = 1 + 1") == 2  # the tenant lives on


def test_memory_exhaustion_is_killed_inside_the_tenant(world):
    r = probe(world, f"""
hog = subprocess.run([sys.executable, "-c", "b = []\\nwhile True: b.append(bytearray(64 << 20))"], timeout=120)
result = hog.returncode""", timeout_s=150)
    assert r == -9  # OOM-killed within the tenant's limit of {MEMORY_MB} MB
    assert probe(world, "result = 'alive'") == "alive"


# -- suspension (last: closes acme's gateway) ------------------------------------------------
def test_suspended_tenant_socket_refuses_at_once(world):
    assert probe(world, "from tenants.sdk import Client; result = Client.from_environment().tenant") == "acme"
    started = time.monotonic()
    world["env"].runtime.gateway.close("acme")
    r = probe(world, """
from tenants.sdk import Client, GatewayUnavailable
t = time.monotonic()
result = [attempt(lambda: Client.from_environment().samples()), time.monotonic() - t]""")
    assert r[0][0] == "denied" and r[0][1].startswith("GatewayUnavailable")
    assert r[1] < 1.0 and time.monotonic() - started < 30


def test_stopped_tenant_answers_nothing(world):
    env = world["env"]
    endpoint = env.runtime.endpoint("rival")
    assert endpoint.is_ready()
    env.runtime.stop("rival")
    assert env.runtime.status("rival").state is State.STOPPED
    assert not endpoint.is_ready()
    assert not env.runtime.backend.spec_of("rival").gateway_socket.exists()
    assert not env.runtime.workspace("rival").is_mounted()
