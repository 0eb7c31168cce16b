"""Staff compliance (R7): real-name verification, confidentiality agreement and training,
all three valid today, before any act; every refusal audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit import Action
from domain.errors import InvalidInput, NotCompliant, PermissionDenied
from tests.factories import add_staff

SQL = "SELECT district, count(*) AS n FROM population GROUP BY district"


def _last_denial(world):
    return world.domain.audit_log.query(action=Action.AUTH_DENIED.value)[-1].event


def test_staff_without_the_three_records_cannot_query(world):
    d = world.domain
    carol = add_staff(d, "carol", "op-hz", compliant=False)
    with pytest.raises(NotCompliant) as info:
        d.queries.run(carol, world.grant.id, SQL)
    assert "real-name verification missing" in info.value.diagnostics()
    assert _last_denial(world).actor.id == "carol"
    today = d.today()
    steps = [
        dict(realname_verified_on=today, realname_method="unified identity platform"),
        dict(nda_signed_on=today, nda_expires_on=today + timedelta(days=365)),
    ]
    for step in steps:
        carol = d.principals.set_compliance(world.admin, "carol", **step)
        with pytest.raises(NotCompliant):
            d.queries.run(carol, world.grant.id, SQL)
    assert carol.compliance_gaps(today) == ["pre-job training not passed"]
    carol = d.principals.set_compliance(world.admin, "carol", training_passed_on=today)
    assert d.queries.run(carol, world.grant.id, SQL).rows > 0


def test_an_expired_confidentiality_agreement_blocks(world):
    d = world.domain
    today = d.today()
    dave = add_staff(d, "dave", "op-hz")
    dave = d.principals.set_compliance(world.admin, "dave", nda_signed_on=today - timedelta(days=800),
                                       nda_expires_on=today - timedelta(days=1))
    with pytest.raises(NotCompliant, match="expired"):
        d.queries.run(dave, world.grant.id, SQL)


def test_compliance_records_are_validated(world):
    d = world.domain
    add_staff(d, "erin", "op-hz", compliant=False)
    today = d.today()
    with pytest.raises(InvalidInput, match="how"):
        d.principals.set_compliance(world.admin, "erin", realname_verified_on=today)
    with pytest.raises(InvalidInput, match="term"):
        d.principals.set_compliance(world.admin, "erin", nda_signed_on=today)
    with pytest.raises(InvalidInput, match="signed before"):
        d.principals.set_compliance(world.admin, "erin", nda_signed_on=today, nda_expires_on=today)
    with pytest.raises(InvalidInput, match="nothing"):
        d.principals.set_compliance(world.admin, "erin")
    assert len(d.principals.get("erin").compliance_gaps(today)) == 3


def test_staff_cannot_make_themselves_compliant(world):
    d = world.domain
    frank = add_staff(d, "frank", "op-hz", compliant=False)
    with pytest.raises(PermissionDenied):
        d.principals.set_compliance(frank, "frank", training_passed_on=d.today())
    assert d.principals.get("frank").training_passed_on is None


def test_a_disabled_staff_member_cannot_query(world):
    d = world.domain
    add_staff(d, "gina", "op-hz")
    gina = d.principals.disable(world.admin, "gina", "contract ended")
    with pytest.raises(NotCompliant, match="disabled"):
        d.queries.run(gina, world.grant.id, SQL)


def test_staff_need_an_existing_operator_and_roles_are_checked(world):
    d = world.domain
    from domain.errors import NotFound

    with pytest.raises(NotFound, match="no operator"):
        add_staff(d, "henry", "op-ghost")
    with pytest.raises(InvalidInput, match="unknown role"):
        d.principals.create(world.admin, principal_id="ivan", display_name="Ivan", role="superuser")
    with pytest.raises(InvalidInput, match="system"):
        d.principals.create(world.admin, principal_id="ivan", display_name="Ivan", role="system")
    with pytest.raises(InvalidInput, match="organisation"):
        d.principals.create(world.admin, principal_id="ivan", display_name="Ivan", role="operator_staff")


@pytest.mark.parametrize("org, name", [("../../x", "Zed"), ("13912345678", "Zed"), ("zj-ok", "Z\x00d"), ("zj-ok", "Z" * 201)])
def test_organisations_and_names_are_checked(world, org, name):
    with pytest.raises(InvalidInput):
        world.domain.principals.create(world.admin, principal_id="zed", display_name=name, role="provider", org=org)
    assert world.domain.store.one("SELECT 1 FROM principals WHERE id='zed'") is None


def test_the_last_authority_cannot_be_disabled(world):
    from domain.errors import Conflict

    d = world.domain
    with pytest.raises(Conflict, match="last active authority"):
        d.principals.disable(world.admin, "admin", "oops")
    from tests.factories import add_person

    add_person(d, "admin2", "authority")
    d.principals.disable(world.admin, "admin2", "second admin left")
    assert d.principals.get("admin").status.value == "active"
