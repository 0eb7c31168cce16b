"""The columnar index regulators query: one Parquet file per sealed segment, plus the open
tail read straight from its segment file.

Layout, designed for "one operator, one month" over tens of millions of events:

* `index/<first>_<min time>_<max time>.parquet` per sealed segment: the time range in the
  name lets a query open only the files that overlap its period, without reading footers;
* rows inside a file are sorted by (org, time) in row groups of 2,048 rows, so Parquet
  min/max statistics skip the row groups of other operators;
* `index/tail_<first>_<count>.parquet`: a snapshot of the open segment's first rows, so a
  query parses only the records appended since the snapshot.

The index is derived: built by DuckDB straight from the segment files (leaf hashes included,
so `verify` can check it against the log), rebuilt when missing. DuckDB runs with extension
autoloading, community/unsigned extensions and replacement scans off.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from audit.layout import NAME_WIDTH, Paths, segment_name

if TYPE_CHECKING:
    from audit.log import AuditLog

ROW_GROUP = 2048
SNAPSHOT_EVERY = 1024

_REF = '{"id":"VARCHAR","kind":"VARCHAR","sha256":"VARCHAR"}'
RECORD_SHAPE = (
    '{"event":{"action":"VARCHAR","actor":{"id":"VARCHAR","role":"VARCHAR"},"details":"JSON",'
    f'"event_id":"VARCHAR","inputs":[{_REF}],"org":"VARCHAR","outcome":"VARCHAR",'
    f'"outputs":[{_REF}],"reason":"VARCHAR","request_id":"VARCHAR","targets":[{_REF}],'
    '"time":"VARCHAR"},"i":"BIGINT","logged":"VARCHAR"}'
)
TS = "'%Y-%m-%dT%H:%M:%S.%fZ'"

# (ord, line) -> the index columns. `lines` is a relation with columns ord, line.
PROJECTION = f"""
WITH parsed AS (
  SELECT line, from_json(line, '{RECORD_SHAPE}') AS r FROM lines
)
SELECT
  r.i AS idx,
  strptime(r.logged, {TS}) AS logged,
  strptime(r.event.time, {TS}) AS time,
  r.event.event_id AS event_id,
  r.event.action AS action,
  r.event.outcome AS outcome,
  r.event.actor.id AS actor_id,
  r.event.actor.role AS actor_role,
  r.event.org AS org,
  r.event.reason AS reason,
  r.event.request_id AS request_id,
  r.event.targets AS targets,
  r.event.inputs AS inputs,
  r.event.outputs AS outputs,
  list_transform(list_filter(r.event.targets || r.event.inputs || r.event.outputs,
                 lambda x: x.kind = 'dataset'), lambda x: x.id) AS datasets,
  list_transform(r.event.targets, lambda x: x.kind || ':' || x.id) AS target_refs,
  list_transform(r.event.inputs, lambda x: x.kind || ':' || x.id) AS in_refs,
  list_transform(r.event.outputs, lambda x: x.kind || ':' || x.id) AS out_refs,
  list_transform(r.event.targets || r.event.inputs || r.event.outputs,
                 lambda x: x.kind || ':' || x.id) AS refs,
  r.event.details AS details,
  substr(line, 10, length(line) - 60 - length(CAST(r.i AS VARCHAR))) AS body,
  unhex(sha256(CAST('\\x00' AS BLOB) || encode(line))) AS leaf_hash
FROM parsed
"""

COLUMNS = ("idx", "logged", "time", "event_id", "action", "outcome", "actor_id", "actor_role",
           "org", "reason", "request_id", "targets", "inputs", "outputs", "datasets",
           "target_refs", "in_refs", "out_refs", "refs", "details", "body", "leaf_hash")

_LOCAL = threading.local()


def connect():
    """An in-memory DuckDB with autoloading, extensions and replacement scans off."""
    import duckdb

    return duckdb.connect(config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "allow_community_extensions": False, "allow_unsigned_extensions": False,
        "allow_persistent_secrets": False, "python_enable_replacements": False,
        "threads": 2,
    })


def _lines_sql(path: Path, lo: int, hi: int | None) -> str:
    """Relation `lines(ord, line)` holding complete lines lo..hi-1 (0-based) of a segment
    file (hi=None: up to the last complete line; a torn last line is never read)."""
    upper = f"least({int(hi)}, len(l) - 1)" if hi is not None else "len(l) - 1"
    return ("CREATE OR REPLACE TEMP VIEW lines AS SELECT i AS ord, l[i + 1] AS line FROM "
            f"(SELECT string_split(content, chr(10)) AS l FROM read_text({quote(str(path))})) s, "
            f"range({int(lo)}, {upper}) t(i)")


def quote(text: str) -> str:
    """A SQL string literal (for our own file paths; user values are always parameters)."""
    return "'" + text.replace("'", "''") + "'"


def materialize(con, name: str, path: Path | None, lo: int, hi: int | None) -> None:
    """TEMP TABLE `name` with the index columns for lines [lo, hi) of `path`."""
    if path is None or (hi is not None and hi <= lo):
        con.execute("CREATE OR REPLACE TEMP VIEW lines AS SELECT 0 AS ord, "
                    "CAST(NULL AS VARCHAR) AS line WHERE false")
    else:
        con.execute(_lines_sql(path, lo, hi))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {PROJECTION}")


# -- sealed segments ---------------------------------------------------------------------
def index_file_for(index_dir: Path, first: int) -> Path | None:
    prefix = segment_name(first) + "_"
    try:
        names = os.listdir(index_dir)
    except FileNotFoundError:
        return None
    for name in names:
        if name.startswith(prefix) and name.endswith(".parquet"):
            return index_dir / name
    return None


def indexed_files(paths: Paths) -> list[tuple[int, str, str, Path]]:
    """(first, min time, max time, path) of every sealed segment's index file."""
    out = []
    try:
        names = os.listdir(paths.index)
    except FileNotFoundError:
        return out
    for name in names:
        stem, _, ext = name.partition(".")
        parts = stem.split("_")
        if ext == "parquet" and len(parts) == 3 and parts[0].isdigit() and len(parts[0]) == NAME_WIDTH:
            out.append((int(parts[0]), parts[1], parts[2], paths.index / name))
    return sorted(out)


