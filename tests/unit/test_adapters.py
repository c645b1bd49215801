"""Source adapters against the bundled MIE and SIPRI files, and against small bad files."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.adapters import FORMATS, Loaded, iter_source, load
from streams.adapters.cow import COW_TO_ISO3
from streams.adapters.mie import ACTIONS
from streams.adapters.sipri import RECIPIENTS, delivery_years, split_evenly
from streams.errors import SourceRowError
from streams.records import (
    INCIDENT_CATEGORIES,
    ArmsTransferEvent,
    IncidentEvent,
    decode_transfer,
    encode,
)

DATA = Path(__file__).resolve().parents[2] / "streams" / "data"
MIE = DATA / "mie-1.0-central-asia.csv"
SIPRI = DATA / "sipri-trade-register-central-asia.csv"
MIE_HEADER = ("micnum,eventnum,ccode1,ccode2,stmon,stday,styear,endmon,endday,endyear,sidea1,action,hostlev,"
              "fatalmin1,fatalmax1,fatalmin2,fatalmax2,version\n")
SIPRI_HEADER = ("Recipient,Supplier,Year of order, ,Number ordered, ,Weapon designation,Weapon description,"
                "Number delivered, ,Year(s) of delivery,status,Comments,SIPRI TIV per unit,"
                "SIPRI TIV for total order,SIPRI TIV of delivered weapons\n")
# column positions in the SIPRI export
REC, SUP, ORDER, DESIG, DESC, DELIVERED, YEARS, TIV = 0, 1, 2, 6, 7, 8, 10, 15


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def mie_rows() -> list[dict[str, str]]:
    with open(MIE, newline="", encoding="ascii") as fh:
        return list(csv.DictReader(fh))


def sipri_rows() -> tuple[int, list[list[str]]]:
    """(header line number, deal rows) read independently of the adapter."""
    rows = list(csv.reader(io.StringIO(SIPRI.read_bytes().decode("cp1252"), newline="")))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Recipient")
    return at + 1, [r for r in rows[at + 1:] if r]


# --------------------------------------------------------------------------- common API

def test_formats_and_loaded_shape():
    assert {"mie", "sipri", "jsonl", "acled", "gdelt", "ucdp-ged"} <= set(FORMATS) and all(callable(f) for f in FORMATS.values())
    assert Loaded([], []).records == [] and Loaded([], []).errors == []


def test_unknown_format_lists_the_known_ones():
    with pytest.raises(ValueError, match="mie, sipri, acled, jsonl"):
        iter_source(MIE, "csv")
    with pytest.raises(ValueError, match="mie, sipri, acled, jsonl"):
        load([MIE], "acled-ish")


def test_missing_or_unreadable_file_raises_at_once(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(SourceRowError, match="cannot read") as err:
        iter_source(missing, "mie")  # raised by the call itself, not on first iteration
    assert (err.value.path, err.value.line, err.value.field) == (str(missing), 0, None)
    with pytest.raises(SourceRowError, match="cannot read"):
        load([MIE, missing], "mie")
    with pytest.raises(SourceRowError, match="cannot read"):
        iter_source(tmp_path, "jsonl")  # a directory


def test_iter_source_yields_physical_line_numbers_in_file_order():
    lines = [line for line, _ in iter_source(MIE, "mie")]
    assert lines == list(range(2, 484))
    header_line, deals = sipri_rows()
    sipri_lines = [line for line, _ in iter_source(SIPRI, "sipri")]
    assert sipri_lines == sorted(sipri_lines) and sipri_lines[0] == header_line + 1
    assert max(sipri_lines) <= header_line + len(deals)


# --------------------------------------------------------------------------- MIE, bundled file

def test_mie_loads_all_482_rows():
    loaded = load([MIE], "mie")
    assert (loaded.rows, len(loaded.records), len(loaded.errors), loaded.skipped) == (482, 482, 0, 0)
    assert all(isinstance(r, IncidentEvent) for r in loaded.records)
    ids = [r.event_id for r in loaded.records]
    assert len(set(ids)) == 482
    assert {f"mie-{r['micnum']}-{r['eventnum']}" for r in mie_rows()} == set(ids)
    assert {r.source for r in loaded.records} == {"MIE 1.0"}
    assert all(r.category in INCIDENT_CATEGORIES and 1 <= r.severity <= 5 for r in loaded.records)
    assert all(r.reported_at == r.occurred_at and r.latitude is None and r.location_name is None
               for r in loaded.records)


def test_every_state_code_of_the_bundled_file_maps_to_iso3():
    codes = {int(r[c]) for r in mie_rows() for c in ("ccode1", "ccode2")}
    assert codes <= set(COW_TO_ISO3)
    assert {COW_TO_ISO3[c] for c in (2, 365, 630, 700, 701, 702, 703, 704, 705, 710, 770)} == {
        "USA", "RUS", "IRN", "AFG", "TKM", "TJK", "KGZ", "UZB", "KAZ", "CHN", "PAK"}
    assert all(re.fullmatch(r"[A-Z]{3}", v) for v in COW_TO_ISO3.values())


def test_the_2012_kgz_uzb_clash_is_there_with_the_rows_fatalities():
    row = next(r for r in mie_rows()
               if r["micnum"] == "4718" and (r["styear"], r["stmon"], r["stday"]) == ("2012", "7", "17"))
    clash = next(r for r in load([MIE], "mie").records if r.event_id == f"mie-4718-{row['eventnum']}")
    assert clash.category == "armed_clash" and clash.border == "KGZ-UZB"
    assert clash.occurred_at == utc(2012, 7, 17)
    assert clash.countries == ("KGZ", "UZB") and clash.actors == ("KGZ",)  # sidea1 = 1: ccode1 initiated
    assert clash.fatalities == int(row["fatalmin1"]) + int(row["fatalmin2"]) == 2
    assert clash.severity == int(row["hostlev"]) == 4
    assert clash.description == "MIE action 17 (clash), hostility 4; deaths KGZ 1-1, UZB 1-1"
    assert (clash.classification, clash.releasable_to) == ("public", ("ALL",))


def test_an_unknown_day_in_the_bundled_file_becomes_the_1st_as_the_labels_date_it():
    rows = [r for r in mie_rows() if r["stday"] == "-9"]
    assert len(rows) == 30 and not [r for r in mie_rows() if r["stmon"] == "-9"]
    by_id = {r.event_id: r for r in load([MIE], "mie").records}
    for row in rows:
        ev = by_id[f"mie-{row['micnum']}-{row['eventnum']}"]
        assert ev.occurred_at == utc(int(row["styear"]), int(row["stmon"]), 1)
        assert ev.description.endswith("day unknown, dated the 1st of the month")


def test_an_onset_with_no_day_falls_on_its_labelled_onset_day():
    """The dev set's labels date an onset with an unknown day on the 1st: the adapter agrees."""
    labels = list(csv.DictReader(open(DATA / "escalations-mie-dev-borders.csv", newline="")))
    by_id = {r.event_id: r for r in load([DATA / "mie-1.0-dev-borders.csv"], "mie").records}
    month_only = [lab for lab in labels if lab["onset_precision"] == "month"]
    assert month_only
    for lab in month_only:
        onset = by_id[lab["onset_event"].lower()]
        assert onset.occurred_at.date().isoformat() == lab["start"], lab["episode_id"]


