"""A reference `RawAccess`: a locked-down in-process DuckDB over Arrow tables or Parquet files.

The domain may use it as it is (after decrypting raw data into its engine) or implement the
protocol with its own engine. Tests and benchmarks use it as the real component it is.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import pyarrow as pa

from export_review.protocols import RawDataset

LOCKDOWN = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
}


def locked_connection(threads: int | None = None, memory_limit: str = "4GB"):
    """A DuckDB connection with extensions, secrets and replacement scans off."""
    import duckdb

    config = dict(LOCKDOWN, memory_limit=memory_limit)
    if threads:
        config["threads"] = threads
    return duckdb.connect(":memory:", config=config)


def lock(con, directories: list[str] = ()) -> None:
    if directories:
        listed = ", ".join("'" + d.replace("'", "''") + "'" for d in directories)
        con.execute(f"SET allowed_directories=[{listed}]")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")


class DuckDBRawAccess:
    """Raw datasets as read-only views in a fresh locked connection per `connect()`.

    `sources` maps a dataset name to an Arrow table or a Parquet file/folder."""

    def __init__(self, datasets: Sequence[RawDataset], sources: Mapping[str, pa.Table | Path | str],
                 *, extra: Mapping[str, pa.Table] | None = None, threads: int | None = None):
        missing = {d.name for d in datasets} - set(sources)
        if missing:
            raise ValueError(f"no source for datasets {sorted(missing)}")
        self._datasets = tuple(datasets)
        self._sources = dict(sources)
        self._extra = dict(extra or {})   # other in-domain tables (e.g. a model's training rows)
        self._threads = threads
        self._lock = threading.Lock()

    def _directories(self) -> list[str]:
        """Folders the views read (read-only use: nothing here writes files)."""
        found = set()
        for source in [*self._sources.values(), *self._extra.values()]:
            if not isinstance(source, pa.Table):
                path = Path(source).resolve()
                found.add(str(path if path.is_dir() else path.parent))
        return sorted(found)

    def datasets(self) -> tuple[RawDataset, ...]:
        return self._datasets

    @contextmanager
    def connect(self) -> Iterator[object]:
        con = locked_connection(self._threads)
        try:
            for ds in self._datasets:
                self._attach(con, ds.relation, self._sources[ds.name])
            for name, table in self._extra.items():
                self._attach(con, name, table)
            lock(con, self._directories())
            yield con
        finally:
            con.close()

    @staticmethod
    def _attach(con, relation: str, source) -> None:
        quoted = '"' + relation.replace('"', '""') + '"'
        if isinstance(source, pa.Table):
            hidden = f"__src_{abs(hash(relation))}"
            con.register(hidden, source)
            con.execute(f"CREATE TEMP VIEW {quoted} AS SELECT * FROM {hidden}")
            return
        path = Path(source).resolve()
        pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        literal = "'" + pattern.replace("'", "''") + "'"
        con.execute(f"CREATE TEMP VIEW {quoted} AS SELECT * FROM read_parquet({literal})")
