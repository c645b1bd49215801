"""``--format ucdp-ged``: UCDP GED and GED Candidate CSV (streams/adapters/ucdp_ged.py).

The rows are made up from the GED codebook's column definitions (no UCDP data is vendored):
places and Gleditsch-Ward codes are real, events, ids and counts are not.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.adapters import FORMAT_HELP, FORMATS, guess_format, load, ucdp_ged
from streams.adapters.gw import GW_TO_ISO3, state_iso3
from streams.adapters.place import OUT_OF_SCOPE_REASONS
from streams.adapters.ucdp_ged import (
    CANDIDATE_SOURCE,
    SOURCE,
    read,
)
from streams.cli import build_parser, main
from streams.errors import SourceRowError
from streams.records import INTERNAL_CATEGORY, IncidentEvent
from tests.unit.sourcefiles import packed

#: The GED 23.1 column order.
HEADER = ("id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,conflict_new_id,"
          "conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,side_a_new_id,side_a,side_b_dset_id,"
          "side_b_new_id,side_b,number_of_sources,source_article,source_office,source_date,source_headline,"
          "source_original,where_prec,where_coordinates,where_description,adm_1,adm_2,latitude,longitude,"
          "geom_wkt,priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,date_end,"
          "deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob").split(",")

#: Near Dostuk on the Kyrgyz-Tajik line (Batken), about 5 km from the border.
BATKEN = ("40.05229068", "70.63277194")
#: Naryn, far from every border.
NARYN = ("41.43", "75.99")
#: Near the Bangladesh-India line (Lalmonirhat).
LALMONIRHAT = ("25.9", "89.45")

KGZ_TJK = {
    "id": "900001", "relid": "KGZ-2022-1-900-1", "year": "2022", "active_year": "1", "code_status": "Clear",
    "type_of_violence": "1", "conflict_name": "Kyrgyzstan - Tajikistan",
    "dyad_name": "Government of Kyrgyzstan - Government of Tajikistan",
    "side_a": "Government of Kyrgyzstan", "side_b": "Government of Tajikistan", "number_of_sources": "3",
    "source_headline": "Border clash", "where_prec": "1", "where_coordinates": "Dostuk village",
    "adm_1": "Batken oblast", "latitude": BATKEN[0], "longitude": BATKEN[1],
    "geom_wkt": f"POINT ({BATKEN[1]} {BATKEN[0]})", "country": "Kyrgyzstan", "country_id": "703",
    "region": "Asia", "event_clarity": "1", "date_prec": "1", "date_start": "2022-09-14",
    "date_end": "2022-09-14", "deaths_a": "2", "deaths_b": "1", "deaths_civilians": "0", "deaths_unknown": "0",
    "best": "3", "high": "5", "low": "3", "gwnoa": "703", "gwnob": "702",
}
#: Indian border guards (side A) firing into Bangladesh: one-sided violence.
BGD_BY_IND = dict(
    KGZ_TJK, id="900002", type_of_violence="3", conflict_name="Government of India - civilians",
    dyad_name="Government of India - civilians", side_a="Government of India", side_b="Civilians",
    where_coordinates="Lalmonirhat", adm_1="Rangpur division", latitude=LALMONIRHAT[0], longitude=LALMONIRHAT[1],
    country="Bangladesh", country_id="771", best="1", high="1", low="1", gwnoa="750", gwnob="",
)
#: Kyrgyzstan against an armed group near the Tajik line: the state's own conflict.
KGZ_INTERNAL = dict(KGZ_TJK, id="900003", conflict_name="Kyrgyzstan: Government",
                    dyad_name="Government of Kyrgyzstan - IMU", side_b="IMU", gwnob="")


def write_ged(path: Path, rows: list[dict], header=HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, header, extrasaction="ignore", restval="")
        out.writeheader()
        out.writerows(rows)
    return path


def read_all(path: Path) -> tuple[list[tuple[int, IncidentEvent | SourceRowError]], Counter]:
    counts: Counter = Counter()
    return list(read(path, counts)), counts


def one(tmp_path: Path, row: dict, name="ged.csv") -> IncidentEvent:
    [(line, rec)], _ = read_all(write_ged(tmp_path / name, [row]))
    assert line == 2 and isinstance(rec, IncidentEvent), rec
    return rec


def test_a_ged_file_is_told_from_its_header_without_format(tmp_path):
    path = write_ged(tmp_path / "GEDEvent_v24_1.csv", [KGZ_TJK])
    assert guess_format(path) == "ucdp-ged"
    assert [r.event_id for r in load([path], None).records] == [r.event_id for r in load([path], "ucdp-ged").records]
    missing = write_ged(tmp_path / "no-side.csv", [KGZ_TJK], header=[c for c in HEADER if c != "side_a"])
    assert guess_format(missing) is None  # a required column missing: not told, rather than half read


def test_a_file_in_cp1251_refuses_the_rows_it_garbled_naming_the_column(tmp_path):
    """Cyrillic saved as cp1251, not UTF-8: no record carries marks where a place name was; a garbled
    cell borderwatch does not read (the headline) leaves the row as it is."""
    path = write_ged(tmp_path / "ged.csv", [dict(KGZ_TJK, id="1", where_coordinates="Достук"),
                                            dict(KGZ_TJK, id="2", source_headline="Перестрелка"),
                                            dict(KGZ_TJK, id="3", adm_1="Баткенская область")])
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1251"))
    items, counts = read_all(path)
    assert [(line, x.field) for line, x in items if isinstance(x, SourceRowError)] == [(2, "where_coordinates"),
                                                                                      (4, "adm_1")]
    assert [(line, x.event_id) for line, x in items if isinstance(x, IncidentEvent)] == [(3, "ged-2")]
    assert all("not UTF-8" in x.reason for _, x in items if isinstance(x, SourceRowError)) and counts["rows"] == 3


# --------------------------------------------------------------------------- interstate by actors

def test_a_kgz_tjk_battle_is_an_armed_clash_on_their_border(tmp_path):
    rec = one(tmp_path, KGZ_TJK)
    assert rec.event_id == "ged-900001" and rec.source == SOURCE
    assert rec.border == "KGZ-TJK" and rec.category == "armed_clash"
    assert (rec.latitude, rec.longitude) == (float(BATKEN[0]), float(BATKEN[1]))
    assert rec.occurred_at == rec.reported_at == datetime(2022, 9, 14, tzinfo=UTC) and rec.ended_at is None
    assert (rec.fatalities, rec.injuries, rec.severity) == (3, 0, 4)
    assert rec.actors == ("Government of Kyrgyzstan", "Government of Tajikistan")
    assert rec.location_name == "Dostuk village"
    assert rec.description == ("UCDP GED state-based conflict, Government of Kyrgyzstan - Government of Tajikistan; "
                               "deaths best 3 (low 3, high 5)")


@pytest.mark.parametrize(("best", "severity"), [(1, 4), (24, 4), (25, 5), (400, 5)])
def test_a_battle_as_deadly_as_a_conflict_year_is_war_level(tmp_path, best, severity):
    """UCDP's 25 battle deaths of an armed conflict-year, in one event: war level."""
    rec = one(tmp_path, dict(KGZ_TJK, best=str(best), high=str(best), low=str(best)))
    assert (rec.fatalities, rec.severity) == (best, severity)


