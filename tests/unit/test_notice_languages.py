"""Notices in the receiver's language: Russian for the Central Asian secretariats, each addressed as
itself; DEMO notices say so; the catalog shipped is the catalog translated."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from alerts.notify.brief import brief_of, notice_html, notice_text, notice_title
from alerts.notify.i18n import marked_messages, write_template
from alerts.notify.notices import DEMO_SOURCE, NoticeRenderer, SegmentContext
from alerts.notify.pdf import notice_pdf
from alerts.policy import PolicyError, load_policy, parse_policy
from tests.notice_fixtures import BASE_URL, CONTEXT, LANGUAGES, NOW, SECRET, alert, renderer, request
from tests.unit.test_notices import pdf_text

RUSSIAN_WORDS = ("Критический", "столкновение с погибшими", "Что произошло", "Недавние инциденты, переданные вам",
                 "Что от вас требуется", "Контекст: поставки вооружений", "Доказательства, переданные вам")
CYRILLIC = re.compile("[А-Яа-яЁё]")


def formats(notice) -> dict[str, str]:
    return {"text": notice_text(notice), "html": notice_html(notice), "pdf": pdf_text(notice_pdf(notice)).replace("\n", " ")}


def test_a_russian_receiver_reads_russian_in_every_format():
    n = renderer(languages=LANGUAGES)(request("secretariat-KGZ"), None)
    for fmt, out in formats(n).items():
        for word in RUSSIAN_WORDS:
            assert word in out, (fmt, word)
        assert "What happened" not in out, fmt
    assert '<html lang="ru">' in notice_html(n) and n.to_dict()["lang"] == "ru"
    assert notice_title(n).startswith("Критический: столкновение с погибшими в районе н.\u00a0п.\u00a0Исфара и Баткен")


def test_an_english_receiver_reads_no_russian():
    n = renderer(languages=LANGUAGES)(request("regional-desk", "nt-desk-1"), None)
    for fmt, out in formats(n).items():
        assert not CYRILLIC.search(out), fmt
        assert "What happened" in out and "What is asked of you" in out, fmt
    assert '<html lang="en">' in notice_html(n) and n.to_dict()["lang"] == "en"


def test_numbers_are_written_as_the_receivers_language_writes_them():
    """A Russian secretariat reads a decimal comma (0,16; 42,5; 5,3 раза), an English desk a decimal point,
    in every format; the years of a delivery list stay apart from a decimal comma."""
    # operators: a receiver who sees every incident gets the baseline (notices._activity_for)
    ru = formats(renderer(languages={"operators": "ru"})(request("operators", "nt-ops-ru"), None))
    en = formats(renderer()(request("operators", "nt-ops-1"), None))
    for fmt, out in ru.items():
        assert "(0,16 в день) при норме 0,10 в день" in out, fmt
        assert "Кыргызстан: 42,5 TIV" in out and "2023: 30,5; 2024: 0" in out, fmt
        assert "в 5,3 раза больше" in out and "0.16" not in out and "42.5" not in out, fmt
    assert "<title>норма 0,10 в день</title>" in ru["html"]
    for fmt, out in en.items():
        assert "(0.16/day) against a baseline of 0.10/day" in out and "Kyrgyzstan: 42.5 TIV" in out, fmt
        assert "5.3 times the volume" in out and "0,16" not in out, fmt


WARNING_FORECAST = {"probability": 0.27, "horizon_days": 60, "level": "warning",
                    "levels": {"watch": {"from": 0.093, "to": 0.2}, "warning": {"from": 0.2, "to": 0.4},
                               "critical": {"from": 0.4, "to": None}},
                    "text": "a 27 % chance of a deadly clash on this border within 60 days (warning: 20 % to 40 %)"}


def forecast_notice(receiver: str, forecast: dict, level: str = "warning"):
    a = alert(level=level)
    a["explanation"] = {"text": "clash_hazard: " + forecast["text"], "forecast": forecast}
    req = request(receiver, "nt-fc-1")
    return renderer(languages=LANGUAGES)(replace(req, alerts=(a,)), None)


def test_a_level_the_forecast_set_says_its_probability_and_range_in_the_readers_words():
    ru = formats(forecast_notice("secretariat-KGZ", WARNING_FORECAST))
    en = formats(forecast_notice("regional-desk", WARNING_FORECAST))
    said = {"ru": ("По оценке модели, вероятность столкновения с погибшими на этой границе в течение 60 дней — "
                   "27\u00a0%. Уровень «предупреждение» означает вероятность от 20\u00a0% до 40\u00a0%."),
            "en": ("The model gives a 27\u00a0% chance of a deadly clash on this border within 60 days. "
                   "Level warning stands for 20\u00a0% to 40\u00a0%.")}
    for lang, outs in (("ru", ru), ("en", en)):
        for fmt, out in outs.items():
            # the PDF's text layer gives the no-break space between a figure and its % as a plain one
            assert (said[lang].replace("\u00a0", " ") if fmt == "pdf" else said[lang]) in out, (lang, fmt)
    top = dict(WARNING_FORECAST, probability=0.45, level="critical")
    assert "Уровень «критический» означает вероятность 40\u00a0% и выше." in notice_text(
        forecast_notice("secretariat-KGZ", top, level="critical"))
    low = dict(WARNING_FORECAST, probability=0.093, level="watch")
    assert "— 9,3\u00a0%. Уровень «наблюдение» означает вероятность от 9,3\u00a0% до 20\u00a0%." in notice_text(
        forecast_notice("secretariat-KGZ", low, level="watch"))


def test_no_forecast_line_where_the_forecast_did_not_set_the_level():
    """A deadly clash's alert carries a forecast below the watch line: the notice does not quote it
    beside the deaths (a low chance of a *new* clash read beside a clash today misleads)."""
    below = dict(WARNING_FORECAST, probability=0.003, level=None)
    for receiver in ("secretariat-KGZ", "regional-desk"):
        out = notice_text(forecast_notice(receiver, below, level="critical"))
        assert "По оценке модели" not in out and "The model gives" not in out
    assert "По оценке модели" not in notice_text(renderer(languages=LANGUAGES)(request("secretariat-KGZ"), None))
    # deaths set this critical; the forecast's own watch would read as the alert's meaning
    watch = dict(WARNING_FORECAST, probability=0.12, level="watch")
    assert "По оценке модели" not in notice_text(forecast_notice("secretariat-KGZ", watch, level="critical"))


def test_release_markings_are_written_in_the_readers_words():
    """The evidence table's marking column: the Kyrgyz desk reads открыто and ДСП (restricted), not English."""
    ru = formats(renderer(languages=LANGUAGES)(request("secretariat-KGZ"), None))
    assert "[открыто]" in ru["text"] and "[ДСП]" in ru["text"] and "[public]" not in ru["text"]
    assert "<td>открыто</td>" in ru["html"] and "<td>ДСП</td>" in ru["html"] and "<td>public</td>" not in ru["html"]
    assert "открыто" in ru["pdf"] and "ДСП" in ru["pdf"] and "restricted" not in ru["pdf"]
    html = notice_html(renderer(languages=LANGUAGES)(request("regional-desk", "nt-desk-1"), None))
    assert "<td>public</td>" in html


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_incident_category_is_written_in_the_readers_words(lang):
    """Every category a source may give (streams.records.INCIDENT_CATEGORIES: GDELT and MIE give threats,
    ACLED fortifications) is a word of the reader's language: a Russian notice and the console name no
    category in English."""
    from alerts.notify.brief import category_name
    from streams.records import INCIDENT_CATEGORIES

    words = {c: category_name(c, lang) for c in INCIDENT_CATEGORIES}
    if lang == "ru":
        assert all(re.search("[а-яё]", w) and not re.search("[a-z]", w) for w in words.values()), words
    else:
        assert words["threat"] == "threat" and words["internal_conflict"] == "internal conflict"
    assert len(set(words.values())) == len(words)


