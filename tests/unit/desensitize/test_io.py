"""Reading CSV (UTF-8, BOM, GBK) and Parquet; one-line errors without values; atomic writes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desensitize import read_table
from desensitize.errors import DesensitizeError, InputError
from desensitize.io import AtomicParquetWriter, open_source, sample_table

ROWS = "姓名,身份证号,金额\n张三,330106199001011234,001\n李四,33010619900101123X,\n"


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf8"), ("utf-8-sig", "utf8"), ("gbk", "gb18030"),
                                               ("gb18030", "gb18030")])
def test_csv_encodings(tmp_path, encoding, expected):
    path = tmp_path / "people.csv"
    path.write_bytes(ROWS.encode(encoding))
    assert open_source(path).encoding == expected
    table = read_table(path)
    assert table.column_names == ["姓名", "身份证号", "金额"]
    assert table.to_pylist()[1] == {"姓名": "李四", "身份证号": "33010619900101123X", "金额": None}
    assert table.column("金额").to_pylist()[0] == "001"  # text: leading zeros kept


def test_parquet_and_tables_pass_through(tmp_path):
    t = pa.table({"a": [1, 2, 3]})
    pq.write_table(t, tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.parquet").equals(t)
    assert read_table(t, max_rows=2).num_rows == 2


BAD = {
    "fields.csv": (b"a,b\n1,2\n3,4,5\n", "malformed CSV: a row has 3 fields, expected 2"),
    "bytes.csv": (b"a,b\n\xff\xfe\xfd\xfc\xfb,2\n", "neither UTF-8 nor GBK"),
    "empty.csv": (b"", "empty"),
    "dup.csv": (b"a,a\n1,2\n", "appears twice"),
    "noname.csv": (b"a,,c\n1,2,3\n", "a column has no name"),
    "binary.csv": (b"a,b\x00\x01\n", "binary data"),
    "fake.parquet": (b"PAR1 not really", "not a valid Parquet file"),
    "utf16.csv": ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_input_gives_one_line_naming_the_file(tmp_path, name):
    data, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_table(path)
    text = info.value.diagnostics()
    assert message in text and str(path) in text and "\n" not in text


def test_a_bad_row_late_in_the_file_is_reported_without_its_values(tmp_path):
    path = tmp_path / "late.csv"
    secret_row = "330106199001011234,13812345678,张三,extra"
    path.write_text("a,b,c\n" + "1,2,3\n" * 50_000 + secret_row + "\n", encoding="utf-8")
    with pytest.raises(DesensitizeError) as info:
        read_table(path)
    text = info.value.diagnostics()
    assert "330106199001011234" not in text and "13812345678" not in text and "张三" not in text


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "nope.csv")


def test_parquet_sample_is_spread_over_the_file(tmp_path):
    pq.write_table(pa.table({"i": list(range(100_000))}), tmp_path / "t.parquet", row_group_size=10_000)
    sample = sample_table(tmp_path / "t.parquet", 5000)
    assert sample.num_rows == 5000
    assert max(sample.column("i").to_pylist()) > 50_000


def test_atomic_writer_leaves_nothing_on_error(tmp_path):
    dest = tmp_path / "out.parquet"
    schema = pa.schema([("a", pa.int64())])
    with pytest.raises(RuntimeError):
        with AtomicParquetWriter(dest, schema) as w:
            w.write(pa.table({"a": [1]}))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with AtomicParquetWriter(dest, schema) as w:
        w.write(pa.table({"a": [1]}))
    assert pq.read_table(dest).num_rows == 1 and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("group_rows, batch_size", [(700, 3000), (5000, 1000), (10000, 10000), (3, 262144)])
def test_parquet_batches_are_read_group_by_group_and_lose_nothing(tmp_path, group_rows, batch_size):
    table = pa.table({"a": list(range(10000)), "b": [str(i) for i in range(10000)]})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=group_rows)
    batches = list(open_source(tmp_path / "t.parquet").batches(batch_size))
    assert all(0 < b.num_rows <= batch_size for b in batches)
    assert pa.Table.from_batches(batches).equals(table)


def test_parquet_sample_reads_the_head_of_each_picked_group(tmp_path):
    table = pa.table({"a": list(range(100_000))})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=10_000)
    sample = sample_table(tmp_path / "t.parquet", 3000)
    firsts = sorted({v // 10_000 for v in sample.column("a").to_pylist()})
    assert sample.num_rows == 3000 and len(firsts) == 3
    assert sample.column("a").to_pylist() == [g * 10_000 + i for g in firsts for i in range(1000)]
