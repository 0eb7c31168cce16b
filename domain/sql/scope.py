"""What one grant lets an operator query: datasets as SQL tables, granted columns with their
classes, each dataset's privacy unit and disclosure settings.

A `Scope` is built by the query service from the grant and the catalog for every request. It is
frozen and validated on construction: a scope that could not protect anyone (k < 2, a privacy
unit that is not a column of the dataset) cannot be built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import InvalidInput

TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESERVED_PREFIX = "__aod"
MIN_K = 2


class ColumnClass(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    OTHER = "other"


# Strictest first: the class of a derived value is the strictest class that flows into it.
STRICTNESS = {
    ColumnClass.DIRECT_IDENTIFIER: 3, ColumnClass.SENSITIVE: 2,
    ColumnClass.QUASI_IDENTIFIER: 1, ColumnClass.OTHER: 0,
}


def strictest(classes: Iterable[ColumnClass]) -> ColumnClass:
    return max(classes, key=STRICTNESS.__getitem__, default=ColumnClass.OTHER)


@dataclass(frozen=True)
class ColumnGrant:
    name: str
    klass: ColumnClass
    sql_type: str = ""  # e.g. VARCHAR, BIGINT, DOUBLE, DATE; helps type-aware translation

    def __post_init__(self) -> None:
        object.__setattr__(self, "klass", ColumnClass(self.klass))
        if not self.name or self.name.lower().startswith(RESERVED_PREFIX):
            raise InvalidInput(f"column name {self.name!r} is empty or reserved")


@dataclass(frozen=True)
class DatasetScope:
    """One granted dataset. `privacy_unit` need not be granted: the engine counts it anyway."""

    table: str
    columns: tuple[ColumnGrant, ...]
    privacy_unit: str
    min_group_size: int = 10
    suppress_below: int = 10
    round_to: int = 5
    dataset: str = ""  # catalog name, for audit; defaults to the table name
    all_columns: tuple[str, ...] = field(default=())  # every column in the raw data (for the view)

    def __post_init__(self) -> None:
        table = self.table.lower()
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "dataset", self.dataset or table)
        object.__setattr__(self, "columns", tuple(self.columns))
        if not TABLE_NAME.match(table) or table.startswith(RESERVED_PREFIX):
            raise InvalidInput(f"{self.table!r} cannot be a SQL table name")
        names = [c.name.lower() for c in self.columns]
        if len(set(names)) != len(names):
            raise InvalidInput(f"dataset {table} lists a column twice")
        if not self.privacy_unit:
            raise InvalidInput(f"dataset {table} has no privacy-unit column; it cannot be queried")
        known = set(names) | {c.lower() for c in self.all_columns}
        if self.all_columns and self.privacy_unit.lower() not in known:
            raise InvalidInput(f"privacy unit {self.privacy_unit} is not a column of dataset {table}")
        if self.min_group_size < MIN_K:
            raise InvalidInput(f"dataset {table}: minimum group size must be at least {MIN_K}")
        if self.suppress_below < 0 or self.round_to < 1:
            raise InvalidInput(f"dataset {table}: suppress_below must be >= 0 and round_to >= 1")

    @classmethod
    def build(cls, table: str, columns: Mapping[str, str | ColumnClass], privacy_unit: str,
              **settings) -> "DatasetScope":
        """Convenience: `columns` maps name -> class (or (class, sql_type))."""
        grants = []
        for name, spec in columns.items():
            klass, sql_type = (spec if isinstance(spec, tuple) else (spec, ""))
            grants.append(ColumnGrant(name, ColumnClass(klass), sql_type))
        return cls(table=table, columns=tuple(grants), privacy_unit=privacy_unit, **settings)

    def column(self, name: str) -> ColumnGrant | None:
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None

    @property
    def unit(self) -> str:
        return self.privacy_unit.lower()

    def view_columns(self) -> tuple[str, ...]:
        """Columns an engine exposes for this table: the granted ones plus the privacy unit."""
        names = [c.name for c in self.columns]
        if self.column(self.privacy_unit) is None:
            names.append(self.privacy_unit)
        return tuple(names)


@dataclass(frozen=True)
class Scope:
    datasets: tuple[DatasetScope, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "datasets", tuple(self.datasets))
        tables = [d.table for d in self.datasets]
        if not tables:
            raise InvalidInput("a scope needs at least one granted dataset")
        if len(set(tables)) != len(tables):
            raise InvalidInput("a scope lists a table twice")

    def get(self, table: str) -> DatasetScope | None:
        lowered = table.lower()
        for dataset in self.datasets:
            if dataset.table == lowered:
                return dataset
        return None

    def schema(self) -> dict[str, dict[str, str]]:
        """sqlglot schema of the granted columns (what a query may name)."""
        return {
            d.table: {c.name.lower(): (c.sql_type or "UNKNOWN") for c in d.columns}
            for d in self.datasets
        }


_ARROW_TO_SQL = {
    "string": "VARCHAR", "large_string": "VARCHAR", "bool": "BOOLEAN", "int8": "TINYINT",
    "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT", "uint8": "SMALLINT",
    "uint16": "INTEGER", "uint32": "BIGINT", "float": "FLOAT", "double": "DOUBLE",
    "date32[day]": "DATE",
}


def sql_type_of(arrow_type: str) -> str:
    """SQL type for a raw-store column type (`RawDatasetInfo.dtypes`); '' when unknown."""
    if arrow_type.startswith("timestamp"):
        return "TIMESTAMP"
    if arrow_type.startswith("decimal"):
        return "DECIMAL"
    return _ARROW_TO_SQL.get(arrow_type, "")
