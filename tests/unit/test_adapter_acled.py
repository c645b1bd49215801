"""--format acled: ACLED's standard export, CSV or the API's JSON (streams/adapters/acled.py).

The fixtures are made up from ACLED's published codebook (column names, event types, actor
naming, codes); no ACLED data is in them.
"""

import csv
import io
import json
from collections import Counter

import pytest

import streams.adapters.acled as acled_module
from streams.adapters import FORMATS, guess_format, load
from streams.adapters.acled import COLUMNS, KINDS, TYPE_KINDS, WAR_DEATHS, read, state_of_actor
from streams.adapters.files import open_text
from streams.adapters.place import OUT_OF_SCOPE_REASONS
from streams.cli import main
from streams.errors import SourceRowError
from streams.limits import MAX_DESCRIPTION_CHARS
from streams.records import INCIDENT_CATEGORIES, SEVERITY_MAX, SEVERITY_MIN
from tests.unit.sourcefiles import packed

#: Near Dostuk / Kok-Tash (Batken), about 5 km from the Kyrgyz-Tajik line; Naryn, far from every border.
DOSTUK, NARYN = ("40.05229068", "70.63277194"), ("41.43", "75.99")
#: Inside Bangladesh, 28 km from the Indian line: just beyond the 25-km limit of placement.
BGD_POINT = ("24.0", "89.0")
KGZ_ARMY, TJK_ARMY = "Military Forces of Kyrgyzstan (2005-)", "Military Forces of Tajikistan (1994-)"


def row(event_id, **cells):
    """A Kyrgyz row of the standard export: an exact armed clash of both states' forces at Dostuk."""
    base = {c: "" for c in COLUMNS}
    base.update(event_id_cnty=event_id, event_date="14 September 2022", year="2022", time_precision="1",
                disorder_type="Political violence", event_type="Battles", sub_event_type="Armed clash",
                actor1=KGZ_ARMY, inter1="1", actor2=TJK_ARMY, inter2="8", interaction="18", iso="417",
                region="Caucasus and Central Asia", country="Kyrgyzstan", admin1="Batken", admin2="Leilek",
                location="Dostuk", latitude=DOSTUK[0], longitude=DOSTUK[1], geo_precision="1",
                source="AKIpress", source_scale="National", notes="Border guards exchanged fire.",
                fatalities="3", timestamp="1663600000")
    base.update(cells)
    return base


#: event id -> what becomes of it; the rows of the main fixture, in file order.
ROWS = [
    row("KGZ1", notes="On 14 September 2022, Kyrgyz and Tajik border guards\nexchanged fire near Kok-Tash.\n"
                      "Three soldiers were killed."),
    row("KGZ2", event_type="Protests", sub_event_type="Peaceful protest", actor1="Protesters (Kyrgyzstan)",
        inter1="Protesters", actor2="", inter2="", event_date="2022-09-15", fatalities="0",
        disorder_type="Demonstrations"),
    row("KGZ3", event_type="Riots", sub_event_type="Mob violence", actor1="Rioters (Kyrgyzstan)", inter1="5",
        actor2="", inter2="0", admin1="Naryn", location="Naryn", latitude=NARYN[0], longitude=NARYN[1]),
    row("KGZ4", event_type="Explosions/Remote violence", sub_event_type="Shelling/artillery/missile attack",
        geo_precision="3", time_precision="2", fatalities="0", location="Batken"),
    row("KGZ5", actor1="Military Forces of Kyrgyzstan (2005-)", actor2="Unidentified Armed Group (Kyrgyzstan)",
        inter2="3", geo_precision="3"),
    row("BGD1", iso="50", country="Bangladesh", region="Southern Asia", admin1="Rajshahi", location="Shibganj",
        event_type="Violence against civilians", sub_event_type="Attack",
        actor1="Police Forces of India (2014-) Border Security Force", inter1="External/Other forces",
        actor2="Civilians (Bangladesh)", inter2="Civilians", latitude=BGD_POINT[0], longitude=BGD_POINT[1],
        fatalities="1"),
    row("BGD2", iso="50", country="Bangladesh", region="Southern Asia", admin1="Rajshahi", location="Shibganj",
        actor1="Military Forces of Bangladesh (2009-)", actor2="Rebels (Bangladesh)", inter2="2",
        latitude=BGD_POINT[0], longitude=BGD_POINT[1]),
    row("KGZ6", event_type="Strategic developments", sub_event_type="Arrests",
        actor1="Police Forces of Kyrgyzstan (2021-)", actor2="Civilians (Kyrgyzstan)", inter2="7", fatalities="0"),
    row("KGZ7", iso="", country="Tajikistan", event_date="2022-09-16", time_precision="3",
        event_type="Explosions/Remote violence", sub_event_type="Air/drone strike", actor1=TJK_ARMY,
        actor2="", inter2="", assoc_actor_1=f"Police Forces of Tajikistan (1994-); {KGZ_ARMY}",
        fatalities=str(WAR_DEATHS), timestamp="1600000000"),
]
#: The bad rows appended after ROWS: (event id, column, cells).
BAD = [
    ("BAD1", "event_date", {"event_date": "31 February 2022"}),
    ("BAD2", "fatalities", {"fatalities": "-1"}),
    ("BAD3", "latitude", {"latitude": "95.5"}),
]


