"""`EngineProvider`: builds the configured engine once and hands it out.

    provider = EngineProvider({"engine": "spark", "spark_master": "local[2]"})
    engine = provider.create_engine()

Engines register by name in `ENGINES` (built-ins register the same way as extensions). Heavy
imports (pyspark) happen only when that engine is created.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from domain.sql.engines.base import Engine, SqlEngineError


def _duckdb(config: Mapping[str, Any]) -> Engine:
    from domain.rawstore import shared_cache
    from domain.sql.engines.duckdb_engine import DuckDBEngine

    size = config.get("raw_cache_bytes")
    if size is not None and int(size) <= 0:
        return DuckDBEngine(cache=None)  # every query decrypts (DuckDB streams the encrypted files)
    return DuckDBEngine(cache=shared_cache(None if size is None else int(size)))


def _spark(config: Mapping[str, Any]) -> Engine:
    from domain.sql.engines.spark_engine import SparkEngine

    return SparkEngine(
        config.get("spark_session"),
        master=str(config.get("spark_master") or "local[2]"),
        connect_url=str(config.get("spark_connect_url") or ""),
        driver_memory=str(config.get("spark_driver_memory") or "4g"),
    )


ENGINES: dict[str, Callable[[Mapping[str, Any]], Engine]] = {"duckdb": _duckdb, "spark": _spark}


class EngineProvider:
    """Configuration keys: engine ('duckdb' | 'spark'), raw_cache_bytes (DuckDB's decrypted-column
    cache, default 2 GiB, 0 = none), spark_master, spark_connect_url, spark_driver_memory,
    spark_session (an existing session to reuse)."""

    def __init__(self, config: Mapping[str, Any] | None = None):
        self.config = dict(config or {})
        name = str(self.config.get("engine") or "duckdb")
        if name not in ENGINES:
            raise SqlEngineError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}")
        self.name = name
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_domain_config(cls, domain_config: Any, **overrides: Any) -> "EngineProvider":
        keys = ("engine", "spark_master", "spark_connect_url", "raw_cache_bytes")
        return cls({**{k: getattr(domain_config, k, None) for k in keys}, **overrides})

    def create_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = ENGINES[self.name](self.config)
            return self._engine
