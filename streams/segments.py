"""Border segments: the bundled Natural Earth borders cut into ~60 km pieces with stable ids.

* Each part of a border line is cut into ``n = max(1, round(km / 60))`` pieces of equal
  length, so pieces run roughly 30-100 km; a short enclave ring (Vorukh, Sokh,
  Shakhimardan, Sarvak) is one piece however short.
* Ids number the pieces along the main line from its first vertex, then through the
  enclave rings in file order: ``KGZ-TJK-01`` ... They only change if the geometry does.
* An incident with coordinates goes to the nearest piece of *its* border pair within
  ``max_distance_km``. The default, 25 km, covers the line's own error (the 1:10m lines
  sit up to ~9 km from OSM-derived borders in the Fergana valley, see SOURCES.md) plus
  village-level geocoding of reports. Further away, or without coordinates, it goes to
  the pair-level segment (``KGZ-TJK``), which exists for every pair of states.

>>> reg = SegmentRegistry.default()
>>> reg.assign(("TJK", "KGZ"), None, None)
'KGZ-TJK'
>>> reg.assign(("KGZ", "TJK"), 40.05229068, 70.63277194).startswith("KGZ-TJK-")
True
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np

from streams.errors import ConfigError

DEFAULT_MAX_DISTANCE_KM = 25.0
TARGET_SEGMENT_KM = 60.0
EARTH_RADIUS_KM = 6371.0088
_PAIR = re.compile(r"^([A-Z]{3})-([A-Z]{3})$")
_ENCLAVES = {
    ("KGZ-TJK", 2): "Vorukh enclave",
    ("KGZ-UZB", 2): "Sokh enclave",
    ("KGZ-UZB", 3): "Shakhimardan enclave",
    ("TJK-UZB", 2): "Sarvak enclave",
}


@dataclass(frozen=True, slots=True)
class Segment:
    segment_id: str
    border: str
    countries: tuple[str, str]
    name: str
    length_km: float
    coords: tuple[tuple[float, float], ...]  # (lon, lat)
    pair_level: bool


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _line_km(coords) -> list[float]:
    """Cumulative distance along a line, from 0."""
    out = [0.0]
    for (x1, y1), (x2, y2) in zip(coords, coords[1:]):
        out.append(out[-1] + haversine_km(x1, y1, x2, y2))
    return out


def _cut(coords: list[tuple[float, float]], n: int) -> list[list[tuple[float, float]]]:
    """Split a line into ``n`` pieces of equal length, interpolating the cut points."""
    cum = _line_km(coords)
    total = cum[-1]
    cuts = [total * i / n for i in range(1, n)]
    pieces, current, j = [], [coords[0]], 1
    for cut in cuts:
        while j < len(coords) and cum[j] < cut:
            current.append(coords[j])
            j += 1
        seg_len = cum[j] - cum[j - 1]
        t = (cut - cum[j - 1]) / seg_len if seg_len else 0.0
        (x1, y1), (x2, y2) = coords[j - 1], coords[j]
        point = (round(x1 + t * (x2 - x1), 6), round(y1 + t * (y2 - y1), 6))
        current.append(point)
        pieces.append(current)
        current = [point]
    current.extend(coords[j:])
    pieces.append(current)
    return pieces


def pair_id(a: str, b: str) -> str:
    x, y = sorted((a, b))
    return f"{x}-{y}"


class SegmentRegistry:
    def __init__(self, segments: Iterable[Segment], max_distance_km: float = DEFAULT_MAX_DISTANCE_KM) -> None:
        if max_distance_km <= 0:
            raise ConfigError("max_distance_km must be positive")
        self.max_distance_km = max_distance_km
        self._segments = sorted((s for s in segments if not s.pair_level), key=lambda s: s.segment_id)
        self._by_id = {s.segment_id: s for s in self._segments}
        if len(self._by_id) != len(self._segments):
            raise ConfigError("segment ids must be unique")
        self._by_border: dict[str, list[Segment]] = {}
        for s in self._segments:
            self._by_border.setdefault(s.border, []).append(s)
        # Per border: every vertex pair of every segment as arrays, for one vectorised distance.
        self._edges: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for border, segs in self._by_border.items():
            a, b, owner = [], [], []
            for k, s in enumerate(segs):
                for p, q in zip(s.coords, s.coords[1:]):
                    a.append(p)
                    b.append(q)
                    owner.append(k)
            self._edges[border] = (np.array(a, float), np.array(b, float), np.array(owner))

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_geojson(cls, path: str | Path | None = None, *, max_distance_km: float = DEFAULT_MAX_DISTANCE_KM,
                     target_km: float = TARGET_SEGMENT_KM) -> "SegmentRegistry":
        """The bundled borders (``path=None``), another borders file, or a user segment file.

        A user segment file is a FeatureCollection whose features carry ``segment_id``,
        ``a`` and ``b`` (and optionally ``name``); its segments are used as given.
        """
        where = str(path) if path else "bundled central-asia-borders.geojson"
        try:
            if path is None:
                text = resources.files("streams").joinpath("data/central-asia-borders.geojson").read_text()
            else:
                text = Path(path).read_text(encoding="utf-8")
            doc = json.loads(text)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the segment file: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"{where}: not JSON: {exc}") from None
        feats = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(feats, list) or not feats:
            raise ConfigError(f"{where}: expected a GeoJSON FeatureCollection with features")
        segments: list[Segment] = []
        for i, feat in enumerate(feats):
            props = (feat or {}).get("properties") or {}
            for key in ("a", "b"):
                if not isinstance(props.get(key), str) or not re.match(r"^[A-Z]{3}$", props[key]):
                    raise ConfigError(f"{where}: feature {i}: property {key!r} must be an ISO3 code")
            border = pair_id(props["a"], props["b"])
            parts = _parts(feat.get("geometry"), where, i)
            pair_name = props.get("name") or border
            if "segment_id" in props:
                sid = props["segment_id"]
                if not isinstance(sid, str) or not sid.startswith(border + "-"):
                    raise ConfigError(f"{where}: feature {i}: segment_id must start with {border}-")
                coords = [pt for part in parts for pt in part]
                segments.append(Segment(sid, border, tuple(border.split("-")), props.get("name") or sid,
                                        round(sum(_line_km(p)[-1] for p in parts), 3), tuple(coords), False))
                continue
            segments.extend(_cut_border(border, pair_name, parts, target_km))
        return cls(segments, max_distance_km)

    @classmethod
    @functools.lru_cache(maxsize=1)
    def default(cls) -> "SegmentRegistry":
        return cls.from_geojson()

    # ------------------------------------------------------------------ queries
    def segments(self) -> list[Segment]:
        return list(self._segments)

    def borders(self) -> list[str]:
        return sorted(self._by_border)

    def pairs_with(self, iso3: str) -> list[str]:
        return [b for b in self.borders() if iso3 in b.split("-")]

    def get(self, segment_id: str) -> Segment:
        seg = self._by_id.get(segment_id)
        if seg is not None:
            return seg
        m = _PAIR.match(segment_id)
        if m and m.group(1) < m.group(2):
            return self.pair_segment(m.group(1), m.group(2))
        raise KeyError(segment_id)

    def pair_segment(self, a: str, b: str) -> Segment:
        border = pair_id(a, b)
        x, y = border.split("-")
        return Segment(border, border, (x, y), f"{border} (whole border)", 0.0, (), True)

    def assign(self, countries: tuple[str, str], latitude: float | None, longitude: float | None,
               segment_id: str | None = None) -> str:
        border = pair_id(*countries)
        if segment_id:
            seg = self._by_id.get(segment_id)
            if seg is not None and seg.border == border:
                return segment_id
        if latitude is None or longitude is None or border not in self._edges:
            return border
        dist, owner = self._nearest(border, latitude, longitude)
        if dist > self.max_distance_km:
            return border
        return self._by_border[border][owner].segment_id

    def distance_km(self, segment_id: str, latitude: float, longitude: float) -> float:
        seg = self.get(segment_id)
        if seg.pair_level:
            raise KeyError(f"{segment_id} is pair-level and has no geometry")
        a = np.array(seg.coords[:-1], float)
        b = np.array(seg.coords[1:], float)
        return float(_point_to_edges_km(a, b, latitude, longitude).min())

    def _nearest(self, border: str, lat: float, lon: float) -> tuple[float, int]:
        a, b, owner = self._edges[border]
        d = _point_to_edges_km(a, b, lat, lon)
        k = int(d.argmin())
        return float(d[k]), int(owner[k])


def _point_to_edges_km(a: np.ndarray, b: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Distance from a point to each edge a[i]-b[i], in a local equirectangular projection
    around the point (well under 1 % error at the distances that matter here)."""
    kx = math.cos(math.radians(lat)) * math.pi / 180 * EARTH_RADIUS_KM
    ky = math.pi / 180 * EARTH_RADIUS_KM
    ax, ay = (a[:, 0] - lon) * kx, (a[:, 1] - lat) * ky
    bx, by = (b[:, 0] - lon) * kx, (b[:, 1] - lat) * ky
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    t = np.where(len2 > 0, np.clip(-(ax * dx + ay * dy) / np.where(len2 > 0, len2, 1), 0, 1), 0)
    px, py = ax + t * dx, ay + t * dy
    return np.hypot(px, py)


