"""Benchmark: membership-inference check of a model trained on 100k rows.

    python bench/export_mia.py [--rows 100000]

The model is a regularised logistic regression (the good case: the attack must run all its
repetitions). Baseline, measured in the same run: training that model once. Prints seconds
and the ratio check/baseline. Target: check ≤ 120 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from export_review.checks import CheckContext, Product, ProductKind, run_checks
    from export_review.engine import DuckDBRawAccess
    from export_review.testing.planted import FEATURES, _card, _xy, model_data
    from export_review.testing.synthetic import population, population_dataset

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    raw = population(2 * args.rows + 10, seed=4)
    train, holdout = model_data(raw, rows=args.rows)
    X, y = _xy(train)
    t = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)).fit(X, y)
    baseline = time.perf_counter() - t
    folder = Path(tempfile.mkdtemp(prefix="aod-bench-"))
    sio.dump(model, folder / "model.skops")
    access = DuckDBRawAccess([population_dataset()], {"population": raw}, extra={"train": train, "holdout": holdout})
    ctx = CheckContext(Product(ProductKind.MODEL, folder / "model.skops", _card()), raw=access)
    t = time.perf_counter()
    report = run_checks(ctx, only=["model_format", "model_structure", "membership_inference"])
    check = time.perf_counter() - t
    for r in report.results:
        print(f"  {r.rule:<22} {r.status.value:<8} {r.seconds:6.1f} s  {r.findings[0].message[:110]}")
    print(f"baseline (training the model once on {args.rows:,} rows, {len(FEATURES)} features): {baseline:.2f} s")
    print(f"check: {check:.1f} s  -> ratio {check / baseline:.1f}x baseline; "
          f"target 120 s: {'met' if check <= 120 else 'MISSED'}; verdict {report.status.value}")


if __name__ == "__main__":
    main()
