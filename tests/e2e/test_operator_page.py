"""The operator page in Debian's headless Chromium: sign in, watch an alert arrive live, acknowledge it.

A real ``borderwatch worker`` on the embedded broker with a tokens file: an incident goes through
the pipeline, its alert reaches the page by server-sent events, the operator acknowledges it on
the page, and the acknowledgement (a record on the alerts topic) shows in the API.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from alerts.web.tokens import TokenFile

pytestmark = pytest.mark.e2e


def api(base: str, path: str, token: str):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def sign_in(driver, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "/")
    field = driver.find_element(By.ID, "token")  # not signed in: the sign-in form
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    # the live feed connected, whatever language the page reads in
    WebDriverWait(driver, 20).until(lambda d: "on" in (d.find_element(By.ID, "live").get_attribute("class") or "").split())
    assert token not in driver.current_url
    assert driver.get_cookie("borderwatch_token")["httpOnly"] is True


def wait_row(driver, alert_id: str, timeout: float = 30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    sel = f'#open-alerts article[data-alert-id="{alert_id}"]'
    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, sel)))


def test_operator_signs_in_watches_an_alert_arrive_and_acknowledges_it(worker_factory, producer, browser, tmp_path):
    """All real: a worker on the embedded broker, an incident through the pipeline, the page in Chromium."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    tokens = TokenFile(tmp_path / "tokens.json")
    op = tokens.add("duty-officer", "operator")
    uz = tokens.add("uz-desk", "secretariat:UZB")
    kg = tokens.add("kg-desk", "secretariat:KGZ")
    w = worker_factory(BORDERWATCH_TOKENS_FILE=str(tokens.path), BORDERWATCH_IDLE_SECONDS="600").start()
    sign_in(browser, w.base, op)
    assert browser.find_element(By.ID, "who").text == "duty-officer"
    assert not browser.find_elements(By.CSS_SELECTOR, "#open-alerts article")  # nothing yet
    assert browser.find_element(By.ID, "open-banner").text == "No open alerts"

    # A deadly clash near Dostuk (KGZ-TJK-01) while the page is open.
    when = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    producer.send(w.topics.incidents, key=b"KGZ-TJK", value=json.dumps({
        "event_id": "e2e-page-1", "occurred_at": when, "reported_at": when, "source": "e2e",
        "category": "armed_clash", "severity": 5, "fatalities": 30, "injuries": 10, "countries": ["KGZ", "TJK"],
        "latitude": 40.05229068, "longitude": 70.63277194}).encode()).get(timeout=20)
    row = WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#open-alerts article"))[0]
    alert_id = row.get_attribute("data-alert-id")  # arrived live, no reload
    assert row.text.startswith("critical Critical — Kyrgyzstan–Tajikistan") and row.get_attribute("data-border") == "KGZ-TJK"
    seg = browser.find_element(By.CSS_SELECTOR, '#map polyline[data-segment="KGZ-TJK-01"]')
    assert seg.get_attribute("data-level") == "critical"

    # filters act on the live feed
    Select(browser.find_element(By.ID, "filter-level")).select_by_value("watch")
    WebDriverWait(browser, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#open-alerts article"))
    Select(browser.find_element(By.ID, "filter-level")).select_by_value("")
    row = wait_row(browser, alert_id)
    row.find_element(By.NAME, "comment").send_keys("patrol informed")
    row.find_element(By.CSS_SELECTOR, "form.ack button").click()
    # rows are re-rendered on each live event, so an element found a moment ago may be stale
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "Acknowledged by duty-officer" in d.find_element(
            By.CSS_SELECTOR, f'#open-alerts article[data-alert-id="{alert_id}"] .ack-state').text)

    status, alert = api(w.base, f"/alerts/{alert_id}", op)
    assert status == 200
    assert alert["acknowledged"]["by"] == "duty-officer"
    assert alert["acknowledged"]["comment"] == "patrol informed"
    # the acknowledgement is on the audit log for every worker: the legacy token (an admin) sees it too
    assert api(w.base, f"/alerts/{alert_id}", w.token)[1]["acknowledged"]["by"] == "duty-officer"
    # an Uzbek secretariat never sees a KGZ-TJK alert; the Kyrgyz one does
    assert api(w.base, f"/alerts/{alert_id}", uz)[0] == 404
    assert api(w.base, f"/alerts/{alert_id}", kg)[0] == 200
    assert api(w.base, "/segments/KGZ-TJK-01", op)[1]["level"] == "critical"

    browser.get(f"{w.base}/ui/segments/KGZ-TJK-01")
    assert "critical" in browser.find_element(By.ID, "segment-title").text




