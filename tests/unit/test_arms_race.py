"""The arms-race rules (detectors/arms_race.py), on hand-made acquisitions."""

from __future__ import annotations

from detectors.arms_race import (
    AIR_DEFENCE,
    ARMED_DRONES,
    BASELINE_YEARS,
    FLOOR_TIV,
    NONE,
    RATIO,
    ROCKET_ARTILLERY,
    WARNING,
    WATCH,
    WINDOW_YEARS,
    Acquisition,
    assess,
    capability_of,
    counted,
    side,
)


def bought(iso3: str, year: int, tiv: float, description: str = "APC", designation: str = "BTR-80", *,
           order: bool = False, supplier: str = "Russia", order_year: int | None = None) -> Acquisition:
    return Acquisition(iso3, supplier, order_year or year, None if order else year, tiv, designation, description,
                       2, capability_of(description, designation))


def test_capability_classes():
    assert capability_of("armed UAV", "Bayraktar TB2") == ARMED_DRONES
    assert capability_of("loitering munition", "Kargu") == ARMED_DRONES
    assert capability_of("UAV", "Ababil-2") is None  # an unarmed drone is not the new kind
    assert capability_of("UAV", "Orbiter armed") == ARMED_DRONES
    assert capability_of("multiple rocket launcher", "TOS-1") == ROCKET_ARTILLERY
    assert capability_of("self-propelled MRL", "Polonez") == ROCKET_ARTILLERY
    assert capability_of("MRL", "BM-21") == ROCKET_ARTILLERY
    assert capability_of("SAM system", "S-125") == capability_of("mobile SAM system", "Tor-M2") == AIR_DEFENCE
    # the missiles of a system already held, and infantry SAMs, are no new kind
    assert capability_of("SAM", "V-601") is None and capability_of("portable SAM", "Igla") is None
    assert capability_of("APC", "BTR-80") is None and capability_of("transport helicopter", "Mi-17") is None


def test_volume_against_own_baseline_and_floor():
    past = [bought("KGZ", y, 3.0) for y in range(2008, 2018)]  # 3 a year: 9 per window
    assert not side("KGZ", past + [bought("KGZ", 2019, 17.0)], 2020).arming  # 17 < 2 x 9
    s = side("KGZ", past + [bought("KGZ", 2019, 18.0)], 2020)
    assert (s.arming, s.by_volume, s.window_tiv, s.baseline_tiv) == (True, True, 18.0, 9.0)
    assert s.baseline_tiv == 3.0 * BASELINE_YEARS / BASELINE_YEARS * WINDOW_YEARS and s.ratio == RATIO
    # with nothing before, the floor decides
    assert not side("TJK", [bought("TJK", 2020, FLOOR_TIV - 0.1)], 2020).arming
    assert side("TJK", [bought("TJK", 2020, FLOOR_TIV)], 2020).arming
    # the window passes
    assert not side("TJK", [bought("TJK", 2020, FLOOR_TIV)], 2020 + WINDOW_YEARS).arming


def test_orders_count_at_their_year_and_a_deal_is_counted_once():
    order = bought("KGZ", 2021, 30.0, "SAM system", "S-125T", order=True, supplier="Belarus")
    delivery = bought("KGZ", 2023, 30.0, "SAM system", "S-125T", supplier="Belarus", order_year=2021)
    assert counted([order, delivery]) == [order]
    early = side("KGZ", [order, delivery], 2021)
    assert early.arming and early.window_tiv == 30.0 and early.new_capabilities == (AIR_DEFENCE,)
    assert side("KGZ", [order, delivery], 2023).window_tiv == 30.0
    # the delivery alone (its order never seen) counts at the delivery year
    assert side("KGZ", [delivery], 2021).window_tiv == 0.0 and side("KGZ", [delivery], 2023).window_tiv == 30.0


