"""Every kind of tampering is caught by `verify` and pointed at (segment, event, tree head)."""

from __future__ import annotations

import shutil

import pytest

from audit import AuditLog, AuditVerificationError

from .tampering import TAMPERS, build_pristine


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return build_pristine(tmp_path_factory.mktemp("pristine"))


def test_the_pristine_log_verifies(pristine):
    log = AuditLog.reader(pristine.dir)
    report = log.verify(trusted=[pristine.head_before_tail], deep=True)
    assert report.size == pristine.size and report.tree_heads >= 7


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampering_is_caught_and_pointed_at(name, pristine, tmp_path):
    copy = tmp_path / "audit"
    shutil.copytree(pristine.dir, copy)
    expect = TAMPERS[name](copy, pristine)
    log = AuditLog.reader(copy, clock=lambda: __import__("tests.unit.audit.conftest", fromlist=["T0"]).T0.replace(year=2027))
    with pytest.raises(AuditVerificationError) as err:
        log.verify(pristine.signer.public_key, trusted=[pristine.head_before_tail])
    problems = err.value.problems
    matching = [p for p in problems if p.step == expect.step
                and (expect.segment is None or p.segment == expect.segment)
                and (expect.index is None or p.index == expect.index)
                and (expect.tree_head is None or p.tree_head == expect.tree_head)]
    assert matching, f"{name}: expected {expect}, got " + "; ".join(p.describe() for p in problems)
    assert err.value.diagnostics() == problems[0].describe() + (
        f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else "")


@pytest.mark.parametrize("offset", [0, 1, 9, 10, 40, 80, 120, 200, -60, -40, -36, -30, -9, -2, -1])
def test_flipping_any_byte_of_a_sealed_record_is_caught(offset, pristine, tmp_path):
    copy = tmp_path / "audit"
    shutil.copytree(pristine.dir, copy)
    seg = copy / "segments" / "000000000000.jsonl"
    data = bytearray(seg.read_bytes())
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A][:-1]
    line_start, line_end = starts[5], starts[6] - 1
    pos = line_start + offset if offset >= 0 else line_end + offset
    data[pos] ^= 0x01
    seg.write_bytes(bytes(data))
    with pytest.raises(AuditVerificationError) as err:
        AuditLog.reader(copy).verify(pristine.signer.public_key)
    assert any(p.index in (5, 6) or p.tree_head == 8 for p in err.value.problems), \
        [p.describe() for p in err.value.problems]


def test_deep_verification_catches_an_altered_index_column(pristine, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "audit"
    shutil.copytree(pristine.dir, copy)
    path = next((copy / "index").glob("000000000016_*.parquet"))
    table = pq.read_table(path)
    orgs = ["op-forged"] + table.column("org").to_pylist()[1:]
    pq.write_table(table.set_column(table.schema.get_field_index("org"), "org", pa.array(orgs)), path)
    log = AuditLog.reader(copy)
    log.verify(pristine.signer.public_key)  # the leaf hashes in the index still match
    with pytest.raises(AuditVerificationError) as err:
        log.verify(pristine.signer.public_key, deep=True)
    assert err.value.first.step == "index" and err.value.first.segment == "000000000016"
