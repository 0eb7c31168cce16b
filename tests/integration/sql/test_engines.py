"""The engines: limits, lockdown, plan checks, error hygiene, provider, Spark session hygiene."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from domain.sql import check
from domain.sql.decision import Decision
from domain.sql.engines import (
    EngineFailed, EngineProvider, EngineUnavailable, Limits, PlanRejected, QueryInterrupted, ResultTooLarge,
    SqlEngineError,
)
from domain.rawstore import DecryptedCache, shared_cache
from domain.sql.engines.duckdb_engine import DuckDBEngine

HEAVY = ("SELECT a.district, count(*) FROM population a CROSS JOIN population b CROSS JOIN social_insurance c "
         "GROUP BY a.district")


def allowed(sql, scope) -> Decision:
    decision = check(sql, scope)
    assert decision.allowed, decision.reasons
    return decision


def test_time_limit_interrupts(engine, scope, raw_sources):
    timeout = 0.5 if engine.name == "duckdb" else 3.0
    with pytest.raises(QueryInterrupted) as caught:
        engine.execute(allowed(HEAVY, scope), raw_sources, Limits(timeout_seconds=timeout))
    assert caught.value.limit == "time"
    assert "time limit" in caught.value.diagnostics()


def test_engine_still_works_after_an_interruption(engine, scope, raw_sources, limits):
    with pytest.raises(QueryInterrupted):
        engine.execute(allowed(HEAVY, scope), raw_sources, Limits(timeout_seconds=0.5 if engine.name == "duckdb" else 3))
    result = engine.execute(allowed("SELECT count(*) FROM population", scope), raw_sources, limits)
    assert result.table.column(0).to_pylist() == [3000]


def test_memory_limit_interrupts_duckdb_without_spilling(scope, raw_sources):
    sql = ("SELECT a.district, count(DISTINCT a.income + b.income) FROM population a "
           "CROSS JOIN population b GROUP BY a.district")
    with pytest.raises(QueryInterrupted) as caught:
        DuckDBEngine().execute(allowed(sql, scope), raw_sources, Limits(memory_limit="64MB", threads=1))
    assert caught.value.limit == "memory"


def test_result_row_cap(engine, scope, raw_sources):
    with pytest.raises(ResultTooLarge):
        engine.execute(allowed("SELECT district, count(*) FROM population GROUP BY 1", scope), raw_sources,
                       Limits(max_result_rows=3))


def test_refused_and_forged_decisions_do_not_run(engine, scope, raw_sources, limits):
    refused = check("SELECT id_number FROM population", scope)
    with pytest.raises(PlanRejected):
        engine.execute(refused, raw_sources, limits)
    good = allowed("SELECT count(*) FROM population", scope)
    forged_plan = dataclasses.replace(good.plan, sql='SELECT "id_number" FROM "population"',
                                      output_columns=("id_number",), reports_dropped=False)
    forged = Decision(allowed=True, reasons=(), plan=forged_plan)
    with pytest.raises(PlanRejected, match="not produced by the policy"):
        engine.execute(forged, raw_sources, limits)
    with pytest.raises(PlanRejected, match="no raw data"):
        engine.execute(good, {}, limits)


def test_result_metadata(engine, scope, raw_sources, limits):
    decision = allowed("SELECT district, count(*) AS n FROM population GROUP BY 1 ORDER BY 1", scope)
    first = engine.execute(decision, raw_sources, limits)
    again = engine.execute(decision, raw_sources, limits)
    assert first.engine == engine.name and first.rows == first.table.num_rows == 8
    assert first.rows_suppressed == 1 and first.plan_fingerprint == decision.plan.fingerprint
    assert first.sha256 == again.sha256 and len(first.sha256) == 64
    assert first.timings.total_s >= first.timings.execute_s > 0
    assert first.table.column_names == ["district", "n"]


def test_engine_errors_do_not_echo_data(engine, scope, raw_sources, limits):
    decision = allowed("SELECT CAST(district AS INTEGER) AS d, count(*) FROM population GROUP BY 1", scope)
    if engine.name == "spark":  # Spark's non-ANSI cast yields NULL rather than an error
        result = engine.execute(decision, raw_sources, limits)
        assert result.table.column("d").to_pylist() == [None]
        return
    with pytest.raises(EngineFailed) as caught:
        engine.execute(decision, raw_sources, limits)
    assert "区" not in caught.value.diagnostics()


CACHES = {"streamed": lambda: None, "decrypted": lambda: DecryptedCache(max_bytes=1 << 30)}


@pytest.mark.parametrize("cache", sorted(CACHES))
def test_duckdb_connection_is_locked_down(scope, raw_sources, tmp_path, cache):
    decision = allowed("SELECT p.district, count(*) FROM population p JOIN social_insurance s "
                       "ON p.id_number = s.id_number GROUP BY 1", scope)
    con = DuckDBEngine.connect(decision.plan, raw_sources, Limits(), CACHES[cache]())
    raw_file = str(raw_sources["population"].files[0].path)
    try:
        for statement in [
            "SELECT * FROM read_csv('/etc/passwd')",
            f"COPY (SELECT 1) TO '{raw_file}'",
            f"COPY (SELECT 1) TO '{tmp_path / 'leak.csv'}'",
            "SET enable_external_access = true",
            "SET lock_configuration = false",
            "SET disabled_optimizers = ''",
            "INSTALL httpfs",
            "LOAD httpfs",
            f"ATTACH '{tmp_path / 'x.db'}'",
            f"SELECT * FROM read_parquet('{raw_file}')",  # no key: ciphertext only
        ]:
            with pytest.raises(duckdb.Error):
                con.execute(statement).fetchall()
        assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [("",)]
        columns = [r[0] for r in con.execute("DESCRIBE population").fetchall()]
        assert "mobile" in columns  # granted in this scope; an ungranted column is never in the view
    finally:
        con.close()
    assert not (tmp_path / "leak.csv").exists()


@pytest.mark.parametrize("cache", sorted(CACHES))
def test_views_expose_only_granted_columns_and_the_unit(registers, raw_sources, cache):
    from tests.integration.sql.fixtures import make_scope

    narrow = make_scope(registers, omit={"population": {"mobile", "name", "id_number"}},
                        min_group_size=10, suppress_below=0, round_to=1)
    decision = allowed("SELECT district, count(*) FROM population GROUP BY 1", narrow)
    con = DuckDBEngine.connect(decision.plan, raw_sources, Limits(), CACHES[cache]())
    try:
        columns = {r[0] for r in con.execute("DESCRIBE population").fetchall()}
        if cache == "decrypted":  # the registered Arrow holds exactly the view's columns
            assert {r[0] for r in con.execute('DESCRIBE "__aod_src_0"').fetchall()} == columns
    finally:
        con.close()
    assert "mobile" not in columns and "name" not in columns
    assert "id_number" in columns  # the privacy unit, needed to count people, never nameable in SQL
    assert not check("SELECT count(DISTINCT id_number) FROM population", narrow).allowed


def test_provider_picks_the_engine(spark_engine):
    assert EngineProvider().create_engine().name == "duckdb"
    provider = EngineProvider({"engine": "spark", "spark_session": spark_engine.session})
    assert provider.create_engine() is provider.create_engine()
    assert provider.create_engine().name == "spark"
    with pytest.raises(SqlEngineError, match="unknown engine"):
        EngineProvider({"engine": "oracle"})

    class Config:
        engine, spark_master, spark_connect_url = "duckdb", "local[2]", ""

    assert EngineProvider.from_domain_config(Config()).name == "duckdb"
    assert EngineProvider({"raw_cache_bytes": 0}).create_engine().cache is None
    assert EngineProvider().create_engine().cache is shared_cache()


def test_spark_session_without_the_kms_jar_is_refused():
    from domain.sql.engines.spark_engine import SparkEngine

    class Conf:
        def get(self, key, default=""):
            return ""

    class Context:
        def getConf(self):
            return Conf()

    class Session:
        sparkContext = Context()

    with pytest.raises(EngineUnavailable, match="KMS jar"):
        SparkEngine(Session()).check_session()


def test_spark_drops_its_views_and_keeps_keys_out_of_plans(spark_engine, scope, raw_sources, limits):
    spark_session = spark_engine.session
    import base64

    decision = allowed("SELECT district, count(*) FROM population GROUP BY 1", scope)
    spark_engine.execute(decision, raw_sources, limits)
    assert not [t for t in spark_session.catalog.listTables() if t.name.startswith("aod_v")]
    key = base64.b64encode(raw_sources["population"].dataset_key).decode()
    frame = spark_session.read
    for option, value in raw_sources["population"].spark_read_options().items():
        frame = frame.option(option, value)
    frame = frame.parquet(str(raw_sources["population"].files[0].path))
    assert key not in frame._jdf.queryExecution().toString()
    assert spark_session.conf.get("spark.sql.runSQLOnFiles") == "false"
    assert spark_session.sparkContext.getConf().get("spark.io.encryption.enabled") == "true"
