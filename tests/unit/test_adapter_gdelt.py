"""``--format gdelt``: the GDELT 2.0 event export (streams/adapters/gdelt.py).

The rows are made up from the GDELT 2.0 Event codebook and the CAMEO codebook; no GDELT
data is vendored.
"""

import gzip
import zipfile
from collections import Counter

import pytest

from streams import cli
from streams.adapters import FORMAT_HELP, FORMATS, guess_format, load
from streams.adapters import gdelt
from streams.adapters.gdelt import CAMEO, COLUMNS, MATERIAL_ROOTS, SOURCE, fips_to_iso3, read, state_of
from streams.adapters.place import OUT_OF_SCOPE_REASONS
from streams.backtest import run_records
from streams.errors import SourceRowError, bounded
from streams.pipeline import Pipeline
from streams.records import INCIDENT_CATEGORIES, INTERNAL_CATEGORY
from streams.segments import SegmentRegistry

#: Near Dostuk on the Kyrgyz-Tajik line (Batken), about 5 km from the border.
BATKEN = ("40.05229068", "70.63277194")
#: Naryn, far from every border; Kyrgyzstan's country centroid as GDELT gives it (type 1).
NARYN, KYRGYZSTAN = ("41.43", "75.99"), ("41", "75")

#: A Kyrgyz-Tajik border fight (CAMEO 193) between both states' militaries, as the codebook lays it out.
BASE = {
    "GLOBALEVENTID": "1000001", "SQLDATE": "20210428", "MonthYear": "202104", "Year": "2021",
    "FractionDate": "2021.3233",
    "Actor1Code": "KGZMIL", "Actor1Name": "KYRGYZSTAN", "Actor1CountryCode": "KGZ", "Actor1Type1Code": "MIL",
    "Actor2Code": "TJKMIL", "Actor2Name": "TAJIKISTAN", "Actor2CountryCode": "TJK", "Actor2Type1Code": "MIL",
    "IsRootEvent": "1", "EventCode": "193", "EventBaseCode": "193", "EventRootCode": "19", "QuadClass": "4",
    "GoldsteinScale": "-10.0", "NumMentions": "12", "NumSources": "4", "NumArticles": "12", "AvgTone": "-7.5",
    "ActionGeo_Type": "4", "ActionGeo_FullName": "Kok-Tash, Batken, Kyrgyzstan", "ActionGeo_CountryCode": "KG",
    "ActionGeo_ADM1Code": "KG09", "ActionGeo_Lat": BATKEN[0], "ActionGeo_Long": BATKEN[1],
    "ActionGeo_FeatureID": "-1", "DATEADDED": "20210429061500", "SOURCEURL": "https://news.example/kg-tj-clash",
}


def row(**cells: str) -> str:
    """One export line: the border fight with ``cells`` changed (a ``None`` value empties the cell)."""
    values = {**BASE, **cells}
    return "\t".join(values.get(c) or "" for c in COLUMNS)


def not_state(n: int) -> dict:
    """Actor ``n`` as a people, not a state's forces (no MIL/GOV/COP type)."""
    return {f"Actor{n}Type1Code": "CVL"}


