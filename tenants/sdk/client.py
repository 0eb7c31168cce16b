"""The client a notebook uses to ask the domain for samples, checked queries, jobs, exports, imports.

Inside a tenant there is exactly one way out: the gateway socket at /run/aod/gateway.sock.
The socket is your tenant's identity, so there is no token to set up or to lose::

    from tenants.sdk import Client
    client = Client.from_environment()
    people = client.load_sample("population")          # pandas DataFrame (desensitized)
    counts = client.query("select district, count(*) n from population group by district")
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any, Mapping

from tenants.sdk._internal.arrow import read_table
from tenants.sdk._internal.transport import Transport
from tenants.sdk.errors import SDKError
from tenants.sdk.jobs import Job
from tenants.sdk.models import ExportTicket, ImportTicket, Sample

DEFAULT_SOCKET = "/run/aod/gateway.sock"
MAX_JOB_FILES = 200
MAX_JOB_BYTES = 16 << 20
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".git"}


class Client:
    """A connection to this tenant's gateway. Build it with a named constructor."""

    def __init__(self, transport: Transport):
        self._transport = transport

    @classmethod
    def from_environment(cls) -> "Client":
        """The gateway of the tenant this code runs in (`AOD_GATEWAY_SOCKET`, else the default)."""
        return cls.at_socket(os.environ.get("AOD_GATEWAY_SOCKET", DEFAULT_SOCKET))

    @classmethod
    def at_socket(cls, path: str | os.PathLike, timeout: float = 600.0) -> "Client":
        """A client for the gateway socket at `path` (tests, tools on the domain's host)."""
        return cls(Transport(str(path), timeout))

    def __repr__(self) -> str:
        return f"Client(socket={self._transport.socket_path!r})"

    @property
    def tenant(self) -> str:
        """The tenant this socket belongs to."""
        return self._transport.json("GET", "/v1/whoami")["tenant"]

    # -- samples --------------------------------------------------------------------------
    def samples(self) -> list[Sample]:
        """The desensitized samples of your granted datasets."""
        data = self._transport.json("GET", "/v1/samples")
        return [Sample._from_json(s) for s in data["samples"]]

    def load_sample_arrow(self, name: str):
        _, data = self._transport.request("GET", f"/v1/samples/{name}")
        return read_table(data)

    def load_sample(self, name: str):
        """A sample as a pandas DataFrame."""
        return self.load_sample_arrow(name).to_pandas()

    # -- queries on raw data --------------------------------------------------------------
    def query_arrow(self, sql: str):
        """Run `sql` on the raw data inside the domain; the checked result as a `pyarrow.Table`.

        Raises `RefusedError` with the policy's reason when the query is not allowed.
        """
        _, data = self._transport.request("POST", "/v1/query", json_body={"sql": sql})
        return read_table(data)

    def query(self, sql: str):
        """Like `query_arrow`, as a pandas DataFrame."""
        return self.query_arrow(sql).to_pandas()

    # -- jobs -----------------------------------------------------------------------------
    def submit_job(self, code: str | os.PathLike, *, name: str | None = None,
                   entrypoint: str | None = None, params: Mapping[str, Any] | None = None) -> Job:
        """Send a script (or a folder with `entrypoint`, default main.py) to run on raw data.

        The job sees the raw data read-only at /data/raw (`AOD_DATA_DIR`), writes results to
        /job/outputs, gets `params` as JSON in `AOD_JOB_PARAMS`, and has no network.
        """
        path = Path(code)
        files, entry = _collect_code(path, entrypoint)
        body = {"name": name or path.stem, "entrypoint": entry, "params": dict(params or {}),
                "files": {k: base64.b64encode(v).decode() for k, v in files.items()}}
        return Job(self, self._transport.json("POST", "/v1/jobs", json_body=body))

    def jobs(self) -> list[Job]:
        return [Job(self, j) for j in self._transport.json("GET", "/v1/jobs")["jobs"]]

    def job(self, job_id: str) -> Job:
        return Job(self, self._transport.json("GET", f"/v1/jobs/{job_id}"))

    # -- exports and imports --------------------------------------------------------------
    def request_export(self, job: Job | str, output: str, *, scenario: str, note: str = "") -> ExportTicket:
        """Ask for a job's output to leave the domain for the approved `scenario` (reviewed)."""
        job_id = job.job_id if isinstance(job, Job) else job
        data = self._transport.json("POST", "/v1/exports", json_body={
            "job_id": job_id, "output": output, "scenario": scenario, "note": note})
        return ExportTicket(data["request_id"], data["state"], data.get("detail", ""))

    def request_import(self, path: str | os.PathLike, *, name: str, description: str = "") -> ImportTicket:
        """Upload external (social) data for the authority to approve into your tenant."""
        path = Path(path)
        data = self._transport.json("POST", "/v1/imports", body=path.read_bytes(), query={
            "name": name, "filename": path.name, "description": description})
        return ImportTicket(data["import_id"], data["state"], data.get("detail", ""))


def _collect_code(path: Path, entrypoint: str | None) -> tuple[dict[str, bytes], str]:
    if path.is_file():
        return {path.name: path.read_bytes()}, path.name
    if not path.is_dir():
        raise SDKError(f"{path} is neither a script nor a folder")
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP and not d.startswith("."))
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            if full.is_symlink() or fname.startswith("."):
                continue
            files[full.relative_to(path).as_posix()] = full.read_bytes()
    entry = entrypoint or "main.py"
    if entry not in files:
        raise SDKError(f"{entry} is not in {path}")
    if len(files) > MAX_JOB_FILES or sum(map(len, files.values())) > MAX_JOB_BYTES:
        raise SDKError(f"a job is at most {MAX_JOB_FILES} files and {MAX_JOB_BYTES >> 20} MiB")
    return files, entry