def test_a_capability_is_new_only_if_the_side_never_had_it():
    grad = bought("TJK", 2013, 3.6, "multiple rocket launcher", "BM-21 Grad")
    tos = bought("TJK", 2022, 1.92, "multiple rocket launcher", "TOS-1")
    assert side("TJK", [tos], 2022).new_capabilities == (ROCKET_ARTILLERY,)
    assert side("TJK", [grad, tos], 2022).new_capabilities == ()
    # a caller that pruned the old record passes what the side held since when
    assert side("TJK", [tos], 2022, held_since={ROCKET_ARTILLERY: 2013}).new_capabilities == ()


def test_one_side_arming_raises_nothing():
    acquisitions = {"KGZ": [bought("KGZ", 2021, 7.2, "armed UAV", "Bayraktar TB2", supplier="Turkiye")],
                    "TJK": [bought("TJK", 2015, 5.0), bought("TJK", 2021, 1.0)]}
    a = assess(("KGZ", "TJK"), acquisitions, 2021)
    assert a.sides[0].arming and not a.sides[1].arming and a.level == NONE


def test_both_arming_is_watch_and_new_capability_on_both_is_warning():
    volume = {"KGZ": [bought("KGZ", 2021, 20.0)], "TJK": [bought("TJK", 2021, 12.0)]}
    assert assess(("KGZ", "TJK"), volume, 2021).level == WATCH
    one_new = {"KGZ": [bought("KGZ", 2021, 7.2, "armed UAV", "Bayraktar TB2", supplier="Turkiye")],
               "TJK": [bought("TJK", 2021, 12.0)]}
    assert assess(("KGZ", "TJK"), one_new, 2021).level == WATCH
    both_new = {"KGZ": one_new["KGZ"],
                "TJK": [bought("TJK", 2021, 0.0, "armed UAV", "Ababil-T", order=True, supplier="Iran")]}
    x = assess(("KGZ", "TJK"), both_new, 2021, names={"KGZ": "Kyrgyzstan", "TJK": "Tajikistan"})
    assert x.level == WARNING and x.level_name == "warning"
    assert "Kyrgyzstan: 2021 delivery of 2 Bayraktar TB2 armed UAV from Turkiye (new capability: armed drones)" in x.text
    assert "Tajikistan: 2021 order of 2 Ababil-T armed UAV from Iran (new capability: armed drones)" in x.text
    # far above baseline on both sides is a warning without a new capability
    far = {"KGZ": [bought("KGZ", 2021, 50.0)], "TJK": [bought("TJK", 2021, 50.0)]}
    assert assess(("KGZ", "TJK"), far, 2021).level == WARNING


def test_acquisitions_round_trip_compactly():
    a = bought("KGZ", 2021, 7.2, "armed UAV", "Bayraktar TB2", order=True)
    assert Acquisition.from_list(a.to_list()) == a


# --------------------------------------------------------------------------- wired into the pipeline

def _sipri_run(records=None):
    from pathlib import Path

    from streams.adapters import load
    from streams.backtest import run_records
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry

    data = Path(__file__).resolve().parents[2] / "streams" / "data"
    if records is None:
        records = load([data / "sipri-trade-register-central-asia.csv"], "sipri").records
    return run_records(Pipeline(SegmentRegistry.default()), records)


