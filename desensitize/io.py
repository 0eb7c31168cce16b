"""Reading CSV and Parquet files in bounded memory, and writing Parquet atomically.

- CSV: UTF-8 (with or without BOM) or GBK/GB18030, detected from the first 64 KiB; every
  column is read as text, so ID numbers keep their leading zeros and their `X`, and bank
  cards do not overflow into floats.
- Parquet: read by row group.
- `Source.batches()` streams record batches; `read_table()` reads a whole (small) file;
  `sample_table()` reads a bounded sample spread over the file where the format allows.
- Errors are `InputError` with one line naming the file and the problem, never a value:
  Arrow's own CSV messages quote the offending row, so they are rewritten here.
- `AtomicParquetWriter` writes to a temporary file beside the destination and renames it
  into place only when everything was written: no partial output is ever left behind.
"""

from __future__ import annotations

import csv
import io as _io
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from .errors import InputError

PathLike = Union[str, os.PathLike]
HEAD_BYTES = 64 * 1024
BLOCK_SIZE = 8 << 20


@dataclass(frozen=True)
class Source:
    path: Path
    format: str  # "csv" | "parquet"
    encoding: Optional[str]  # for CSV: "utf8" or "gb18030"
    schema: pa.Schema
    num_rows: Optional[int]  # known for Parquet
    size: int

    @property
    def label(self) -> str:
        return str(self.path)

    def batches(self, batch_size: int = 262_144) -> Iterator[pa.RecordBatch]:
        """Record batches in file order; memory stays bounded by the batch size."""
        try:
            if self.format == "parquet":
                yield from _parquet_batches(self.path, batch_size)
            else:
                yield from _csv_batches(self, batch_size)
        except InputError:
            raise
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
            raise _input_error(self.label, exc) from None


def open_source(path: PathLike) -> Source:
    """Inspect a CSV or Parquet file: format, encoding, columns. Raises InputError."""
    p = Path(path)
    label = str(p)
    if not p.exists():
        raise InputError(f"file {label}: not found")
    if not p.is_file():
        raise InputError(f"file {label}: not a regular file")
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"file {label}: cannot be read ({type(exc).__name__})") from None
    if size == 0:
        raise InputError(f"file {label}: empty")
    if head[:4] == b"PAR1":
        return _open_parquet(p, size)
    return _open_csv(p, size, head)


def _open_parquet(p: Path, size: int) -> Source:
    try:
        meta = pq.ParquetFile(p)
        schema = meta.schema_arrow
        rows = meta.metadata.num_rows
    except (pa.ArrowInvalid, OSError):
        raise InputError(f"file {p}: not a valid Parquet file") from None
    _check_names(str(p), schema.names)
    return Source(p, "parquet", None, schema, rows, size)


def detect_encoding(head: bytes, label: str = "input") -> str:
    """'utf8' (with or without BOM) or 'gb18030' (a superset of GBK); else InputError."""
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        raise InputError(f"file {label}: UTF-16 text is not supported (save it as UTF-8 or GBK)")
    if b"\x00" in head:
        raise InputError(f"file {label}: binary data, not a CSV file")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    for encoding, codec in (("utf8", "utf-8"), ("gb18030", "gb18030")):
        try:
            body.decode(codec)
            return encoding
        except UnicodeDecodeError as exc:
            if len(head) == HEAD_BYTES and exc.start >= len(body) - 4:  # cut inside a character
                return encoding
    raise InputError(f"file {label}: text is neither UTF-8 nor GBK/GB18030")


def _open_csv(p: Path, size: int, head: bytes) -> Source:
    label = str(p)
    encoding = detect_encoding(head, label)
    text = head.decode("utf-8-sig" if encoding == "utf8" else "gb18030", errors="ignore")
    try:
        header = next(csv.reader(_io.StringIO(text)))
    except (StopIteration, csv.Error):
        raise InputError(f"file {label}: no header row") from None
    names = [h.strip() for h in header]
    _check_names(label, names)
    schema = pa.schema([(n, pa.string()) for n in names])
    return Source(p, "csv", encoding, schema, None, size)


def _check_names(label: str, names: list) -> None:
    if not names or any(not str(n).strip() for n in names):
        raise InputError(f"file {label}: a column has no name")
    seen = set()
    for n in names:
        if n in seen:
            raise InputError(f"file {label}: column name {str(n)[:40]!r} appears twice")
        seen.add(n)


def _csv_batches(src: Source, batch_size: int) -> Iterator[pa.RecordBatch]:
    names = src.schema.names
    read = pcsv.ReadOptions(encoding=src.encoding, block_size=BLOCK_SIZE, column_names=names, skip_rows=1)
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                                  null_values=[""], quoted_strings_can_be_null=True)
    reader = pcsv.open_csv(src.path, read_options=read, convert_options=convert,
                           parse_options=pcsv.ParseOptions(newlines_in_values=True))
    for batch in reader:
        for start in range(0, batch.num_rows, batch_size):
            yield batch.slice(start, batch_size)