def write(tmp_path, lines: list[str], name: str = "20210428.export.CSV"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def only(path, counts=None):
    items = [item for _line, item in read(path, counts)]
    assert len(items) == 1, items
    return items[0]


# --------------------------------------------------------------------------- tables

def test_a_line_in_cp1251_is_refused_where_it_garbled_a_cell_that_is_read(tmp_path):
    """A byte that is not UTF-8 in a place name refuses the row, naming the column; in a cell
    borderwatch does not read (Actor1Code is read only through its parts), the row loads."""
    path = tmp_path / "20210428.export.CSV"
    lines = [row(ActionGeo_FullName="Кок-Таш, Баткен"), row(GLOBALEVENTID="1000002", Actor1Code="КГЗ")]
    path.write_bytes("".join(line + "\n" for line in lines).encode("cp1251"))
    items = list(read(path))
    assert [(line, type(x).__name__) for line, x in items] == [(1, "SourceRowError"), (2, "IncidentEvent")]
    assert items[0][1].field == "ActionGeo_FullName" and "not UTF-8" in items[0][1].reason


def test_cameo_table_covers_the_material_roots_and_stays_in_the_record_categories():
    assert MATERIAL_ROOTS == {"15", "18", "19", "20"}
    assert all(code[:2] in MATERIAL_ROOTS for code in CAMEO)
    assert {category for category, _, _ in CAMEO.values()} <= set(INCIDENT_CATEGORIES)
    assert CAMEO["194"][0] == "shelling" and CAMEO["1952"][0] == "drone_strike" and CAMEO["192"][0] == "incursion"
    assert CAMEO["181"][0] == "detention" and CAMEO["191"][0] == "other" and CAMEO["154"][0] == "threat"
    assert {severity for code, (_, _, severity) in CAMEO.items() if code.startswith("20")} == {5}
    assert {severity for code, (_, _, severity) in CAMEO.items() if code.startswith("15")} == {3}


def test_action_geo_codes_are_fips_and_actor_codes_cameo():
    fips = fips_to_iso3()
    assert (fips["KG"], fips["TI"], fips["UZ"], fips["BG"], fips["IN"], fips["AF"]) == \
        ("KGZ", "TJK", "UZB", "BGD", "IND", "AFG")
    assert state_of("KGZ") == "KGZ" and state_of("ROM") == "ROU" and state_of("TMP") == "TLS"
    assert state_of("CAS") is None and state_of("") is None  # a region names no state


def test_registered_for_the_cli():
    assert FORMATS["gdelt"] is read and "GDELT 2.0" in FORMAT_HELP["gdelt"]
    assert "not_material_conflict" in OUT_OF_SCOPE_REASONS


# --------------------------------------------------------------------------- rows

def test_a_kgz_tjk_border_fight_between_both_militaries_is_interstate(tmp_path):
    rec = only(write(tmp_path, [row()]))
    assert rec.event_id == "gdelt-1000001" and rec.source == SOURCE
    assert rec.countries == ("KGZ", "TJK") and rec.category == "armed_clash" and rec.severity == 4
    assert (rec.latitude, rec.longitude) == (float(BATKEN[0]), float(BATKEN[1]))
    assert rec.occurred_at.isoformat() == "2021-04-28T00:00:00+00:00"
    assert rec.reported_at.isoformat() == "2021-04-29T06:15:00+00:00"
    assert rec.fatalities == 0 and rec.injuries == 0  # GDELT counts reports, not people
    assert rec.actors == ("KYRGYZSTAN", "TAJIKISTAN") and rec.location_name == "Kok-Tash, Batken, Kyrgyzstan"
    assert rec.description == ("GDELT CAMEO 193 (fight with small arms and light weapons), 12 mentions in 4 sources; "
                               "https://news.example/kg-tj-clash")


@pytest.mark.parametrize("code, category, severity", [
    ("194", "shelling", 4), ("1952", "drone_strike", 4), ("192", "incursion", 4), ("1823", "armed_clash", 4),
    ("181", "detention", 4), ("202", "armed_clash", 5), ("152", "threat", 3), ("154", "threat", 3),
])
def test_category_and_severity_from_the_cameo_code(tmp_path, code, category, severity):
    rec = only(write(tmp_path, [row(EventCode=code, EventBaseCode=code[:3], EventRootCode=code[:2])]))
    assert (rec.category, rec.severity) == (category, severity)
    assert rec.description.startswith(f"GDELT CAMEO {code} (")


def test_a_report_dated_before_its_event_is_reported_on_the_event_day(tmp_path):
    rec = only(write(tmp_path, [row(DATEADDED="20210427000000")]))
    assert rec.reported_at == rec.occurred_at


def test_non_conflict_rows_are_counted_out_of_scope_and_yield_nothing(tmp_path):
    counts = Counter()
    consult = row(EventCode="040", EventBaseCode="040", EventRootCode="04", SQLDATE="not even a date")
    assert list(read(write(tmp_path, [consult, consult]), counts)) == []
    assert counts == Counter({"rows": 2, "out_of_scope:not_material_conflict": 2})


def test_an_internal_fight_near_a_border_is_context_on_that_border(tmp_path):
    kyrgyz_on_kyrgyz = row(Actor2Code="KGZ", Actor2Name="KYRGYZ VILLAGERS", Actor2CountryCode="KGZ",
                           Actor2Type1Code="CVL")
    no_foreign_state = row(**not_state(2))  # Tajik villagers, not Tajik forces
    for line in (kyrgyz_on_kyrgyz, no_foreign_state):
        rec = only(write(tmp_path, [line]))
        assert rec.category == INTERNAL_CATEGORY and rec.countries == ("KGZ", "TJK") and rec.severity == 4


def test_far_from_any_border_is_out_of_scope(tmp_path):
    counts = Counter()
    lines = [row(ActionGeo_Lat=NARYN[0], ActionGeo_Long=NARYN[1], **not_state(2))]
    assert list(read(write(tmp_path, lines), counts)) == []
    assert counts["out_of_scope:far_from_border"] == 1


def test_a_country_centroid_stays_at_the_pair_level_with_foreign_forces_and_is_out_of_scope_without(tmp_path):
    centroid = {"ActionGeo_Type": "1", "ActionGeo_FullName": "Kyrgyzstan", "ActionGeo_Lat": KYRGYZSTAN[0],
                "ActionGeo_Long": KYRGYZSTAN[1]}
    rec = only(write(tmp_path, [row(**centroid)]))
    assert rec.countries == ("KGZ", "TJK") and rec.latitude is None and rec.category == "armed_clash"
    counts = Counter()
    assert list(read(write(tmp_path, [row(**centroid, **not_state(2))]), counts)) == []
    assert counts["out_of_scope:coarse_location"] == 1


def test_no_geolocation_is_out_of_scope(tmp_path):
    counts = Counter()
    lines = [row(ActionGeo_Type="0", ActionGeo_CountryCode=None, ActionGeo_Lat=None, ActionGeo_Long=None)]
    assert list(read(write(tmp_path, lines), counts)) == []
    assert counts["out_of_scope:no_location"] == 1


def test_interstate_by_actors_and_internal_context_on_any_land_border_of_the_world(tmp_path):
    bsf_in_bangladesh = {"ActionGeo_CountryCode": "BG", "ActionGeo_FullName": "Satkhira, Khulna, Bangladesh",
                         "ActionGeo_Lat": "22.7", "ActionGeo_Long": "89.07", "Actor1Code": "INDMIL",
                         "Actor1Name": "INDIA", "Actor1CountryCode": "IND", "Actor2Code": "BGD",
                         "Actor2Name": "BANGLADESH", "Actor2CountryCode": "BGD", "Actor2Type1Code": "CVL"}
    rec = only(write(tmp_path, [row(**bsf_in_bangladesh)]))
    assert rec.countries == ("BGD", "IND") and rec.category == "armed_clash"
    # Without a state actor of India it is Bangladesh's own: context of the border the world lines give.
    internal = only(write(tmp_path, [row(**{**bsf_in_bangladesh, "Actor1Type1Code": "REB"})]))
    assert internal.countries == ("BGD", "IND") and internal.category == INTERNAL_CATEGORY


def test_only_state_forces_make_their_country_a_party(tmp_path):
    for types in ({"Actor2Type1Code": "GOV"}, {"Actor2Type2Code": "COP"},
                  {"Actor2Type1Code": "", "Actor2Type3Code": "MIL"}):
        assert only(write(tmp_path, [row(**types)])).category == "armed_clash"
    assert only(write(tmp_path, [row(Actor2Type1Code="REB")])).category == INTERNAL_CATEGORY


def test_bad_rows_name_file_line_and_column_and_the_rest_loads(tmp_path):
    lines = [row(), "1000002\t20210428\ttoo short", row(GLOBALEVENTID="1000003", SQLDATE="20210231"),
             row(GLOBALEVENTID="1000004", ActionGeo_Lat="140.5"),
             row(GLOBALEVENTID="1000005", ActionGeo_CountryCode="QQ"),
             row(GLOBALEVENTID="1000006", DATEADDED="2021-04-29"), row(GLOBALEVENTID="1000007"),
             # digits int() refuses: not decimal, or more of them than it converts
             row(GLOBALEVENTID="1000008", ActionGeo_Type="\u00b2"), row(GLOBALEVENTID="1000009", NumSources="9" * 5000),
             row(GLOBALEVENTID="1000010", NumMentions="\u00b2")]
    path = write(tmp_path, lines)
    counts = Counter()
    items = list(read(path, counts))
    errors = [str(item) for _line, item in items if isinstance(item, SourceRowError)]
    assert errors == [
        f"{path}:2: expected 61 tab-separated columns, got 3",
        f"{path}:3: SQLDATE: not a date: '20210231'",
        f"{path}:4: ActionGeo_Lat: 140.5 is outside -90..90",
        f"{path}:5: ActionGeo_CountryCode: unknown FIPS 10-4 country code 'QQ'",
        f"{path}:6: DATEADDED: not a time (YYYYMMDDHHMMSS): '2021-04-29'",
        f"{path}:8: ActionGeo_Type: not a geolocation type (0-5): '\u00b2'",
        f"{path}:9: NumSources: {bounded('not a whole number: ' + repr('9' * 5000))}",
        f"{path}:10: NumMentions: not a whole number: '\u00b2'",
    ]
    assert [(line, item.event_id) for line, item in items if not isinstance(item, SourceRowError)] == \
        [(1, "gdelt-1000001"), (7, "gdelt-1000007")]
    assert counts["rows"] == 10


def test_a_gdelt_1_file_is_one_error_not_one_per_row(tmp_path):
    old = "\t".join(["1"] * 58)
    items = list(read(write(tmp_path, [old, old, old])))
    assert len(items) == 1 and "GDELT 1.0 event file" in str(items[0][1])


def test_the_file_is_read_as_a_stream(tmp_path, monkeypatch):
    """The first record comes before the rest of the file is read: a day of GDELT is never held whole."""
    read_so_far = []

    class Lines:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __iter__(self):
            for n, line in enumerate([row(), row(GLOBALEVENTID="1000002")]):
                read_so_far.append(n)
                yield line + "\n"

    monkeypatch.setattr(gdelt, "open_text", lambda path: Lines())
    rows = read(tmp_path / "x.export.CSV")
    assert next(rows)[1].event_id == "gdelt-1000001" and read_so_far == [0]


def test_gzipped_and_zipped_exports_give_the_same_records(tmp_path):
    lines = [row(), row(GLOBALEVENTID="1000002", EventCode="040", EventBaseCode="040", EventRootCode="04"),
             row(GLOBALEVENTID="1000003", EventCode="194", EventBaseCode="194")]
    plain = write(tmp_path, lines)
    gz = tmp_path / "20210428.export.CSV.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    zipped = tmp_path / "20210428.export.CSV.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(plain, plain.name)
    results = []
    for path in (plain, gz, zipped):
        counts = Counter()
        results.append(([item for _line, item in read(path, counts)], counts))
    assert results[0] == results[1] == results[2]
    assert [r.event_id for r in results[0][0]] == ["gdelt-1000001", "gdelt-1000003"]
    assert [guess_format(path) for path in (plain, gz, zipped)] == ["gdelt"] * 3  # told through the archive too


# --------------------------------------------------------------------------- end to end

def border_fights(tmp_path):
    """Several KGZ-TJK fights over a week, a consultation and one row far from the border."""
    lines = [row(GLOBALEVENTID=str(2000000 + i), SQLDATE=f"202104{day:02d}", DATEADDED=f"202104{day:02d}120000",
                 EventCode=code, EventBaseCode=code, EventRootCode=code[:2])
             for i, (day, code) in enumerate([(20, "152"), (24, "193"), (28, "193"), (28, "194"), (29, "194"),
                                              (29, "195")])]
    lines.append(row(GLOBALEVENTID="2000100", EventCode="042", EventBaseCode="042", EventRootCode="04"))
    lines.append(row(GLOBALEVENTID="2000101", ActionGeo_Lat=NARYN[0], ActionGeo_Long=NARYN[1], **not_state(2)))
    return write(tmp_path, lines, "kgz-tjk.export.CSV")


def test_backtest_of_a_gdelt_export_lands_on_kgz_tjk_segments(tmp_path, capsys):
    path = border_fights(tmp_path)
    out = tmp_path / "alerts.csv"
    assert cli.main(["backtest", "--format", "gdelt", str(path), "--alerts-out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "backtest: 6 records (0 rejected, 2 out of scope (far_from_border 1, not_material_conflict 1))" in err
    assert out.exists()
    loaded = load([path], "gdelt")
    res = run_records(Pipeline(SegmentRegistry.default()), loaded.records)
    assert res.records == 6 and res.duplicates == 0
    # the incidents' cut segments, and the whole-border key their spill-over reaches
    segments = set(res.states) - {"KGZ-TJK"}
    assert segments and all(key.startswith("KGZ-TJK-") for key in segments), sorted(res.states)
