"""UCDP Georeferenced Event Dataset (GED) and GED Candidate CSV -> incidents.

One row is one event of organized violence with at least one death, in one country at one
point: ``type_of_violence`` 1 state-based conflict, 2 non-state conflict, 3 one-sided violence
(UCDP GED codebook; Sundberg & Melander 2013). Columns are read by header name, since their order
differs across versions; unknown columns are ignored. Required: ``id, type_of_violence, side_a,
side_b, where_prec, latitude, longitude, country_id`` (or ``country``), ``date_prec, date_start,
date_end, best``. A header without them is one error at the header line naming all that are
missing, and nothing else is read.

Where the event belongs (:func:`streams.adapters.place.place`, the rules shared with ACLED):

* the country: ``country_id``, a Gleditsch-Ward code (:mod:`.gw`), else the name in ``country``;
* the point: ``latitude``/``longitude``; it is *coarse* when ``where_prec`` >= 4 (an admin-1
  unit, a linear feature or larger, a country, international waters), so such an event never
  lands on a segment by accident;
* the other states taking part (``foreign``): per side, the GW codes in ``gwnoa``/``gwnob``
  (several, comma-separated, for a coalition) when the cell is filled, else the states named
  ``Government of X`` in ``side_a``/``side_b``. The codes are UCDP's own identification of the
  state; the names are the fallback for files or rows without them (non-state sides have none).
  The event country's own government is not foreign.

So a state-based conflict between two neighbours (Government of Kyrgyzstan against Government of
Tajikistan) is interstate on their border, and so is any event in which a neighbour's
government is a side: Indian border guards firing into Bangladesh, or a neighbour's forces
killing civilians across the line (type 3 with a foreign government as side A is interstate: to
the border it is one state's force used across it, whoever it hit). A state's own conflict
with rebels, non-state conflict and one-sided violence by non-state groups have no foreign side:
near a border with geometry they are ``internal_conflict`` context, otherwise out of scope.

How a placed row becomes an :class:`~streams.records.IncidentEvent` (through
``incident_from_dict``, the validation of Kafka input):

* ``event_id`` = ``ged-<id>``; ``source`` = ``UCDP GED``, or ``UCDP GED Candidate`` when the
  file name says so (:data:`CANDIDATE_FILE`): both datasets have the same columns, including
  ``code_status``, so only the name tells them apart. A row whose ``code_status`` is not
  ``Clear`` (a candidate event still to be checked) says so in the description.
* ``occurred_at`` = ``date_start`` at 00:00Z (``2022-09-14`` or ``2022-09-14 00:00:00.000``);
  ``ended_at`` = ``date_end`` when later. ``date_prec`` >= 2 (the day is not known exactly): the
  start date is kept and the description says the date is approximate.
* ``reported_at`` = ``occurred_at``: GED has no report time of its own. ``source_date`` lists
  the dates of the articles behind the event, often several, written when UCDP coded it, so
  neither a replay's order nor the lead time of an alert should hang on it.
* Interstate: ``armed_clash``, severity 4 (use of force: GED records only events with deaths),
  5 when ``best`` >= 25 (:data:`WAR_LEVEL_DEATHS`): a single battle as deadly as UCDP's
  threshold for a whole armed conflict-year, war on the MIE hostility scale. Internal context:
  ``internal_conflict`` with the same severity.
* ``fatalities`` = ``best``; ``low`` and ``high`` go in the description; ``injuries`` = 0 (GED
  counts no injuries). ``actors`` = (``side_a``, ``side_b``); ``location_name`` =
  ``where_coordinates`` (else ``adm_1``).
"""

from __future__ import annotations

import csv
import functools
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from alerts.timefmt import iso
from streams.adapters.cells import (Columns, Site, Sites, add_counts, coordinate, fit, header_cells, site_reader,
                                    whole_number)
from streams.adapters.files import open_text
from streams.adapters.gw import GW_TO_ISO3, state_iso3
from streams.adapters.place import OUT_OF_SCOPE, place
from streams.errors import InvalidEvent, SourceRowError, bounded
from streams.limits import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from streams.records import (
    INTERNAL_CATEGORY,
    SEVERITY_MAX,
    ArmsTransferEvent,
    IncidentEvent,
    incident_maker,
    incident_part,
)

