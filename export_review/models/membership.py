"""An empirical membership-inference attack, run inside the domain (SACRO-ML's worst case).

Members are rows the model was trained on, non-members rows of the same population it never
saw (the holdout). Each repetition draws as many of each, computes the model's output on
them, trains an attack classifier (gradient-boosted trees — SACRO-ML uses a random forest; this
is as strong and an order of magnitude cheaper — over the sorted class probabilities and the
probability of the true label, or the squared error for regressors) on 70 % of them and scores
it on the other 30 %: the attack's AUC and its one-sided p-value against AUC = 0.5
(Mann–Whitney normal approximation). The model is rejected when the mean AUC exceeds 0.65 or
more than 10 % of repetitions are significant at p < 0.05.

Repetitions: with 10 (SACRO-ML's default), "more than 10 % significant" means 2 of 10, which a
model that leaks nothing reaches 8.6 % of the time (Binomial(10, 0.05) ≥ 2) — we saw it happen
to a regularised logistic regression on 100k rows. The domain runs 100 repetitions by default
(each on a fresh draw of members and non-members): the same thresholds then block a harmless
model about 1 % of the time (Binomial(100, 0.05) ≥ 11), at ~0.3 s per repetition.

Rows are read from the engine connection into this process only; nothing but the AUCs leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

AUC_LIMIT = 0.65
SIGNIFICANT_SHARE = 0.10
P_VALUE = 0.05


@dataclass(frozen=True)
class AttackResult:
    aucs: tuple[float, ...]
    p_values: tuple[float, ...]
    members: int
    non_members: int

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.aucs)) if self.aucs else 1.0

    @property
    def significant_share(self) -> float:
        return float(np.mean([p < P_VALUE for p in self.p_values])) if self.p_values else 1.0

    @property
    def rejected(self) -> bool:
        return self.mean_auc > AUC_LIMIT or self.significant_share > SIGNIFICANT_SHARE


def auc_p_value(auc: float, n_pos: int, n_neg: int) -> float:
    """One-sided p-value of an AUC against 0.5 (Mann–Whitney U, normal approximation)."""
    from scipy.stats import norm

    se = math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))
    return float(norm.sf((auc - 0.5) / se))


def attack_features(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        classes = list(getattr(model, "classes_", range(proba.shape[1])))
        index = np.array([classes.index(v) if v in classes else -1 for v in y])
        true_p = np.where(index >= 0, proba[np.arange(len(y)), np.clip(index, 0, None)], 0.0)
        return np.column_stack([-np.sort(-proba, axis=1), true_p])
    pred = np.asarray(model.predict(X), dtype=float)
    return ((pred - y.astype(float)) ** 2).reshape(-1, 1)


def run_attack(model: Any, train: tuple[np.ndarray, np.ndarray], holdout: tuple[np.ndarray, np.ndarray],
               *, repetitions: int = 100, max_rows: int = 5000, seed: int = 0, deadline=None) -> AttackResult:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # OpenMP threads fight over 2 shared cores: one is faster
        return _attack(model, train, holdout, repetitions, max_rows, seed, deadline)


def _attack(model, train, holdout, repetitions, max_rows, seed, deadline) -> AttackResult:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    m = int(min(len(train[1]), len(holdout[1]), max_rows))
    if m < 50:
        raise ValueError("membership inference needs at least 50 training and 50 holdout rows")
    aucs, ps = [], []
    for rep in range(repetitions):
        if deadline:
            deadline()
        mi = rng.choice(len(train[1]), m, replace=False)
        ni = rng.choice(len(holdout[1]), m, replace=False)
        feats = np.vstack([attack_features(model, train[0][mi], train[1][mi]),
                           attack_features(model, holdout[0][ni], holdout[1][ni])])
        labels = np.r_[np.ones(m), np.zeros(m)]
        order = rng.permutation(2 * m)
        cut = int(0.7 * 2 * m)
        fit, test = order[:cut], order[cut:]
        attack = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, min_samples_leaf=20,
                                                early_stopping=False, random_state=rep)
        attack.fit(feats[fit], labels[fit])
        score = attack.predict_proba(feats[test])[:, 1]
        auc = float(roc_auc_score(labels[test], score))
        aucs.append(auc)
        ps.append(auc_p_value(auc, int(labels[test].sum()), int((1 - labels[test]).sum())))
    return AttackResult(tuple(aucs), tuple(ps), m, m)
