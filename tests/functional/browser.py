"""Selenium helpers shared by the browser tests."""

from __future__ import annotations


def click_and_wait(driver, element, timeout: float = 30.0) -> None:
    """Click something that loads a new page, and wait until the new page has loaded.

    The old page is marked with a script variable before the click; the wait ends when a page
    without the mark is complete. (Waiting for the old element to go stale is racy in Chromium:
    during navigation the driver may answer with 'stale element' or with 'node does not belong
    to the document', and finding an element right after the click can find the old page's.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__aodOldPage = true;")
    element.click()

    def loaded(d) -> bool:
        return bool(d.execute_script(
            "return document.readyState === 'complete' && window.__aodOldPage !== true;"))

    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(loaded)
