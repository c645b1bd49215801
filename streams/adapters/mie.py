"""Militarized Interstate Events 1.0 (Gibler, Miller & Little) CSV -> incidents.

One row is one militarized event between two states (Correlates-of-War codes). MIE
has no coordinates, so every incident goes to the pair-level segment. Choices:

* ``-9`` (unknown) day -> the 15th, unknown month -> 1 July: the middle of the
  period minimises the expected error and never makes a late event look early;
* fatalities = the sum of both sides' lower bounds (unknown counts 0); the
  ranges go into the description;
* category from the MID/MIE action code (table below); severity = hostility
  level (2 threat .. 5 war), 1 for "no militarized action".
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
from streams.records import format_time, incident_from_dict

#: Correlates-of-War state codes found in the Central Asia extract.
COW_ISO3 = {
    2: "USA", 20: "CAN", 200: "GBR", 210: "NLD", 220: "FRA", 230: "ESP", 235: "PRT", 255: "DEU", 350: "GRC",
    365: "RUS", 630: "IRN", 640: "TUR", 700: "AFG", 701: "TKM", 702: "TJK", 703: "KGZ", 704: "UZB", 705: "KAZ",
    710: "CHN", 750: "IND", 770: "PAK", 900: "AUS",
}
#: MID/MIE action codes -> (category, codebook name).
ACTIONS = {
    0: ("other", "no militarized action"), 1: ("threat", "threat to use force"), 2: ("threat", "threat to blockade"),
    3: ("threat", "threat to occupy territory"), 4: ("threat", "threat to declare war"),
    5: ("threat", "threat to use CBR weapons"), 6: ("threat", "threat to join war"), 7: ("threat", "show of force"),
    8: ("threat", "alert"), 9: ("threat", "nuclear alert"), 10: ("threat", "mobilization"),
    11: ("fortification", "fortify border"), 12: ("incursion", "border violation"), 13: ("other", "blockade"),
    14: ("incursion", "occupation of territory"), 15: ("detention", "seizure"), 16: ("armed_clash", "attack"),
    17: ("armed_clash", "clash"), 18: ("armed_clash", "declaration of war"), 19: ("armed_clash", "use of CBR weapons"),
    20: ("armed_clash", "begin interstate war"), 21: ("armed_clash", "join interstate war"),
    22: ("armed_clash", "interstate war"),
}


def _int(row: dict, name: str) -> int:
    try:
        return int(row[name])
    except (KeyError, TypeError, ValueError):
        raise InvalidEvent(f"expected a whole number, got {row.get(name)!r}", name) from None


def _row_to_dict(row: dict) -> dict:
    iso = []
    for col in ("ccode1", "ccode2"):
        code = _int(row, col)
        if code not in COW_ISO3:
            raise InvalidEvent(f"unknown Correlates-of-War state code {code}", col)
        iso.append(COW_ISO3[code])
    if iso[0] == iso[1]:
        raise InvalidEvent("both sides are the same state", "ccode2")
    year, month, day = _int(row, "styear"), _int(row, "stmon"), _int(row, "stday")
    if month == -9:
        month, day = 7, 1
    elif day == -9:
        day = 15
    try:
        when = datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError as exc:
        field = "stmon" if not 1 <= month <= 12 else "stday" if "day" in str(exc) else "styear"
        raise InvalidEvent(f"not a date: {year}-{month}-{day}", field) from None
    action = _int(row, "action")
    if action not in ACTIONS:
        raise InvalidEvent(f"unknown action code {action}", "action")
    category, action_name = ACTIONS[action]
    hostlev = _int(row, "hostlev")
    fat = {k: _int(row, k) for k in ("fatalmin1", "fatalmax1", "fatalmin2", "fatalmax2")}
    deaths = max(fat["fatalmin1"], 0) + max(fat["fatalmin2"], 0)

    def rng(lo: int, hi: int) -> str:
        return "unknown" if lo < 0 else f"{lo}-{hi}" if hi >= 0 else f"{lo}+"

    at = format_time(when)
    return {
        "event_id": f"mie-{_int(row, 'micnum')}-{_int(row, 'eventnum')}",
        "occurred_at": at, "reported_at": at, "source": "MIE 1.0", "category": category,
        "severity": min(5, max(1, hostlev)), "fatalities": deaths, "injuries": 0, "countries": iso,
        "actors": [iso[0] if row.get("sidea1") == "1" else iso[1]],
        "description": (f"MIE action {action} ({action_name}), hostility {hostlev}; deaths "
                        f"{iso[0]} {rng(fat['fatalmin1'], fat['fatalmax1'])}, {iso[1]} {rng(fat['fatalmin2'], fat['fatalmax2'])}"),
    }


def read(path: Path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            line = reader.line_num
            try:
                yield line, incident_from_dict(_row_to_dict(row))
            except InvalidEvent as exc:
                yield line, SourceRowError(str(path), line, exc.field, exc.reason)
