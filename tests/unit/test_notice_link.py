"""The acknowledgement link in a notice: signed per notice, recorded once, time to acknowledge observed."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta, timezone

from aiohttp.test_utils import TestClient, TestServer

from alerts.history import AlertHistory
from alerts.notify.acks import NoticeAcks, ack_link
from alerts.notify.delivery import DeliveryLog
from alerts.policy import load_policy
from alerts.state import AlertStore
from alerts.web.app import build_web_app
from streams.actions import WorkerActions
from streams.metrics import Metrics

SECRET = b"s" * 32
T0 = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
GOOD_TO = date(2026, 12, 7)


def run(tmp_path, check):
    now = [T0]
    log = DeliveryLog(tmp_path / "delivery.jsonl")
    log.append({"kind": "delivered", "notice_id": "nt-1", "sink": "file:x", "receiver": "secretariat-KGZ",
                "group_key": "g", "at": "2026-11-23T08:00:00Z", "attempts": 1, "summary": {}, "previous_summary": None})
    metrics = Metrics()
    acks = NoticeAcks(SECRET, log, metrics, clock=lambda: now[0])

    async def send(key, value):
        raise AssertionError("a notice acknowledgement is not an alert action")

    actions = WorkerActions(load_policy(), AlertStore(), send, lambda: now[0], acks)
    app = build_web_app(AlertHistory, lambda: b"", "admin-token", notice_actions=actions)

    async def main():
        async with TestClient(TestServer(app)) as c:
            await check(c, now, metrics)
    asyncio.run(main())


def test_the_link_opens_a_confirm_page_and_records_the_acknowledgement_once(tmp_path):
    async def check(c, now, metrics):
        link = ack_link("http://127.0.0.1", SECRET, "nt-1", GOOD_TO)
        path = link.split("127.0.0.1", 1)[1]
        page = await c.get(path)  # no sign-in
        assert page.status == 200
        html = await page.text()
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        now[0] = T0 + timedelta(hours=2)
        first = await c.post("/notices/nt-1/confirm", data={"token": token})
        assert first.status == 200 and "acknowledged at" in await first.text()
        again = await c.post("/notices/nt-1/confirm", data={"token": token})
        assert "already acknowledged" in await again.text()
        text = metrics.exposition().decode()
        assert 'borderwatch_notice_ack_seconds_count{receiver="secretariat-KGZ"} 1.0' in text
        assert 'borderwatch_notice_ack_seconds_sum{receiver="secretariat-KGZ"} 7200.0' in text
    run(tmp_path, check)


def test_a_token_for_another_notice_or_an_unknown_notice_is_refused(tmp_path):
    async def check(c, now, metrics):
        other = ack_link("http://h", SECRET, "nt-2", GOOD_TO).rsplit("t=", 1)[1]
        bad = await c.post("/notices/nt-1/confirm", data={"token": other})
        assert bad.status == 403
        unknown = await c.post("/notices/nt-2/confirm", data={"token": other})
        assert unknown.status == 404
        assert "borderwatch_notice_ack_seconds_count" not in metrics.exposition().decode().replace(
            "# HELP borderwatch_notice_ack_seconds", "")
    run(tmp_path, check)


def test_a_link_past_its_last_day_says_so_and_records_nothing(tmp_path):
    async def check(c, now, metrics):
        link = ack_link("http://127.0.0.1", SECRET, "nt-1", GOOD_TO)
        path = link.split("127.0.0.1", 1)[1]
        now[0] = datetime(2026, 12, 8, 0, 1, tzinfo=timezone.utc)
        page = await c.get(path)
        assert page.status == 410 and "good to the end of 2026-12-07 (UTC)" in await page.text()
        token = link.rsplit("t=", 1)[1]
        late = await c.post("/notices/nt-1/confirm", data={"token": token})
        assert late.status == 410 and "acknowledged at" not in await late.text()
        assert 'borderwatch_notice_ack_seconds_count{receiver="secretariat-KGZ"}' not in metrics.exposition().decode()
    run(tmp_path, check)


def test_a_russian_notice_links_to_a_russian_page_and_its_answers_are_russian(tmp_path):
    async def check(c, now, metrics):
        link = ack_link("http://127.0.0.1", SECRET, "nt-1", GOOD_TO, lang="ru")
        assert link.endswith("&l=ru")
        page = await c.get(link.split("127.0.0.1", 1)[1])
        html = await page.text()
        assert page.status == 200 and '<html lang="ru">' in html
        for seen in ("Уведомление об эскалации", "Подтвердить получение уведомления nt-1",
                     "borderwatch — подтверждение получения"):
            assert seen in html, seen
        assert "Acknowledge" not in html and "Escalation notice" not in html
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        assert re.search(r'name="l" value="ru"', html)  # the answer to the form reads the same
        first = await c.post("/notices/nt-1/confirm", data={"token": token, "l": "ru"})
        assert "Получение уведомления nt-1 подтверждено: 2026-11-23 08:00 UTC." in await first.text()
        again = await c.post("/notices/nt-1/confirm", data={"token": token, "l": "ru"})
        assert "уже было подтверждено" in await again.text()
        now[0] = datetime(2026, 12, 8, 0, 1, tzinfo=timezone.utc)
        late = await c.get(link.split("127.0.0.1", 1)[1])
        assert late.status == 410 and "Ссылка уведомления nt-1 действовала по 2026-12-07 включительно (UTC)" in await late.text()
    run(tmp_path, check)


def test_the_page_language_comes_from_the_link_then_the_browser_then_english(tmp_path):
    async def check(c, now, metrics):
        path = ack_link("http://h", SECRET, "nt-1", GOOD_TO).split("http://h", 1)[1]
        browser_ru = await c.get(path, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
        assert "Уведомление об эскалации" in await browser_ru.text()
        unknown = await c.get(path + "&l=xx", headers={"Accept-Language": "de"})
        assert unknown.status == 200 and "Escalation notice" in await unknown.text()
        missing = await c.get("/n/nt-1?l=ru")
        assert missing.status == 400 and "Ссылка неполная" in await missing.text()
        other = ack_link("http://h", SECRET, "nt-2", GOOD_TO).rsplit("t=", 1)[1]
        refused = await c.post("/notices/nt-1/confirm", data={"token": other, "l": "ru"})
        assert refused.status == 403 and "Эта ссылка не подходит" in await refused.text()
        unknown_notice = await c.post("/notices/nt-2/confirm", data={"token": other, "l": "ru"})
        assert unknown_notice.status == 404 and "Уведомления nt-2 нет в журнале доставки" in await unknown_notice.text()
    run(tmp_path, check)


def test_a_delivery_log_that_takes_no_record_answers_503_and_records_nothing(tmp_path):
    async def check(c, now, metrics):
        link = ack_link("http://h", SECRET, "nt-1", GOOD_TO, lang="ru")
        token = link.split("t=", 1)[1].split("&", 1)[0]
        log_file = tmp_path / "delivery.jsonl"
        kept = log_file.read_bytes()
        log_file.unlink()
        log_file.mkdir()  # the log can no longer be written: what a lost mount does
        page = await c.post("/notices/nt-1/confirm", data={"token": token, "l": "ru"})
        assert page.status == 503 and "Подтверждение сейчас не удалось записать" in await page.text()
        log_file.rmdir()
        log_file.write_bytes(kept)
        again = await c.post("/notices/nt-1/confirm", data={"token": token, "l": "ru"})
        assert again.status == 200 and "уже было" not in await again.text()  # the first that was recorded
    run(tmp_path, check)


def test_the_api_answers_503_when_the_delivery_log_takes_no_record():
    import pytest

    from alerts.notify.delivery import DeliveryLogUnavailable
    from alerts.web.api import act
    from alerts.web.context import Problem

    async def unavailable():
        raise DeliveryLogUnavailable("topic bw.notice-log took no record for 300 s")

    with pytest.raises(Problem) as caught:
        asyncio.run(act(unavailable()))
    assert caught.value.status == 503 and "nothing was recorded" in caught.value.message
