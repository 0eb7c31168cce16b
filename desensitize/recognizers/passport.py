"""Passport numbers of the People's Republic of China (E + 8 digits, E + letter + 7 digits,
older G/D/S/P + 8 digits)."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnPassportRecognizer(CnPatternRecognizer):
    ENTITY = Entity.PASSPORT
    CONTEXT = ["护照", "护照号", "护照号码", "passport"]
