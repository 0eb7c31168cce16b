"""Permits for travel to/from Hong Kong, Macau and Taiwan: 往来港澳通行证 (C…),
港澳居民来往内地通行证 (H…/M…), 往来台湾通行证 (L…)."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnHmtPermitRecognizer(CnPatternRecognizer):
    ENTITY = Entity.HMT_PERMIT
    CONTEXT = ["通行证", "港澳通行证", "回乡证", "台胞证", "往来台湾", "permit"]
