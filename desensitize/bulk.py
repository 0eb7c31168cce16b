"""Apply a transform plan to a whole file: streamed by batch, one DuckDB SELECT per batch.

Memory stays bounded whatever the file size: one batch is read (the next one is read ahead
by a helper thread), transformed by a locked-down DuckDB connection that sees only that
batch (no file access), and written as one Parquet row group (by a second helper thread)
while the next batch is transformed. Output is written to a temporary file and renamed into
place only when complete; on any error nothing is left behind.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import pyarrow as pa

from . import transforms
from .errors import InputError, PlanError
from .io import AtomicParquetWriter, Source, open_source
from .plan import ColumnTransform, TransformPlan
from .pseudonym import check_secret, derive_key, hmac_bound
from .sqlkit import connect, query

Progress = Callable[[int, Optional[int]], None]
DEFAULT_BATCH = 262_144
PARALLEL_CHUNK = 32_768


@dataclass(frozen=True)
class ApplyReport:
    source: str
    dest: str
    rows: int
    batches: int
    seconds: float
    columns: dict = field(default_factory=dict)  # column → transform
    sha256: str = ""
    bytes: int = 0

    def to_dict(self) -> dict:
        return {"source": self.source, "dest": self.dest, "rows": self.rows, "batches": self.batches,
                "seconds": round(self.seconds, 3), "columns": dict(self.columns), "sha256": self.sha256,
                "bytes": self.bytes}


def quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


@dataclass(frozen=True)
class Extras:
    """Columns computed outside the SELECT and appended to each batch under hidden names:
    per-row noise (numpy, seeded from the secret) and transforms done in Arrow (free-text
    scrubbing: the same RE2 rewrites with less overhead per value). The hidden names start
    with a prefix no column name starts with."""

    prefix: str
    noise: tuple[int, ...]  # indexes into plan.columns
    arrow: tuple[int, ...]

    @classmethod
    def of(cls, plan: TransformPlan, schema: pa.Schema) -> "Extras":
        prefix = "__x"
        while any(str(n).lower().startswith(prefix) for n in schema.names):
            prefix += "_"
        noise = tuple(i for i, ct in enumerate(plan.columns) if transforms.get(ct.transform).needs_noise)
        arrow = tuple(i for i, ct in enumerate(plan.columns) if transforms.get(ct.transform).arrow is not None
                      and transforms.arrow_ok(schema.field(ct.column).type))
        return cls(prefix, noise, arrow)

    def noise_name(self, i: int) -> str:
        return f"{self.prefix}noise_{i}"

    def arrow_name(self, i: int) -> str:
        return f"{self.prefix}arrow_{i}"


def select_sql(plan: TransformPlan, schema: pa.Schema, secret: bytes, table: str = "__batch") -> str:
    """The SELECT that transforms one batch (the same for every batch of the file)."""
    shift = int.from_bytes(derive_key(secret, b"aod/desensitize/date-shift/v1")[:4], "big")
    extras = Extras.of(plan, schema)
    lets = transforms.Lets(tuple(schema.names))
    types = {quote(f.name): f.type for f in schema}
    parts = []
    for i, ct in enumerate(plan.columns):
        t = transforms.get(ct.transform)
        ctx = transforms.Context(lets, column_sql=_column_ref(plan, schema), shift_days=shift,
                                 noise_column=lambda _name, i=i: extras.noise_name(i), column_type=types.get)
        if i in extras.arrow:
            expr = quote(extras.arrow_name(i))
        else:
            expr = t.build(quote(ct.column), ct.options, ct.entity, ctx)
        if t.output is not None:
            expr = f"CAST({expr} AS {t.output})"
        parts.append(f"{expr} AS {quote(ct.column)}")
    return f"SELECT {', '.join(parts)} FROM {lets.source(table)}"


def _column_ref(plan: TransformPlan, schema: pa.Schema) -> Callable[[str], str]:
    def ref(name: str) -> str:
        if name not in schema.names:
            raise PlanError(f"date_shift by {name!r}: no such column")
        return quote(name)
    return ref


def prepare(batch: pa.RecordBatch, plan: TransformPlan, secret: bytes, index: int) -> pa.Table:
    """The batch plus its extra columns (see `Extras`), ready for `select_sql`'s SELECT."""
    extras = Extras.of(plan, batch.schema)
    table = pa.Table.from_batches([batch])
    for i in extras.noise:
        seed = hmac.new(derive_key(secret, b"aod/desensitize/noise/v1"), f"{plan.columns[i].column}\x1f{index}".encode(),
                        hashlib.sha256).digest()
        rng = np.random.default_rng(int.from_bytes(seed[:8], "big"))
        table = table.append_column(extras.noise_name(i), pa.array(rng.uniform(-1.0, 1.0, batch.num_rows)))
    for i in extras.arrow:
        ct = plan.columns[i]
        table = table.append_column(extras.arrow_name(i), transforms.get(ct.transform).arrow(
            batch.column(ct.column), ct.options))
    return _in_chunks(table)


