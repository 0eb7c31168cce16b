"""What both backends share when running a production job.

- The job writes into a size-limited tmpfs mounted on the host (`OutputStage`), bound into the
  sandbox at /job/outputs, so it cannot fill the domain's disk.
- Afterwards only regular files are copied to the caller's `outputs_dir`, each with its
  SHA-256; links, devices, pipes and anything past the count/size bounds are rejected (their
  names are reported, never followed).
- Logs are read through a bounded buffer; the rest is drained and dropped.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import threading
from pathlib import Path, PurePosixPath

from tenants.errors import InvalidSpec, JobFailed
from tenants.spec import JobLimits, JobOutcome, JobResult, JobSpec, OutputFile

CHUNK = 1 << 16


def check_job_inputs(spec: JobSpec) -> None:
    """Raise `InvalidSpec` unless the code, data and (empty) outputs folders are usable."""
    for name in ("code_dir", "data_dir", "outputs_dir"):
        if not getattr(spec, name).is_dir():
            raise InvalidSpec(f"job {spec.job_id}: {name} is not a folder")
    entry = spec.code_dir / spec.entrypoint
    if entry.is_symlink() or not entry.is_file():
        raise InvalidSpec(f"job {spec.job_id}: entrypoint {spec.entrypoint} is not a file in the code")
    if any(spec.outputs_dir.iterdir()):
        raise InvalidSpec(f"job {spec.job_id}: outputs_dir must be empty")


def job_env(spec: JobSpec, path: str) -> dict[str, str]:
    return {
        "PATH": path, "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": "/tmp/matplotlib", "AOD_JOB_ID": spec.job_id,
        "AOD_JOB_PARAMS": spec.params_json(), "AOD_DATA_DIR": "/data/raw",
        "AOD_OUTPUTS_DIR": "/job/outputs",
    }


class Cancellations:
    """The job ids cancelled in this process (thread-safe), so that a `run_job` in flight, or
    one about to begin, ends as `CANCELLED`; `run_job` forgets its id when it returns."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self._lock:
            self._ids.add(job_id)

    def __contains__(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._ids

    def discard(self, job_id: str) -> None:
        with self._lock:
            self._ids.discard(job_id)


def cancelled_result(spec: JobSpec, duration_s: float = 0.0, logs: str = "") -> JobResult:
    """A cancelled job's result: no exit code, no outputs (what it wrote is dropped unread)."""
    return JobResult(spec.job_id, JobOutcome.CANCELLED, None, round(duration_s, 3), logs, False, ())


class OutputStage:
    """A host tmpfs (size and inode limited) for one job's outputs; a context manager."""

    def __init__(self, spec: JobSpec, owner_uid: int, owner_gid: int):
        self.path = self.path_for(spec.outputs_dir)
        self.limits = spec.limits
        self.owner = (owner_uid, owner_gid)

    def __enter__(self) -> "OutputStage":
        self.path.mkdir(mode=0o700, exist_ok=False)
        size = self.limits.max_output_bytes + CHUNK
        inodes = self.limits.max_output_files * 4 + 64
        opts = f"size={size},nr_inodes={inodes},mode=0700,uid={self.owner[0]},gid={self.owner[1]}"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"{opts},nosuid,nodev", "aod-job-outputs",
                               str(self.path)], capture_output=True, text=True)
        if done.returncode != 0:
            self.path.rmdir()
            raise JobFailed(f"cannot mount the outputs area ({done.stderr.strip()[:200]})")
        return self

    def __exit__(self, *exc) -> None:
        remove_stage(self.path)

    @staticmethod
    def path_for(outputs_dir: Path) -> Path:
        return outputs_dir.with_name(f".{outputs_dir.name}.stage")


def remove_stage(path: Path) -> None:
    """Unmount a job's outputs tmpfs (its unchecked outputs go with it) and remove the folder.
    Also for the stage a hosting process killed by SIGKILL left mounted."""
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
    try:
        path.rmdir()
    except OSError:
        pass


def collect_outputs(stage: Path, dest: Path, limits: JobLimits) -> tuple[tuple[OutputFile, ...], tuple[str, ...]]:
    """Copy regular files from `stage` to `dest` (never following links); hash them."""
    outputs: list[OutputFile] = []
    rejected: list[str] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(stage, followlinks=False):
        dirnames.sort()
        rel_dir = PurePosixPath(Path(dirpath).relative_to(stage).as_posix())
        for name in sorted(filenames) + [d for d in dirnames if Path(dirpath, d).is_symlink()]:
            rel = name if str(rel_dir) == "." else f"{rel_dir}/{name}"
            src = Path(dirpath) / name
            mode = os.lstat(src).st_mode
            if not stat.S_ISREG(mode):
                rejected.append(rel)
                continue
            size = os.lstat(src).st_size
            if len(outputs) >= limits.max_output_files or total + size > limits.max_output_bytes:
                rejected.append(rel)
                continue
            outputs.append(_copy_hashed(src, dest / rel, rel))
            total += size
    return tuple(outputs), tuple(rejected)


def _copy_hashed(src: Path, dst: Path, rel: str) -> OutputFile:
    dst.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return OutputFile(rel, size, digest.hexdigest())


class BoundedLog:
    """Reads a byte stream on a thread, keeping at most `limit` bytes."""

    def __init__(self, stream, limit: int):
        self.limit = limit
        self._chunks: list[bytes] = []
        self._kept = 0
        self.truncated = False
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        while chunk := stream.read(CHUNK) if hasattr(stream, "read") else next(stream, b""):
            self.feed(chunk)

    def feed(self, chunk: bytes) -> None:
        room = self.limit - self._kept
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[:max(room, 0)]
        if chunk:
            self._chunks.append(chunk)
            self._kept += len(chunk)

    def text(self, timeout_s: float = 5.0) -> str:
        self._thread.join(timeout_s)
        return b"".join(self._chunks).decode("utf-8", errors="replace")
