"""Secure-SQL fixtures (shared with the other sql test folders; one Spark session per run)."""

from tests.integration.sql.fixtures import (  # noqa: F401
    duckdb_engine, duckdb_streaming_engine, engine, limits, raw_sources, reference, registers, scope,
    spark_engine, spark_session, strict_scope,
)
