"""A reviewer works the queue in headless Chromium on the real domain server: sign in through
the domain's own login page, open the request made by an operator on real (encrypted) raw
data, read the check report, approve; the second reviewer approves and releases; the released
file verifies. Nobody from the operator gets a vote."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from tests.functional.browser import Served, chromium, click_and_wait

from tests.integration.domain_links.conftest import _cleanup, build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served():
    from domain.server import create_app

    root = Path(tempfile.mkdtemp(prefix="aod-review-", dir="/tmp"))
    world = build_world(root)
    d, alice = world.domain, world.principal("alice")
    outcome = d.queries.run(alice, world.grant.id,
                            "SELECT district, education, count(*) AS n FROM population GROUP BY 1, 2")
    product = world.home / "products" / "browser" / "headcount.csv"
    product.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(outcome.table, product)
    request = d.exports.submit(alice, grant_id=world.grant.id, scenario=world.grant.scenario,
                               kind="data_package", file=product)
    assert request.status.value == "under_review", request.status_reason
    try:
        with Served(create_app(d)) as served_app:
            yield world, request, f"http://{served_app.host}"
    finally:
        _cleanup(root)


@pytest.fixture
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def _login(driver, base, world, user, expect_queue=True):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(world.passwords[user])
    click_and_wait(driver, driver.find_element(By.ID, "login"))
    if expect_queue:
        assert driver.current_url.startswith(f"{base}/review/"), driver.current_url


def _approve(driver, base, export_id, reason):
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/review/")
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, export_id))
    assert driver.find_element(By.ID, "check-status").text == "passed"
    driver.find_element(By.ID, "approve").click()
    driver.find_element(By.ID, "reason").send_keys(reason)
    click_and_wait(driver, driver.find_element(By.ID, "submit-decision"))


def test_a_wrong_password_stays_on_the_login_page(served, browser):
    from selenium.webdriver.common.by import By

    world, _, base = served
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "user").send_keys("rita")
    browser.find_element(By.ID, "password").send_keys("not-her-password")
    click_and_wait(browser, browser.find_element(By.ID, "login"))
    assert browser.find_element(By.ID, "error").text
    assert not browser.get_cookies()


def test_two_reviewers_approve_and_release_on_the_domain_server(served, browser):
    from selenium.webdriver.common.by import By

    world, request, base = served
    _login(browser, base, world, "rita")
    cookie = browser.get_cookie("aod_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    _approve(browser, base, request.id, "cells are large enough")
    assert browser.find_element(By.ID, "status").text == "under_review"

    _login(browser, base, world, "rob")
    _approve(browser, base, request.id, "aggregates only")
    assert browser.find_element(By.ID, "status").text == "approved"
    click_and_wait(browser, browser.find_element(By.ID, "release"))
    assert browser.find_element(By.ID, "status").text == "released"

    d = world.domain
    released = world.home / "exports" / request.id / "release" / request.product_name
    body = d.exports.verify(released)
    assert {r["id"] for r in body["reviewers"]} == {"rita", "rob"}
    views = [e for e in d.audit_log.query(action="export.view")]
    assert {e.event.actor.id for e in views} >= {"rita", "rob"}


def test_the_requesting_operator_follows_its_request_but_cannot_vote(served):
    import re

    import httpx

    world, request, base = served
    with httpx.Client(base_url=base, cookies={"aod_session": world.token("alice")}, timeout=30) as http:
        page = http.get(f"/review/{request.id}")
        assert page.status_code == 200 and request.id in page.text  # her own request's status
        assert 'id="approve"' not in page.text  # no decision form for the requester
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        vote = http.post(f"/review/{request.id}/vote", headers={"Origin": base},
                         data={"decision": "approve", "reason": "mine", "csrf_token": found.group(1) if found else ""})
        assert vote.status_code in (400, 403, 409), vote.status_code
    assert not [e for e in world.domain.audit_log.query(action="export.vote")
                if e.event.actor.id == "alice" and e.event.outcome.value == "ok"]
