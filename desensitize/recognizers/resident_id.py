"""Resident ID numbers (居民身份证号码): 18 characters with an ISO 7064 MOD 11-2 check
character (may be X) and a real birth date; also the legacy 15-digit form."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnResidentIdRecognizer(CnPatternRecognizer):
    ENTITY = Entity.RESIDENT_ID
    CONTEXT = ["身份证", "身份证号", "身份证号码", "公民身份号码", "证件号", "证件号码", "sfz", "sfzh", "id card"]
