"""Query templates: one SELECT with named, typed parameters (`:district`), parsed with sqlglot.

    {"name": "district_counts",
     "sql": "SELECT gender, count(*) AS n FROM population WHERE district = :district GROUP BY gender",
     "params": {"district": {"type": "str", "choices": ["西湖区", "滨江区"]}},
     "rate_limit": {"calls": 60, "per_seconds": 60}, "max_rows": 1000}

Binding validates every value against its type and bounds, then replaces the placeholder by a
literal built by sqlglot: values never become SQL text of their own."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import sqlglot
from sqlglot import exp

from export_review.errors import InvalidInput, TemplateError

TYPES = ("int", "float", "str", "date", "bool")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    min: float | None = None
    max: float | None = None
    max_length: int = 64
    choices: tuple[Any, ...] = ()
    example: Any = None

    def bind(self, value: Any) -> Any:
        """The typed value, or InvalidInput with a one-line reason (the value is not repeated)."""
        try:
            typed = _coerce(self.type, value)
        except (TypeError, ValueError):
            raise InvalidInput(f"parameter {self.name} must be a {self.type}") from None
        if self.choices and typed not in self.choices:
            raise InvalidInput(f"parameter {self.name} must be one of the {len(self.choices)} allowed values")
        if isinstance(typed, (int, float)) and not isinstance(typed, bool):
            if (self.min is not None and typed < self.min) or (self.max is not None and typed > self.max):
                raise InvalidInput(f"parameter {self.name} must be between {self.min} and {self.max}")
        if isinstance(typed, str) and len(typed) > self.max_length:
            raise InvalidInput(f"parameter {self.name} is longer than {self.max_length} characters")
        return typed


def _coerce(kind: str, value: Any) -> Any:
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return int(str(value).strip())
    if kind == "float":
        result = float(value)
        if result != result or result in (float("inf"), float("-inf")):
            raise ValueError
        return result
    if kind == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
    if kind == "bool":
        text = str(value).strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise ValueError
        return text in ("true", "1")
    if not isinstance(value, str):
        raise TypeError
    return value


@dataclass(frozen=True)
class QueryTemplate:
    name: str
    sql: str
    params: tuple[Param, ...]
    rate_calls: int = 60
    rate_seconds: float = 60.0
    max_rows: int = 1000
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> "QueryTemplate":
        if not isinstance(spec, Mapping):
            raise TemplateError("a query template is a JSON object")
        name, sql = spec.get("name"), spec.get("sql")
        if not isinstance(name, str) or not _NAME.match(name):
            raise TemplateError("template 'name' must be 1-40 lowercase letters, digits or '_'")
        if not isinstance(sql, str) or not sql.strip():
            raise TemplateError("template needs its 'sql'")
        params = tuple(_param(n, p) for n, p in (spec.get("params") or {}).items())
        _check_sql(sql, {p.name for p in params})
        rate = spec.get("rate_limit") or {}
        template = cls(name, sql.strip(), params, int(rate.get("calls", 60)), float(rate.get("per_seconds", 60)),
                       int(spec.get("max_rows", 1000)))
        if template.rate_calls < 1 or template.rate_seconds <= 0 or not 1 <= template.max_rows <= 100_000:
            raise TemplateError("rate_limit and max_rows must be positive (max_rows at most 100000)")
        return template

    @classmethod
    def load(cls, path: Path) -> "QueryTemplate":
        try:
            return cls.parse(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            if isinstance(exc, TemplateError):
                raise
            raise TemplateError(f"{Path(path).name} is not a JSON query template") from None

    def bind(self, values: Mapping[str, Any]) -> str:
        """SQL with every placeholder replaced by the validated literal."""
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise InvalidInput(f"unknown parameters: {', '.join(sorted(unknown))}")
        missing = [p.name for p in self.params if p.name not in values]
        if missing:
            raise InvalidInput(f"missing parameters: {', '.join(missing)}")
        typed = {p.name: p.bind(values[p.name]) for p in self.params}
        tree = sqlglot.parse_one(self.sql, read="duckdb")
        for node in list(tree.find_all(exp.Placeholder)):
            node.replace(_literal(typed[node.name]))
        return tree.sql(dialect="duckdb")

    def example_values(self) -> dict[str, Any]:
        return {p.name: p.example if p.example is not None else (p.choices[0] if p.choices else _default(p))
                for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sql": self.sql, "max_rows": self.max_rows,
                "rate_limit": {"calls": self.rate_calls, "per_seconds": self.rate_seconds},
                "params": {p.name: {k: v for k, v in p.__dict__.items() if k != "name" and v not in (None, ())}
                           for p in self.params}}


def _param(name: str, spec: Any) -> Param:
    if not _NAME.match(str(name)) or not isinstance(spec, Mapping) or spec.get("type") not in TYPES:
        raise TemplateError(f"parameter {name!r} needs a 'type' among {', '.join(TYPES)}")
    choices = tuple(_coerce(spec["type"], c) for c in spec.get("choices", ()))
    return Param(str(name), spec["type"], spec.get("min"), spec.get("max"), int(spec.get("max_length", 64)),
                 choices, spec.get("example"))


def _check_sql(sql: str, declared: set[str]) -> None:
    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        raise TemplateError("the template's SQL does not parse") from None
    if len(trees) != 1 or not isinstance(trees[0], (exp.Select, exp.Union)):
        raise TemplateError("a template is exactly one SELECT statement (read-only)")
    used = {p.name for p in trees[0].find_all(exp.Placeholder)}
    if any(not name for name in used):
        raise TemplateError("use named parameters (:name), not positional ones")
    if used != declared:
        raise TemplateError(f"parameters used and declared differ: {sorted(used ^ declared)}")


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(value)


def _default(p: Param) -> Any:
    return {"int": int(p.min or 0), "float": float(p.min or 0), "str": "", "date": dt.date(2020, 1, 1),
            "bool": False}[p.type]