def csv_text(rows, columns=COLUMNS + ("my_extra_column",)):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow(dict(r, my_extra_column="ignored"))
    return out.getvalue()


def all_rows():
    return ROWS + [row(event_id, **cells) for event_id, _, cells in BAD]


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "acled.csv"
    path.write_text(csv_text(all_rows()), encoding="utf-8")
    return path


def read_all(path):
    counts = Counter()
    items = list(read(path, counts))
    return [(line, x) for line, x in items if not isinstance(x, SourceRowError)], \
        [x for _, x in items if isinstance(x, SourceRowError)], counts


def by_id(path):
    records, _, _ = read_all(path)
    return {r.event_id: r for _, r in records}


def test_acled_is_a_format():
    assert "acled" in FORMATS
    assert "not_conflict" in OUT_OF_SCOPE_REASONS


def test_a_clash_of_both_states_forces_at_dostuk_is_interstate_on_kgz_tjk(export):
    clash = by_id(export)["acled-KGZ1"]
    assert clash.countries == ("KGZ", "TJK") and clash.border == "KGZ-TJK"
    assert (clash.latitude, clash.longitude) == (float(DOSTUK[0]), float(DOSTUK[1]))
    assert (clash.category, clash.severity, clash.fatalities, clash.injuries) == ("armed_clash", 4, 3, 0)
    assert clash.source == "ACLED" and clash.occurred_at.isoformat() == "2022-09-14T00:00:00+00:00"
    assert clash.reported_at.isoformat() == "2022-09-19T15:06:40+00:00"  # the upload timestamp
    assert clash.actors == (KGZ_ARMY, TJK_ARMY) and clash.location_name == "Dostuk, Batken"
    assert clash.description.startswith("ACLED Battles / Armed clash: On 14 September 2022")


def test_what_becomes_of_each_row(export):
    records, errors, counts = read_all(export)
    got = {r.event_id: (r.border, r.category) for _, r in records}
    assert got == {
        "acled-KGZ1": ("KGZ-TJK", "armed_clash"),
        "acled-KGZ2": ("KGZ-TJK", "protest"),  # the country's own protest near the border: context
        "acled-KGZ4": ("KGZ-TJK", "shelling"),  # coarse, but both states' forces: pair level
        "acled-BGD1": ("BGD-IND", "armed_clash"),  # India's border guards acting inside Bangladesh
        "acled-KGZ7": ("KGZ-TJK", "drone_strike"),  # the other state among the associated actors
    }
    assert counts == Counter({"rows": len(ROWS) + len(BAD), "out_of_scope:far_from_border": 2,
                              "out_of_scope:coarse_location": 1, "out_of_scope:not_conflict": 1})
    assert len(errors) == len(BAD)


