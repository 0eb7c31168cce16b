"""Mainland mobile numbers: 11 digits starting 1[3-9], with or without +86/0086/86."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnMobileRecognizer(CnPatternRecognizer):
    ENTITY = Entity.MOBILE
    CONTEXT = ["手机", "手机号", "电话", "联系电话", "联系方式", "回电", "来电", "tel", "mobile", "phone"]
