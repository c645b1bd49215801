"""The operator console's rules as pure functions (alerts.web.views), its pieces as rendered, and its HTML error pages."""

from __future__ import annotations

import re

from alerts.access import Principal
from alerts.timefmt import human
from alerts.web.pages import alert_card, console_section
from alerts.web.views import console_order, deviation_text, headline, history_filter, level_meaning, open_banner

NAMES = {"KGZ-TJK-01": "Kyrgyzstan–Tajikistan km 0–60, near Isfara and Konibodom"}.get


def alert(aid: str, level: str, opened: str, resolved: str | None = None, peak: str | None = None, **extra) -> dict:
    return {"alert_id": aid, "segment_id": "KGZ-TJK-01", "border": "KGZ-TJK", "countries": ["KGZ", "TJK"],
            "level": "none" if resolved else level, "peak_level": peak or level, "opened_at": opened,
            "resolved_at": resolved, "updated_at": opened, "score": 0.9, "peak_score": 0.95,
            "detector": "hazard", "summary": f"{peak or level} on KGZ-TJK-01: count_tail 0.56 cusum 1.00", **extra}


CRIT_EXPLANATION = {
    "detector": "hazard", "text": "fatality_high: 12 deaths in 30 days (previous yearly high 0)",
    "deviations": [{"feature": "fatalities_30d", "baseline": 0.0, "now": 12.0}],
    "detector_view": [{"feature": "cusum", "baseline": 0.1, "now": 10.0}],
    "forecast": {"probability": 0.001, "level": None, "horizon_days": 60, "model": "927287d4b06e8b94",
                 "text": "a 0.1 % chance of a deadly clash on this border within 60 days (below the watch line)"},
    "top_incidents": [{"event_id": "e1", "at": "2022-09-14T06:00:00Z", "category": "armed_clash",
                       "fatalities": 12, "severity": 5}]}


def test_open_alerts_come_first_by_level_then_oldest_and_history_after_latest_first():
    alerts = [alert("w-old", "warning", "2022-09-01T00:00:00Z"),
              alert("r-new", "critical", "2021-01-01T00:00:00Z", resolved="2021-02-01T00:00:00Z"),
              alert("c-new", "critical", "2022-09-14T06:00:00Z"),
              alert("c-old", "critical", "2022-09-10T06:00:00Z"),
              alert("r-old", "warning", "2020-01-01T00:00:00Z", resolved="2020-02-01T00:00:00Z"),
              alert("watch", "watch", "2022-01-01T00:00:00Z")]
    assert [a["alert_id"] for a in console_order(alerts)] == ["c-old", "c-new", "w-old", "watch", "r-new", "r-old"]


def test_the_banner_counts_open_alerts_per_level_highest_first():
    alerts = [alert("a", "warning", "2022-09-01T00:00:00Z"), alert("b", "critical", "2022-09-01T00:00:00Z"),
              alert("c", "critical", "2020-01-01T00:00:00Z", resolved="2020-02-01T00:00:00Z")]
    assert open_banner(alerts) == "2 open: 1 critical, 1 warning"
    assert open_banner(alerts[2:]) == "No open alerts"


def test_history_holds_only_resolved_alerts_filtered_by_since_and_level():
    alerts = [alert("open", "critical", "2022-09-01T00:00:00Z"),
              alert("w", "warning", "2020-01-01T00:00:00Z", resolved="2020-02-01T00:00:00Z"),
              alert("c", "critical", "2021-01-01T00:00:00Z", resolved="2021-02-01T00:00:00Z")]
    assert [a["alert_id"] for a in history_filter(alerts)] == ["w", "c"]
    assert [a["alert_id"] for a in history_filter(alerts, since="2021-01-15")] == ["c"]
    assert [a["alert_id"] for a in history_filter(alerts, level="critical")] == ["c"]


def test_times_carry_their_zone():
    assert human("2022-09-14T06:00:00Z") == "2022-09-14 06:00 UTC"
    assert human("2022-09-14T08:00:00+02:00") == "2022-09-14 06:00 UTC"
    assert human(None) == ""


