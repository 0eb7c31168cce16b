"""Licence plates: province character, city letter, 5 characters (6 for new-energy plates)."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnPlateRecognizer(CnPatternRecognizer):
    ENTITY = Entity.PLATE
    CONTEXT = ["车牌", "车牌号", "号牌", "车辆", "车主", "plate"]
