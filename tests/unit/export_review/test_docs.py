"""The API page documents every rule, status, error and CLI command (docs coverage)."""

from pathlib import Path

from export_review import errors
from export_review.checks.registry import RULES, rules_for
from export_review.checks.base import ProductKind
from export_review.workflow.status import RequestStatus, diagram

DOC = (Path(__file__).resolve().parents[3] / "docs" / "api" / "export_review.md").read_text(encoding="utf-8")


def test_every_rule_is_documented():
    for kind in ProductKind:
        rules_for(kind)
    assert RULES
    for name in RULES:
        assert f"`{name}`" in DOC, name


def test_every_status_and_the_generated_diagram_are_documented():
    for status in RequestStatus:
        assert status.value in DOC
    assert diagram().strip() in DOC


def test_every_error_is_documented():
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.ExportReviewError):
            assert name in DOC, name


def test_every_cli_command_is_documented():
    from export_review.cli import app

    for command in app.registered_commands:
        assert command.name in DOC, command.name
