import json

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from hypothesis import given, settings, strategies as st

from export_review.errors import CsrfError, ManifestInvalid
from export_review.product_io import read_table
from export_review.release import keys, manifest, watermark
from export_review.web import csrf

K1, K2 = b"1" * 32, b"2" * 32


def _table(n=60):
    return pa.table({"district": [f"区{i % 7}" for i in range(n)], "n": list(range(10, 10 + n)),
                     "rate": [round(0.1 + i / 997, 4) for i in range(n)], "avg": [6000.5 + i * 3.25 for i in range(n)]})


def test_numeric_watermark_survives_reordering_and_subsetting(tmp_path):
    src, dst = tmp_path / "t.csv", tmp_path / "m.csv"
    pcsv.write_csv(_table(), src)
    assert watermark.mark_file(src, dst, K1) == "numeric"
    marked = read_table(dst)
    original = read_table(src)
    for name in ("rate", "avg"):  # below the published precision
        diffs = [abs(a - b) for a, b in zip(marked.column(name).to_pylist(), original.column(name).to_pylist())]
        assert max(diffs) < (1e-4 if name == "rate" else 1e-2)
    leak = tmp_path / "leak.csv"
    pcsv.write_csv(marked.select(["avg", "district"]).slice(10, 12), leak)
    assert watermark.read_evidence(leak, K1).p_value < 1e-6
    assert watermark.read_evidence(leak, K2).p_value > 1e-3


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 59), min_size=8, max_size=30, unique=True), st.permutations(["district", "n"]))
def test_text_watermark_survives_any_row_subset_and_column_order(tmp_path_factory, rows, order):
    folder = tmp_path_factory.mktemp("wm")
    src, dst, leak = folder / "t.csv", folder / "m.csv", folder / "leak.csv"
    pcsv.write_csv(_table().select(["district", "n"]), src)
    assert watermark.mark_file(src, dst, K1) == "text"
    pcsv.write_csv(read_table(dst).take(pa.array(sorted(rows))).select(order), leak)
    assert watermark.read_evidence(leak, K1).p_value < 1e-6
    assert watermark.read_evidence(leak, K2).p_value > 1e-4


def test_report_and_model_marks(tmp_path):
    report = tmp_path / "r.md"
    report.write_text("# 标题\n\n第一行结论。\n第二行结论。\n第三行。\n第四行。\n第五行。\n", encoding="utf-8")
    watermark.mark_file(report, tmp_path / "m.md", K1)
    assert watermark.read_evidence(tmp_path / "m.md", K1).p_value < 1e-6
    import zipfile
    with zipfile.ZipFile(tmp_path / "model.skops", "w") as z:
        z.writestr("schema.json", "{}")
    assert watermark.mark_file(tmp_path / "model.skops", tmp_path / "m.skops", K1) == "tag"
    assert watermark.read_evidence(tmp_path / "m.skops", K1).p_value == 0.0
    assert watermark.read_evidence(tmp_path / "m.skops", K2).p_value == 1.0


def test_manifest_signature_and_hash(tmp_path):
    key = keys.load_or_create(tmp_path)
    assert (tmp_path / "keys" / "export-signing.pem").stat().st_mode & 0o777 == 0o600
    assert keys.load_or_create(tmp_path).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    f = tmp_path / "f.csv"
    f.write_text("a,b\n1,2\n")
    signed = manifest.sign({"request_id": "x-1", "sha256": manifest.sha256_file(f)}, key)
    assert manifest.verify_file(f, signed, key.public_key())["request_id"] == "x-1"
    tampered = json.loads(json.dumps(signed))
    tampered["manifest"]["request_id"] = "x-2"
    with pytest.raises(ManifestInvalid, match="signature"):
        manifest.verify_file(f, tampered, key.public_key())
    f.write_text("a,b\n1,3\n")
    with pytest.raises(ManifestInvalid, match="changed"):
        manifest.verify_file(f, signed, key.public_key())
    other = keys.load_or_create(tmp_path / "other")
    with pytest.raises(ManifestInvalid):
        manifest.check_signature(signed, other.public_key())


def test_watermark_keys_differ_per_request(tmp_path):
    key = keys.load_or_create(tmp_path)
    assert keys.watermark_key(key, "x-1") != keys.watermark_key(key, "x-2")
    assert keys.watermark_key(key, "x-1") == keys.watermark_key(key, "x-1")


def test_csrf_tokens():
    token = csrf.issue(b"s" * 32, "rita", now=1000)
    csrf.check(b"s" * 32, "rita", token, now=1500)
    for bad in (None, "", "x", token + "0", csrf.issue(b"t" * 32, "rita", now=1000)):
        with pytest.raises(CsrfError):
            csrf.check(b"s" * 32, "rita", bad, now=1500)
    with pytest.raises(CsrfError):
        csrf.check(b"s" * 32, "rob", token, now=1500)
    with pytest.raises(CsrfError):
        csrf.check(b"s" * 32, "rita", token, now=1000 + csrf.TTL_SECONDS + 1)
