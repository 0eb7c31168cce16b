"""Production jobs on each backend: code to data, outputs hashed, limits enforced."""

from __future__ import annotations

import hashlib
import os
import socket
import textwrap
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tenants.errors import InvalidSpec
from tenants.spec import JobLimits, JobOutcome, JobSpec


@pytest.fixture
def job(env):
    """Builds a JobSpec around a script (folders the sandbox's uid can reach and read)."""
    def make(script: str, **limits) -> JobSpec:
        base = env.home.parent / "jobs" / uuid.uuid4().hex[:8]
        base.mkdir(parents=True)
        for d in (base.parent, base):
            os.chmod(d, 0o755)
        code = base / "code"
        code.mkdir(mode=0o755)
        (code / "main.py").write_text(textwrap.dedent(script))
        os.chmod(code / "main.py", 0o644)
        (base / "outputs").mkdir()
        return JobSpec(job_id=f"j{uuid.uuid4().hex[:10]}", tenant_id="acme", code_dir=code,
                       entrypoint="main.py", data_dir=env.handler.raw_dir, outputs_dir=base / "outputs",
                       params={"k": 5}, limits=JobLimits(**{"timeout_s": 60, "memory_mb": 256, **limits}))
    return make


def test_job_reads_raw_data_and_leaves_hashed_outputs(env, job):
    spec = job("""
        import json, os, pandas as pd
        df = pd.read_parquet('/data/raw/people.parquet')
        df.groupby('district').income.sum().reset_index().to_parquet('by_district.parquet')
        print('params', json.loads(os.environ['AOD_JOB_PARAMS']))
        print('workspace:', os.listdir('/workspace') if os.path.isdir('/workspace') else 'absent')
        print('gateway visible:', os.path.exists('/run/aod'))
    """)
    result = env.runtime.backend.run_job(spec)
    assert result.outcome == JobOutcome.SUCCEEDED and result.exit_code == 0, result.logs
    assert "params {'k': 5}" in result.logs
    assert "workspace: absent" in result.logs or "workspace: []" in result.logs  # the image's empty folder
    assert "gateway visible: False" in result.logs
    (out,) = result.outputs
    path = spec.outputs_dir / "by_district.parquet"
    assert out.name == "by_district.parquet" and out.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pq.read_table(path).to_pydict() == {"district": ["binjiang", "xihu"], "income": [700, 300]}


def test_job_has_no_network_and_cannot_write_its_inputs(env, job):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        spec = job(f"""
            import socket, os
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(('127.0.0.1', {port})); print('NET-OPEN')
            except OSError as e:
                print('net refused', type(e).__name__)
            print('ifaces', [n for _, n in socket.if_nameindex()])
            for target in ('/data/raw/people.parquet', '/job/code/main.py', '/etc/x', '/x'):
                try:
                    open(target, 'a').write('tamper'); print('WROTE', target)
                except OSError:
                    pass
        """)
        result = env.runtime.backend.run_job(spec)
    finally:
        listener.close()
    assert result.succeeded, result.logs
    assert "NET-OPEN" not in result.logs and "WROTE" not in result.logs
    assert "ifaces ['lo']" in result.logs or "ifaces []" in result.logs


def test_failing_job_reports_its_exit_code_and_bounded_logs(env, job):
    spec = job("import sys\nprint('x' * 100000)\nsys.exit(3)\n", max_log_bytes=4096)
    result = env.runtime.backend.run_job(spec)
    assert result.outcome == JobOutcome.FAILED and result.exit_code == 3
    assert result.logs_truncated and len(result.logs) <= 4096


def test_job_out_of_time_is_killed(env, job):
    result = env.runtime.backend.run_job(job("import time\ntime.sleep(600)\n", timeout_s=2))
    assert result.outcome == JobOutcome.TIMED_OUT and result.duration_s < 30


def test_job_out_of_memory_is_killed_inside(env, job):
    result = env.runtime.backend.run_job(job("b = []\nwhile True:\n    b.append(bytearray(50 << 20))\n"))
    assert result.outcome == JobOutcome.OUT_OF_MEMORY, (result.outcome, result.logs[-500:])


def test_links_and_oversized_outputs_are_rejected(env, job):
    spec = job("""
        import os
        os.symlink('/data/raw/people.parquet', 'raw-link.parquet')
        open('ok.csv', 'w').write('a\\n1\\n')
        try:
            open('huge.bin', 'wb').write(b'x' * (3 << 20))
        except OSError as e:
            print('disk full inside:', type(e).__name__)
    """, max_output_bytes=1 << 20)
    result = env.runtime.backend.run_job(spec)
    assert [o.name for o in result.outputs] == ["ok.csv"]
    assert "raw-link.parquet" in result.rejected
    assert not (spec.outputs_dir / "raw-link.parquet").exists()
    assert "disk full inside" in result.logs or "huge.bin" in result.rejected


def test_bad_job_inputs_are_refused_before_anything_runs(env, job):
    spec = job("print(1)")
    (spec.outputs_dir / "stale").write_text("x")
    with pytest.raises(InvalidSpec, match="empty"):
        env.runtime.backend.run_job(spec)
    (spec.outputs_dir / "stale").unlink()
    (spec.code_dir / "main.py").unlink()
    with pytest.raises(InvalidSpec, match="entrypoint"):
        env.runtime.backend.run_job(spec)


SLOW_JOB = """
    import time
    open('partial.csv', 'w').write('n\\n1\\n')
    print('started', flush=True)
    time.sleep(120)
"""


def _run_in_thread(backend, spec):
    import threading

    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", backend.run_job(spec)), daemon=True)
    thread.start()
    return thread, box


def _wait_until_started(spec, timeout_s=60.0):
    import time

    stage = spec.outputs_dir.with_name(f".{spec.outputs_dir.name}.stage")
    deadline = time.monotonic() + timeout_s
    while not (stage / "partial.csv").exists():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)


def test_cancelled_job_is_killed_at_once_and_leaves_no_outputs(env, job):
    import time

    spec = job(SLOW_JOB)
    thread, box = _run_in_thread(env.runtime.backend, spec)
    _wait_until_started(spec)
    started = time.monotonic()
    env.runtime.backend.cancel_job(spec.job_id)
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - started < 15
    result = box["result"]
    assert result.outcome == JobOutcome.CANCELLED and result.exit_code is None
    assert result.outputs == () and list(spec.outputs_dir.iterdir()) == []  # partial.csv dropped unread


def test_a_job_cancelled_before_it_begins_never_runs(env, job):
    spec = job("open('ran.txt', 'w').write('x')")
    env.runtime.backend.cancel_job(spec.job_id)
    result = env.runtime.backend.run_job(spec)
    assert result.outcome == JobOutcome.CANCELLED and list(spec.outputs_dir.iterdir()) == []
    env.runtime.backend.cancel_job(spec.job_id)  # idempotent; nothing running: nothing happens


def test_cancel_reaches_a_job_run_by_another_process(env, job, backend_name):
    """Another backend object on the same state folder (as another process would hold) kills
    the sandbox by its machine-wide name; the runner sees it end without succeeding."""
    import time

    from tenants.isolation import get_backend

    spec = job(SLOW_JOB)
    thread, box = _run_in_thread(env.runtime.backend, spec)
    _wait_until_started(spec)
    get_backend(backend_name, env.runtime.backend.state_dir).cancel_job(spec.job_id)
    started = time.monotonic()
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - started < 15
    assert box["result"].outcome != JobOutcome.SUCCEEDED
