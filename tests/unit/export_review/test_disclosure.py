import pyarrow as pa

from export_review.checks.base import CheckStatus
from export_review.checks.disclosure import AggregateSpec, count_column, table_findings
from export_review.sdc_fix import round_counts, suppress_small_cells
from export_review.errors import InvalidInput
import pytest


def test_small_cells_fail_and_zeros_need_review():
    t = pa.table({"district": list("abcd"), "n": [12, 3, 0, 40]})
    found = {f.code: f for f in table_findings(t, "the table")}
    assert found["disclosure.small_cells"].status == CheckStatus.FAILED
    assert found["disclosure.small_cells"].details["rows"] == [2]
    assert found["disclosure.zero"].status == CheckStatus.NEEDS_REVIEW
    assert "suppress" in found["disclosure.small_cells"].fix


def test_magnitudes_without_a_declaration_cannot_be_decided_but_rates_can():
    t = pa.table({"district": list("ab"), "人数": [12, 30], "avg_income": [6000.5, 7000.0], "就业率": [0.5, 0.7]})
    codes = [f.code for f in table_findings(t, "the table")]
    assert codes == ["disclosure.magnitude_undecided"]


def test_no_count_column_needs_review():
    t = pa.table({"month": ["2026-01", "2026-02"], "forecast": [1.5, 2.5]})
    [f] = table_findings(t, "the table")
    assert f.status == CheckStatus.NEEDS_REVIEW and count_column(t) is None


def test_fixes():
    t = pa.table({"district": list("abc"), "n": [12, 3, 27], "avg": [1.0, 2.0, 3.0]})
    fixed = suppress_small_cells(t)
    assert fixed.column("n").to_pylist() == [12, None, 27] and fixed.column("avg").to_pylist() == [1.0, None, 3.0]
    assert round_counts(t).column("n").to_pylist() == [10, 0, 30]
    assert [f.code for f in table_findings(fixed, "t")] == ["disclosure.magnitude_undecided"]
    with pytest.raises(InvalidInput):
        suppress_small_cells(pa.table({"x": [1]}))


def test_spec_parsing():
    spec = AggregateSpec.parse({"dataset": "p", "group_by": ["a", "b"], "count_column": "n"})
    assert dict(spec.group_by) == {"a": "a", "b": "b"}
    for bad in ({}, {"dataset": "p"}, {"dataset": "p", "group_by": ["a"], "value_column": "v"}):
        with pytest.raises(InvalidInput):
            AggregateSpec.parse(bad)