def _parquet_batches(path: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Batches read by a fresh reader per run of row groups (about `batch_size` rows, at least
    one group). One reader over the whole file keeps memory it no longer needs: its RSS grew
    from 230 to 800 MiB over a 10M-row file, against a flat 300 MiB this way."""
    pf = pq.ParquetFile(path)
    run, rows = [], 0
    for group in range(pf.metadata.num_row_groups):
        run.append(group)
        rows += pf.metadata.row_group(group).num_rows
        if rows >= batch_size:
            yield from pf.iter_batches(batch_size=batch_size, row_groups=run)
            run, rows = [], 0
    if run:
        yield from pf.iter_batches(batch_size=batch_size, row_groups=run)


_EXPECTED = re.compile(r"Expected (\d+) columns, got (\d+)")


def _input_error(label: str, exc: BaseException) -> InputError:
    """Rewrite a reader error into one line without any data value."""
    message = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in message or "decode" in message:
        return InputError(f"file {label}: bytes that are not valid text in its encoding")
    found = _EXPECTED.search(message)
    if found:
        return InputError(f"file {label}: malformed CSV: a row has {found.group(2)} fields, "
                          f"expected {found.group(1)}")
    if "CSV" in message:
        return InputError(f"file {label}: malformed CSV")
    if isinstance(exc, OSError):
        return InputError(f"file {label}: cannot be read ({type(exc).__name__})")
    return InputError(f"file {label}: cannot be parsed")


def read_table(source: Union[PathLike, pa.Table, Source], *, max_rows: Optional[int] = None) -> pa.Table:
    """A whole file (or its first `max_rows` rows) as an Arrow table; tables pass through."""
    if isinstance(source, pa.Table):
        return source if max_rows is None else source.slice(0, max_rows)
    src = source if isinstance(source, Source) else open_source(source)
    batches, rows = [], 0
    for batch in src.batches():
        batches.append(batch)
        rows += batch.num_rows
        if max_rows is not None and rows >= max_rows:
            break
    table = pa.Table.from_batches(batches, schema=src.schema) if batches else src.schema.empty_table()
    return table if max_rows is None else table.slice(0, max_rows)


def sample_table(source: Union[PathLike, pa.Table, Source], rows: int) -> pa.Table:
    """About `rows` rows for profiling: spread over a Parquet file's row groups, the first
    rows of a CSV file (a CSV file can only be sampled by reading it all)."""
    if isinstance(source, pa.Table):
        return source if source.num_rows <= rows else source.take(_spread(source.num_rows, rows))
    src = source if isinstance(source, Source) else open_source(source)
    if src.format != "parquet" or not src.num_rows or src.num_rows <= rows:
        return read_table(src, max_rows=rows)
    try:
        pf = pq.ParquetFile(src.path)
        groups = pf.num_row_groups
        picks = sorted(set(int(i * groups / min(groups, max(1, rows // 1000))) for i in
                           range(min(groups, max(1, rows // 1000)))))
        per_group = max(1, rows // len(picks))
        parts = [_head_of_group(pf, g, per_group, src.schema) for g in picks]
    except (pa.ArrowInvalid, OSError) as exc:
        raise _input_error(src.label, exc) from None
    return pa.concat_tables(parts).slice(0, rows)


def _head_of_group(pf: pq.ParquetFile, group: int, rows: int, schema: pa.Schema) -> pa.Table:
    """The first `rows` rows of one row group, without decoding the rest of it (reading whole
    groups made the sample's memory grow with the file: up to ten groups at once)."""
    batches = pf.iter_batches(batch_size=rows, row_groups=[group])
    try:
        first = next(batches, None)
    finally:
        batches.close()
    return pa.Table.from_batches([first]) if first is not None else schema.empty_table()


def _spread(n: int, k: int) -> pa.Array:
    step = n / k
    return pa.array([int(i * step) for i in range(k)])


class AtomicParquetWriter:
    """Write Parquet to `<dest>.tmp-…` and rename onto `dest` on success; remove it on error."""

    def __init__(self, dest: PathLike, schema: pa.Schema, *, compression: str = "zstd"):
        self.dest = Path(dest)
        if self.dest.exists() and self.dest.is_dir():
            raise InputError(f"output {self.dest}: is a directory")
        if not self.dest.parent.is_dir():
            raise InputError(f"output {self.dest}: its folder does not exist")
        self.tmp = self.dest.with_name(f".{self.dest.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.schema = schema
        self._writer = pq.ParquetWriter(self.tmp, schema, compression=compression)
        self.rows = 0

    def write(self, table: Union[pa.Table, pa.RecordBatch]) -> None:
        table = table if isinstance(table, pa.Table) else pa.Table.from_batches([table])
        self._writer.write_table(table.cast(self.schema) if table.schema != self.schema else table)
        self.rows += table.num_rows

    def __enter__(self) -> "AtomicParquetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._writer.close()
        finally:
            if exc_type is None:
                with open(self.tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(self.tmp, self.dest)
            else:
                self.tmp.unlink(missing_ok=True)