SOURCE = "UCDP GED"
CANDIDATE_SOURCE = "UCDP GED Candidate"
#: A GED Candidate file by its name: UCDP's monthly candidate releases are numbered
#: ``<year>.0.<release>`` (``GEDEvent_v25_0_3.csv``), the yearly GED ``<year>.1``.
CANDIDATE_FILE = re.compile(r"candidate|_v\d+_0_\d+", re.IGNORECASE)

ID, VIOLENCE, SIDE_A, SIDE_B, DYAD = "id", "type_of_violence", "side_a", "side_b", "dyad_name"
WHERE_PREC, LATITUDE, LONGITUDE, PLACE, ADM_1 = "where_prec", "latitude", "longitude", "where_coordinates", "adm_1"
COUNTRY_ID, COUNTRY = "country_id", "country"
DATE_PREC, DATE_START, DATE_END = "date_prec", "date_start", "date_end"
BEST, LOW, HIGH, GWNO_A, GWNO_B, STATUS = "best", "low", "high", "gwnoa", "gwnob", "code_status"
#: Required columns; the country may come as either of :data:`COUNTRY_COLUMNS`.
REQUIRED = (ID, VIOLENCE, SIDE_A, SIDE_B, WHERE_PREC, LATITUDE, LONGITUDE, DATE_PREC, DATE_START, DATE_END, BEST)
COUNTRY_COLUMNS = (COUNTRY_ID, COUNTRY)
#: Columns used when present.
OPTIONAL = (DYAD, PLACE, ADM_1, LOW, HIGH, GWNO_A, GWNO_B, STATUS)

VIOLENCE_TYPES = {1: "state-based conflict", 2: "non-state conflict", 3: "one-sided violence"}
#: where_prec: 1 the exact place .. 7 international waters or airspace.
WHERE_PRECISIONS = range(1, 8)
#: where_prec from which the point stands for an area (4 an admin-1 unit, 5 a linear feature or a
#: part of the country, 6 the country, 7 international waters): never placed on a segment.
COARSE_WHERE_PREC = 4
#: date_prec -> what the date is known to within (1: the exact day).
DATE_PRECISIONS = {1: "the day", 2: "2-6 days", 3: "a week", 4: "a month", 5: "more than a month"}
EXACT_DAY = 1
#: UCDP's threshold of battle deaths for a conflict-year to count as an armed conflict: one event
#: that deadly is a battle, severity 5 (war) on the MIE hostility scale.
WAR_LEVEL_DEATHS = 25
USE_OF_FORCE = 4
WAR = SEVERITY_MAX
CLEAR = "Clear"
GOVERNMENT = "Government of "

#: ``2022-09-14``, optionally followed by a time of day (``2022-09-14 00:00:00.000``).
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
#: A coalition side: ``Government of Afghanistan, Government of United States of America``.
_PARTIES = re.compile(r",\s*(?=" + GOVERNMENT + ")")
#: Record field -> GED column, so that errors raised by record validation name the column.
_FIELD_COLUMN = {"event_id": ID, "occurred_at": DATE_START, "ended_at": DATE_END, "fatalities": BEST,
                 "latitude": LATITUDE, "longitude": LONGITUDE, "location_name": PLACE, "actors[0]": SIDE_A,
                 "actors[1]": SIDE_B, "description": DYAD}


def whole(text: str, column: str, *, minimum: int = 0) -> int:
    """A whole number >= ``minimum`` (``12`` or ``12.0``); raises InvalidEvent naming the column."""
    value = whole_number(text, column)
    if value < minimum:
        raise InvalidEvent(f"cannot be {value} (at least {minimum})", column)
    return value


#: Column -> the codes it may hold.
_LEVELS = {VIOLENCE: VIOLENCE_TYPES, WHERE_PREC: WHERE_PRECISIONS, DATE_PREC: DATE_PRECISIONS}


@functools.lru_cache(maxsize=256)
def _level(text: str, column: str) -> int:
    known = _LEVELS[column]
    value = whole(text, column)
    if value not in known:
        raise InvalidEvent(f"unknown code {value} (known: {min(known)}-{max(known)})", column)
    return value


