"""IPv4 addresses (each octet 0–255)."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnIpAddressRecognizer(CnPatternRecognizer):
    ENTITY = Entity.IP_ADDRESS
    CONTEXT = ["IP", "ip地址", "登录IP", "来源IP", "地址"]
