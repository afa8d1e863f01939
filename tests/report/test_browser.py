"""Open the report in Debian's headless chromium (Selenium + chromedriver) at 1400 and 800 px wide.

At both widths: no console errors, every figure decodes, no element sticks out of its card or the
sidebar (a wide table or figure must scroll inside its own box instead), no cell clips its text,
the page never scrolls sideways, and the first figure is within the first two screens.
Screenshots are saved next to the report and to /tmp/report-<width>.png for a person to look at.

Set ``BACKPROPLAB_REPORT_DIR`` to a report directory (e.g. one written by ``backproplab reproduce
--quick --out DIR``) to run the same checks on it; docs/report-1400.png and docs/report-800.png were
taken that way.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from backproplab.report import render_html, reproduce

pytestmark = [pytest.mark.report, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTHS = (1400, 800)

# Elements that stick out of their card (or the sidebar) without a scrolling box between them, cells
# whose text is clipped, and a page wider than the window.
OVERFLOW_JS = """
const scrollsBetween = (el, box) => {
  for (let a = el.parentElement; a && a !== box; a = a.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true;
  }
  return false;
};
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
  ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
const bad = [];
if (document.documentElement.scrollWidth > window.innerWidth + 1)
  bad.push('page is wider than the window: ' + document.documentElement.scrollWidth);