@pytest.mark.parametrize("gwnoa", ["750", ""], ids=["gw-code", "government-name"])
def test_a_neighbours_government_as_a_side_is_interstate(tmp_path, gwnoa):
    """Indian forces in Bangladesh: BGD-IND, whether the code or only the side's name says so."""
    rec = one(tmp_path, dict(BGD_BY_IND, gwnoa=gwnoa))
    assert rec.border == "BGD-IND" and rec.category == "armed_clash"
    assert "one-sided violence" in rec.description


def test_a_coalition_side_lists_several_states(tmp_path):
    rec = one(tmp_path, dict(KGZ_INTERNAL, side_a="Government of Kyrgyzstan, Government of Uzbekistan",
                             gwnoa="703, 704"))
    assert rec.border == "KGZ-UZB" and rec.category == "armed_clash"
    named = one(tmp_path, dict(KGZ_INTERNAL, side_a="Government of Kyrgyzstan, Government of Uzbekistan", gwnoa=""))
    assert named.border == "KGZ-UZB"


# --------------------------------------------------------------------------- internal context, out of scope

def test_a_states_own_conflict_near_a_border_is_internal_context(tmp_path):
    rec = one(tmp_path, KGZ_INTERNAL)
    assert rec.border == "KGZ-TJK" and rec.category == INTERNAL_CATEGORY
    non_state = one(tmp_path, dict(KGZ_INTERNAL, type_of_violence="2", side_a="Clan A", side_b="Clan B", gwnoa=""))
    assert non_state.category == INTERNAL_CATEGORY


