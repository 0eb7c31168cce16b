"""Column-name cues: what a column's name says it holds (Chinese, pinyin initials, English).

Rules are tried in order, the first match wins, so the more specific come first:
"法定代表人身份证号" is an ID number, "法定代表人" a name, "联系电话" a phone number and
"联系人" a name. Pinyin initials (sfzh, xm, lxdh…) must be a whole token of the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .entities import ENTITY_INFO, ColumnClass, Entity

E = Entity


@dataclass(frozen=True)
class Cue:
    entity: Entity
    column_class: ColumnClass
    matched: str  # the rule that matched (for the evidence line)


# (entity, Chinese/English substrings, pinyin-initial whole tokens)
RULES: list[tuple[Entity, tuple[str, ...], tuple[str, ...]]] = [
    (E.RESIDENT_ID, ("身份证", "证件号", "身份号码", "公民身份", "idcard", "id_card", "idno", "id_no", "cert_no",
                     "identity"), ("sfz", "sfzh", "sfzhm", "zjhm", "gmsfhm", "zjh")),
    (E.CREDIT_CODE, ("信用代码", "社会信用", "uscc", "credit_code", "creditcode", "组织机构代码"), ("tyshxydm", "xydm")),
    (E.BANK_CARD, ("银行卡", "银行账号", "卡号", "账号", "bank", "card_no", "cardno", "account"), ("yhkh", "kh", "zh")),
    (E.PASSPORT, ("护照", "passport"), ("hzhm", "hz")),
    (E.HMT_PERMIT, ("通行证", "回乡证", "台胞证", "permit"), ("txz",)),
    (E.PLATE, ("车牌", "号牌", "plate"), ("cph", "hphm")),
    (E.EMAIL, ("邮箱", "电子邮件", "email", "e_mail", "mail"), ("yx", "dzyx")),
    (E.IP_ADDRESS, ("ip地址", "ip_addr", "ipaddr", "client_ip", "登录ip", "来源ip"), ("ip",)),
    (E.LANDLINE, ("固话", "固定电话", "座机", "办公电话", "传真", "landline", "fax"), ("gddh", "bgdh")),
    (E.MOBILE, ("手机", "电话", "联系方式", "mobile", "phone", "tel", "cellphone"), ("sjhm", "lxdh", "sj", "dh", "sjh")),
    (E.POSTCODE, ("邮编", "邮政编码", "postcode", "zipcode", "zip_code", "postal"), ("yb", "yzbm")),
    (E.ADDRESS, ("地址", "住址", "住所", "居住地", "户籍地", "address", "addr"), ("dz", "zz", "jzdz", "hjdz")),
    (E.BIRTH_DATE, ("出生", "生日", "birth", "dob"), ("csrq", "csny")),
    (E.ORGANIZATION, ("企业名称", "单位名称", "公司名称", "机构名称", "工作单位", "所在单位", "company", "enterprise",
                      "employer", "org_name"), ("dwmc", "qymc", "gzdw")),
    (E.PERSON_NAME, ("姓名", "名字", "联系人", "法定代表人", "法人代表", "负责人", "户主", "申请人", "经办人", "持卡人",
                     "户名", "name", "person"), ("xm", "lxr", "fddbr", "fzr")),
    (E.FREE_TEXT, ("备注", "说明", "描述", "情况", "内容", "意见", "摘要", "详情", "remark", "note", "memo", "comment",
                   "desc", "detail"), ("bz", "sm", "ms", "nr")),
    (E.GENDER, ("性别", "gender", "sex"), ("xb",)),
    (E.AGE, ("年龄", "岁数", "age"), ("nl",)),
    (E.ETHNICITY, ("民族", "ethnic", "nation"), ("mz",)),
    (E.EDUCATION, ("学历", "文化程度", "education", "degree"), ("xl", "whcd")),
    (E.MARITAL_STATUS, ("婚姻", "marital", "marriage"), ("hyzk",)),
    (E.OCCUPATION, ("职业", "职务", "岗位", "occupation", "job", "profession"), ("zy",)),
    (E.REGION, ("籍贯", "区划", "行政区", "所属地区", "region", "district"), ("jg", "xzqh")),
    (E.INCOME, ("收入", "工资", "薪", "income", "salary", "wage"), ("sr", "gz")),
    (E.HEALTH, ("疾病", "诊断", "病史", "病情", "健康", "医疗", "残疾", "diagnosis", "disease", "health", "medical"),
     ("jb", "zd")),
    (E.FINANCIAL, ("存款", "余额", "负债", "贷款", "欠款", "欠税", "资产", "balance", "debt", "loan"), ("ye", "ck")),
    (E.RELIGION, ("宗教", "信仰", "religion"), ("zj",)),
    (E.POLITICAL, ("政治面貌", "党派", "political"), ("zzmm",)),
    (E.CRIMINAL, ("犯罪", "违法", "前科", "处罚", "刑", "criminal", "offence"), ("fz",)),
]

_TOKEN = re.compile(r"[a-z0-9]+")


def _word_in(word: str, compact: str, tokens: set) -> bool:
    """Chinese words and English words of 5+ letters match inside the name; shorter English
    words (tel, age, name…) only as a whole token, so "hotel" is not a phone column."""
    plain = word.replace("_", "")
    if not word.isascii() or len(plain) >= 5:
        return plain in compact
    return plain in tokens


def cue_for(column: str) -> Optional[Cue]:
    """The cue of a column name, or None."""
    raw = str(column).strip()
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", raw).lower()  # camelCase → camel_case
    compact = re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", name)
    tokens = set(_TOKEN.findall(name))
    for entity, words, initials in RULES:
        for word in words:
            if _word_in(word, compact, tokens):
                return Cue(entity, ENTITY_INFO[entity].column_class, word)
        for initial in initials:
            if initial in tokens:
                return Cue(entity, ENTITY_INFO[entity].column_class, initial)
    return None
