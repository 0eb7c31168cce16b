"""Samples for tenants: sample → transform → k-anonymity → checks → write (or refuse).

1. A simple random sample (or a stratified one, proportional to the strata), capped at
   `rows` rows and at `fraction` of the file, drawn in one streaming pass in bounded memory
   (each batch keeps only its best candidates by a random key).
2. The transform plan (the classification's default unless one is given).
3. k-anonymity over the quasi-identifiers (`kanon.anonymize`): generalize further, then
   suppress rows in classes smaller than k, within a suppression budget.
4. Checks: k reached, suppression within budget, l-diversity of sensitive attributes when
   asked, and a scan of the result for any identifier that survived. A sample that fails a
   check is not written: `SampleCheckFailed` says which check, without values.
"""

from __future__ import annotations

import hashlib
import secrets as _secrets
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .entities import ColumnClass, Entity
from .errors import InputError, PlanError, SampleCheckFailed
from .io import AtomicParquetWriter, open_source
from .kanon import Quasi, anonymize
from .plan import TransformPlan
from .pseudonym import check_secret

STRICT_LEFTOVERS = frozenset({Entity.RESIDENT_ID, Entity.CREDIT_CODE, Entity.BANK_CARD, Entity.MOBILE,
                              Entity.LANDLINE, Entity.EMAIL, Entity.PASSPORT, Entity.HMT_PERMIT, Entity.PLATE,
                              Entity.IP_ADDRESS, Entity.ADDRESS})


@dataclass(frozen=True)
class SampleReport:
    source: str
    dest: str
    rows_source: int
    rows_drawn: int
    rows_written: int
    k_requested: int
    k_reached: int
    l_requested: Optional[int]
    l_diversity: dict
    suppressed: int
    suppression_rate: float
    quasi_identifiers: tuple
    sensitive: tuple
    generalization: dict
    rules: tuple
    strata: tuple
    seed: int
    seconds: float
    sha256: str = ""
    grade: str = ""
    columns: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["seconds"] = round(self.seconds, 3)
        d["suppression_rate"] = round(self.suppression_rate, 4)
        for key in ("quasi_identifiers", "sensitive", "rules", "strata"):
            d[key] = list(d[key])
        return d


def make_sample(source, dest, classification, *, secret: bytes, rows: int = 5000, fraction: float = 0.1,
                k: int = 5, l: Optional[int] = None, strata: Optional[Sequence[str]] = None,
                seed: Optional[int] = None, plan: Optional[TransformPlan] = None,
                max_suppression: float = 0.05) -> SampleReport:
    """Draw, desensitize, k-anonymize and check a sample; write it only if every check passes."""
    started = time.perf_counter()
    secret = check_secret(secret)
    _check_args(rows, fraction, k, l, max_suppression)
    src = open_source(source)
    classification.check_fits(src.schema.names)
    plan = plan or TransformPlan.default(classification)
    plan.check_fits(src.schema.names)
    strata = tuple(strata or ())
    _check_strata(strata, classification)
    seed = seed if seed is not None else _secrets.randbits(63)
    drawn, total = draw(src, rows=rows, fraction=fraction, strata=strata, seed=seed)
    rules = [f"{'stratified by ' + ', '.join(strata) + ', ' if strata else ''}simple random sample of "
             f"{drawn.num_rows} of {total} rows (cap {rows} rows, {fraction:.1%})"]
    from .bulk import transform_table

    transformed = transform_table(drawn, plan, secret)
    rules += [f"{c.transform} {c.column}" + (f" ({_opts(c.options)})" if c.options else "") for c in plan.columns]
    qis = [_quasi(c, transformed, plan) for c in classification.columns if _is_quasi(c, plan)]
    sensitive = list(classification.of_class(ColumnClass.SENSITIVE))
    result = anonymize(transformed, qis, sensitive, k=k, max_suppression=max_suppression)
    rules += [f"k-anonymity (k={k}): {col} {level}" for col, level in result.levels.items() if level != "as transformed"]
    rules.append(f"suppressed {result.suppressed} rows in classes smaller than {k}")
    _check_result(result, drawn.num_rows, k, l, max_suppression, qis)
    _check_leftovers(result.table, classification)
    with AtomicParquetWriter(dest, result.table.schema) as writer:
        writer.write(result.table)
    digest = _digest(dest)
    return SampleReport(
        source=str(src.path), dest=str(dest), rows_source=total, rows_drawn=drawn.num_rows,
        rows_written=result.table.num_rows, k_requested=k, k_reached=result.k_reached, l_requested=l,
        l_diversity=result.l_diversity, suppressed=result.suppressed,
        suppression_rate=result.suppressed / max(1, drawn.num_rows), quasi_identifiers=tuple(q.column for q in qis),
        sensitive=tuple(sensitive), generalization=result.levels, rules=tuple(rules), strata=strata, seed=seed,
        seconds=time.perf_counter() - started, sha256=digest, grade=classification.grade.value,
        columns={c.column: c.transform for c in plan.columns})


def _opts(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(options.items()) if k != "as_of")


def _check_args(rows: int, fraction: float, k: int, l: Optional[int], max_suppression: float) -> None:
    if rows < 1:
        raise InputError("rows must be at least 1")
    if not 0 < fraction <= 1:
        raise InputError("fraction must be in (0, 1]")
    if k < 2:
        raise InputError("k must be at least 2")
    if l is not None and l < 1:
        raise InputError("l must be at least 1")
    if not 0 <= max_suppression < 1:
        raise InputError("max_suppression must be in [0, 1)")


