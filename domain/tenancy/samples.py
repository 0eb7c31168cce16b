"""Desensitized, k-anonymous samples of a grant's datasets, made from the raw data."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from domain.tenancy.imports import grant_datasets
from domain.tenancy.model import SAMPLE_KEY

if TYPE_CHECKING:
    from domain.core import Domain


def _classification(dataset, columns: tuple[str, ...]):
    """The provider-confirmed classes of the granted columns, as desensitize/ reads them."""
    from desensitize import Classification, ColumnProfile

    profiles = []
    for name in columns:
        col = dataset.column(name)
        profiles.append(ColumnProfile.from_dict({
            "name": name, "column_class": col.klass, "entity": col.entity, "confidence": 1.0,
            "decided_by": "provider", "confirmed": True}))
    return Classification(source=dataset.name, columns=tuple(profiles), rows_sampled=dataset.rows,
                          fingerprint=dataset.content_sha256, created_at="")


def _sample_secret(domain: "Domain", grant_id: str) -> bytes:
    """The pseudonym secret of a grant's samples (one per grant: no joins across grants)."""
    if not domain.keys.exists(SAMPLE_KEY, grant_id):
        with domain.store.transaction() as tx:
            if tx.one("SELECT 1 FROM data_keys WHERE purpose=? AND owner=?", (SAMPLE_KEY, grant_id)) is None:
                domain.keys.create(tx, SAMPLE_KEY, grant_id)
    return domain.keys.get(SAMPLE_KEY, grant_id)


def make_grant_samples(domain: "Domain", grant, dest: Path) -> dict[str, str]:
    """One desensitized, k-anonymous sample per dataset the grant reaches (granted columns
    only, and the datasets of its operator's approved imports, `grant_datasets`) in
    `dest/<dataset>.parquet`; returns {dataset: sha256}. Samples made before are kept. The
    plaintext draw exists only in a private temporary folder in memory (/dev/shm when there
    is one) and is deleted at once."""
    from domain import raw

    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = {}
    for name, columns in grant_datasets(domain, grant).items():
        target = dest / f"{name}.parquet"
        if not target.is_file():
            _make_one(domain, grant, name, columns, target)
        made[name] = raw.file_sha256(target)
    return made


def _make_one(domain: "Domain", grant, name: str, columns: tuple[str, ...], target: Path) -> None:
    from desensitize import make_sample

    from domain.rawstore import read_table

    import pyarrow.parquet as pq

    cfg = domain.config
    scratch_root = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="aod-sample-", dir=scratch_root) as scratch:
        plain = Path(scratch) / f"{name}.parquet"
        key = domain.keys.get("dataset", name)
        pq.write_table(read_table(domain.catalog.raw_dir(name), key, columns=list(columns)), plain)
        make_sample(plain, target, _classification(domain.catalog.get(name), columns),  # written atomically
                    secret=_sample_secret(domain, grant.id), rows=cfg.sample_rows,
                    fraction=cfg.sample_fraction, k=cfg.sample_k)


def refresh_grant_samples(domain: "Domain", grant, dest: Path) -> dict[str, str]:
    """`make_grant_samples`, with each sample made now (a dataset the grant reaches since its
    tenants were created: an import approved later) on the audit record (`sample.create`)."""
    from audit import Action

    from domain.principals import SYSTEM

    before = {p.stem for p in dest.glob("*.parquet")} if dest.is_dir() else set()
    made = make_grant_samples(domain, grant, dest)
    new = {name: sha for name, sha in made.items() if name not in before}
    if new:
        with domain.store.transaction() as tx:
            tx.audit(domain.event(
                Action.SAMPLE_CREATE, SYSTEM, org=grant.operator_id, targets=[("grant", grant.id)],
                inputs=[("dataset", name) for name in new],
                outputs=[("sample", f"{grant.id}/{name}", sha) for name, sha in new.items()]))
    return made

