"""The operator page in Debian's headless Chromium: sign in, watch an alert arrive live, acknowledge it.

Alerts are produced into a real alerts topic on the embedded broker and reach the page through the
real :class:`streams.feed.AlertFeed` and server-sent events. Two set-ups:

* ``test_operator_signs_in_watches_an_alert_arrive_and_acknowledges_it``: the web app served on
  loopback in this process over a real feed, with the in-memory acknowledgement
  (``tests.webfakes.MemoryActions``) until the worker wires the policy's (alerts.state).
* ``test_live_feed_on_a_real_worker``: a real ``borderwatch worker`` with a tokens file: sign-in,
  live arrival and the map, through the worker's own wiring.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import urllib.error
import urllib.request

import pytest
from aiohttp import web

from alerts.tokens import Authenticator, TokenFile
from alerts.web import build_web_app
from streams.broker import free_port
from streams.feed import AlertFeed
from streams.segments import SegmentRegistry
from streams.topics import Topics, ensure_topics
from tests.webfakes import MemoryActions, alert_event

pytestmark = pytest.mark.e2e

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,1000")


@pytest.fixture
def browser(tmp_path):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            pytest.fail(f"{path} is not installed: run `bash scripts/install-system-deps.sh` as root")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*HEADLESS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(flag)
    # An explicit driver path: selenium never looks for (or downloads) a driver of its own.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log")),
                              options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


class LoopbackWeb:
    """The web app on 127.0.0.1 in a thread of its own, over a real AlertFeed on the embedded broker."""

    def __init__(self, broker_url: str, topic: str, tokens: TokenFile) -> None:
        self.broker_url, self.topic, self.tokens = broker_url, topic, tokens
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="loopback-web", daemon=True)

    def start(self) -> "LoopbackWeb":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)
        return self

    async def _start(self) -> None:
        self.feed = AlertFeed(self.broker_url, self.topic)
        self.feed_task = asyncio.create_task(self.feed.run())
        await asyncio.wait_for(self.feed.ready.wait(), 45)
        self.actions = MemoryActions(lambda: self.feed.history, self.feed.subscribers)
        app = build_web_app(lambda: self.feed.history, lambda: b"", auth=Authenticator(self.tokens),
                            segments=SegmentRegistry.default(), actions=self.actions,
                            subscribers=self.feed.subscribers, heartbeat=2.0)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        await self.runner.cleanup()
        self.feed_task.cancel()
        await asyncio.gather(self.feed_task, return_exceptions=True)

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def api(base: str, path: str, token: str):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def sign_in(driver, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "/")
    field = driver.find_element(By.ID, "token")  # not signed in: the sign-in form
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    WebDriverWait(driver, 20).until(ec.text_to_be_present_in_element((By.ID, "live"), "live"))
    assert token not in driver.current_url
    assert driver.get_cookie("borderwatch_token")["httpOnly"] is True


def wait_row(driver, alert_id: str, timeout: float = 30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    sel = f'#feed tr[data-alert-id="{alert_id}"]'
    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, sel)))


def publish(producer, topic: str, ev) -> None:
    producer.send(topic, key=ev.segment_id.encode(), value=ev.encode()).get(timeout=20)


def test_operator_signs_in_watches_an_alert_arrive_and_acknowledges_it(broker, producer, browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    topics = Topics(f"bw-e2e-page-{free_port()}")
    ensure_topics(broker.url, 1, topics)
    tokens = TokenFile(tmp_path / "tokens.json")
    op = tokens.add("duty-officer", "operator")
    uz = tokens.add("uz-desk", "secretariat:UZB")
    srv = LoopbackWeb(broker.url, topics.alerts, tokens).start()
    try:
        sign_in(browser, srv.base, op)
        assert browser.find_element(By.ID, "who").text == "duty-officer"
        assert not browser.find_elements(By.CSS_SELECTOR, "#feed tbody tr")  # nothing yet

        ev = alert_event("KGZ-TJK-05", level="critical", opened_at="2026-11-23T08:00:00Z",
                         at="2026-11-23T08:00:00Z", summary="critical on KGZ-TJK-05: clash")
        publish(producer, topics.alerts, ev)
        row = wait_row(browser, ev.alert_id)  # arrived live, no reload
        assert "critical" in row.text and "KGZ-TJK" in row.text
        seg = browser.find_element(By.CSS_SELECTOR, '#map polyline[data-segment="KGZ-TJK-05"]')
        assert seg.get_attribute("data-level") == "critical"

        # filters act on the live feed
        Select(browser.find_element(By.ID, "filter-level")).select_by_value("watch")
        WebDriverWait(browser, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#feed tbody tr"))
        Select(browser.find_element(By.ID, "filter-level")).select_by_value("")
        row = wait_row(browser, ev.alert_id)

        row.find_element(By.NAME, "comment").send_keys("patrol informed")
        # another alert arriving while the operator types re-renders the feed but keeps the draft
        ev2 = alert_event("KGZ-TJK-06", level="watch", opened_at="2026-11-23T08:05:00Z", at="2026-11-23T08:05:00Z")
        publish(producer, topics.alerts, ev2)
        wait_row(browser, ev2.alert_id)
        row = wait_row(browser, ev.alert_id)
        assert row.find_element(By.NAME, "comment").get_attribute("value") == "patrol informed"
        rows = [r.get_attribute("data-alert-id") for r in browser.find_elements(By.CSS_SELECTOR, "#feed tbody tr")]
        assert rows == [ev.alert_id, ev2.alert_id]  # critical before watch
        row.find_element(By.CSS_SELECTOR, "form.ack button").click()
        # rows are re-rendered on each live event, so an element found a moment ago may be stale
        WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: "acked by duty-officer" in d.find_element(
                By.CSS_SELECTOR, f'#feed tr[data-alert-id="{ev.alert_id}"] td.state').text)

        status, alert = api(srv.base, f"/alerts/{ev.alert_id}", op)
        assert status == 200
        assert alert["acknowledged"]["by"] == "duty-officer"
        assert alert["acknowledged"]["comment"] == "patrol informed"
        assert [t["transition"] for t in alert["transitions"]] == ["opened", "acknowledged"]
        # an Uzbek secretariat never sees a KGZ-TJK alert
        assert api(srv.base, f"/alerts/{ev.alert_id}", uz)[0] == 404

        browser.get(f"{srv.base}/ui/segments/KGZ-TJK-05")
        assert "critical" in browser.find_element(By.ID, "segment-title").text
    finally:
        srv.stop()


def test_live_feed_on_a_real_worker(worker_factory, producer, browser, tmp_path):
    from selenium.webdriver.common.by import By

    tokens = TokenFile(tmp_path / "tokens.json")
    op = tokens.add("duty-officer", "operator")
    kg = tokens.add("kg-desk", "secretariat:KGZ")
    w = worker_factory(BORDERWATCH_TOKENS_FILE=str(tokens.path)).start()
    sign_in(browser, w.base, op)

    ev = alert_event("TJK-UZB-03", level="warning", opened_at="2026-11-23T09:00:00Z", at="2026-11-23T09:00:00Z")
    publish(producer, w.topics.alerts, ev)
    row = wait_row(browser, ev.alert_id)
    assert "warning" in row.text
    seg = browser.find_element(By.CSS_SELECTOR, '#map polyline[data-segment="TJK-UZB-03"]')
    assert seg.get_attribute("data-level") == "warning"
    # the worker's legacy token still works, as an admin; a KGZ desk sees nothing of TJK-UZB
    assert api(w.base, f"/alerts/{ev.alert_id}", w.token)[0] == 200
    assert api(w.base, f"/alerts/{ev.alert_id}", kg)[0] == 404
    assert api(w.base, "/segments/TJK-UZB-03", op)[1]["level"] == "warning"