def test_initiator_side_and_war_battles():
    by_id = {r.event_id: r for r in load([MIE], "mie").records}
    # 4718,2: ccode1 704 (UZB), ccode2 703 (KGZ), sidea1 0 -> KGZ is on the initiating side
    assert by_id["mie-4718-2"].countries == ("UZB", "KGZ") and by_id["mie-4718-2"].actors == ("KGZ",)
    # action 22 is MIE's "war battle" (11 rows, the 2001 war): 2,700 ... fatalmin2 3200
    battle = by_id["mie-4283-56"]
    assert (battle.category, battle.severity, battle.fatalities) == ("armed_clash", 5, 3200)
    assert battle.description == ("MIE action 22 (war battle), hostility 5; deaths USA 0-0, AFG 3200-4000; "
                                  "until 2001-12-07")
    assert battle.ended_at == utc(2001, 12, 7) and battle.occurred_at < battle.ended_at
    assert sum(1 for r in by_id.values() if r.description.startswith("MIE action 22 ")) == 11


def test_action_table_covers_mid_and_mie_codes():
    assert set(ACTIONS) == set(range(23))
    assert {ACTIONS[c][0] for c in range(1, 11)} == {"threat"}
    assert [ACTIONS[c][0] for c in (0, 11, 12, 13, 14, 15, 16, 17)] == [
        "other", "fortification", "incursion", "other", "incursion", "detention", "armed_clash", "armed_clash"]
    assert {ACTIONS[c][0] for c in range(18, 23)} == {"armed_clash"}


