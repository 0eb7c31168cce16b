import pytest

from audit import Action
from domain.principals import SYSTEM
from tests.factories import new_domain


def test_state_change_and_event_commit_together(home):
    d = new_domain(home)
    before = len(d.audit_log.query())
    with pytest.raises(RuntimeError):
        with d.store.transaction() as tx:
            tx.execute("INSERT INTO operators (id, name, credit_code, status, created_at, updated_at)"
                       " VALUES ('x', 'x', 'c', 'active', 't', 't')")
            tx.audit(d.event(Action.OPERATOR_REGISTER, SYSTEM, targets=[("operator", "x")]))
            raise RuntimeError("crash before commit")
    assert d.store.one("SELECT 1 FROM operators WHERE id='x'") is None
    assert len(d.audit_log.query()) == before


def test_committed_events_reach_the_log(home):
    d = new_domain(home)
    with d.store.transaction() as tx:
        tx.audit(d.event(Action.CONFIG_CHANGE, SYSTEM, details={"k": "v"}))
    assert d.audit_log.query(action="config.change")


def test_migrations_are_recorded_and_idempotent(home):
    d = new_domain(home)
    assert d.store.migrate(d.migrations()) == []
    rows = d.store.all("SELECT package, version FROM schema_migrations")
    assert ("domain", 1) in [(r["package"], r["version"]) for r in rows]


def test_init_refuses_an_existing_domain(home):
    from domain.errors import Conflict

    new_domain(home)
    with pytest.raises(Conflict):
        new_domain(home)


def test_open_refuses_a_folder_that_is_not_a_domain(tmp_path):
    from domain.core import Domain
    from domain.errors import NotInitialised

    with pytest.raises(NotInitialised, match="aod init"):
        Domain.open(tmp_path)