@functools.lru_cache(maxsize=8192)
def _day(text: str, column: str) -> date:
    """A GED date (the day; a time of day after it is ignored); raises InvalidEvent."""
    m = _DATE.match(text.strip())
    try:
        if m:
            return date.fromisoformat(m.group(1))
    except ValueError:
        pass
    raise InvalidEvent(f"not a date (YYYY-MM-DD): {text!r}", column)


@functools.lru_cache(maxsize=4096)
def _country(code: str, name: str) -> str:
    if code.strip():
        gw = whole(code, COUNTRY_ID)
        if gw not in GW_TO_ISO3:
            raise InvalidEvent(f"unknown Gleditsch-Ward state code {gw}", COUNTRY_ID)
        return GW_TO_ISO3[gw]
    iso = state_iso3(name)
    if iso is None:
        raise InvalidEvent(f"unknown state {name!r}", COUNTRY if name.strip() else COUNTRY_ID)
    return iso


@functools.lru_cache(maxsize=4096)
def _side_states(codes: str, side: str, code_column: str, side_column: str) -> tuple[str, ...]:
    """ISO3 of the states on one side: its GW codes when given, else its ``Government of X`` names."""
    if codes.strip():
        found = []
        for part in codes.split(","):
            gw = whole(part, code_column)
            if gw not in GW_TO_ISO3:
                raise InvalidEvent(f"unknown Gleditsch-Ward state code {gw}", code_column)
            found.append(GW_TO_ISO3[gw])
        return tuple(found)
    found = []
    for party in _PARTIES.split(side.strip()):
        if party.startswith(GOVERNMENT):
            iso = state_iso3(party[len(GOVERNMENT):])
            if iso is None:
                raise InvalidEvent(f"unknown state in {bounded(party, MAX_NAME_CHARS)!r}", side_column)
            found.append(iso)
    return tuple(found)


