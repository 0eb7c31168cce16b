"""The public names other packages code against."""

from __future__ import annotations

import importlib

import desensitize

CONTRACT = ["classify", "Classification", "ColumnProfile", "ColumnClass", "Entity", "Grade", "TransformPlan",
            "apply", "make_sample", "SampleReport", "scan_table", "scan_values", "read_table",
            "normalize_identifier", "DesensitizeError", "pseudonymize", "pseudonymize_value", "pseudonym_sql",
            "normalize_array", "canonical_identifier", "Finding", "ApplyReport"]


def test_every_contract_name_is_exported_and_callable_or_a_type():
    for name in CONTRACT:
        value = getattr(desensitize, name)
        assert callable(value), name
    assert set(CONTRACT) <= set(desensitize.__all__)


def test_functions_are_not_shadowed_by_submodules():
    importlib.import_module("desensitize.classification")
    importlib.import_module("desensitize.bulk")
    from desensitize import apply, classify

    assert callable(classify) and not hasattr(classify, "__path__")
    assert apply.__module__ == "desensitize.bulk"


def test_importing_the_cli_does_not_import_heavy_modules():
    import subprocess
    import sys

    code = ("import sys, desensitize.cli; heavy = [m for m in ('duckdb', 'presidio_analyzer', 'pyarrow') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_errors_have_one_line_diagnostics():
    from desensitize import errors

    for cls in (errors.InputError, errors.PlanError, errors.ClassificationError, errors.CannotCertify,
                errors.SampleCheckFailed, errors.SecretError):
        e = cls("line one\nline two")
        assert isinstance(e, desensitize.DesensitizeError)
        assert e.diagnostics() == "line one line two"