for (const box of document.querySelectorAll('.card, nav.side')) {
  const outer = box.getBoundingClientRect();
  if (outer.width === 0) continue;
  for (const el of box.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if ((r.width === 0 && r.height === 0) || scrollsBetween(el, box)) continue;
    if (r.right > outer.right + 1 || r.left < outer.left - 1)
      bad.push('sticks out of ' + name(box).slice(0, 30) + ': ' + name(el) + ' ' + Math.round(r.left) + '..' +
               Math.round(r.right) + ' vs ' + Math.round(outer.left) + '..' + Math.round(outer.right));
  }
}
for (const el of document.querySelectorAll('th, td, dt, dd, figcaption, .pill, summary, h2, h3')) {
  if (el.getClientRects().length === 0) continue;
  if (el.scrollWidth > el.clientWidth + 1) bad.push('clips its text: ' + name(el));
}
return bad;
"""


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def check_layout(browser, page: Path, shots: Path) -> dict[int, Path]:
    """Load ``page`` at each width; assert the layout rules; return width -> screenshot path."""
    browser.get(page.as_uri())
    saved = {}
    for width in WIDTHS:
        browser.set_window_size(width, 900)
        browser.execute_script("window.scrollTo(0, 0);")
        inner_w, inner_h = browser.execute_script("return [window.innerWidth, window.innerHeight];")
        assert inner_w == width
        assert browser.execute_script(OVERFLOW_JS) == [], f"at {width} px"
        first = browser.execute_script(
            "const i = document.querySelector('figure img'); return i && i.getBoundingClientRect().top + scrollY;")
        assert first is not None and first < 2 * inner_h, f"first figure at {first} px, screens of {inner_h} px"
        decoded = browser.execute_script("return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0);")
        assert decoded and all(decoded)
        shot = shots / f"report-{width}.png"
        assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        saved[width] = shot
        try:
            shutil.copyfile(shot, Path("/tmp") / shot.name)  # a courtesy copy for a person to look at
        except OSError:
            pass
    logs = browser.get_log("browser")
    assert [entry for entry in logs if entry["level"] in ("SEVERE", "WARNING")] == [], logs
    return saved


def test_report_of_fake_lessons(browser, fakes, tmp_path):
    from selenium.webdriver.common.by import By

    out = tmp_path / "report"
    reproduce(out=out, lessons=fakes.make_lessons(), device="cpu", progress=False)
    check_layout(browser, out / "index.html", tmp_path)
    browser.set_window_size(1400, 900)
    assert browser.title == "backproplab report: 4 of 5 claims pass"
    assert browser.find_element(By.ID, "headline").text == "4 of 5 claims pass"
    failed = browser.find_element(By.ID, "failed-claims")  # failures in full, at the top
    assert failed.is_displayed() and "validation accuracy reaches the target" in failed.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#lesson-table tbody tr")) == 3
    assert browser.find_element(By.CSS_SELECTOR, "nav.side").is_displayed()
    table = browser.find_element(By.ID, "claims-table")
    assert not table.is_displayed()  # the long table of every claim is folded
    browser.find_element(By.CSS_SELECTOR, "#all-claims > summary").click()
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert table.is_displayed() and len(rows) == 5
    assert [r.text for r in rows if "fail" in r.get_attribute("class")][0].count("FAIL") == 1
    # a click on a figure opens it at full size over the page (CSS :target, no script); "close" puts it back
    figure = browser.find_element(By.CSS_SELECTOR, "#lesson-beta figure")
    figure.find_element(By.CSS_SELECTOR, "a.zoom").click()
    assert figure.value_of_css_property("position") == "fixed"
    figure.find_element(By.CSS_SELECTOR, "a.close").click()
    assert figure.value_of_css_property("position") == "static"
    browser.set_window_size(800, 900)
    assert not browser.find_element(By.CSS_SELECTOR, "nav.side").is_displayed()  # the summary's rows navigate


def _png(width: int, height: int) -> bytes:
    """A real PNG of the given size (Matplotlib), for the stress page."""
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    fig.add_subplot().plot([0, 1, 0.5])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def test_wide_tables_long_words_and_big_figures_stay_in_their_boxes(browser, tmp_path):
    """The shapes that broke the old page: a squeezed 'why' column, snake_case headers, long words,
    a 60-row grid, a 1600 px figure, nested parameters."""
    (tmp_path / "figures" / "a").mkdir(parents=True)
    (tmp_path / "figures" / "a" / "big.png").write_bytes(_png(1600, 500))
    (tmp_path / "figures" / "a" / "small.png").write_bytes(_png(500, 350))
    why = "the validation accuracy stalls while the training loss keeps falling, so it overfits " * 2
    wide = [{f"mean_abs_grad_fc{i}_ratio_first_to_third": 1.234567e-5 * i for i in range(12)} for _ in range(3)]
    claims = [{"name": "a_very_long_claim_name_without_spaces_" * 3, "value": "x" * 70, "bound": "<= 1e-12",
               "passed": k % 2 == 0, "evidence": "activations " * 12} for k in range(4)]
    lesson = {"title": "Stress: every shape at once", "status": "done", "passed": False,
              "params": {"grid": {"eta0": [0.01, 0.05, 0.1], "decay": [1.0, 0.9]}, "learning_rate": 0.1,
                         "models": ["NumpyANN", "PyTorchANN", "PyTorchCNN"], "very_long_parameter_name": "value"},
              "claims": claims,
              "tables": {"models": [{"model": "PyTorchCNN", "final_val_acc": 0.91, "verdict": "overfitting",
                                     "why": why}] * 3,
                         "networks": wide, "grid": [{"eta0": 0.1, "reached": False}] * 60},
              "text": {"notes": "A word like `gradient-descent` and <= 1e-12 must not split.", "caption:big": "Big."},
              "figures": {"big": "figures/a/big.png", "small_one": "figures/a/small.png"}, "error": None}
    doc = {"format": "backproplab-report/1", "complete": True, "passed": False,
           "settings": {"quick": True, "seed": 0, "device": "cpu", "lessons": ["a"]},
           "versions": {"backproplab": "0", "python": "3", "numpy": "1", "torch": "2", "matplotlib": "3"},
           "summary": {"lessons": 1, "lessons_done": 1, "lessons_failed": 1, "claims": 4, "claims_passed": 2,
                       "claims_failed": 2},
           "lessons": {"a": lesson}, "timings": {"total_s": 1.0, "lessons": {"a": 1.0}}}
    page = tmp_path / "index.html"
    page.write_text(render_html(doc, tmp_path), encoding="utf-8")
    check_layout(browser, page, tmp_path)
    html = page.read_text()
    assert "Mean abs gradient fc1 ratio first to third" in html and "Final validation accuracy" in html
    assert "<figcaption>Big.</figcaption>" in html and base64.b64encode(_png(500, 350)[:30])[:20].decode() in html


@pytest.mark.skipif(not os.environ.get("BACKPROPLAB_REPORT_DIR"), reason="set BACKPROPLAB_REPORT_DIR to a report")
def test_a_real_report(browser, tmp_path):
    out = Path(os.environ["BACKPROPLAB_REPORT_DIR"])
    json.loads((out / "results.json").read_text())  # a report directory, not just any folder
    shots = check_layout(browser, out / "index.html", out)
    assert all(path.stat().st_size > 50_000 for path in shots.values())