def _cut(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """A name cut to fit a record field: a long coalition is still the same side."""
    return fit(text, limit)


#: The cells that decide where a row belongs and how its description begins and ends (:class:`Site`):
#: GED repeats its places and dyads row after row, so they are read once per distinct combination.
#: The other cells (id, dates, date precision, deaths) are read for every row.
SITE_COLUMNS = (VIOLENCE, WHERE_PREC, LATITUDE, LONGITUDE, COUNTRY_ID, COUNTRY, SIDE_A, SIDE_B, GWNO_A, GWNO_B, DYAD,
                PLACE, ADM_1, STATUS)
#: A row's own columns, read for every row, in the order :func:`_own_fields` takes them.
OWN_COLUMNS = (ID, DATE_PREC, DATE_START, DATE_END, BEST, LOW, HIGH)
#: The record's fields that come from a row's own cells, in the order :func:`_own_fields` gives them.
OWN_FIELDS = ("event_id", "occurred_at", "reported_at", "ended_at", "severity", "fatalities", "injuries",
              "description")


_SITES = Sites()


def to_dict(cells: dict[str, str], source: str, counts: Counter) -> dict | None:
    """One GED row (column -> text) as an IncidentEvent JSON object, or None when out of scope.

    Raises InvalidEvent naming the column: the first bad cell in the order :func:`_site` reads them.
    An out-of-scope row is counted in ``counts``.
    """
    key = tuple(map(cells.get, SITE_COLUMNS))
    sites = _SITES.table("mapping", source)
    site = sites.get(key)
    if site is None:  # every cell is read in order: the first bad one raises
        site = _SITES.of(sites, key, _site, cells, source)
    values = _own_fields(site, *_own_cells(cells))
    if values is None:
        counts[OUT_OF_SCOPE + site.out_of_scope] += 1
        return None
    return {**site.part.data, **dict(zip(OWN_FIELDS, values))}


def _own_cells(cells: dict[str, str]) -> tuple[str, str, str, str, str, str, str]:
    """The row's :data:`OWN_COLUMNS` cells, as a CSV file's :class:`Columns` gives them ("" for a column it lacks)."""
    return cells[ID], cells[DATE_PREC], cells[DATE_START], cells[DATE_END], cells[BEST], cells.get(LOW, ""), \
        cells.get(HIGH, "")


def _own_fields(site: Site | None, event_id: str, prec: str, start: str, end: str, best: str, low: str, high: str
                ) -> tuple | None:
    """The values of the record's :data:`OWN_FIELDS` from the row's own cells (:data:`OWN_COLUMNS`), or
    None when its site is out of scope or not known yet (``site`` None: :func:`_site` has the cells
    checked in their turn); raises InvalidEvent naming the column.

    The cells are read in the order the columns are checked (:func:`_site` checks the others between
    them): at a known site, whose cells are good, only the row's own cells can still be bad.
    """
    event_id = event_id.strip()
    if not event_id:
        raise InvalidEvent("is empty", ID)
    when = _when(prec, start, end)
    best, deaths = _deaths(best, low, high)
    if site is None or site.out_of_scope is not None:
        return None
    return (f"ged-{event_id}", when.at, when.at, when.ended_at, WAR if best >= WAR_LEVEL_DEATHS else USE_OF_FORCE,
            best, 0, _cut(site.head + deaths + when.note + site.tail, MAX_DESCRIPTION_CHARS))


class _When(NamedTuple):
    """A row's dates as its record has them."""

    at: str
    ended_at: str | None
    #: what the description says of them
    note: str


@functools.lru_cache(maxsize=16384)
def _when(prec: str, start_text: str, end_text: str) -> _When:
    """``date_prec``, ``date_start`` and ``date_end`` read; rows repeat them, so once per distinct three."""
    date_prec = _level(prec, DATE_PREC)
    start, end = _day(start_text, DATE_START), _day(end_text, DATE_END)
    if end < start:
        raise InvalidEvent(f"{end} is before {DATE_START} {start}", DATE_END)
    note = ""
    if end > start:
        note += f"; until {end}"
    if date_prec != EXACT_DAY:
        note += f"; date approximate (known to within {DATE_PRECISIONS[date_prec]}, date_prec {date_prec})"
    ended_at = iso(datetime(end.year, end.month, end.day, tzinfo=UTC)) if end > start else None
    return _When(f"{start.isoformat()}T00:00:00Z", ended_at, note)


@functools.lru_cache(maxsize=4096)
def _deaths(best: str, low: str, high: str) -> tuple[int, str]:
    """``best`` read, and ``low`` and ``high`` when given, and what the description says of them: rows
    repeat them, so once per distinct three."""
    value = whole(best, BEST)
    low, high = low.strip(), high.strip()
    if low:
        whole(low, LOW)
    if high:
        whole(high, HIGH)
    return value, f"deaths best {value}" + (f" (low {low or '?'}, high {high or '?'})" if low or high else "")


def _site(cells: dict[str, str], source: str) -> Site:
    """The row's :class:`Site`, every cell checked in column order (the row's own cells too, so
    that the error is the first bad cell's); raises InvalidEvent naming the column."""
    if not cells[ID].strip():
        raise InvalidEvent("is empty", ID)
    violence = _level(cells[VIOLENCE], VIOLENCE)
    where_prec = _level(cells[WHERE_PREC], WHERE_PREC)
    _own_fields(None, *_own_cells(cells))  # date precision, dates and deaths come before the point
    lat, lon = coordinate(cells[LATITUDE], LATITUDE, "latitude"), coordinate(cells[LONGITUDE], LONGITUDE, "longitude")
    if (lat is None) != (lon is None):
        raise InvalidEvent("latitude and longitude go together", LATITUDE if lat is None else LONGITUDE)
    country = _country(cells.get(COUNTRY_ID, ""), cells.get(COUNTRY, ""))
    side_a, side_b = cells[SIDE_A].strip(), cells[SIDE_B].strip()
    foreign = (_side_states(cells.get(GWNO_A, ""), side_a, GWNO_A, SIDE_A)
               + _side_states(cells.get(GWNO_B, ""), side_b, GWNO_B, SIDE_B))
    placement = place(country, lat, lon, coarse=where_prec >= COARSE_WHERE_PREC, foreign=foreign)
    if placement.countries is None:
        return Site(placement.reason)

    dyad = cells.get(DYAD, "").strip() or f"{side_a} - {side_b}"
    tail = ""
    if where_prec >= COARSE_WHERE_PREC:
        tail += f"; location coarse (where_prec {where_prec})"
    status = cells.get(STATUS, "").strip()
    if status and status != CLEAR:
        tail += f"; candidate status: {_cut(status)}"
    location = cells.get(PLACE, "").strip() or cells.get(ADM_1, "").strip() or None
    part = incident_part({
        "source": source,
        "category": "armed_clash" if placement.interstate else INTERNAL_CATEGORY,
        "countries": list(placement.countries),
        "latitude": placement.latitude,
        "longitude": placement.longitude,
        "location_name": None if location is None else _cut(location),
        "actors": [_cut(side_a), _cut(side_b)],
        "classification": "public",
        "releasable_to": ["ALL"],
    })
    return Site(None, part, incident_maker(part, OWN_FIELDS), f"{source} {VIOLENCE_TYPES[violence]}, {_cut(dyad)}; ",
                tail)


def looks_like(head: str) -> bool:
    """Whether a file's first characters are a UCDP GED CSV: a header with GED's required columns."""
    return set(REQUIRED) <= header_cells(head)


def read(path: Path, counts: Counter | None = None
         ) -> Iterator[tuple[int, IncidentEvent | ArmsTransferEvent | SourceRowError]]:
    """(line, incident or error) for each placed row of a GED or GED Candidate CSV, in file order.

    Read as a stream (plain, ``.gz`` or ``.zip``). Lines are the physical lines where a row
    starts: a quoted cell may hold line breaks. ``counts["rows"]`` counts data rows, and
    ``counts["out_of_scope:<reason>"]`` the rows placed on no border.
    """
    counts = Counter() if counts is None else counts
    where = str(path)
    source = CANDIDATE_SOURCE if CANDIDATE_FILE.search(Path(path).name) else SOURCE
    try:
        fh = open_text(path)
    except SourceRowError as exc:  # a broken archive is this file's problem, not the run's
        yield 0, exc
        return
    with fh:
        yield from _csv_rows(csv.reader(fh), where, source, counts)


def _csv_rows(reader: Iterator[list[str]], where: str, source: str, counts: Counter
              ) -> Iterator[tuple[int, IncidentEvent | SourceRowError]]:
    """The CSV file's placed rows and errors; ``counts`` is brought up to date when the rows end.

    A row at a known site is read from its own cells alone (:class:`Columns`).
    """
    index: dict[str, int] | None = None
    width, rows, out_of_scope = 0, 0, Counter()
    try:
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a cell over the csv module's size limit
                yield line, SourceRowError(where, line, None, f"unreadable CSV: {exc}")
                continue
            if not (cells and cells[0].strip()) and not any(c.strip() for c in cells):
                continue
            if index is None:
                index = {}
                for i, name in enumerate(cells):
                    index.setdefault(name.strip().lower(), i)
                missing = [c for c in REQUIRED if c not in index]
                if not any(c in index for c in COUNTRY_COLUMNS):
                    missing.append(f"{COUNTRY_ID} (or {COUNTRY})")
                if missing:
                    yield line, SourceRowError(where, line, missing[0].split()[0],
                                               f"missing column(s) {', '.join(missing)}: not a UCDP GED file")
                    return
                width = len(cells)
                columns = Columns(index, (*REQUIRED, *COUNTRY_COLUMNS, *OPTIONAL), OWN_COLUMNS, SITE_COLUMNS, _SITES,
                                  source)
                row_item = site_reader(columns, _SITES, _site, _own_fields, _FIELD_COLUMN, source)
                continue
            rows += 1
            if len(cells) != width and (len(cells) < width or any(c.strip() for c in cells[width:])):
                spans = f" (a quoted cell may be unclosed: the row runs to line {reader.line_num})" \
                    if reader.line_num > line else ""
                yield line, SourceRowError(where, line, None, f"expected {width} columns, got {len(cells)}{spans}")
                continue
            item = row_item(cells, where, line, out_of_scope)
            if item is not None:
                yield line, item
    finally:
        add_counts(counts, rows, out_of_scope)