# --------------------------------------------------------------------------- MIE, small files

def test_mie_unknown_day_and_month_and_unknown_deaths(tmp_path):
    f = tmp_path / "mie.csv"
    f.write_text(MIE_HEADER
                 + "1,1,700,770,9,-9,1960,10,-9,1960,1,10,3,0,0,0,0,mie-1.0\n"
                 + "1,2,700,770,-9,-9,1961,-9,-9,1961,0,7,3,-9,-9,2,-9,mie-1.0\n"
                 + "1,3,700,770,2,29,1960,2,29,1960,1,0,1,0,0,0,0,mie-1.0\n"
                 + "1,4,700,770,3,5,1962,-9,-9,-9,1,0,1,0,0,0,0,mie-1.0\n")
    a, b, c, d = sorted(load([f], "mie").records, key=lambda r: r.event_id)
    assert a.occurred_at == utc(1960, 9, 1) and b.occurred_at == utc(1961, 1, 1) and c.occurred_at == utc(1960, 2, 29)
    assert a.ended_at == utc(1960, 10, 1)  # the end completed the same way: the 1st of its month
    assert a.description.endswith("; until 1960-10; day unknown, dated the 1st of the month")
    assert b.description == ("MIE action 7 (show of force), hostility 3; deaths AFG unknown, PAK 2-?; "
                             "month unknown, dated 1 January")
    assert b.ended_at is None and c.ended_at is None and d.ended_at is None  # same day, or no end year
    assert b.fatalities == 2 and b.actors == ("PAK",)  # -9 counts as 0; sidea1 0 -> ccode2
    assert (c.category, c.severity) == ("other", 1)


