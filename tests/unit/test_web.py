"""The operator web app on a real aiohttp server (loopback), fed a real alert history."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts.history import AlertHistory
from alerts.model import AlertEvent, alert_id_for
from alerts.web import build_web_app

TOKEN = "s3cret-token"


def event(seg, transition="opened", level="warning", seq=1, at="2012-07-17T00:00:00Z", summary="x <b>y</b>"):
    border = "-".join(seg.split("-")[:2])
    return AlertEvent(alert_id=alert_id_for(seg, "2012-07-17T00:00:00Z"), transition=transition, segment_id=seg,
                      border=border, countries=tuple(border.split("-")), level=level, previous_level="none",
                      score=0.8, at=at, opened_at="2012-07-17T00:00:00Z", seq=seq, peak_level="warning",
                      peak_score=0.8, summary=summary, detector="reference",
                      resolved_at=at if transition == "resolved" else None)


def run(coro_fn):
    async def main():
        history = AlertHistory().extend([event("KGZ-UZB"), event("KGZ-TJK-07"),
                                         event("KGZ-TJK-07", "resolved", "none", 2, "2012-08-16T00:00:00Z")])
        app = build_web_app(lambda: history, lambda: b"borderwatch_up 1\n", TOKEN, lambda s: f"name of {s}")
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            return await coro_fn(client)
    return asyncio.run(main())


def test_health_is_open_everything_else_needs_the_token():
    async def check(c):
        health = await c.get("/health")
        assert health.status == 200 and (await health.json()) == {"status": "ok", "ready": True}
        for path in ("/alerts", "/metrics", "/"):
            assert (await c.get(path)).status == 401
            assert (await c.get(path, headers={"Authorization": "Bearer nope"})).status == 401
            assert (await c.get(path, headers={"Authorization": f"Bearer {TOKEN}"})).status == 200
    run(check)


def test_alerts_json_filters():
    async def check(c):
        h = {"Authorization": f"Bearer {TOKEN}"}
        open_ = await (await c.get("/alerts", headers=h)).json()
        assert [a["segment_id"] for a in open_["alerts"]] == ["KGZ-UZB"]
        every = await (await c.get("/alerts?status=all", headers=h)).json()
        assert every["count"] == 2
        tjk = await (await c.get("/alerts?status=all&border=KGZ-TJK", headers=h)).json()
        assert tjk["alerts"][0]["resolved_at"] == "2012-08-16T00:00:00Z"
        assert (await c.get("/alerts?level=bogus", headers=h)).status == 400
    run(check)


def test_page_swaps_query_token_for_cookie_and_escapes_html():
    async def check(c):
        r = await c.get(f"/?token={TOKEN}", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/"
        assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
        page = await (await c.get("/")).text()  # the cookie jar now carries the token
        assert "name of KGZ-UZB" in page
        assert page.index('id="segment-summary"') < page.index("name of KGZ-TJK-07")  # resolved one listed
        assert "x &lt;b&gt;y&lt;/b&gt;" in page and "<b>y</b>" not in page
    run(check)


def test_web_app_refuses_to_start_without_a_token():
    with pytest.raises(ValueError):
        build_web_app(AlertHistory, lambda: b"", "")
