"""Militarized Interstate Events 1.0 (Gibler, Miller & Little) CSV -> incidents.

Columns: ``micnum,eventnum,ccode1,ccode2,stmon,stday,styear,endmon,endday,endyear,
sidea1,action,hostlev,fatalmin1,fatalmax1,fatalmin2,fatalmax2,version``. One row
is one militarized event between two states, ``ccode1`` acting on ``ccode2``
(Correlates-of-War codes, mapped to ISO3 by :mod:`streams.adapters.cow`).

How a row becomes an :class:`~streams.records.IncidentEvent`:

* ``event_id`` = ``mie-{micnum}-{eventnum}``; ``source`` = ``MIE 1.0``.
* ``occurred_at`` = the start date at 00:00Z. MIE writes ``-9`` for an unknown
  day or month. An unknown day becomes the 1st of the month and an unknown
  month 1 January: the convention of the field's own tools (the reference
  evaluation's MIE reader) and of the labelled episodes built from MIE
  (``escalations-mie-dev-borders.csv`` dates an onset with no day on the 1st).
  With one convention the incident that opens an episode falls on the
  episode's onset day; dated on the 15th, as this adapter once did, an alert
  on that very incident came 14 days "late". The description says when the
  date is approximate.
* ``ended_at`` = the MIE end date, completed the same way, when it is later
  than the start day; otherwise absent (the incident lasted its start day).
* ``reported_at`` = ``occurred_at``: MIE has no report date.
* ``category`` from the action code (:data:`ACTIONS`). ``severity`` = the
  hostility level (1 none, 2 threat, 3 display, 4 use of force, 5 war),
  clamped to 1..5. If the level is ``-9``, the codebook's level for the action
  is used.
* ``fatalities`` = the sum of both sides' lower bounds ``fatalmin1 +
  fatalmin2``; ``-9`` (unknown) counts as 0. The per-side ranges go in the
  description, e.g. ``MIE action 17 (clash), hostility 4; deaths KGZ 1-1, UZB 1-1``.
  MIE does not code injuries, so ``injuries`` = 0.
* ``countries`` = (ccode1, ccode2) as ISO3. ``actors`` = the initiator side:
  ``sidea1`` 1 means ccode1 is on side A, the side that took the first
  militarized action; 0 means ccode2 is; -9 leaves actors empty.
* MIE has no coordinates or place names. ``latitude``, ``longitude`` and
  ``location_name`` are None, and the pipeline puts the incident on the
  pair-level segment. ``classification`` is public and ``releasable_to`` is ALL.

A row is an error when any of the following holds, and the rest of the file
still loads:

* an unknown state code (field ``ccode1``/``ccode2``);
* the same state on both sides;
* an impossible date (``stmon``, ``stday`` or ``styear``);
* an action code outside the table;
* a number that is not a whole number, or a negative count other than -9.

An empty cell in a column where MIE writes -9 for "unknown" (the dates' month and day, the end
date, ``sidea1``, ``hostlev``, the death counts) reads as -9; empty elsewhere is an error. Empty
cells after the header's last column (a trailing comma) are dropped; a row with fewer cells than
the header is an error.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from alerts import timefmt
from streams.adapters.cells import header_cells, whole_number
from streams.adapters.cow import COW_TO_ISO3
from streams.errors import InvalidEvent, SourceRowError
from streams.records import (
    ArmsTransferEvent,
    IncidentEvent,
    incident_from_dict,
)

SOURCE = "MIE 1.0"
COLUMNS = ("micnum", "eventnum", "ccode1", "ccode2", "stmon", "stday", "styear", "endmon", "endday", "endyear",
           "sidea1", "action", "hostlev", "fatalmin1", "fatalmax1", "fatalmin2", "fatalmax2")
UNKNOWN = -9

#: MIE/MID action code -> (incident category, codebook name, codebook hostility level).
#: Codes 0-21 are the MID incident actions (Jones, Bremer & Singer 1996; MID 3-5
#: codebooks), which MIE reuses. MIE 1.0 also uses 22, a "war battle": one battle
#: of an interstate war, always at hostility 5. It appears in 11 bundled rows
#: (the 2001 war in Afghanistan). MIE does not use MID's 20/21 ("begin/join
#: interstate war"); they are mapped anyway in case a file uses the MID coding.
#: Threats, shows of force, alerts and mobilizations are "threat"; blockade has no
#: category of its own and is "other"; seizure of people or vessels is "detention".
ACTIONS: dict[int, tuple[str, str, int]] = {
    0: ("other", "no militarized action", 1),
    1: ("threat", "threat to use force", 2),
    2: ("threat", "threat to blockade", 2),
    3: ("threat", "threat to occupy territory", 2),
    4: ("threat", "threat to declare war", 2),
    5: ("threat", "threat to use CBR weapons", 2),
    6: ("threat", "threat to join war", 2),
    7: ("threat", "show of force", 3),
    8: ("threat", "alert", 3),
    9: ("threat", "nuclear alert", 3),
    10: ("threat", "mobilization", 3),
    11: ("fortification", "fortify border", 3),
    12: ("incursion", "border violation", 3),
    13: ("other", "blockade", 4),
    14: ("incursion", "occupation of territory", 4),
    15: ("detention", "seizure", 4),
    16: ("armed_clash", "attack", 4),
    17: ("armed_clash", "clash", 4),
    18: ("armed_clash", "declaration of war", 4),
    19: ("armed_clash", "use of CBR weapons", 4),
    20: ("armed_clash", "begin interstate war", 5),
    21: ("armed_clash", "join interstate war", 5),
    22: ("armed_clash", "war battle", 5),
}


#: The columns where MIE codes "unknown" as -9: an empty cell there (a re-export that wrote a
#: missing value as nothing) means the same, so the row is read rather than lost.
MAY_BE_UNKNOWN = frozenset({"stmon", "stday", "endmon", "endday", "endyear", "sidea1", "hostlev",
                            "fatalmin1", "fatalmax1", "fatalmin2", "fatalmax2"})


def _int(row: dict[str, str], name: str) -> int:
    text = (row.get(name) or "").strip()
    if not text and name in MAY_BE_UNKNOWN:
        return UNKNOWN
    return whole_number(text, name)


#: MIE 1.0 codes events through the end of 2014: the day its coverage ends, whatever its last event.
COVERAGE_END = date(2014, 12, 31)


def _complete(year: int, month: int, day: int) -> tuple[int, int, int, str]:
    """A MIE date with its unknown parts (-9) completed, and a note saying so."""
    if month == UNKNOWN:
        return year, 1, 1, "month unknown, dated 1 January"
    if day == UNKNOWN:
        return year, month, 1, "day unknown, dated the 1st of the month"
    return year, month, day, ""


def _start(year: int, month: int, day: int) -> tuple[datetime, str]:
    """The start time, and a note when the date had to be completed."""
    year, month, day, note = _complete(year, month, day)
    if not 1 <= year <= 9999:
        raise InvalidEvent(f"not a year: {year}", "styear")
    if not 1 <= month <= 12:
        raise InvalidEvent(f"not a month: {month}", "stmon")
    try:
        return datetime(year, month, day, tzinfo=UTC), note
    except ValueError:
        raise InvalidEvent(f"not a day of {year}-{month:02d}: {day}", "stday") from None


def _end(row: dict[str, str]) -> tuple[date, str] | None:
    """The end day and how MIE gave it (``2001-12`` when the day is unknown), or None if absent or unusable.

    An unusable end date is not an error: the start is what the pipeline runs on.
    """
    try:
        y, m, d = _int(row, "endyear"), _int(row, "endmon"), _int(row, "endday")
        given = f"{y:04d}" if m == UNKNOWN else f"{y:04d}-{m:02d}" if d == UNKNOWN else f"{y:04d}-{m:02d}-{d:02d}"
        return date(*_complete(y, m, d)[:3]), given
    except (InvalidEvent, ValueError):  # also an unknown year (-9): no end
        return None


def _deaths(row: dict[str, str], side: int) -> tuple[int, str]:
    lo, hi = _int(row, f"fatalmin{side}"), _int(row, f"fatalmax{side}")
    for name, v in ((f"fatalmin{side}", lo), (f"fatalmax{side}", hi)):
        if v < 0 and v != UNKNOWN:
            raise InvalidEvent(f"a death count cannot be {v} (-9 means unknown)", name)
    if lo == UNKNOWN and hi == UNKNOWN:
        text = "unknown"
    else:
        text = f"{'?' if lo == UNKNOWN else lo}-{'?' if hi == UNKNOWN else hi}"
    return max(lo, 0), text


def to_dict(row: dict[str, str]) -> dict:
    """One MIE row (column -> text) as an IncidentEvent JSON object; raises InvalidEvent naming the column."""
    iso: list[str] = []
    for col in ("ccode1", "ccode2"):
        code = _int(row, col)
        if code not in COW_TO_ISO3:
            raise InvalidEvent(f"unknown Correlates-of-War state code {code}", col)
        iso.append(COW_TO_ISO3[code])
    if iso[0] == iso[1]:
        raise InvalidEvent(f"both sides are the same state ({iso[0]})", "ccode2")
    when, date_note = _start(_int(row, "styear"), _int(row, "stmon"), _int(row, "stday"))
    action = _int(row, "action")
    if action not in ACTIONS:
        raise InvalidEvent(f"unknown MIE action code {action} (known: 0-22)", "action")
    category, action_name, action_level = ACTIONS[action]
    hostlev = _int(row, "hostlev")
    severity = action_level if hostlev == UNKNOWN else min(5, max(1, hostlev))
    sidea1 = _int(row, "sidea1")
    if sidea1 not in (0, 1, UNKNOWN):
        raise InvalidEvent(f"expected 1, 0 or -9, got {sidea1}", "sidea1")
    actors = [] if sidea1 == UNKNOWN else [iso[0] if sidea1 == 1 else iso[1]]
    dead1, range1 = _deaths(row, 1)
    dead2, range2 = _deaths(row, 2)
    description = (f"MIE action {action} ({action_name}), hostility {'unknown' if hostlev == UNKNOWN else hostlev}; "
                   f"deaths {iso[0]} {range1}, {iso[1]} {range2}")
    end = _end(row)
    ended_at = None
    if end is not None and end[0] > when.date():
        ended_at = timefmt.iso(datetime(end[0].year, end[0].month, end[0].day, tzinfo=UTC))
        description += f"; until {end[1]}"
    if date_note:
        description += f"; {date_note}"
    at = timefmt.iso(when)
    return {
        "event_id": f"mie-{_int(row, 'micnum')}-{_int(row, 'eventnum')}",
        "occurred_at": at,
        "reported_at": at,
        "ended_at": ended_at,
        "source": SOURCE,
        "category": category,
        "severity": severity,
        "fatalities": dead1 + dead2,
        "injuries": 0,
        "countries": iso,
        "latitude": None,
        "longitude": None,
        "location_name": None,
        "actors": actors,
        "description": description,
        "classification": "public",
        "releasable_to": ["ALL"],
    }


def looks_like(head: str) -> bool:
    """Whether a file's first characters are a MIE 1.0 CSV: a header line with every MIE column."""
    return set(COLUMNS) <= header_cells(head)


