"""Production jobs: your code runs next to the raw data, inside the domain; you get checked results."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping

from tenants.sdk._internal.arrow import read_table
from tenants.sdk.errors import SDKError
from tenants.sdk.models import Output

if TYPE_CHECKING:
    from tenants.sdk.client import Client

FINISHED = frozenset({"succeeded", "failed", "timed_out", "out_of_memory", "refused", "cancelled"})


class JobTimeout(SDKError):
    """`Job.wait()` gave up before the job finished (the job goes on)."""


class Job:
    """A submitted job. `refresh()` asks again; `wait()` polls until it has finished."""

    def __init__(self, client: "Client", data: Mapping[str, Any]):
        self._client = client
        self._update(data)

    def _update(self, data: Mapping[str, Any]) -> None:
        self.job_id: str = data["job_id"]
        self.name: str = data.get("name", "")
        self.state: str = data["state"]
        self.detail: str = data.get("detail", "")
        self.outputs: tuple[Output, ...] = tuple(Output._from_json(o) for o in data.get("outputs", ()))
        self.submitted_at: str = data.get("submitted_at", "")
        self.finished_at: str = data.get("finished_at", "")

    def __repr__(self) -> str:
        return f"Job({self.job_id!r}, name={self.name!r}, state={self.state!r})"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.state == "succeeded"

    def refresh(self) -> "Job":
        self._update(self._client._transport.json("GET", f"/v1/jobs/{self.job_id}"))
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> "Job":
        """Poll until the job has finished; raises `JobTimeout` after `timeout` seconds."""
        start = time.monotonic()
        while not self.refresh().finished:
            if timeout is not None and time.monotonic() - start > timeout:
                raise JobTimeout(f"job {self.job_id} is still {self.state} after {timeout:.0f}s")
            time.sleep(poll)
        return self

    def cancel(self) -> "Job":
        """Stop a queued or running job now; it ends `cancelled` and releases nothing."""
        self._update(self._client._transport.json("POST", f"/v1/jobs/{self.job_id}/cancel"))
        return self

    def output(self, name: str) -> Output:
        for out in self.outputs:
            if out.name == name:
                return out
        raise SDKError(f"job {self.job_id} has no output {name!r}")

    def fetch_arrow(self, name: str):
        """A released output table as a `pyarrow.Table` (raises `RefusedError` if withheld)."""
        _, data = self._client._transport.request("GET", f"/v1/jobs/{self.job_id}/output",
                                                  query={"name": name})
        return read_table(data)

    def fetch(self, name: str):
        """A released output table as a pandas DataFrame."""
        return self.fetch_arrow(name).to_pandas()

    def logs(self) -> str:
        """The job's logs, as checked by the domain (they were written next to raw data)."""
        return self._client._transport.json("GET", f"/v1/jobs/{self.job_id}/logs")["logs"]