def test_the_headline_names_the_place_and_the_level_now_not_the_opening_one():
    a = alert("x", "critical", "2022-09-14T06:00:00Z", peak="critical", summary="warning on KGZ-TJK-01")
    assert headline(a, NAMES) == "Critical — Kyrgyzstan–Tajikistan km 0–60, near Isfara and Konibodom"
    down = dict(alert("y", "warning", "2022-09-14T06:00:00Z", peak="critical"))
    assert headline(down, NAMES).startswith("Warning — ")
    card = alert_card(down, NAMES, may_act=False)
    assert "peak" in card and "lvl-critical" in card  # the peak shown beside the level now


def test_the_card_says_in_words_what_happened_against_what_normal_and_why_detectors_only_in_the_fold():
    a = alert("x", "critical", "2022-09-14T06:00:00Z", explanation=CRIT_EXPLANATION)
    plan = {"notified": ["operators", "secretariat-KGZ"], "ack_within": "1h", "ack_by": "2022-09-14T07:00:00Z",
            "ack_default": "4h", "ack_max": "7d"}
    card = alert_card(a, NAMES, may_act=True, plan=plan)
    outside, fold = card.split('<details class="engineering">')
    assert "2022-09-14 06:00 UTC: armed clash, 12 killed, Kyrgyzstan–Tajikistan km 0–60" in outside
    assert "12 deaths in the last 30 days; usually none in 30 days over the past year" in outside
    assert "deaths in 30 days above the past year&#39;s highest" in outside  # escaped as Jinja2 escapes
    assert "Notified: operators, secretariat-KGZ" in outside and "by 2022-09-14 07:00 UTC" in outside
    assert 'class="ack inline"' in outside
    for engineering in ("cusum", "count_tail", "fatality_high", "peak score 0.95"):
        assert engineering not in outside and engineering in fold, engineering
    assert '<details class="engineering"><summary>' in card  # collapsed: no open attribute


def test_level_meaning_is_the_forecast_when_it_set_the_level():
    ex = dict(CRIT_EXPLANATION, text="clash_hazard: …", forecast=dict(
        CRIT_EXPLANATION["forecast"], level="warning", text="a 27 % chance of a deadly clash (warning: 20 % to 40 %)"))
    a = alert("x", "warning", "2022-09-14T06:00:00Z", explanation=ex)
    assert level_meaning(a) == "A 27 % chance of a deadly clash (warning: 20 % to 40 %)."
    assert deviation_text({"feature": "count_7d", "baseline": 0.25, "now": 3}).startswith("3 incidents in the last 7 days")


def test_level_meaning_names_the_violence_rule_in_the_reader_s_language_when_it_set_the_level():
    ex = dict(CRIT_EXPLANATION, text="violence: 2 violent incidents in 7 days has a 0.01% chance …", forecast=dict(
        CRIT_EXPLANATION["forecast"], level="watch", text="a 6.0 % chance of a deadly clash (below the watch line)"))
    a = alert("x", "warning", "2022-09-14T06:00:00Z", explanation=ex)
    assert level_meaning(a) == ("Warning because the rule is armed clashes, shelling or drone strikes in the last "
                                "7 days far above the past year's rate.")
    assert "вооружённых столкновений, обстрелов или ударов дронов" in level_meaning(a, "ru")


def test_an_acknowledgement_shows_who_why_and_until_when():
    ack = {"by": "duty-officer", "at": "2022-09-14T06:30:00Z", "until": "2022-09-14T10:30:00Z",
           "comment": "patrol informed"}
    card = alert_card(alert("x", "critical", "2022-09-14T06:00:00Z", acknowledged=ack), NAMES, may_act=True)
    assert "Acknowledged by <b>duty-officer</b> at 2022-09-14 06:30 UTC — “patrol informed”, holds until 2022-09-14 10:30 UTC" in card
    assert 'class="ack inline"' not in card


