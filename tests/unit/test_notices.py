"""Notices: redaction by releasability in every format, what changed, the chart, acknowledgement."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from prometheus_client import CollectorRegistry
from pypdf import PdfReader

from alerts.access import AccessError
from alerts.notify.acks import (ExpiredAckLink, InvalidAckToken, NoticeAcks, UnknownNotice, ack_link, ack_token,
                                acknowledgement, read_ack_token)
from alerts.notify.brief import notice_html, notice_json, notice_text, notice_title
from alerts.notify.delivery import DeliveryLog
from alerts.notify.notices import NoticeError, NoticeRequest, SegmentContext, changes_since, principal_for
from alerts.notify.pdf import notice_pdf
from streams.metrics import Metrics
from tests.notice_fixtures import BASE_URL, NOW, SECRET, alert, renderer, request


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_secretariat_notice_shows_released_evidence_only_in_every_format():
    n = renderer()(request("secretariat-KGZ"), None)
    outputs = {"html": notice_html(n), "pdf": pdf_text(notice_pdf(n)), "text": notice_text(n), "json": notice_json(n).decode()}
    for fmt, out in outputs.items():
        assert "inc-public" in out and "inc-kgz-only" in out, fmt
        assert "Kok-Tash" in out, fmt
        assert "inc-tjk-only" not in out and "SECRET-TJK" not in out, fmt
    assert n.audience == "secretariat:KGZ"


def test_regional_desk_sees_only_what_is_released_to_all():
    n = renderer()(request("regional-desk", "nt-desk-1"), None)
    html = notice_html(n)
    assert "inc-public" in html and "inc-kgz-only" not in html and "inc-tjk-only" not in html
    assert n.summary["alerts"]["al-0001"]["evidence"] == ["inc-public"]


def test_a_receiver_who_may_not_see_every_incident_gets_a_chart_of_what_is_released_to_it_and_no_baseline():
    """The stored series (3 incidents to 2025-11-19) and its baseline count withheld incidents too."""
    kg = renderer()(request("secretariat-KGZ"), None)
    desk = renderer()(request("regional-desk", "nt-desk-1"), None)
    assert kg.sections[0].baseline is None and desk.sections[0].baseline is None
    assert len(kg.sections[0].activity) == 30 and kg.sections[0].activity[-2:] == (("2025-11-18", 1), ("2025-11-19", 1))
    assert len(desk.sections[0].activity) == 30 and desk.sections[0].activity[-1] == ("2025-11-18", 1)
    assert sum(n for _, n in desk.sections[0].activity) == 1
    said = "1 of the segment's latest incidents released to you falls in the 30 days to 2025-11-18"
    for fmt, out in {"html": notice_html(desk), "pdf": pdf_text(notice_pdf(desk)).replace("\n", " "),
                     "text": notice_text(desk)}.items():
        assert said in out.replace("&#39;", "'") and "baseline" not in out, fmt
    assert "<title>baseline" not in notice_html(desk) and notice_json(desk).count(b'"baseline":null') == 1
    assert "Recent incidents released to you" in notice_html(desk) and "Trend against normal" not in notice_html(desk)
    assert "2 of the segment's latest incidents released to you fall in the 30 days to 2025-11-19" in notice_text(kg)


def test_operators_see_all_evidence():
    n = renderer()(request("operators", "nt-ops-1"), None)
    assert [i["event_id"] for i in n.sections[0].evidence] == ["inc-public", "inc-kgz-only", "inc-tjk-only"]


def test_alerts_the_receiver_may_not_see_are_never_rendered():
    uzb = NoticeRequest("secretariat-UZB", "g", (alert(),), "new", "nt-uzb-1")  # KGZ-TJK is not a UZB border
    with pytest.raises(NoticeError):
        renderer()(uzb, None)
    mixed = dict(alert(alert_id="al-0002"), releasable_to=["TJK"])
    n = renderer()(NoticeRequest("secretariat-KGZ", "g", (alert(), mixed), "new", "nt-kgz-9"), None)
    assert [s.alert_id for s in n.sections] == ["al-0001"]


def test_html_has_an_inline_svg_chart_level_trend_and_arms_context():
    n = renderer()(request("operators", "nt-ops-1"), None)
    html = notice_html(n)
    assert "<svg" in html and "stroke-dasharray" in html  # bars and the dashed baseline
    assert html.count("<rect") == 19
    assert "critical, rising" in html and "KGZ-TJK-07 (KGZ-TJK)" in html
    assert "Kyrgyzstan: 42.5 TIV over 2020-2024" in html and "Tajikistan: 8 TIV" in html
    assert "not its price" in html  # what a TIV is, said in plain words
    assert notice_title(n) == "Critical: deadly clash near Isfara and Batken, Kyrgyzstan–Tajikistan border"


def test_every_format_names_the_segment_by_its_towns():
    n = renderer()(request(), None)
    assert "near Isfara and Batken" in notice_text(n) and "near Isfara and Batken" in notice_html(n)
    assert "near Isfara and Batken" in pdf_text(notice_pdf(n)).replace("\n", " ")


def test_pdf_parses_and_carries_chart_dates_and_ack_link():
    n = renderer()(request("operators", "nt-ops-1"), None)
    text = pdf_text(notice_pdf(n))
    assert "2025-11-01" in text and "2025-11-19" in text and "baseline of 0.10/day" in text
    assert n.ack_url in text.replace("\n", "")  # short: the whole link on one line


def test_pdf_prints_cyrillic_and_typography_as_they_are():
    ctx = SegmentContext("KGZ-TJK-07", ({"event_id": "inc-cyr", "at": "2025-11-19T00:00:00Z", "category": "protest",
                                         "fatalities": 0, "severity": 1, "releasable_to": ["ALL"],
                                         "description": "Ворух — Vorukh \u2192 Isfara"},))
    from alerts.notify.notices import NoticeRenderer
    n = NoticeRenderer({"KGZ-TJK-07": ctx}.get, SECRET, BASE_URL, clock=lambda: NOW)(
        request(evidence=("inc-cyr",)), None)
    text = pdf_text(notice_pdf(n))
    assert "Ворух — Vorukh \u2192 Isfara" in text and "?" not in text.replace(n.ack_url, "")
    assert "Ворух" in notice_html(n)


def test_the_pdfs_acknowledgement_link_is_on_one_line():
    """A long public URL (a desk's own domain and path) still prints whole on one line, to be copied."""
    from alerts.notify.notices import NoticeRenderer
    from tests.notice_fixtures import CONTEXT

    base = "https://borderwatch.security-council-secretariat.example.gov.kg/regional-dialogue-desk/api"
    n = NoticeRenderer({"KGZ-TJK-07": CONTEXT}.get, SECRET, base, clock=lambda: NOW)(request(), None)
    assert len(n.ack_url) > 110 and n.ack_url in pdf_text(notice_pdf(n)).splitlines()


def test_no_pdf_page_ends_on_a_heading_whatever_comes_before_it():
    """Lines of "what changed" push everything below down a line at a time, so that each heading
    (the map's section too) comes to a page's foot in one of the notices: it moves to the next page
    with what it heads, never left alone above a page break."""
    from dataclasses import replace

    from alerts.notify.brief import brief_of
    from alerts.notify.pdf import render_pdf
    from tests.notice_fixtures import LANGUAGES, WITH_LINE

    n = renderer(languages=LANGUAGES, context=WITH_LINE)(request(), None)
    b = brief_of(n)
    s = b.sections[0]
    headings = [b.labels[k] for k in ("changes", "happened", "context", "asked", "engineering")]
    headings += [b.labels["ack"] + ":", s.heading, s.segment, s.trend_heading, s.evidence_heading]
    flat = lambda text: " ".join(text.split())  # noqa: E731
    broken = set()
    for k in range(48):
        pages = PdfReader(io.BytesIO(render_pdf(replace(b, changes=b.changes + tuple(f"line {i}" for i in range(k)))))).pages
        for page in pages[:-1]:
            foot = flat(page.extract_text())
            broken |= {(k, h) for h in headings if foot.endswith(flat(h))}
    assert not broken

def test_what_changed_since_the_last_notice():
    first = renderer()(request(level="warning", notice_id="nt-1", evidence=("inc-public",)), None)
    assert first.changes == ("First notice to you for this alert.",)
    second = renderer()(request(level="critical", notice_id="nt-2"), first.summary)
    assert "Kyrgyzstan–Tajikistan km 360–420, near Isfara and Batken: escalated from warning to critical." in second.changes
    assert "Kyrgyzstan–Tajikistan km 360–420, near Isfara and Batken: 1 new evidence incident." in second.changes  # the TJK-only one is not counted
    third = renderer()(request(level="critical", notice_id="nt-3", resolved_at="2025-12-01T00:00:00Z"), second.summary)
    assert third.changes == ("Kyrgyzstan–Tajikistan km 360–420, near Isfara and Batken: resolved (was critical).",) and third.level == "resolved"
    assert changes_since(third.summary, third.summary) == ["No change in level or evidence since the last notice."]


def test_principal_for_receivers():
    assert principal_for("secretariat-KGZ").role_string == "secretariat:KGZ"
    assert principal_for("regional-desk").role_string == "regional-desk"
    assert principal_for("operators").role_string == "operator"
    assert principal_for("kg-mail", "secretariat:KGZ").country == "KGZ"
    with pytest.raises(NoticeError):
        principal_for("somebody")
    with pytest.raises(AccessError):
        principal_for("secretariat-kg")


def test_segment_context_from_pipeline_state():
    from streams.windows import day_of
    from streams.segment_state import SegmentState
    from datetime import datetime, timezone

    end = day_of(datetime(2025, 11, 19, tzinfo=timezone.utc))
    state = SegmentState("KGZ-TJK-07", days={end: [2, 1, 0, 5], end - 3: [1, 0, 0, 2], end - 100: [73, 0, 0, 9]},
                         max_day=end, recent=[{"event_id": "x"}])
    pair = SegmentState("KGZ-TJK", pressure={"KGZ": {2023: 5.0}})
    ctx = SegmentContext.from_state(state, pair, name="Kyrgyzstan–Tajikistan km 360–420, near Isfara")
    assert ctx.name.endswith("near Isfara")
    assert len(ctx.activity) == 30 and ctx.activity[-1] == ("2025-11-19", 2) and ctx.activity[-4][1] == 1
    assert ctx.baseline == pytest.approx(73 / 365)
    assert ctx.pressure == {"KGZ": {2023: 5.0}} and ctx.incidents == ({"event_id": "x"},)


# --- acknowledgement -------------------------------------------------------------------------

GOOD_TO = date(2026, 12, 7)  # the last day the tests' links are good for


def test_ack_link_is_short_per_notice_per_secret_and_says_its_last_day():
    link = ack_link(BASE_URL + "/", SECRET, "nt-1", GOOD_TO)
    assert link.startswith("https://bw.example/n/nt-1?t=") and len(link) < 50
    token = link.rsplit("t=", 1)[1]
    assert len(token) == 16 and read_ack_token(SECRET, "nt-1", token) == GOOD_TO
    assert read_ack_token(SECRET, "nt-2", token) is None
    assert read_ack_token(b"other", "nt-1", token) is None
    assert read_ack_token(SECRET, "nt-1", "") is None and read_ack_token(SECRET, "nt-1", token[:-1]) is None
    # its day cannot be moved: a token with another day does not check
    later = ack_token(SECRET, "nt-1", date(2027, 1, 1))
    assert read_ack_token(SECRET, "nt-1", later[:4] + token[4:]) is None


def test_acknowledgement_is_pure_and_checks_the_token_and_its_day():
    ack = acknowledgement(SECRET, "nt-1", ack_token(SECRET, "nt-1", GOOD_TO), receiver="secretariat-KGZ", by="link",
                          at="2026-11-23T10:30:00Z", delivered_at="2026-11-23T09:00:00Z")
    assert ack.seconds == 5400 and not ack.repeated
    with pytest.raises(InvalidAckToken):
        acknowledgement(SECRET, "nt-1", "forged", receiver="r", by="x", at=NOW, delivered_at=NOW)
    assert acknowledgement(SECRET, "nt-1", ack_token(SECRET, "nt-1", GOOD_TO), receiver="r", by="x",
                           at="2026-12-07T23:59:00Z", delivered_at=NOW)  # good to the end of its day
    with pytest.raises(ExpiredAckLink, match=r"good to the end of 2026-12-07 \(UTC\)"):
        acknowledgement(SECRET, "nt-1", ack_token(SECRET, "nt-1", GOOD_TO), receiver="r", by="x",
                        at="2026-12-08T00:00:00Z", delivered_at=NOW)


def test_a_notices_link_is_good_for_the_policys_link_expiry_from_its_making():
    notice = renderer(now=NOW)(request(), None)
    token = notice.ack_url.rsplit("t=", 1)[1]
    assert read_ack_token(SECRET, "nt-kgz-1", token) == date(2026, 12, 7)  # 14 days by default


def test_notice_acks_record_once_observe_the_histogram_and_survive_a_restart(tmp_path):
    log = DeliveryLog(tmp_path / "log.jsonl")
    log.append({"kind": "delivered", "notice_id": "nt-1", "sink": "file:x", "receiver": "secretariat-KGZ",
                "group_key": "g", "at": "2026-11-23T09:00:00Z", "attempts": 1, "summary": {}})
    metrics = Metrics(CollectorRegistry())
    acks = NoticeAcks(SECRET, log, metrics, clock=lambda: NOW + timedelta(minutes=20))
    token = ack_token(SECRET, "nt-1", GOOD_TO)
    with pytest.raises(InvalidAckToken):
        acks.acknowledge("nt-1", "forged")
    with pytest.raises(UnknownNotice):
        acks.acknowledge("nt-never", ack_token(SECRET, "nt-never", GOOD_TO))
    first = acks.acknowledge("nt-1", token, by="kg-desk")
    assert (first.receiver, first.seconds, first.repeated) == ("secretariat-KGZ", 1200.0, False)
    again = NoticeAcks(SECRET, DeliveryLog(tmp_path / "log.jsonl"), metrics).acknowledge("nt-1", token)
    assert again.repeated and again.by == "kg-desk" and again.seconds == 1200.0
    reg = metrics.registry
    assert reg.get_sample_value("borderwatch_notice_ack_seconds_count", {"receiver": "secretariat-KGZ"}) == 1
    assert reg.get_sample_value("borderwatch_notice_ack_seconds_bucket",
                                {"receiver": "secretariat-KGZ", "le": "1800.0"}) == 1
    assert reg.get_sample_value("borderwatch_notice_ack_seconds_bucket",
                                {"receiver": "secretariat-KGZ", "le": "900.0"}) == 0
    assert [r["kind"] for r in log.records()] == ["delivered", "ack"]


def test_notice_json_is_plain_data():
    d = json.loads(notice_json(renderer()(request("operators", "nt-ops-1"), None)))
    assert d["level"] == "critical" and d["sections"][0]["activity"][-1] == {"date": "2025-11-19", "incidents": 2}
    assert d["sections"][0]["pressure"][0]["country"] == "KGZ"


def test_markup_in_incident_text_is_escaped():
    from alerts.notify.notices import NoticeRenderer

    ctx = SegmentContext("KGZ-TJK-07", ({"event_id": "inc-x", "at": "2025-11-19T00:00:00Z", "category": "protest",
                                         "fatalities": 0, "severity": 1, "releasable_to": ["ALL"],
                                         "description": '<script>alert(1)</script> "quoted"'},))
    n = NoticeRenderer({"KGZ-TJK-07": ctx}.get, SECRET, BASE_URL, clock=lambda: NOW)(request(evidence=("inc-x",)), None)
    assert "<script>" not in notice_html(n) and "&lt;script&gt;" in notice_html(n)


def test_trend_from_an_alert_event_dict():
    from alerts.notify.notices import _trend

    assert _trend({"transition": "de-escalated"}) == "easing"
    assert _trend({"transitions": [{"transition": "opened"}]}) == "new"


def test_every_format_says_what_deviated_from_baseline():
    explained = dict(alert(), explanation={
        "text": "violent_tail: 3 violent incidents in 7 days has a 0.01% chance",
        "deviations": [{"feature": "violent_7d", "baseline": 0.1, "now": 3}]})
    base = request("secretariat-KGZ")
    n = renderer()(NoticeRequest(base.receiver, base.group_key, (explained,), base.reason, "nt-why-1"), None)
    outputs = {"html": notice_html(n), "pdf": pdf_text(notice_pdf(n)), "text": notice_text(n), "json": notice_json(n).decode()}
    for fmt, out in outputs.items():
        assert "violent 7d: baseline 0.1, now 3" in out, fmt
        assert "0.01% chance" in out, fmt
    plain = renderer()(request("secretariat-KGZ"), None)
    assert "What deviated" not in notice_html(plain)  # nothing to say without an explanation


def test_a_notice_says_the_forecast_beside_the_reading_that_raised_the_alert():
    from alerts.notify.notices import why_lines

    forecast = {"text": "a 12 % chance of a deadly clash on this border within 60 days (watch: 8.5 % to 20 %)"}
    deadly = {"text": "fatality_high: 2 deaths in 30 days", "forecast": forecast, "deviations": []}
    assert why_lines(deadly)[:2] == ("fatality_high: 2 deaths in 30 days", "Forecast: " + forecast["text"])
    by_forecast = {"text": "clash_hazard: " + forecast["text"], "forecast": forecast, "deviations": []}
    assert why_lines(by_forecast) == ("clash_hazard: " + forecast["text"],)  # said once


def test_line_breaks_in_incident_text_cannot_start_a_line_of_the_text_notice():
    """A source's description may hold line breaks; in the text notice (and the CAP description) the
    evidence row stays one line, so the description cannot write a line of its own, such as a link."""
    from alerts.notify.cap import to_cap
    from alerts.notify.notices import NoticeRenderer

    forged = "Exchange of fire\r\n\nAcknowledge this notice: https://evil.example/n/x"
    ctx = SegmentContext("KGZ-TJK-07", ({"event_id": "inc-x", "at": "2025-11-19T00:00:00Z", "category": "shelling",
                                         "fatalities": 0, "severity": 1, "releasable_to": ["ALL"],
                                         "description": forged},))
    n = NoticeRenderer({"KGZ-TJK-07": ctx}.get, SECRET, BASE_URL, clock=lambda: NOW)(request(evidence=("inc-x",)), None)
    [row] = [line for line in notice_text(n).splitlines() if "inc-x" in line]
    assert row.endswith("inc-x  Exchange of fire Acknowledge this notice: https://evil.example/n/x")
    assert not any(line.startswith("Acknowledge this notice: https://evil") for line in notice_text(n).splitlines())
    assert "\nAcknowledge this notice: https://evil" not in to_cap(n).decode()
