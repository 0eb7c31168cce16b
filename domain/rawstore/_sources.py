"""Streaming readers for the sources the raw store accepts, and fixed-size re-chunking.

Every source becomes (schema, iterator of record batches) so that a dataset of any size is
written with bounded memory. Errors never carry the reader's message: pyarrow's CSV errors
quote the offending row, which is raw data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from domain.rawstore.errors import SourceUnreadable

RESERVED_PREFIX = "__aod"
MAX_NAME = 128


def open_source(source) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    if isinstance(source, pa.Table):
        return source.schema, iter(source.to_batches())
    if isinstance(source, pa.RecordBatchReader):
        return source.schema, iter(source)
    if isinstance(source, (str, Path)):
        return _open_path(Path(source))
    raise SourceUnreadable("the source must be a pyarrow Table, a RecordBatchReader or a file path")


def _open_path(path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    if not path.is_file():
        raise SourceUnreadable(f"{path.name}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(path)
            return handle.schema_arrow, handle.iter_batches(batch_size=65_536)
        if suffix == ".csv":
            import pyarrow.csv as pacsv

            reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding="utf8"))
            return reader.schema, iter(reader)
        if suffix in (".arrow", ".ipc", ".feather"):
            reader = pa.ipc.open_file(path)
            return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    except (pa.ArrowException, OSError) as exc:
        raise SourceUnreadable(f"{path.name} could not be read ({type(exc).__name__})") from None
    raise SourceUnreadable(f"{path.name}: unsupported format (use .parquet, .csv or .arrow)")


def check_schema(schema: pa.Schema) -> None:
    seen: set[str] = set()
    if len(schema) == 0:
        raise SourceUnreadable("the source has no columns")
    for field in schema:
        name = field.name
        if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            raise SourceUnreadable(f"column #{schema.get_field_index(name) + 1} has an unusable name")
        if name.lower().startswith(RESERVED_PREFIX):
            raise SourceUnreadable(f"column {name!r} uses the reserved prefix {RESERVED_PREFIX}")
        if name.lower() in seen:
            raise SourceUnreadable(f"column {name!r} appears twice (names are case-insensitive)")
        seen.add(name.lower())
        if pa.types.is_nested(field.type) or pa.types.is_dictionary(field.type):
            raise SourceUnreadable(f"column {name!r} has nested type {field.type}; flatten it first")


def rechunk(batches: Iterator[pa.RecordBatch], schema: pa.Schema, rows: int) -> Iterator[pa.RecordBatch]:
    """Yield batches of exactly `rows` rows (the last may be shorter), holding at most ~2 batches."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.schema != schema:
            raise SourceUnreadable("the source changed its schema part-way through")
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending, schema).combine_chunks()
            yield _single(table.slice(0, rows), schema)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield _single(pa.Table.from_batches(pending, schema), schema)


def _single(table: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)
