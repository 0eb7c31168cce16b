"""Synthetic Zhejiang public data for `aod demo` (three agencies' registers that join).

- population (公安/人口基础信息): one row per resident, keyed by resident ID number;
- enterprise (市场监管/企业登记信息): one row per enterprise, keyed by unified social credit code;
- social_insurance (人社/社保缴费记录): monthly contributions, keyed by both.

Everything is vectorized with numpy (a few hundred thousand rows in about a second); ID
numbers carry valid ISO 7064 MOD 11-2 check digits and credit codes valid GB 32100 check
characters, so the classifiers see realistic data. Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

DISTRICTS = [  # (region code, city, district)
    ("330102", "杭州市", "上城区"), ("330105", "杭州市", "拱墅区"), ("330106", "杭州市", "西湖区"),
    ("330108", "杭州市", "滨江区"), ("330109", "杭州市", "萧山区"), ("330110", "杭州市", "余杭区"),
    ("330203", "宁波市", "海曙区"), ("330212", "宁波市", "鄞州区"), ("330302", "温州市", "鹿城区"),
    ("330402", "嘉兴市", "南湖区"), ("330502", "湖州市", "吴兴区"), ("330602", "绍兴市", "越城区"),
    ("330702", "金华市", "婺城区"), ("330802", "衢州市", "柯城区"), ("330902", "舟山市", "定海区"),
    ("331002", "台州市", "椒江区"), ("331102", "丽水市", "莲都区"),
]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方邹")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁龙林欣佳思雨晨阳")
STREETS = ["文三路", "天目山路", "学院路", "中山路", "解放路", "人民路", "建设路", "江南大道", "钱江路", "凤起路"]
INDUSTRIES = ["制造业", "批发和零售业", "信息技术服务业", "建筑业", "住宿和餐饮业", "交通运输业", "科学研究和技术服务业", "租赁和商务服务业"]
EDUCATION = ["小学", "初中", "高中", "大专", "本科", "硕士", "博士"]
MARITAL = ["未婚", "已婚", "离异", "丧偶"]
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
EPOCH = np.datetime64("1970-01-01")


@dataclass(frozen=True)
class DemoData:
    population: pa.Table
    enterprise: pa.Table
    social_insurance: pa.Table


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Integer array → (n, width) array of decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def resident_ids(rng: np.random.Generator, n: int, birth: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Unique 18-character resident ID numbers with valid check digits."""
    ymd = birth.astype("datetime64[D]").astype(str)
    ymd = np.char.replace(ymd, "-", "").astype(np.int64)
    seq = rng.permutation(np.arange(n) % 1000) if n <= 1000 else (np.arange(n) * 7919 + rng.integers(0, 1000)) % 1000
    body = np.char.add(np.char.add(region.astype(str), ymd.astype(str)), np.char.zfill(seq.astype(str), 3))
    digits = np.array([list(b) for b in body.tolist()], dtype=np.int64) if n < 50 else _digit_matrix(body)
    check = ID_CHECK[(digits @ ID_WEIGHTS) % 11]
    ids = np.char.add(body, check)
    return _dedupe(ids)


def _digit_matrix(body: np.ndarray) -> np.ndarray:
    raw = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17)
    return (raw - ord("0")).astype(np.int64)


def _dedupe(ids: np.ndarray) -> np.ndarray:
    _, first = np.unique(ids, return_index=True)
    keep = np.zeros(len(ids), dtype=bool)
    keep[first] = True
    return np.where(keep, ids, "")


