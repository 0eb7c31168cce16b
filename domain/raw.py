"""The catalog's adapter to desensitize/ (read and classify a source) and domain/rawstore/
(encrypt it at rest). Kept apart so the catalog holds only control-plane logic.

The classification is stored in the control plane as a plain dict:
``{"grade": "L3", "columns": [{"name", "class", "entity", "confidence", "evidence",
"decided_by", "reason"}]}`` — never a value, only what each column is and why.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from domain.errors import InvalidInput

CLASSES = ("direct_identifier", "quasi_identifier", "sensitive", "other")  # desensitize.ColumnClass values


def read_source(source: Path):
    """(Arrow table, format) of a CSV (UTF-8/GBK/GB18030, detected) or Parquet file."""
    from desensitize import DesensitizeError, read_table

    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"no such file: {source.name}")
    suffix = source.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InvalidInput(f"{source.name}: only .csv and .parquet files can be ingested")
    try:
        table = read_table(source)
    except DesensitizeError as exc:
        raise InvalidInput(exc.diagnostics()) from None
    if table.num_rows == 0:
        raise InvalidInput(f"{source.name} has no rows")
    return table, suffix.lstrip(".")


def classify(table) -> dict:
    """Classify the columns of `table` (desensitize/), as the control plane's dict."""
    from desensitize import classify as _classify

    result = _classify(table)
    return {
        "grade": result.grade.value,
        "rows_sampled": result.rows_sampled,
        "columns": [
            {"name": c.name, "class": c.column_class.value,
             "entity": c.entity.value if c.entity else None,
             "confidence": round(float(c.confidence), 3), "evidence": list(c.evidence),
             "decided_by": c.decided_by, "reason": c.reason}
            for c in result.columns
        ],
    }


_INTEGER = r"^-?(0|[1-9][0-9]{0,14})$"
_DECIMAL = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$"
_DATE = r"^[12][0-9]{3}-[01][0-9]-[0-3][0-9]$"


def typed(table, classification: dict):
    """CSV columns arrive as text; give numbers and ISO dates their types so SQL works on
    them. Identifier columns stay text (leading zeros, check characters), as does any column
    where a single value does not fit the type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = {c["name"] for c in classification["columns"] if c["class"] == "direct_identifier"}
    for i, field in enumerate(table.schema):
        if field.name in keep or not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
            continue
        col = table.column(i)
        present = pc.drop_null(col)
        if len(present) == 0:
            continue
        for pattern, target in ((_INTEGER, pa.int64()), (_DECIMAL, pa.float64()), (_DATE, pa.date32())):
            if pc.all(pc.match_substring_regex(present, pattern)).as_py():
                try:
                    table = table.set_column(i, field.name, pc.cast(col, target))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    continue
                break
    return table


def grade(columns: list[dict]) -> str:
    """The dataset's grade from its column classes (desensitize's rule, one place)."""
    from desensitize import ColumnClass, Grade

    return Grade.from_classes(ColumnClass(c["class"]) for c in columns).value


def override(classification: dict, overrides: dict[str, str], reason: str) -> dict:
    """A copy with the provider's corrections (column → class) applied."""
    columns = [dict(c) for c in classification["columns"]]
    by_name = {c["name"]: c for c in columns}
    for name, cls in overrides.items():
        if name not in by_name:
            raise InvalidInput(f"no column {name!r} to override")
        if cls not in CLASSES:
            raise InvalidInput(f"column class must be one of: {', '.join(CLASSES)}")
        col = by_name[name]
        col.update({"class": cls, "confidence": 1.0, "decided_by": "provider",
                    "reason": " ".join(reason.split())})
        if cls != "direct_identifier" and col.get("entity") in ("CN_RESIDENT_ID", "CN_CREDIT_CODE"):
            col["entity"] = None
    return {**classification, "columns": columns, "grade": grade(columns)}


def write(table, directory: Path, key: bytes):
    """Encrypt `table` into `directory` (must not exist); returns RawDatasetInfo."""
    from domain.rawstore import write_dataset

    return write_dataset(table, directory, key)


def open_dataset(directory: Path, key: bytes):
    from domain.rawstore import open_dataset as _open

    return _open(directory, key)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def json_sha256(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
