"""Addresses: optional province and city, a district/county, then a road, street, lane or
village with a house number (号/弄), optionally building, unit and room."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnAddressRecognizer(CnPatternRecognizer):
    ENTITY = Entity.ADDRESS
    CONTEXT = ["地址", "住址", "家庭住址", "户籍地", "现住址", "注册地址", "居住地"]