def test_a_files_format_is_told_from_its_first_lines(tmp_path):
    from streams.adapters import LOOKS_LIKE, guess_format

    assert set(LOOKS_LIKE) == set(FORMATS)  # every format can be told
    assert guess_format(MIE) == "mie" and guess_format(SIPRI) == "sipri"
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"event_id": "x-1", "occurred_at": "2021-04-29T00:00:00Z"}) + "\n", encoding="utf-8")
    counts = tmp_path / "counts.csv"
    counts.write_text("country,month,events\nKyrgyzstan,2021-01-01,3\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert guess_format(own) == "jsonl"
    assert guess_format(counts) is guess_format(empty) is guess_format(tmp_path / "missing.csv") is None
    both = load([MIE, SIPRI], None)
    assert both.formats == {str(MIE): "mie", str(SIPRI): "sipri"} and not both.errors
    assert len(both.records) == len(load([MIE], "mie").records) + len(load([SIPRI], "sipri").records)


def test_an_empty_mie_cell_where_mie_codes_unknown_reads_as_unknown(tmp_path):
    f = tmp_path / "mie.csv"
    f.write_text(MIE_HEADER
                 + "1,1,704,703,7,,2012,,,,,17,,1,,,,mie-1.0\n"     # day, end, side, level, counts empty
                 + "1,2,704,703,7,17,2012,7,17,2012,1,,4,0,0,0,0,mie-1.0\n"   # the action empty: an error
                 + "1,3,,703,7,17,2012,7,17,2012,1,17,4,0,0,0,0,mie-1.0\n"    # a state empty: an error
                 + "1,4,704,703,7,18,2012,7,18,2012,1,17,4,0,0,0,0,mie-1.0,,\n")  # trailing commas: read
    loaded = load([f], "mie")
    clash, trailing = loaded.records
    assert trailing.event_id == "mie-1-4" and trailing.occurred_at == utc(2012, 7, 18)
    assert clash.occurred_at == utc(2012, 7, 1) and clash.ended_at is None and clash.actors == ()
    assert (clash.category, clash.severity, clash.fatalities) == ("armed_clash", 4, 1)
    assert clash.description.startswith("MIE action 17 (clash), hostility unknown; deaths UZB 1-?, KGZ unknown")
    assert [(e.line, e.field) for e in loaded.errors] == [(3, "action"), (4, "ccode1")]


def test_bad_mie_rows_are_reported_with_path_line_field_and_the_rest_loads(tmp_path):
    f = tmp_path / "bad-mie.csv"
    f.write_text(MIE_HEADER
                 + "1,1,704,703,7,17,2012,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"      # 2 good
                 + "1,2,999,703,7,17,2012,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"      # 3 ccode1 unknown
                 + "1,3,704,703,13,17,2012,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"     # 4 month 13
                 + "\n"                                                            # 5 blank
                 + "1,4,704,703,2,30,2012,2,30,2012,1,17,4,1,1,1,1,mie-1.0\n"      # 6 30 February
                 + "1,5,704,703,7,17,-9,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"        # 7 no year
                 + "1,6,704,703,7,17,2012,7,17,2012,1,99,4,0,0,0,0,mie-1.0\n"      # 8 action 99
                 + "1,7,704,704,7,17,2012,7,17,2012,1,17,4,0,0,0,0,mie-1.0\n"      # 9 same state
                 + "1,8,704,703,7,17,2012,7,17,2012,1,17,4,x,0,0,0,mie-1.0\n"      # 10 not a number
                 + "1,9,704,703,7,17,2012,7,17,2012,1,17,4,-3,0,0,0,mie-1.0\n"     # 11 negative count
                 + "1,10,704,703,7,17,2012\n"                                      # 12 short row
                 + "1,11,704,1000,7,18,2012,7,18,2012,1,17,4,1,1,1,1,mie-1.0\n"    # 13 ccode2 unknown
                 + "1,12,704,703,7,18,2012,7,18,2012,0,16,4,0,0,0,0,mie-1.0\n")    # 14 good
    loaded = load([f], "mie")
    assert [r.event_id for r in loaded.records] == ["mie-1-1", "mie-1-12"]
    assert [(e.path, e.line, e.field) for e in loaded.errors] == [
        (str(f), 3, "ccode1"), (str(f), 4, "stmon"), (str(f), 6, "stday"), (str(f), 7, "styear"),
        (str(f), 8, "action"), (str(f), 9, "ccode2"), (str(f), 10, "fatalmin1"), (str(f), 11, "fatalmin1"),
        (str(f), 12, None), (str(f), 13, "ccode2")]
    assert str(loaded.errors[0]) == f"{f}:3: ccode1: unknown Correlates-of-War state code 999"
    assert loaded.rows == 12


def test_a_file_without_the_mie_columns_is_one_error(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a,b,c\n1,2,3\n")
    [(line, err)] = list(iter_source(f, "mie"))
    assert isinstance(err, SourceRowError) and (line, err.line, err.field) == (1, 1, "micnum")


# --------------------------------------------------------------------------- SIPRI, bundled file

def test_every_sipri_recipient_maps():
    _, deals = sipri_rows()
    names = {r[REC] for r in deals}
    assert names <= set(RECIPIENTS)
    assert {RECIPIENTS[n] for n in names} == {"AFG", "KAZ", "KGZ", "TJK", "TKM", "UZB"}
    assert RECIPIENTS["Northern Alliance (Afghanistan)*"] == RECIPIENTS["Mujahedin (Afghanistan)*"] == "AFG"
    assert {r.recipient for r in load([SIPRI], "sipri").records} == {"AFG", "KAZ", "KGZ", "TJK", "TKM", "UZB"}


def test_sipri_spreads_deliveries_over_years_and_keeps_totals():
    _, deals = sipri_rows()
    with_deliveries = [r for r in deals if r[YEARS].strip()]
    # This export lists years one by one ("1979; 1980"), with no ranges and no '?'.
    assert all(re.fullmatch(r"\d{4}(; \d{4})*", r[YEARS]) for r in with_deliveries)
    loaded = load([SIPRI], "sipri")
    assert not loaded.errors
    # Orders (no delivery yet) are records since the arms-race signal (issue 9 point 7): nothing is skipped.
    assert (loaded.rows, loaded.skipped) == (len(deals), 0) == (412, 0)
    orders = [r for r in loaded.records if r.is_order]
    deliveries = [r for r in loaded.records if not r.is_order]
    assert len(orders) == len(deals) - len(with_deliveries) == 6
    assert len(deliveries) == sum(len(set(r[YEARS].split("; "))) for r in with_deliveries) == 790
    assert all(isinstance(r, ArmsTransferEvent) and r.source == "SIPRI Arms Transfers Database"
               for r in loaded.records)

    by_deal: dict[str, list[ArmsTransferEvent]] = defaultdict(list)
    for r in deliveries:
        by_deal[r.transfer_id.rsplit("-", 1)[0]].append(r)
    assert len(by_deal) == len(with_deliveries)
    # Match each deal to its row through the fields the events carry; TIV to 1e-6.
    # Cells are compared stripped: the bundled file has "Fleyta/Skorpion " with a trailing blank.
    expected = Counter((r[SUP].strip(), r[DESIG].strip(), r[DESC].strip(), r[ORDER],
                        tuple(sorted({int(y) for y in r[YEARS].split("; ")})),
                        int(r[DELIVERED]), round(float(r[TIV]), 6)) for r in with_deliveries)
    got = Counter()
    for events in by_deal.values():
        e = events[0]
        years = tuple(sorted(x.occurred_at.year for x in events))
        assert all(x.delivery_years == years for x in events)
        assert all(x.occurred_at == utc(x.occurred_at.year, 7, 1) for x in events)
        quantities = [x.quantity for x in sorted(events, key=lambda x: x.occurred_at)]
        assert quantities == sorted(quantities, reverse=True) and quantities[0] - quantities[-1] <= 1
        assert max(x.tiv for x in events) - min(x.tiv for x in events) <= 1e-9
        got[(e.supplier, e.designation, e.weapon_category, str(e.order_year), years,
             sum(quantities), round(sum(x.tiv for x in events), 6))] += 1
    assert got == expected


def test_sipri_orders_are_records_that_deliver_nothing():
    """A deal with nothing delivered is one order record: tiv (delivered) 0, the order's TIV apart."""
    _, deals = sipri_rows()
    undelivered = [r for r in deals if not r[YEARS].strip()]
    orders = sorted((r for r in load([SIPRI], "sipri").records if r.is_order), key=lambda r: r.transfer_id)
    assert len(orders) == len(undelivered) == 6
    assert all(r.tiv == 0 and r.delivery_years == () and r.occurred_at == utc(r.order_year, 7, 1)
               for r in orders)
    [anka] = [r for r in orders if r.designation == "Anka" and r.recipient == "KGZ"]
    assert (anka.recipient, anka.supplier, anka.order_year, anka.quantity, anka.order_tiv) == ("KGZ", "Turkiye",
                                                                                                2022, 2, 6.0)
    [ababil] = [r for r in orders if r.designation == "Ababil-T"]
    # SIPRI leaves the number ordered empty (produced under licence): quantity 0, TIV of the order 0.
    assert (ababil.recipient, ababil.supplier, ababil.weapon_category, ababil.quantity, ababil.order_tiv) == (
        "TJK", "Iran", "armed UAV", 0, 0.0)
    assert decode_transfer(anka.to_dict()) == anka


def test_orders_leave_militarization_pressure_as_it_was():
    """Pressure counts deliveries only: the KGZ-TJK pair's TIV per side and year, fed through the
    pipeline with the orders, equals the delivered TIV of the raw rows (what it was before orders
    were records), and the 2021-2022 orders (Ababil, Anka) add no year of their own."""
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry
    from streams.topics import KIND_TRANSFERS

    _, deals = sipri_rows()
    expected: dict[str, dict[int, float]] = {}
    for r in deals:
        iso3 = RECIPIENTS[r[REC]]
        years = sorted({int(y) for y in r[YEARS].split("; ")}) if r[YEARS].strip() else []
        if iso3 in ("KGZ", "TJK"):
            for y in years:
                side = expected.setdefault(iso3, {})
                side[y] = side.get(y, 0.0) + float(r[TIV]) / len(years)
    pipeline = Pipeline(SegmentRegistry.default())
    state = pipeline.new_state("KGZ-TJK")
    for rec in load([SIPRI], "sipri").records:
        envs, dead = pipeline.route(KIND_TRANSFERS, encode(rec))
        assert dead is None
        for env in envs:
            if env.key == state.key:
                pipeline.apply(state, env)
    assert state.pressure.keys() == expected.keys()
    for iso3, years in expected.items():
        assert state.pressure[iso3].keys() == years.keys()
        assert all(abs(state.pressure[iso3][y] - t) < 1e-9 for y, t in years.items())
    assert max(state.pressure["TJK"]) == 2022 and 2021 not in state.pressure["TJK"]


def test_sipri_transfer_ids_are_unique_stable_and_line_independent(tmp_path):
    first = [r.transfer_id for r in load([SIPRI], "sipri").records]
    assert len(first) == len(set(first)) and all(re.fullmatch(r"sipri-[0-9a-f]{12}-(\d{4}|order)", i) for i in first)
    assert first == [r.transfer_id for r in load([SIPRI], "sipri").records]
    # The same rows in reverse order after a shorter preamble: the same ids.
    lines = SIPRI.read_bytes().decode("cp1252").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Recipient,"))
    moved = tmp_path / "moved.csv"
    moved.write_bytes("\r\n".join(["SIPRI export", "", *lines[at:at + 1], *reversed(lines[at + 1:])]).encode("cp1252"))
    assert sorted(r.transfer_id for r in load([moved], "sipri").records) == sorted(first)
    # An exact duplicate row is a second deal, not a collision.
    dup = tmp_path / "dup.csv"
    deal = "Kazakhstan,Russia,2015,,4,,Su-30MK,FGA aircraft,4,,2015,New,,30,120,120"
    dup.write_text(SIPRI_HEADER + deal + "\n" + deal + "\n", encoding="cp1252")
    a, b = load([dup], "sipri").records
    assert a.transfer_id != b.transfer_id and (a.quantity, b.quantity) == (4, 4)


def test_cp1252_characters_survive(tmp_path):
    # The bundled file's only non-ASCII character is the u-umlaut of "Türkiye", in two Comments
    # cells (0xFC in cp1252). Comments are not carried by ArmsTransferEvent, so check that the
    # rows load, and check a cp1252 file with non-ASCII text in carried columns.
    raw = SIPRI.read_bytes()
    assert {b for b in raw if b > 127} == {0xFC} and raw.count(b"T\xfcrkiye") == 2
    header_line, _ = sipri_rows()
    text_lines = raw.decode("cp1252").splitlines()
    turkish = [i + 1 for i, line in enumerate(text_lines) if "Türkiye" in line]
    loaded_lines = {line for line, item in iter_source(SIPRI, "sipri") if isinstance(item, ArmsTransferEvent)}
    assert turkish and set(turkish) <= loaded_lines and min(turkish) > header_line
    f = tmp_path / "cp1252.csv"
    f.write_bytes((SIPRI_HEADER + "Uzbekistan,Türkiye,2022,?,4,?,Škorpion “TB2”,armed UAV,4,,2023,New,"
                   "Bayraktar – from Türkiye,2.4,9.6,9.6\n").encode("cp1252"))
    [rec] = load([f], "sipri").records
    assert (rec.supplier, rec.designation) == ("Türkiye", "Škorpion “TB2”")


# --------------------------------------------------------------------------- SIPRI, small files

def test_delivery_year_lists():
    assert delivery_years("1996") == [1996]
    assert delivery_years("2001-2003") == [2001, 2002, 2003]
    assert delivery_years("1993; 1995-1996") == [1993, 1995, 1996]
    assert delivery_years("2004?; 2002") == [2002, 2004]
    assert delivery_years("") == [] and delivery_years(" ") == []
    assert split_evenly(10, 3) == [4, 3, 3] and split_evenly(1, 3) == [1, 0, 0] and split_evenly(0, 2) == [0, 0]


def test_bad_sipri_rows_name_their_column_and_the_rest_loads(tmp_path):
    preamble = "Transfers of major conventional arms\nA '?' in a column indicates uncertain data.\n\n"
    good = "Kazakhstan,Russia,2015,,4,,Su-30MK,FGA aircraft,4,,2015-2016,New,,30,120,120\n"
    f = tmp_path / "bad-sipri.csv"
    f.write_bytes((preamble + SIPRI_HEADER                                                            # header on 4
                   + good                                                                             # 5
                   + "Kazakhstan,Russia,2016,,2,,Mi-8MT,helicopter,2,,2017,New,,5,10,abc\n"            # 6 TIV
                   + "Mongolia,Russia,2016,,2,,Mi-8MT,helicopter,2,,2017,New,,5,10,10\n"               # 7 recipient
                   + "Kazakhstan,Russia,2016,,2,,Mi-8MT,helicopter,two,,2017,New,,5,10,10\n"           # 8 delivered
                   + "Kazakhstan,Russia,2016,,2,,Mi-8MT,helicopter,2,,2017-20xx,New,,5,10,10\n"        # 9 years
                   + "Kazakhstan,Russia,20l6,,2,,Mi-8MT,helicopter,2,,2017,New,,5,10,10\n"             # 10 order year
                   + "Kazakhstan,,2016,,2,,Mi-8MT,helicopter,2,,2017,New,,5,10,10\n"                   # 11 supplier
                   + 'Kazakhstan,Russia,2016,,2,,Mi-8MT,helicopter,2,,2017,New,"unterminated,5,10,10\n'  # 12 quote
                   + "Kazakhstan,Russia,2024,,6,,PC-12,light transport aircraft,0,,,New,,1,6,0\n"      # 13 order
                   + "Tajikistan,China,2019?,?,3,?,Type-63,APC,3?,?,2020?,New,,0.2,0.6,0.6\n"       # 14 good
                   ).encode("cp1252"))
    loaded = load([f], "sipri")
    assert [(e.path, e.line, e.field) for e in loaded.errors] == [
        (str(f), 6, "SIPRI TIV of delivered weapons"), (str(f), 7, "Recipient"), (str(f), 8, "Number delivered"),
        (str(f), 9, "Year(s) of delivery"), (str(f), 10, "Year of order"), (str(f), 11, "Supplier"),
        (str(f), 12, None)]
    assert "'abc'" in loaded.errors[0].reason
    # The order on line 13 is a record now (it was skipped before orders counted for the arms race).
    assert (loaded.rows, loaded.skipped) == (10, 0)
    kaz = sorted((r for r in loaded.records if r.recipient == "KAZ"), key=lambda r: r.occurred_at)
    assert [(r.occurred_at.year, r.quantity, r.tiv, r.order_tiv) for r in kaz] == [
        (2015, 2, 60.0, None), (2016, 2, 60.0, None), (2024, 6, 0.0, 6.0)]
    [tjk] = [r for r in loaded.records if r.recipient == "TJK"]
    assert (tjk.order_year, tjk.delivery_years, tjk.quantity, tjk.tiv) == (2019, (2020,), 3, 0.6)
    lines = {line for line, item in iter_source(f, "sipri") if not isinstance(item, SourceRowError)}
    assert lines == {5, 13, 14}


def test_a_file_without_a_sipri_header_is_one_error(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("not,a,sipri,file\n")
    [(line, err)] = list(iter_source(f, "sipri"))
    assert isinstance(err, SourceRowError) and (line, err.field) == (0, None) and "Recipient" in err.reason


# --------------------------------------------------------------------------- jsonl

def test_jsonl_round_trip_of_mie_and_sipri_records(tmp_path):
    for src, fmt in ((MIE, "mie"), (SIPRI, "sipri")):
        records = load([src], fmt).records
        f = tmp_path / f"{fmt}.jsonl"
        f.write_bytes(b"".join(encode(r) + b"\n" for r in records))
        back = load([f], "jsonl")
        assert not back.errors and back.records == records and back.rows == len(records)


def test_jsonl_errors_name_line_and_field_and_the_rest_loads(tmp_path):
    good = load([MIE], "mie").records[:3]
    f = tmp_path / "x.jsonl"
    f.write_bytes(encode(good[0]) + b"\n"                                                      # 1
                  + b"\n"                                                                      # 2 blank
                  + json.dumps(dict(good[1].to_dict(), severity=9)).encode() + b"\n"           # 3
                  + b'{"event_id": "x", broken\n'                                              # 4
                  + b"[1, 2]\n"                                                                # 5
                  + b'{"occurred_at": "2012-07-17T00:00:00Z"}\n'                               # 6
                  + encode(good[2]).replace(b'"source":"MIE 1.0"', b'"source":"\xff"') + b"\n"  # 7
                  + encode(good[2]) + b"\r\n")                                                 # 8
    loaded = load([f], "jsonl")
    assert [(e.path, e.line, e.field) for e in loaded.errors] == [
        (str(f), 3, "severity"), (str(f), 4, None), (str(f), 5, None), (str(f), 6, "event_id"), (str(f), 7, None)]
    assert "above 5" in loaded.errors[0].reason and "not JSON" in loaded.errors[1].reason
    assert loaded.records == sorted([good[0], good[2]], key=lambda r: (r.occurred_at, r.event_id))
    assert loaded.rows == 7


def test_jsonl_lines_over_the_record_limit_are_row_errors_read_through_not_held(tmp_path):
    from streams.limits import MAX_RECORD_BYTES

    good = load([MIE], "mie").records[:2]
    big = MAX_RECORD_BYTES * 40 + 7  # a line no reader should hold whole
    f = tmp_path / "x.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + encode(good[0]) + b"\n"                     # 1, after a BOM
                  + b'{"event_id": "' + b"x" * (big - 16) + b'"}\r\n'          # 2: big bytes, CRLF
                  + b'{"event_id": "' + b"y" * (MAX_RECORD_BYTES - 15) + b'"}\n'  # 3: the limit + 1
                  + b"z" * (MAX_RECORD_BYTES * 3)                                   # 4: no newline at the end
                  + b"\n" + encode(good[1]))                                        # 5
    loaded = load([f], "jsonl")
    assert [(e.line, e.field, e.reason) for e in loaded.errors] == [
        (2, None, f"{big} bytes, more than the limit of {MAX_RECORD_BYTES}"),
        (3, None, f"{MAX_RECORD_BYTES + 1} bytes, more than the limit of {MAX_RECORD_BYTES}"),
        (4, None, f"{MAX_RECORD_BYTES * 3} bytes, more than the limit of {MAX_RECORD_BYTES}")]
    assert loaded.records == sorted(good, key=lambda r: (r.occurred_at, r.event_id)) and loaded.rows == 5


# --------------------------------------------------------------------------- load()

def test_load_sorts_by_event_time_then_id_across_files(tmp_path):
    mie = load([MIE], "mie").records
    assert [(r.occurred_at, r.event_id) for r in mie] == sorted((r.occurred_at, r.event_id) for r in mie)
    in_file = [r.event_id for _, r in iter_source(MIE, "mie")]
    assert in_file != [r.event_id for r in mie]  # the file is not in time order; load() puts it in order
    # two jsonl files, newest first, plus SIPRI: one stream in event time
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"".join(encode(r) + b"\n" for r in reversed(mie[240:])))
    b.write_bytes(b"".join(encode(r) + b"\n" for r in reversed(mie[:240])))
    assert load([a, b], "jsonl").records == mie
    both = tmp_path / "both.jsonl"
    sipri = load([SIPRI], "sipri").records
    both.write_bytes(b"".join(encode(r) + b"\n" for r in [*sipri, *mie]))
    merged = load([both], "jsonl").records
    assert merged == sorted([*mie, *sipri], key=lambda r: (r.occurred_at, getattr(r, "event_id", None)
                                                           or r.transfer_id))
    assert load([MIE, MIE], "mie").records[::2] == mie  # stable: duplicates stay side by side