def test_a_resolved_alert_says_resolved_once_and_the_level_it_reached():
    render = renderer(languages=LANGUAGES)
    for who, said, heading, twice in (
            ("secretariat-KGZ", "Тревога открыта 2025-11-18 06:00 UTC; наивысший уровень — «критический».",
             "Граница Кыргызстан–Таджикистан: снята\n", "снята, снята"),
            ("regional-desk", "Alert opened 2025-11-18 06:00 UTC; its highest level was critical.",
             "Kyrgyzstan–Tajikistan border: resolved\n", "resolved, resolved")):
        first = render(request(who, "nt-1", level="warning"), None)
        text = notice_text(render(request(who, "nt-2", resolved_at="2025-12-20T00:00:00Z"), first.summary))
        assert said in text and heading in text, who
        assert twice not in text and "«снята»" not in text and "at level resolved" not in text, who
        # nothing to check on the ground and nobody to call about a resolved alert
        assert ("больше от вас ничего не требуется" in text or "nothing more is asked of you" in text), who
        assert "Просим связаться" not in text and "Please contact" not in text, who


def test_each_secretariat_is_asked_to_contact_the_other_side():
    kgz = renderer(languages=LANGUAGES)(request("secretariat-KGZ"), None)
    tjk = renderer(languages=LANGUAGES)(request("secretariat-TJK", "nt-tjk-1"), None)
    assert any("секретариатом Таджикистана" in line for line in brief_of(kgz).asked)
    assert any("секретариатом Кыргызстана" in line for line in brief_of(tjk).asked)
    assert not any("Кыргызстана" in line for line in brief_of(kgz).asked)
    # each reads its own state first
    assert "граница Кыргызстан–Таджикистан" in notice_title(kgz) and "граница Таджикистан–Кыргызстан" in notice_title(tjk)
    english = renderer()(request("secretariat-KGZ"), None)
    assert any("contact the secretariat of Tajikistan" in line for line in brief_of(english).asked)


