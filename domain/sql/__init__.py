"""Secure SQL on raw data: the policy (`check`), redaction for audit (`redact_sql`) and the
engines (DuckDB by default, Spark at scale). See docs/api/sql.md and docs/sql-policy.md."""

from domain.sql.decision import Decision, Disclosure, Plan
from domain.sql.policy import check
from domain.sql.redact import redact_sql
from domain.sql.scope import ColumnClass, ColumnGrant, DatasetScope, Scope, sql_type_of

__all__ = [
    "ColumnClass", "ColumnGrant", "DatasetScope", "Decision", "Disclosure", "Plan", "Scope",
    "check", "redact_sql", "sql_type_of",
]