def test_the_console_hides_resolved_alerts_in_a_collapsed_history():
    alerts = [alert("open", "critical", "2022-09-14T06:00:00Z"),
              alert("old", "warning", "2020-01-01T00:00:00Z", resolved="2020-02-01T00:00:00Z")]
    html = console_section(Principal("op", "operator"), alerts, NAMES, {})
    assert '<p id="open-banner"' in html and "1 open: 1 critical" in html
    before, history = html.split('<details id="history">')
    assert 'data-alert-id="open"' in before and 'data-alert-id="old"' not in before
    assert 'data-alert-id="old"' in history and not re.match(r"\s*open", history)


# ---------------------------------------------------------------------- on a real server
def test_a_browser_gets_an_html_page_for_a_missing_or_hidden_page_and_the_api_keeps_json(tmp_path):
    from tests.webfakes import Env

    env = Env(tmp_path)
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

    async def check(c):
        # TJK-UZB-01 is not the Kyrgyz desk's: the same answer as for a segment that does not exist
        for path in ("/ui/segments/TJK-UZB-01", "/ui/segments/NOPE-01", "/alerts/al-0000", "/no/such/page"):
            r = await c.get(path, headers={**env.h("secretariat:KGZ"), **browser})
            assert r.status == 404 and r.content_type == "text/html", path
            page = await r.text()
            assert '<h1 id="error-title">Not found</h1>' in page and 'href="/"' in page
            api = await c.get(path, headers=env.h("secretariat:KGZ"))
            assert api.status == 404 and (await api.json())["error"]
        r = await c.get("/metrics", headers={**env.h("secretariat:KGZ"), **browser})
        assert r.status == 403 and "Not allowed" in await r.text()
        assert (await c.get("/metrics", headers={**env.h("secretariat:KGZ"), "Accept": "application/json"})).status == 403
    env.run(check)


def test_the_console_fragment_and_page_show_who_the_policy_notified(tmp_path):
    from tests.unit.alertdata import RECEIVERS, policy_from
    from tests.webfakes import Env

    policy = policy_from(RECEIVERS + """
route:
  receiver: operators
  repeat_interval: 4h
  routes:
    - {receiver: operators, continue: true}
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"'], repeat_interval: 1h}
""")
    env = Env(tmp_path, policy=policy)

    async def check(c):
        frag = await (await c.get("/ui/console", headers=env.h("operator"))).text()
        assert "Notified: operators, secretariat-KGZ" in frag and "within 1 hour of opening" in frag
        assert "open:" in frag.split('<section id="open-alerts"')[0]
    env.run(check)


def test_an_arms_race_card_says_what_each_side_acquired_against_its_past_and_what_its_level_means():
    """From the bundled SIPRI register: Kyrgyzstan-Tajikistan's warning of 2021."""
    from alerts.state import AlertStore
    from tests.unit.test_arms_race import _sipri_run

    store = AlertStore()
    for e in _sipri_run().events:
        if e.segment_id == "KGZ-TJK:arms":
            store.add(e)
    a = next(dict(x, acknowledged=False) for x in store.alerts.values() if x["peak_level"] == "warning")
    names = {"KGZ-TJK:arms": "Kyrgyzstan–Tajikistan"}.get
    assert headline(a, names).endswith("— arms race on Kyrgyzstan–Tajikistan")
    assert level_meaning(a) == ("Warning because both sides are arming and each with a new kind of weapon, or both "
                                "far above their own past.")  # not a score reaching a line: no score is behind it
    card = alert_card(a, names, may_act=True)
    outside = card.split('<details class="engineering">')[0]
    assert "Kyrgyzstan: 2019 delivery of 4 Mi-17 transport helicopter from Russia;" in outside
    assert "2021 delivery of 2 Bayraktar TB2 armed UAV from Turkiye" in outside
    assert ("Kyrgyzstan: TIV 18.8 in 2019-2021 against 7.587 in an average 3 years of the 10 before (2.5x); "
            "new kind of weapon: armed drones") in outside
    assert "no incidents listed" not in outside and "no baseline to compare" not in outside


