"""Authorized operators (授权运营单位): the licensed companies, identified by their unified
social credit code (R24)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.authz import Perm
from domain.clock import iso
from domain.errors import Conflict, InvalidInput, NotFound
from domain.principals import Principal, check_id

if TYPE_CHECKING:
    from domain.core import Domain

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_is_valid(code: str) -> bool:
    """GB 32100-2015 check character of a unified social credit code."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    code = code.upper()
    if any(ch not in _USCC_ALPHABET for ch in code):
        return False
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(code[:17], _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    credit_code: str
    contact: str
    status: str


class OperatorService:
    def __init__(self, domain: "Domain"):
        self.d = domain

    def get(self, operator_id: str) -> Operator:
        row = self.d.store.one("SELECT * FROM operators WHERE id=?", (operator_id,))
        if row is None:
            raise NotFound(f"no operator {operator_id!r}")
        return Operator(row["id"], row["name"], row["credit_code"], row["contact"], row["status"])

    def list(self) -> list[Operator]:
        rows = self.d.store.all("SELECT * FROM operators ORDER BY id")
        return [Operator(r["id"], r["name"], r["credit_code"], r["contact"], r["status"]) for r in rows]

    def register(self, actor: Principal, *, operator_id: str, name: str, credit_code: str,
                 contact: str = "") -> Operator:
        from audit import Action

        self.d.check(actor, Perm.OPERATOR_MANAGE)
        check_id(operator_id, "operator id")
        if not name.strip():
            raise InvalidInput("an operator needs a name")
        credit_code = credit_code.strip().upper()
        if not uscc_is_valid(credit_code):
            raise InvalidInput("the unified social credit code is not valid (GB 32100 check character)")
        with self.d.store.transaction() as tx:
            if tx.one("SELECT 1 FROM operators WHERE id=? OR credit_code=?", (operator_id, credit_code)):
                raise Conflict("an operator with this id or credit code is already registered")
            now = iso(tx.now())
            tx.execute(
                "INSERT INTO operators (id, name, credit_code, contact, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'active', ?, ?)",
                (operator_id, name.strip(), credit_code, contact.strip(), now, now),
            )
            tx.audit(self.d.event(
                Action.OPERATOR_REGISTER, actor, org=operator_id, targets=[("operator", operator_id)],
            ))
        return self.get(operator_id)