def _parts(geometry, where: str, i: int) -> list[list[tuple[float, float]]]:
    if not isinstance(geometry, dict):
        raise ConfigError(f"{where}: feature {i}: missing geometry")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "LineString":
            parts = [coords]
        elif kind == "MultiLineString":
            parts = list(coords)
        else:
            raise ConfigError(f"{where}: feature {i}: geometry must be a LineString or MultiLineString, not {kind}")
        out = [[(float(x), float(y)) for x, y, *_ in part] for part in parts]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: feature {i}: coordinates must be [lon, lat] pairs") from None
    if any(len(p) < 2 for p in out):
        raise ConfigError(f"{where}: feature {i}: every line needs at least two points")
    return out


def _cut_border(border: str, pair_name: str, parts, target_km: float) -> list[Segment]:
    pieces: list[tuple[str, list[tuple[float, float]]]] = []
    for part_no, part in enumerate(parts, 1):
        km = _line_km(part)[-1]
        n = max(1, round(km / target_km))
        cut = _cut(part, n)
        if part_no == 1:
            step = km / n
            for k, piece in enumerate(cut):
                pieces.append((f"{pair_name} km {k * step:.0f}–{(k + 1) * step:.0f}", piece))
        else:
            label = _ENCLAVES.get((border, part_no), f"part {part_no}")
            for k, piece in enumerate(cut):
                pieces.append((f"{pair_name}: {label}" + (f" {k + 1}/{n}" if n > 1 else ""), piece))
    width = max(2, len(str(len(pieces))))
    countries = tuple(border.split("-"))
    return [Segment(f"{border}-{i:0{width}d}", border, countries, name, round(_line_km(coords)[-1], 3),
                    tuple(coords), False)
            for i, (name, coords) in enumerate(pieces, 1)]


def render_table(registry: SegmentRegistry) -> str:
    rows = [(s.segment_id, s.border, f"{s.length_km:.1f}", s.name) for s in registry.segments()]
    head = ("id", "border", "length_km", "name")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(3)]
    lines = [f"{head[0]:<{widths[0]}}  {head[1]:<{widths[1]}}  {head[2]:>{widths[2]}}  {head[3]}"]
    lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)
