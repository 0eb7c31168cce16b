"""Scope validation and rule combinators."""

from __future__ import annotations

import dataclasses

import pytest

from domain.errors import InvalidInput
from domain.sql import ColumnClass, ColumnGrant, DatasetScope, Scope
from domain.sql.rules import AllOf, AnyOf, Predicate


def people(**settings) -> DatasetScope:
    return DatasetScope.build("population", {"id_number": "direct_identifier", "district": "quasi_identifier"},
                              "id_number", **settings)


def test_scope_is_frozen_and_normalised():
    scope = Scope((people(),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        scope.datasets = ()
    assert scope.get("POPULATION") is scope.datasets[0]
    assert scope.schema() == {"population": {"id_number": "UNKNOWN", "district": "UNKNOWN"}}
    assert scope.datasets[0].column("District").klass is ColumnClass.QUASI_IDENTIFIER


@pytest.mark.parametrize("settings,match", [
    ({"min_group_size": 1}, "at least 2"),
    ({"suppress_below": -1}, "suppress_below"),
    ({"round_to": 0}, "round_to"),
])
def test_scope_cannot_be_built_to_protect_nobody(settings, match):
    with pytest.raises(InvalidInput, match=match):
        people(**settings)


def test_privacy_unit_is_required_and_must_exist():
    with pytest.raises(InvalidInput, match="privacy-unit"):
        DatasetScope.build("t", {"a": "other"}, "")
    with pytest.raises(InvalidInput, match="not a column"):
        DatasetScope.build("t", {"a": "other"}, "person", all_columns=("a",))


def test_ungranted_privacy_unit_is_still_exposed_to_the_engine():
    dataset = DatasetScope.build("t", {"a": "other"}, "person", all_columns=("a", "person"))
    assert dataset.view_columns() == ("a", "person")
    assert "person" not in Scope((dataset,)).schema()["t"]


@pytest.mark.parametrize("table", ["", "1abc", "a-b", "__aod_x", "x" * 70])
def test_bad_table_names(table):
    with pytest.raises(InvalidInput):
        DatasetScope.build(table, {"a": "other"}, "a")


def test_duplicate_tables_and_columns_are_refused():
    with pytest.raises(InvalidInput):
        Scope((people(), people()))
    with pytest.raises(InvalidInput):
        DatasetScope("t", (ColumnGrant("a", "other"), ColumnGrant("A", "other")), "a")
    with pytest.raises(InvalidInput):
        ColumnGrant("__aod_u0", "other")
    with pytest.raises(InvalidInput):
        Scope(())
    with pytest.raises(ValueError):
        ColumnGrant("a", "secretish")


def test_all_of_and_any_of():
    yes, no = Predicate(lambda s: True), Predicate(lambda s: False, "nope")
    assert AllOf([yes, yes]).check(None) == ()
    assert AllOf([yes, no, no]).check(None) == ("nope",)
    assert AnyOf([no, yes], otherwise=lambda s: "none held").check(None) == ()
    assert AnyOf([no, no], otherwise=lambda s: f"none held for {s}").check(7) == ("none held for 7",)


def test_empty_combinators_are_errors_not_vacuous_passes():
    with pytest.raises(ValueError):
        AllOf([])
    with pytest.raises(ValueError):
        AnyOf([], otherwise=str)
