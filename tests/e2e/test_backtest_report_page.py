"""The backtest report as an engineer opens it: the development borders' report in Debian's headless
Chromium, on a laptop-sized window.

The results table has a column per reference figure; the last three (controls hit, not scored,
NAB std) once sat beyond the page's edge at 1200 px, reachable only by a scroll bar that said
nothing of what it hid, and a rate read ``1`` beside ``0.42``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.evaluation.scoring import FIGURE_COLUMNS

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[2] / "streams" / "data"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    subprocess.run([sys.executable, "-m", "streams.cli", "backtest", "--format", "mie",
                    str(DATA / "mie-1.0-dev-borders.csv"), "--labels", str(DATA / "escalations-mie-dev-borders.csv"),
                    "--coverage-end", "2014-12-31", "--alerts-out", str(out / "alerts.csv"),
                    "--report", str(out / "report.html")], check=True, capture_output=True, timeout=300)
    return out / "report.html"


def test_every_results_column_is_on_screen_at_1200_px(report, browser):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1200, 900)
    browser.get(report.as_uri())
    table = browser.find_element(By.CSS_SELECTOR, ".wide table")
    heads = [th.text.replace("\n", " ") for th in table.find_elements(By.CSS_SELECTOR, "tr:first-child th")]
    assert heads == [""] + [label for _, label in FIGURE_COLUMNS]
    width = browser.execute_script("return document.documentElement.clientWidth")
    last = table.find_elements(By.CSS_SELECTOR, "tr:first-child th")[-1]
    assert last.rect["x"] + last.rect["width"] <= width, "the last column is beyond the window's edge"
    wrapper = browser.find_element(By.CSS_SELECTOR, ".wide")
    assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", wrapper)


def test_rates_read_to_two_decimals_in_every_row(report, browser):
    from selenium.webdriver.common.by import By

    browser.get(report.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, ".wide table tr")[1:]
    labels = [label for _, label in FIGURE_COLUMNS]
    recall, early = labels.index("recall") + 1, labels.index("early rate") + 1
    assert rows[0].find_element(By.TAG_NAME, "td").text == "overall"
    for row in rows:
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert re.fullmatch(r"\d\.\d\d", cells[recall]) and re.fullmatch(r"\d\.\d\d", cells[early]), cells
