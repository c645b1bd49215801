import csv
import io
from collections import Counter
from pathlib import Path

import pytest

from streams.adapters import iter_source, load
from streams.adapters.sipri import delivery_years
from streams.errors import SourceRowError
from streams.records import encode

DATA = Path(__file__).resolve().parents[2] / "streams" / "data"
MIE = DATA / "mie-1.0-central-asia.csv"
SIPRI = DATA / "sipri-trade-register-central-asia.csv"
MIE_HEADER = "micnum,eventnum,ccode1,ccode2,stmon,stday,styear,endmon,endday,endyear,sidea1,action,hostlev,fatalmin1,fatalmax1,fatalmin2,fatalmax2,version\n"


def test_mie_loads_every_row_and_finds_the_2012_kgz_uzb_clash():
    loaded = load([MIE], "mie")
    assert len(loaded.records) == 482 and not loaded.errors
    clash = [r for r in loaded.records if r.border == "KGZ-UZB" and r.occurred_at.date().isoformat() == "2012-07-17"]
    assert len(clash) == 1 and clash[0].category == "armed_clash"
    row = next(r for r in csv.DictReader(open(MIE)) if r["micnum"] == "4718" and r["styear"] == "2012"
               and r["stmon"] == "7" and r["stday"] == "17")
    assert clash[0].fatalities == int(row["fatalmin1"]) + int(row["fatalmin2"])
    assert [r.occurred_at for r in loaded.records] == sorted(r.occurred_at for r in loaded.records)


def test_mie_unknown_day_is_the_15th_and_unknown_month_july_first(tmp_path):
    f = tmp_path / "mie.csv"
    f.write_text(MIE_HEADER + "1,1,700,770,9,-9,1960,9,-9,1960,1,10,3,0,0,0,0,mie-1.0\n"
                             "1,2,700,770,-9,-9,1961,-9,-9,1961,1,7,3,0,0,0,0,mie-1.0\n")
    a, b = load([f], "mie").records
    assert a.occurred_at.isoformat()[:10] == "1960-09-15" and b.occurred_at.isoformat()[:10] == "1961-07-01"


def test_bad_mie_rows_are_reported_with_file_line_field_and_the_rest_loads(tmp_path):
    f = tmp_path / "mie.csv"
    f.write_text(MIE_HEADER
                 + "1,1,999,703,7,17,2012,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"
                 + "1,2,704,703,13,17,2012,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"
                 + "1,3,704,703,7,17,2012,7,17,2012,1,17,4,1,1,1,1,mie-1.0\n"
                 + "1,4,704,703,7,17,2012,7,17,2012,1,99,4,0,0,0,0,mie-1.0\n")
    loaded = load([f], "mie")
    assert [r.event_id for r in loaded.records] == ["mie-1-3"]
    assert [(e.path, e.line, e.field) for e in loaded.errors] == [
        (str(f), 2, "ccode1"), (str(f), 3, "stmon"), (str(f), 5, "action")]
    assert str(loaded.errors[0]).startswith(f"{f}:2: ccode1: unknown Correlates-of-War state code 999")


def test_sipri_spreads_deliveries_over_years_and_keeps_totals():
    rows = list(csv.reader(io.StringIO(SIPRI.read_bytes().decode("cp1252"))))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Recipient")
    deals = [r for r in rows[header_at + 1:] if r]
    with_deliveries = [r for r in deals if r[10].strip()]
    loaded = load([SIPRI], "sipri")
    assert not loaded.errors
    assert loaded.skipped == len(deals) - len(with_deliveries)
    assert len(loaded.records) == sum(len(delivery_years(r[10])) for r in with_deliveries)
    assert {r.recipient for r in loaded.records} == {"AFG", "KAZ", "KGZ", "TJK", "TKM", "UZB"}
    ids = [r.transfer_id for r in loaded.records]
    assert len(ids) == len(set(ids)) and ids == [r.transfer_id for r in load([SIPRI], "sipri").records]
    by_deal = Counter()
    tiv = Counter()
    for r in loaded.records:
        by_deal[r.transfer_id.rsplit("-", 1)[0]] += r.quantity
        tiv[r.transfer_id.rsplit("-", 1)[0]] += r.tiv
    assert sum(by_deal.values()) == sum(int(r[8] or 0) for r in with_deliveries)
    assert sum(tiv.values()) == pytest.approx(sum(float(r[15] or 0) for r in with_deliveries))


def test_sipri_year_lists_and_bad_numbers(tmp_path):
    assert delivery_years("1993; 1995-1996") == [1993, 1995, 1996]
    assert delivery_years("2001-2003?") == [2001, 2002, 2003]
    text = SIPRI.read_bytes().decode("cp1252").splitlines()
    header_at = next(i for i, line in enumerate(text) if line.startswith("Recipient,"))
    bad = text[header_at + 1].rsplit(",", 1)[0] + ",abc"
    f = tmp_path / "sipri.csv"
    f.write_bytes("\n".join(text[: header_at + 2] + [bad]).encode("cp1252"))
    loaded = load([f], "sipri")
    assert len(loaded.records) >= 1
    [err] = loaded.errors
    assert (err.line, err.field) == (header_at + 3, "SIPRI TIV of delivered weapons")


def test_jsonl_round_trip_and_errors(tmp_path):
    records = load([MIE], "mie").records[:50]
    f = tmp_path / "x.jsonl"
    f.write_bytes(b"\n".join(encode(r) for r in records) + b"\n\n{broken\n"
                  + encode(records[0]).replace(b'"severity":', b'"severity":9,"x":') + b"\n")
    loaded = load([f], "jsonl")
    assert loaded.records == sorted(records, key=lambda r: (r.occurred_at, r.event_id))
    assert [(e.line, e.field) for e in loaded.errors] == [(52, None), (53, "x")]


def test_unknown_format_and_missing_file():
    with pytest.raises(ValueError, match="mie, sipri, jsonl"):
        iter_source(MIE, "csv")
    with pytest.raises(SourceRowError, match="cannot read"):
        iter_source(MIE.with_name("nope.csv"), "mie")
