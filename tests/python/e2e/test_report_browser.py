"""The report opened from disk in headless Chromium (selenium + chromedriver).

Checks what a person would see: the page loads from a file:// URL with no
server, every chart image decoded (naturalWidth > 0), every section is there,
nothing was fetched from the network, and the console has no SEVERE entries.
A full-page screenshot is saved to $XDR_TEST_ARTIFACTS (default: the test's
tmp dir) for a human to look at.

Chromium is required, not optional: without it this test fails and says how to
install it (Debian: ``apt-get install chromium chromium-driver``; CI does).
XDR_CHROMIUM / XDR_CHROMEDRIVER override the binaries' paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xdr_warehouse.report import build_report

from browser import artifacts_dir
from conftest import Workspace

pytestmark = pytest.mark.slow

SECTIONS = ("overview", "top-customers", "clusters", "applications", "elbow", "data-quality")
EXPECTED_IMAGES = 8


def test_report_opens_from_disk_in_chromium(
    built_warehouse: Workspace, tmp_path: Path, driver
) -> None:
    from selenium.webdriver.common.by import By

    html = build_report(
        built_warehouse.settings.marts_db,
        tmp_path / "reports",
        build_db=built_warehouse.build_db,
    )
    driver.get(html.as_uri())

    assert driver.execute_script("return document.readyState") == "complete"
    assert driver.title == "Customer engagement report"
    for section in SECTIONS:
        assert driver.find_element(By.ID, section).is_displayed(), section
    for element in ("cluster-model", "stored-failures"):
        assert driver.find_element(By.ID, element).is_displayed(), element

    images = driver.execute_script(
        "return Array.from(document.images).map(img => ({"
        "  alt: img.alt, complete: img.complete,"
        "  width: img.naturalWidth, height: img.naturalHeight}))"
    )
    assert len(images) == EXPECTED_IMAGES
    broken = [img["alt"] for img in images if not (img["complete"] and img["width"] > 0)]
    assert broken == [], f"images that did not load: {broken}"
    assert all(img["height"] > 0 for img in images)

    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert [url for url in fetched if url.startswith(("http:", "https:"))] == []

    # Full-page screenshot for a person to look at (CI keeps it as an artifact).
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 100, 16_000))
    screenshot = artifacts_dir(tmp_path) / "engagement_report.png"
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 50_000
    print(f"screenshot: {screenshot}")

    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == [], f"console errors: {severe}"


def test_the_checks_catch_a_broken_image_and_a_console_error(tmp_path: Path, driver) -> None:
    """The two browser checks above are not vacuous: they see a broken page."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
        '<img alt="broken" src="data:image/png;base64,AAAA">'
        '<script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    driver.get(page.as_uri())
    widths = driver.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
    assert widths == [0]
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert any("boom" in entry["message"] for entry in severe)