def test_internal_events_beyond_the_distance_limit_are_far_from_border(export):
    # BGD2: Bangladesh's own forces and rebels 28 km from the Indian line, beyond the 25-km limit;
    # with actors of India it would be interstate (BGD1).
    records, _, counts = read_all(export)
    assert "acled-BGD2" not in {r.event_id for _, r in records}
    assert counts["out_of_scope:far_from_border"] == 2  # BGD2 and Naryn (KGZ3)


def test_a_coarse_point_with_foreign_forces_stays_at_the_pair_level(export):
    shelling = by_id(export)["acled-KGZ4"]
    assert (shelling.latitude, shelling.longitude) == (None, None)
    assert shelling.description.endswith("(date known to the week)")
    assert shelling.occurred_at.date().isoformat() == "2022-09-14"  # the date is kept


def test_country_by_name_precision_by_month_war_deaths_and_reported_before_the_event(export):
    strike = by_id(export)["acled-KGZ7"]
    assert strike.countries == ("TJK", "KGZ")  # iso empty: the country's name
    assert strike.severity == SEVERITY_MAX and strike.fatalities == WAR_DEATHS
    assert strike.description.endswith("(date known to the month)")
    assert strike.reported_at == strike.occurred_at  # a timestamp before the event is not a report time


def test_bad_rows_name_file_line_and_column_and_the_rest_loads(export):
    _, errors, _ = read_all(export)
    text = export.read_text()
    lines = text.splitlines()
    for (event_id, column, _), err in zip(BAD, errors):
        assert lines[err.line - 1].startswith(event_id + ","), (err, lines[err.line - 1])
        assert err.field == column and err.path == str(export)
        assert str(err).startswith(f"{export}:{err.line}: {column}: ")
    assert "31 February 2022" in errors[0].reason and "-1" in errors[1].reason and "95.5" in errors[2].reason


def test_a_windows_export_in_cp1251_refuses_the_rows_whose_read_cells_it_garbled_naming_the_column(tmp_path):
    """Saved by a spreadsheet on a Russian Windows: Cyrillic in cp1251, not UTF-8. A record is never
    made with marks where the letters were; a row whose garbled cell is one borderwatch does not read
    loads as it is."""
    rows = [row("KGZ1", location="Достук"), row("KGZ2", notes="Перестрелка на границе."), row("KGZ3"),
            dict(row("KGZ4"), my_extra_column="не читается")]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS + ("my_extra_column",), lineterminator="\n")
    writer.writeheader()
    writer.writerows([dict({"my_extra_column": ""}, **r) for r in rows])
    path = tmp_path / "acled-cp1251.csv"
    path.write_bytes(out.getvalue().encode("cp1251"))
    records, errors, counts = read_all(path)
    assert sorted(r.event_id for _, r in records) == ["acled-KGZ3", "acled-KGZ4"]
    assert [(e.line, e.field) for e in errors] == [(2, "location"), (3, "notes")]
    assert all("not UTF-8" in e.reason and "save the file as UTF-8" in e.reason for e in errors)
    assert counts["rows"] == 4 and not any("\ufffd" in str(r.to_dict()) for _, r in records)


