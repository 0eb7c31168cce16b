"""Bank card numbers: 13–19 digits with a valid Luhn check digit (a validated resident ID
number is never also a bank card: the ID-number recognizer wins the overlap)."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnBankCardRecognizer(CnPatternRecognizer):
    ENTITY = Entity.BANK_CARD
    CONTEXT = ["银行卡", "卡号", "银行账号", "账号", "账户", "储蓄卡", "信用卡", "开户行", "card"]
