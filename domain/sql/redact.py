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
_VALUE_TOKENS = {
    TokenType.STRING, TokenType.NUMBER, TokenType.NATIONAL_STRING, TokenType.RAW_STRING,
    TokenType.HEREDOC_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING, TokenType.BYTE_STRING,
    TokenType.UNICODE_STRING,
}


def mask_name(name: str) -> str:
    """A user-supplied name, safe to show: digit runs masked, length capped."""
    text = _DIGIT_RUN.sub("?", str(name))
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 64 else text[:61] + "..."


def _cap(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3] + "..."


def _redact_tree(tree: exp.Expression) -> exp.Expression:
    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal):
            return exp.Placeholder()
        if isinstance(node, exp.Identifier) and _DIGIT_RUN.search(node.name or ""):
            return exp.to_identifier("?", quoted=True)
        return node

    return tree.copy().transform(replace)


def redact_sql(sql: str) -> str:
    if not isinstance(sql, str):
        return "<not text>"
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        return _cap("; ".join(_redact_tree(s).sql(dialect="duckdb", comments=False)
                              for s in statements))
    except (SqlglotError, RecursionError, ValueError):
        return _redact_tokens(sql)


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