# ---------------------------------------------------------------------- in the reader's language
NAMES_RU = {"KGZ-TJK-01": "Кыргызстан–Таджикистан (KGZ-TJK-01), в районе н.\u00a0п.\u00a0Исфара и Канибадам"}.get


def test_a_russian_card_says_what_happened_against_what_normal_and_the_plan_in_russian_detectors_in_the_fold():
    from datetime import timedelta

    from alerts.web.views import duration_text

    a = alert("x", "critical", "2022-09-14T06:00:00Z", explanation=CRIT_EXPLANATION)
    plan = {"notified": ["operators", "secretariat-KGZ"], "ack_within": duration_text(timedelta(hours=1), "ru"),
            "ack_by": "2022-09-14T07:00:00Z", "ack_default": duration_text(timedelta(hours=4), "ru"),
            "ack_max": duration_text(timedelta(days=7), "ru")}
    card = alert_card(a, NAMES_RU, may_act=True, plan=plan, lang="ru")
    outside, fold = card.split('<details class="engineering">')
    assert "Критический — Кыргызстан–Таджикистан (KGZ-TJK-01), в районе н.\u00a0п.\u00a0Исфара и Канибадам" in outside
    assert "2022-09-14 06:00 UTC: вооружённое столкновение, 12 погибших, Кыргызстан–Таджикистан" in outside
    assert "12 погибших за последние 30 дней; обычно ни одного за 30 дней в течение прошлого года" in outside
    assert ("Критический: по правилу, погибших за 30 дней больше, чем за любые 30 дней прошлого года."
            in outside)  # the rule's own figures are the detector's English: in the fold only
    # a duration in the nominative, where no preposition asks for another case
    assert "Срок подтверждения — 1 час с момента открытия (до 2022-09-14 07:00 UTC)" in outside
    assert "Подтверждение действует 4 часа, если не указан иной срок (максимум — 7 дней)." in outside
    for english in ("What happened", "killed", "Notified", "because"):
        assert english not in outside, english
    assert "Технические подробности (на английском)" in card and "fatality_high" in fold


def test_russian_words_agree_with_their_numbers():
    assert open_banner([alert("a", "critical", "2022-09-14T06:00:00Z")], "ru") == "1 открытая тревога: критический — 1"
    # the level before its count: a level's name need not agree with the number
    seven = [alert(x, "warning", "2022-09-14T06:00:00Z") for x in "abcde"] + [alert("f", "critical", "2022-09-14")]
    assert open_banner(seven, "ru") == "6 открытых тревог: критический — 1, предупреждение — 5"
    assert open_banner([], "ru") == "Открытых тревог нет"
    assert deviation_text({"feature": "count_7d", "baseline": 0.25, "now": 5}, "ru").startswith(
        "5 инцидентов за последние 7 дней; обычно 0,2 за 7 дней")
    assert deviation_text({"feature": "count_7d", "baseline": 0.25, "now": 2}, "ru").startswith("2 инцидента ")
    assert deviation_text({"feature": "intrusion_30d", "baseline": 0, "now": 1}).startswith("1 border intrusion in")
    from datetime import timedelta

    from alerts.web.views import duration_text
    assert duration_text(timedelta(days=1, hours=12)) == "1 day 12 hours"
    assert duration_text(timedelta(days=3), "ru") == "3 дня" and duration_text(timedelta(hours=5), "ru") == "5 часов"


def test_a_forecast_level_means_its_probability_in_the_readers_words():
    ex = dict(CRIT_EXPLANATION, text="clash_hazard: …", forecast={
        "probability": 0.27, "level": "warning", "horizon_days": 60, "model": "m",
        "levels": {"watch": {"from": 0.09, "to": 0.2}, "warning": {"from": 0.2, "to": 0.4}},
        "text": "a 27 % chance of a deadly clash (warning: 20 % to 40 %)"})
    a = alert("x", "warning", "2022-09-14T06:00:00Z", explanation=ex)
    said = level_meaning(a, "ru")  # the notices' own sentence for it
    assert said.startswith("По оценке модели, вероятность столкновения с погибшими на этой границе в течение 60 "
                           "дней — 27\u00a0%."), said
    assert "«предупреждение»" in said and "20\u00a0%" in said and "40\u00a0%" in said, said


