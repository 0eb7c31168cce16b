"""DuckDB as a vectorized expression engine over Arrow data, locked down.

The connection has no file access at all (`enable_external_access=false`): data comes in
and goes out as Arrow tables registered by name, so a transform or a scan can never read or
write anything but what it is handed. Extensions cannot be installed or loaded, Python
replacement scans are off, and the configuration is locked.
"""

from __future__ import annotations

import threading
from typing import Optional

import duckdb
import pyarrow as pa

from .errors import CannotCertify

_LOCKDOWN = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
}


def connect(*, threads: Optional[int] = None, memory_limit: str = "2GB") -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with no file access and a locked configuration."""
    con = duckdb.connect(":memory:", config=dict(_LOCKDOWN))
    if threads:
        con.execute(f"SET threads={int(threads)}")
    con.execute(f"SET memory_limit='{memory_limit}'")
    con.execute("SET preserve_insertion_order=true")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return con


_local = threading.local()


def shared() -> duckdb.DuckDBPyConnection:
    """One locked-down connection per thread for small vectorized helpers."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = connect()
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str, tables: dict[str, pa.Table],
          params: Optional[dict] = None, *, timeout: Optional[float] = None) -> pa.Table:
    """Run `sql` over Arrow `tables` (registered by name for this call) and return Arrow.

    With `timeout`, a timer interrupts the query; an interrupted query raises
    `CannotCertify` (callers fail closed).
    """
    for name, table in tables.items():
        con.register(name, table)
    done = threading.Event()
    watchdog = threading.Thread(target=_watch, args=(con, timeout, done), daemon=True) if timeout else None
    try:
        if watchdog:
            watchdog.start()
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.InterruptException as exc:
        raise CannotCertify(f"a vectorized check ran over its {timeout:g} s limit") from exc
    finally:
        done.set()
        if watchdog:
            watchdog.join()
        for name in tables:
            con.unregister(name)


def _watch(con: duckdb.DuckDBPyConnection, timeout: float, done: threading.Event) -> None:
    """After `timeout`, interrupt until the query ends (an interrupt sent before the query
    starts executing would otherwise be lost)."""
    if done.wait(timeout):
        return
    while not done.is_set():
        con.interrupt()
        done.wait(0.05)


def run_on_array(values, expr: str, params: Optional[dict] = None) -> pa.Array:
    """Evaluate SQL `expr` over a one-column table whose column is named `v`."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    table = pa.table({"v": arr})
    out = query(shared(), f"SELECT {expr} AS r FROM __v", {"__v": table}, params)
    return out.column(0).combine_chunks()
