"""desensitize: find and desensitize Chinese personal and enterprise identifiers at column speed.

A pure library over files and Arrow tables (it never sees the control plane):

    from desensitize import classify, TransformPlan, apply, make_sample, scan_table

    cls = classify("people.csv")                  # per column: class, entity, confidence, evidence
    cls.save("people.classification.json")        # the provider reviews, confirms or overrides
    plan = TransformPlan.default(cls)             # mask | pseudonymize | generalize | suppress | …
    apply("people.csv", "people.parquet", plan, secret=dataset_secret)
    report = make_sample("people.csv", "sample.parquet", cls, secret=dataset_secret, rows=5000, k=5)
    findings = scan_table(table)                  # identifiers anywhere (used by export checks)

Names are loaded lazily, so importing the package (and `aod --help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DesensitizeError": "errors", "InputError": "errors", "PlanError": "errors",
    "ClassificationError": "errors", "CannotCertify": "errors", "SampleCheckFailed": "errors",
    "SecretError": "errors",
    "Entity": "entities", "ColumnClass": "entities", "Grade": "entities",
    "normalize_identifier": "normalize", "canonical_identifier": "normalize",
    "normalize_array": "normalize", "normalize_sql": "normalize", "canonical_sql": "normalize",
    "detect_value": "checks",
    "read_table": "io", "open_source": "io",
    "classify": "classification", "Classification": "classification", "ColumnProfile": "classification",
    "TransformPlan": "plan", "ColumnTransform": "plan",
    "apply": "bulk", "ApplyReport": "bulk", "transform_table": "bulk",
    "make_sample": "sample", "SampleReport": "sample",
    "scan_table": "scan", "scan_values": "scan", "Finding": "scan",
    "pseudonymize": "pseudonym", "pseudonymize_value": "pseudonym", "pseudonym_sql": "pseudonym",
    "PSEUDONYM_PREFIX": "pseudonym",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'desensitize' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
