"""Rules for models: `model_format`, `model_structure`, `membership_inference`.

The model card (`product.metadata`) names the training and holdout data as relations of the
domain's engine connection, the feature columns and the target:
`{"training": "train", "holdout": "holdout", "features": ["age", …], "target": "y"}`.
"""

from __future__ import annotations

import re

import numpy as np

from export_review.checks._sql import q
from export_review.checks.base import CheckContext, CheckResult, CheckStatus, Finding, cannot_decide
from export_review.errors import InvalidInput, UnsafeModelFile
from export_review.models import membership, safe_format, structure

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


def _model(ctx: CheckContext):
    return ctx.cached("model", lambda: safe_format.load(ctx.product.path))


def format_check(ctx: CheckContext) -> CheckResult:
    info = safe_format.inspect(ctx.product.path)
    try:
        _model(ctx)
    except UnsafeModelFile as exc:
        return CheckResult.of("model_format", [Finding(
            "model_format.unsafe", exc.message, entity=info.format, method="file inspection without loading",
            fix="save the model with skops.io.dump, using scikit-learn estimators only",
            details={"imports": list(info.refused[:10])})])
    return CheckResult.of("model_format", [Finding(
        "model_format.ok", f"skops file naming {len(info.types)} types, all on the allow-list",
        CheckStatus.PASSED, method="skops schema inspection, then load with those types trusted")])


def card(ctx: CheckContext) -> dict:
    meta = dict(ctx.product.metadata)
    for key in ("training", "holdout", "target"):
        if not isinstance(meta.get(key), str) or not _NAME.match(meta[key]):
            raise InvalidInput(f"the model card must name '{key}' (training and holdout relations, target)")
    features = meta.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) and _NAME.match(f)
                                                                 for f in features):
        raise InvalidInput("the model card must list the model's 'features'")
    return meta


def _rows(ctx: CheckContext, relation: str) -> int:
    def count() -> int:
        return ctx.cache["con"].execute(f"SELECT count(*) FROM {q(relation)}").fetchall()[0][0]
    return ctx.cached(f"rows:{relation}", count)


def structure_check(ctx: CheckContext) -> CheckResult:
    model = _model(ctx)
    size = structure.lookup_table_size(model)
    if size is not None:
        return CheckResult.of("model_structure", [Finding(
            "model_structure.not_a_model", f"the file is not an estimator but a table of {size} stored "
            "values: a lookup table reproduces its training data", fix="export a fitted estimator")])
    inv = structure.inventory(model)
    n_train = _rows(ctx, card(ctx)["training"])
    findings = _structure_findings(inv, n_train) + _string_findings(ctx, inv, n_train)
    if not findings:
        findings = [Finding("model_structure.ok", f"{', '.join(dict.fromkeys(inv.estimators))}: "
                            f"{inv.parameters} parameters for {n_train} training rows, no small leaves",
                            CheckStatus.PASSED)]
    return CheckResult.of("model_structure", findings)


def _structure_findings(inv: structure.Inventory, n_train: int) -> list[Finding]:
    out = []
    if inv.instance_based:
        out.append(Finding("model_structure.instance_based", f"{', '.join(inv.instance_based)} is "
                           "instance-based: it stores training rows and hands them to anyone who has "
                           "the model", fix="use a parametric model (e.g. regularised logistic regression)"))
    if inv.small_leaves:
        out.append(Finding("model_structure.small_leaves", f"{inv.small_leaves} of {inv.leaves} tree "
                           f"leaves describe fewer than {structure.MIN_LEAF} training samples",
                           rows=inv.small_leaves, fix=f"refit with min_samples_leaf ≥ {structure.MIN_LEAF} "
                           "(or a maximum depth) so no leaf singles people out"))
    ratio = inv.parameters / max(n_train, 1)
    if ratio >= structure.REJECT_RATIO:
        out.append(Finding("model_structure.lookup_table", f"{inv.parameters} parameters for {n_train} "
                           "training rows: at least one per row, a lookup table of its training data",
                           fix="use far fewer parameters than training rows"))
    elif ratio >= structure.FLAG_RATIO:
        out.append(Finding("model_structure.many_parameters", f"{inv.parameters} parameters for "
                           f"{n_train} training rows ({ratio:.0%}): a reviewer must judge whether the "
                           "model memorises", CheckStatus.NEEDS_REVIEW))
    return out


def _string_findings(ctx: CheckContext, inv: structure.Inventory, n_train: int) -> list[Finding]:
    """Category labels and class names stored in the model, checked like a product column."""
    if not inv.strings:
        return []
    import pyarrow as pa

    con = ctx.cache["con"]
    con.register("model_strings", pa.table({"v": sorted(inv.strings)}))
    hits = []
    for ds in ctx.raw.datasets():
        for col in ds.columns:
            if col.is_identifier:
                n = con.execute(f"SELECT count(*) FROM model_strings WHERE hash(upper(v)) IN (SELECT "
                                f"hash(upper(CAST({q(col.name)} AS VARCHAR))) FROM {q(ds.relation)})").fetchall()[0][0]
                if n:
                    hits.append(Finding("model_structure.raw_identifiers", f"the model stores {n} values of "
                                        f"the raw identifier {ds.name}.{col.name} (as categories or labels)",
                                        rows=n, entity=col.entity, source=f"{ds.name}.{col.name}",
                                        fix="never use identifiers as model features"))
    con.unregister("model_strings")
    return hits


def membership_check(ctx: CheckContext) -> CheckResult:
    meta, model = card(ctx), _model(ctx)
    cols = ", ".join(q(c) for c in meta["features"])
    con = ctx.cache["con"]
    data = []
    for rel in (meta["training"], meta["holdout"]):
        rows = con.execute(f"SELECT {cols}, {q(meta['target'])} FROM {q(rel)}").fetchnumpy()
        X = np.column_stack([rows[c] for c in meta["features"]])
        data.append((X, np.asarray(rows[meta["target"]])))
    try:
        result = membership.run_attack(model, data[0], data[1], repetitions=ctx.limits.mia_repetitions,
                                       max_rows=ctx.limits.mia_max_rows, seed=7, deadline=ctx.check_time)
    except ValueError as exc:
        return cannot_decide("membership_inference", str(exc), fix="provide more holdout rows")
    return CheckResult.of("membership_inference", [_mia_finding(result)])


def _mia_finding(r: membership.AttackResult) -> Finding:
    text = (f"membership attack over {len(r.aucs)} repetitions of {r.members} members and "
            f"{r.non_members} non-members: mean AUC {r.mean_auc:.3f} (limit {membership.AUC_LIMIT}), "
            f"{r.significant_share:.0%} of repetitions significant at p < {membership.P_VALUE} "
            f"(limit {membership.SIGNIFICANT_SHARE:.0%})")
    details = {"aucs": [round(a, 4) for a in r.aucs], "p_values": [round(p, 5) for p in r.p_values]}
    if r.rejected:
        return Finding("membership_inference.vulnerable", text + ": the model reveals who was in its "
                       "training data", method="SACRO-ML style worst-case attack (boosted trees on model outputs)",
                       fix="regularise more, use more training rows, or add noise", details=details)
    return Finding("membership_inference.ok", text, CheckStatus.PASSED,
                   method="SACRO-ML style worst-case attack (boosted trees on model outputs)", details=details)
