"""Find identifiers anywhere in a table: used by the export gate on data products.

`scan_table(table)` returns one `Finding` per (column, entity, mode): how many rows hold
that entity as a whole cell (`mode="cell"`) or inside text (`mode="text"`), with a
confidence and the method. A finding never carries a value. Our own pseudonyms
(`AOD_PSEUDONYM`) are found too: they are keys that link back to people inside the domain.

Whole-cell names are counted only in columns that are name columns (a name cue, or many
distinct name-shaped values): "高中" in an education column is not a person.
Asking for an entity no detector covers raises `CannotCertify` (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import pyarrow as pa
import pyarrow.compute as pc

from .cues import cue_for
from .entities import DETECTABLE, Entity, entity_from_name
from .errors import CannotCertify

BASE_CONFIDENCE = {
    Entity.PSEUDONYM: 1.0, Entity.RESIDENT_ID: 0.99, Entity.CREDIT_CODE: 0.99, Entity.BANK_CARD: 0.97,
    Entity.MOBILE: 0.9, Entity.EMAIL: 0.95, Entity.LANDLINE: 0.8, Entity.PASSPORT: 0.75,
    Entity.HMT_PERMIT: 0.75, Entity.PLATE: 0.85, Entity.IP_ADDRESS: 0.8, Entity.PERSON_NAME: 0.85,
    Entity.ADDRESS: 0.85, Entity.BIRTH_DATE: 0.6,
}
METHOD = {
    Entity.RESIDENT_ID: "ISO 7064 MOD 11-2 check character and birth date",
    Entity.CREDIT_CODE: "GB 32100 check character", Entity.BANK_CARD: "Luhn check digit",
    Entity.PSEUDONYM: "aod pseudonym format (ps_ + 32 hex)",
}
MIN_TEXT_LENGTH = 4  # shorter values cannot hold an identifier inside text
# A float or decimal cell is read as its integer part: the digits of an unrounded average
# (6234.5678123…) are a fraction, not a phone number inside text, while an identifier stored as
# a number (13812345678.0) is still found, as a whole cell. Text is read as written ("电话
# 0.13812345678" holds a phone number). Raw identifiers hidden in fraction digits are the export
# gate's exact match (export_review/checks/identifiers.py), not a shape.
_DECIMAL = r"^([+-]?[0-9]+)\.[0-9]+$"


@dataclass(frozen=True)
class Finding:
    column: Optional[str]
    entity: Entity
    rows: int
    confidence: float
    mode: str  # "cell" | "text"
    method: str

    def to_dict(self) -> dict:
        return {"column": self.column, "entity": self.entity.value, "rows": self.rows,
                "confidence": self.confidence, "mode": self.mode, "method": self.method}


def _check_entities(entities: Optional[Iterable[Entity]]) -> Optional[frozenset]:
    if entities is None:
        return None
    wanted = frozenset(entities)
    missing = wanted - set(DETECTABLE)
    if missing:
        raise CannotCertify("no detector for entity type(s) " + ", ".join(sorted(e.value for e in missing))
                            + ": cannot certify their absence")
    return wanted


def scan_table(table: pa.Table, *, entities: Optional[Iterable[Entity]] = None,
               timeout: Optional[float] = None) -> list[Finding]:
    """Identifiers in every column of `table` (no values in the result)."""
    wanted = _check_entities(entities)
    findings: list[Finding] = []
    for name in table.column_names:
        findings += scan_column(table.column(name), name, wanted=wanted, timeout=timeout)
    return findings


def scan_values(values, *, entities: Optional[Iterable[Entity]] = None, timeout: Optional[float] = None
                ) -> list[Finding]:
    """Identifiers in a sequence or array of values (a column without a name)."""
    wanted = _check_entities(entities)
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(
        [None if v is None else str(v) for v in values], pa.string())
    return scan_column(arr, None, wanted=wanted, timeout=timeout)


def scan_column(values, name: Optional[str], *, wanted: Optional[frozenset] = None,
                timeout: Optional[float] = None) -> list[Finding]:
    from .detect import text_candidates
    from .vector import as_strings, cell_entities

    arr = as_strings(values)
    if _is_fractional(values):
        arr = pc.replace_substring_regex(arr, _DECIMAL, r"\1")
    cells = cell_entities(arr)
    counts = {entity_from_name(x["values"]): x["counts"] for x in pc.value_counts(cells).to_pylist()
              if x["values"] is not None}
    if Entity.PERSON_NAME in counts and not _name_column(arr, name, counts[Entity.PERSON_NAME]):
        counts.pop(Entity.PERSON_NAME)
    out = [_finding(name, e, n, "cell") for e, n in counts.items() if wanted is None or e in wanted]
    texts = arr.filter(pc.and_(pc.is_null(cells), pc.fill_null(pc.greater_equal(pc.utf8_length(arr),
                                                                                 MIN_TEXT_LENGTH), False)))
    if len(texts):
        found = text_candidates(texts, timeout=timeout)
        for e in sorted(set(found["entity"].to_pylist())):
            entity = entity_from_name(e)
            if wanted is None or entity in wanted:
                rows = pc.count_distinct(found.filter(pc.equal(found["entity"], e))["row"]).as_py()
                out.append(_finding(name, entity, rows, "text"))
    return out


def _is_fractional(values) -> bool:
    kind = getattr(values, "type", None)
    return kind is not None and (pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def _name_column(arr: pa.Array, name: Optional[str], named: int) -> bool:
    cue = cue_for(name) if name else None
    if cue is not None and cue.entity == Entity.PERSON_NAME:
        return True
    present = pc.sum(pc.is_valid(arr)).as_py() or 0
    distinct = pc.count_distinct(arr).as_py() or 0
    return present > 0 and named >= 0.5 * present and (present < 20 or distinct >= 0.3 * present)


def _finding(column: Optional[str], entity: Entity, rows: int, mode: str) -> Finding:
    confidence = BASE_CONFIDENCE.get(entity, 0.5) - (0.05 if mode == "text" and entity != Entity.PSEUDONYM else 0)
    method = METHOD.get(entity, "pattern") + (" in text" if mode == "text" else "")
    return Finding(column, entity, int(rows), round(confidence, 3), mode, method)