def test_a_notice_names_the_desk_it_is_for_in_its_readers_words():
    kgz = renderer(languages=LANGUAGES)(request("secretariat-KGZ"), None)
    assert brief_of(kgz).meta == "Уведомление nt-kgz-1 для секретариата Кыргызстана (secretariat-KGZ), 2026-11-23 09:00 UTC."
    assert "для секретариата Кыргызстана (secretariat-KGZ)" in notice_text(kgz)
    english = renderer()(request("secretariat-TJK", "nt-tjk-1"), None)
    assert brief_of(english).meta.startswith("Notice nt-tjk-1 for the secretariat of Tajikistan (secretariat-TJK), ")
    # a receiver that is no state's desk is named as the policy names it
    assert brief_of(renderer()(request("operators"), None)).meta.startswith("Notice nt-kgz-1 for operators, ")


def test_a_demo_notice_says_demo_in_title_and_body():
    demo_incident = {"event_id": "demo-1", "at": "2025-11-19T00:00:00Z", "category": "armed_clash",
                     "fatalities": 12, "severity": 5, "releasable_to": ["ALL"], "source": DEMO_SOURCE,
                     "description": "demo event: not a real report"}
    ctx = SegmentContext("KGZ-TJK-07", (*CONTEXT.incidents, demo_incident), CONTEXT.activity, CONTEXT.baseline)
    render = NoticeRenderer({"KGZ-TJK-07": ctx}.get, SECRET, BASE_URL, languages=LANGUAGES, clock=lambda: NOW)
    ru = render(request("secretariat-KGZ", evidence=("demo-1",)), None)
    en = render(request("operators", "nt-ops-1", evidence=("demo-1",)), None)
    assert notice_title(ru).startswith("ДЕМО — ") and notice_title(en).startswith("DEMO — ")
    for out in formats(ru).values():
        assert "Это демонстрационное уведомление: реального события не было." in out
    for out in formats(en).values():
        assert "This is a demonstration notice: not a real event." in out
    real = render(request("operators", "nt-ops-2", evidence=("inc-public",)), None)
    assert not real.demo and "DEMO" not in notice_text(real)


def test_the_detectors_words_stay_english_and_are_marked_so():
    n = renderer(languages=LANGUAGES)(request("secretariat-KGZ"), None)
    text = notice_text(n)
    assert "Технические подробности (вывод детектора, на английском)" in text
    assert "critical on Batken-Isfara" in text  # the detector's summary, as it wrote it
    assert text.index("Доказательства") < text.index("Технические подробности")  # detail comes last


def _policy(lang: str) -> dict:
    return {"receivers": [{"name": "secretariat-KGZ", "country": "KGZ", "lang": lang,
                           "sinks": [{"type": "file", "dir": "x"}]}],
            "route": {"receiver": "secretariat-KGZ"}}


def test_lang_on_a_receiver_is_validated():
    assert parse_policy(_policy("ru")).receivers["secretariat-KGZ"].lang == "ru"
    with pytest.raises(PolicyError) as exc:
        parse_policy(_policy("kk"))
    assert any("receivers[0].lang" in p and "secretariat-KGZ" in p and "en, ru" in p for p in exc.value.problems)
    no_lang = _policy("en")
    del no_lang["receivers"][0]["lang"]
    assert parse_policy(no_lang).receivers["secretariat-KGZ"].lang == "en"


