"""A deterministic synthetic population register, vectorised (5M rows in seconds)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from export_review.protocols import RawColumn, RawDataset

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁龙林欣佳思雨晨阳")
DISTRICTS = ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区"]
REGIONS = ["330102", "330105", "330106", "330108", "330109", "330110", "330113", "330114", "330111", "330112"]
OCCUPATIONS = ["教师", "医生", "工人", "农民", "公务员", "个体经营", "自由职业", "工程师", "销售", "退休"]
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))

POPULATION_COLUMNS = (
    RawColumn("id_number", "VARCHAR", "direct_identifier", "CN_RESIDENT_ID"),
    RawColumn("name", "VARCHAR", "direct_identifier", "CN_PERSON_NAME"),
    RawColumn("phone", "VARCHAR", "direct_identifier", "CN_MOBILE"),
    RawColumn("gender", "VARCHAR", "quasi_identifier", "GENDER"),
    RawColumn("birth_date", "DATE", "quasi_identifier", "DATE_OF_BIRTH"),
    RawColumn("district", "VARCHAR", "quasi_identifier", "REGION"),
    RawColumn("occupation", "VARCHAR", "quasi_identifier", "OCCUPATION"),
    RawColumn("income", "BIGINT", "sensitive", "INCOME"),
)


def population_dataset(relation: str = "population") -> RawDataset:
    return RawDataset("population", relation, POPULATION_COLUMNS, privacy_unit="id_number")


def _take(rng, pool, n) -> pa.Array:
    return pa.array(pool).take(pa.array(rng.integers(0, len(pool), n)))


def _digits(rng, n, width) -> pa.Array:
    """n strings of `width` random digits."""
    codes = rng.integers(48, 58, (n, width), dtype=np.uint8)
    return _fixed(codes)


def _fixed(codes: np.ndarray) -> pa.Array:
    n, width = codes.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.StringArray.from_buffers(n, offsets.buffers()[1], pa.py_buffer(codes.tobytes()))


def _cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def population(n: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    district = rng.integers(0, len(DISTRICTS), n)
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 60, n).astype("timedelta64[D]")
    ymd = pc.replace_substring(pc.cast(pa.array(birth), pa.string()), "-", "")
    seq = _digits(rng, n, 3)
    body = _cat(pa.array(REGIONS).take(pa.array(district)), ymd, seq)
    digits = np.frombuffer(pc.cast(body, pa.binary()).buffers()[2], dtype=np.uint8)[: n * 17]
    check = pa.array(ID_CHECK[((digits.reshape(n, 17).astype(np.int64) - 48) @ ID_WEIGHTS) % 11])
    odd = (np.frombuffer(pc.cast(seq, pa.binary()).buffers()[2], dtype=np.uint8)[2::3] - 48) % 2 == 1
    name = _cat(_take(rng, SURNAMES, n), _take(rng, GIVEN, n))
    name = pc.if_else(pa.array(rng.random(n) < 0.6), _cat(name, _take(rng, GIVEN, n)), name)
    phone = _cat(_take(rng, ["138", "139", "137", "150", "186", "189"], n), _digits(rng, n, 8))
    return pa.table({
        "id_number": _cat(body, check), "name": name, "phone": phone,
        "gender": pa.array(np.where(odd, "男", "女")),
        "birth_date": pa.array(birth.astype("datetime64[D]")),
        "district": pa.array(DISTRICTS).take(pa.array(district)),
        "occupation": _take(rng, OCCUPATIONS, n),
        "income": pa.array(np.round(rng.lognormal(8.7, 0.5, n)).astype(np.int64)),
    })
