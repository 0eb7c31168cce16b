"""Tenant start-up and footprint, per isolation backend, against a baseline measured in the same run.

    python bench/tenants_startup.py [--backends bwrap,docker] [--runs 3] [--concurrent 6] [--no-proxy]

Through the domain (the target's own terms): on a real domain home (the demo's registers,
licensed operator, staff alice) served by the real server on loopback, the time from
`aod tenant create` (`TenantService.create`, then `start`) until `GET /jupyter/<t>/api/status`
answers 200 through the authenticated reverse proxy with alice's session; the first tenant of
the grant also makes its desensitized samples, later ones reuse them.

For each backend: the time from `provision` (folders, encrypted workspace, sandbox created)
through `start` until JupyterLab answers `GET /api/status` on its Unix socket; the ratio to the
baseline, a bare JupyterLab started directly on the host on a Unix socket with the same
command (`tenants.jupyter.jupyter_argv`), and to a stock `jupyter lab` with only the security
flags (what start-up cost before it was trimmed: rfc3987_syntax, notebook_shim, node/yarn); the idle memory of a tenant (proportional set size of every process of the sandbox plus
its gocryptfs daemon), without and with one idle kernel; how many tenants fit in this machine's
available memory; and a real run of `--concurrent` tenants at once. Targets: <= 5 s (bwrap),
<= 10 s (Docker, images built). Figures go to bench/out/tenants_startup.json too.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tenants.gateway import Gateway  # noqa: E402
from tenants.isolation import get_backend  # noqa: E402
from tenants.jupyter import JupyterEndpoint, jupyter_argv  # noqa: E402
from tenants.jupyter.launch import SERVE  # noqa: E402
from tenants.runtime import TenantRuntime  # noqa: E402
from tenants.spec import Limits, TenantLayout  # noqa: E402
from tests.integration.tenants.support import ReferenceHandler  # noqa: E402

TARGET_S = {"bwrap": 5.0, "docker": 10.0}


def pss_kib(pids) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def stock(argv: list[str]) -> list[str]:
    """The tenant's command as a stock `jupyter lab` (no trimming), keeping the security flags."""
    argv = [a for a in argv if a != "--ServerApp.jpserver_extensions=notebook_shim=False"]
    i = argv.index(SERVE)
    return argv[:i - 1] + ["-m", "jupyterlab"] + argv[i + 1:]


def baseline_start(root: Path, trimmed: bool = True) -> float:
    """A bare jupyter lab on the host, on a Unix socket, same flags: seconds until it answers."""
    layout = TenantLayout.for_home(root / "baseline", "base")
    spec = layout.spec()
    for d in (spec.workspace_dir, spec.jupyter_dir):
        d.mkdir(parents=True, exist_ok=True)
    argv = [a.replace("/run/jupyter", str(spec.jupyter_dir)).replace("=/workspace", f"={spec.workspace_dir}")
            for a in jupyter_argv(sys.executable, spec)] + ["--allow-root"]
    argv = argv if trimmed else stock(argv)
    env = {**os.environ, "JUPYTER_TOKEN": spec.jupyter_token, "JUPYTER_RUNTIME_DIR": str(root / "rt"),
           "JUPYTER_CONFIG_DIR": str(root / "cfg"), "JUPYTER_DATA_DIR": str(root / "data")}
    if trimmed:  # as in a sandbox: no Node.js to be found (see tenants.isolation._bwrap_argv.MASKED_TOOLS)
        env["PATH"] = os.path.dirname(sys.executable)
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        JupyterEndpoint.for_spec(spec).wait_ready(120, 0.02)
        return time.monotonic() - start
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(root / "baseline", ignore_errors=True)


def make_runtime(backend_name: str, root: Path) -> TenantRuntime:
    home = root / backend_name
    home.mkdir(parents=True)
    for d in (root, home):
        os.chmod(d, 0o755)
    backend = get_backend(backend_name, home / "tenants" / f"_{backend_name}")
    backend.check_available()
    gateway = Gateway(ReferenceHandler(backend, root / f"work-{backend_name}"), root / f"spool-{backend_name}")
    return TenantRuntime(home, backend, gateway)


def tenant_pids(runtime: TenantRuntime, tenant_id: str) -> list[int]:
    backend = runtime.backend
    if backend.name == "bwrap":
        info = json.loads((backend.state_dir / tenant_id / "run.json").read_text())
        pids = backend.cgroups.pids(backend.cgroups.handle(info["cgroup"]))
    else:
        from tenants.isolation.docker_backend import container_name

        top = backend.client.api.top(container_name(tenant_id, backend.scope), ps_args="-eo pid")
        pids = {int(row[0]) for row in top["Processes"]}
    cipher = str(runtime.layout(tenant_id).cipher_dir)
    out = subprocess.run(["pgrep", "-f", f"gocryptfs.*{cipher}"], capture_output=True, text=True).stdout
    return sorted(set(pids) | {int(p) for p in out.split()})


def start_one(runtime: TenantRuntime, tenant_id: str) -> float:
    key = secrets.token_bytes(32)
    start = time.monotonic()
    runtime.provision(tenant_id, key, limits=Limits(memory_mb=1024, pids=256))
    runtime.start(tenant_id, key, wait_s=120)
    return time.monotonic() - start


def idle_memory(runtime: TenantRuntime, tenant_id: str) -> tuple[int, int]:
    time.sleep(3)
    without = pss_kib(tenant_pids(runtime, tenant_id))
    endpoint = runtime.endpoint(tenant_id)
    kernel = endpoint.start_kernel()
    endpoint.execute("import pandas, pyarrow", kernel)
    time.sleep(3)
    return without, pss_kib(tenant_pids(runtime, tenant_id))


