"""Unified social credit codes (统一社会信用代码), GB 32100: 18 characters, check character
mod 31; the organisation code inside (characters 9–17) has its own GB 11714 check."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnCreditCodeRecognizer(CnPatternRecognizer):
    ENTITY = Entity.CREDIT_CODE
    CONTEXT = ["统一社会信用代码", "信用代码", "社会信用代码", "企业代码", "机构代码", "uscc", "tyshxydm"]
