"""The dashboard served by a real ``streamlit run``, opened in headless Chromium.

The server runs as ``make dashboard`` runs it (127.0.0.1, headless, no usage
statistics) on a free port, against the contract-v2 fixture file. Each page is
opened by its address (``?page=<slug>``) and must show its title and key
values, draw its charts (vega-embed canvas or svg), fetch nothing from outside
127.0.0.1 and log no SEVERE console entry. A screenshot per page is saved to
$XDR_TEST_ARTIFACTS (default: the test's tmp dir). The server is always stopped.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xdr_warehouse.dashboard.server import streamlit_command
from xdr_warehouse.dashboard.views import PAGES
from xdr_warehouse.report.text import fmt_bytes, fmt_count

from .conftest import REPO, expected
from browser import artifacts_dir

pytestmark = pytest.mark.slow

HEALTH_TIMEOUT_SECONDS = 60.0
PAGE_TIMEOUT_SECONDS = 30.0
CHARTS = {"overview": 1, "top-customers": 1, "customer": 1, "clusters": 5, "applications": 1}


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll Streamlit's health endpoint until it answers ok, the server dies or time is up."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit not healthy after {HEALTH_TIMEOUT_SECONDS:.0f} s:\n{log.read_text()}")


@pytest.fixture
def dashboard_url(published_db: Path, tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on 127.0.0.1 and a free port; stopped after the test."""
    port = free_port()
    log = tmp_path / "streamlit.log"
    command = streamlit_command(published_db, port)  # as `xdr dashboard` starts it
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def wait_for(driver, condition: Callable[[], object], what: str) -> None:  # noqa: ANN001
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, PAGE_TIMEOUT_SECONDS, poll_frequency=0.25).until(
            lambda _: condition()
        )
    except TimeoutException:
        state = page_state(driver)
        pytest.fail(f"{what} not shown within {PAGE_TIMEOUT_SECONDS:.0f} s; the page: {state}")


def page_state(driver) -> dict:  # noqa: ANN001
    """What the page shows now: title, metric values, drawn charts, tables, whether it runs."""
    return driver.execute_script(
        "const all = s => Array.from(document.querySelectorAll(s));"
        "return {"
        "  title: all('h1').map(h => h.innerText.trim()),"
        "  metrics: all('[data-testid=stMetric]').map(m => m.innerText),"
        "  charts: all('.vega-embed').filter("
        "    e => e.querySelector('canvas, svg')).length,"
        "  tables: all('[data-testid=stDataFrame]').length,"
        "  running: all('[data-testid=stStatusWidget]').some("
        "    w => /running/i.test(w.innerText)),"
        "  text: document.body.innerText,"
        "}"
    )


def test_every_page_renders_in_chromium(
    dashboard_url: str, published_db: Path, driver, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    customers = expected(published_db, "select * from marts.customer_engagement")
    publish_id = expected(published_db, "select max(publish_id) as p from marts.publish_info")
    top = customers.sort_values(["total_traffic_bytes", "msisdn"], ascending=[False, True])
    msisdn = int(top["msisdn"].iloc[0])
    key_values = {
        "overview": [publish_id["p"][0], fmt_count(len(customers)), "Data quality"],
        "top-customers": [str(int(customers.sort_values("session_count")["msisdn"].iloc[-1]))],
        "customer": [fmt_bytes(top["total_traffic_bytes"].iloc[0]), "Traffic per application"],
        "clusters": ["Elbow curve", "elbow: k = 3"],
        "applications": ["Gaming", "Top users of an application"],
    }
    folder = artifacts_dir(tmp_path)

    for page in PAGES:
        driver.get(f"{dashboard_url}/?page={page.slug}")
        if page.slug == "customer":
            field = None

            def field_shown() -> bool:
                nonlocal field
                fields = driver.find_elements(By.CSS_SELECTOR, "input[aria-label=MSISDN]")
                field = fields[0] if fields else None
                return field is not None

            wait_for(driver, field_shown, "the MSISDN field")
            field.send_keys(str(msisdn), Keys.ENTER)

        def rendered(page=page) -> bool:  # noqa: ANN001
            state = page_state(driver)
            return (
                state["title"] == [page.title]
                and not state["running"]
                and state["charts"] >= CHARTS[page.slug]
                # a data frame mounts after the charts and texts of its page
                and state["tables"] >= 1
                and all(value in state["text"] for value in key_values[page.slug])
            )

        wait_for(driver, rendered, f"page {page.slug!r} with its values, charts and tables")
        state = page_state(driver)
        assert state["charts"] == CHARTS[page.slug], page.slug
        assert state["tables"] >= 1, page.slug
        assert driver.title == f"{page.title} · Customer engagement"
        if page.slug in ("overview", "customer"):
            assert len(state["metrics"]) >= 4, page.slug

        # The page scrolls inside Streamlit's main container, not the document.
        height = driver.execute_script(
            "return Math.max(...Array.from(document.querySelectorAll("
            "'[data-testid=stMain], [data-testid=stAppViewContainer]')).map(e => e.scrollHeight),"
            " document.documentElement.scrollHeight)"
        )
        driver.set_window_size(1280, min(int(height) + 100, 4000))
        screenshot = folder / f"dashboard_{page.slug}.png"
        assert driver.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 20_000
        driver.set_window_size(1280, 1000)

        fetched = driver.execute_script(
            "return performance.getEntriesByType('resource').map(entry => entry.name)"
        )
        outside = [url for url in fetched if not url.startswith(dashboard_url)]
        assert outside == [], f"{page.slug}: fetched from outside the server: {outside}"

    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == [], f"console errors: {severe}"
    print(f"screenshots: {folder}")