def test_the_console_shows_the_open_critical_alert_above_the_fold_and_history_folded(
        worker_factory, producer, browser, tmp_path):
    """The MIE history replayed (every alert resolved), then one deadly clash today: what a duty
    officer sees on signing in, and what a desk sees asking for a segment not its own."""
    import subprocess
    import sys

    from selenium.webdriver.common.by import By

    from tests.conftest import DATA, ROOT, wait_for

    tokens = TokenFile(tmp_path / "tokens.json")
    op = tokens.add("duty-officer", "operator")
    uz = tokens.add("uz-desk", "secretariat:UZB")
    # idle ticks on (the default): they are what resolves the replayed history's alerts
    w = worker_factory(BORDERWATCH_TOKENS_FILE=str(tokens.path)).start()
    res = subprocess.run([sys.executable, "-m", "streams.cli", "replay", str(DATA / "mie-1.0-central-asia.csv"),
                          "--format", "mie", "--broker", w.broker.url, "--topic-prefix", w.topics.prefix],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    wait_for(lambda: w.get_json("/alerts?status=all")["count"] > 20 and not w.get_json("/alerts")["count"],
             timeout=120, message="the replayed history to resolve")
    when = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    producer.send(w.topics.incidents, key=b"KGZ-TJK", value=json.dumps({
        "event_id": "e2e-console-1", "occurred_at": when, "reported_at": when, "source": "e2e",
        "category": "armed_clash", "severity": 5, "fatalities": 12, "injuries": 3, "countries": ["KGZ", "TJK"],
        "latitude": 40.05229068, "longitude": 70.63277194}).encode()).get(timeout=20)
    wait_for(lambda: w.get_json("/alerts")["count"] == 1, timeout=60, message="the live alert to open")

    sign_in(browser, w.base, op)
    browser.set_window_size(1280, 800)
    banner = browser.find_element(By.ID, "open-banner")
    assert banner.text == "1 open: 1 critical" and banner.is_displayed()
    card = browser.find_element(By.CSS_SELECTOR, "#open-alerts article")
    title = card.find_element(By.TAG_NAME, "h3")
    assert title.text.startswith("critical Critical — Kyrgyzstan–Tajikistan km 0–60, near ")
    viewport = browser.execute_script("return window.innerHeight")
    assert title.rect["y"] + title.rect["height"] <= viewport  # above the fold
    assert " UTC" in card.find_element(By.CSS_SELECTOR, ".since").text
    # the resolved history is there, folded away: none of it shows by default
    assert browser.find_elements(By.CSS_SELECTOR, "#history-table tr.resolved")
    assert not [r for r in browser.find_elements(By.CSS_SELECTOR, "tr.resolved") if r.is_displayed()]
    assert browser.find_element(By.ID, "history").get_attribute("open") is None
    fold = card.find_element(By.CSS_SELECTOR, "details.engineering")
    assert fold.get_attribute("open") is None and "detector" not in card.text
    browser.save_screenshot(str(tmp_path / "console.png"))
    see_the_map(browser, viewport)

    # a desk asking for a segment that is not its own gets a page, not JSON
    browser.delete_all_cookies()
    sign_in(browser, w.base, uz)
    browser.get(f"{w.base}/ui/segments/KGZ-TJK-01")
    # in the desk's language: the bundled policy writes the Uzbek secretariat's notices in Russian
    assert browser.find_element(By.ID, "error-title").text == "Не найдено"
    assert browser.find_element(By.LINK_TEXT, "← назад к тревогам")


def see_the_map(browser, viewport: float) -> None:
    """What a duty officer must see on the map beside the open critical alert near Dostuk, and the
    map following the border filter."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from streams.segments import SegmentRegistry

    def seen(el) -> bool:  # shown, inside the map's frame and above the fold
        r, m = el.rect, browser.find_element(By.ID, "map").rect
        return (el.is_displayed() and r["width"] > 0 and m["x"] <= r["x"] and r["x"] + r["width"] <= m["x"] + m["width"]
                and m["y"] <= r["y"] and r["y"] + r["height"] <= min(m["y"] + m["height"], viewport))

    def until(check, timeout: float = 10):
        # a live event re-renders the console, map included: an element found a moment ago may be stale
        return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: check())

    place = SegmentRegistry.default().get("KGZ-TJK-01").place

    def the_alert_on_the_map() -> bool:
        names = {t.text: t for t in browser.find_elements(By.CSS_SELECTOR, "#map text.country-name")}
        for country in ("Kyrgyzstan", "Tajikistan", "Uzbekistan"):
            assert country in names and seen(names[country]), country
        seg = browser.find_element(By.CSS_SELECTOR, '#map polyline[data-segment="KGZ-TJK-01"]')
        style = browser.execute_script("var s = getComputedStyle(arguments[0]); return [s.stroke, s.strokeWidth];", seg)
        assert style[0] == "rgb(211, 47, 47)"  # the critical red of the legend
        assert float(style[1].removesuffix("px")) >= 5  # a line one sees, not a hairline
        assert seen(seg) and max(seg.rect["width"], seg.rect["height"]) >= 20
        quiet = browser.find_element(By.CSS_SELECTOR, '#map polyline[data-segment="KGZ-TJK-05"]')
        assert float(quiet.value_of_css_property("stroke-width").removesuffix("px")) < 2
        labels = [t for t in browser.find_elements(By.CSS_SELECTOR, "#map text.place") if t.text == place]
        assert labels and seen(labels[0]), place
        scale = browser.find_element(By.CSS_SELECTOR, "#map-scale text")
        assert scale.text.endswith(" km") and scale.text.split()[0].isdigit() and seen(scale)
        legend = browser.find_element(By.ID, "map-legend").text
        assert all(word in legend for word in ("critical", "warning", "watch", "no open alert"))
        return True

    until(the_alert_on_the_map)

    # choosing a border zooms the map to it; "all" comes back to the borders with open alerts
    before = until(lambda: browser.find_element(By.ID, "map").get_attribute("data-bounds"))
    Select(browser.find_element(By.ID, "filter-border")).select_by_value("KAZ-RUS")
    until(lambda: browser.find_element(By.ID, "map").get_attribute("data-view") == "border KAZ-RUS")

    def the_chosen_border() -> bool:
        lon0, lat0, lon1, lat1 = map(float, browser.find_element(By.ID, "map").get_attribute("data-bounds").split(","))
        assert lon1 - lon0 > 20 and lat1 > 50  # Kazakhstan's long northern border, not the Fergana valley
        names = {t.text: t for t in browser.find_elements(By.CSS_SELECTOR, "#map text.country-name")}
        assert "Russia" in names and seen(names["Russia"]) and "Kazakhstan" in names
        return True

    until(the_chosen_border)
    assert "border=KAZ-RUS" in browser.current_url
    Select(browser.find_element(By.ID, "filter-border")).select_by_value("")
    until(lambda: browser.find_element(By.ID, "map").get_attribute("data-bounds") == before)