def through_proxy(root: Path, backends: list[str], runs: int) -> dict[str, list[float]]:
    """Seconds from `TenantService.create` to JupyterLab answering through the domain's proxy."""
    import dataclasses

    import httpx

    from domain.config import DomainConfig
    from domain.core import CONFIG_FILE, Domain
    from domain.server import create_app
    from tests.functional.browser import Served
    from tests.integration.domain_links.conftest import build_world

    world = build_world(root / "proxy")
    found = {}
    for name in backends:
        config = dataclasses.replace(DomainConfig.load(world.home / CONFIG_FILE), tenant_backend=name)
        config.dump(world.home / CONFIG_FILE)
        domain = Domain.open(world.home)
        admin = domain.principals.get("admin")
        with Served(create_app(domain), ws="websockets") as served, httpx.Client(
                base_url=f"http://{served.host}", timeout=30, cookies={"aod_session": world.token("alice")}) as http:
            found[name] = [_one_through_proxy(domain, admin, world.grant.id, f"px-{name[:2]}-{i}", http)
                           for i in range(runs)]
        domain.tenancy.close_all()
    return found


def _one_through_proxy(domain, admin, grant_id: str, tenant_id: str, http) -> float:
    start = time.monotonic()
    domain.tenancy.create(admin, grant_id=grant_id, staff_id="alice", tenant_id=tenant_id)
    domain.tenancy.start(admin, tenant_id, wait_s=None)
    try:
        while not _answers(http, f"/jupyter/{tenant_id}/api/status"):
            if time.monotonic() - start > 120:
                raise RuntimeError(f"{tenant_id}: JupyterLab did not answer through the proxy")
            time.sleep(0.02)
        return time.monotonic() - start
    finally:
        domain.tenancy.terminate(admin, tenant_id, reason="benchmark run over")


def _answers(http, path: str) -> bool:
    import httpx

    try:
        return http.get(path).status_code == 200
    except httpx.TransportError:  # the proxy drops the connection while the socket is not there yet
        return False


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


def bench_backend(name: str, root: Path, runs: int, concurrent: int, baseline: float) -> dict:
    runtime = make_runtime(name, root)
    times, started = [], []
    try:
        for i in range(runs):
            tid = f"{name[:2]}-run{i}"
            times.append(start_one(runtime, tid))
            started.append(tid)
            if i < runs - 1:
                runtime.destroy(tid)
                started.remove(tid)
        idle, with_kernel = idle_memory(runtime, started[-1])
        before = mem_available_kib()
        t0 = time.monotonic()
        for i in range(concurrent - 1):
            tid = f"{name[:2]}-many{i}"
            start_one(runtime, tid)
            started.append(tid)
        all_up = time.monotonic() - t0
        answering = sum(runtime.endpoint(t).is_ready() for t in started)
        used = before - mem_available_kib()
        median = statistics.median(times)
        return {
            "backend": name, "start_s": [round(t, 2) for t in times], "median_start_s": round(median, 2),
            "target_s": TARGET_S[name], "ratio_to_baseline": round(median / baseline, 2),
            "idle_pss_mib": round(idle / 1024, 1), "idle_with_kernel_pss_mib": round(with_kernel / 1024, 1),
            "fit_estimate": int(mem_available_kib() / max(with_kernel, 1)),
            "concurrent_started": len(started), "concurrent_answering": answering,
            "concurrent_start_s": round(all_up, 1),
            "mem_used_by_extra_tenants_mib": round(used / 1024, 1),
        }
    finally:
        for tid in started:
            runtime.destroy(tid)
        runtime.gateway.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="bwrap,docker")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=6)
    parser.add_argument("--no-proxy", action="store_true", help="skip the run through the domain's proxy")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aod-bench-", dir="/tmp"))
    os.chmod(root, 0o755)
    try:
        base = [baseline_start(root) for _ in range(args.runs)]
        baseline = statistics.median(base)
        print(f"baseline: bare jupyter lab on a host socket: {[round(b, 2) for b in base]} s, median {baseline:.2f} s")
        untrimmed = [baseline_start(root, trimmed=False) for _ in range(args.runs)]
        print(f"stock jupyter lab (untrimmed) on a host socket: {[round(b, 2) for b in untrimmed]} s, median "
              f"{statistics.median(untrimmed):.2f} s (trimmed/stock {baseline / statistics.median(untrimmed):.2f}x)")
        results = [bench_backend(b, root, args.runs, args.concurrent, baseline) for b in args.backends.split(",")]
        proxied = {} if args.no_proxy else through_proxy(root, args.backends.split(","), args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for r in results:
        print(f"{r['backend']:>6}: create->Jupyter answering median {r['median_start_s']} s {r['start_s']} "
              f"(target <= {r['target_s']} s), ratio to baseline {r['ratio_to_baseline']}x; "
              f"idle {r['idle_pss_mib']} MiB, with an idle kernel {r['idle_with_kernel_pss_mib']} MiB; "
              f"~{r['fit_estimate']} more fit in available memory; {r['concurrent_answering']}/"
              f"{r['concurrent_started']} answering at once ({r['concurrent_start_s']} s for the extra ones, "
              f"{r['mem_used_by_extra_tenants_mib']} MiB used)")
    for name, times in proxied.items():
        median = statistics.median(times)
        print(f"{name:>6}: tenant create->JupyterLab answering through the domain's proxy median {median:.2f} s "
              f"{[round(t, 2) for t in times]} (first one makes the grant's samples; target <= {TARGET_S[name]} s), "
              f"ratio to baseline {median / baseline:.2f}x")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "tenants_startup.json").write_text(json.dumps({"baseline_s": base, "stock_s": untrimmed, "results": results,
                                                              "through_proxy_s": proxied}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
