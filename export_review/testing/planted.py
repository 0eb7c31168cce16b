"""Planted products: bad ones every check must block, good ones that must pass.

`planted_tables(raw, folder)` writes data packages and reports made from a synthetic raw
population table and returns `Planted(name, product, bad, rule)` entries."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from export_review.checks.base import Product, ProductKind


@dataclass(frozen=True)
class Planted:
    name: str
    product: Product
    bad: bool
    rule: str | None = None      # the rule expected to block a bad product


def _sample(raw: pa.Table, n: int, seed: int) -> pa.Table:
    idx = np.random.default_rng(seed).permutation(raw.num_rows)[: min(n, raw.num_rows)]
    return raw.take(pa.array(idx))


def _write_csv(table: pa.Table, path: Path) -> Path:
    pcsv.write_csv(table, path)
    return path


def _digest(values, name: str) -> list[str]:
    return [hashlib.new(name, v.encode()).hexdigest() for v in values]


def bad_tables(raw: pa.Table, folder: Path) -> list[Planted]:
    s = _sample(raw, 500, 11)
    renamed = s.rename_columns([f"field_{i}" for i in range(s.num_columns)])
    shuffled = _sample(raw, 500, 12)
    shuffled = shuffled.select(list(reversed(shuffled.column_names)))
    dropped = _sample(raw, 500, 13).drop_columns(["id_number"])
    ids, phones, names = (s.column(c).to_pylist() for c in ("id_number", "phone", "name"))
    sha = pa.table({"person_key": _digest(ids, "sha256"), "district": s.column("district")})
    md5 = pa.table({"contact_key": _digest(phones, "md5"), "occupation": s.column("occupation")})
    b64 = pa.table({"label": [base64.b64encode(v.encode()).decode() for v in names],
                    "district": s.column("district")})
    D = ProductKind.DATA_PACKAGE
    return [
        Planted("raw rows, renamed columns", Product(D, _write_csv(renamed, folder / "renamed.csv")), True, "raw_rows"),
        Planted("raw rows, shuffled", Product(D, pq.write_table(shuffled, folder / "shuffled.parquet")
                                              or folder / "shuffled.parquet"), True, "raw_rows"),
        Planted("raw sample, one column dropped", Product(D, _write_csv(dropped, folder / "dropped.csv")), True, "raw_rows"),
        Planted("SHA-256 of ID numbers", Product(D, _write_csv(sha, folder / "sha256_ids.csv")), True, "reversible"),
        Planted("MD5 of phone numbers", Product(D, _write_csv(md5, folder / "md5_phones.csv")), True, "reversible"),
        Planted("base64 of names", Product(D, _write_csv(b64, folder / "base64_names.csv")), True, "reversible"),
    ]


def _grouped(raw: pa.Table, keys: list[str]) -> pa.Table:
    g = raw.group_by(keys).aggregate([("income", "count"), ("income", "mean")])
    return g.rename_columns([*keys, "n", "avg_income"]).sort_by([(k, "ascending") for k in keys])


def good_tables(raw: pa.Table, folder: Path) -> list[Planted]:
    D, R = ProductKind.DATA_PACKAGE, ProductKind.REPORT
    by_district = _grouped(raw, ["district", "gender"])
    by_district = by_district.set_column(3, "avg_income", pc.round(by_district.column("avg_income"), 1))
    spec = {"dataset": "population", "group_by": ["district", "gender"], "count_column": "n",
            "value_column": "avg_income", "value_source": "income", "statistic": "mean"}
    counts = raw.group_by(["occupation"]).aggregate([("income", "count")]).rename_columns(["occupation", "人数"])
    cross = raw.group_by(["district", "occupation"]).aggregate([("income", "count")]) \
        .rename_columns(["district", "occupation", "n"])
    cross = cross.filter(pc.greater_equal(cross.column("n"), 10))
    out = [
        Planted("aggregates with k ≥ 10 (declared)", Product(D, _write_csv(by_district, folder / "agg_district.csv"),
                                                            {"aggregate": spec}), False),
        Planted("counts by occupation", Product(D, _write_csv(counts, folder / "counts_occ.csv")), False),
        Planted("cross counts, small cells suppressed", Product(D, _write_csv(cross, folder / "cross.csv")), False),
        Planted("report of rates", Product(R, _rates_report(raw, folder / "rates.md")), False),
        Planted("text report", Product(R, _text_report(folder / "summary.md")), False),
    ]
    return out


def _rates_report(raw: pa.Table, path: Path) -> Path:
    t = raw.group_by(["district"]).aggregate([("income", "count"), ("income", "mean")])
    total = t.column("income_count").to_pylist()
    rows = ["| 区县 | 人数 | 高收入率 |", "| --- | --- | --- |"]
    for d, n in zip(t.column("district").to_pylist(), total):
        mask = pc.and_(pc.equal(raw.column("district"), d), pc.greater(raw.column("income"), 8000))
        rows.append(f"| {d} | {n} | {pc.sum(mask).as_py() / n:.3f} |")
    path.write_text("# 各区县高收入人群占比\n\n本报告统计月收入高于 8000 元的人群占比。\n\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


def _text_report(path: Path) -> Path:
    path.write_text("# Quarterly summary\n\nEmployment rose in every district; the largest rise was in "
                    "the service sector. Detailed tables follow in the annex.\n", encoding="utf-8")
    return path


def write_metadata(product: Product) -> None:
    """Write a product's metadata beside it as `<file>.meta.json` (what `submit` reads)."""
    if product.metadata:
        Path(str(product.path) + ".meta.json").write_text(json.dumps(dict(product.metadata)), encoding="utf-8")
