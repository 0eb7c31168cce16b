"""Arrow IPC stream bytes to tables."""

from __future__ import annotations

from tenants.sdk.errors import ServerError


def read_table(data: bytes):
    import pyarrow as pa

    try:
        with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
            return reader.read_all()
    except pa.ArrowInvalid:
        raise ServerError("the gateway sent a table that cannot be read") from None