def test_the_arms_race_rules_meanings_are_in_the_catalog_as_the_rule_words_them():
    from alerts.web.views import ARMS_MEANINGS_MARKED, arms_meaning
    from detectors import arms_race as AR

    assert tuple(AR.MEANING[i] for i in sorted(AR.MEANING)) == ARMS_MEANINGS_MARKED
    assert all(arms_meaning(i, "ru") != AR.MEANING[i] for i in AR.MEANING)


def test_a_page_reads_in_the_language_picked_then_the_desks_then_the_browsers():
    from alerts.notify.i18n import language_of_request

    assert language_of_request("ru", "en", "en", "en") == "ru"  # just picked
    assert language_of_request(None, "en", "ru", "ru") == "en"  # picked before (the cookie)
    assert language_of_request("xx", None, "ru", "en-GB,en") == "ru"  # the desk's, an unknown pick ignored
    assert language_of_request(None, None, None, "ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert language_of_request(None, None, None, "de-DE") == "en"


def test_the_policy_gives_a_desk_the_language_of_its_notices():
    from alerts.access import Principal
    from alerts.policy import load_policy

    policy = load_policy()
    assert policy.language_of(Principal("kg", "secretariat", "KGZ")) == "ru"
    assert policy.language_of(Principal("op", "operator")) == "en"
    assert policy.language_of(Principal("eng", "engineer")) is None  # no receiver is that desk


def test_the_pages_follow_the_pick_and_keep_it_in_a_cookie(tmp_path):
    from tests.webfakes import Env

    env = Env(tmp_path)
    browser = {"Accept": "text/html"}

    async def check(c):
        r = await c.get("/?lang=ru", headers={**env.h("operator"), **browser})
        page = await r.text()
        assert r.status == 200 and '<html lang="ru">' in page and "Тревоги об эскалации" in page
        assert r.cookies["bw_lang"].value == "ru" and r.cookies["bw_lang"]["httponly"]
        assert '<a href="?lang=en" lang="en" hreflang="en">English</a>' in page
        # the cookie: the console's fragment and the segment page follow it
        frag = await (await c.get("/ui/console", headers=env.h("operator"))).text()
        assert "Показать историю" in frag and "Show history" not in frag
        seg = await (await c.get("/ui/segments/KGZ-TJK-01", headers={**env.h("operator"), **browser})).text()
        assert '<html lang="ru">' in seg and "Недавние инциденты" in seg
        assert "граница Кыргызстан–Таджикистан," in seg and "граница KGZ-TJK" not in seg
        assert "Кыргызстан–Таджикистан (KGZ-TJK-01)" in seg
        c.session.cookie_jar.clear()
        en = await (await c.get("/", headers={**env.h("operator"), **browser, "Accept-Language": "de"})).text()
        assert '<html lang="en">' in en and "Escalation alerts" in en
        ru = await (await c.get("/no/such/page", headers={**env.h("operator"), **browser,
                                                          "Accept-Language": "ru-RU,ru"})).text()
        assert '<h1 id="error-title">Не найдено</h1>' in ru and "Такой страницы нет" in ru
        login = await (await c.get("/login", headers={"Accept-Language": "ru"})).text()
        assert "Войти" in login and "API-токен" in login
    env.run(check)


def test_the_sign_in_page_offers_the_languages_and_follows_the_pick(tmp_path):
    from tests.webfakes import Env

    env = Env(tmp_path)

    async def check(c):
        r = await c.get("/login?lang=ru")
        page = await r.text()
        assert '<html lang="ru">' in page and "Войти" in page and r.cookies["bw_lang"].value == "ru"
        assert '<a href="?lang=en" lang="en" hreflang="en">English</a>' in page
        refused = await c.post("/login", data={"token": "wrong", "next": "/"})
        assert refused.status == 401 and "Этот токен недействителен" in await refused.text()  # the cookie kept it
    env.run(check)


def test_the_language_switch_keeps_the_query_and_is_the_query_alone():
    """A path such as //elsewhere.example/ is not written back into the page: a link made of it
    would lead a reader to another site."""
    from aiohttp.test_utils import make_mocked_request

    from alerts.web.pages import language_links

    links = language_links(make_mocked_request("GET", "//elsewhere.example/x?level=critical&lang=en"), "ru")
    assert links == [("ru", "Русский", "?level=critical&lang=ru"), ("en", "English", "?level=critical&lang=en")]


def test_an_arms_race_is_listed_by_its_border_in_the_readers_language():
    from alerts.web.context import WebContext, segment_table
    from streams.segments import SegmentRegistry

    race = alert("ar", "warning", "2021-07-01T00:00:00Z", kind="arms-race", segment_id="KGZ-TJK:arms")
    ctx = WebContext(history=None, metrics_text=None, auth=None, live=None, clock=None,
                     segments=SegmentRegistry.default())
    rows = segment_table(ctx.segments, [race], Principal("op", "operator"), ctx.names_in("ru"), "ru")
    assert next(r["name"] for r in rows if r["segment_id"] == "KGZ-TJK:arms") == "Кыргызстан–Таджикистан: гонка вооружений"
    assert next(r["name"] for r in rows if r["segment_id"] == "KGZ-TJK-01").startswith("Кыргызстан–Таджикистан (KGZ-TJK-01)")


def test_a_russian_console_names_the_desk_the_receivers_and_the_borders_in_words(tmp_path):
    """The header, "Notified:" and the border filter speak the reader's language; in English they keep
    the role strings, the policy's receiver names and the border ids, as the API and the policy write them."""
    from tests.unit.alertdata import RECEIVERS, policy_from
    from tests.webfakes import Env

    policy = policy_from(RECEIVERS + """
route:
  receiver: operators
  routes:
    - {receiver: operators, continue: true}
    - {receiver: regional-desk, continue: true}
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"'], continue: true}
    - {receiver: secretariat-TJK, matchers: ['countries=~".*TJK.*"']}
""")
    env = Env(tmp_path, policy=policy)
    browser = {"Accept": "text/html"}

    async def check(c):
        ru = await (await c.get("/?lang=ru", headers={**env.h("secretariat:KGZ"), **browser})).text()
        assert '(<span id="role">секретариат: Кыргызстан</span>)' in ru
        assert "Уведомлены: операторы, региональный центр, секретариат (Кыргызстан), секретариат (Таджикистан)." in ru
        assert '<option value="KGZ-TJK">Кыргызстан–Таджикистан</option>' in ru
        assert "границы с открытыми тревогами: Кыргызстан–Таджикистан" in ru
        assert "secretariat-TJK" not in ru and "secretariat:KGZ" not in ru  # (the token holder is named secretariat-KGZ)
        en = await (await c.get("/?lang=en", headers={**env.h("secretariat:KGZ"), **browser})).text()
        assert '(<span id="role">secretariat:KGZ</span>)' in en
        assert "Notified: operators, regional-desk, secretariat-KGZ, secretariat-TJK." in en
        assert '<option value="KGZ-TJK">KGZ-TJK</option>' in en
    env.run(check)


def test_desks_and_borders_in_words():
    from alerts.web.views import border_words, desk_words, receiver_words

    assert desk_words(Principal("d", "regional-desk"), "ru") == "региональный центр"
    assert desk_words(Principal("d", "secretariat", "UZB"), "ru") == "секретариат: Узбекистан"
    assert desk_words(Principal("d", "secretariat", "UZB"), "en") == "secretariat:UZB"
    assert receiver_words("ops", Principal("ops", "operator"), "ru") == "операторы"
    assert receiver_words("ops", Principal("ops", "operator"), "en") == "ops"
    assert border_words("KGZ-TJK", "ru") == "Кыргызстан–Таджикистан"  # the id's order, as the cards
    assert border_words("IND-PAK", "ru") == "Индия–Пакистан"  # CLDR's names beyond the catalog's states
    assert border_words("IND-PAK", "en") == "IND-PAK"