def _in_chunks(table: pa.Table) -> pa.Table:
    """The same rows as record batches of at most PARALLEL_CHUNK rows (zero-copy slices):
    DuckDB scans an Arrow table one record batch per thread, so a batch handed over in one
    piece would be transformed by one core while the other waits."""
    return pa.Table.from_batches(table.combine_chunks().to_batches(max_chunksize=PARALLEL_CHUNK), table.schema)


def apply(source, dest, plan: TransformPlan, secret: bytes, *, batch_size: int = DEFAULT_BATCH,
          threads: Optional[int] = None, progress: Optional[Progress] = None) -> ApplyReport:
    """Transform `source` (CSV/Parquet) into `dest` (Parquet) according to `plan`."""
    started = time.perf_counter()
    secret = check_secret(secret)
    src = source if isinstance(source, Source) else open_source(source)
    dest = Path(dest)
    if dest.resolve() == src.path.resolve():
        raise InputError(f"output {dest}: is the input file")
    plan.check_fits(src.schema.names)
    sql = select_sql(plan, src.schema, secret)
    con = connect(threads=threads)
    rows = batches = 0
    try:
        with ThreadPoolExecutor(1) as writer_pool, hmac_bound(con, sql, secret) as params:
            pending = None
            writer: Optional[AtomicParquetWriter] = None
            try:
                prepared = (prepare(batch, plan, secret, i) for i, batch in enumerate(src.batches(batch_size)))
                for table in _read_ahead(prepared):
                    out = query(con, sql, {"__batch": table}, params)
                    if writer is None:
                        writer = AtomicParquetWriter(dest, out.schema)
                    if pending is not None:
                        pending.result()
                    pending = writer_pool.submit(writer.write, out)
                    rows, batches = rows + out.num_rows, batches + 1
                    if progress:
                        progress(rows, src.num_rows)
                if pending is not None:
                    pending.result()
                if writer is None:  # an empty file: write the schema only
                    empty = pa.RecordBatch.from_pylist([], src.schema)
                    empty = query(con, sql, {"__batch": prepare(empty, plan, secret, 0)}, params)
                    writer = AtomicParquetWriter(dest, empty.schema)
                writer.__exit__(None, None, None)
            except BaseException as exc:
                if pending is not None:
                    pending.exception()  # never close the file while a row group is being written
                if writer is not None:
                    writer.__exit__(type(exc), exc, None)
                raise
    finally:
        con.close()
    digest, size = _file_digest(dest)
    return ApplyReport(str(src.path), str(dest), rows, batches, time.perf_counter() - started,
                       {c.column: c.transform for c in plan.columns}, digest, size)


def _read_ahead(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Yield batches while the next one is read and prepared by a helper thread (Arrow
    releases the GIL), so reading, preparing and the SELECT overlap."""
    with ThreadPoolExecutor(1) as pool:
        nxt = pool.submit(next, batches, None)
        while True:
            batch = nxt.result()
            if batch is None:
                return
            nxt = pool.submit(next, batches, None)
            yield batch


def _file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def transform_table(table: pa.Table, plan: TransformPlan, secret: bytes, *, index: int = 0) -> pa.Table:
    """Transform an in-memory table (used for samples)."""
    secret = check_secret(secret)
    plan.check_fits(table.column_names)
    sql = select_sql(plan, table.schema, secret)
    con = connect()
    try:
        with hmac_bound(con, sql, secret) as params:
            out = []
            for i, batch in enumerate(table.to_batches(DEFAULT_BATCH) or [pa.RecordBatch.from_pylist([], table.schema)]):
                out.append(query(con, sql, {"__batch": prepare(batch, plan, secret, index + i)}, params))
            return pa.concat_tables(out)
    finally:
        con.close()
