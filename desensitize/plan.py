"""Transform plans: per column, what happens to it, in a file a data provider can edit.

`TransformPlan.default(classification)` proposes a transform for every column from its
class and entity; the provider may edit the YAML (or JSON) file. Loading validates every
entry, and a plan can never `keep` a direct identifier: to publish such a column the provider
must override its classification, with a reason, which is recorded.

```yaml
format: aod.desensitize.plan
version: 1
dataset: people.csv
columns:
  身份证号: {class: direct_identifier, entity: CN_RESIDENT_ID, transform: pseudonymize}
  姓名: {class: direct_identifier, entity: CN_PERSON_NAME, transform: mask, keep_first: 1}
  出生日期: {class: quasi_identifier, entity: DATE_OF_BIRTH, transform: generalize, to: year}
```
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import yaml

from . import transforms
from .entities import ColumnClass, Entity, class_from_name, entity_from_name
from .errors import ClassificationError, PlanError

FORMAT = "aod.desensitize.plan"
FORMAT_VERSION = 1
D, Q, S, O = (ColumnClass.DIRECT_IDENTIFIER, ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE,
              ColumnClass.OTHER)

# (class, entity) → (transform, params); entity None matches any entity of the class
DEFAULTS: dict[tuple[ColumnClass, Optional[Entity]], tuple[str, dict]] = {
    (D, Entity.PERSON_NAME): ("mask", {"keep_first": 1}),
    (D, Entity.ADDRESS): ("generalize", {"to": "district"}),
    (D, Entity.FREE_TEXT): ("scrub", {}),
    (D, Entity.BIRTH_DATE): ("generalize", {"to": "year"}),
    (D, None): ("pseudonymize", {}),
    (Q, Entity.BIRTH_DATE): ("generalize", {"to": "year"}),
    (Q, Entity.AGE): ("generalize", {"to": "band", "width": 5}),
    (Q, Entity.POSTCODE): ("generalize", {"to": "prefix", "chars": 4}),
    (Q, Entity.ADDRESS): ("generalize", {"to": "district"}),
    (Q, None): ("keep", {}),
    (S, Entity.FREE_TEXT): ("scrub", {}),
    (S, Entity.INCOME): ("noise", {"relative": 0.05, "decimals": 2}),
    (S, Entity.FINANCIAL): ("noise", {"relative": 0.05, "decimals": 2}),
    (S, None): ("keep", {}),
    (O, None): ("keep", {}),
}
UNDECIDED = ("scrub", {})  # a sensitive column without an entity: classification could not decide


@dataclass(frozen=True)
class ColumnTransform:
    column: str
    transform: str
    params: tuple[tuple[str, Any], ...]
    column_class: ColumnClass
    entity: Optional[Entity]

    @property
    def options(self) -> dict:
        return dict(self.params)

    def checked(self) -> "ColumnTransform":
        """Validate the transform and its parameters; return it with defaults filled in."""
        full = transforms.get(self.transform).check(self.column, self.options, self.column_class, self.entity)
        return replace(self, params=tuple(sorted((k, v) for k, v in full.items() if v is not None)))

    def to_dict(self) -> dict:
        d = {"class": self.column_class.value, "entity": self.entity.value if self.entity else None,
             "transform": self.transform}
        d.update(self.options)
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, column: str, d: dict) -> "ColumnTransform":
        if not isinstance(d, dict) or "transform" not in d or "class" not in d:
            raise PlanError(f"column {column!r}: needs at least 'class' and 'transform'")
        params = {k: v for k, v in d.items() if k not in ("class", "entity", "transform")}
        try:
            column_class = class_from_name(d["class"])
            entity = entity_from_name(d["entity"]) if d.get("entity") else None
        except ClassificationError as exc:
            raise PlanError(f"column {column!r}: {exc.diagnostics()}") from None
        return cls(str(column), str(d["transform"]), tuple(sorted(params.items())), column_class, entity).checked()


@dataclass(frozen=True)
class TransformPlan:
    columns: tuple[ColumnTransform, ...]
    dataset: str = ""
    fingerprint: str = ""
    version: int = FORMAT_VERSION

    @classmethod
    def default(cls, classification, *, as_of: Optional[str] = None) -> "TransformPlan":
        """The proposed plan for a classification (see DEFAULTS)."""
        as_of = as_of or _dt.date.today().isoformat()
        cols = []
        for c in classification.columns:
            name, params = default_for(c.column_class, c.entity)
            if name == "generalize" and params.get("to") == "age_band":
                params = {**params, "as_of": as_of}
            cols.append(ColumnTransform(c.name, name, tuple(sorted(params.items())), c.column_class, c.entity).checked())
        return cls(tuple(cols), classification.source, classification.fingerprint)

    def column(self, name: str) -> ColumnTransform:
        for c in self.columns:
            if c.column == name:
                return c
        raise PlanError(f"no column {str(name)[:60]!r} in the plan")

    def with_transform(self, column: str, transform: str, **params) -> "TransformPlan":
        old = self.column(column)
        if transform == "generalize" and params.get("to") == "age_band":
            params.setdefault("as_of", _dt.date.today().isoformat())
        new = replace(old, transform=transform, params=tuple(sorted(params.items()))).checked()
        return replace(self, columns=tuple(new if c.column == column else c for c in self.columns))

    def check_fits(self, names: Iterable[str]) -> None:
        """Every column of the data has exactly one transform (fail closed), and no extras."""
        have = list(names)
        planned = {c.column for c in self.columns}
        missing = [n for n in have if n not in planned]
        if missing:
            raise PlanError(f"column {missing[0]!r} has no transform in the plan")
        extra = [c.column for c in self.columns if c.column not in have]
        if extra:
            raise PlanError(f"the plan names column {extra[0]!r}, which the data does not have")

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": self.version, "dataset": self.dataset, "fingerprint": self.fingerprint,
                "columns": {c.column: c.to_dict() for c in self.columns}}

    @classmethod
    def from_dict(cls, d: Any) -> "TransformPlan":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise PlanError("not a transform plan")
        if d.get("version") != FORMAT_VERSION:
            raise PlanError(f"plan format version {d.get('version')!r} is not supported")
        columns = d.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise PlanError("the plan has no columns")
        cols = tuple(ColumnTransform.from_dict(str(k), v) for k, v in columns.items())
        return cls(cols, str(d.get("dataset", "")), str(d.get("fingerprint", "")))

    def save(self, path: Union[str, Path]) -> Path:
        p = Path(path)
        data = self.to_dict()
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n" if p.suffix == ".json" else \
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: Union[str, Path]) -> "TransformPlan":
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
            data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        except FileNotFoundError:
            raise PlanError(f"plan file {p}: not found") from None
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            raise PlanError(f"plan file {p}: cannot be parsed ({type(exc).__name__})") from None
        return cls.from_dict(data)


def default_for(column_class: ColumnClass, entity: Optional[Entity]) -> tuple[str, dict]:
    if column_class == S and entity is None:
        return UNDECIDED
    return DEFAULTS.get((column_class, entity)) or DEFAULTS[(column_class, None)]
