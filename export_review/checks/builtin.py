"""Registers the built-in rules (imported once by the registry)."""

from export_review.checks import disclosure, identifiers, models, raw_rows, reversible, scenario
from export_review.checks.base import ProductKind as K
from export_review.checks.registry import register

ALL = tuple(K)
TABLES = (K.DATA_PACKAGE, K.REPORT)

register("scenario", ALL, title="Scenario and grant")(scenario.check)
register("raw_rows", TABLES, needs_raw=True, title="Raw rows")(raw_rows.check)
register("identifiers", TABLES, needs_raw=True, title="Identifiers")(identifiers.check)
register("reversible", TABLES, needs_raw=True, title="Reversible transforms")(reversible.check)
register("disclosure", TABLES, needs_raw=True, title="Disclosure control")(disclosure.check)
register("model_format", (K.MODEL,), title="Safe model format")(models.format_check)
register("model_structure", (K.MODEL,), needs_raw=True, title="Model structure")(models.structure_check)
register("membership_inference", (K.MODEL,), needs_raw=True, title="Membership inference")(models.membership_check)


def _api_template(ctx):
    from export_review.api.gateway import check_template_rule

    return check_template_rule(ctx)


register("api_template", (K.API,), title="Query template")(_api_template)
