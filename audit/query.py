"""Regulator queries: filters (`log.query`) and read-only SQL (`log.sql`) over the index.

Filters are validated and passed to DuckDB as parameters, never spliced into SQL. A
regulator's own SQL must be one SELECT (checked by DuckDB's parser), and runs on a
locked-down connection: external access off except the index directory (whose files are
the log's own Parquet), configuration locked, a time limit and a row limit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any

from audit.errors import QueryError
from audit.events import Action, Outcome
from audit.index import connect, ensure_indexed, indexed_files, load_tail, quote
from audit.reader import Entry

if TYPE_CHECKING:
    from audit.log import AuditLog

MAX_LIMIT = 10_000_000
_UTC = timezone.utc


def _moment(value: Any, what: str, end: bool = False) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.max if end else time.min)
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(f"{what} must be a date or time like 2026-11-23 or "
                             "2026-11-23T09:00:00Z") from None
        if len(text) == 10 and end:
            moment = datetime.combine(moment.date(), time.max)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC)


def _action(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(getattr(value, "value", value))
    if text.endswith(".*"):
        family = text[:-2]
        if not any(a.value.startswith(family + ".") for a in Action):
            raise QueryError(f"no audit action starts with '{family}.'")
        return text
    try:
        return Action(text).value
    except ValueError:
        raise QueryError(f"'{text[:64]}' is not an audit action (see `aod audit query --help`)") from None


def _word(value: Any, what: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > 256 or any(ord(c) < 32 for c in text):
        raise QueryError(f"{what} filter is not a plain identifier")
    return text


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    org: str | None = None
    dataset: str | None = None
    action: str | None = None
    outcome: str | None = None
    limit: int | None = None

    @classmethod
    def build(cls, **kw) -> "Filters":
        since, until = _moment(kw.get("since"), "since"), _moment(kw.get("until"), "until", end=True)
        if since and until and since > until:
            raise QueryError("since is after until")
        outcome = kw.get("outcome")
        if outcome not in (None, ""):
            try:
                outcome = Outcome(str(getattr(outcome, "value", outcome))).value
            except ValueError:
                raise QueryError("outcome must be one of " + ", ".join(o.value for o in Outcome)) from None
        else:
            outcome = None
        limit = kw.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or not 1 <= limit <= MAX_LIMIT):
            raise QueryError(f"limit must be a whole number between 1 and {MAX_LIMIT}")
        return cls(since, until, _word(kw.get("actor"), "actor"), _word(kw.get("org"), "org"),
                   _word(kw.get("dataset"), "dataset"), _action(kw.get("action")), outcome, limit)

    def where(self) -> tuple[str, list]:
        clauses, params = [], []
        naive = lambda m: m.astimezone(_UTC).replace(tzinfo=None)  # noqa: E731
        if self.since:
            clauses.append("time >= ?"), params.append(naive(self.since))
        if self.until:
            clauses.append("time <= ?"), params.append(naive(self.until))
        for column, value in (("actor_id", self.actor), ("org", self.org), ("outcome", self.outcome)):
            if value is not None:
                clauses.append(f"{column} = ?"), params.append(value)
        if self.dataset is not None:
            clauses.append("list_contains(datasets, ?)"), params.append(self.dataset)
        if self.action is not None:
            if self.action.endswith(".*"):
                clauses.append("starts_with(action, ?)"), params.append(self.action[:-1])
            else:
                clauses.append("action = ?"), params.append(self.action)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _files_for(log: "AuditLog", since: datetime | None, until: datetime | None) -> list[str]:
    lo = since.strftime("%Y%m%dT%H%M%S") if since else None
    hi = until.strftime("%Y%m%dT%H%M%S") if until else None
    base = log.first_index()
    firsts = log.paths.segment_firsts()
    newest = firsts[-1] if firsts else 0  # the newest segment is read as the tail
    return [str(path) for first, tmin, tmax, path in indexed_files(log.paths)
            if base <= first < newest and (hi is None or tmin <= hi) and (lo is None or tmax >= lo)]


def events_relation(con, log: "AuditLog", since=None, until=None) -> str:
    """Make view `events` (index + tail) in `con`; returns its name."""
    ensure_indexed(log)
    load_tail(con, log)
    files = _files_for(log, since, until)
    if files:
        con.execute("CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM read_parquet("
                    f"{_list_literal(files)}) UNION ALL BY NAME SELECT * FROM tail")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM tail")
    return "events"


def _list_literal(items: list[str]) -> str:
    return "[" + ", ".join(quote(i) for i in items) + "]"


def run_query(log: "AuditLog", f: Filters) -> list[Entry]:
    con = connect()
    try:
        events_relation(con, log, f.since, f.until)
        where, params = f.where()
        sql = f"SELECT idx, logged, leaf_hash, body FROM events{where} ORDER BY idx"
        if f.limit:
            sql += f" LIMIT {int(f.limit)}"
        rows = con.execute(sql, params).fetchall()
    except Exception as exc:  # noqa: BLE001 - DuckDB errors become one-line query errors
        if isinstance(exc, QueryError):
            raise
        raise QueryError(f"the query could not run ({type(exc).__name__})") from None
    finally:
        con.close()
    return [Entry(i, lg.replace(tzinfo=_UTC), bytes(h), b) for i, lg, h, b in rows]


def locate_event_id(log: "AuditLog", event_id: str) -> int | None:
    con = connect()
    try:
        events_relation(con, log)
        row = con.execute("SELECT idx FROM events WHERE event_id = ? LIMIT 1", [event_id]).fetchall()
    finally:
        con.close()
    return row[0][0] if row else None


# -- SQL -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SqlResult:
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    truncated: bool

    def to_json(self) -> dict:
        return {"columns": list(self.columns), "rows": [[_plain(v) for v in r] for r in self.rows],
                "truncated": self.truncated}


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def check_select(con, sql: str) -> None:
    """Exactly one SELECT statement, or QueryError."""
    import duckdb

    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("the SQL is empty")
    if len(sql) > 100_000:
        raise QueryError("the SQL is longer than 100000 characters")
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"the SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError("give exactly one SELECT statement")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("only SELECT statements may run over the audit log (it is read-only)")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def lock_down(con, log: "AuditLog") -> None:
    con.execute("SET allowed_directories = ?", [[str(log.paths.index) + "/"]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def run_sql(log: "AuditLog", sql: str, *, limit: int = 10_000, timeout: float = 30.0) -> SqlResult:
    import duckdb

    con = connect()
    try:
        check_select(con, sql)
        events_relation(con, log)
        lock_down(con, log)
        timer = threading.Timer(timeout, con.interrupt)
        timer.start()
        try:
            cursor = con.execute(sql)
            columns = tuple(d[0] for d in cursor.description)
            rows = cursor.fetchmany(limit + 1)
        except duckdb.InterruptException:
            raise QueryError(f"the query ran longer than {timeout:g} s and was stopped") from None
        except duckdb.Error as exc:
            raise QueryError(f"the query failed: {_first_line(exc)}") from None
        finally:
            timer.cancel()
    finally:
        con.close()
    return SqlResult(columns, tuple(tuple(r) for r in rows[:limit]), len(rows) > limit)
