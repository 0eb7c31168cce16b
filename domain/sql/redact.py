"""`redact_sql`: query text fit for the audit log.

Every literal becomes `?`, comments are dropped, and any name carrying a long run of digits
(a table or column "named" like an ID number) becomes `?` too. Query text goes into the audit
log, and the audit log must never hold an identifier value (architecture.md: `append` refuses
events with ID-number or mobile-number shaped strings).
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

MAX_LENGTH = 4000
_DIGIT_RUN = re.compile(r"\d{5,}")  # Unicode digits too (full-width included)
_VALUE_TOKENS = {TokenType.NUMBER} | {
    t for t in TokenType if t.name.endswith("_STRING") or t.name == "STRING"
} - {getattr(TokenType, n) for n in ("LINESTRING", "MULTILINESTRING", "FIXEDSTRING") if hasattr(TokenType, n)}
_VALUE_NODES = tuple(
    cls for name, cls in vars(exp).items()
    if isinstance(cls, type) and issubclass(cls, exp.Expression) and (cls is exp.Literal or (
        name.endswith("String") and issubclass(cls, exp.Condition) and not issubclass(cls, exp.Func)))
    or cls is getattr(exp, "National", None)
) or (exp.Literal,)


def mask_name(name: str) -> str:
    """A user-supplied name, safe to show: digit runs masked, length capped."""
    text = _DIGIT_RUN.sub("?", str(name))
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 64 else text[:61] + "..."


def _cap(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3] + "..."


def _redact_tree(tree: exp.Expression) -> exp.Expression:
    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, _VALUE_NODES):
            return exp.Placeholder()
        if isinstance(node, exp.Identifier) and _DIGIT_RUN.search(node.name or ""):
            return exp.to_identifier("?", quoted=True)
        return node

    return tree.copy().transform(replace)


def redact_sql(sql: str, statements: list[exp.Expression] | None = None) -> str:
    """`statements`: the already parsed statements of `sql`, if the caller has them."""
    if not isinstance(sql, str):
        return "<not text>"
    try:
        if statements is None:
            statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        text = "; ".join(_redact_tree(s).sql(dialect="duckdb", comments=False) for s in statements)
    except (SqlglotError, RecursionError, ValueError):
        return _redact_tokens(sql)
    if _has_values(text):  # a value form the tree walk did not know: redact token by token
        return _redact_tokens(sql)
    return _cap(text)


def _has_values(text: str) -> bool:
    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(text)
    except (SqlglotError, RecursionError, ValueError):
        return True
    return any(t.token_type in _VALUE_TOKENS for t in tokens)


def _redact_tokens(sql: str) -> str:
    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    except (SqlglotError, RecursionError, ValueError):
        return f"<unparseable SQL, {len(sql)} characters>"
    parts = []
    for token in tokens:
        if token.token_type in _VALUE_TOKENS:
            parts.append("?")
        else:
            parts.append(mask_name(token.text))
    return _cap(" ".join(parts))
