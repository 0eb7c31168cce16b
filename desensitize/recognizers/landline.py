"""Landlines (固定电话): area code 0 + 2–3 digits, local number of 7–8 digits."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnLandlineRecognizer(CnPatternRecognizer):
    ENTITY = Entity.LANDLINE
    CONTEXT = ["电话", "固话", "固定电话", "座机", "办公电话", "联系电话", "传真", "tel"]
