"""Headless Chromium for the browser tests (the report and the dashboard).

Chromium is required, not optional: without it a browser test fails and says how
to install it (Debian: ``apt-get install chromium chromium-driver``; ``make test``
installs them). XDR_CHROMIUM / XDR_CHROMEDRIVER override the binaries' paths and
screenshots go to $XDR_TEST_ARTIFACTS (default: the test's tmp dir).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def binary(env: str, default: str) -> Path:
    """The path of a browser binary; the test fails (not skips) when it is missing."""
    configured = os.environ.get(env)
    path = Path(configured) if configured else Path(shutil.which(Path(default).name) or default)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"{path} not found: the report's browser test needs Chromium and chromedriver "
            "(Debian: `sudo apt-get install chromium chromium-driver`), or set "
            f"{env} to the binary",
            pytrace=False,
        )
    return path


@pytest.fixture
def driver(tmp_path: Path):
    """Headless Chromium with a fresh profile and the browser console log enabled."""
    chromium = binary("XDR_CHROMIUM", "/usr/bin/chromium")
    chromedriver = binary("XDR_CHROMEDRIVER", "/usr/bin/chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(chromedriver), log_output=str(tmp_path / "driver.log"))
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def artifacts_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("XDR_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