def test_bundled_register_raises_an_arms_race_warning_on_kyrgyzstan_tajikistan_in_2021():
    res = _sipri_run()
    kgz_tjk = [e for e in res.events if e.segment_id == "KGZ-TJK:arms"]
    assert [(e.at, e.transition, e.level) for e in kgz_tjk] == [
        ("2021-07-01T00:00:00Z", "opened", "warning"), ("2024-07-01T00:00:00Z", "resolved", "none")]
    assert all(e.kind == "arms-race" and e.border == "KGZ-TJK" and e.detector == "arms-race" for e in kgz_tjk)
    assert kgz_tjk[0].summary == ("warning on Kyrgyzstan–Tajikistan: arms race in 2019-2021: Kyrgyzstan 2.5x its "
                                  "past, new armed drones; Tajikistan new armed drones")
    text = kgz_tjk[0].explanation["text"]
    assert "Kyrgyzstan: " in text and "Bayraktar TB2 armed UAV from Turkiye (new capability: armed drones)" in text
    assert "Tajikistan: " in text and "2021 order of Ababil-T armed UAV from Iran (new capability: armed drones)" in text
    # 2024, the register's newest year: the window 2022-2024 holds no new capability on either side
    # and no doubling of both volumes, so the pair is no longer arming above its past
    [row] = [r for r in res.history.rows() if r["segment_id"] == "KGZ-TJK:arms"]
    assert (row["kind"], row["level"], row["resolved_at"]) == ("arms-race", "warning", "2024-07-01T00:00:00Z")


def test_a_border_where_only_one_side_arms_raises_nothing():
    # Tajikistan arms in 2021-2023 (armed drones); Afghanistan and Uzbekistan take nothing above their past.
    events = [e for e in _sipri_run().events if e.at >= "2019-01-01T00:00:00Z"]
    assert not [e for e in events if e.segment_id in ("AFG-TJK:arms", "TJK-UZB:arms") and e.transition == "opened"]


def test_arms_race_alerts_do_not_depend_on_how_incidents_interleave():
    from pathlib import Path

    from streams.adapters import load

    data = Path(__file__).resolve().parents[2] / "streams" / "data"
    transfers = load([data / "sipri-trade-register-central-asia.csv"], "sipri").records
    incidents = load([data / "mie-1.0-central-asia.csv"], "mie").records
    merged = sorted(transfers + incidents, key=lambda r: r.occurred_at)
    apart = incidents + sorted(transfers, key=lambda r: r.occurred_at)  # every incident first

    def arms(res):
        return [e.encode() for e in res.events if e.kind == "arms-race"]

    a, b = arms(_sipri_run(merged)), arms(_sipri_run(apart))
    assert a and a == b
    assert a == arms(_sipri_run(sorted(transfers, key=lambda r: r.occurred_at)))


def test_old_alert_records_without_kind_decode_as_incident_alerts():
    import json

    from alerts.model import AlertEvent, alert_labels, decode_record

    ev = _sipri_run().events[0]
    old = {k: v for k, v in json.loads(ev.encode()).items() if k != "kind"}
    back = decode_record(json.dumps(old))
    assert isinstance(back, AlertEvent) and back.kind == "incident"
    assert decode_record(ev.encode()).kind == "arms-race" and alert_labels(ev.to_dict())["kind"] == "arms-race"


def test_arms_race_alerts_do_not_depend_on_the_order_the_two_sides_transfers_come_in():
    # Live, the two recipients' transfers reach the pair's key from different input partitions:
    # one side's whole record may come first, or the other's, or any interleaving.
    from pathlib import Path

    from streams.adapters import load

    data = Path(__file__).resolve().parents[2] / "streams" / "data"
    transfers = load([data / "sipri-trade-register-central-asia.csv"], "sipri").records

    def arms(records):  # each key's transitions in order (the backtest's keys come in arrival order)
        return sorted((e.segment_id, e.seq, e.encode()) for e in _sipri_run(records).events if e.kind == "arms-race")

    by_year = arms(sorted(transfers, key=lambda r: r.occurred_at))
    assert by_year
    assert arms(sorted(transfers, key=lambda r: (r.recipient, r.occurred_at))) == by_year
    assert arms(sorted(transfers, key=lambda r: (r.recipient, r.occurred_at), reverse=True)) == by_year


