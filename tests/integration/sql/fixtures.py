"""Fixtures shared by the secure-SQL test folders (imported by each folder's conftest).

One Spark session for the whole test run (PySpark keeps one per process; starting it costs
~6 s). A test that needs Spark fails, never skips, when Spark cannot start.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from domain.rawstore import open_dataset, write_dataset
from domain.sql import DatasetScope, Scope
from domain.sql.engines import Limits
from tests.integration.sql import synthetic


def make_scope(registers: synthetic.Registers, omit: dict[str, set[str]] | None = None,
               **settings) -> Scope:
    omit = omit or {}
    datasets = []
    for table, data in registers.tables().items():
        types = {f.name: synthetic.SQL_TYPES.get(str(f.type), "") for f in data.schema}
        columns = {name: (klass, types[name]) for name, klass in synthetic.CLASSES[table].items()
                   if name not in omit.get(table, set())}
        datasets.append(DatasetScope.build(table, columns, synthetic.UNITS[table],
                                           all_columns=tuple(data.column_names), **settings))
    return Scope(tuple(datasets))


@pytest.fixture(scope="session")
def registers() -> synthetic.Registers:
    return synthetic.generate()


@pytest.fixture(scope="session")
def raw_sources(registers, tmp_path_factory):
    """The registers in the encrypted raw store, opened (keys in memory only)."""
    root: Path = tmp_path_factory.mktemp("raw")
    opened = {}
    for table, data in registers.tables().items():
        key = os.urandom(32)
        write_dataset(data, root / table, key)
        opened[table] = open_dataset(root / table, key)
    return opened


@pytest.fixture(scope="session")
def scope(registers) -> Scope:
    """Exact answers: k = 10, no small-cell suppression, no rounding."""
    return make_scope(registers, min_group_size=10, suppress_below=0, round_to=1)


@pytest.fixture(scope="session")
def strict_scope(registers) -> Scope:
    """Defaults of the issue: k = 10, suppress counts below 10, round counts to 5."""
    return make_scope(registers, min_group_size=10, suppress_below=10, round_to=5)


@pytest.fixture(scope="session")
def reference(registers):
    """Plain DuckDB over the plaintext registers: the unrestricted reference computation."""
    con = duckdb.connect()
    for table, data in registers.tables().items():
        con.register(table, data)
    yield con
    con.close()


@pytest.fixture(scope="session")
def limits() -> Limits:
    return Limits(timeout_seconds=120, memory_limit="2GB", max_result_rows=50_000)


SPARK_TEST_CONF = {"spark.sql.shuffle.partitions": "2"}


@pytest.fixture(scope="session")
def spark_session():
    from domain.sql.engines.spark_engine import build_session

    # fails loudly (never skips) when Java or Spark is missing
    session = build_session(driver_memory="2g", extra_conf=SPARK_TEST_CONF)
    yield session


@pytest.fixture(scope="session")
def duckdb_engine():
    from domain.sql.engines.duckdb_engine import DuckDBEngine

    return DuckDBEngine()


@pytest.fixture(scope="session")
def duckdb_streaming_engine():
    """DuckDB decrypting the files itself while scanning (no decrypted-column cache): the path
    for datasets larger than the cache."""
    from domain.sql.engines.duckdb_engine import DuckDBEngine

    return DuckDBEngine(cache=None)


@pytest.fixture(scope="session")
def spark_engine(spark_session):
    from domain.sql.engines.spark_engine import SparkEngine

    # the engine rebuilds the session with the same settings if it ever has to kill it
    return SparkEngine(spark_session, driver_memory="2g", extra_conf=SPARK_TEST_CONF)


@pytest.fixture(scope="session", params=["duckdb", "duckdb_streaming", "spark"])
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")
