"""Structural rules over a loaded model (SACRO-ML's, plus lookup tables):

* instance-based models (k-nearest neighbours, kernel SVMs, Gaussian processes, kernel density,
  label propagation, local outlier factor) store training rows: rejected outright;
* a tree leaf describing fewer than 5 training samples singles people out: rejected;
* parameters large relative to the training rows are flagged (≥ 10 %), and a model with at
  least one parameter per training row (a lookup table in disguise) is rejected;
* a file that is not an estimator at all (a dict or array of values) is a lookup table: rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

MIN_LEAF = 5
FLAG_RATIO = 0.10
REJECT_RATIO = 1.0
INSTANCE_BASED = ("KNeighbors", "RadiusNeighbors", "NearestNeighbors", "SVC", "SVR", "NuSVC", "NuSVR",
                  "OneClassSVM", "KernelDensity", "GaussianProcess", "KernelRidge", "LabelPropagation",
                  "LabelSpreading", "LocalOutlierFactor", "KDTree", "BallTree")


@dataclass
class Inventory:
    estimators: list[str] = field(default_factory=list)
    instance_based: list[str] = field(default_factory=list)
    small_leaves: int = 0
    leaves: int = 0
    parameters: int = 0             # non-tree parameters, plus the largest single tree
    largest_tree: int = 0
    strings: set[str] = field(default_factory=set)


def components(obj: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """The estimator and every estimator inside it (pipelines, column transformers, ensembles)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    children: list[Any] = []
    for name in ("steps", "transformers_", "estimators_", "estimator", "estimator_", "base_estimator",
                 "final_estimator_", "named_estimators_", "_predictors"):
        value = getattr(obj, name, None)
        if value is not None:
            children.append(value)
    for child in _flatten(children):
        if hasattr(child, "fit") or hasattr(child, "predict") or _is_hist_predictor(child):
            yield from components(child, seen)


def _flatten(items) -> Iterator[Any]:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        elif isinstance(item, dict):
            yield from _flatten(list(item.values()))
        elif isinstance(item, np.ndarray) and item.dtype == object:
            yield from _flatten(list(item.ravel()))
        elif not isinstance(item, (str, int, float, np.ndarray)):
            yield item


def _is_hist_predictor(obj: Any) -> bool:
    return type(obj).__name__ == "TreePredictor"


def inventory(model: Any) -> Inventory:
    inv = Inventory()
    for part in components(model):
        name = type(part).__name__
        inv.estimators.append(name)
        if any(key in name for key in INSTANCE_BASED) or getattr(part, "kernel", "linear") not in ("linear", None) \
                and name.endswith(("SVC", "SVR")):
            inv.instance_based.append(name)
        _count_leaves(part, inv)
        _count_parameters(part, inv)
    return inv


def _count_leaves(part: Any, inv: Inventory) -> None:
    tree = getattr(part, "tree_", None)
    if tree is not None and hasattr(tree, "children_left"):
        leaves = tree.children_left == -1
        inv.leaves += int(leaves.sum())
        inv.small_leaves += int((tree.n_node_samples[leaves] < MIN_LEAF).sum())
    elif _is_hist_predictor(part):
        nodes = part.nodes
        leaves = nodes["is_leaf"].astype(bool)
        inv.leaves += int(leaves.sum())
        inv.small_leaves += int((nodes["count"][leaves] < MIN_LEAF).sum())


def _count_parameters(part: Any, inv: Inventory) -> None:
    """Trees of an ensemble each see (a resample of) the same rows: the largest one counts."""
    tree = getattr(part, "tree_", None)
    size = 0
    if tree is not None and hasattr(tree, "node_count"):
        size = int(tree.node_count) * 2 + int(np.asarray(tree.value).size)
    elif _is_hist_predictor(part):
        size = int(part.nodes.shape[0]) * 3
    if size > inv.largest_tree:
        inv.parameters += size - inv.largest_tree
        inv.largest_tree = size
    for attr, value in vars(part).items():
        if not attr.endswith("_") or attr in ("tree_",):
            continue
        _absorb(value, inv)


def _absorb(value: Any, inv: Inventory) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiub":
            inv.parameters += int(value.size)
        elif value.dtype.kind in "USO":
            for v in value.ravel():
                if isinstance(v, (str, np.str_)):
                    inv.strings.add(str(v))
                elif isinstance(v, np.ndarray):
                    _absorb(v, inv)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _absorb(v, inv)


def lookup_table_size(obj: Any) -> int | None:
    """For a file that is not an estimator: how many values it stores (None for an estimator)."""
    if hasattr(obj, "predict") or hasattr(obj, "transform"):
        return None
    inv = Inventory()
    for v in (obj.values() if isinstance(obj, dict) else [obj]):
        _absorb(v if not isinstance(v, (list, tuple)) else np.asarray(v, dtype=object), inv)
    return inv.parameters + len(inv.strings)
