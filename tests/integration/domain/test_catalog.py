"""The catalog through the real desensitize classifier and the encrypted raw store."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit import Action
from domain.catalog import DatasetStatus, OpenAttribute
from domain.errors import Conflict, InvalidInput, InvalidTransition, PermissionDenied
from tests.factories import GRANT_COLUMNS, add_person, term
from tests.integration.domain.conftest import write_csv


def _events(world, action):
    return [e.event for e in world.domain.audit_log.query(action=action.value)]


def assert_nothing_registered(domain, name: str) -> None:
    raw = domain.home / "raw"
    assert not (raw / name).exists()
    assert not [p for p in raw.iterdir() if p.name.startswith(".staging")]
    assert domain.store.one("SELECT 1 FROM datasets WHERE name=?", (name,)) is None
    assert domain.store.one("SELECT 1 FROM dataset_columns WHERE dataset=?", (name,)) is None
    assert domain.store.one("SELECT 1 FROM data_keys WHERE owner=?", (name,)) is None


# -- the three formats ----------------------------------------------------------------------

@pytest.mark.parametrize("name, fmt", [("population", "csv"), ("enterprise", "csv"), ("social_insurance", "parquet")])
def test_each_format_is_ingested_with_its_rows_and_format(world, name, fmt):
    ds = world.domain.catalog.get(name)
    assert ds.source_format == fmt
    assert ds.rows == getattr(world.data, name).num_rows
    assert ds.status == DatasetStatus.ACTIVE
    assert (world.domain.home / "raw" / name).is_dir()


def test_gbk_csv_keeps_chinese_text_and_types_dates(world):
    ds = world.domain.catalog.get("population")  # written as GBK by demo_data
    assert ds.column("birth_date").dtype.startswith("date32")
    assert ds.column("id_number").dtype == "string"  # identifiers stay text
    out = world.domain.queries.run(world.alice, world.grant.id,
                                   "SELECT district, count(*) AS n FROM population GROUP BY district")
    districts = set(out.table.column("district").to_pylist())
    assert districts and districts <= {d for _, _, d in __import__("domain.demo_data", fromlist=["x"]).DISTRICTS}


def test_classification_is_stored_per_column_with_evidence(world):
    ds = world.domain.catalog.get("population")
    by_name = {c.name: c for c in ds.columns}
    assert by_name["id_number"].klass == "direct_identifier"
    assert by_name["id_number"].entity == "CN_RESIDENT_ID"
    assert by_name["mobile"].klass == "direct_identifier"
    # direct identifiers without a sensitive attribute: L3 by desensitize's Grade rule, the same
    # grade at ingest and after confirmation
    assert ds.grade == "L3" == ds.classification["grade"]
    stored = {c["name"]: c for c in ds.classification["columns"]}
    assert set(stored) == set(by_name)
    assert all({"class", "confidence", "evidence", "decided_by"} <= set(c) for c in stored.values())
    ent = world.domain.catalog.get("enterprise")
    assert ent.column("credit_code").entity == "CN_CREDIT_CODE"
    assert ent.privacy_unit == "credit_code"


def test_ingest_and_classification_are_audited_with_hashes(world):
    ingests = {e.targets[0].id: e for e in _events(world, Action.DATASET_INGEST)}
    assert set(GRANT_COLUMNS) <= set(ingests)
    event = ingests["population"]
    assert event.inputs[0].kind == "file" and len(event.inputs[0].sha256) == 64
    assert event.outputs[0].sha256 == world.domain.catalog.get("population").content_sha256
    assert event.actor.role == "provider" and event.org == "zj-gongan"


# -- confirmation ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fresh(world, tmp_path_factory):
    """A freshly ingested, not yet confirmed copy of the population register."""
    folder = tmp_path_factory.mktemp("fresh")
    path = folder / "people.parquet"
    pq.write_table(world.data.population, path)
    clerk = world.providers["population"]
    return world.domain.catalog.ingest(clerk, path, name="people_copy", title="copy", provider="zj-gongan",
                                       open_attribute="restricted", update_frequency="monthly")


def test_an_unconfirmed_dataset_cannot_be_granted(world, fresh):
    assert fresh.status == DatasetStatus.CLASSIFIED
    with pytest.raises(InvalidInput, match="confirmed first"):
        world.new_grant(columns={"people_copy": ("district",)}, activate=False)


def test_override_needs_a_reason_and_is_recorded(world, fresh):
    d, clerk = world.domain, world.providers["population"]
    with pytest.raises(InvalidInput, match="why"):
        d.catalog.confirm(clerk, "people_copy", overrides={"remark": "sensitive"})
    with pytest.raises(InvalidInput, match="column class"):
        d.catalog.confirm(clerk, "people_copy", overrides={"remark": "public"}, reason="x")
    with pytest.raises(InvalidInput, match="no column"):
        d.catalog.confirm(clerk, "people_copy", overrides={"nope": "other"}, reason="x")
    with pytest.raises(InvalidInput, match="privacy unit"):
        d.catalog.confirm(clerk, "people_copy", privacy_unit="district")
    with pytest.raises(InvalidInput, match="stricter"):
        d.catalog.confirm(clerk, "people_copy", min_group_size=5)
    other_clerk = world.providers["enterprise"]
    with pytest.raises(PermissionDenied):
        d.catalog.confirm(other_clerk, "people_copy")
    assert d.catalog.get("people_copy").status == DatasetStatus.CLASSIFIED  # refusals changed nothing

    ds = d.catalog.confirm(clerk, "people_copy", overrides={"marital_status": "sensitive"},
                           reason="marital status is sensitive under the provincial catalogue", min_group_size=20)
    col = {c["name"]: c for c in ds.classification["columns"]}["marital_status"]
    assert ds.column("marital_status").klass == "sensitive"
    assert col["decided_by"] == "provider" and "provincial catalogue" in col["reason"]
    assert ds.status == DatasetStatus.ACTIVE and ds.privacy_unit == "id_number" and ds.min_group_size == 20
    event = [e for e in _events(world, Action.DATASET_CONFIRM) if e.targets[0].id == "people_copy"][-1]
    assert event.reason.startswith("marital status") and event.details["overrides"] == {"marital_status": "sensitive"}
    with pytest.raises(InvalidTransition):
        d.catalog.confirm(clerk, "people_copy")


def test_a_dataset_name_is_registered_once(world, fresh):
    with pytest.raises(Conflict):
        world.domain.catalog.ingest(world.providers["population"], world.files["population"], name="people_copy",
                                    title="again", provider="zj-gongan", open_attribute="restricted")


def test_prohibited_data_is_never_granted(world):
    d, clerk = world.domain, world.providers["enterprise"]
    d.catalog.ingest(clerk, world.files["enterprise"], name="enterprise_secret", title="secret",
                     provider="zj-scjg", open_attribute="prohibited")
    ds = d.catalog.confirm(clerk, "enterprise_secret", privacy_unit="credit_code")
    assert ds.open_attribute == OpenAttribute.PROHIBITED
    before = d.store.one("SELECT count(*) AS n FROM grants")["n"]
    with pytest.raises(InvalidInput, match="prohibited"):
        world.new_grant(columns={"enterprise_secret": ("industry",)}, activate=False)
    with pytest.raises(InvalidInput, match="prohibited"):
        world.new_grant(columns={"population": ("district",), "enterprise_secret": ("industry",)}, activate=False)
    assert d.store.one("SELECT count(*) AS n FROM grants")["n"] == before


# -- bad files: one line, nothing half-registered ------------------------------------------

def _bad_files(folder, world):
    good = folder / "good.csv"
    write_csv(good, ["id_number", "district"], [[world.an_id_number(i), "西湖区"] for i in range(20)])
    files = {
        "empty.csv": b"",
        "header_only.csv": b"id_number,district\n",
        "ragged.csv": b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n",
        "not_text.csv": bytes(range(256)) * 40,
        "bad_utf8_and_gbk.csv": b"name,x\n" + b"\xff\xfe\xfa\x80\x81\x82,1\n" * 50,
        "duplicate_header.csv": b"a,a\n1,2\n3,4\n",
        "broken.parquet": b"PAR1" + b"\x00" * 100 + b"PAR1",
        "notes.txt": good.read_bytes(),
        "truncated.parquet": None,
    }
    paths = {}
    for name, content in files.items():
        path = folder / name
        if content is None:
            pq.write_table(pa.table({"a": list(range(1000))}), path)
            path.write_bytes(path.read_bytes()[:300])
        else:
            path.write_bytes(content)
        paths[name] = path
    paths["missing.csv"] = folder / "missing.csv"
    return paths


BAD = ["empty.csv", "header_only.csv", "ragged.csv", "not_text.csv", "bad_utf8_and_gbk.csv",
       "duplicate_header.csv", "broken.parquet", "notes.txt", "truncated.parquet", "missing.csv"]


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_file_gets_one_line_and_leaves_nothing(world, tmp_path, bad):
    d = world.domain
    path = _bad_files(tmp_path, world)[bad]
    events_before = d.audit_log.size()
    with pytest.raises(InvalidInput) as info:
        d.catalog.ingest(world.providers["population"], path, name="bad_one", title="bad",
                         provider="zj-gongan", open_attribute="restricted")
    message = info.value.diagnostics()
    assert message and "\n" not in message and len(message) < 400
    assert path.name in message  # says which file
    assert_nothing_registered(d, "bad_one")
    assert d.audit_log.size() == events_before  # nothing happened, nothing to record


def test_bad_arguments_leave_nothing(world):
    d, clerk = world.domain, world.providers["population"]
    src = world.files["enterprise"]
    cases = [
        dict(name="Bad-Name", title="t", provider="zj-gongan", open_attribute="restricted"),
        dict(name="ok_name", title="t", provider="zj-gongan", open_attribute="sometimes"),
        dict(name="ok_name", title="t", provider="zj-gongan", open_attribute="restricted", update_frequency="hourly"),
        dict(name="ok_name", title="  ", provider="zj-gongan", open_attribute="restricted"),
    ]
    for kwargs in cases:
        with pytest.raises(InvalidInput):
            d.catalog.ingest(clerk, src, **kwargs)
    assert_nothing_registered(d, "ok_name")


def test_people_without_the_ingest_permission_are_refused(world):
    d = world.domain
    reviewer = add_person(d, "rita", "reviewer", "zj-dsj")
    for actor, provider in ((reviewer, "zj-dsj"), (world.alice, "op-hz"), (world.providers["population"], "zj-scjg")):
        with pytest.raises(PermissionDenied):
            d.catalog.ingest(actor, world.files["enterprise"], name="sneaky", title="t", provider=provider,
                             open_attribute="unconditional")
    assert_nothing_registered(d, "sneaky")
    assert {e.actor.id for e in _events(world, Action.AUTH_DENIED)} >= {"rita", "alice", "zj-gongan-clerk"}


@pytest.mark.parametrize("case, header, newline, encoding", [
    ("excel_bom", "\ufeffid_number,district,amount", "\n", "utf-8"),
    ("windows_lines", "id_number,district,amount", "\r\n", "utf-8"),
    ("gb18030_rare", "id_number,区县,amount", "\n", "gb18030"),
    ("odd_names", '"id_number","select","x""y"', "\n", "utf-8"),
])
def test_real_world_csv_variants_are_ingested(world, tmp_path, case, header, newline, encoding):
    rows = [f"{world.an_id_number(i)},西湖区,{i}" for i in range(40)] + [f"{world.an_id_number(40)},𠀀区,1"]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(newline.join([header, *rows, ""]).encode(encoding))
    clerk = world.providers["population"]
    ds = world.domain.catalog.ingest(clerk, path, name=case, title="t", provider="zj-gongan", open_attribute="restricted")
    assert ds.rows == 41 and ds.columns[0].name == "id_number" and ds.columns[0].klass == "direct_identifier"
    assert world.domain.catalog.confirm(clerk, case).privacy_unit == "id_number"


def test_column_names_equal_but_for_case_are_refused_whole(world, tmp_path):
    path = write_csv(tmp_path / "dup.csv", ["id_number", "ID_NUMBER", "district"],
                     [[world.an_id_number(i), world.an_id_number(i), "西湖区"] for i in range(20)])
    with pytest.raises(InvalidInput, match="twice"):
        world.domain.catalog.ingest(world.providers["population"], path, name="dup_case", title="t",
                                    provider="zj-gongan", open_attribute="restricted")
    assert_nothing_registered(world.domain, "dup_case")


def test_the_privacy_unit_must_be_named_when_two_identifiers_compete(world, tmp_path):
    path = tmp_path / "contributions.parquet"
    pq.write_table(world.data.social_insurance, path)
    clerk = world.providers["social_insurance"]
    d = world.domain
    d.catalog.ingest(clerk, path, name="contributions", title="t", provider="zj-rlsb", open_attribute="restricted")
    with pytest.raises(InvalidInput, match="--privacy-unit"):
        d.catalog.confirm(clerk, "contributions")  # id_number or credit_code?
    assert d.catalog.confirm(clerk, "contributions", privacy_unit="credit_code").privacy_unit == "credit_code"
