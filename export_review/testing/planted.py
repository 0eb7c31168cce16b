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
    as_float = pa.table({"contact": pa.array([float(p) for p in phones], pa.float64()),
                         "district": s.column("district")})
    as_fraction = pa.table({"score": pa.array([float("0." + p) for p in phones], pa.float64()),
                            "district": s.column("district")})
    scaled = pa.table({"index": pa.array([int(p) / 1e13 for p in phones], pa.float64()),
                       "code": pa.array([f"{p[:3]}.{p[3:]}" for p in phones]), "district": s.column("district")})
    D = ProductKind.DATA_PACKAGE
    return [
        Planted("raw rows, renamed columns", Product(D, _write_csv(renamed, folder / "renamed.csv")), True, "raw_rows"),
        Planted("raw rows, shuffled", Product(D, pq.write_table(shuffled, folder / "shuffled.parquet")
                                              or folder / "shuffled.parquet"), True, "raw_rows"),
        Planted("raw sample, one column dropped", Product(D, _write_csv(dropped, folder / "dropped.csv")), True, "raw_rows"),
        Planted("SHA-256 of ID numbers", Product(D, _write_csv(sha, folder / "sha256_ids.csv")), True, "reversible"),
        Planted("MD5 of phone numbers", Product(D, _write_csv(md5, folder / "md5_phones.csv")), True, "reversible"),
        Planted("base64 of names", Product(D, _write_csv(b64, folder / "base64_names.csv")), True, "reversible"),
        Planted("phone numbers stored as floats", Product(D, pq.write_table(as_float, folder / "float_phones.parquet")
                                                          or folder / "float_phones.parquet"), True, "identifiers"),
        Planted("phone numbers hidden as fraction digits",
                Product(D, pq.write_table(as_fraction, folder / "fraction_phones.parquet")
                        or folder / "fraction_phones.parquet"), True, "identifiers"),
        Planted("phone numbers scaled down and split by a point",
                Product(D, pq.write_table(scaled, folder / "scaled_phones.parquet")
                        or folder / "scaled_phones.parquet"), True, "identifiers"),
    ]


def _grouped(raw: pa.Table, keys: list[str]) -> pa.Table:
    g = raw.group_by(keys).aggregate([("income", "count"), ("income", "mean")])
    return g.rename_columns([*keys, "n", "avg_income"]).sort_by([(k, "ascending") for k in keys])


def good_tables(raw: pa.Table, folder: Path) -> list[Planted]:
    D, R = ProductKind.DATA_PACKAGE, ProductKind.REPORT
    unrounded = _grouped(raw, ["district", "gender"])  # full float precision: 6234.567812345…
    by_district = unrounded.set_column(3, "avg_income", pc.round(unrounded.column("avg_income"), 1))
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
        Planted("unrounded averages (declared)", Product(D, _write_csv(unrounded, folder / "agg_unrounded.csv"),
                                                         {"aggregate": spec}), False),
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


# -- models ---------------------------------------------------------------------------------

FEATURES = ["age", "income", "male", "district_code"]


def model_data(raw: pa.Table, rows: int = 4000, seed: int = 5) -> tuple[pa.Table, pa.Table]:
    """(training, holdout) tables with features and a noisy binary target, drawn from `raw`."""
    rng = np.random.default_rng(seed)
    s = _sample(raw, 2 * rows, seed)
    birth_year = pc.year(s.column("birth_date")).to_numpy().astype(float)
    income = s.column("income").to_numpy().astype(float)
    districts = sorted(set(s.column("district").to_pylist()))
    code = np.array([districts.index(d) for d in s.column("district").to_pylist()], dtype=float)
    male = np.array([g == "男" for g in s.column("gender").to_pylist()], dtype=float)
    y = ((income / 1000 + rng.normal(0, 3, len(income))) > 7).astype(np.int64)
    t = pa.table({"age": 2026 - birth_year, "income": income, "male": male, "district_code": code, "y": y,
                  "id_number": s.column("id_number")})
    return t.slice(0, rows), t.slice(rows)


def _xy(table: pa.Table, features=FEATURES):
    return np.column_stack([table.column(c).to_numpy() for c in features]), table.column("y").to_numpy()


def _card(**extra) -> dict:
    return {"training": "train", "holdout": "holdout", "features": FEATURES, "target": "y", **extra}


def bad_models(train: pa.Table, folder: Path) -> list[Planted]:
    import os
    import pickle

    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    X, y = _xy(train)
    M = ProductKind.MODEL
    knn = KNeighborsClassifier(n_neighbors=1).fit(X, y)
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    ids = np.asarray(train.column("id_number").to_pylist(), dtype=object).reshape(-1, 1)
    lookup = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(C=100, max_iter=50)).fit(ids, y)
    sio.dump(knn, folder / "knn.skops")
    sio.dump(tree, folder / "tree.skops")
    sio.dump(lookup, folder / "lookup.skops")

    class RunsCode:  # a pickle that would run a command when loaded
        def __reduce__(self):
            return (os.system, (f"touch {folder / 'PWNED'}",))

    (folder / "model.pkl").write_bytes(pickle.dumps(RunsCode()))
    return [
        Planted("kNN model", Product(M, folder / "knn.skops", _card()), True, "model_structure"),
        Planted("fully grown decision tree", Product(M, folder / "tree.skops", _card()), True, "model_structure"),
        Planted("lookup-table model", Product(M, folder / "lookup.skops", _card(features=["id_number"])),
                True, "model_structure"),
        Planted("pickle that runs code on load", Product(M, folder / "model.pkl", _card()), True, "model_format"),
    ]


def good_models(train: pa.Table, folder: Path) -> list[Planted]:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    X, y = _xy(train)
    M = ProductKind.MODEL
    lr = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X, y)
    shallow = DecisionTreeClassifier(max_depth=4, min_samples_leaf=50, random_state=0).fit(X, y)
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, min_samples_leaf=50, random_state=0).fit(X, y)
    out = []
    for name, model, file in (("regularised logistic regression", lr, "lr.skops"),
                              ("shallow decision tree", shallow, "shallow_tree.skops"),
                              ("small random forest", forest, "forest.skops")):
        sio.dump(model, folder / file)
        out.append(Planted(name, Product(M, folder / file, _card()), False))
    return out