@pytest.mark.parametrize("shape", ["list", "lines"])
def test_api_json_in_cp1251_refuses_the_rows_whose_read_cells_it_garbled_naming_the_column(tmp_path, shape):
    """JSON rows saved in cp1251 rather than UTF-8 are refused as the CSV's are, naming the column."""
    rows = [row("KGZ1", location="Достук"), row("KGZ2", notes="Перестрелка на границе."), row("KGZ3"),
            dict(row("KGZ4"), my_extra_column="не читается")]
    text = (json.dumps(rows, ensure_ascii=False, indent=1) if shape == "list"
            else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    path = tmp_path / "acled.json"
    path.write_bytes(text.encode("cp1251"))
    records, errors, counts = read_all(path)
    assert sorted(r.event_id for _, r in records) == ["acled-KGZ3", "acled-KGZ4"]
    assert [e.field for e in errors] == ["location", "notes"]
    assert all("not UTF-8" in e.reason for e in errors)
    assert counts["rows"] == 4 and not any("\ufffd" in str(r.to_dict()) for _, r in records)


def test_multi_line_notes_keep_the_later_line_numbers_right(export):
    records, errors, _ = read_all(export)
    lines = export.read_text().splitlines()
    assert lines[3].startswith("Three soldiers")  # KGZ1's notes run over lines 2-4
    starts = {r.event_id: line for line, r in records}
    assert starts["acled-KGZ1"] == 2 and starts["acled-KGZ2"] == 5
    for line, rec in records:
        assert lines[line - 1].startswith(rec.event_id.removeprefix("acled-") + ",")


def test_a_header_without_the_required_columns_is_one_error_naming_them_all(tmp_path):
    columns = tuple(c for c in COLUMNS if c not in ("inter1", "geo_precision", "iso", "country"))
    path = tmp_path / "short.csv"
    path.write_text("\n" + csv_text([row("X1")], columns), encoding="utf-8")
    counts = Counter()
    items = list(read(path, counts))
    assert len(items) == 1 and not counts["rows"]
    line, err = items[0]
    assert line == err.line == 2 and err.field == "inter1"
    assert "inter1, geo_precision, iso or country" in err.reason


def test_a_row_of_the_wrong_width_is_an_error_and_the_next_row_loads(tmp_path):
    text = csv_text([row("X1"), row("X2")])
    lines = text.splitlines(keepends=True)
    path = tmp_path / "w.csv"
    path.write_text(lines[0] + "X0,2022-09-14\n" + "".join(lines[1:]), encoding="utf-8")
    records, errors, counts = read_all(path)
    assert [e.line for e in errors] == [2] and "columns" in errors[0].reason
    assert [r.event_id for _, r in records] == ["acled-X1", "acled-X2"] and counts["rows"] == 3


@pytest.mark.parametrize("kind", ["gz", "zip"])
def test_gzipped_and_zipped_exports_give_the_same_records(export, tmp_path, kind):
    packed_path = packed(tmp_path, export.read_bytes(), kind, member="2022-09-01-2022-09-30-Kyrgyzstan.csv")
    plain, packed_items = list(read(export)), list(read(packed_path))
    assert [(line, str(x) if isinstance(x, SourceRowError) else x) for line, x in plain] == \
        [(line, str(x).replace(str(packed_path), str(export)) if isinstance(x, SourceRowError) else x)
         for line, x in packed_items]


def api_row(r):
    """A row as the API returns it: numbers as JSON numbers where it writes them so."""
    out = dict(r)
    for name in ("latitude", "longitude"):
        if out[name]:
            out[name] = float(out[name])
    for name in ("iso", "fatalities", "timestamp", "geo_precision", "time_precision"):
        if out[name].lstrip("-").isdigit():
            out[name] = int(out[name])
    return out


@pytest.mark.parametrize("shape", ["api", "list", "lines"])
def test_api_json_gives_the_same_records_as_the_csv(export, tmp_path, shape):
    rows = [api_row(r) for r in all_rows()]
    path = tmp_path / "acled.json"
    if shape == "api":
        text = json.dumps({"status": 200, "success": True, "count": len(rows), "messages": [], "data": rows})
    elif shape == "list":
        text = json.dumps(rows, indent=1)
    else:
        text = "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    csv_records, csv_errors, csv_counts = read_all(export)
    json_records, json_errors, json_counts = read_all(path)
    assert guess_format(path) == guess_format(export) == "acled"  # read without --format as with it
    assert [r for _, r in json_records] == [r for _, r in csv_records]
    assert json_counts == csv_counts
    assert [(e.field, e.reason.split(" (row ")[0]) for e in json_errors] == \
        [(e.field, e.reason) for e in csv_errors]
    if shape == "api":  # one line: the reason says which row of the list
        assert errors_say_rows(json_errors, [len(ROWS) + k for k in range(1, len(BAD) + 1)])
    if shape == "lines":  # one row a line
        ids = [r["event_id_cnty"] for r in rows]
        assert all(line == ids.index(r.event_id.removeprefix("acled-")) + 1 for line, r in json_records)
        assert [e.line for e in json_errors] == [len(ROWS) + k for k in range(1, len(BAD) + 1)]


def errors_say_rows(errors, rows):
    return all(e.reason.endswith(f"(row {n} of the JSON list)") for e, n in zip(errors, rows))


def test_a_big_json_list_is_read_across_chunks_and_broken_json_stops_with_an_error(tmp_path):
    rows = [api_row(row(f"K{n}", notes="x" * 500)) for n in range(400)]  # ~0.5 MB, many chunks
    path = tmp_path / "big.json"
    text = json.dumps({"data": rows})
    path.write_text(text, encoding="utf-8")
    records, errors, counts = read_all(path)
    assert len(records) == 400 and not errors and counts["rows"] == 400
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    records, errors, _ = read_all(path)
    assert 0 < len(records) < 400 and len(errors) == 1 and "broken JSON" in errors[0].reason


class CountingText:
    """A source file's text that counts the characters the reader has taken from it."""

    def __init__(self, fh):
        self.fh, self.chars = fh, 0

    def _count(self, text):
        self.chars += len(text)
        return text

    def read(self, n=-1):
        return self._count(self.fh.read(n))

    def readline(self):
        return self._count(self.fh.readline())

    def __iter__(self):
        return self

    def __next__(self):
        return self._count(next(self.fh))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_the_file_is_read_as_a_stream_not_whole(tmp_path, monkeypatch, suffix):
    rows = [row(f"S{n}", notes="n" * 400) for n in range(3000)]  # ~2.5 MB
    path = tmp_path / f"big.{suffix}"
    path.write_text(csv_text(rows) if suffix == "csv" else json.dumps({"data": rows}), encoding="utf-8")
    opened = []
    monkeypatch.setattr(acled_module, "open_text", lambda p: opened.append(CountingText(open_text(p))) or opened[-1])
    reading = read(path)
    first = [next(reading) for _ in range(3)]
    assert [r.event_id for _, r in first] == ["acled-S0", "acled-S1", "acled-S2"]
    assert opened[0].chars < path.stat().st_size / 10
    reading.close()


def test_a_json_object_without_data_is_one_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"status": 403, "error": {"message": "Access denied"}}', encoding="utf-8")
    _, errors, _ = read_all(path)
    assert len(errors) == 1 and '"data"' in errors[0].reason