def credit_codes(rng: np.random.Generator, n: int, region: np.ndarray) -> np.ndarray:
    """Unique unified social credit codes (91 + region + 9-char organisation code + check)."""
    alphabet = np.array(list(USCC_ALPHABET))
    org = rng.integers(0, 31, size=(n, 9))
    org[:, :3] = _digits(np.arange(n) + 100, 3)  # uniqueness for n ≤ 900 per region is not enough;
    org[:, 3:6] = _digits((np.arange(n) // 900) % 1000, 3)
    prefix = np.column_stack([np.full(n, 9), np.full(n, 1), _region_digits(region), org])
    check = (31 - (prefix @ USCC_WEIGHTS) % 31) % 31
    chars = alphabet[np.column_stack([prefix, check])]
    return np.array(["".join(row) for row in chars.tolist()])


def _region_digits(region: np.ndarray) -> np.ndarray:
    return _digit_matrix(np.char.add(region.astype(str), "00000000000"))[:, :6]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    first = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    second = np.where(rng.random(n) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    return np.char.add(np.char.add(surname, first), second)


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array(["135", "136", "137", "138", "139", "150", "151", "158", "187", "188", "199"])
    tail = np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)
    return np.char.add(prefix[rng.integers(0, len(prefix), n)], tail)


def population(rng: np.random.Generator, n: int) -> pa.Table:
    district = rng.integers(0, len(DISTRICTS), n)
    region = np.array([d[0] for d in DISTRICTS])[district]
    birth = EPOCH + rng.integers(-30 * 365, 38 * 365, n).astype("timedelta64[D]")  # 1940 … 2008
    ids = resident_ids(rng, n, birth, region)
    keep = ids != ""
    sex_digit = np.array([int(i[16]) if i else 0 for i in ids.tolist()])
    city = np.array([d[1] for d in DISTRICTS])[district]
    dname = np.array([d[2] for d in DISTRICTS])[district]
    street = np.array(STREETS)[rng.integers(0, len(STREETS), n)]
    number = rng.integers(1, 400, n).astype(str)
    address = np.char.add(np.char.add(np.char.add(np.char.add("浙江省", city), dname), street), np.char.add(number, "号"))
    mobile = _mobiles(rng, n)
    remark = np.where(rng.random(n) < 0.05, np.char.add("联系电话", mobile), "")
    table = pa.table({
        "id_number": ids, "name": _names(rng, n),
        "sex": np.where(sex_digit % 2 == 1, "男", "女"), "birth_date": birth.astype("datetime64[D]"),
        "district": dname, "address": address, "mobile": mobile,
        "education": np.array(EDUCATION)[rng.integers(0, len(EDUCATION), n)],
        "marital_status": np.array(MARITAL)[rng.integers(0, len(MARITAL), n)],
        "remark": remark,
    })
    return table.filter(pa.array(keep))


def enterprise(rng: np.random.Generator, n: int, people: pa.Table) -> pa.Table:
    district = rng.integers(0, len(DISTRICTS), n)
    region = np.array([d[0] for d in DISTRICTS])[district]
    codes = credit_codes(rng, n, region)
    dname = np.array([d[2] for d in DISTRICTS])[district]
    industry = np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), n)]
    brand = np.char.add(np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)], np.array(GIVEN)[rng.integers(0, len(GIVEN), n)])
    names = np.char.add(np.char.add(np.char.add("浙江", brand), np.char.replace(industry, "业", "")), "有限公司")
    rep = rng.integers(0, people.num_rows, n)
    established = EPOCH + rng.integers(30 * 365, 56 * 365, n).astype("timedelta64[D]")
    return pa.table({
        "credit_code": codes, "enterprise_name": names,
        "legal_representative": people.column("name").take(pa.array(rep)),
        "legal_rep_id_number": people.column("id_number").take(pa.array(rep)),
        "industry": industry, "district": dname,
        "registered_capital_wan": np.round(rng.lognormal(5, 1.2, n), 1),
        "established_on": established.astype("datetime64[D]"),
        "status": np.where(rng.random(n) < 0.9, "存续", "注销"),
    })


def social_insurance(rng: np.random.Generator, people: pa.Table, firms: pa.Table,
                     employed_share: float = 0.6, months: int = 6) -> pa.Table:
    n_people = people.num_rows
    workers = rng.choice(n_people, int(n_people * employed_share), replace=False)
    employer = rng.integers(0, firms.num_rows, len(workers))
    base = np.round(rng.lognormal(8.7, 0.35, len(workers)), 0)
    spans = rng.integers(1, months + 1, len(workers))
    person_idx = np.repeat(workers, spans)
    firm_idx = np.repeat(employer, spans)
    month = np.concatenate([np.arange(s) for s in spans.tolist()])
    period = np.datetime64("2026-01-01") + (month * 31).astype("timedelta64[D]")
    period = period.astype("datetime64[M]").astype("datetime64[D]")
    contribution = np.repeat(base, spans)
    return pa.table({
        "id_number": people.column("id_number").take(pa.array(person_idx)),
        "credit_code": firms.column("credit_code").take(pa.array(firm_idx)),
        "period": period,
        "insurance_type": np.full(len(person_idx), "职工基本养老保险"),
        "contribution_base": contribution,
        "amount": np.round(contribution * 0.16, 2),
    })


def generate(people: int = 100_000, firms: int = 8_000, seed: int = 20261123) -> DemoData:
    rng = np.random.default_rng(seed)
    pop = population(rng, people)
    ent = enterprise(rng, firms, pop)
    return DemoData(pop, ent, social_insurance(rng, pop, ent))


def write_files(data: DemoData, folder: Path) -> dict[str, Path]:
    """Write the registers the way agencies hand them over: GBK CSV, UTF-8 CSV, Parquet."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"population": folder / "population_gbk.csv", "enterprise": folder / "enterprise.csv",
             "social_insurance": folder / "social_insurance.parquet"}
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(data.population, buffer)
    paths["population"].write_bytes(buffer.getvalue().to_pybytes().decode("utf-8").encode("gbk"))
    pacsv.write_csv(data.enterprise, paths["enterprise"])
    pq.write_table(data.social_insurance, paths["social_insurance"])
    return paths


def birth_date_of(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
