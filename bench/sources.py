"""Source adapters' parse speed: rows/s into records, against a plain CSV read of the same file.

Each format gets a generated file of ``rows`` rows as its source writes them: mostly Kyrgyz-Tajik
border clashes at a few hundred distinct places along the line (sources repeat their places, and
placement is memoised per place), some of one state's own conflict near the line, some far from
any border; GDELT's file is four-fifths rows that are no material conflict, as GDELT's are. The
baseline is ``csv.reader`` over the same file (tab-separated for GDELT), measured in the same run.

Each format's places are its own (no format finds another's placements memoised), and a small
file of the format with other places is read first: the rate is the parse rate, without the
tables a process loads once (the world's border lines, GeoNames' countries). That once-per-process
load is ``first_read_s``: the first small read, the tables with it.
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from streams.adapters import acled, gdelt, iter_source, ucdp_ged

#: Far from every border (Naryn); how many distinct places along the line.
FAR = (41.43, 75.99)
PLACES = 400


def _places(rng: random.Random) -> list[tuple[str, str]]:
    """Points within a few km of the Kyrgyz-Tajik line: its segments' middle vertices, jittered."""
    from streams.segments import SegmentRegistry

    line = [s.coords[len(s.coords) // 2][::-1] for s in SegmentRegistry.default().segments() if s.border == "KGZ-TJK"]
    out = []
    for i in range(PLACES):
        lat, lon = line[i % len(line)]
        out.append((f"{lat + rng.uniform(-0.02, 0.02):.5f}", f"{lon + rng.uniform(-0.02, 0.02):.5f}"))
    return out


def _day(i: int) -> date:
    return date(2021, 1, 1) + timedelta(days=i % 1500)


def acled_rows(n: int, rng: random.Random) -> tuple[list[str], list[list[str]]]:
    places, rows = _places(rng), []
    for i in range(n):
        kind = i % 10
        lat, lon = FAR if kind == 9 else places[i % PLACES]
        cells = dict(event_id_cnty=f"KGZ{i}", event_date=_day(i).isoformat(), year="2021", time_precision="1",
                     disorder_type="Political violence", event_type="Battles", sub_event_type="Armed clash",
                     actor1="Military Forces of Kyrgyzstan (2005-)", inter1="1",
                     actor2="Military Forces of Tajikistan (1994-)" if kind < 7 else "Rebels (Kyrgyzstan)",
                     inter2="8" if kind < 7 else "2", iso="417", country="Kyrgyzstan", admin1="Batken",
                     location="Dostuk", latitude=lat, longitude=lon, geo_precision="1", source="AKIpress",
                     notes="Border guards exchanged fire.", fatalities=str(i % 3), timestamp="1663600000")
        rows.append([cells.get(c, "") for c in acled.COLUMNS])
    return list(acled.COLUMNS), rows


def ged_rows(n: int, rng: random.Random) -> tuple[list[str], list[list[str]]]:
    header = [*ucdp_ged.REQUIRED, *ucdp_ged.COUNTRY_COLUMNS, *ucdp_ged.OPTIONAL]
    places, rows = _places(rng), []
    for i in range(n):
        kind = i % 10
        lat, lon = FAR if kind == 9 else places[i % PLACES]
        interstate = kind < 7
        cells = {ucdp_ged.ID: str(900000 + i), ucdp_ged.VIOLENCE: "1", ucdp_ged.SIDE_A: "Government of Kyrgyzstan",
                 ucdp_ged.SIDE_B: "Government of Tajikistan" if interstate else "IMU",
                 ucdp_ged.WHERE_PREC: "1", ucdp_ged.LATITUDE: lat, ucdp_ged.LONGITUDE: lon, ucdp_ged.DATE_PREC: "1",
                 ucdp_ged.DATE_START: _day(i).isoformat(), ucdp_ged.DATE_END: _day(i).isoformat(),
                 ucdp_ged.BEST: str(1 + i % 3), ucdp_ged.COUNTRY_ID: "703", ucdp_ged.COUNTRY: "Kyrgyzstan",
                 ucdp_ged.LOW: "1", ucdp_ged.HIGH: "4", ucdp_ged.GWNO_A: "703", ucdp_ged.GWNO_B: "702" if interstate else "",
                 ucdp_ged.PLACE: "Dostuk village", ucdp_ged.STATUS: "Clear"}
        rows.append([cells.get(c, "") for c in header])
    return header, rows


def gdelt_rows(n: int, rng: random.Random) -> tuple[None, list[list[str]]]:
    places, rows = _places(rng), []
    for i in range(n):
        conflict = i % 5 == 0
        lat, lon = places[i % PLACES]
        root = ("19" if i % 2 else "18") if conflict else "04"
        cells = {"GLOBALEVENTID": str(1000000 + i), "SQLDATE": _day(i).strftime("%Y%m%d"), "Actor1Code": "KGZMIL",
                 "Actor1Name": "KYRGYZSTAN", "Actor1CountryCode": "KGZ", "Actor1Type1Code": "MIL",
                 "Actor2Code": "TJKMIL", "Actor2Name": "TAJIKISTAN", "Actor2CountryCode": "TJK",
                 "Actor2Type1Code": "MIL", "IsRootEvent": "1", "EventCode": root + "3", "EventBaseCode": root + "3",
                 "EventRootCode": root, "QuadClass": "4", "NumMentions": "12", "NumSources": "4",
                 "ActionGeo_Type": "4", "ActionGeo_FullName": "Kok-Tash, Batken, Kyrgyzstan",
                 "ActionGeo_CountryCode": "KG", "ActionGeo_Lat": lat, "ActionGeo_Long": lon,
                 "DATEADDED": _day(i).strftime("%Y%m%d") + "061500", "SOURCEURL": "https://news.example/x"}
        rows.append([cells.get(c, "") for c in gdelt.COLUMNS])
    return None, rows


FORMATS: dict[str, tuple[Callable, str]] = {"acled": (acled_rows, ","), "ucdp-ged": (ged_rows, ","),
                                            "gdelt": (gdelt_rows, "\t")}


#: Rows of the small file read before each timed one.
WARM_UP_ROWS = 1000


def source_rates(rows: int = 50_000, seed: int = 5) -> dict[str, dict[str, float] | float]:
    """format -> {rows_per_s, csv_read_rows_per_s, over_csv_read, records, out_of_scope}, and
    ``first_read_s``: the first small read of the process, loading the tables placement needs."""
    out: dict[str, dict[str, float] | float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, (fmt, (make, delimiter)) in enumerate(FORMATS.items()):
            warm_up = _write(Path(tmp) / f"warm-up-{fmt}", delimiter, *make(WARM_UP_ROWS, random.Random(-1 - n)))
            path = _write(Path(tmp) / fmt, delimiter, *make(rows, random.Random(seed + n)))
            t0 = time.perf_counter()
            sum(1 for _ in iter_source(warm_up, fmt))
            out.setdefault("first_read_s", round(time.perf_counter() - t0, 3))
            t0 = time.perf_counter()
            with open(path, newline="", encoding="utf-8") as fh:
                plain = sum(1 for _ in csv.reader(fh, delimiter=delimiter))
            plain_rate = plain / (time.perf_counter() - t0)
            counts: Counter = Counter()
            t0 = time.perf_counter()
            records = sum(1 for _ in iter_source(path, fmt, counts=counts))
            rate = rows / (time.perf_counter() - t0)
            out[fmt] = {"rows_per_s": round(rate), "csv_read_rows_per_s": round(plain_rate),
                        "over_csv_read": round(rate / plain_rate, 4), "records": records,
                        "out_of_scope": sum(v for k, v in counts.items() if k.startswith("out_of_scope:"))}
    return out


def _write(stem: Path, delimiter: str, header: list[str] | None, body: list[list[str]]) -> Path:
    path = stem.with_suffix(".tsv" if delimiter == "\t" else ".csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(body)
    return path


if __name__ == "__main__":
    import json

    print(json.dumps(source_rates(), indent=2))
