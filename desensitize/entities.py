"""What a column or a value can be: entities, column classes and grades.

`Entity` names what a value is (a resident ID number, a mobile number, a gender…). Entities
that identify a person or an organisation on their own are detected by recognizers (one per
file under `recognizers/`) and by the vectorized detector; the others (gender, income…) are
known from column-name cues only.

`ColumnClass` is what a column is for privacy: direct identifier, quasi-identifier, sensitive
attribute or other. `Grade` (L1–L4) follows from the classes of a dataset's columns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable


class ColumnClass(str, enum.Enum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    OTHER = "other"


class Entity(str, enum.Enum):
    # detected by recognizers (identifiers)
    RESIDENT_ID = "CN_RESIDENT_ID"
    CREDIT_CODE = "CN_CREDIT_CODE"
    MOBILE = "CN_MOBILE"
    LANDLINE = "CN_LANDLINE"
    BANK_CARD = "CN_BANK_CARD"
    EMAIL = "EMAIL_ADDRESS"
    PASSPORT = "CN_PASSPORT"
    HMT_PERMIT = "CN_HMT_PERMIT"
    PLATE = "CN_LICENSE_PLATE"
    IP_ADDRESS = "IP_ADDRESS"
    BIRTH_DATE = "DATE_OF_BIRTH"
    PERSON_NAME = "CN_PERSON_NAME"
    ADDRESS = "CN_ADDRESS"
    # our own pseudonyms (recognised so that the export gate can block them)
    PSEUDONYM = "AOD_PSEUDONYM"
    # known from column-name cues
    FREE_TEXT = "FREE_TEXT"
    GENDER = "GENDER"
    AGE = "AGE"
    ETHNICITY = "ETHNICITY"
    POSTCODE = "POSTCODE"
    EDUCATION = "EDUCATION"
    MARITAL_STATUS = "MARITAL_STATUS"
    OCCUPATION = "OCCUPATION"
    REGION = "REGION"
    ORGANIZATION = "ORGANIZATION"
    INCOME = "INCOME"
    HEALTH = "HEALTH"
    FINANCIAL = "FINANCIAL"
    RELIGION = "RELIGION"
    POLITICAL = "POLITICAL"
    CRIMINAL = "CRIMINAL"


@dataclass(frozen=True)
class EntityInfo:
    column_class: ColumnClass
    label: str  # Chinese label, used as the scrub tag: 〔label〕
    priority: int  # lower wins when detections overlap
    detectable: bool  # has a recognizer and a vectorized detector


_D, _Q, _S = ColumnClass.DIRECT_IDENTIFIER, ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE

ENTITY_INFO: dict[Entity, EntityInfo] = {
    Entity.RESIDENT_ID: EntityInfo(_D, "身份证号", 10, True),
    Entity.CREDIT_CODE: EntityInfo(_D, "信用代码", 20, True),
    Entity.BANK_CARD: EntityInfo(_D, "银行卡号", 30, True),
    Entity.MOBILE: EntityInfo(_D, "手机号", 40, True),
    Entity.LANDLINE: EntityInfo(_D, "电话", 50, True),
    Entity.PASSPORT: EntityInfo(_D, "护照号", 60, True),
    Entity.HMT_PERMIT: EntityInfo(_D, "通行证号", 61, True),
    Entity.EMAIL: EntityInfo(_D, "邮箱", 70, True),
    Entity.IP_ADDRESS: EntityInfo(_D, "IP", 80, True),
    Entity.PLATE: EntityInfo(_D, "车牌", 90, True),
    Entity.PERSON_NAME: EntityInfo(_D, "姓名", 100, True),
    Entity.ADDRESS: EntityInfo(_D, "地址", 110, True),
    Entity.BIRTH_DATE: EntityInfo(_Q, "出生日期", 120, True),
    Entity.PSEUDONYM: EntityInfo(_D, "假名", 5, True),
    Entity.FREE_TEXT: EntityInfo(_S, "文本", 200, False),
    Entity.GENDER: EntityInfo(_Q, "性别", 300, False),
    Entity.AGE: EntityInfo(_Q, "年龄", 300, False),
    Entity.ETHNICITY: EntityInfo(_Q, "民族", 300, False),
    Entity.POSTCODE: EntityInfo(_Q, "邮编", 300, False),
    Entity.EDUCATION: EntityInfo(_Q, "学历", 300, False),
    Entity.MARITAL_STATUS: EntityInfo(_Q, "婚姻状况", 300, False),
    Entity.OCCUPATION: EntityInfo(_Q, "职业", 300, False),
    Entity.REGION: EntityInfo(_Q, "地区", 300, False),
    Entity.ORGANIZATION: EntityInfo(_Q, "单位", 300, False),
    Entity.INCOME: EntityInfo(_S, "收入", 400, False),
    Entity.HEALTH: EntityInfo(_S, "健康", 400, False),
    Entity.FINANCIAL: EntityInfo(_S, "财务", 400, False),
    Entity.RELIGION: EntityInfo(_S, "宗教", 400, False),
    Entity.POLITICAL: EntityInfo(_S, "政治面貌", 400, False),
    Entity.CRIMINAL: EntityInfo(_S, "违法犯罪", 400, False),
}

# Entities the detectors look for, in priority order (a validated resident ID number is not
# also a bank card or a credit code).
DETECTABLE: tuple[Entity, ...] = tuple(
    sorted((e for e, i in ENTITY_INFO.items() if i.detectable), key=lambda e: ENTITY_INFO[e].priority)
)
# Entities whose values are checked by a check digit / checksum (strong evidence).
CHECKSUMMED = frozenset({Entity.RESIDENT_ID, Entity.CREDIT_CODE, Entity.BANK_CARD})


class Grade(str, enum.Enum):
    """Data grade (分级). L4 is the most sensitive."""

    L1 = "L1"  # no personal information
    L2 = "L2"  # quasi-identifiers only
    L3 = "L3"  # direct identifiers, or sensitive attributes without identifiers
    L4 = "L4"  # direct identifiers together with sensitive attributes

    @classmethod
    def from_classes(cls, classes: Iterable[ColumnClass]) -> "Grade":
        present = set(classes)
        direct = ColumnClass.DIRECT_IDENTIFIER in present
        sensitive = ColumnClass.SENSITIVE in present
        if direct and sensitive:
            return cls.L4
        if direct or sensitive:
            return cls.L3
        if ColumnClass.QUASI_IDENTIFIER in present:
            return cls.L2
        return cls.L1


def entity_from_name(name: str) -> Entity:
    """`Entity` from its value ("CN_RESIDENT_ID") or its member name ("RESIDENT_ID")."""
    from .errors import ClassificationError

    text = str(name).strip()
    for entity in Entity:
        if text in (entity.value, entity.name):
            return entity
    raise ClassificationError(f"unknown entity type {text[:40]!r}")


def class_from_name(name: str) -> ColumnClass:
    from .errors import ClassificationError

    text = str(name).strip().lower()
    for column_class in ColumnClass:
        if text in (column_class.value, column_class.name.lower()):
            return column_class
    raise ClassificationError(f"unknown column class {text[:40]!r}")