def _check_strata(strata: tuple, classification) -> None:
    for s in strata:
        profile = classification.column(s)
        if profile.column_class == ColumnClass.DIRECT_IDENTIFIER:
            raise PlanError(f"cannot stratify by {s!r}: it is a direct identifier")


def _is_quasi(profile, plan: TransformPlan) -> bool:
    """Quasi-identifiers, and direct identifiers whose transform leaves part of them
    (generalized addresses and ID regions, masked names) — those are quasi-identifiers now."""
    if profile.column_class == ColumnClass.QUASI_IDENTIFIER:
        return plan.column(profile.name).transform != "suppress"
    return profile.column_class == ColumnClass.DIRECT_IDENTIFIER and \
        plan.column(profile.name).transform in ("generalize", "mask")


def _quasi(profile, table: pa.Table, plan: TransformPlan) -> Quasi:
    col = table.column(profile.name)
    numeric = pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
    entity = profile.entity
    if entity == Entity.RESIDENT_ID and plan.column(profile.name).options.get("to") == "region":
        entity = Entity.REGION
    if profile.column_class == ColumnClass.DIRECT_IDENTIFIER and entity not in (Entity.ADDRESS, Entity.REGION,
                                                                                 Entity.BIRTH_DATE):
        entity = None  # masked values: a category like any other
    return Quasi(profile.name, entity, numeric)


def draw(src, *, rows: int, fraction: float, strata: tuple = (), seed: int = 0) -> tuple[pa.Table, int]:
    """A random (stratified) sample in one pass; memory holds at most `rows` per stratum."""
    rng = np.random.default_rng(seed)
    keep: Optional[pa.Table] = None
    total = 0
    counts: dict = {}
    for batch in src.batches():
        table = pa.Table.from_batches([batch])
        total += table.num_rows
        table = table.append_column("__u", pa.array(rng.random(table.num_rows)))
        table = table.append_column("__stratum", _stratum(table, strata))
        for item in pc.value_counts(table["__stratum"]).to_pylist():
            counts[item["values"]] = counts.get(item["values"], 0) + item["counts"]
        keep = _best(pa.concat_tables([keep, table]) if keep is not None else table, rows)
    if keep is None:
        raise InputError(f"file {src.label}: no rows")
    target = min(rows, int(fraction * total))
    quotas = _quotas(counts, target)
    chosen = [_smallest(keep.filter(pc.equal(keep["__stratum"], s)), q) for s, q in quotas.items() if q]
    sample = pa.concat_tables(chosen) if chosen else keep.slice(0, 0)
    return sample.sort_by("__u").drop_columns(["__u", "__stratum"]), total


def _stratum(table: pa.Table, strata: tuple) -> pa.Array:
    if not strata:
        return pa.array([""] * table.num_rows, pa.string())
    parts = [pc.fill_null(pc.cast(table[s], pa.string()), "∅") for s in strata]
    return pc.binary_join_element_wise(*parts, "\x1f").combine_chunks() if len(parts) > 1 else parts[0].combine_chunks()


def _best(table: pa.Table, rows: int) -> pa.Table:
    """Per stratum, the `rows` rows with the smallest random keys."""
    out = []
    for s in pc.unique(table["__stratum"]).to_pylist():
        out.append(_smallest(table.filter(pc.equal(table["__stratum"], s)), rows))
    return pa.concat_tables(out)


def _smallest(table: pa.Table, n: int) -> pa.Table:
    if table.num_rows <= n:
        return table
    idx = pc.select_k_unstable(table, n, [("__u", "ascending")])
    return table.take(idx)


def _quotas(counts: dict, target: int) -> dict:
    """Proportional allocation by largest remainder."""
    total = sum(counts.values())
    if not total or target <= 0:
        return {s: 0 for s in counts}
    exact = {s: target * c / total for s, c in counts.items()}
    quotas = {s: int(v) for s, v in exact.items()}
    for s in sorted(exact, key=lambda s: exact[s] - quotas[s], reverse=True)[: target - sum(quotas.values())]:
        quotas[s] += 1
    return quotas


def _check_result(result, drawn: int, k: int, l: Optional[int], max_suppression: float, qis) -> None:
    if result.table.num_rows == 0:
        raise SampleCheckFailed(f"no row survives k-anonymity with k={k} (drawn {drawn} rows): sample not written")
    if result.k_reached < k:
        raise SampleCheckFailed(f"k-anonymity not reached: smallest class has {result.k_reached} rows, k={k}")
    rate = result.suppressed / max(1, drawn)
    if rate > max_suppression:
        raise SampleCheckFailed(f"suppression rate {rate:.1%} exceeds the budget {max_suppression:.1%}: "
                                "sample not written (draw more rows or lower k)")
    if l is not None:
        low = {c: v for c, v in result.l_diversity.items() if v < l}
        if low:
            col, v = sorted(low.items())[0]
            raise SampleCheckFailed(f"l-diversity of {col!r} is {v} < {l}: sample not written")


def _check_leftovers(table: pa.Table, classification) -> None:
    """No raw identifier may remain: strong identifiers anywhere, names in text."""
    from .scan import scan_table

    for f in scan_table(table):
        if f.entity == Entity.PSEUDONYM and classification.column(f.column).column_class == ColumnClass.DIRECT_IDENTIFIER:
            continue
        if f.entity in STRICT_LEFTOVERS or (f.entity == Entity.PERSON_NAME and f.mode == "text"):
            raise SampleCheckFailed(f"column {f.column!r} still holds {f.rows} value(s) that look like "
                                    f"{f.entity.value} after desensitization: sample not written")


def _digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
