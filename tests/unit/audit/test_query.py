"""Regulator queries: filters, read-only SQL, provenance traces, annual reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit import Action, Actor, AuditEvent, Outcome, QueryError, Ref

from .conftest import T0, make_event


@pytest.fixture
def busy(log, clock):
    for i in range(50):
        clock.advance(days=3)
        log.append(make_event(i, org=f"op-{i % 2}", time=clock.now,
                              dataset="population" if i % 5 else "companies",
                              outcome=Outcome.REFUSED if i % 7 == 0 else Outcome.OK,
                              action=Action.QUERY_RUN if i % 3 else Action.JOB_SUBMIT))
    return log


def test_filters_combine(busy):
    all_ = busy.query()
    assert [e.index for e in all_] == list(range(50))
    by_org = busy.query(org="op-1")
    assert by_org and all(e.event.org == "op-1" for e in by_org)
    month = busy.query(since=T0 + timedelta(days=30), until=T0 + timedelta(days=60), org="op-0")
    assert month and all(T0 + timedelta(days=30) <= e.event.time <= T0 + timedelta(days=60) for e in month)
    assert all(e.event.org == "op-0" for e in month)
    companies = busy.query(dataset="companies")
    assert {e.index for e in companies} == {i for i in range(50) if i % 5 == 0}
    refused = busy.query(outcome="refused", action="query.*")
    assert {e.index for e in refused} == {i for i in range(50) if i % 7 == 0 and i % 3}
    assert len(busy.query(limit=5)) == 5
    assert busy.query(actor="staff-1")[0].event.actor.id == "staff-1"


def test_dates_cover_whole_days(busy):
    day = (T0 + timedelta(days=3)).date().isoformat()
    got = busy.query(since=day, until=day)
    assert [e.index for e in got] == [0]


@pytest.mark.parametrize("kwargs, fragment", [
    ({"action": "query.nope"}, "not an audit action"),
    ({"action": "nothing.*"}, "no audit action starts"),
    ({"outcome": "maybe"}, "outcome must be"),
    ({"since": "last tuesday"}, "since must be a date"),
    ({"since": "2026-12-01", "until": "2026-11-01"}, "since is after until"),
    ({"limit": 0}, "limit must be"),
    ({"org": "a\nb"}, "plain identifier"),
])
def test_bad_filters_are_one_line_errors(busy, kwargs, fragment):
    with pytest.raises(QueryError) as err:
        busy.query(**kwargs)
    assert fragment in err.value.diagnostics() and "\n" not in err.value.diagnostics()


def test_sql_over_sealed_segments_and_the_tail(busy):
    result = busy.sql("SELECT org, count(*) AS n FROM events GROUP BY org ORDER BY org")
    assert result.columns == ("org", "n") and result.rows == (("op-0", 25), ("op-1", 25))
    assert busy.paths.segment_firsts() == [0, 16, 32, 48]  # three sealed, one open
    rows = busy.sql("SELECT idx, leaf_hash FROM events ORDER BY idx").rows
    assert [r[0] for r in rows] == list(range(50))
    assert all(bytes(r[1]) == busy.entry(r[0]).leaf_hash for r in rows)
    assert busy.sql("SELECT idx FROM events ORDER BY idx", limit=3).truncated


def test_sql_sees_dataset_lists_and_details(busy):
    rows = busy.sql("SELECT count(*) FROM events WHERE list_contains(datasets, 'companies') "
                    "AND CAST(details->>'$.n' AS INTEGER) >= 0").rows
    assert rows == ((10,),)


def test_trace_follows_inputs_and_outputs_both_ways(log):
    staff, reviewer = Actor("alice", "operator_staff"), Actor("rita", "reviewer")
    log.append(AuditEvent(action=Action.SAMPLE_CREATE, actor=staff, org="op-a",
                          inputs=(Ref("dataset", "population"),), outputs=(Ref("sample", "s1"),)))
    log.append(AuditEvent(action=Action.JOB_FINISH, actor=staff, org="op-a",
                          inputs=(Ref("dataset", "population"), Ref("code", "c1")),
                          outputs=(Ref("product", "p1", "cd" * 32),)))
    log.append(AuditEvent(action=Action.EXPORT_CREATE, actor=staff, org="op-a",
                          inputs=(Ref("product", "p1"),), outputs=(Ref("export", "x1"),)))
    log.append(AuditEvent(action=Action.EXPORT_VOTE, actor=reviewer, targets=(Ref("export", "x1"),)))
    log.append(AuditEvent(action=Action.QUERY_RUN, actor=staff, org="op-b", inputs=(Ref("dataset", "other"),)))
    trace = log.trace("product:p1")
    assert trace.upstream >= {"product:p1", "dataset:population", "code:c1"}
    assert trace.downstream >= {"product:p1", "export:x1"}
    actions = [e.event.action.value for e in trace.ordered_events()]
    assert actions == ["job.finish", "export.create", "export.vote"]
    forward = log.trace("dataset:population")
    assert {"sample:s1", "product:p1", "export:x1"} <= forward.downstream
    assert "export.vote" in [e.event.action.value for e in forward.ordered_events()]
    with pytest.raises(Exception):
        log.trace("no-colon")


def test_annual_report(busy, log):
    log.append(AuditEvent(action=Action.RISK_REPORT, actor=Actor("sys", "system"), org="op-0",
                          time=T0 + timedelta(days=10), reason="correlation risk"))
    report = busy.annual_report("op-0", T0.year)
    assert report.total == sum(1 for e in busy.query(org="op-0") if e.event.time.year == T0.year)
    assert report.sections["refusals"]
    assert report.incidents and report.incidents[0]["action"] == "risk.report"
    assert "population" in report.datasets
    assert "# Annual operation report: op-0" in report.to_markdown()
    with pytest.raises(QueryError):
        busy.annual_report("op-0", 1800)
