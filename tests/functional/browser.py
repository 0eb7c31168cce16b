"""Selenium helpers shared by the browser tests."""

from __future__ import annotations


def click_and_wait(driver, element, timeout: float = 30.0) -> None:
    """Click something that loads a new page, and wait until the old page is gone (finding an
    element right after the click could otherwise find it on the old page: stale references)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout).until(ec.staleness_of(page))
