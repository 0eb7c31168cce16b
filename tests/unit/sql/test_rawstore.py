"""The encrypted raw store: round trip, no plaintext on disk, atomic writes, tamper evidence."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from domain.rawstore import (
    DatasetDamaged, DatasetExists, RawStoreError, SourceUnreadable, open_dataset, read_table, write_dataset,
)
from domain.rawstore import spark_jar
from tests.integration.sql import synthetic


@pytest.fixture(scope="module")
def people():
    return synthetic.generate(people=400, firms=20).population


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


def test_round_trip(tmp_path, people, key):
    info = write_dataset(people, tmp_path / "population", key)
    assert info.rows == people.num_rows
    assert info.columns == tuple(people.column_names)
    assert info.dtypes["birth_date"] == "date32[day]"
    assert len(info.sha256) == 64
    assert read_table(tmp_path / "population", key).equals(people)
    opened = open_dataset(tmp_path / "population", key)
    assert opened.rows == people.num_rows and opened.sha256 == info.sha256


def _needles(people) -> set[bytes]:
    needles = set()
    for column in ("id_number", "name", "mobile", "district", "education"):
        needles.update(v.encode("utf-8") for v in people.column(column).to_pylist())
    for value in people.column("income").to_pylist()[:200]:
        needles.add(struct.pack("<d", value))
    days = list(dict.fromkeys(people.column("birth_date").cast(pa.int32()).to_pylist()))
    for first, second in zip(days, days[1:]):  # dictionary pages list values in order of appearance
        needles.add(struct.pack("<ii", first, second))  # (4 bytes alone collide with lengths)
    return needles


def test_the_plaintext_detector_works(tmp_path, people):
    pq.write_table(people, tmp_path / "plain.parquet", compression="none", use_dictionary=False)
    blob = (tmp_path / "plain.parquet").read_bytes()
    needles = _needles(people)
    assert sum(n in blob for n in needles) > 0.9 * len(needles)


def test_files_on_disk_hold_no_plaintext_value(tmp_path, people, key, monkeypatch):
    from domain.rawstore import store

    # Without compression, so that nothing could hide a plaintext value from the detector.
    monkeypatch.setitem(store.WRITER_OPTIONS, "compression", "none")
    write_dataset(people, tmp_path / "population", key)
    blob = b"".join(p.read_bytes() for p in (tmp_path / "population").iterdir())
    found = [n for n in _needles(people) if n in blob]
    assert found == []
    data = (tmp_path / "population" / "part-00000.parquet").read_bytes()
    assert data[-4:] == b"PARE"  # Parquet with an encrypted footer
    for name in people.column_names:
        assert name.encode() not in data  # not even the schema is readable


def test_data_file_is_unreadable_without_key(tmp_path, people, key):
    write_dataset(people, tmp_path / "population", key)
    with pytest.raises(Exception):
        pq.read_table(tmp_path / "population" / "part-00000.parquet")


def test_wrong_key_is_refused(tmp_path, people, key):
    write_dataset(people, tmp_path / "population", key)
    with pytest.raises(DatasetDamaged):
        open_dataset(tmp_path / "population", os.urandom(32))


def test_tampered_manifest_is_refused(tmp_path, people, key):
    write_dataset(people, tmp_path / "population", key)
    path = tmp_path / "population" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["rows"] += 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(DatasetDamaged, match="does not verify"):
        open_dataset(tmp_path / "population", key)


def test_truncated_data_file_is_refused(tmp_path, people, key):
    write_dataset(people, tmp_path / "population", key)
    data = tmp_path / "population" / "part-00000.parquet"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(DatasetDamaged, match="wrong size"):
        open_dataset(tmp_path / "population", key)


def test_swapped_file_from_another_dataset_is_refused(tmp_path, people, key):
    other = os.urandom(32)
    write_dataset(people, tmp_path / "a", key)
    write_dataset(people, tmp_path / "b", other)
    (tmp_path / "a" / "manifest.json").write_bytes((tmp_path / "b" / "manifest.json").read_bytes())
    with pytest.raises(DatasetDamaged):
        open_dataset(tmp_path / "a", key)


def test_existing_destination_is_refused(tmp_path, people, key):
    write_dataset(people, tmp_path / "population", key)
    with pytest.raises(DatasetExists):
        write_dataset(people, tmp_path / "population", key)


@pytest.mark.parametrize("bad", [b"", b"short", os.urandom(16), "x" * 32, None])
def test_key_must_be_32_bytes(tmp_path, people, bad):
    with pytest.raises(RawStoreError, match="32 bytes"):
        write_dataset(people, tmp_path / "population", bad)


def test_failure_mid_stream_leaves_nothing(tmp_path, people, key):
    schema = people.schema

    def batches():
        yield from people.slice(0, 100).to_batches()
        raise OSError("the provider's disk went away")

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    with pytest.raises(Exception):
        write_dataset(reader, tmp_path / "population", key)
    assert list(tmp_path.iterdir()) == []


def test_streaming_source_in_many_small_batches(tmp_path, people, key):
    reader = pa.RecordBatchReader.from_batches(people.schema, people.to_batches(max_chunksize=7))
    info = write_dataset(reader, tmp_path / "population", key)
    assert info.sha256 == write_dataset(people, tmp_path / "again", key).sha256
    assert read_table(tmp_path / "population", key).equals(people)


def test_path_sources(tmp_path, people, key):
    pq.write_table(people, tmp_path / "in.parquet")
    pacsv.write_csv(people.select(["district", "income"]), tmp_path / "in.csv")
    assert write_dataset(tmp_path / "in.parquet", tmp_path / "p", key).rows == people.num_rows
    assert write_dataset(tmp_path / "in.csv", tmp_path / "c", key).rows == people.num_rows


def test_malformed_csv_is_refused_without_echoing_data(tmp_path, key):
    (tmp_path / "bad.csv").write_text("id_number,amount\n330127200007240006,1\n330127200007240007\n")
    with pytest.raises(SourceUnreadable) as caught:
        write_dataset(tmp_path / "bad.csv", tmp_path / "d", key)
    assert "3301" not in caught.value.diagnostics()
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("table,reason", [
    (pa.table({"a": [[1, 2]]}), "nested"),
    (pa.table({"__aod_x": [1]}), "reserved"),
    (pa.table({"A": [1], "a": [2]}), "twice"),
])
def test_unusable_schemas_are_refused(tmp_path, key, table, reason):
    with pytest.raises(SourceUnreadable, match=reason):
        write_dataset(table, tmp_path / "d", key)


def test_unsupported_sources(tmp_path, key):
    with pytest.raises(SourceUnreadable):
        write_dataset(tmp_path / "missing.parquet", tmp_path / "d", key)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SourceUnreadable):
        write_dataset(tmp_path / "x.json", tmp_path / "d", key)
    with pytest.raises(SourceUnreadable):
        write_dataset([1, 2, 3], tmp_path / "d", key)


def test_keys_never_appear_in_reprs(tmp_path, people, key):
    write_dataset(people, tmp_path / "population", key)
    opened = open_dataset(tmp_path / "population", key)
    text = repr(opened) + repr(opened.files)
    assert key.hex() not in text and repr(key) not in text
    assert repr(opened.files[0].dek) not in text


def test_spark_read_options_carry_key_in_memory_only(tmp_path, people, key):
    import base64

    write_dataset(people, tmp_path / "population", key)
    opened = open_dataset(tmp_path / "population", key)
    options = opened.spark_read_options()
    assert options["parquet.encryption.kms.client.class"] == "aod.rawstore.AodKmsClient"
    assert options["aod.rawstore.key.list"] == f"{opened.key_id}:{base64.b64encode(key).decode()}"
    assert base64.b64encode(key) not in b"".join(p.read_bytes() for p in (tmp_path / "population").iterdir())


def test_committed_kms_jar_matches_its_source():
    assert spark_jar.jar_source_sha256(spark_jar.JAR) == spark_jar.source_sha256()
    assert spark_jar.kms_jar() == spark_jar.JAR


def test_kms_jar_rebuilds_from_source(tmp_path):
    built = spark_jar.build(tmp_path / "kms.jar")
    assert spark_jar.jar_source_sha256(built) == spark_jar.source_sha256()
    assert Path(built).stat().st_size > 500
