"""Patterns for identifiers embedded in text, shared by the Presidio recognizers and DuckDB.

Every pattern is written once, in the syntax common to RE2 (DuckDB) and Python's `regex`
(Presidio), over *half-width* text (`normalize.halfwidth`: one character for one character,
so offsets do not move). A pattern is a body, with separators allowed where people put them
(`330106 19900101 1234`, `138-1234-5678`, `6222 0212 3456 7890 123`); candidates are then
normalized and validated (check digits, dates) before they count as findings.

- Presidio wraps a body in look-arounds: `(?<![0-9A-Za-z])BODY(?![0-9A-Za-z])`.
- DuckDB has no look-arounds: `(?:^|[^0-9A-Za-z])(BODY[0-9A-Za-z]?)` extracts the body and
  at most one following character, so a candidate glued to more digits fails validation
  without eating the left boundary of the next identifier.
- Names are found after cue words (联系人, 法定代表人, 户名…) or before polite forms (先生, 女士);
  addresses by their province/city/district + street + number structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .checks import PLATE_PROVINCES, surnames
from .entities import Entity

S = r"[ \-]?"  # one optional separator inside a number
NAME_CUES = ("姓名", "联系人", "法定代表人", "法人代表", "负责人", "户主", "户名", "申请人", "经办人", "车主",
             "患者", "当事人", "被保险人", "投保人", "收件人", "收货人", "监护人", "配偶", "持卡人", "开户人",
             "驾驶人", "委托人", "代理人", "业主", "租户", "承租人", "借款人", "担保人", "学生", "家长")
NAME_POST_CUES = ("先生", "女士", "同志", "老师", "师傅", "阿姨", "小姐")
ADDRESS_START = "住址在于至到为是的家庭户籍现居地通讯"  # cue characters an address does not start with
BIRTH_CUES = ("出生日期", "出生年月", "出生于", "生日", "出生")


@dataclass(frozen=True)
class TextPattern:
    """One way an entity appears in text."""

    entity: Entity
    name: str
    body: str  # the identifier itself (with cue words, a capture group marks the identifier)
    bounded: bool = True  # needs non-alphanumeric neighbours
    cue: str = ""  # text before the identifier that must be present (not part of the finding)
    post: str = ""  # text after it that must be present (not part of the finding)
    score: float = 0.5  # Presidio base score before validation and context
    presidio_only: bool = False  # weak alone: only with context (Presidio), never in bulk scans


def _name_body() -> str:
    compound = [s for s in surnames() if len(s) == 2]
    single = "".join(s for s in surnames() if len(s) == 1)
    return f"(?:{'|'.join(compound)}|[{single}])" + r"\p{Han}{1,2}"


def _alt(words) -> str:
    return "(?:" + "|".join(words) + ")"


@lru_cache(maxsize=1)
def text_patterns() -> tuple[TextPattern, ...]:
    """All text patterns, in priority order (a validated ID number wins an overlap)."""
    date = r"[12][0-9]{3}[-/.年][01]?[0-9][-/.月][0-3]?[0-9]日?"
    admin = f"[^{ADDRESS_START}\\P{{Han}}]" + r"\p{Han}{1,6}?"
    return (
        TextPattern(Entity.PSEUDONYM, "pseudonym", "[Pp][Ss]_[0-9A-Fa-f]{32}", score=0.9),
        TextPattern(Entity.RESIDENT_ID, "id", f"[1-9][0-9]{{5}}{S}(?:[0-9]{{8}}{S}[0-9]{{3}}[0-9Xx]|[0-9]{{6}}{S}[0-9]{{3}})"),
        TextPattern(Entity.CREDIT_CODE, "uscc",
                    f"[1-9ANYany][1-9]{S}[0-9]{{6}}{S}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{{9}}{S}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"),
        TextPattern(Entity.BANK_CARD, "card", f"[345692][0-9]{{3}}{S}[0-9]{{4}}{S}[0-9]{{4}}{S}[0-9]{{1,4}}(?:{S}[0-9]{{1,3}})?"),
        TextPattern(Entity.MOBILE, "mobile", f"(?:(?:\\+|00)?86{S})?1[3-9][0-9]{S}[0-9]{{4}}{S}[0-9]{{4}}"),
        TextPattern(Entity.LANDLINE, "landline",
                    f"(?:(?:\\+86|0086){S}[1-9][0-9]{{1,2}}|\\(0[1-9][0-9]{{1,2}}\\)|0[1-9][0-9]{{1,2}}){S}[2-9][0-9]{{6,7}}"),
        TextPattern(Entity.PASSPORT, "passport", "(?:[EeGgDdSsPp][0-9]{8}|[Ee][A-Za-z][0-9]{7})"),
        TextPattern(Entity.HMT_PERMIT, "permit", "(?:[Cc][0-9]{8}|[Cc][A-Za-z][0-9]{7}|[HhMm][0-9]{8}(?:[0-9]{2})?|[Ll][0-9]{8})"),
        TextPattern(Entity.EMAIL, "email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}",
                    score=0.8),
        TextPattern(Entity.IP_ADDRESS, "ipv4", r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
        TextPattern(Entity.PLATE, "plate", f"[{PLATE_PROVINCES}][ ·]?[A-Za-z][ ·\\-]?[A-Za-z0-9]{{5,6}}"),
        TextPattern(Entity.PERSON_NAME, "name_after_cue", _name_body(), bounded=False,
                    cue=_alt(NAME_CUES) + r"(?:[:：]|是|为)?\s?", score=0.6),
        TextPattern(Entity.PERSON_NAME, "name_before_title", _name_body(), bounded=False,
                    post=r"\s?" + _alt(NAME_POST_CUES), score=0.6),
        TextPattern(Entity.ADDRESS, "address",
                    f"(?:{admin}(?:省|自治区))?(?:{admin}市)?{admin}(?:区|县|市|旗)"
                    r"[\p{Han}0-9]{0,20}?(?:路|街|大道|道|巷|弄|村|组|胡同)[0-9]+(?:号|弄)"
                    r"(?:[0-9]+(?:幢|栋|号楼))?(?:[0-9]+单元)?(?:[0-9]+室)?", bounded=False, score=0.6),
        TextPattern(Entity.BIRTH_DATE, "birth_date_after_cue", date, bounded=False,
                    cue=_alt(BIRTH_CUES) + r"[:：]?\s?", score=0.6),
        # a value that is only a name or only a date: weak unless the context (a column name
        # such as 姓名 or 出生日期, given as Presidio request context) says what it is
        TextPattern(Entity.PERSON_NAME, "name_alone", _name_body(), bounded=False, score=WEAK, presidio_only=True),
        TextPattern(Entity.BIRTH_DATE, "date_alone", r"[12][0-9]{3}[-/.年]?[01]?[0-9][-/.月]?[0-3]?[0-9]日?",
                    score=WEAK, presidio_only=True),
    )


WEAK = 0.3


def presidio_regex(p: TextPattern) -> str:
    """Python `regex` pattern whose whole match is the identifier (look-arounds for context)."""
    body = f"(?<![0-9A-Za-z]){p.body}(?![0-9A-Za-z])" if p.bounded else p.body
    if p.presidio_only:  # the whole value (between separators), not part of a word
        body = f"(?<![\\p{{Han}}0-9A-Za-z]){body}(?![\\p{{Han}}0-9A-Za-z])"
    if p.cue:  # \K: the cue must match but is not part of the finding (faster than a look-behind)
        body = f"(?:{p.cue})\\K{body}"
    if p.post:
        body = f"{body}(?={p.post})"
    return body


def sql_extract_regex(p: TextPattern) -> str:
    """RE2 pattern whose group 1 is a candidate for the identifier (see module docstring)."""
    if p.bounded:
        return f"(?:^|[^0-9A-Za-z])({p.body}[0-9A-Za-z]?)"
    return f"{p.cue}({p.body}){p.post}"


def sql_scrub_regex(p: TextPattern) -> tuple[str, str]:
    """RE2 pattern and replacement template that replace the identifier with a tag, keeping
    the cue words around it. Validation is skipped: scrubbing errs on the side of removal."""
    return f"({p.cue})(?:{p.body})({p.post})", "\\1{tag}\\2"


# --- scrubbing (apply on free text): few, fast passes ---------------------------------------

@lru_cache(maxsize=1)
def scrub_passes() -> tuple[tuple[str, str, str], ...]:
    """(prefilter, pattern, replacement) passes over free text, in order.

    Scrubbing errs on the side of removal and must be fast (it runs on every row), so the
    patterns are simpler than the detection patterns and do no check-digit validation:
    any run of six or more digits/letters with at most single separators, any e-mail, IP,
    plate, date, address or name after a cue word is replaced. Each pass runs only on rows
    its prefilter matches. Full-width characters are matched as they are (no translation).
    """
    d, a, lt = "[0-9０-９]", "[0-9０-９A-Za-zＡ-Ｚａ-ｚ]", "[A-Za-zＡ-Ｚａ-ｚ]"
    sep = "[ \\-－\u3000]?"
    han = "[一-龥]"
    email = "[A-Za-z0-9._%+\\-Ａ-Ｚａ-ｚ０-９．＿]+[@＠][A-Za-z0-9.\\-Ａ-Ｚａ-ｚ０-９．]+"
    number = "|".join([
        f"{d}{{1,3}}(?:[.．]{d}{{1,3}}){{3}}",  # IPv4
        f"[{PLATE_PROVINCES}][ ·]?{lt}[ ·\\-]?{a}{{5,6}}",  # plate
        f"{d}{{4}}年{d}{{1,2}}月{d}{{1,2}}日",  # date in words
        f"{lt}{{0,2}}{d}(?:{sep}{a}){{5,}}",  # ID, credit code, phone, card, passport, permit…
    ])
    address = (f"(?:{han}{{2,7}}?(?:省|自治区))?(?:{han}{{1,7}}?市)?{han}{{1,7}}?(?:区|县|市|旗)"
               f"[一-龥0-9０-９]{{0,20}}?(?:路|街|大道|道|巷|弄|村|组|胡同){d}+(?:号|弄)"
               f"(?:{d}+(?:幢|栋|号楼))?(?:{d}+单元)?(?:{d}+室)?")
    cues, posts = "|".join(NAME_CUES), "|".join(NAME_POST_CUES)
    return (
        ("[@＠]", email, "〔邮箱〕"),
        ("[号弄]", address, "〔地址〕"),
        (f"{d}", number, "〔号码〕"),
        (cues, f"({cues})([:：]?[\\s\u3000]{{0,2}}(?:是|为)?[\\s\u3000]{{0,2}}){han}{{2,3}}", "\\1\\2〔姓名〕"),
        (posts, f"{han}{{2,3}}([\\s\u3000]{{0,2}}(?:{posts}))", "〔姓名〕\\1"),
    )
