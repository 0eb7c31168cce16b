"""Dates of birth after a cue word (出生日期, 出生于, 生日…): a real date since 1900."""

from typing import Optional

from ..checks import detect_value, is_birth_date
from ..entities import Entity
from ..normalize import halfwidth
from .base import CnPatternRecognizer


class CnBirthDateRecognizer(CnPatternRecognizer):
    ENTITY = Entity.BIRTH_DATE
    CONTEXT = ["出生", "出生日期", "生日", "出生年月"]

    def validate_result(self, pattern_text: str) -> Optional[bool]:
        text = halfwidth(pattern_text).strip().replace("年", "-").replace("月", "-").replace("日", "")
        return is_birth_date(text.replace("/", "-").replace(".", "-"))
