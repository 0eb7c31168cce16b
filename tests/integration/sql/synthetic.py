"""Small synthetic Zhejiang registers for the secure-SQL tests (deterministic for a seed).

- population (人口基础信息), keyed by resident ID number (valid ISO 7064 MOD 11-2 check digit);
- enterprise (企业登记信息), keyed by unified social credit code (valid GB 32100 check char);
- social_insurance (社保缴费记录), monthly contributions keyed by both.

Group sizes are controlled so disclosure control can be tested exactly: the district 淳安县 has
only 3 residents, the industry 采矿业 only 4 enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

DISTRICTS = [("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"), ("330108", "滨江区"),
             ("330109", "萧山区"), ("330110", "余杭区"), ("330203", "海曙区"), ("330302", "鹿城区")]
TINY_DISTRICT = ("330127", "淳安县")
INDUSTRIES = ["制造业", "批发和零售业", "信息技术服务业", "建筑业", "住宿和餐饮业"]
TINY_INDUSTRY = "采矿业"
EDUCATION = ["初中", "高中", "大专", "本科", "硕士"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平")
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def id_number(region: str, born: date, seq: int) -> str:
    body = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return body + ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]


def credit_code(region: str, serial: int) -> str:
    org = f"{serial:08d}"
    body = "91" + region + org + str(serial % 10)
    values = [USCC_ALPHABET.index(c) for c in body]
    check = (31 - sum(v * w for v, w in zip(values, USCC_WEIGHTS)) % 31) % 31
    return body + USCC_ALPHABET[check]


@dataclass(frozen=True)
class Registers:
    population: pa.Table
    enterprise: pa.Table
    social_insurance: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {"population": self.population, "enterprise": self.enterprise,
                "social_insurance": self.social_insurance}


def _people(rng: np.random.Generator, n: int) -> pa.Table:
    rows = []
    for i in range(n):
        region, district = TINY_DISTRICT if i < 3 else DISTRICTS[int(rng.integers(0, len(DISTRICTS)))]
        born = date(1950, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 55)))
        rows.append({
            "id_number": id_number(region, born, i),
            "name": SURNAMES[int(rng.integers(0, len(SURNAMES)))] + GIVEN[int(rng.integers(0, len(GIVEN)))],
            "sex": "男" if i % 2 else "女",
            "birth_date": born,
            "district": district,
            "education": EDUCATION[int(rng.integers(0, len(EDUCATION)))],
            "mobile": f"13{int(rng.integers(0, 10**9)):09d}",
            "income": float(round(rng.lognormal(11, 0.4), 2)),
        })
    return pa.Table.from_pylist(rows)


def _firms(rng: np.random.Generator, m: int, people: pa.Table) -> pa.Table:
    ids = people.column("id_number").to_pylist()
    rows = []
    for j in range(m):
        region, district = DISTRICTS[j % len(DISTRICTS)]
        rows.append({
            "credit_code": credit_code(region, 100_000 + j),
            "enterprise_name": f"浙江{SURNAMES[j % len(SURNAMES)]}{GIVEN[(j * 7) % len(GIVEN)]}有限公司{j}",
            "industry": TINY_INDUSTRY if j < 4 else INDUSTRIES[int(rng.integers(0, len(INDUSTRIES)))],
            "district": district,
            "registered_capital": float(round(rng.lognormal(5, 1.0), 1)),
            "established_on": date(1995, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 28))),
            "legal_rep_id": ids[int(rng.integers(0, len(ids)))],
        })
    return pa.Table.from_pylist(rows)


def _contributions(rng: np.random.Generator, people: pa.Table, firms: pa.Table) -> pa.Table:
    ids = people.column("id_number").to_pylist()
    codes = firms.column("credit_code").to_pylist()
    rows = []
    for i, pid in enumerate(ids):
        if i % 5 == 4:
            continue  # 20% are not insured
        employer = codes[int(rng.integers(0, len(codes)))]
        base = float(round(rng.lognormal(8.6, 0.3), 0))
        for month in range(1, int(rng.integers(1, 7)) + 1):
            rows.append({
                "id_number": pid, "credit_code": employer, "period": date(2025, month, 1),
                "insurance_type": "职工基本养老保险" if month % 3 else "失业保险",
                "base": base, "amount": round(base * 0.16, 2),
            })
    return pa.Table.from_pylist(rows)


def generate(people: int = 3000, firms: int = 120, seed: int = 20261123) -> Registers:
    rng = np.random.default_rng(seed)
    pop = _people(rng, people)
    ent = _firms(rng, firms, pop)
    return Registers(pop, ent, _contributions(rng, pop, ent))


CLASSES = {
    "population": {
        "id_number": "direct_identifier", "name": "direct_identifier", "mobile": "direct_identifier",
        "sex": "quasi_identifier", "birth_date": "quasi_identifier", "district": "quasi_identifier",
        "education": "quasi_identifier", "income": "sensitive",
    },
    "enterprise": {
        "credit_code": "direct_identifier", "enterprise_name": "direct_identifier",
        "legal_rep_id": "direct_identifier", "industry": "other", "district": "quasi_identifier",
        "registered_capital": "sensitive", "established_on": "other",
    },
    "social_insurance": {
        "id_number": "direct_identifier", "credit_code": "direct_identifier", "period": "other",
        "insurance_type": "other", "base": "sensitive", "amount": "sensitive",
    },
}
UNITS = {"population": "id_number", "enterprise": "credit_code", "social_insurance": "id_number"}
SQL_TYPES = {"string": "VARCHAR", "double": "DOUBLE", "int64": "BIGINT", "date32[day]": "DATE"}