def build_segment(paths: Paths, first: int, segment_events: int) -> Path:
    """Write the Parquet index of one sealed segment (idempotent)."""
    con = connect()
    try:
        materialize(con, "seg", paths.segment(first), 0, segment_events)
        lo, hi, n = con.execute("SELECT min(time), max(time), count(*) FROM seg").fetchone()
        if n != segment_events:
            from audit.errors import AuditCorrupted

            raise AuditCorrupted(f"segment {segment_name(first)} is sealed but not complete")
        final = paths.index / f"{segment_name(first)}_{_stamp(lo)}_{_stamp(hi)}.parquet"
        _copy(con, "SELECT * FROM seg ORDER BY org NULLS FIRST, time, idx", final)
    finally:
        con.close()
    return final


def _copy(con, select: str, final: Path) -> None:
    paths_dir = final.parent
    paths_dir.mkdir(exist_ok=True)
    tmp = paths_dir / f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    con.execute(f"COPY ({select}) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP}, "
                "COMPRESSION zstd)")
    os.replace(tmp, final)


def _stamp(moment) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") if moment is not None else "00000000T000000"


def ensure_indexed(log: "AuditLog") -> None:
    """Build the Parquet index of every sealed segment but the newest (which queries read
    as the tail), when it has none. Needs write access; skipped without it."""
    paths, s = log.paths, log.identity.segment_events
    have = {first for first, *_ in indexed_files(paths)}
    firsts = paths.segment_firsts()
    base = log.first_index()
    for first in firsts[:-1]:
        if first >= base and first not in have:
            try:
                build_segment(paths, first, s)
            except PermissionError:
                return
            for snap in _snapshots(paths, first):
                snap[1].unlink(missing_ok=True)


def remove_index_below(paths: Paths, size: int) -> None:
    for first, _, _, path in indexed_files(paths):
        if first < size:
            path.unlink(missing_ok=True)


# -- the open tail -----------------------------------------------------------------------
def _snapshots(paths: Paths, first: int) -> list[tuple[int, Path]]:
    prefix = f"tail_{segment_name(first)}_"
    out = []
    try:
        names = os.listdir(paths.index)
    except FileNotFoundError:
        return out
    for name in names:
        if name.startswith(prefix) and name.endswith(".parquet"):
            count = name[len(prefix):-len(".parquet")]
            if count.isdigit():
                out.append((int(count), paths.index / name))
    return sorted(out)


def load_tail(con, log: "AuditLog") -> None:
    """TEMP TABLE `tail` with the events of the newest segment (snapshot + newer lines)."""
    paths = log.paths
    firsts = paths.segment_firsts()
    first = firsts[-1] if firsts else None
    path = paths.segment(first) if first is not None and first >= log.first_index() else None
    snaps = _snapshots(paths, first) if path else []
    done = snaps[-1][0] if snaps else 0
    materialize(con, "tail_new", path, done, None)
    if snaps:
        con.execute("CREATE OR REPLACE TEMP TABLE tail AS SELECT * FROM read_parquet("
                    f"{quote(str(snaps[-1][1]))}) WHERE idx < {int(first) + done} "
                    "UNION ALL BY NAME SELECT * FROM tail_new")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE tail AS SELECT * FROM tail_new")
    fresh = con.execute("SELECT count(*) FROM tail_new").fetchall()[0][0]
    if path and fresh >= SNAPSHOT_EVERY:
        _snapshot(con, paths, first, done + fresh, snaps)


def _snapshot(con, paths: Paths, first: int, count: int, old) -> None:
    final = paths.index / f"tail_{segment_name(first)}_{count}.parquet"
    try:
        _copy(con, "SELECT * FROM tail ORDER BY idx", final)
    except (PermissionError, OSError):
        return
    for _, path in old:
        path.unlink(missing_ok=True)
