"""Synthetic Chinese identifiers and labelled tables: fast (numpy-vectorized), deterministic.

Every generator takes `n` and a `numpy.random.Generator` (or a seed) and returns a numpy
array of `str`; the same seed always gives the same data. Identifiers carry valid check
characters: resident ID numbers (ISO 7064 MOD 11-2, real birth dates, Zhejiang and other
region codes; also the 15-digit legacy form), unified social credit codes (GB 32100 with a
valid GB 11714 organisation code inside), bank cards (Luhn). Names come from Faker's zh_CN
surname/given-name lists (weighted) plus our own character pool; addresses are Zhejiang's.

`messy()` re-types values the way real files do: full-width digits, spaces or dashes inside
numbers, lowercase `x`, +86/0086 prefixes. `remarks()` writes free text (备注) with
identifiers embedded. The `*_table()` functions return a `pyarrow.Table` and its labels
(column → `(ColumnClass, Entity | None)`), for tests, benchmarks and the domain's demo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .checks import ORG_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS
from .entities import ColumnClass, Entity
from .normalize import ID_CHECK, ID_WEIGHTS

Rng = Union[np.random.Generator, int, None]

# (region code, city, district) — Zhejiang county-level divisions
ZHEJIANG = [
    ("330102", "杭州市", "上城区"), ("330105", "杭州市", "拱墅区"), ("330106", "杭州市", "西湖区"),
    ("330108", "杭州市", "滨江区"), ("330109", "杭州市", "萧山区"), ("330110", "杭州市", "余杭区"),
    ("330111", "杭州市", "富阳区"), ("330112", "杭州市", "临安区"), ("330113", "杭州市", "临平区"),
    ("330114", "杭州市", "钱塘区"), ("330122", "杭州市", "桐庐县"), ("330127", "杭州市", "淳安县"),
    ("330182", "杭州市", "建德市"), ("330203", "宁波市", "海曙区"), ("330205", "宁波市", "江北区"),
    ("330206", "宁波市", "北仑区"), ("330211", "宁波市", "镇海区"), ("330212", "宁波市", "鄞州区"),
    ("330213", "宁波市", "奉化区"), ("330225", "宁波市", "象山县"), ("330226", "宁波市", "宁海县"),
    ("330281", "宁波市", "余姚市"), ("330282", "宁波市", "慈溪市"), ("330302", "温州市", "鹿城区"),
    ("330303", "温州市", "龙湾区"), ("330304", "温州市", "瓯海区"), ("330305", "温州市", "洞头区"),
    ("330324", "温州市", "永嘉县"), ("330326", "温州市", "平阳县"), ("330327", "温州市", "苍南县"),
    ("330381", "温州市", "瑞安市"), ("330382", "温州市", "乐清市"), ("330402", "嘉兴市", "南湖区"),
    ("330411", "嘉兴市", "秀洲区"), ("330421", "嘉兴市", "嘉善县"), ("330424", "嘉兴市", "海盐县"),
    ("330481", "嘉兴市", "海宁市"), ("330482", "嘉兴市", "平湖市"), ("330483", "嘉兴市", "桐乡市"),
    ("330502", "湖州市", "吴兴区"), ("330503", "湖州市", "南浔区"), ("330521", "湖州市", "德清县"),
    ("330522", "湖州市", "长兴县"), ("330523", "湖州市", "安吉县"), ("330602", "绍兴市", "越城区"),
    ("330603", "绍兴市", "柯桥区"), ("330604", "绍兴市", "上虞区"), ("330624", "绍兴市", "新昌县"),
    ("330681", "绍兴市", "诸暨市"), ("330683", "绍兴市", "嵊州市"), ("330702", "金华市", "婺城区"),
    ("330703", "金华市", "金东区"), ("330723", "金华市", "武义县"), ("330726", "金华市", "浦江县"),
    ("330781", "金华市", "兰溪市"), ("330782", "金华市", "义乌市"), ("330783", "金华市", "东阳市"),
    ("330784", "金华市", "永康市"), ("330802", "衢州市", "柯城区"), ("330803", "衢州市", "衢江区"),
    ("330822", "衢州市", "常山县"), ("330824", "衢州市", "开化县"), ("330825", "衢州市", "龙游县"),
    ("330881", "衢州市", "江山市"), ("330902", "舟山市", "定海区"), ("330903", "舟山市", "普陀区"),
    ("330921", "舟山市", "岱山县"), ("331002", "台州市", "椒江区"), ("331003", "台州市", "黄岩区"),
    ("331004", "台州市", "路桥区"), ("331023", "台州市", "天台县"), ("331081", "台州市", "温岭市"),
    ("331082", "台州市", "临海市"), ("331083", "台州市", "玉环市"), ("331102", "丽水市", "莲都区"),
    ("331121", "丽水市", "青田县"), ("331122", "丽水市", "缙云县"), ("331181", "丽水市", "龙泉市"),
]
OTHER_REGIONS = ["110101", "110105", "310101", "310115", "320102", "320506", "340102", "350102",
                 "360102", "370102", "410102", "420102", "430102", "440103", "440305", "510104",
                 "500103", "610102", "230102", "210102", "130102", "450102", "520102", "530102"]
STREETS = ["文三路", "天目山路", "学院路", "中山北路", "解放路", "人民路", "建设路", "江南大道", "钱江路",
           "凤起路", "延安路", "庆春路", "体育场路", "莫干山路", "古墩路", "文一西路", "滨盛路", "江陵路",
           "市心中路", "世纪大道", "鄞州大道", "中山东路", "人民东路", "车站大道", "新华路", "环城北路",
           "八一北街", "胜利西路", "青年路", "府前街", "丽水街", "学士路", "百花巷", "梅花碑弄"]
TOWNS = ["新塘", "瓜沥", "良渚", "塘栖", "东城", "城南", "临浦", "义桥", "店口", "横店", "安昌", "乌镇"]
AREA_CODES = ["0571", "0574", "0577", "0573", "0572", "0575", "0579", "0570", "0580", "0576",
              "0578", "010", "021", "025"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145",
                   "147", "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
                   "170", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
                   "185", "186", "187", "188", "189", "191", "193", "195", "196", "198", "199"]
CARD_BINS = [("622202", 19), ("621700", 19), ("622848", 19), ("621661", 19), ("622588", 16),
             ("622609", 16), ("436742", 16), ("955880", 19), ("622700", 19), ("625965", 16),
             ("524094", 16), ("356833", 16)]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com",
                 "aliyun.com", "hotmail.com", "zj.gov.cn", "hz.gov.cn", "outlook.com", "139.com"]
GIVEN_POOL = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁龙"
                  "林欣佳思雨晨阳梓涵子轩一诺欣怡浩然雅琪嘉睿博文佳豪晓辉建国志强海燕丽娟春梅秀兰国庆"
                  "婷琳瑶颖慧晶倩雪梦琪鑫磊鹏飞亮健勇毅峰杰斌超俊彦哲晗宸")
ETHNICITIES = ["汉族"] * 40 + ["畲族", "回族", "满族", "土家族", "苗族", "壮族"]
EDUCATION = ["小学", "初中", "高中", "中专", "大专", "本科", "硕士研究生", "博士研究生"]
MARITAL = ["未婚", "已婚", "离异", "丧偶"]
OCCUPATIONS = ["教师", "医生", "工人", "农民", "公务员", "个体经营", "自由职业", "工程师", "销售", "退休"]
INDUSTRIES = ["制造业", "批发和零售业", "信息传输、软件和信息技术服务业", "建筑业", "住宿和餐饮业",
              "交通运输、仓储和邮政业", "科学研究和技术服务业", "租赁和商务服务业", "农、林、牧、渔业"]
DISEASES = ["高血压", "2型糖尿病", "冠心病", "慢性胃炎", "支气管哮喘", "骨质疏松", "无", "抑郁症", "乙肝"]
COMPANY_WORDS = ["华信", "恒达", "中天", "新源", "远航", "海创", "银河", "东方", "金桥", "宏远", "博远", "正泰"]
COMPANY_KINDS = ["科技有限公司", "贸易有限公司", "建设工程有限公司", "网络科技有限公司", "食品有限公司",
                 "实业有限公司", "电子商务有限公司", "机械制造有限公司"]


def rng_of(seed: Rng) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# --- vectorized string helpers (pyarrow) --------------------------------------------------

def _fixed(matrix: np.ndarray) -> pa.Array:
    """(n, w) uint8 matrix of ASCII codes → string array of n fixed-width strings."""
    n, w = matrix.shape
    offsets = np.arange(0, n * w + 1, w, dtype=np.int32)
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _matrix(arr: pa.Array, width: int) -> np.ndarray:
    """Fixed-width ASCII string array → (n, width) uint8 matrix (copy)."""
    arr = pa.array(arr.to_pylist(), pa.string()) if arr.offset else arr
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[: len(arr) * width]
    return data.reshape(len(arr), width).copy()


def _digits(rng: np.random.Generator, n: int, width: int, first: str = "0123456789") -> pa.Array:
    m = rng.integers(0, 10, size=(n, width), dtype=np.uint8) + 48
    m[:, 0] = np.frombuffer(first.encode(), dtype=np.uint8)[rng.integers(0, len(first), n)]
    return _fixed(m)


def _take(rng: np.random.Generator, items, n: int, p=None) -> pa.Array:
    return pa.array(list(items), pa.string()).take(pa.array(rng.choice(len(items), size=n, p=p)))


_SMALL = pa.array([str(i) for i in range(10000)], pa.string())


def _small(values: np.ndarray) -> pa.Array:
    """Non-negative integers below 10000 → their decimal strings."""
    return _SMALL.take(pa.array(np.asarray(values, dtype=np.int64)))


def _cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*[p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(str(p))
                                         for p in parts], pa.scalar(""))


def _where(mask: np.ndarray, a, b) -> pa.Array:
    a = a if isinstance(a, pa.Array) else pa.scalar(str(a))
    b = b if isinstance(b, pa.Array) else pa.scalar(str(b))
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


# --- identifiers -------------------------------------------------------------------------

def birth_dates(n: int, seed: Rng = None, start: str = "1940-01-01", end: str = "2012-12-31") -> pa.Array:
    """ISO dates (YYYY-MM-DD) uniformly between start and end."""
    rng = rng_of(seed)
    lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = lo + rng.integers(0, int((hi - lo).astype(int)) + 1, size=n).astype("timedelta64[D]")
    year = days.astype("datetime64[Y]")
    month = days.astype("datetime64[M]")
    parts = (year.astype(int) + 1970, (month - year).astype(int) + 1, (days - month).astype(int) + 1)
    cols = []
    for value, width in zip(parts, (4, 2, 2)):
        for power in range(width - 1, -1, -1):
            cols.append((value // 10 ** power) % 10 + 48)
        cols.append(np.full(n, ord("-")))
    return _fixed(np.column_stack(cols[:-1]).astype(np.uint8))


def id_check_chars(body17: pa.Array) -> pa.Array:
    digits = _matrix(body17, 17).astype(np.int64) - 48
    return pa.array(list(ID_CHECK)).take(pa.array((digits @ np.asarray(ID_WEIGHTS)) % 11))


def resident_ids(n: int, seed: Rng = None, *, births: Optional[pa.Array] = None,
                 regions: Optional[pa.Array] = None, legacy: float = 0.0) -> pa.Array:
    """Valid resident ID numbers (85 % Zhejiang); a `legacy` fraction in the 15-digit form."""
    rng = rng_of(seed)
    if regions is None:
        zj = _take(rng, [r[0] for r in ZHEJIANG], n)
        regions = _where(rng.random(n) < 0.85, zj, _take(rng, OTHER_REGIONS, n))
    births = birth_dates(n, rng) if births is None else pa.array(births, pa.string())
    ymd = pc.replace_substring(births, "-", "")
    seq = _digits(rng, n, 3)
    body = _cat(regions, ymd, seq)
    full = _cat(body, id_check_chars(body))
    short = _cat(regions, pc.utf8_slice_codeunits(ymd, 2, 8), seq)
    return _where(rng.random(n) < legacy, short, full)


def credit_codes(n: int, seed: Rng = None) -> pa.Array:
    """Unified social credit codes with valid GB 32100 and GB 11714 check characters."""
    rng = rng_of(seed)
    dept = _take(rng, ["9", "9", "9", "9", "1", "5", "Y"], n)
    kind = _where(pc.equal(dept, "9").to_numpy(zero_copy_only=False),
                  _take(rng, ["1", "1", "1", "2", "3"], n), _take(rng, ["1", "2", "9"], n))
    alphabet = np.frombuffer((USCC_ALPHABET[:10] * 6 + USCC_ALPHABET[10:]).encode(), dtype=np.uint8)
    org = alphabet[rng.integers(0, len(alphabet), size=(n, 8))]
    values = np.where(org <= 57, org.astype(np.int64) - 48, org.astype(np.int64) - 55)
    check = 11 - (values @ np.asarray(ORG_WEIGHTS)) % 11
    check_char = np.where(check == 10, ord("X"), np.where(check == 11, 48, 48 + check)).astype(np.uint8)
    body = _cat(dept, kind, _take(rng, [r[0] for r in ZHEJIANG], n), _fixed(np.column_stack([org, check_char])))
    lookup = np.zeros(128, dtype=np.int64)
    lookup[np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)] = np.arange(31)
    total = lookup[_matrix(body, 17)] @ np.asarray(USCC_WEIGHTS)
    return _cat(body, pa.array(list(USCC_ALPHABET)).take(pa.array((31 - total % 31) % 31)))


def mobiles(n: int, seed: Rng = None) -> pa.Array:
    rng = rng_of(seed)
    return _cat(_take(rng, MOBILE_PREFIXES, n), _digits(rng, n, 8))


def landlines(n: int, seed: Rng = None) -> pa.Array:
    """Landlines with their area code: 0571-87654321."""
    rng = rng_of(seed)
    local = _where(rng.random(n) < 0.85, _digits(rng, n, 8, "2345678"), _digits(rng, n, 7, "2345678"))
    return _cat(_take(rng, AREA_CODES, n), "-", local)


def luhn_complete(body: pa.Array, width: int) -> pa.Array:
    """Append the Luhn check digit to digit strings of length `width`."""
    digits = _matrix(body, width).astype(np.int64) - 48
    prod = digits * np.where(np.arange(width)[::-1] % 2 == 0, 2, 1)
    total = (prod - 9 * (prod > 9)).sum(axis=1)
    return _cat(body, _small((10 - total % 10) % 10))


def bank_cards(n: int, seed: Rng = None) -> pa.Array:
    """UnionPay and international bank card numbers (16 or 19 digits, valid Luhn)."""
    rng = rng_of(seed)
    which = rng.integers(0, len(CARD_BINS), n)
    parts = []
    for i, (bin_, length) in enumerate(CARD_BINS):
        k = int((which == i).sum())
        parts.append(luhn_complete(_cat(bin_, _digits(rng, k, length - 7)), length - 1))
    return _scatter(which, parts)


def _scatter(group: np.ndarray, parts: list) -> pa.Array:
    """Rows of group g come, in order, from parts[g] (len(parts[g]) == (group == g).sum())."""
    order = np.argsort(group, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays([p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in parts]).take(
        pa.array(inverse))


def emails(n: int, seed: Rng = None) -> pa.Array:
    rng = rng_of(seed)
    letters = rng.integers(97, 123, size=(n, 9), dtype=np.uint8)
    letters[np.arange(9) >= rng.integers(4, 10, n)[:, None]] = ord("~")  # 4 to 9 letters
    local = pc.replace_substring(_fixed(letters), "~", "")
    has_tail = rng.random(n) < 0.5
    tail = _where(has_tail, _cat(_where(rng.random(n) < 0.3, ".", ""), _small(rng.integers(0, 10000, n))), "")
    return _cat(local, tail, "@", _take(rng, EMAIL_DOMAINS, n))


def passports(n: int, seed: Rng = None) -> pa.Array:
    rng = rng_of(seed)
    new = _cat("E", _take(rng, list("ABCDEFGHJKLMNPQRSTUVWXYZ"), n), _digits(rng, n, 7))
    old = _cat(_take(rng, ["E", "E", "G"], n), _digits(rng, n, 8))
    return _where(rng.random(n) < 0.4, new, old)


def hmt_permits(n: int, seed: Rng = None) -> pa.Array:
    """Permits for Hong Kong, Macau and Taiwan travel (往来港澳/台湾通行证, 回乡证)."""
    rng = rng_of(seed)
    return _cat(_take(rng, ["C", "C", "H", "M", "L"], n), _digits(rng, n, 8))


def plates(n: int, seed: Rng = None) -> pa.Array:
    rng = rng_of(seed)
    digits = rng.integers(48, 58, size=(n, 5), dtype=np.uint8)
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)[rng.integers(0, 24, size=(n, 5))]
    lettered = rng.random((n, 5)) < 0.2
    lettered[:, 2:] &= lettered[:, :3].sum(axis=1, keepdims=True) < 2  # at most two letters (GA 36)
    tail = _fixed(np.where(lettered, letters, digits))
    green = _cat(_take(rng, ["D", "F"], n), _take(rng, list("ABCDEFGHJK0123456789"), n), _digits(rng, n, 4))
    prov = _where(rng.random(n) < 0.9, "浙", _take(rng, list("沪苏皖赣闽京粤"), n))
    return _cat(prov, _take(rng, list("ABCDEFGHJKL"), n), _where(rng.random(n) < 0.2, green, tail))


def ips(n: int, seed: Rng = None) -> pa.Array:
    rng = rng_of(seed)
    o = rng.integers(1, 255, size=(n, 4))
    return _cat(_small(o[:, 0]), ".", _small(o[:, 1]), ".", _small(o[:, 2]), ".", _small(o[:, 3]))


@lru_cache(maxsize=1)
def _faker_names() -> tuple[list, np.ndarray, list]:
    from faker.providers.person.zh_CN import Provider

    weights = np.asarray(list(Provider.last_names.values()), dtype=float)
    return list(Provider.last_names.keys()), weights / weights.sum(), list(Provider.first_names)


def names(n: int, seed: Rng = None) -> pa.Array:
    """Chinese names: Faker zh_CN surnames (weighted) + given names from Faker and our pool."""
    rng = rng_of(seed)
    last, p, first = _faker_names()
    two = _cat(_take(rng, GIVEN_POOL, n), _take(rng, GIVEN_POOL, n))
    r = rng.random(n)
    given = _where(r < 0.4, _take(rng, first, n), _where(r < 0.85, two, _take(rng, GIVEN_POOL, n)))
    return _cat(_take(rng, last, n, p), given)


def addresses(n: int, seed: Rng = None, *, province: float = 0.5) -> pa.Array:
    """Zhejiang addresses: street + number, some with building/unit/room, some villages."""
    rng = rng_of(seed)
    idx = pa.array(rng.integers(0, len(ZHEJIANG), n))
    city = pa.array([r[1] for r in ZHEJIANG]).take(idx)
    district = pa.array([r[2] for r in ZHEJIANG]).take(idx)
    street = _cat(_take(rng, STREETS, n), _small(rng.integers(1, 999, n)), "号")
    room = _cat(_small(rng.integers(1, 30, n)), "幢", _small(rng.integers(1, 6, n)), "单元",
                _small(rng.integers(101, 2899, n)), "室")
    village = _cat(_take(rng, TOWNS, n), "镇", _take(rng, ["前进", "联丰", "长青", "东方", "红星"], n), "村",
                   _small(rng.integers(1, 15, n)), "组", _small(rng.integers(1, 99, n)), "号")
    r = rng.random(n)
    tail = _where(r < 0.5, street, _where(r < 0.85, _cat(street, room), village))
    return _cat(_where(rng.random(n) < province, "浙江省", ""), city, district, tail)


def company_names(n: int, seed: Rng = None) -> pa.Array:
    rng = rng_of(seed)
    city = pa.array(sorted({r[1][:-1] for r in ZHEJIANG})).take(pa.array(rng.integers(0, 11, n)))
    return _cat(city, _take(rng, COMPANY_WORDS, n), _take(rng, COMPANY_WORDS, n), _take(rng, COMPANY_KINDS, n))


def district_of(addrs: pa.Array) -> pa.Array:
    """The province/city/district prefix of an address (what `generalize to: district` keeps)."""
    return pc.extract_regex(addrs, r"^(?P<d>(?:[^省]{2,7}省)?(?:[^市]{1,7}市)?[^区县市]{1,7}[区县市])").field("d")


# --- messy formatting -------------------------------------------------------------------

_FULL = dict(zip("0123456789Xx-", "０１２３４５６７８９Ｘｘ－"))
_GROUPS = {Entity.RESIDENT_ID: (6, 14), Entity.MOBILE: (3, 7), Entity.BANK_CARD: (4, 8, 12, 16),
           Entity.CREDIT_CODE: (2, 8, 17), Entity.LANDLINE: ()}
_LOWERABLE = (Entity.RESIDENT_ID, Entity.CREDIT_CODE, Entity.PASSPORT, Entity.PLATE, Entity.HMT_PERMIT)


def messy(values, entity: Optional[Entity] = None, seed: Rng = None, rate: float = 0.3) -> pa.Array:
    """Re-type a `rate` fraction of values as real files do: full-width, grouped with spaces
    or dashes, +86/0086 prefixes or lowercase letters, padded with (ideographic) spaces."""
    rng = rng_of(seed)
    values = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    n = len(values)
    kind = np.where(rng.random(n) < rate, rng.integers(0, 4, n), -1) + 1
    fns = (None, _fullwidth, _grouped, _prefixed, _padded)
    parts = []
    for k, fn in enumerate(fns):
        subset = values.filter(pa.array(kind == k))
        parts.append(subset if fn is None or not len(subset) else fn(subset, entity, rng))
    return _scatter(kind, parts)


def _fullwidth(values: pa.Array, entity, rng) -> pa.Array:
    for half, full in _FULL.items():
        values = pc.replace_substring(values, half, full)
    return values


def _grouped(values: pa.Array, entity, rng) -> pa.Array:
    cuts = _GROUPS.get(entity)
    if cuts is None:
        return values
    if not cuts:  # landline: the dash becomes a space or disappears
        return pc.replace_substring(values, "-", " " if rng.random() < 0.5 else "")
    sep = _where(rng.random(len(values)) < 0.6, " ", "-")
    bounds = (0,) + cuts + (64,)
    pieces = [pc.utf8_slice_codeunits(values, a, b) for a, b in zip(bounds, bounds[1:])]
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = _cat(joined, sep, piece)
    return pc.utf8_rtrim(joined, characters=" -")


def _prefixed(values: pa.Array, entity, rng) -> pa.Array:
    if entity == Entity.MOBILE:
        return _cat(_take(rng, ["+86 ", "+86", "0086-", "86-", "+86-"], len(values)), values)
    if entity == Entity.EMAIL:
        return pc.utf8_upper(values)
    return pc.utf8_lower(values) if entity in _LOWERABLE else values


def _padded(values: pa.Array, entity, rng) -> pa.Array:
    return _cat(_where(rng.random(len(values)) < 0.5, " ", "\u3000"), values, " ")


GENERATORS = {
    Entity.RESIDENT_ID: resident_ids, Entity.CREDIT_CODE: credit_codes, Entity.MOBILE: mobiles,
    Entity.LANDLINE: landlines, Entity.BANK_CARD: bank_cards, Entity.EMAIL: emails,
    Entity.PASSPORT: passports, Entity.HMT_PERMIT: hmt_permits, Entity.PLATE: plates,
    Entity.IP_ADDRESS: ips, Entity.PERSON_NAME: names, Entity.ADDRESS: addresses,
}


def values(entity: Entity, n: int, seed: Rng = None, *, messy_rate: float = 0.0) -> pa.Array:
    """n values of one entity, a `messy_rate` fraction re-typed."""
    rng = rng_of(seed)
    clean = GENERATORS[entity](n, rng)
    return messy(clean, entity, rng, messy_rate) if messy_rate else clean


# --- free text (备注) with identifiers embedded -------------------------------------------

E = Entity
REMARK_TEMPLATES: list[tuple] = [
    ("联系人", E.PERSON_NAME, "，电话", E.MOBILE, "，已电话回访。"),
    ("申请人", E.PERSON_NAME, "（身份证号：", E.RESIDENT_ID, "）提交材料齐全。"),
    ("", E.PERSON_NAME, "先生来电咨询社保转移事宜，回电", E.MOBILE),
    ("法定代表人：", E.PERSON_NAME, "；统一社会信用代码", E.CREDIT_CODE),
    ("住址", E.ADDRESS, "，固定电话", E.LANDLINE),
    ("退款已转入银行卡", E.BANK_CARD, "，户名", E.PERSON_NAME),
    ("请将回执发送至邮箱", E.EMAIL, "，谢谢"),
    ("车辆", E.PLATE, "于路口违停，车主", E.PERSON_NAME, "已告知"),
    ("持护照", E.PASSPORT, "入境，", E.PERSON_NAME, "女士陪同"),
    ("往来港澳通行证", E.HMT_PERMIT, "已核验"),
    ("登录IP：", E.IP_ADDRESS, "，账号异常已冻结"),
    ("户主", E.PERSON_NAME, "，家庭住址：", E.ADDRESS, "，身份证", E.RESIDENT_ID),
    ("经办人", E.PERSON_NAME, " 手机", E.MOBILE, " 邮箱", E.EMAIL),
    ("", E.RESIDENT_ID, "核验通过，", E.MOBILE, "已登记"),
    ("已办结，无异常。",),
    ("材料待补充，下周复核。",),
]


@dataclass(frozen=True)
class Remarks:
    """Free texts and the identifiers embedded in them (row, entity, value as typed)."""

    texts: pa.Array
    embedded: pa.Table  # columns: row (int64), entity (str), value (str)


def remarks(n: int, seed: Rng = None, *, messy_rate: float = 0.3, null_rate: float = 0.0) -> Remarks:
    """Remarks (备注) with identifiers embedded, deterministic by seed."""
    rng = rng_of(seed)
    which = rng.integers(0, len(REMARK_TEMPLATES), n)
    texts, rows, ents, vals = [], [], [], []
    for t, template in enumerate(REMARK_TEMPLATES):
        idx = np.nonzero(which == t)[0]
        pieces = []
        for part in template:
            if isinstance(part, Entity):
                v = values(part, len(idx), rng, messy_rate=messy_rate)
                pieces.append(v)
                rows.append(idx)
                ents.append(np.full(len(idx), part.value, dtype=object))
                vals.append(v)
            else:
                pieces.append(part)
        if any(isinstance(p, pa.Array) for p in pieces):
            texts.append(_cat(*pieces))
        else:
            texts.append(pa.array(["".join(pieces)] * len(idx), pa.string()))
    text = _scatter(which, texts)
    if null_rate:
        text = _where(rng.random(n) < null_rate, pa.nulls(n, pa.string()), text)
    embedded = pa.table({"row": pa.array(np.concatenate(rows) if rows else [], pa.int64()),
                         "entity": pa.array(np.concatenate(ents) if ents else [], pa.string()),
                         "value": pa.concat_arrays(vals) if vals else pa.array([], pa.string())})
    if null_rate:
        keep = pc.invert(pc.is_null(text.take(embedded["row"])))
        embedded = embedded.filter(keep)
    return Remarks(text, embedded.sort_by("row"))


# --- labelled tables ------------------------------------------------------------------------

Label = tuple[ColumnClass, Optional[Entity]]
D, Q, S, O = (ColumnClass.DIRECT_IDENTIFIER, ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE,
              ColumnClass.OTHER)


@dataclass(frozen=True)
class Labelled:
    """A synthetic table, the class and entity of each column, and embedded identifiers."""

    table: pa.Table
    labels: dict[str, Label]
    embedded: dict[str, pa.Table]  # free-text column → (row, entity, value)


def people(n: int, seed: Rng = None, *, messy_rate: float = 0.05, remark_nulls: float = 0.5) -> Labelled:
    """A population register (人口基础信息) keyed by resident ID numbers."""
    rng = rng_of(seed)
    births = birth_dates(n, rng)
    ids = resident_ids(n, rng, births=births)
    sex = _where(pc.equal(pc.bit_wise_and(pc.cast(pc.utf8_slice_codeunits(ids, 16, 17), pa.int64()), 1), 1)
                 .to_numpy(zero_copy_only=False), "男", "女")
    note = remarks(n, rng, messy_rate=0.3, null_rate=remark_nulls)
    income = np.round(rng.lognormal(8.7, 0.5, n), 2)
    cols = {
        "姓名": (names(n, rng), (D, E.PERSON_NAME)),
        "性别": (sex, (Q, E.GENDER)),
        "出生日期": (births, (Q, E.BIRTH_DATE)),
        "身份证号": (messy(ids, E.RESIDENT_ID, rng, messy_rate), (D, E.RESIDENT_ID)),
        "手机号码": (values(E.MOBILE, n, rng, messy_rate=messy_rate), (D, E.MOBILE)),
        "民族": (_take(rng, ETHNICITIES, n), (Q, E.ETHNICITY)),
        "学历": (_take(rng, EDUCATION, n), (Q, E.EDUCATION)),
        "婚姻状况": (_take(rng, MARITAL, n), (Q, E.MARITAL_STATUS)),
        "职业": (_take(rng, OCCUPATIONS, n), (Q, E.OCCUPATION)),
        "户籍地址": (addresses(n, rng), (D, E.ADDRESS)),
        "月收入": (pa.array(income), (S, E.INCOME)),
        "备注": (note.texts, (D, E.FREE_TEXT)),
    }
    return _labelled(cols, {"备注": note.embedded})


def enterprises(n: int, seed: Rng = None, *, messy_rate: float = 0.05) -> Labelled:
    """An enterprise register (企业登记信息) keyed by unified social credit codes."""
    rng = rng_of(seed)
    phone = _where(rng.random(n) < 0.6, mobiles(n, rng), landlines(n, rng))
    cols = {
        "企业名称": (company_names(n, rng), (Q, E.ORGANIZATION)),
        "统一社会信用代码": (messy(credit_codes(n, rng), E.CREDIT_CODE, rng, messy_rate), (D, E.CREDIT_CODE)),
        "法定代表人": (names(n, rng), (D, E.PERSON_NAME)),
        "联系电话": (phone, (D, E.MOBILE)),
        "注册地址": (addresses(n, rng), (D, E.ADDRESS)),
        "注册资本（万元）": (pa.array(np.round(rng.lognormal(5, 1.2, n), 1)), (O, None)),
        "成立日期": (birth_dates(n, rng, "1990-01-01", "2024-12-31"), (O, None)),
        "行业": (_take(rng, INDUSTRIES, n), (O, None)),
        "经营状态": (_take(rng, ["存续", "在业", "注销", "吊销"], n), (O, None)),
        "电子邮箱": (values(E.EMAIL, n, rng, messy_rate=messy_rate), (D, E.EMAIL)),
    }
    return _labelled(cols, {})


def bench_table(n: int, seed: Rng = None) -> Labelled:
    """The 8-column table of the benchmarks: names, ID numbers, mobiles, birth dates, sex,
    addresses, income and remarks (half empty) — 10 % of identifiers messy."""
    full = people(n, seed, messy_rate=0.1, remark_nulls=0.5)
    keep = ["姓名", "身份证号", "手机号码", "出生日期", "性别", "户籍地址", "月收入", "备注"]
    return Labelled(full.table.select(keep), {k: full.labels[k] for k in keep}, full.embedded)


def mixed_public(n: int, seed: Rng = None, *, messy_rate: float = 0.05) -> Labelled:
    """A 30-column mixed public table: Chinese, pinyin, English and opaque column names,
    identifiers of every kind, quasi-identifiers, sensitive attributes and look-alike decoys."""
    rng = rng_of(seed)
    births = birth_dates(n, rng)
    note = remarks(n, rng, messy_rate=0.3, null_rate=0.3)
    decoy18 = _cat(_digits(rng, n, 17, "123456789"), _digits(rng, n, 1))  # ID-shaped order numbers
    cols = {
        "xm": (names(n, rng), (D, E.PERSON_NAME)),
        "sfzh": (values(E.RESIDENT_ID, n, rng, messy_rate=messy_rate), (D, E.RESIDENT_ID)),
        "lxdh": (values(E.MOBILE, n, rng, messy_rate=messy_rate), (D, E.MOBILE)),
        "办公电话": (values(E.LANDLINE, n, rng, messy_rate=messy_rate), (D, E.LANDLINE)),
        "bank_account": (values(E.BANK_CARD, n, rng, messy_rate=messy_rate), (D, E.BANK_CARD)),
        "email": (values(E.EMAIL, n, rng, messy_rate=messy_rate), (D, E.EMAIL)),
        "护照号码": (values(E.PASSPORT, n, rng, messy_rate=messy_rate), (D, E.PASSPORT)),
        "通行证号": (values(E.HMT_PERMIT, n, rng, messy_rate=messy_rate), (D, E.HMT_PERMIT)),
        "plate_no": (values(E.PLATE, n, rng, messy_rate=messy_rate), (D, E.PLATE)),
        "client_ip": (values(E.IP_ADDRESS, n, rng, messy_rate=messy_rate), (D, E.IP_ADDRESS)),
        "现住址": (addresses(n, rng), (D, E.ADDRESS)),
        "tyshxydm": (values(E.CREDIT_CODE, n, rng, messy_rate=messy_rate), (D, E.CREDIT_CODE)),
        "c07": (values(E.RESIDENT_ID, n, rng, messy_rate=messy_rate), (D, E.RESIDENT_ID)),
        "字段12": (values(E.MOBILE, n, rng, messy_rate=messy_rate), (D, E.MOBILE)),
        "col_x": (names(n, rng), (D, E.PERSON_NAME)),
        "备注": (note.texts, (D, E.FREE_TEXT)),
        "csrq": (births, (Q, E.BIRTH_DATE)),
        "gender": (_take(rng, ["男", "女"], n), (Q, E.GENDER)),
        "年龄": (pa.array(rng.integers(18, 90, n)), (Q, E.AGE)),
        "民族": (_take(rng, ETHNICITIES, n), (Q, E.ETHNICITY)),
        "邮政编码": (_cat("3", _take(rng, list("1234"), n), _digits(rng, n, 4)), (Q, E.POSTCODE)),
        "学历": (_take(rng, EDUCATION, n), (Q, E.EDUCATION)),
        "疾病诊断": (_take(rng, DISEASES, n), (S, E.HEALTH)),
        "月收入": (pa.array(np.round(rng.lognormal(8.7, 0.5, n), 2)), (S, E.INCOME)),
        "订单编号": (decoy18, (O, None)),
        "交易金额": (pa.array(np.round(rng.lognormal(5, 1, n), 2)), (O, None)),
        "办理日期": (birth_dates(n, rng, "2020-01-01", "2024-12-31"), (O, None)),
        "业务状态": (_take(rng, ["已受理", "办理中", "已办结", "退回"], n), (O, None)),
        "所属行业": (_take(rng, INDUSTRIES, n), (O, None)),
        "数量": (pa.array(rng.integers(0, 500, n)), (O, None)),
    }
    return _labelled(cols, {"备注": note.embedded})


def _labelled(cols: dict, embedded: dict) -> Labelled:
    table = pa.table({k: v[0] for k, v in cols.items()})
    return Labelled(table, {k: v[1] for k, v in cols.items()}, embedded)


# --- writing files ----------------------------------------------------------------------------

TABLES = {"people": people, "enterprises": enterprises, "mixed": mixed_public, "bench": bench_table}
CHUNK = 500_000


def chunks(kind: str, rows: int, seed: int = 0):
    """Labelled tables of at most CHUNK rows that together make `rows` rows (deterministic)."""
    make = TABLES[kind]
    for i, start in enumerate(range(0, rows, CHUNK)):
        yield make(min(CHUNK, rows - start), np.random.default_rng([seed, i]))


def write_table(kind: str, rows: int, dest, *, seed: int = 0, encoding: str = "utf-8",
                row_group_size: int = 131_072) -> None:
    """Write a synthetic table as Parquet or CSV (utf-8, utf-8-sig or gbk), chunk by chunk."""
    import io as _io
    import os
    from pathlib import Path

    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp")
    writer = None
    try:
        with open(tmp, "wb") as fh:
            for i, part in enumerate(chunks(kind, rows, seed)):
                if dest.suffix == ".parquet":
                    writer = writer or pq.ParquetWriter(fh, part.table.schema, compression="zstd")
                    writer.write_table(part.table, row_group_size=row_group_size)
                else:
                    buf = _io.BytesIO()
                    pcsv.write_csv(part.table, buf, pcsv.WriteOptions(include_header=i == 0))
                    text = buf.getvalue().decode("utf-8")
                    if i == 0 and encoding == "utf-8-sig":
                        text = "\ufeff" + text
                    fh.write(text.encode("gb18030" if encoding.lower() in ("gbk", "gb18030") else "utf-8"))
            if writer is not None:
                writer.close()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
