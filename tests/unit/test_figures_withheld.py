"""An alert released to all whose figures count an incident withheld from a desk: the desk sees the
alert and its level on every surface (JSON API, live feed, console page, notices), never the figures.

The pipeline makes the alerts: a deadly clash released to TJK alone 40 days before, then a deadlier
one released to all. The second alert is released to all (its 30-day window holds the public clash
alone) but says "30 deaths in 30 days (previous yearly high 25)": the 25 is the TJK-only clash's.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from alerts.access import FIGURES_WITHHELD
from alerts.history import AlertHistory
from alerts.notify.brief import figures_withheld_line, notice_html, notice_json, notice_text
from alerts.notify.cap import to_cap
from alerts.notify.dispatch import Dispatcher
from alerts.notify.notices import NoticeRenderer, SegmentContext
from alerts.policy import load_policy
from streams.pipeline import Pipeline
from streams.segments import SegmentRegistry
from streams.topics import KIND_INCIDENTS
from tests.unit.alertdata import Clock
from tests.unit.test_web import read_events, wait_for_clients
from tests.webfakes import Env

T0 = datetime(2012, 7, 17, tzinfo=timezone.utc)
#: The day of the clash released to TJK alone, which opened the alert: KGZ may not learn of it.
WITHHELD_DAY = (T0 - timedelta(days=40)).date().isoformat()
#: What the alert says to whom its figures are released; none of it may reach KGZ.
QUOTED = "30 deaths in 30 days (previous yearly high 25)"


def incident(n: int, when: datetime, fatalities: int, releasable_to: list[str]) -> bytes:
    at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"event_id": f"ev-{n}", "occurred_at": at, "reported_at": at, "source": "test",
                       "category": "armed_clash", "severity": 4, "fatalities": fatalities, "injuries": 0,
                       "countries": ["KGZ", "TJK"], "releasable_to": releasable_to}).encode()


@pytest.fixture(scope="module")
def run():
    """The pipeline's alert events and the segment's state after both clashes."""
    pipeline, states, events = Pipeline(SegmentRegistry.default()), {}, []
    for raw in (incident(1, T0 - timedelta(days=40), 25, ["TJK"]), incident(2, T0, 30, ["ALL"])):
        envs, dead = pipeline.route(KIND_INCIDENTS, raw)
        assert dead is None
        for env in envs:
            events += pipeline.apply(states.setdefault(env.key, pipeline.new_state(env.key)), env).alerts
    last = events[-1]
    # the leak as it was: released to all, quoting the TJK-only clash
    assert last.releasable_to == ("ALL",) and QUOTED in last.summary and last.figures_releasable_to == ("TJK",)
    return events, states[last.segment_id]


def withheld_everywhere(text: str, explanation: dict) -> None:
    """Nothing of what the figures say is in ``text``."""
    assert QUOTED not in text and "yearly high 25" not in text
    for d in explanation["deviations"]:
        assert f'"baseline": {d["baseline"]}' not in text and f"baseline {d['baseline']:g}" not in text


def test_the_api_and_the_console_withhold_the_figures_from_kgz_not_from_the_operator(run, tmp_path):
    events, _ = run
    env = Env(tmp_path)
    env.history = AlertHistory().extend(events)
    alert_id, full = events[-1].alert_id, events[-1].explanation

    async def check(c):
        op = await (await c.get(f"/alerts/{alert_id}", headers=env.h("operator"))).json()
        assert QUOTED in op["summary"] and op["explanation"]["deviations"] and "figures_withheld" not in op
        assert op["figures_releasable_to"] == ["TJK"] and len(op["transitions"]) == 3
        kg = await (await c.get(f"/alerts/{alert_id}", headers=env.h("secretariat:KGZ"))).json()
        assert kg["level"] == "critical" and kg["figures_withheld"] is True
        assert kg["summary"].endswith(FIGURES_WITHHELD)
        assert set(kg["explanation"]) == {"detector", "score", "top_incidents"}
        # the opening and its de-escalation were released to TJK alone: only the escalation is shown, and
        # the alert is dated and sized by it, not by the TJK-only clash that opened it
        assert [t["transition"] for t in kg["transitions"]] == ["escalated"]
        assert op["opened_at"] == WITHHELD_DAY + "T00:00:00Z" and WITHHELD_DAY not in json.dumps(kg)
        assert kg["opened_at"] == events[-1].at and kg["peak_level"] == "critical"
        listed = await (await c.get("/alerts?status=all", headers=env.h("secretariat:KGZ"))).text()
        withheld_everywhere(json.dumps(kg), full)
        withheld_everywhere(listed, full)
        for lang in ("en", "ru"):
            page = await (await c.get(f"/?lang={lang}", headers=env.h("secretariat:KGZ"))).text()
            withheld_everywhere(page, full)
            assert figures_withheld_line(lang).replace("'", "&#39;") in page
        page = await (await c.get("/?lang=en", headers=env.h("operator"))).text()
        assert QUOTED in page and figures_withheld_line("en").replace("'", "&#39;") not in page
    env.run(check)


def test_the_live_feed_withholds_the_figures_from_kgz(run, tmp_path):
    events, _ = run
    env = Env(tmp_path)
    env.history = AlertHistory().extend(events[:-1])

    async def check(c):
        kg = await c.get("/events", headers=env.h("secretariat:KGZ"))
        op = await c.get("/events", headers=env.h("operator"))
        await wait_for_clients(env.app, 2)
        env.history.add(events[-1])
        for q in list(env.subscribers):
            q.put_nowait(events[-1])
        [(_, _, mine)] = [m for m in await read_events(kg, 2) if m[0] == "alert"]
        [(_, _, theirs)] = [m for m in await read_events(op, 2) if m[0] == "alert"]
        kg.close()
        op.close()
        return mine, theirs

    mine, theirs = env.run(check)
    assert QUOTED in theirs["event"]["summary"] and QUOTED in theirs["alert"]["summary"]
    assert mine["event"]["figures_withheld"] and mine["alert"]["figures_withheld"]
    withheld_everywhere(json.dumps(mine), events[-1].explanation)
    assert WITHHELD_DAY in json.dumps(theirs) and WITHHELD_DAY not in json.dumps(mine)  # the opening's day


def test_a_notice_to_kgz_withholds_the_figures_in_every_format(run):
    events, state = run
    clock = Clock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    d = Dispatcher(load_policy(), clock)
    for ev in events:
        d.apply(ev)
    clock.advance(minutes=5)
    sent = {x.receiver: x for x in d.flush()}
    render = NoticeRenderer({state.key: SegmentContext.from_state(state)}.get, b"s" * 32, "https://bw.example",
                            languages={"secretariat-KGZ": "ru", "secretariat-TJK": "ru"}, clock=clock)
    kg = render(_request(sent["secretariat-KGZ"]), None)
    for out in (notice_text(kg), notice_html(kg), to_cap(kg).decode()):  # the PDF lays out the same words
        withheld_everywhere(out, events[-1].explanation)
        assert WITHHELD_DAY not in out  # "opened 2012-06-07" would date the TJK-only clash
        assert figures_withheld_line("ru") in out
    as_json = notice_json(kg).decode()
    withheld_everywhere(as_json, events[-1].explanation)
    [section] = json.loads(as_json)["sections"]
    assert section["figures_withheld"] is True and section["summary"].endswith(FIGURES_WITHHELD)
    assert section["why"] == [] and section["forecast"] == {}
    tj = render(_request(sent["secretariat-TJK"]), None)  # released the figures: reads them
    assert QUOTED in notice_text(tj) and figures_withheld_line("ru") not in notice_text(tj)


def _request(dispatch):
    from alerts.notify.notices import NoticeRequest

    return NoticeRequest.from_dispatch(dispatch)


def test_an_alert_never_dates_withheld_deaths_older_than_the_views_reach():
    """The last deaths, 700 days back and released to TJK alone, are past every rolling view, but the
    explanation still says how long ago they were ("last deaths 700 days ago"): the figures stay TJK's."""
    pipeline, states, events = Pipeline(SegmentRegistry.default()), {}, []
    for raw in (incident(1, T0 - timedelta(days=700), 2, ["TJK"]), incident(2, T0, 0, ["ALL"]),
                incident(3, T0 + timedelta(days=1), 0, ["ALL"])):
        for env in pipeline.route(KIND_INCIDENTS, raw)[0]:
            events += pipeline.apply(states.setdefault(env.key, pipeline.new_state(env.key)), env).alerts
    raised = [e for e in events if e.transition != "resolved" and e.at >= T0.strftime("%Y-%m-%d")]
    assert raised, "two clashes in two days on a quiet segment raise an alert"
    assert all(e.releasable_to == ("ALL",) and e.figures_releasable_to == ("TJK",) for e in raised)