def test_out_of_scope_rows_are_counted_by_reason_and_yield_nothing(tmp_path):
    rows = [
        dict(KGZ_INTERNAL, id="1", latitude=NARYN[0], longitude=NARYN[1]),  # far_from_border
        dict(KGZ_INTERNAL, id="2", where_prec="4"),  # coarse_location
        dict(KGZ_INTERNAL, id="3", latitude="", longitude=""),  # no_location
        dict(KGZ_TJK, id="4", side_b="Government of United States of America", gwnob="2"),  # non_border_pair
    ]
    got, counts = read_all(write_ged(tmp_path / "ged.csv", rows))
    assert got == []
    assert counts == Counter({"rows": 4, "out_of_scope:far_from_border": 1, "out_of_scope:coarse_location": 1,
                              "out_of_scope:no_location": 1, "out_of_scope:non_border_pair": 1})
    assert {k.split(":", 1)[1] for k in counts if k != "rows"} <= set(OUT_OF_SCOPE_REASONS)


def test_a_states_own_conflict_by_any_land_border_of_the_world_is_its_context(tmp_path):
    """Bangladesh's own conflict by the Indian line: the world lines place it on BGD-IND."""
    rec = one(tmp_path, dict(BGD_BY_IND, id="5", side_a="Government of Bangladesh", gwnoa="771"))
    assert rec.countries == ("BGD", "IND") and rec.category == INTERNAL_CATEGORY


def test_an_admin1_location_never_lands_on_a_segment(tmp_path):
    """where_prec 4: with a foreign side the pair level, without one out of scope."""
    rec = one(tmp_path, dict(KGZ_TJK, where_prec="4"))
    assert rec.border == "KGZ-TJK" and rec.latitude is None and rec.longitude is None
    assert "location coarse (where_prec 4)" in rec.description
    _, counts = read_all(write_ged(tmp_path / "ged.csv", [dict(KGZ_INTERNAL, where_prec="4")]))
    assert counts["out_of_scope:coarse_location"] == 1


# --------------------------------------------------------------------------- dates, source

def test_dates_with_a_time_of_day_an_end_and_an_approximate_day(tmp_path):
    rec = one(tmp_path, dict(KGZ_TJK, date_start="2022-09-14 00:00:00.000", date_end="2022-09-17 00:00:00.000",
                             date_prec="3"))
    assert rec.occurred_at == datetime(2022, 9, 14, tzinfo=UTC)
    assert rec.ended_at == datetime(2022, 9, 17, tzinfo=UTC)
    assert "until 2022-09-17" in rec.description
    assert "date approximate (known to within a week, date_prec 3)" in rec.description


def test_a_candidate_file_is_named_so_and_an_unchecked_event_says_so(tmp_path):
    rec = one(tmp_path, dict(KGZ_TJK, code_status="Check deaths"), name="GEDEvent_v25_0_3.csv")
    assert rec.source == CANDIDATE_SOURCE and rec.description.startswith("UCDP GED Candidate state-based")
    assert "candidate status: Check deaths" in rec.description
    assert one(tmp_path, KGZ_TJK, name="ged251.csv").source == SOURCE


# --------------------------------------------------------------------------- errors, layout, compression