@pytest.mark.parametrize("name,iso3", [
    ("Military Forces of Tajikistan (1994-)", "TJK"),
    ("Military Forces of Kyrgyzstan (2005-2010)", "KGZ"),
    ("Police Forces of India (2014-) Border Security Force", "IND"),
    ("Military Forces of the Democratic Republic of Congo (2019-)", "COD"),
    ("Military Forces of the United States (2021-)", "USA"),
    ("Government of Uzbekistan (2016-)", "UZB"),
    ("Protesters (Kyrgyzstan)", None),
    ("Mutiny of Military Forces of Tajikistan (1994-)", None),
])
def test_state_actors_are_read_from_acled_names(name, iso3):
    assert state_of_actor(name) == iso3


def test_inter_codes_numeric_and_text_and_a_bad_one(tmp_path):
    path = tmp_path / "inter.csv"
    path.write_text(csv_text([row("A1", inter1="State forces", inter2="External/Other forces"),
                              row("A2", inter1="9")]), encoding="utf-8")
    records, errors, _ = read_all(path)
    assert [r.event_id for _, r in records] == ["acled-A1"]
    assert errors[0].field == "inter1" and "'9'" in errors[0].reason


def test_an_infinite_number_is_a_bad_cell_and_the_rest_loads(tmp_path):
    """int(float("inf")) raises OverflowError, not ValueError: it once ended the whole file's read."""
    path = tmp_path / "inf.csv"
    path.write_text(csv_text([row("I1", iso="inf"), row("I2", inter2="1e999"), row("I3", inter1="-inf"),
                              row("I4")]), encoding="utf-8")
    records, errors, _ = read_all(path)
    assert [r.event_id for _, r in records] == ["acled-I4"]
    assert [(e.field, e.reason.split(":")[0]) for e in errors] == [
        ("iso", "not an ISO 3166 numeric code"), ("inter2", "not an ACLED actor type"),
        ("inter1", "not an ACLED actor type")]


