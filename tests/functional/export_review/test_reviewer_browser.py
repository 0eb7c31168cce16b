"""A reviewer works the queue in headless Chromium (Selenium + Debian's chromedriver):
log in, open the request, read the check report, approve; the second reviewer approves and
releases; the released file verifies. Needs /usr/bin/chromium and /usr/bin/chromedriver
(scripts/setup --test installs them) and the `selenium` package; fails, never skips, without."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.functional.browser import chromium, click_and_wait
import uvicorn

from export_review.testing.planted import good_tables, write_metadata
from export_review.testing.webapp import create_app
from export_review.workflow.status import RequestStatus as S
from tests.integration.export_review.fixtures import ALICE, GRANT, RITA, ROB, SCENARIO, make_world

pytestmark = pytest.mark.browser
PASSWORDS = {"rita": "rita-password-1", "rob": "rob-password-12"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    world = make_world(tmp_path / "home", rows=5000)
    planted = good_tables(world.raw, world.products)[0]
    write_metadata(planted.product)
    request = world.service.submit(ALICE, grant_id=GRANT.id, scenario=SCENARIO, kind="data_package",
                                   file=planted.product.path, title="区县人口与平均收入")
    assert request.status == S.UNDER_REVIEW, request.status_reason
    app = create_app(world.service, {"rita": (RITA, PASSWORDS["rita"]), "rob": (ROB, PASSWORDS["rob"])})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    yield world, request, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def _login(driver, base, user):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[user])
    click_and_wait(driver, driver.find_element(By.ID, "login"))
    assert "Export review queue" in driver.page_source


def _approve(driver, base, export_id, reason=""):
    from selenium.webdriver.common.by import By

    click_and_wait(driver, driver.find_element(By.LINK_TEXT, export_id))
    assert driver.find_element(By.ID, "check-status").text == "passed"
    assert "minimum cell count" in driver.page_source or "at least 10 people" in driver.page_source
    click_and_wait(driver, driver.find_element(By.ID, "preview-link"))
    assert "rows ×" in driver.find_element(By.ID, "summary").text
    driver.back()
    driver.find_element(By.ID, "approve").click()
    driver.find_element(By.ID, "reason").send_keys(reason)
    click_and_wait(driver, driver.find_element(By.ID, "submit-decision"))


def test_two_reviewers_approve_and_release_in_a_browser(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    world, request, base = served
    _login(browser, base, "rita")
    _approve(browser, base, request.id, "cells are large enough")
    assert browser.find_element(By.ID, "status").text == "under_review"
    assert "hidden until every reviewer has decided" not in browser.page_source  # her own vote is shown
    browser.save_screenshot(str(tmp_path / "after-first-vote.png"))

    _login(browser, base, "rob")
    browser.get(f"{base}/review/{request.id}")
    assert "1 other decision(s) hidden" in browser.find_element(By.ID, "blinded").text  # blinded
    assert "rita" not in browser.find_element(By.ID, "votes").text
    browser.get(f"{base}/review/")
    _approve(browser, base, request.id)
    assert browser.find_element(By.ID, "status").text == "approved"
    assert "rita" in browser.find_element(By.ID, "votes").text  # unblinded once both decided
    click_and_wait(browser, browser.find_element(By.ID, "release"))
    assert browser.find_element(By.ID, "status").text == "released"
    assert "sha256" in browser.find_element(By.ID, "released").text

    released = world.home / "exports" / request.id / "release" / request.product_name
    body = world.service.verify(released)
    assert {r["id"] for r in body["reviewers"]} == {"rita", "rob"} and body["released_by"] == "rob"
    assert world.log.actions().count("export.view") >= 4