def test_bad_rows_name_line_and_column_and_the_rest_loads(tmp_path):
    rows = [
        dict(KGZ_TJK, id="1", date_start="2022-13-01"),
        dict(KGZ_TJK, id="2", best="-2"),
        dict(KGZ_TJK, id="3", latitude="140.5"),
        dict(KGZ_TJK, id="4", country_id="9999"),
        dict(KGZ_TJK, id="5", gwnob="702, x"),
        dict(KGZ_TJK, id="6", date_end="2022-09-01"),
        dict(KGZ_TJK, id="7", side_a="Government of Atlantis", gwnoa=""),
        dict(KGZ_TJK, id="8", where_prec="9"),
        KGZ_TJK,
    ]
    path = write_ged(tmp_path / "ged.csv", rows)
    got, counts = read_all(path)
    assert counts["rows"] == len(rows)
    errors = [str(e) for _, e in got if isinstance(e, SourceRowError)]
    assert errors == [
        f"{path}:2: date_start: not a date (YYYY-MM-DD): '2022-13-01'",
        f"{path}:3: best: cannot be -2 (at least 0)",
        f"{path}:4: latitude: 140.5 is outside -90..90",
        f"{path}:5: country_id: unknown Gleditsch-Ward state code 9999",
        f"{path}:6: gwnob: expected a whole number, got 'x'",
        f"{path}:7: date_end: 2022-09-01 is before date_start 2022-09-14",
        f"{path}:8: side_a: unknown state in 'Government of Atlantis'",
        f"{path}:9: where_prec: unknown code 9 (known: 1-7)",
    ]
    assert [line for line, e in got if isinstance(e, IncidentEvent)] == [10]


def test_a_header_without_the_required_columns_is_one_error_naming_them_all(tmp_path):
    header = [c for c in HEADER if c not in ("best", "latitude", "country", "country_id")]
    path = write_ged(tmp_path / "ged.csv", [KGZ_TJK], header=header)
    got, counts = read_all(path)
    assert [str(e) for _, e in got] == [f"{path}:1: latitude: missing column(s) latitude, best, "
                                        "country_id (or country): not a UCDP GED file"]
    assert counts["rows"] == 0


def test_a_multi_line_headline_keeps_later_line_numbers_right(tmp_path):
    rows = [dict(KGZ_TJK, id="1", source_headline="Clash at Dostuk;\nthree dead\n(update)"),
            dict(KGZ_TJK, id="2", best="bad"), dict(KGZ_TJK, id="3")]
    got, _ = read_all(write_ged(tmp_path / "ged.csv", rows))
    assert [(line, getattr(r, "event_id", None) or r.field) for line, r in got] == [
        (2, "ged-1"), (5, "best"), (6, "ged-3")]


def test_columns_in_any_order_with_unknown_ones_and_only_the_country_name(tmp_path):
    header = ["gwnob", "extra_column", *reversed([c for c in HEADER if c not in ("gwnob", "country_id")])]
    row = dict(KGZ_TJK, extra_column="ignored", country="Kyrgyzstan")
    path = write_ged(tmp_path / "ged.csv", [row], header=header)
    [(_, rec)], _ = read_all(path)
    assert rec == one(tmp_path, KGZ_TJK)


def test_a_row_with_missing_cells_is_an_error(tmp_path):
    path = tmp_path / "ged.csv"
    write_ged(path, [KGZ_TJK])
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("900009,short row\n")
    got, _ = read_all(path)
    assert str(got[-1][1]) == f"{path}:3: expected {len(HEADER)} columns, got 2"


@pytest.mark.parametrize("kind", ["gz", "zip"])
def test_gzipped_and_zipped_files_give_the_same_records(tmp_path, kind):
    rows = [KGZ_TJK, BGD_BY_IND, KGZ_INTERNAL, dict(KGZ_INTERNAL, id="4", latitude=NARYN[0], longitude=NARYN[1])]
    plain = write_ged(tmp_path / "ged.csv", rows)
    archive = packed(tmp_path, plain.read_bytes(), kind, member="GEDEvent_v23_1.csv")
    assert read_all(archive) == read_all(plain)


def test_a_broken_archive_is_this_files_error_and_other_files_load(tmp_path):
    bad = tmp_path / "ged.zip"
    bad.write_bytes(b"PK not really")
    good = write_ged(tmp_path / "ged.csv", [KGZ_TJK])
    loaded = load([bad, good], "ucdp-ged")
    assert [r.event_id for r in loaded.records] == ["ged-900001"]
    assert [(e.line, "zip" in e.reason) for e in loaded.errors] == [(0, True)]


# --------------------------------------------------------------------------- state codes and names

def test_gleditsch_ward_codes_where_they_differ_from_correlates_of_war():
    assert (GW_TO_ISO3[260], GW_TO_ISO3[340], GW_TO_ISO3[345]) == ("DEU", "SRB", "SRB")
    assert (GW_TO_ISO3[678], GW_TO_ISO3[816]) == ("YEM", "VNM")
    assert (GW_TO_ISO3[970], GW_TO_ISO3[972]) == ("KIR", "TON")  # COW's 970 is Nauru
    assert (GW_TO_ISO3[702], GW_TO_ISO3[703], GW_TO_ISO3[750], GW_TO_ISO3[771]) == ("TJK", "KGZ", "IND", "BGD")
    for split_state in (265, 315, 680, 817, 347):
        assert split_state not in GW_TO_ISO3


