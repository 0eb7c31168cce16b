"""A Hypothesis state machine against a reference model: appends (batches, threads of one
process and a second writer on the same files), tree heads, reopening and proofs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from audit import merkle
from audit.checkpoint import Signer

from .conftest import Clock, make_event, open_log


class LogMachine(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.dir = Path(tempfile.mkdtemp(prefix="aod-audit-sm-"))
        self.signer, self.clock = Signer.generate(), Clock()
        self.log = open_log(self.dir / "audit", self.signer, self.clock, segment_events=4)
        self.other = None
        self.leaves: list[bytes] = []
        self.ids: list[str] = []

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _writer(self, second: bool):
        if second:
            if self.other is None:
                self.other = open_log(self.dir / "audit", self.signer, self.clock, segment_events=4)
            return self.other
        return self.log

    @rule(n=st.integers(1, 9), second=st.booleans())
    def append(self, n, second):
        events = [make_event(len(self.ids) + i) for i in range(n)]
        receipts = self._writer(second).append_many(events)
        assert [r.index for r in receipts] == list(range(len(self.leaves), len(self.leaves) + n))
        self.leaves += [r.leaf_hash for r in receipts]
        self.ids += [e.event_id for e in events]

    @rule(seconds=st.integers(0, 120))
    def tick(self, seconds):
        self.clock.advance(seconds=seconds)

    @precondition(lambda self: self.leaves)
    @rule()
    def checkpoint(self):
        head = self.log.checkpoint()
        assert head.size == len(self.leaves)
        assert head.root == merkle.root_of(self.leaves)

    @rule()
    def reopen(self):
        self.log.close()
        self.log = open_log(self.dir / "audit", self.signer, self.clock, segment_events=4)

    @precondition(lambda self: self.leaves)
    @rule(data=st.data())
    def prove_inclusion(self, data):
        sizes = self.log.checkpoint_sizes()
        size = data.draw(st.sampled_from(sizes))
        index = data.draw(st.integers(0, size - 1))
        proof = self.log.prove_inclusion(index, size)
        proof.verify(self.log.public_key)
        assert proof.leaf_hash == self.leaves[index]
        assert proof.checkpoint.root == merkle.root_of(self.leaves[:size])

    @precondition(lambda self: self.leaves)
    @rule(data=st.data())
    def prove_consistency(self, data):
        sizes = self.log.checkpoint_sizes()
        new = data.draw(st.sampled_from(sizes))
        old = data.draw(st.integers(0, new))
        proof = self.log.prove_consistency(old, new)
        proof.verify(self.log.public_key, old_root=merkle.root_of(self.leaves[:old]))

    @rule()
    def verify(self):
        report = self.log.verify(workers=1)
        assert report.size == len(self.leaves)

    @invariant()
    def matches_the_model(self):
        if not hasattr(self, "log"):
            return
        assert self.log.size() == len(self.leaves)
        for size in self.log.checkpoint_sizes()[-2:]:
            assert self.log.checkpoint_at(size).root == merkle.root_of(self.leaves[:size])


LogMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=18, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestLogMachine = LogMachine.TestCase
