"""Inclusion and consistency proofs served by a stored log, self-contained and checkable."""

from __future__ import annotations

import json

import pytest

from audit import ProofError
from audit.checkpoint import Signer
from audit.proofs import InclusionProof

from .conftest import make_event


@pytest.fixture
def filled(log):
    for k in range(9):
        log.append_many([make_event(k * 10 + i) for i in range(7)])
    log.checkpoint()
    return log


def test_every_event_proves_against_every_covering_tree_head(filled):
    for size in filled.checkpoint_sizes():
        for index in range(size):
            proof = filled.prove_inclusion(index, size)
            proof.verify(filled.public_key)
            assert proof.size == size


def test_consistency_between_any_two_sizes(filled):
    latest = max(filled.checkpoint_sizes())
    for old in range(latest + 1):
        filled.prove_consistency(old).verify(filled.public_key)
    sizes = filled.checkpoint_sizes()
    for a in sizes:
        for b in sizes:
            if a <= b:
                proof = filled.prove_consistency(a, b)
                assert proof.old is not None
                proof.verify(filled.public_key)


def test_by_event_id(filled):
    entry = filled.entry(30)
    proof = filled.prove_inclusion(entry.event.event_id)
    assert proof.index == 30
    proof.verify(filled.public_key)


def test_a_proof_survives_json_and_detects_tampering(filled):
    proof = filled.prove_inclusion(17)
    again = InclusionProof.from_json(json.loads(json.dumps(proof.to_json())))
    again.verify(filled.public_key)
    bad = InclusionProof(again.index, again.record.replace(b'"outcome":"ok"', b'"outcome":"refused"'), again.path, again.checkpoint)
    with pytest.raises(ProofError):
        bad.verify(filled.public_key)
    with pytest.raises(ProofError):
        again.verify(Signer.generate().public_key)


def test_consistency_against_a_wrong_old_root_fails(filled):
    proof = filled.prove_consistency(16)
    with pytest.raises(ProofError):
        proof.verify(filled.public_key, old_root=b"\x00" * 32)


def test_bad_requests(filled):
    with pytest.raises(ProofError):
        filled.prove_inclusion(10_000)
    with pytest.raises(ProofError):
        filled.prove_inclusion("no-such-event-id")
    with pytest.raises(ProofError):
        filled.prove_consistency(10_000)
    with pytest.raises(ProofError):
        filled.prove_inclusion(3, 999)  # no tree head of that size


def test_an_uncovered_event_gets_a_fresh_tree_head(log):
    log.append(make_event(0))
    log.append(make_event(1))
    assert max(log.checkpoint_sizes()) == 1
    proof = log.prove_inclusion(1)
    assert proof.size == 2
    proof.verify(log.public_key)
