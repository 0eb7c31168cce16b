"""The catalog (目录): every dataset with its provider, open attribute, format, update frequency,
grade, confirmed column classes, privacy-unit column and disclosure settings (R19, R20).

Ingest validates and classifies a provider's file, encrypts it at rest with a per-dataset key
and registers it awaiting the provider's confirmation of the classification. Nothing is half
registered: the raw files are written to a temporary folder and moved into place only in the
transaction that records the dataset.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from domain import raw
from domain.authz import Perm, Resource
from domain.clock import iso
from domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from domain.principals import Principal, check_id

if TYPE_CHECKING:
    from domain.core import Domain

DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
DATASET_KEY = "dataset"


class OpenAttribute(StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件开放
    RESTRICTED = "restricted"        # 受限开放
    PROHIBITED = "prohibited"        # 禁止开放: never authorized for operation (R12)


class UpdateFrequency(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


class DatasetStatus(StrEnum):
    CLASSIFIED = "classified"  # ingested; classification awaits the provider's confirmation
    ACTIVE = "active"          # confirmed; may be granted
    WITHDRAWN = "withdrawn"


DATASET_TRANSITIONS = {
    DatasetStatus.CLASSIFIED: frozenset({DatasetStatus.ACTIVE, DatasetStatus.WITHDRAWN}),
    DatasetStatus.ACTIVE: frozenset({DatasetStatus.WITHDRAWN}),
    DatasetStatus.WITHDRAWN: frozenset(),
}


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    dtype: str
    klass: str
    entity: str | None


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    provider: str
    description: str
    source_format: str
    update_frequency: UpdateFrequency
    open_attribute: OpenAttribute
    grade: str | None
    privacy_unit: str | None
    min_group_size: int
    suppress_below: int
    round_to: int
    status: DatasetStatus
    rows: int
    content_sha256: str
    columns: tuple[ColumnInfo, ...] = field(default_factory=tuple)
    classification: dict[str, Any] = field(default_factory=dict)

    @property
    def resource(self) -> Resource:
        return Resource("dataset", self.name, org=self.provider)

    def column(self, name: str) -> ColumnInfo:
        for col in self.columns:
            if col.name == name:
                return col
        raise NotFound(f"dataset {self.name} has no column {name!r}")


@dataclass(frozen=True)
class Approval:
    """The competent authority's approval of an import standing in for the provider's
    confirmation: the privacy unit (None: detected) and a step run inside the ingest's
    transaction (`within(tx, info)`), so the dataset and the approval commit together."""

    privacy_unit: str | None
    within: Callable[[Any, Any], None]


def _enum(kind, value, what):
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"{what} must be one of: {', '.join(v.value for v in kind)}") from None


class CatalogService:
    def __init__(self, domain: "Domain"):
        self.d = domain

    # -- reading ----------------------------------------------------------------------
    def get(self, name: str) -> Dataset:
        row = self.d.store.one("SELECT * FROM datasets WHERE name=?", (name,))
        if row is None:
            raise NotFound(f"no dataset {name!r}")
        cols = self.d.store.all(
            "SELECT * FROM dataset_columns WHERE dataset=? ORDER BY position", (name,)
        )
        return Dataset(
            name=row["name"], title=row["title"], provider=row["provider"],
            description=row["description"], source_format=row["source_format"],
            update_frequency=UpdateFrequency(row["update_frequency"]),
            open_attribute=OpenAttribute(row["open_attribute"]), grade=row["grade"],
            privacy_unit=row["privacy_unit"], min_group_size=row["min_group_size"],
            suppress_below=row["suppress_below"], round_to=row["round_to"],
            status=DatasetStatus(row["status"]), rows=row["rows"],
            content_sha256=row["content_sha256"],
            columns=tuple(ColumnInfo(c["name"], c["dtype"], c["class"], c["entity"]) for c in cols),
            classification=json.loads(row["classification"]),
        )

    def list(self) -> list[Dataset]:
        return [self.get(r["name"]) for r in self.d.store.all("SELECT name FROM datasets ORDER BY name")]

    def raw_dir(self, name: str) -> Path:
        return self.d.home / "raw" / name

    def check_grantable(self, name: str, columns: tuple[str, ...]) -> Dataset:
        dataset = self.get(name)
        if dataset.open_attribute == OpenAttribute.PROHIBITED:
            raise InvalidInput(f"dataset {name} is prohibited from opening and cannot be authorized (R12)")
        if dataset.status != DatasetStatus.ACTIVE:
            raise InvalidInput(f"dataset {name} is {dataset.status.value}; its classification must be confirmed first")
        known = {c.name for c in dataset.columns}
        missing = [c for c in columns if c not in known]
        if missing:
            raise InvalidInput(f"dataset {name} has no column(s): {', '.join(missing)}")
        return dataset

    # -- ingest -----------------------------------------------------------------------
    def ingest(
        self,
        actor: Principal,
        source: Path | str,
        *,
        name: str,
        title: str,
        provider: str,
        open_attribute: str,
        update_frequency: str = "irregular",
        description: str = "",
        approval: "Approval | None" = None,
    ) -> Dataset:
        """Register a provider's file, awaiting its confirmation; with an `approval` (an
        authority-approved social-data import) the dataset is active at once, in the same
        transaction as the approval's own record."""
        from audit import Action

        if not DATASET_NAME.match(name or ""):
            raise InvalidInput("a dataset name is 2-63 lowercase letters, digits or '_', starting with a letter")
        check_id(provider, "provider")
        self.d.check(actor, Perm.DATASET_INGEST, Resource("dataset", name, org=provider))
        attribute = _enum(OpenAttribute, open_attribute, "open attribute")
        frequency = _enum(UpdateFrequency, update_frequency, "update frequency")
        if not title.strip():
            raise InvalidInput("a dataset needs a title")
        if self.d.store.one("SELECT 1 FROM datasets WHERE name=?", (name,)):
            raise Conflict(f"dataset {name} already exists")
        source = Path(source)
        table, source_format = raw.read_source(source)
        classification = raw.classify(table)
        table = raw.typed(table, classification)
        unit = None if approval is None else self._privacy_unit(name, classification, approval.privacy_unit)
        key, wrapped = self.d.keys.generate(DATASET_KEY, name)
        staging = self.d.home / "raw" / f".staging-{uuid.uuid4().hex}"
        try:
            info = raw.write(table, staging, key)
            with self.d.store.transaction() as tx:
                if tx.one("SELECT 1 FROM datasets WHERE name=?", (name,)):
                    raise Conflict(f"dataset {name} already exists")
                self.d.keys.insert(tx, DATASET_KEY, name, wrapped)
                self._insert(tx, name, title, provider, description, source_format, frequency,
                             attribute, info, classification)
                tx.audit(self.d.event(
                    Action.DATASET_INGEST, actor, org=provider, targets=[("dataset", name)],
                    inputs=[("file", source.name, raw.file_sha256(source))],
                    outputs=[("dataset", name, info.sha256)],
                    details={"rows": info.rows, "columns": len(table.schema), "format": source_format,
                             "open_attribute": attribute.value},
                ))
                tx.audit(self.d.event(
                    Action.DATASET_CLASSIFY, actor, org=provider, targets=[("dataset", name)],
                    outputs=[("classification", name, raw.json_sha256(classification))],
                    details={"classes": {c["name"]: c["class"] for c in classification["columns"]}},
                ))
                if approval is not None:
                    tx.execute("UPDATE datasets SET status='active', privacy_unit=?, confirmed_by=?,"
                               " confirmed_at=? WHERE name=?", (unit, actor.id, iso(tx.now()), name))
                    approval.within(tx, info)
                staging.rename(self.raw_dir(name))
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self.get(name)

    def _insert(self, tx, name, title, provider, description, source_format, frequency,
                attribute, info, classification) -> None:
        now = iso(tx.now())
        cfg = self.d.config
        tx.execute(
            "INSERT INTO datasets (name, title, provider, description, source_format,"
            " update_frequency, open_attribute, grade, privacy_unit, min_group_size, suppress_below,"
            " round_to, status, rows, content_sha256, classification, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, 'classified', ?, ?, ?, ?, ?)",
            (name, title.strip(), provider, description.strip(), source_format, frequency.value,
             attribute.value, classification.get("grade"), cfg.min_group_size, cfg.suppress_below,
             cfg.round_to, info.rows, info.sha256, json.dumps(classification, ensure_ascii=False),
             now, now),
        )
        self._write_columns(tx, name, info.dtypes, classification)

    @staticmethod
    def _write_columns(tx, name: str, dtypes: dict[str, str], classification: dict) -> None:
        tx.execute("DELETE FROM dataset_columns WHERE dataset=?", (name,))
        for position, col in enumerate(classification["columns"]):
            tx.execute(
                "INSERT INTO dataset_columns (dataset, position, name, dtype, class, entity)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, position, col["name"], dtypes[col["name"]], col["class"], col.get("entity")),
            )

    # -- confirmation -----------------------------------------------------------------
    def confirm(
        self,
        actor: Principal,
        name: str,
        *,
        overrides: dict[str, str] | None = None,
        reason: str = "",
        privacy_unit: str | None = None,
        min_group_size: int | None = None,
    ) -> Dataset:
        """The provider confirms (or corrects) the classification; the dataset becomes active."""
        from audit import Action

        dataset = self.get(name)
        self.d.check(actor, Perm.DATASET_CONFIRM, dataset.resource)
        if DatasetStatus.ACTIVE not in DATASET_TRANSITIONS[dataset.status]:
            raise InvalidTransition(f"dataset {name} is {dataset.status.value}; nothing to confirm")
        overrides = overrides or {}
        if overrides and not reason.strip():
            raise InvalidInput("say why the classification is overridden (--reason)")
        classification = raw.override(dataset.classification, overrides, reason)
        unit = self._privacy_unit(dataset.name, classification, privacy_unit)
        k = self._group_size(min_group_size)
        with self.d.store.transaction() as tx:
            tx.execute(
                "UPDATE datasets SET status='active', classification=?, grade=?, privacy_unit=?,"
                " min_group_size=?, confirmed_by=?, confirmed_at=?, updated_at=? WHERE name=?",
                (json.dumps(classification, ensure_ascii=False), classification.get("grade"), unit, k,
                 actor.id, iso(tx.now()), iso(tx.now()), name),
            )
            self._write_columns(tx, name, {c.name: c.dtype for c in dataset.columns}, classification)
            tx.audit(self.d.event(
                Action.DATASET_CONFIRM, actor, org=dataset.provider, targets=[("dataset", name)],
                outputs=[("classification", name, raw.json_sha256(classification))],
                reason=reason.strip() or None,
                details={"overrides": overrides, "privacy_unit": unit, "grade": classification.get("grade"),
                         "min_group_size": k},
            ))
        return self.get(name)

    def _group_size(self, requested: int | None) -> int:
        k = self.d.config.min_group_size if requested is None else int(requested)
        if k < self.d.config.min_group_size:
            raise InvalidInput(f"a dataset may be stricter than the domain's k={self.d.config.min_group_size}, never looser")
        return k

    @staticmethod
    def _privacy_unit(dataset: str, classification: dict, requested: str | None) -> str:
        direct = [c for c in classification["columns"] if c["class"] == "direct_identifier"]
        if requested:
            if requested not in {c["name"] for c in direct}:
                raise InvalidInput(f"privacy unit {requested!r} must be a direct-identifier column of {dataset}")
            return requested
        keyed = [c["name"] for c in direct if c.get("entity") in ("CN_RESIDENT_ID", "CN_CREDIT_CODE")]
        if len(keyed) == 1:
            return keyed[0]
        raise InvalidInput(
            f"cannot tell which column identifies a person or enterprise in {dataset}; "
            "name it with --privacy-unit"
        )
