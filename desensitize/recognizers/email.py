"""E-mail addresses, with the domain's public suffix checked against tldextract's bundled
list (offline: no suffix list is ever downloaded)."""

from functools import lru_cache
from typing import Optional

from ..checks import detect_value, is_birth_date
from ..entities import Entity
from ..normalize import halfwidth
from .base import CnPatternRecognizer


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class CnEmailRecognizer(CnPatternRecognizer):
    ENTITY = Entity.EMAIL
    CONTEXT = ["邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"]

    def validate_result(self, pattern_text: str) -> Optional[bool]:
        if detect_value(pattern_text) != Entity.EMAIL:
            return False
        return bool(_extractor()(halfwidth(pattern_text).strip().split("@")[-1]).suffix)