def test_check_config_reports_an_unknown_language(capsys, tmp_path):
    from streams.cli import main
    from alerts.policy import DEFAULT_POLICY

    bad = tmp_path / "policy.yml"
    bad.write_text(DEFAULT_POLICY.read_text().replace("    lang: ru\n", "    lang: russian\n", 1))
    assert main(["check-config", "--policy", str(bad)]) == 1
    err = capsys.readouterr().err
    assert ".lang: receiver 'secretariat-KAZ': no notice language 'russian' (languages: en, ru)" in err


def test_the_bundled_policy_gives_the_central_asian_secretariats_russian():
    receivers = load_policy().receivers
    for name in ("secretariat-KGZ", "secretariat-TJK", "secretariat-KAZ", "secretariat-UZB", "secretariat-TKM"):
        assert receivers[name].lang == "ru", name
    assert receivers["operators"].lang == "en" and receivers["regional-desk"].lang == "en"


def test_the_compiled_catalog_is_the_translated_catalog():
    messages = resources.files("alerts.notify").joinpath("locale/ru/LC_MESSAGES")
    with messages.joinpath("borderwatch.po").open("rb") as f:
        po = read_po(f, locale="ru")
    with messages.joinpath("borderwatch.mo").open("rb") as f:
        mo = read_mo(f)
    untranslated = [m.id for m in po if m.id and (not m.string or not all(m.string if isinstance(m.string, tuple)
                                                                          else (m.string,)))]
    assert untranslated == []
    def as_key(x):  # the .mo reader gives plural forms as lists
        return tuple(x) if isinstance(x, (list, tuple)) else x

    assert ({as_key(m.id): as_key(m.string) for m in po if m.id}
            == {as_key(m.id): as_key(m.string) for m in mo if m.id})


def test_every_string_the_code_marks_is_in_the_catalog():
    """A new _() in the notice code or the pages without `python -m alerts.notify.i18n` + translation
    would print English to a Russian desk."""
    messages = resources.files("alerts.notify").joinpath("locale/ru/LC_MESSAGES")
    with messages.joinpath("borderwatch.po").open("rb") as f:
        po_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f, locale="ru") if m.id}
    marked = {msg if isinstance(msg, str) else msg[0] for msg, _comments in marked_messages()}
    assert {"Escalation alerts", "%(num)d open alert", "No open alerts"} <= marked  # templates and views are read
    assert marked - po_ids == set()


def test_the_template_in_the_repo_is_what_the_sources_mark():
    """``borderwatch.pot`` is written by ``python -m alerts.notify.i18n`` from CATALOG_SOURCES: a stale
    one would hide new strings from ``pybabel update``."""
    import io

    out = io.BytesIO()
    write_template(out)
    assert out.getvalue() == resources.files("alerts.notify").joinpath("locale/borderwatch.pot").read_bytes()


def test_a_mail_says_its_language_and_carries_the_title_in_it():
    import email
    import email.policy

    from alerts.notify.sinks.smtp import SmtpSink

    sink = SmtpSink("127.0.0.1", 25, "borderwatch@bw.example", ["secretariat@kg.example"], starttls=False)
    for receiver, lang, title in (("secretariat-KGZ", "ru", "Критический: столкновение с погибшими"),
                                  ("regional-desk", "en", "Critical: deadly clash")):
        notice = renderer(languages=LANGUAGES)(request(receiver, f"nt-{lang}"), None)
        msg = email.message_from_bytes(sink.message(notice).as_bytes(), policy=email.policy.default)
        assert msg["Content-Language"] == lang and msg["Subject"].startswith(title), receiver


def test_what_changed_names_each_stretch_as_its_section_does_in_the_readers_language():
    r = renderer(languages=LANGUAGES)
    first = r(request(level="warning", notice_id="nt-ru-1"), None)
    second = r(request(level="critical", notice_id="nt-ru-2"), first.summary)
    assert ("Кыргызстан–Таджикистан (KGZ-TJK-07), в районе н.\u00a0п.\u00a0Исфара и Баткен: уровень повышен с «предупреждение» "
            "до «критический».") in second.changes
    assert not [line for line in second.changes if line.startswith("KGZ-TJK-07:")]
