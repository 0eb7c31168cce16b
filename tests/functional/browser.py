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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A real uvicorn server for `app` on a free loopback port, in a thread."""

    def __init__(self, app, **config):
        import threading

        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", **config))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> "Served":
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started, "the test server did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def chromium(window: str = "1280,1600"):
    """Headless Chromium through Debian's chromedriver (fails, never skips, when missing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", f"--window-size={window}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    return driver
