"""Open the report in Debian's headless chromium (Selenium + chromedriver): it renders with no
console errors, shows the verdict and the claims table, and every figure decodes. A screenshot is
saved next to the report and to /tmp/report_screenshot.png for a person to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backproplab.report import reproduce

pytestmark = [pytest.mark.report, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path("/tmp/report_screenshot.png")


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_report_renders_in_headless_chromium(browser, fakes, tmp_path):
    from selenium.webdriver.common.by import By

    out = tmp_path / "report"
    reproduce(out=out, lessons=fakes.make_lessons(), device="cpu", progress=False)
    browser.get((out / "index.html").as_uri())

    assert browser.title == "backproplab report: 4 of 5 claims pass"
    assert browser.find_element(By.ID, "headline").text == "4 of 5 claims pass"
    table = browser.find_element(By.ID, "claims-table")
    assert table.is_displayed()
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 5
    failed = [r.text for r in rows if "fail" in r.get_attribute("class")]
    assert len(failed) == 1 and "validation accuracy reaches the target" in failed[0] and "FAIL" in failed[0]
    # the claims come before the first lesson on screen, not only in the source
    first_lesson = browser.find_element(By.ID, "lesson-alpha")
    assert table.location["y"] < first_lesson.location["y"]
    decoded = browser.execute_script(
        "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0);")
    assert decoded == [True] * 6

    logs = browser.get_log("browser")
    assert [entry for entry in logs if entry["level"] in ("SEVERE", "WARNING")] == [], logs

    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(1280, min(int(height) + 120, 4000))  # a taller capture can time out on a busy machine
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    try:
        shutil.copyfile(shot, SCREENSHOT)
    except OSError:
        pass  # the copy for a person to look at is a courtesy; the test's own screenshot is above
