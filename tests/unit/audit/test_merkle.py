"""RFC 6962 maths against the reference vectors (stored as JSON) and a reference model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc6962.json").read_text())
LEAVES = [merkle.hash_leaf(bytes.fromhex(x)) for x in VECTORS["leaves_hex"]]
ROOTS = {int(k): bytes.fromhex(v) for k, v in VECTORS["roots_by_size"].items()}
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 §2.1 (recursive)."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.largest_power_of_two_below(len(leaves))
    return merkle.hash_children(reference_root(leaves[:k]), reference_root(leaves[k:]))


def source(leaves):
    return lambda level, index: reference_root(leaves[index << level:(index + 1) << level])


def test_prefixes_are_0x00_for_leaves_and_0x01_for_nodes():
    import hashlib

    assert merkle.hash_leaf(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.hash_children(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_roots_match_the_reference_vectors(size):
    assert merkle.root_of(LEAVES[:size]) == ROOTS[size]
    cr = merkle.CompactRange()
    cr.extend_run(LEAVES[:size])
    assert cr.root() == ROOTS[size]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}-of-{c['size']}")
def test_inclusion_proofs_match_and_verify(case):
    index, size = case["index"], case["size"]
    proof = merkle.inclusion_proof(index, size, source(LEAVES[:size]))
    assert [p.hex() for p in proof] == case["path"]
    assert merkle.verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['old']}-to-{c['new']}")
def test_consistency_proofs_match_and_verify(case):
    old, new = case["old"], case["new"]
    proof = merkle.consistency_proof(old, new, source(LEAVES[:new]))
    assert [p.hex() for p in proof] == case["path"]
    assert merkle.verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def _inclusion_probes(index, size, proof, root, leaf):
    probes = [
        (index - 1, size, root, leaf, proof), (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof), (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof), (index, size, root, b"WrongLeaf", proof),
        (index, size, merkle.EMPTY_ROOT, leaf, proof), (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, proof + [b""]), (index, size, root, leaf, proof + [root]),
        (index, size, root, leaf, [b""] + proof), (index, size, root, leaf, [root] + proof),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((index, size, root, leaf, bad))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH] + proof[1:]))
    return probes


@pytest.mark.parametrize("case", [c for c in VECTORS["inclusion"] if c["path"]],
                         ids=lambda c: f"{c['index']}-of-{c['size']}")
def test_corrupted_inclusion_proofs_are_rejected(case):
    index, size = case["index"], case["size"]
    proof = [bytes.fromhex(p) for p in case["path"]]
    for probe in _inclusion_probes(index, size, proof, ROOTS[size], LEAVES[index]):
        assert not merkle.verify_inclusion(probe[3], probe[0], probe[1], probe[4], probe[2]), probe[:2]


@pytest.mark.parametrize("case", [c for c in VECTORS["consistency"] if c["path"]],
                         ids=lambda c: f"{c['old']}-to-{c['new']}")
def test_corrupted_consistency_proofs_are_rejected(case):
    m, n = case["old"], case["new"]
    proof = [bytes.fromhex(p) for p in case["path"]]
    r1, r2 = ROOTS[m], ROOTS[n]
    probes = [(m - 1, n, r1, r2, proof), (m + 1, n, r1, r2, proof), (m ^ 2, n, r1, r2, proof),
              (m, n * 2, r1, r2, proof), (m, n // 2, r1, r2, proof), (m, n, b"WrongRoot", r2, proof),
              (m, n, r1, b"WrongRoot", proof), (m, n, r2, r1, proof), (m, n, r1, r2, []),
              (m, n, r1, r2, proof + [b""]), (m, n, r1, r2, proof + [r1]), (m, n, r1, r2, proof + [r2]),
              (m, n, r1, r2, [b""] + proof), (m, n, r1, r2, [r1] + proof), (m, n, r1, r2, [r2] + proof),
              (m, n, r1, r2, [proof[0]] + proof), (m, n, r1, r2, proof[:-1])]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((m, n, r1, r2, bad))
    for p in probes:
        assert not merkle.verify_consistency(*p), p[:2]


def test_trivial_consistency_cases():
    r = SOME_HASH
    assert merkle.verify_consistency(0, 0, r, r, [])
    assert merkle.verify_consistency(0, 5, r, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(1, 1, r, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(2, 1, r, r, [])
    assert not merkle.verify_consistency(1, 1, r, r, [r])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=70), st.data())
def test_proofs_for_any_tree_verify_against_the_reference_root(data_leaves, data):
    leaves = [merkle.hash_leaf(x) for x in data_leaves]
    n = len(leaves)
    assert merkle.root_of(leaves) == reference_root(leaves)
    if not n:
        return
    index = data.draw(st.integers(0, n - 1))
    root = reference_root(leaves)
    assert merkle.verify_inclusion(leaves[index], index, n, merkle.inclusion_proof(index, n, source(leaves)), root)
    old = data.draw(st.integers(0, n))
    path = merkle.consistency_proof(old, n, source(leaves))
    assert merkle.verify_consistency(old, n, reference_root(leaves[:old]), root, path)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), max_size=12))
def test_extend_run_equals_appending_one_by_one(runs):
    batch, one = merkle.CompactRange(), merkle.CompactRange()
    counter = 0
    for k in runs:
        leaves = [merkle.hash_leaf(bytes([counter + i])) for i in range(k)]
        counter += k
        made = {(lv, st + i): h for lv, st, hs in batch.extend_run(leaves) for i, h in enumerate(hs)}
        expected = {}
        for leaf in leaves:
            expected.update({(lv, i): h for lv, i, h in one.append(leaf)})
        assert made == expected
        assert batch.nodes == one.nodes and batch.root() == one.root()


def test_compact_range_positions_and_from_source():
    leaves = LEAVES[:7]
    cr = merkle.CompactRange.from_source(7, source(leaves))
    assert merkle.CompactRange.positions(7) == [(2, 0), (1, 2), (0, 6)]
    assert cr.root() == ROOTS[7]
    with pytest.raises(ValueError):
        merkle.CompactRange(3, [b"x" * 32])