def test_every_kind_is_a_category_and_severity_and_every_event_type_has_a_fallback():
    assert all(k.category in INCIDENT_CATEGORIES and SEVERITY_MIN <= k.severity <= SEVERITY_MAX
               for k in [*KINDS.values(), *TYPE_KINDS.values()])
    assert {t for t, _ in KINDS} == set(TYPE_KINDS)


def test_an_unknown_sub_event_takes_its_types_kind_and_an_unknown_type_is_an_error(tmp_path):
    path = tmp_path / "kinds.csv"
    path.write_text(csv_text([row("N1", event_type="Strategic developments", sub_event_type="Troop buildup"),
                              row("N2", event_type="Battle-No change of territory")]), encoding="utf-8")
    records, errors, _ = read_all(path)
    assert [(r.category, r.severity) for _, r in records] == [("other", 4)]  # 3 deaths: use of force
    assert [e.field for e in errors] == ["event_type"]


def test_long_notes_are_cut_to_the_description_limit(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(csv_text([row("L1", notes="n" * (2 * MAX_DESCRIPTION_CHARS), time_precision="2")]),
                    encoding="utf-8")
    (rec,) = by_id(path).values()
    assert len(rec.description) == MAX_DESCRIPTION_CHARS and rec.description.endswith("... (date known to the week)")


def test_load_counts_out_of_scope_by_reason(export):
    loaded = load([export], "acled")
    assert loaded.out_of_scope == Counter(far_from_border=2, coarse_location=1, not_conflict=1)
    assert loaded.out_of_scope_text() == ", 4 out of scope (coarse_location 1, far_from_border 2, not_conflict 1)"


def test_backtest_on_acled_opens_an_alert_for_a_deadly_kgz_tjk_clash(export, tmp_path, capsys):
    out = tmp_path / "alerts.csv"
    assert main(["backtest", "--format", "acled", str(export), "--alerts-out", str(out)]) == 0
    alerts = list(csv.DictReader(open(out, encoding="utf-8")))
    assert any(a["border"] == "KGZ-TJK" and a["segment_id"].startswith("KGZ-TJK")
               and a["opened_at"].startswith("2022-09-14") for a in alerts), alerts
    err = capsys.readouterr().err
    assert "4 out of scope (coarse_location 1, far_from_border 2, not_conflict 1)" in err
    assert f"{export}:" in err and "event_date" in err  # the bad rows are reported



def test_a_row_at_a_known_site_reads_as_at_a_new_one(tmp_path):
    """Sites (place, actors, event type) are read once per combination: a later row at a known site
    gives what it gives read afresh, and its first bad cell is the same error."""
    later = row("KGZ7", event_date="2022-09-20", time_precision="2", fatalities="30", notes="Later.")
    bad = row("KGZ8", event_date="2022-02-30", fatalities="-1")  # a known site
    bad_new = row("KGZ9", event_date="2022-02-30", fatalities="-1", inter2="99")  # a new one, bad later on
    what = [_what(i) for i in _items(tmp_path, "many", row("KGZ6"), later, bad, bad_new)]
    alone = []
    for r in (later, bad, bad_new):
        acled_module._SITES.clear()
        alone += [_what(i) for i in _items(tmp_path, r["event_id_cnty"], r)]
    assert what[1:] == alone
    assert alone[1][0] == alone[2][0] == "event_date"


def _what(item):
    return (item.field, item.reason) if isinstance(item, SourceRowError) else item


def _items(tmp_path, name, *rows):
    path = tmp_path / f"{name}.csv"
    path.write_text(csv_text(list(rows)), encoding="utf-8")
    return [item for _, item in read(path)]
