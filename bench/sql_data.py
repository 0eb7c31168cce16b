"""Synthetic data for the secure-SQL benchmarks (vectorized; millions of rows in seconds).

population: `people` rows keyed by an 18-character resident ID; social_insurance: `records`
rows referencing those residents. Written twice, from the same Arrow tables: into the
encrypted raw store (what the secure engine reads) and as plaintext Parquet with the same
layout (what the plain-DuckDB baseline reads).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from domain.rawstore import open_dataset, write_dataset
from domain.rawstore.store import WRITER_OPTIONS
from domain.sql import DatasetScope, Scope

DISTRICTS = np.array(["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "海曙区", "鹿城区",
                      "南湖区", "吴兴区", "越城区", "婺城区", "柯城区", "定海区", "椒江区", "莲都区"])
EDUCATION = np.array(["初中", "高中", "大专", "本科", "硕士"])


def ids(n: int, offset: int = 0) -> np.ndarray:
    numbers = np.arange(offset, offset + n, dtype=np.int64)
    return np.char.add("3301", np.char.zfill(numbers.astype(str), 14))


def tables(records: int, people: int, seed: int = 1) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    population = pa.table({
        "id_number": ids(people),
        "district": DISTRICTS[rng.integers(0, len(DISTRICTS), people)],
        "education": EDUCATION[rng.integers(0, len(EDUCATION), people)],
        "birth_year": rng.integers(1940, 2008, people),
        "income": np.round(rng.lognormal(11, 0.4, people), 2),
    })
    who = rng.integers(0, people, records)
    social = pa.table({
        "id_number": ids(people)[who],
        "month": rng.integers(1, 13, records),
        "amount": np.round(rng.lognormal(6.8, 0.3, records), 2),
    })
    return {"population": population, "social_insurance": social}


def scope() -> Scope:
    return Scope((
        DatasetScope.build("population", {
            "id_number": "direct_identifier", "district": "quasi_identifier", "education": "quasi_identifier",
            "birth_year": ("quasi_identifier", "BIGINT"), "income": ("sensitive", "DOUBLE")}, "id_number",
            suppress_below=10, round_to=5),
        DatasetScope.build("social_insurance", {
            "id_number": "direct_identifier", "month": ("other", "BIGINT"), "amount": ("sensitive", "DOUBLE")},
            "id_number", suppress_below=10, round_to=5),
    ))


def materialize(data: dict[str, pa.Table], folder: Path) -> tuple[dict, dict[str, Path]]:
    """Encrypted store (opened) and plaintext Parquet files of the same tables."""
    opened, plain = {}, {}
    for name, table in data.items():
        key = os.urandom(32)
        write_dataset(table, folder / "raw" / name, key)
        opened[name] = open_dataset(folder / "raw" / name, key)
        plain[name] = folder / f"{name}.parquet"
        options = {k: v for k, v in WRITER_OPTIONS.items()}
        pq.write_table(table, plain[name], row_group_size=65_536, **options)
    return opened, plain


def prepare(folder: Path, records: int, people: int) -> tuple[dict, dict[str, Path]]:
    (folder / "raw").mkdir(parents=True, exist_ok=True)
    return materialize(tables(records, people), folder)
