"""Spark, for data that outgrows one machine: the same plan, translated to Spark SQL.

The session is `local[2]` by default, a cluster master (`spark://...`, `yarn`, `k8s://...`) or a
Spark Connect URL (`sc://...`) by configuration. The raw store's Parquet is decrypted by Spark
itself, in memory, through the store's KMS client jar (see domain/rawstore/spark_jar.py); the
key travels in per-read options, which Spark redacts from plans. Shuffle and spill files are
encrypted (`spark.io.encryption.enabled`), the UI is off and SQL on files is disabled.

Every query gets its own temporary view names and a job tag; a timer interrupts the tag at the
time limit. Spark has no per-query memory limit: memory is bounded by the session's driver and
executor memory, and an out-of-memory failure is reported as `QueryInterrupted`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace

import pyarrow as pa

from domain.rawstore import RawDataset
from domain.rawstore.spark_jar import kms_jar
from domain.sql.decision import Decision
from domain.sql.engines.base import (
    Engine, EngineFailed, EngineUnavailable, Limits, QueryInterrupted, QueryResult, ResultTooLarge,
    Timings, finish, require_plan, run_plan, safe_message,
)
from domain.sql.engines.spark_sql import to_spark

KMS_CLASS = "aod.rawstore.AodKmsClient"


def session_conf(driver_memory: str = "4g") -> dict[str, str]:
    import tempfile

    local_dir = tempfile.mkdtemp(prefix="aod-spark-")  # 0700; shuffle/spill files, encrypted
    return {
        "spark.local.dir": local_dir,
        "spark.jars": str(kms_jar()),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.eventLog.enabled": "false",
        "spark.io.encryption.enabled": "true",
        "spark.sql.runSQLOnFiles": "false",
        "spark.sql.redaction.options.regex": r"(?i)secret|password|token|access[.]key|key[.]list",
        "spark.sql.ansi.enabled": "false",          # NULL on division by zero, as in DuckDB
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "8",
        "spark.driver.memory": driver_memory,
        "spark.driver.maxResultSize": "1g",
    }


def build_session(master: str = "local[2]", connect_url: str = "", driver_memory: str = "4g",
                  extra_conf: Mapping[str, str] | None = None):
    """A Spark session ready for the raw store (one per process; reuse it)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("aod-secure-sql")
    builder = builder.remote(connect_url) if connect_url else builder.master(master)
    for key, value in {**session_conf(driver_memory), **(extra_conf or {})}.items():
        if connect_url and not key.startswith("spark.sql."):
            continue  # a Connect client sets session SQL options only; the server owns the rest
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR") if not connect_url else None
    return session


