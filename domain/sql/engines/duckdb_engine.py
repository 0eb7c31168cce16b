"""DuckDB, the default engine: one locked-down in-memory connection per query.

Lockdown, in this order (DuckDB 2.0): extension autoload/autoinstall, community and unsigned
extensions, persistent secrets and Python replacement scans off at connect; no temp directory
(DuckDB never spills decrypted data to disk: a query that needs more than the memory limit is
stopped instead); the raw files' keys registered in memory; views exposing only the plan's
columns; then `allowed_paths` (exactly the dataset files, read-only by construction: DuckDB
writes through a temporary sibling, which is refused), `enable_external_access=false` and
`lock_configuration=true`. A timer calls `interrupt()` at the time limit.

DuckDB 2.0 fails to decrypt encrypted Parquet when a filter is pushed into the scan ("Computed
AES tag differs from read AES tag"; full scans decrypt fine), so the two optimizers that push
filters into scans are disabled: filters still apply, after the scan. See
tests/integration/sql/test_rawstore_engines.py, which runs filtered queries on multi-row-group
encrypted files against a plaintext reference.

Decrypted columns (the default): DuckDB's own decryption is a software AES. The engine
therefore reads a dataset's plan columns through the process's `DecryptedCache`
(domain/rawstore/cache.py: pyarrow/OpenSSL decryption, once per dataset and key while it stays
in use) and registers exactly those columns, as Arrow, in the query's fresh connection; that
connection then reads no file at all (`allowed_paths` empty). A dataset too large for the cache
is streamed from its encrypted files as above. `DuckDBEngine(cache=None)` always streams.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from domain.rawstore import DecryptedCache, RawDataset, shared_cache
from domain.sql.decision import Decision, Plan
from domain.sql.engines.base import (
    Engine, EngineFailed, Limits, QueryInterrupted, QueryResult, ResultTooLarge, Timings, finish,
    require_plan, run_plan, safe_message,
)

CONNECT_CONFIG = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
    "temp_directory": "",
}
BATCH_ROWS = 65_536


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_raw(con: duckdb.DuckDBPyConnection, table: str, dataset: RawDataset,
               columns: Sequence[str] | None = None, *, key_prefix: str = "k") -> list[str]:
    """A TEMP VIEW `table` over an opened raw dataset, decrypted by DuckDB in memory (its file
    keys registered in this connection only); `columns=None` shows every column. Returns the
    files read, for `seal`."""
    parts, paths = [], []
    cols = "*" if columns is None else ", ".join(_quote_ident(c) for c in columns)
    for f_index, raw_file in enumerate(dataset.files):
        key_name = f"{key_prefix}_{f_index}"
        con.execute(f"PRAGMA add_parquet_key({_quote_str(key_name)}, "
                    f"{_quote_str(base64.b64encode(raw_file.dek).decode())})")
        parts.append(f"SELECT {cols} FROM read_parquet({_quote_str(str(raw_file.path))}, "
                     f"encryption_config={{footer_key: {_quote_str(key_name)}}})")
        paths.append(str(raw_file.path))
    con.execute(f"CREATE TEMP VIEW {_quote_ident(table)} AS {' UNION ALL '.join(parts)}")
    return paths


def attach_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, slot: int) -> None:
    """A TEMP VIEW `table` over decrypted columns already in memory (exactly the plan's)."""
    source = f"__aod_src_{slot}"
    con.register(source, data)
    con.execute(f"CREATE TEMP VIEW {_quote_ident(table)} AS SELECT * FROM {_quote_ident(source)}")


def seal(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> None:
    """Lock a connection after its raw views exist: only those files readable, nothing else
    outside, settings frozen. DuckDB 2.0 cannot decrypt a scan with filters pushed into it,
    so filter push-down stays off (filters still apply, after the scan)."""
    con.execute("SET disabled_optimizers = 'filter_pushdown,join_filter_pushdown'")
    con.execute(f"SET allowed_paths = [{', '.join(_quote_str(p) for p in paths)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


_SHARED = object()


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, cache: DecryptedCache | None | object = _SHARED):
        """`cache`: where decrypted columns are kept (default: the process's shared cache);
        None streams the encrypted files on every query."""
        self.cache = shared_cache() if cache is _SHARED else cache

    def execute(self, decision: Decision, sources: Mapping[str, RawDataset], limits: Limits) -> QueryResult:
        started = time.perf_counter()
        plan = require_plan(decision, sources)
        try:
            con = self.connect(plan, sources, limits, self.cache)
        except duckdb.Error as error:  # a damaged or wrongly keyed raw file: say so, no detail
            raise EngineFailed(f"DuckDB could not open the raw data ({type(error).__name__}); "
                               "the raw store may be damaged") from None
        try:
            prepared = time.perf_counter()
            deadline = prepared + limits.timeout_seconds
            table, fallback = run_plan(plan, lambda sql: self._run(con, sql, limits, deadline))
            executed = time.perf_counter()
            timings = Timings(prepared - started, executed - prepared, 0.0)
            result = finish(table, plan, self.name, timings, fallback)
        finally:
            con.close()
        total = time.perf_counter() - started
        return _with_total(result, total)

    @staticmethod
    def connect(plan: Plan, sources: Mapping[str, RawDataset], limits: Limits,
                cache: DecryptedCache | None = None) -> duckdb.DuckDBPyConnection:
        config = dict(CONNECT_CONFIG, memory_limit=limits.memory_limit, threads=limits.threads)
        con = duckdb.connect(":memory:", config=config)
        try:
            paths = []
            for t_index, (table, columns) in enumerate(plan.views):
                data = _decrypted(cache, sources[table], columns)
                if data is not None:
                    attach_arrow(con, table, data, t_index)
                else:
                    paths += attach_raw(con, table, sources[table], columns, key_prefix=f"k{t_index}")
            seal(con, paths)
        except BaseException:
            con.close()
            raise
        return con

    @staticmethod
    def _run(con: duckdb.DuckDBPyConnection, sql: str, limits: Limits, deadline: float | None = None) -> pa.Table:
        remaining = limits.timeout_seconds if deadline is None else deadline - time.perf_counter()
        if remaining <= 0:
            raise QueryInterrupted(f"the query ran longer than the time limit of "
                                   f"{limits.timeout_seconds:g} s and was stopped", "time")
        timer = threading.Timer(remaining, con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
            batches, rows = [], 0
            for batch in reader:
                rows += batch.num_rows
                if rows > limits.max_result_rows:
                    raise ResultTooLarge(f"the result has more than {limits.max_result_rows} rows; "
                                         "aggregate further or add LIMIT")
                batches.append(batch)
            return pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.InterruptException:
            raise QueryInterrupted(f"the query ran longer than the time limit of "
                                   f"{limits.timeout_seconds:g} s and was stopped", "time") from None
        except duckdb.OutOfMemoryException:
            raise QueryInterrupted(f"the query needed more than the memory limit of "
                                   f"{limits.memory_limit} and was stopped", "memory") from None
        except duckdb.Error as error:
            raise EngineFailed(f"DuckDB could not run the query: {safe_message(error)}") from None
        finally:
            timer.cancel()


def _decrypted(cache: DecryptedCache | None, dataset: RawDataset, columns: Sequence[str]) -> pa.Table | None:
    """The plan's columns decrypted through the cache, or None to stream the encrypted files."""
    if cache is None:
        return None
    from domain.rawstore import RawStoreError

    try:
        return cache.table(dataset, columns)
    except (RawStoreError, pa.ArrowException, OSError):  # damaged: the streaming path says so
        return None


def _with_total(result: QueryResult, total: float) -> QueryResult:
    from dataclasses import replace

    return replace(result, timings=Timings(result.timings.prepare_s, result.timings.execute_s, total))