def read(path: Path, counts: Counter | None = None
         ) -> Iterator[tuple[int, IncidentEvent | ArmsTransferEvent | SourceRowError]]:
    """(line, incident or error) for each data row of a MIE CSV file, in file order.

    MIE cells are numbers, so every physical line is one record: a stray quote cannot join lines.
    ``counts["rows"]`` is increased for every data row, if ``counts`` is given.
    """
    counts = Counter() if counts is None else counts
    where = str(path)
    # MIE is ASCII; a stray byte becomes U+FFFD and fails the number check of its column.
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    header: list[str] | None = None
    for line, physical in enumerate(io.StringIO(text, newline=""), 1):
        if not physical.strip():
            continue
        try:
            cells = next(csv.reader([physical]), [])
        except csv.Error as exc:
            cells = [f"<{exc}>"]
        if header is None:
            header = [c.strip() for c in cells]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                yield line, SourceRowError(where, line, missing[0],
                                           f"missing column(s) {', '.join(missing)}: not a MIE 1.0 file")
                return
            continue
        counts["rows"] += 1
        while len(cells) > len(header) and not cells[-1].strip():
            cells.pop()  # a trailing comma (spreadsheets write them) adds an empty cell, not a column
        if len(cells) != len(header):
            yield line, SourceRowError(where, line, None, f"expected {len(header)} columns, got {len(cells)}")
            continue
        try:
            yield line, incident_from_dict(to_dict(dict(zip(header, cells))))
        except InvalidEvent as exc:
            yield line, SourceRowError(where, line, exc.field, exc.reason)
