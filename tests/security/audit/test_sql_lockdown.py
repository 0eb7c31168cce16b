"""A regulator's SQL reads the log and nothing else, and writes nothing anywhere."""

from __future__ import annotations

import os

import pytest

from audit import AuditLog, QueryError
from tests.unit.audit.conftest import make_event


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("sqlhome")
    log = AuditLog.for_home(home)
    log.append_many([make_event(i) for i in range(40)])
    (home / "secret.csv").write_text("id\n110101199003074514\n")
    (home / "other.parquet").write_bytes(b"PAR1")
    log.query()  # make the index
    return home


def _tree(path):
    return sorted((p, os.stat(os.path.join(p, f)).st_size) for p, _, fs in os.walk(path) for f in fs)


ATTACKS = [
    "COPY (SELECT * FROM events) TO '{out}/stolen.csv'",
    "COPY (SELECT * FROM events) TO '{index}/planted.parquet'",
    "EXPORT DATABASE '{out}/db'",
    "CREATE TABLE t AS SELECT 1",
    "INSERT INTO events VALUES (1)",
    "DELETE FROM events",
    "ATTACH '{out}/x.duckdb' AS x",
    "ATTACH '{index}/x.duckdb' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "RESET lock_configuration",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "SELECT 1; COPY (SELECT 1) TO '{out}/two.csv'",
    "SELECT * FROM read_csv('{home}/secret.csv')",
    "SELECT * FROM '{home}/secret.csv'",
    "SELECT * FROM read_text('{home}/keys/audit-signing.pem')",
    "SELECT * FROM read_blob('{home}/keys/audit-signing.pem')",
    "SELECT * FROM read_json('{home}/audit/segments/000000000000.jsonl')",
    "SELECT * FROM read_parquet('{home}/other.parquet')",
    "SELECT * FROM glob('{home}/*')",
    "SELECT * FROM read_text('{index}/../log.json')",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
    "SELECT * FROM sqlite_scan('{home}/control.db', 'grants')",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attacks_are_refused_and_leave_no_trace(home, tmp_path, attack):
    log = AuditLog.reader(home)
    sql = attack.format(out=tmp_path, index=log.paths.index, home=home)
    before = _tree(home)
    with pytest.raises(QueryError) as err:
        log.sql(sql)
    assert "\n" not in err.value.diagnostics()
    assert not list(tmp_path.iterdir())
    assert _tree(home) == before


def test_a_runaway_query_is_stopped(home):
    with pytest.raises(QueryError, match="longer than"):
        AuditLog.reader(home).sql("SELECT count(*) FROM range(100000000000) a", timeout=1.0)


def test_legitimate_sql_still_works(home):
    log = AuditLog.reader(home)
    assert log.sql("WITH x AS (SELECT org FROM events) SELECT count(*) FROM x").rows == ((40,),)
    assert log.sql("SELECT current_setting('enable_external_access')").rows == ((False,),)