@pytest.mark.parametrize(("name", "iso"), [("Kyrgyzstan", "KGZ"), ("Russia (Soviet Union)", "RUS"),
                                           ("DR Congo (Zaire)", "COD"), ("United States of America", "USA"),
                                           ("Myanmar (Burma)", "MMR"), ("Bosnia-Herzegovina", "BIH"),
                                           ("Atlantis", None)])
def test_ucdp_state_names(name, iso):
    assert state_iso3(name) == iso


# --------------------------------------------------------------------------- registration, end to end

def test_the_format_is_registered_for_the_cli():
    assert FORMATS["ucdp-ged"] is read and "UCDP GED" in FORMAT_HELP["ucdp-ged"]
    args = build_parser().parse_args(["backtest", "--format", "ucdp-ged", "x.csv", "--alerts-out", "-"])
    assert args.format == "ucdp-ged"


def test_backtest_opens_an_alert_on_the_kgz_tjk_border_and_counts_out_of_scope(tmp_path, capsys):
    days = [dict(KGZ_TJK, id=str(i), date_start=f"2022-09-{14 + i}", date_end=f"2022-09-{14 + i}", best="30")
            for i in range(3)]
    naryn = dict(KGZ_INTERNAL, id="99", latitude=NARYN[0], longitude=NARYN[1])
    path = write_ged(tmp_path / "ged.csv", [*days, naryn])
    out = tmp_path / "alerts.csv"
    assert main(["backtest", "--format", "ucdp-ged", str(path), "--alerts-out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        alerts = list(csv.DictReader(fh))
    assert alerts and all(a["border"] == "KGZ-TJK" and a["segment_id"].startswith("KGZ-TJK-") for a in alerts)
    assert alerts[0]["opened_at"] == "2022-09-14T00:00:00Z"
    assert "3 records (0 rejected, 1 out of scope (far_from_border 1))" in capsys.readouterr().err



def _what(item):
    return (item.field, item.reason) if isinstance(item, SourceRowError) else item


def test_a_row_at_a_known_site_reads_as_at_a_new_one(tmp_path):
    """Sites (place, sides, status) are read once per combination: a later row at a known site
    gives what it gives read afresh, and its first bad cell is the same error."""
    later = dict(KGZ_TJK, id="900010", date_start="2022-09-15", date_end="2022-09-17", date_prec="2", best="30")
    bad = dict(KGZ_TJK, id="900011", date_start="2022-13-01", best="-1")  # a known site
    bad_new = dict(bad, id="900012", latitude="95")  # a site not seen before: the date is still the first bad cell
    items, _ = read_all(write_ged(tmp_path / "many.csv", [KGZ_TJK, later, bad, bad_new]))
    alone = []
    for r in (later, bad, bad_new):
        ucdp_ged._SITES.clear()
        alone.append(_what(read_all(write_ged(tmp_path / f"{r['id']}.csv", [r]))[0][0][1]))
    assert [_what(item) for _, item in items[1:]] == alone
    assert alone[1][0] == alone[2][0] == "date_start"


def test_files_with_other_columns_never_share_a_site(tmp_path):
    """Site cells are taken by position from each file's header: a file without ``gwnob`` and one
    without ``dyad_name`` may give rows whose cells line up, and still each row is read as its own."""
    no_gwnob = [c for c in HEADER if c != "gwnob"]
    no_dyad = [c for c in HEADER if c != "dyad_name"]
    internal = dict(KGZ_INTERNAL, dyad_name="702")  # no gwnob column: side B, "IMU", is not a state
    interstate = dict(KGZ_INTERNAL, gwnob="702")  # side B named by its code: 702, Tajikistan
    first, _ = read_all(write_ged(tmp_path / "a.csv", [internal], header=no_gwnob))
    second, _ = read_all(write_ged(tmp_path / "b.csv", [interstate], header=no_dyad))
    assert first[0][1].category == INTERNAL_CATEGORY
    assert second[0][1].category == "armed_clash"