def test_a_secretariat_reads_an_arms_race_notice_in_plain_words_in_its_language():
    from alerts.notify.brief import notice_text
    from alerts.notify.notices import NoticeRequest, SegmentContext
    from alerts.state import AlertStore
    from tests.notice_fixtures import renderer

    store = AlertStore()
    opened = next(e for e in _sipri_run().events if e.segment_id == "KGZ-TJK:arms")
    store.add(opened)
    alert = dict(store.alerts[opened.alert_id], status="firing", labels={}, acknowledged=False)
    notices = renderer(languages={"secretariat-KGZ": "ru"})
    notices.context_for = {"KGZ-TJK:arms": SegmentContext("KGZ-TJK:arms", name="Kyrgyzstan–Tajikistan")}.get
    ru = notice_text(notices(NoticeRequest("secretariat-KGZ", "g", (alert,), "new", "nt-arms"), None))
    assert "Предупреждение: гонка вооружений: обе стороны наращивают вооружения" in ru
    # SIPRI's designations as they are, its descriptions and the suppliers in Russian
    assert "поставка 2021 г.: Bayraktar TB2 (ударный беспилотник), 2 шт., поставщик — Турция" in ru
    assert "заказ 2021 г.: Ababil-T (ударный беспилотник), поставщик — Иран" in ru
    assert "18,8 TIV за три года при 7,6 в среднем" in ru  # an average to a tenth (7.587 in the detector's text)
    assert "Таджикистан — заказы и поставки: поставка 2019 г.: BRDM-2" in ru  # orders are not "received"
    assert "armed UAV" not in ru.split("Технические подробности")[0]
    # no incident is behind an arms race: no incident chart, no "no recent incidents"
    assert "Динамика относительно нормы" not in ru and "Недавние инциденты, переданные вам" not in ru
    assert "инцидентов не зарегистрировано" not in ru
    assert ru.count("Новый вид вооружения: ударные беспилотники.") == 2  # each side: armed drones
    assert "Доказательства, переданные вам: Кыргызстан–Таджикистан:" in ru  # the border named in Russian
    assert "Kyrgyzstan–Tajikistan" not in ru.split("Технические подробности")[0]  # English only in the detail
    en = notice_text(notices(NoticeRequest("operator", "g", (alert,), "new", "nt-arms-en"), None))
    assert "Warning: arms race, both sides arming on the Kyrgyzstan–Tajikistan border" in en
    assert "2021 delivery of 2 Bayraktar TB2 armed UAV from Turkiye" in en
    assert "No incident behind this alert" not in en
    # its evidence is SIPRI's public record, not incidents withheld from the reader
    assert "No evidence incident is released to you" not in en and "public SIPRI Arms Transfers Database" in en
    assert "открытые данные базы SIPRI о передачах вооружений" in ru


def test_an_acquisition_reads_in_english_as_the_detector_words_it_and_in_russian_in_russian():
    from alerts.notify.arms_words import acquisition_words, supplier_name

    acquisitions = [
        Acquisition("KGZ", "Turkiye", 2021, None, 0.0, "Bayraktar TB2", "armed UAV", 3),
        Acquisition("KGZ", "Soviet Union", 1985, 1986, 4.0, "Mi-8", "transport helicopter", 2),
        Acquisition("TJK", "Bosnia-Herzegovina", 2019, 2020, 0.5, "M-84", "mortar"),
        Acquisition("TJK", "Ruritania", 2019, None, 0.5, "X-1", "hovercraft"),
    ]
    for a in acquisitions:
        assert acquisition_words(a.parts(), "en") == a.words()
    assert [acquisition_words(a.parts(), "ru") for a in acquisitions] == [
        "заказ 2021 г.: Bayraktar TB2 (ударный беспилотник), 3 шт., поставщик — Турция",
        "поставка 1986 г.: Mi-8 (транспортный вертолёт), 2 шт., поставщик — СССР",
        "поставка 2020 г.: M-84 (миномёт), поставщик — Босния и Герцеговина",
        "заказ 2019 г.: X-1 (hovercraft), поставщик — Ruritania",  # unknown to the catalogs: as SIPRI wrote it
    ]
    assert supplier_name("United States", "ru") == "Соединенные Штаты" and supplier_name("UAE", "ru") == "ОАЭ"
