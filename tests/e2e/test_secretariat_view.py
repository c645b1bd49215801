"""What the Kyrgyz secretariat sees, in Debian's headless Chromium (issue 10 point 7).

A real worker with the bundled policy (the Central Asian secretariats read Russian), its notices
delivered by the file sink: a deadly clash near Dostuk reaches the Kyrgyz desk as a Russian brief,
which the desk opens in a browser and acknowledges by its link; signed in to the console, the
desk sees its own border's alert in Russian too, and its segment page fills every column of the
incident; a click on "English" turns the pages English and they stay so; the Uzbek desk sees
none of it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from alerts.web.tokens import TokenFile
from tests.conftest import ROOT, wait_for
from tests.e2e.test_operator_page import sign_in

pytestmark = pytest.mark.e2e


def fast_policy(tmp_path: Path) -> Path:
    """The bundled policy with groups flushed after a second, not after 10-30 s."""
    text = (ROOT / "deploy" / "borderwatch" / "policy.yml").read_text()
    path = tmp_path / "policy.yml"
    path.write_text(text.replace("group_wait: 30s", "group_wait: 1s").replace("group_wait: 10s", "group_wait: 1s"))
    return path


def test_the_kyrgyz_secretariat_reads_a_russian_brief_acknowledges_it_and_sees_only_its_borders(
        worker_factory, producer, browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    tokens = TokenFile(tmp_path / "tokens.json")
    kg = tokens.add("kg-desk", "secretariat:KGZ")
    uz = tokens.add("uz-desk", "secretariat:UZB")
    w = worker_factory(BORDERWATCH_TOKENS_FILE=str(tokens.path), BORDERWATCH_POLICY_FILE=str(fast_policy(tmp_path)),
                       BORDERWATCH_IDLE_SECONDS="600").start()
    when = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    producer.send(w.topics.incidents, key=b"KGZ-TJK", value=json.dumps({
        "event_id": "e2e-desk-1", "occurred_at": when, "reported_at": when, "source": "e2e",
        "category": "armed_clash", "severity": 5, "fatalities": 12, "injuries": 3, "countries": ["KGZ", "TJK"],
        "latitude": 40.05229068, "longitude": 70.63277194,
        "description": "Exchange of fire at the Dostuk crossing"}).encode()).get(timeout=20)

    inbox = Path(w.tmp) / f"data-{w.app_id}" / "notices" / "secretariat-KGZ"
    notice = wait_for(lambda: next(iter(sorted(inbox.glob("*.html"))), None) if inbox.is_dir() else None,
                      timeout=90, message="the Kyrgyz secretariat's notice in its file sink")

    # The brief, as the desk opens it: Russian from the headline down, the place named, what is asked.
    browser.get(notice.as_uri())
    page = browser.find_element(By.TAG_NAME, "body").text
    headline = browser.find_element(By.TAG_NAME, "h1").text
    # "Critical: a deadly clash near <towns>, Kyrgyzstan-Tajikistan border", the desk's own state first
    # "н. п." (a settlement) keeps to one line with no-break spaces; what a reader sees are spaces
    assert headline.replace("\u00a0", " ").startswith("Критический: столкновение с погибшими в районе н. п. "), headline
    assert headline.endswith(", граница Кыргызстан–Таджикистан"), headline
    for seen in ("Что произошло", "Недавние инциденты, переданные вам", "Что от вас требуется",
                 "Подтвердить получение", "Exchange of fire at the Dostuk crossing"):
        assert seen in page, seen
    assert "What happened" not in page and "Acknowledge this notice" not in page
    browser.save_screenshot(str(tmp_path / "notice-kgz.png"))

    # The acknowledgement link: one click to a page, one to confirm, no token to type.
    link = browser.find_element(By.CSS_SELECTOR, "a.ack")
    assert link.text == "Подтвердить получение"
    browser.get(link.get_attribute("href"))
    # the page behind it reads like the notice: Russian, heading, button and answer
    assert browser.find_element(By.TAG_NAME, "h2").text == "Уведомление об эскалации"
    button = browser.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    assert button.text.startswith("Подтвердить получение уведомления ")
    browser.save_screenshot(str(tmp_path / "confirm-kgz.png"))
    button.click()
    # the form posts and the next page replaces this one: an element found meanwhile may be stale
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: " подтверждено: " in d.find_element(By.ID, "confirm-result").text)
    assert "acknowledged" not in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(tmp_path / "confirmed-kgz.png"))

    # The desk's console reads as its notices do (the policy writes them in Russian): its own border's
    # alert, with the place; the Uzbek desk sees none of it.
    browser.get(w.base + "/")
    sign_in(browser, w.base, kg)
    # cards are re-rendered on each live event: read them in one go, again if one went stale
    card = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: [(a.get_attribute("data-border"), a.text) for a in d.find_elements(By.CSS_SELECTOR,
                                                                                     "#open-alerts article")])[0]
    assert card[0] == "KGZ-TJK"
    assert "Критический — Кыргызстан–Таджикистан (KGZ-TJK-01), в районе н. п. " in card[1].replace("\u00a0", " "), card[1]
    for seen in ("ЧТО ПРОИЗОШЛО", "вооружённое столкновение, 12 погибших", "ЧТО ОЗНАЧАЕТ УРОВЕНЬ", "ЧТО ДАЛЬШЕ",
                 "Срок подтверждения — "):  # the headings as the page sets them, in capitals
        assert seen in card[1], seen
    assert "What happened" not in card[1] and "killed" not in card[1]
    # who was notified, and who is signed in, in words rather than the policy's ids
    assert "Уведомлены: операторы, региональный центр, секретариат (Кыргызстан), секретариат (Таджикистан)." in card[1]
    assert browser.find_element(By.ID, "role").text == "секретариат: Кыргызстан"
    assert browser.find_element(By.CSS_SELECTOR, '#filter-border option[value="KGZ-TJK"]').text == "Кыргызстан–Таджикистан"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    assert browser.find_element(By.ID, "open-banner").text == "1 открытая тревога: критический — 1"
    browser.save_screenshot(str(tmp_path / "console-kgz.png"))
    # its segment page: every column of the incident filled, and the chart counts the same incident
    browser.get(f"{w.base}/ui/segments/KGZ-TJK-01")
    assert browser.find_element(By.ID, "segment-title").text.replace("\u00a0", " ").startswith(
        "Кыргызстан–Таджикистан (KGZ-TJK-01), в районе н. п. ")
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#segment-incidents tbody tr:first-child td")]
    assert len(cells) == 7 and all(cells), cells
    assert cells[1:5] == ["вооружённое столкновение", "12", "5", "e2e"], cells
    assert cells[6] == "Exchange of fire at the Dostuk crossing"  # the source's own words, as released
    assert browser.find_elements(By.CSS_SELECTOR, '#chart rect.bar[data-incidents="1"]')
    assert "инцидентов — 1, погибших — 12" in browser.find_element(By.ID, "chart-legend").text
    browser.save_screenshot(str(tmp_path / "segment-kgz.png"))
    # English at a click, and it stays English on the pages that follow
    browser.find_element(By.CSS_SELECTOR, '#languages a[lang="en"]').click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    assert browser.find_element(By.ID, "segment-title").text.startswith("Kyrgyzstan–Tajikistan km 0–")
    assert "1 incident(s), 12 death(s)" in browser.find_element(By.ID, "chart-legend").text
    browser.get(w.base + "/")
    assert WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "open-banner").text) == "1 open: 1 critical"
    browser.delete_all_cookies()
    sign_in(browser, w.base, uz)
    assert browser.find_element(By.ID, "open-banner").text == "Открытых тревог нет"
    assert not browser.find_elements(By.CSS_SELECTOR, "#open-alerts article")
