"""A Hypothesis state machine over the review workflow, against a reference model.

The automatic checks are replaced by a deterministic checker (a product named good*.csv
passes, bad*.csv fails): the checks have their own tests; here the subject is the workflow."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from export_review.checks import CheckReport, CheckResult, CheckStatus, Finding
from export_review.errors import ExportReviewError
from export_review.workflow.status import VALID_STATE_TRANSITIONS, Decision, RequestStatus as S, outcome_of
from tests.integration.export_review.fixtures import ADMIN, ALICE, GRANT, INSIDER, MALLORY, RITA, ROB, SCENARIO, make_world
from export_review.testing.stubs import Person

CAROL = Person("carol", "reviewer", "review-office")
REVIEWERS = [RITA, ROB, CAROL, INSIDER, ALICE]
INDEPENDENT = {"rita", "rob", "carol"}


def checker(ctx) -> CheckReport:
    ok = ctx.product.path.name.startswith("good")
    status = CheckStatus.PASSED if ok else CheckStatus.FAILED
    return CheckReport((CheckResult.of("stub", [Finding("stub", "decided by file name", status)]),))


class Model:
    def __init__(self):
        self.status = S.UNDER_REVIEW
        self.version = 1
        self.votes: dict[str, Decision] = {}


class Workflow(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self):
        super().__init__()
        self.world = make_world(Path(tempfile.mkdtemp()) / "home", rows=200, checker=checker)
        self.files = {}
        for name in ("good1.csv", "good2.csv", "bad1.csv"):
            path = self.world.products / name
            path.write_text("district,n\n西湖区,12\n滨江区,15\n", encoding="utf-8")
            self.files[name] = path
        self.model: dict[str, Model] = {}

    @rule(target=requests, good=st.booleans())
    def submit(self, good):
        req = self.world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="data_package",
                                        file=self.files["good1.csv" if good else "bad1.csv"])
        m = Model()
        m.status = S.UNDER_REVIEW if good else S.CHANGES_REQUESTED
        self.model[req.id] = m
        return req.id

    @rule(rid=requests, who=st.sampled_from(REVIEWERS), decision=st.sampled_from(list(Decision)))
    def vote(self, rid, who, decision):
        m = self.model[rid]
        allowed = m.status == S.UNDER_REVIEW and who.id in INDEPENDENT and who.id not in m.votes
        try:
            self.world.service.vote(who, rid, decision.value, "because")
        except ExportReviewError:
            assert not allowed
            return
        assert allowed
        m.votes[who.id] = decision
        if len(m.votes) == 2:
            m.status = outcome_of(list(m.votes.values()))

    @rule(rid=requests, who=st.sampled_from([RITA, ALICE, ADMIN, INSIDER]))
    def release(self, rid, who):
        m = self.model[rid]
        allowed = m.status == S.APPROVED and who.id in INDEPENDENT | {"admin"}
        try:
            self.world.service.release(who, rid)
        except ExportReviewError:
            assert not allowed
            return
        assert allowed
        m.status = S.RELEASED

    @rule(rid=requests, who=st.sampled_from([ALICE, MALLORY]))
    def withdraw(self, rid, who):
        m = self.model[rid]
        allowed = who is ALICE and m.status not in (S.REJECTED, S.RELEASED, S.WITHDRAWN)
        try:
            self.world.service.withdraw(who, rid)
        except ExportReviewError:
            assert not allowed
            return
        assert allowed
        m.status = S.WITHDRAWN

    @rule(rid=requests, to=st.sampled_from(list(S)), who=st.sampled_from([ADMIN, RITA]))
    def override(self, rid, to, who):
        m = self.model[rid]
        allowed = (who is ADMIN and m.status not in (S.REJECTED, S.RELEASED, S.WITHDRAWN)
                   and to in (S.REJECTED, S.WITHDRAWN, S.CHANGES_REQUESTED)
                   and to in VALID_STATE_TRANSITIONS[m.status])
        try:
            self.world.service.override(who, rid, to.value, "policy")
        except ExportReviewError:
            assert not allowed
            return
        assert allowed
        m.status = to

    @rule(rid=requests, good=st.booleans())
    def resubmit(self, rid, good):
        m = self.model[rid]
        allowed = m.status == S.CHANGES_REQUESTED
        try:
            self.world.service.submit_draft(ALICE, rid, file=self.files["good2.csv" if good else "bad1.csv"])
        except ExportReviewError:
            assert not allowed
            return
        assert allowed
        m.version += 1
        m.votes = {}
        m.status = S.UNDER_REVIEW if good else S.CHANGES_REQUESTED

    @invariant()
    def matches_model(self):
        for rid, m in self.model.items():
            req = self.world.service.get(rid)
            assert (req.status, req.version) == (m.status, m.version)
            voters = [v.reviewer for v in self.world.service.votes(req)]
            assert sorted(voters) == sorted(m.votes) and set(voters) <= INDEPENDENT

    @invariant()
    def history_follows_the_table(self):
        for rid in self.model:
            for h in self.world.service.history(rid):
                if h.from_status is not None:
                    assert S(h.to_status) in VALID_STATE_TRANSITIONS[S(h.from_status)]


Workflow.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
TestWorkflow = Workflow.TestCase
