"""Each notice as an OASIS CAP 1.2 message: valid by the official schema and the standard's rules,
the level mapped once, the receiver's language and releasability kept, as a sink and as a download."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from alerts.notify.acks import UnknownNotice
from alerts.notify.archive import NoticeDownloads
from alerts.notify.brief import notice_title
from alerts.notify.cap import AREA_MARGIN_KM, CAP_LEVELS, MEDIA_TYPE, area_circle, default_sender, haversine_km, to_cap
from alerts.notify.delivery import DeliveryLog, Notifier
from alerts.notify.model import Notice
from alerts.notify.notices import DEMO_SOURCE, NoticeRenderer
from alerts.notify.sinks import build_sink
from alerts.notify.sinks.base import Sink, SinkConfigError
from alerts.notify.sinks.cap import CapSink
from alerts.policy import PolicyError, load_policy, parse_policy
from alerts.timefmt import cap_time
from tests.cap12 import CAP, assert_cap12, cap12_problems, find, parameters, text, xsd_errors
from tests.notice_fixtures import BASE_URL, CONTEXT, LANGUAGES, LINE, NOW, SECRET, WITH_LINE, alert, request
from tests.webfakes import NOTICES, Env, notice_archive

CYRILLIC = re.compile("[А-Яа-яЁё]")


def render(receiver="secretariat-KGZ", notice_id="nt-kgz-1", previous=None, context=WITH_LINE, languages=None,
           **kw) -> Notice:
    r = NoticeRenderer({"KGZ-TJK-07": context}.get, SECRET, BASE_URL, languages=languages, clock=lambda: NOW)
    return r(request(receiver, notice_id, **kw), previous)


def info(root: ET.Element, lang: str) -> ET.Element:
    return next(i for i in find(root, "info") if text(i, "language") == lang)


@pytest.mark.parametrize("level", ["watch", "warning", "critical"])
def test_each_level_is_a_valid_cap_alert_with_the_declared_mapping(level):
    n = render(level=level)
    root = assert_cap12(to_cap(n))
    assert (text(root, "identifier"), text(root, "sender"), text(root, "sent")) == (
        "nt-kgz-1", "borderwatch@bw.example", "2026-11-23T09:00:00-00:00")
    assert (text(root, "status"), text(root, "msgType"), text(root, "scope"), text(root, "addresses")) == (
        "Actual", "Alert", "Private", "secretariat-KGZ")
    assert find(root, "references") == [] and text(root, "incidents") == "al-0001"
    i = info(root, "en-US")
    urgency, severity, certainty, response = CAP_LEVELS[level]
    assert [text(i, "category"), text(i, "urgency"), text(i, "severity"), text(i, "certainty"),
            text(i, "responseType")] == ["Security", urgency, severity, certainty, response]
    assert text(i, "onset") == "2025-11-18T06:00:00-00:00" and text(i, "expires") > text(root, "sent")
    assert text(i, "headline") == notice_title(n) and text(i, "web") == n.ack_url
    assert "Acknowledge this notice" in text(i, "instruction") and n.ack_url in text(i, "instruction")
    assert "contact the secretariat of Tajikistan and the regional desk" in text(i, "instruction")
    params = dict(parameters(i))
    assert params["level"] == level and params["segmentId"] == "KGZ-TJK-07" and params["releasedTo"] == "secretariat:KGZ"


def test_the_levels_map_in_order_of_gravity():
    order = {"urgency": ["Past", "Future", "Expected", "Immediate"], "severity": ["Minor", "Moderate", "Severe", "Extreme"]}
    levels = ["resolved", "watch", "warning", "critical"]
    for k, name in enumerate(("urgency", "severity")):
        assert [order[name].index(CAP_LEVELS[lv][k]) for lv in levels] == sorted(order[name].index(CAP_LEVELS[lv][k])
                                                                                for lv in levels)


def test_a_later_notice_of_the_group_updates_the_earlier_and_a_resolution_is_an_all_clear():
    first = render()
    second = render(notice_id="nt-kgz-2", previous=first.summary, resolved_at="2025-12-01T00:00:00Z")
    root = assert_cap12(to_cap(second))
    assert text(root, "msgType") == "Update"
    assert text(root, "references") == "borderwatch@bw.example,nt-kgz-1,2026-11-23T09:00:00-00:00"
    i = info(root, "en-US")
    assert (text(i, "responseType"), text(i, "urgency")) == ("AllClear", "Past")
    assert dict(parameters(i))["level"] == "resolved" and dict(parameters(i))["alertLevel"] == "resolved"
    assert "border situation eased" in text(i, "headline")


def test_a_russian_receiver_reads_russian_first_then_english():
    root = assert_cap12(to_cap(render(languages=LANGUAGES)))
    assert [text(i, "language") for i in find(root, "info")] == ["ru-RU", "en-US"]
    ru, en = info(root, "ru-RU"), info(root, "en-US")
    assert text(ru, "event") == "Эскалация на границе"
    assert text(ru, "headline").startswith("Критический: столкновение с погибшими в районе н.\u00a0п.\u00a0Исфара и Баткен")
    assert "Что произошло" in text(ru, "description") and "секретариатом Таджикистана" in text(ru, "instruction")
    assert text(ru, "area/areaDesc") == "Кыргызстан–Таджикистан (KGZ-TJK-07), в районе н.\u00a0п.\u00a0Исфара и Баткен"
    for el in en.iter():
        assert not CYRILLIC.search(el.text or ""), (el.tag, el.text)
    assert text(en, "headline").startswith("Critical: deadly clash near Isfara and Batken")


def test_an_english_receiver_gets_one_info():
    root = assert_cap12(to_cap(render("regional-desk", "nt-desk-1", languages=LANGUAGES)))
    assert [text(i, "language") for i in find(root, "info")] == ["en-US"]


def test_a_demo_notice_is_a_test_message_that_says_so():
    demo = {"event_id": "demo-1", "at": "2025-11-19T00:00:00Z", "category": "armed_clash", "fatalities": 12,
            "severity": 5, "releasable_to": ["ALL"], "source": DEMO_SOURCE, "description": "demo event"}
    ctx = replace(WITH_LINE, incidents=(*CONTEXT.incidents, demo))
    root = assert_cap12(to_cap(render(context=ctx, evidence=("demo-1",), languages=LANGUAGES)))
    assert text(root, "status") == "Test"
    assert text(root, "note") == "Это демонстрационное уведомление: реального события не было."
    assert text(info(root, "ru-RU"), "headline").startswith("ДЕМО — ")
    assert text(info(root, "en-US"), "headline").startswith("DEMO — ")
    assert text(assert_cap12(to_cap(render())), "status") == "Actual"


def test_each_secretariat_gets_only_what_was_released_to_it():
    kgz = to_cap(render()).decode()
    tjk = to_cap(render("secretariat-TJK", "nt-tjk-1")).decode()
    assert "inc-kgz-only" in kgz and "inc-tjk-only" not in kgz and "SECRET-TJK" not in kgz
    assert "inc-tjk-only" in tjk and "inc-kgz-only" not in tjk and "Dostuk" not in tjk
    assert "<addresses>secretariat-TJK</addresses>" in tjk


def test_the_area_is_a_circle_in_lat_lon_order_around_the_segment():
    root = assert_cap12(to_cap(render()))
    centre, radius = text(info(root, "en-US"), "area/circle").split()
    lat, lon = map(float, centre.split(","))
    assert 39.9 < lat < 40.1 and 70.4 < lon < 71.0  # latitude first: Batken is at 40 N, 70.8 E
    for p_lon, p_lat in LINE:  # every point of the line, and the incidents assigned to it, inside
        assert haversine_km(lat, lon, p_lat, p_lon) + AREA_MARGIN_KM <= float(radius) + 0.1
    assert "near Isfara and Batken" in text(info(root, "en-US"), "area/areaDesc")


def test_a_whole_border_has_no_line_and_names_its_two_states():
    root = assert_cap12(to_cap(render(context=CONTEXT)))
    area = find(info(root, "en-US"), "area")[0]
    assert find(area, "circle") == [] and find(area, "polygon") == []
    assert [text(g, "value") for g in find(area, "geocode")] == ["KGZ", "TJK"]


def test_an_arms_race_notice_names_its_event_and_its_two_states():
    from alerts.notify.notices import NoticeRequest, SegmentContext
    from alerts.state import AlertStore
    from tests.unit.test_arms_race import _sipri_run

    store = AlertStore()
    opened = next(e for e in _sipri_run().events if e.segment_id == "KGZ-TJK:arms")
    store.add(opened)
    alert = dict(store.alerts[opened.alert_id], status="firing", labels={}, acknowledged=False)
    ctx = SegmentContext("KGZ-TJK:arms", name="Kyrgyzstan–Tajikistan")
    r = NoticeRenderer({"KGZ-TJK:arms": ctx}.get, SECRET, BASE_URL, languages=LANGUAGES, clock=lambda: NOW)
    root = assert_cap12(to_cap(r(NoticeRequest("secretariat-KGZ", "g", (alert,), "new", "nt-arms"), None)))
    assert [text(i, "event") for i in find(root, "info")] == ["Гонка вооружений на границе", "Arms race on a border"]
    area = find(info(root, "en-US"), "area")[0]
    assert find(area, "circle") == [] and [text(g, "value") for g in find(area, "geocode")] == ["KGZ", "TJK"]


def test_the_area_margin_is_the_registrys_assignment_distance():
    from streams.segments import DEFAULT_MAX_DISTANCE_KM

    assert AREA_MARGIN_KM == DEFAULT_MAX_DISTANCE_KM
    assert area_circle(()) == ""


def test_a_hazard_forecast_gives_the_probability_and_its_band():
    a = alert(level="warning")
    a["explanation"] = {"forecast": {"probability": 0.27, "horizon_days": 60, "level": "warning",
                                     "levels": {"watch": {"from": 0.085, "to": 0.2}, "warning": {"from": 0.2, "to": 0.4},
                                                "critical": {"from": 0.4, "to": None}}}}
    r = NoticeRenderer({"KGZ-TJK-07": WITH_LINE}.get, SECRET, BASE_URL, clock=lambda: NOW)
    req = request()
    n = r(replace(req, alerts=(a,)), None)
    params = dict(parameters(info(assert_cap12(to_cap(n)), "en-US")))
    assert (params["probability"], params["probabilityRange"], params["horizonDays"]) == ("0.2700", "0.2000-0.4000", "60")


def test_text_a_source_wrote_cannot_break_the_xml():
    bad = {**CONTEXT.incidents[0], "description": "fire <b>&amp; \x00\x1b\x7f bell\x07 ]]> end"}
    ctx = replace(WITH_LINE, incidents=(bad, *CONTEXT.incidents[1:]))
    root = assert_cap12(to_cap(render(context=ctx)))
    assert "fire <b>&amp; \x7f bell ]]> end" in text(info(root, "en-US"), "description")


def test_times_are_utc_as_cap_writes_it():
    assert cap_time("2026-11-30T12:00:00Z") == "2026-11-30T12:00:00-00:00"
    assert cap_time("2026-11-30T17:00:00+05:00") == "2026-11-30T12:00:00-00:00"


def test_a_notice_comes_back_from_its_json_as_it_was():
    n = render(languages=LANGUAGES, previous=render(notice_id="nt-0").summary)
    back = Notice.from_dict(n.to_dict())
    assert back == n and to_cap(back) == to_cap(n)


# ---------------------------------------------------------------------- the checker is not vacuous
def _broken(xml: bytes, old: str, new: str) -> bytes:
    assert old.encode() in xml
    return xml.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize("old,new,rule", [
    ("<status>Actual</status>", "<status>Real</status>", "status"),
    ("<msgType>Alert</msgType>", "<msgType>Notice</msgType>", "msgType"),
    ("<scope>Private</scope>", "<scope>Open</scope>", "scope"),
    ("<category>Security</category>", "<category>Border</category>", "category"),
    ("<urgency>Immediate</urgency>", "<urgency>Now</urgency>", "urgency"),
    ("<severity>Extreme</severity>", "<severity>High</severity>", "severity"),
    ("<certainty>Likely</certainty>", "<certainty>Probable</certainty>", "certainty"),
    ("<responseType>Assess</responseType>", "<responseType>Call</responseType>", "responseType"),
    ("<sender>borderwatch@bw.example</sender>", "", "sender"),
    ("<sent>2026-11-23T09:00:00-00:00</sent>", "<sent>2026-11-23T09:00:00Z</sent>", "sent"),
    ("<event>Border escalation</event>", "", "event"),
    ("<addresses>secretariat-KGZ</addresses>", "", "addresses"),
])
def test_the_checks_catch_a_broken_message(old, new, rule):
    bad = _broken(to_cap(render()), old, new)
    problems = cap12_problems(bad)
    assert any(rule in p for p in problems), problems
    if rule != "addresses":  # the schema cannot tie addresses to scope; the rest it refuses too
        assert xsd_errors(bad)


def test_the_checks_catch_elements_out_of_order_and_plus_zero_utc():
    xml = to_cap(render())
    swapped = _broken(xml, "<scope>Private</scope>\n  <addresses>secretariat-KGZ</addresses>",
                      "<addresses>secretariat-KGZ</addresses>\n  <scope>Private</scope>")
    assert any("order" in p for p in cap12_problems(swapped)) and xsd_errors(swapped)
    plus = _broken(xml, "<sent>2026-11-23T09:00:00-00:00</sent>", "<sent>2026-11-23T09:00:00+00:00</sent>")
    assert any("-00:00" in p for p in cap12_problems(plus))
    circle = re.sub(rb"<circle>([\d.]+),([\d.]+) ", rb"<circle>\2,\1 ", xml)
    assert circle != xml and cap12_problems(circle) == []  # lon,lat of Batken is still a valid point...
    assert cap12_problems(re.sub(rb"<circle>[^<]*", b"<circle>95.0,70.7 40", xml))  # ...but not past the pole


# ---------------------------------------------------------------------- the sink
def test_the_cap_sink_writes_one_file_per_notice_once(tmp_path):
    sink = build_sink({"type": "cap", "dir": str(tmp_path / "cap"), "sender": "alerts@centre.example"})
    assert isinstance(sink, CapSink) and sink.name == f"cap:{tmp_path / 'cap'}"
    log = DeliveryLog(tmp_path / "log.jsonl")
    r = NoticeRenderer({"KGZ-TJK-07": WITH_LINE}.get, SECRET, BASE_URL, languages=LANGUAGES, clock=lambda: NOW)
    notifier = Notifier(log, {"secretariat-KGZ": [sink]}, r, sleep=lambda s: None, clock=lambda: NOW)
    assert [o.status for o in notifier.notify(request())] == ["delivered"]
    assert [o.status for o in notifier.notify(request())] == ["duplicate"]
    path = tmp_path / "cap" / "nt-kgz-1.cap.xml"
    assert [p.name for p in (tmp_path / "cap").iterdir()] == ["nt-kgz-1.cap.xml"]
    root = assert_cap12(path.read_bytes())
    assert text(root, "sender") == "alerts@centre.example" and text(root, "addresses") == "secretariat-KGZ"
    before = path.stat().st_mtime_ns
    sink.send(r(request(), None))  # a repeat after a crash before the log record: the file stands
    assert path.stat().st_mtime_ns == before


def test_the_cap_sink_config_is_checked_by_the_sink_and_the_policy_alike():
    with pytest.raises(SinkConfigError, match="missing key 'dir'"):
        build_sink({"type": "cap"})
    with pytest.raises(SinkConfigError, match="unknown key"):
        build_sink({"type": "cap", "dir": "x", "url": "https://x"})
    with pytest.raises(SinkConfigError, match="sender"):
        build_sink({"type": "cap", "dir": "x", "sender": "border watch"})
    policy = {"receivers": [{"name": "secretariat-KGZ", "country": "KGZ",
                             "sinks": [{"type": "cap", "dir": "cap/kgz", "sender": "bw@centre.example"}]}],
              "route": {"receiver": "secretariat-KGZ"}}
    assert parse_policy(policy).receivers["secretariat-KGZ"].sinks[0].type == "cap"
    policy["receivers"][0]["sinks"][0]["url"] = "https://x"
    with pytest.raises(PolicyError) as exc:
        parse_policy(policy)
    assert any("sinks[0].url: unknown key" in p for p in exc.value.problems)


def test_the_worker_puts_a_relative_cap_dir_under_the_data_dir(tmp_path):
    from streams.notify import build_sinks

    policy = parse_policy({"receivers": [{"name": "secretariat-KGZ", "country": "KGZ",
                                          "sinks": [{"type": "cap", "dir": "cap/kgz"}]}],
                           "route": {"receiver": "secretariat-KGZ"}})
    (sink,) = build_sinks(policy, str(tmp_path))["secretariat-KGZ"]
    assert sink.dir == tmp_path / "cap" / "kgz"


# ---------------------------------------------------------------------- the download
def test_the_archive_keeps_the_first_rendering(tmp_path):
    archive = notice_archive(tmp_path)
    first = archive.get("n-kgz")
    later = NoticeRenderer({"KGZ-TJK-07": WITH_LINE}.get, SECRET, BASE_URL,
                           clock=lambda: NOW.replace(hour=10))(request("secretariat-KGZ", "n-kgz"), None)
    archive.keep(later)
    assert archive.get("n-kgz") == first and archive.get("n-none") is None


def test_downloads_follow_the_notice_rules(tmp_path):
    env = Env(tmp_path)
    downloads = NoticeDownloads(env.notices.acks.log, notice_archive(tmp_path / "a"), load_policy().receiver_principal)
    from alerts.access import Principal

    kgz = Principal.parse("kg", "secretariat:KGZ")
    assert text(assert_cap12(downloads.cap("n-kgz", kgz)), "identifier") == "n-kgz"
    for other in ("n-tjk", "n-desk", "n-ops", "n-never"):
        with pytest.raises(UnknownNotice):
            downloads.cap(other, kgz)
    for centre in ("operator", "admin", "engineer"):
        assert downloads.cap("n-tjk", Principal.parse("c", centre))


def test_only_the_notices_own_desk_gets_its_acknowledgement_link(tmp_path):
    """The link's token acknowledges as the desk: the centre reading a desk's notice must not get it
    (it acknowledges for a desk only on its behalf, with a reason)."""
    env = Env(tmp_path)
    downloads = NoticeDownloads(env.notices.acks.log, notice_archive(tmp_path / "a"), load_policy().receiver_principal)
    from alerts.access import Principal

    link = downloads.archive.get("n-kgz").ack_url
    assert "/n/n-kgz?t=" in link
    own = assert_cap12(downloads.cap("n-kgz", Principal.parse("kg", "secretariat:KGZ")))
    assert text(info(own, "ru-RU"), "web") == link and link in text(info(own, "ru-RU"), "instruction")
    for centre in ("operator", "engineer"):
        xml = downloads.cap("n-kgz", Principal.parse("c", centre))
        root = assert_cap12(xml)
        assert b"?t=" not in xml and find(root, "info/web") == []
        assert text(root, "sender") == text(own, "sender") and text(root, "sent") == text(own, "sent")
        assert "секретариатом Таджикистана" in text(info(root, "ru-RU"), "instruction")
    ops = assert_cap12(downloads.cap("n-ops", Principal.parse("op", "operator")))  # the operators' own notice
    assert text(info(ops, "en-US"), "web") == downloads.archive.get("n-ops").ack_url


#: GET /notices/{id}/cap: a desk downloads its own desk's notices and no other's (404, as for one never
#: sent, as for acknowledging); the centre's roles read every notice. Written out, not derived.
NOTICE_CAP = {
    "operator": {"n-kgz": 200, "n-tjk": 200, "n-desk": 200, "n-ops": 200, "n-never": 404},
    "engineer": {"n-kgz": 200, "n-tjk": 200, "n-desk": 200, "n-ops": 200, "n-never": 404},
    "regional-desk": {"n-kgz": 404, "n-tjk": 404, "n-desk": 200, "n-ops": 404, "n-never": 404},
    "secretariat:KGZ": {"n-kgz": 200, "n-tjk": 404, "n-desk": 404, "n-ops": 404, "n-never": 404},
    "secretariat:TJK": {"n-kgz": 404, "n-tjk": 200, "n-desk": 404, "n-ops": 404, "n-never": 404},
    "secretariat:UZB": {"n-kgz": 404, "n-tjk": 404, "n-desk": 404, "n-ops": 404, "n-never": 404},
}


def test_the_download_route_answers_per_the_documented_matrix(tmp_path):
    env = Env(tmp_path)  # its notices' downloads: tests/webfakes.py

    async def check(c):
        assert (await c.get("/notices/n-kgz/cap")).status == 401
        assert (await c.get("/notices/n-kgz/cap", headers={"Authorization": "Bearer nope"})).status == 401
        got = {}
        for role, expected in NOTICE_CAP.items():
            for notice_id in expected:
                r = await c.get(f"/notices/{notice_id}/cap", headers=env.h(role))
                got.setdefault(role, {})[notice_id] = r.status
                if r.status == 200:
                    body = await r.read()
                    assert r.content_type == MEDIA_TYPE and r.charset == "utf-8"
                    assert r.headers["Content-Disposition"] == f'attachment; filename="{notice_id}.cap.xml"'
                    root = assert_cap12(body)
                    assert text(root, "identifier") == notice_id and text(root, "addresses") == NOTICES[notice_id]
                else:  # another desk's notice answers as one never sent
                    assert r.status == 404 and await r.json() == {"error": f"no notice {notice_id}"}
        assert got == NOTICE_CAP
        kgz = await (await c.get("/notices/n-kgz/cap", headers=env.h("secretariat:KGZ"))).read()
        assert b"<language>ru-RU</language>" in kgz and b"inc-tjk-only" not in kgz
    env.run(check)


def test_the_download_route_without_notices_wired_answers_501(tmp_path):
    env = Env(tmp_path, notice_files=None)

    async def check(c):
        r = await c.get("/notices/n-kgz/cap", headers=env.h("secretariat:KGZ"))
        assert r.status == 501 and "notice download" in (await r.json())["error"]
    env.run(check)


def test_the_namespace_is_cap_1_2():
    assert ET.fromstring(to_cap(render())).tag == f"{{{CAP}}}alert"
    assert to_cap(render()).startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<alert xmlns=\"" + CAP.encode())


def test_any_worker_serves_a_notice_another_rendered_from_the_delivery_log_with_the_desks_own_link(tmp_path):
    """Several workers: the one that rendered a notice keeps it in its archive; the others find it in
    the notice's first delivery record, which every worker reads. The record holds no link (the
    desk's authority has no place in an audit log): the link is made again, the very same one."""
    from alerts.access import Principal
    from alerts.notify.archive import NoticeArchive
    from alerts.notify.delivery import NOTICE_FIELD

    class AcceptingSink(Sink):
        type = "accepting"

        def __init__(self, name: str) -> None:
            self.name = name

        def send(self, notice) -> None:
            pass

    log = DeliveryLog(tmp_path / "delivery.jsonl")
    maker = NoticeRenderer({"KGZ-TJK-07": WITH_LINE}.get, SECRET, BASE_URL, languages=LANGUAGES, clock=lambda: NOW)
    sinks = [AcceptingSink("a:1"), AcceptingSink("b:2")]
    rendering_worker = NoticeArchive(tmp_path / "worker-1")
    Notifier(log, {"secretariat-KGZ": sinks}, rendering_worker.keeping(maker)).notify(request("secretariat-KGZ", "n-kgz"))
    records = [r for r in log.records() if r["kind"] == "delivered"]
    assert [NOTICE_FIELD in r for r in records] == [True, False]  # the first delivery's record only
    assert records[0][NOTICE_FIELD]["ack_url"] == "" and b"?t=" not in (tmp_path / "delivery.jsonl").read_bytes()

    other_worker = NoticeDownloads(log, NoticeArchive(tmp_path / "worker-2"), load_policy().receiver_principal,
                                   link_for=maker.link_for)
    kept = rendering_worker.get("n-kgz")
    kgz = Principal.parse("kg", "secretariat:KGZ")
    served = other_worker.cap("n-kgz", kgz)
    assert served == to_cap(kept, default_sender(kept))  # byte for byte what the rendering worker serves
    assert kept.ack_url.endswith("&l=ru") and kept.ack_url.encode().replace(b"&", b"&amp;") in served
    centre = other_worker.cap("n-kgz", Principal.parse("c", "operator"))
    assert b"?t=" not in centre


def test_a_notice_too_large_for_the_log_stays_in_the_rendering_workers_archive_only():
    from alerts.notify.delivery import LOGGED_NOTICE_MAX_BYTES, logged_notice

    notice = NoticeRenderer({"KGZ-TJK-07": WITH_LINE}.get, SECRET, BASE_URL, clock=lambda: NOW)(request(), None)
    assert logged_notice(notice)["notice_id"] == "nt-kgz-1"
    huge = replace(notice, changes=("x" * LOGGED_NOTICE_MAX_BYTES,))
    assert logged_notice(huge) is None