CANCEL_GRACE_SECONDS = 10.0  # how long a cancelled query may take to stop before the session goes


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, session=None, *, master: str = "local[2]", connect_url: str = "",
                 driver_memory: str = "4g", extra_conf: Mapping[str, str] | None = None):
        self._session = session
        self._settings = (master, connect_url, driver_memory)
        self._extra_conf = dict(extra_conf or {})
        self._abandoned: list = []
        self._lock = threading.Lock()

    @property
    def session(self):
        with self._lock:
            if self._session is None:
                master, connect_url, memory = self._settings
                self._session = build_session(master, connect_url, memory, self._extra_conf)
            return self._session

    def check_session(self) -> None:
        if self._settings[1]:
            return  # Spark Connect: the server must have the jar on its class path
        jars = self.session.sparkContext.getConf().get("spark.jars", "")
        if str(kms_jar()) not in jars.split(","):
            raise EngineUnavailable("the Spark session lacks the raw-store KMS jar; create it with "
                                    "domain.sql.engines.spark_engine.build_session()")

    def execute(self, decision: Decision, sources: Mapping[str, RawDataset], limits: Limits) -> QueryResult:
        started = time.perf_counter()
        plan = require_plan(decision, sources)
        self.check_session()
        spark = self.session
        qid = uuid.uuid4().hex[:12]
        views = {table: f"aod_v{qid}_{i}" for i, (table, _) in enumerate(plan.views)}
        try:
            self._register_views(spark, plan.views, sources, views)
            to_spark(plan.sql, views)  # a plan Spark cannot run is refused before anything runs
            prepared = time.perf_counter()
            deadline = prepared + limits.timeout_seconds
            table, fallback = run_plan(plan, lambda sql: self._run(spark, to_spark(sql, views), limits, qid,
                                                                    deadline))
            executed = time.perf_counter()
            result = finish(table, plan, self.name, Timings(prepared - started, executed - prepared, 0.0), fallback)
        finally:
            if spark not in self._abandoned:  # a killed session's views went with its JVM
                for view in views.values():
                    spark.catalog.dropTempView(view)
        total = time.perf_counter() - started
        return replace(result, timings=replace(result.timings, total_s=total))

    @staticmethod
    def _register_views(spark, plan_views, sources, views) -> None:
        for table, columns in plan_views:
            dataset = sources[table]
            reader = spark.read
            for key, value in dataset.spark_read_options().items():
                reader = reader.option(key, value)
            frame = reader.parquet(*[str(f.path) for f in dataset.files])
            frame = frame.select(*[f"`{c.replace('`', '``')}`" for c in columns])
            frame.createOrReplaceTempView(views[table])

    def _run(self, spark, sql: str, limits: Limits, qid: str, deadline: float | None = None) -> pa.Table:
        """Run in a worker thread and wait at most the time limit: a Spark task in a tight loop may
        ignore interruption for a while, the caller never waits for it."""
        group = f"aod-{qid}"
        box: dict = {}
        remaining = limits.timeout_seconds if deadline is None else max(0.0, deadline - time.perf_counter())
        worker = threading.Thread(target=self._work, args=(spark, sql, limits, group, box), daemon=True)
        worker.start()
        worker.join(remaining)
        if worker.is_alive():
            self._cancel(spark, group)
            worker.join(CANCEL_GRACE_SECONDS)
            if worker.is_alive():
                self._abandon_session(spark)
            raise QueryInterrupted(f"the query ran longer than the time limit of {limits.timeout_seconds:g} s "
                                   "and was stopped", "time")
        if "error" in box:
            raise _classify(box["error"], limits) from None
        table = box["table"]
        if table.num_rows > limits.max_result_rows:
            raise ResultTooLarge(f"the result has more than {limits.max_result_rows} rows; aggregate "
                                 "further or add LIMIT")
        return table

    def _work(self, spark, sql: str, limits: Limits, group: str, box: dict) -> None:
        try:
            if not self._settings[1]:
                spark.sparkContext.setJobGroup(group, "aod secure query", interruptOnCancel=True)
            spark.addTag(group)
            box["table"] = spark.sql(sql).limit(limits.max_result_rows + 1).toArrow()
        except Exception as error:  # py4j / pyspark errors: classified by the caller
            box["error"] = error
        finally:
            try:
                spark.removeTag(group)
            except Exception:  # pragma: no cover - best effort on a broken session
                pass

    def _abandon_session(self, spark) -> None:
        """Last resort when cancelling did not stop a query: Spark tasks in a tight loop (a
        nested-loop join, for one) ignore interruption and would hold every executor slot,
        starving all later queries. A local session is killed with its JVM and rebuilt on the
        next query; a cluster or Connect session is left to the cluster manager."""
        master, connect_url, _ = self._settings
        if connect_url or not str(master).startswith("local"):
            return
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        self._abandoned.append(spark)
        gateway = getattr(spark.sparkContext, "_gateway", None)
        proc = getattr(gateway, "proc", None)
        try:
            gateway.shutdown() if gateway is not None else None
        except Exception:  # pragma: no cover - the JVM may already be gone
            pass
        if proc is not None:
            proc.kill()
            proc.wait(30)
        SparkContext._active_spark_context = None
        SparkContext._gateway = None
        SparkContext._jvm = None
        SparkSession._instantiatedSession = None
        SparkSession._activeSession = None
        with self._lock:
            self._session = None

    def _cancel(self, spark, group: str) -> None:
        spark.interruptTag(group)
        if not self._settings[1]:
            spark.sparkContext.cancelJobGroup(group)


def _classify(error: Exception, limits: Limits) -> Exception:
    text = str(error)
    if "OutOfMemory" in text or "SparkOutOfMemoryError" in text:
        return QueryInterrupted("the query needed more memory than the Spark session has and was "
                                "stopped", "memory")
    return EngineFailed(f"Spark could not run the query: {safe_message(error)}")
