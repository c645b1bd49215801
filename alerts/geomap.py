"""The console's map, offline: which part of the world it shows, and what is drawn there.

Pure functions over (lon, lat) and SVG pixels; :mod:`alerts.web.views` lays them out for the
console's templates, :mod:`alerts.notify.map_excerpt` for a notice.
The countries are Natural Earth's, bundled (``alerts/data/countries-50m.geojson``, made by
``scripts/derive_countries.py``): nothing is fetched at run time.

    >>> v = fit((69.0, 39.5, 71.0, 40.5), 400, 300)
    >>> x, y = v.xy(70.0, 40.0)
    >>> round(x), round(y)
    (200, 150)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

#: Kilometres in a degree of latitude (mean Earth radius 6,371 km).
KM_PER_DEGREE = 6371.0 * math.pi / 180
#: Countries' file, beside this module.
COUNTRIES_FILE = "countries-50m.geojson"

#: A level's colour on every map (the console's, a notice's excerpt) and its line's width in pixels.
LEVEL_COLOURS = {"none": "#9e9e9e", "watch": "#d4a800", "warning": "#f08000", "critical": "#d32f2f"}
LEVEL_STROKES = {"none": 1.6, "watch": 4.0, "warning": 5.0, "critical": 6.5}
#: The countries' fills (``Country.fill`` indexes them: neighbours differ) and the sea's.
COUNTRY_FILLS = ("#efe6d2", "#dde8d0", "#e6ddef", "#f6dfd3", "#e4e4dc")
SEA = "#c9dfea"

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (or lon0, lat0, lon1, lat1)


@dataclass(frozen=True)
class View:
    """An equirectangular view: ``(lon0, lat0)`` at the bottom left, ``scale`` pixels per degree of
    latitude, longitudes shrunk by ``k`` (the cosine of the centre latitude) so that shapes keep
    their proportions there; north up."""

    lon0: float
    lat0: float
    scale: float
    k: float
    width: float
    height: float

    def xy(self, lon: float, lat: float) -> Point:
        return (lon - self.lon0) * self.k * self.scale, self.height - (lat - self.lat0) * self.scale

    @property
    def bounds(self) -> Box:
        """The (lon0, lat0, lon1, lat1) the view shows, edge to edge."""
        return (self.lon0, self.lat0, self.lon0 + self.width / (self.k * self.scale),
                self.lat0 + self.height / self.scale)

    @property
    def km_per_px(self) -> float:
        """True along the centre latitude and along every meridian."""
        return KM_PER_DEGREE / self.scale


def bounds_of(coords: Iterable[Sequence[float]]) -> Box | None:
    pts = list(coords)
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def fit(bounds: Box, width: float, height: float, margin: float = 0.0, min_span: float = 0.0) -> View:
    """The view of ``width`` x ``height`` pixels that shows ``bounds`` whole and centred, with
    ``margin`` (a fraction of the span) around it and at least ``min_span`` degrees of latitude."""
    lon0, lat0, lon1, lat1 = bounds
    clat = (lat0 + lat1) / 2
    k = math.cos(math.radians(clat))
    span_x = max((lon1 - lon0) * k, 1e-6) * (1 + 2 * margin)  # in degrees of latitude
    span_y = max(lat1 - lat0, 1e-6) * (1 + 2 * margin)
    span_y = max(span_y, min_span)
    span_x = max(span_x, min_span * width / height)
    scale = min(width / span_x, height / span_y)
    clon = (lon0 + lon1) / 2
    return View(lon0=clon - width / 2 / (k * scale), lat0=clat - height / 2 / scale, scale=scale, k=k,
                width=width, height=height)


class ViewScope(NamedTuple):
    """What a view shows: ``border`` (the one chosen), ``open`` (the borders with open alerts) or
    ``all`` (every segment), and those borders; the pages put it in words."""

    kind: str
    borders: tuple[str, ...] = ()


def view_rows(rows: Sequence[Mapping], border: str = "") -> tuple[list[Mapping], ViewScope]:
    """The segments a view must show, and what the view is of.

    A chosen border: its segments. Otherwise the borders with open alerts, where the duty officer
    looks first; with none open, every segment."""
    drawn = [r for r in rows if r.get("coords")]
    if border:
        mine = [r for r in drawn if r["border"] == border]
        if mine:
            return mine, ViewScope("border", (border,))
    # an alert on a whole border (no line of its own) counts for its border's segments
    hot = sorted({r["border"] for r in rows if r.get("level", "none") != "none"})
    shown = [r for r in drawn if r["border"] in hot]
    if shown:
        return shown, ViewScope("open", tuple(sorted({r["border"] for r in shown})))
    return drawn, ViewScope("all")


# ---------------------------------------------------------------------- countries
@dataclass(frozen=True)
class Country:
    name: str
    iso3: str | None
    fill: int
    #: polygons, each a tuple of rings (outer first, then holes), each a tuple of (lon, lat)
    polygons: tuple[tuple[tuple[Point, ...], ...], ...]
    #: one (lon0, lat0, lon1, lat1) per polygon
    boxes: tuple[Box, ...]


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    text = resources.files("alerts").joinpath("data", COUNTRIES_FILE).read_text(encoding="utf-8")
    out = []
    for f in json.loads(text)["features"]:
        polys = tuple(tuple(tuple((x, y) for x, y in ring) for ring in poly) for poly in f["geometry"]["coordinates"])
        out.append(Country(f["properties"]["name"], f["properties"].get("iso3"), int(f["properties"]["fill"]),
                           polys, tuple(bounds_of(poly[0]) for poly in polys)))
    return tuple(out)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def countries_in(view: View, every: Sequence[Country] | None = None) -> list[tuple[Country, list[int]]]:
    """The countries the view shows, each with the indices of its polygons inside the view."""
    box = view.bounds
    out = []
    for c in countries() if every is None else every:
        parts = [i for i, b in enumerate(c.boxes) if _overlap(b, box)]
        if parts:
            out.append((c, parts))
    return out


def country_paths(view: View, shown: Sequence[tuple[Country, list[int]]], bleed: float = 20.0
                  ) -> list[tuple[Country, str]]:
    """Each shown country's outline as SVG path data in the view's pixels, cut ``bleed`` pixels
    beyond its edges (what lies farther is never seen); countries with nothing left are left out."""
    frame = (-bleed, -bleed, view.width + bleed, view.height + bleed)
    out = []
    for country, parts in shown:
        d = []
        for i in parts:
            for ring in country.polygons[i]:
                pts = clip(pixel_ring(view, ring, 1.2), frame)
                if len(pts) >= 3:
                    d.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
        if d:
            out.append((country, "".join(d)))
    return out


def pixel_ring(view: View, ring: Sequence[Point], min_step: float = 0.8) -> list[Point]:
    """A ring in pixels, points closer than ``min_step`` to the last one kept dropped."""
    out: list[Point] = []
    for lon, lat in ring:
        x, y = view.xy(lon, lat)
        if not out or abs(x - out[-1][0]) + abs(y - out[-1][1]) >= min_step:
            out.append((x, y))
    return out


def clip(poly: Sequence[Point], box: Box) -> list[Point]:
    """Sutherland-Hodgman: the part of ``poly`` inside the rectangle ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    edges = ((lambda p: p[0] >= x0, lambda p, q: _at_x(p, q, x0)), (lambda p: p[0] <= x1, lambda p, q: _at_x(p, q, x1)),
             (lambda p: p[1] >= y0, lambda p, q: _at_y(p, q, y0)), (lambda p: p[1] <= y1, lambda p, q: _at_y(p, q, y1)))
    out = list(poly)
    for inside, cut in edges:
        src, out = out, []
        for i, q in enumerate(src):
            p = src[i - 1]
            if inside(q):
                if not inside(p):
                    out.append(cut(p, q))
                out.append(q)
            elif inside(p):
                out.append(cut(p, q))
        if not out:
            break
    return out


def _at_x(p: Point, q: Point, x: float) -> Point:
    t = (x - p[0]) / (q[0] - p[0])
    return x, p[1] + t * (q[1] - p[1])


def _at_y(p: Point, q: Point, y: float) -> Point:
    t = (y - p[1]) / (q[1] - p[1])
    return p[0] + t * (q[0] - p[0]), y


def area(poly: Sequence[Point]) -> float:
    return abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, [*poly[1:], poly[0]]))) / 2


def inside(pt: Point, poly: Sequence[Point]) -> bool:
    """Even-odd rule."""
    x, y = pt
    n, hit = len(poly), False
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[i - 1]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            hit = not hit
    return hit


def edge_distances(pts: Sequence[Point], poly: Sequence[Point]) -> list[float]:
    """How far each point is from the nearest edge of ``poly``; 0 for a point outside it (the
    even-odd rule of :func:`inside`). All points against all edges at once: a country's outline in
    view has hundreds of edges."""
    p = np.asarray(pts, dtype=float)[:, None, :]                      # (n, 1, 2)
    a = np.asarray(poly, dtype=float)
    b = np.roll(a, 1, axis=0)                                          # each edge: a[i] - a[i-1]
    d = b - a
    dd = np.maximum((d * d).sum(axis=1), 1e-12)
    t = np.clip(((p - a) * d).sum(axis=2) / dd, 0.0, 1.0)              # (n, m)
    dist = np.hypot(*(p - a - t[..., None] * d).transpose(2, 0, 1)).min(axis=1)
    x, y = p[..., 0], p[..., 1]
    (ax, ay), (bx, by) = a.T, b.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = (ay > y) != (by > y)
        hits = cut & (x < (bx - ax) * (y - ay) / (by - ay) + ax)
    return np.where(hits.sum(axis=1) % 2 == 1, dist, 0.0).tolist()


def label_candidates(poly: Sequence[Point], grid: int = 14) -> list[tuple[float, Point]]:
    """Points inside ``poly``, farthest from its edge first, as (distance, point): a coarse grid,
    then a finer one around the best (an approximate pole of inaccessibility)."""
    if len(poly) < 3:
        return []
    x0, y0, x1, y1 = bounds_of(poly)
    found: list[tuple[float, Point]] = []
    cx0, cy0, cx1, cy1 = x0, y0, x1, y1
    for _ in range(3):
        sx, sy = (cx1 - cx0) / grid, (cy1 - cy0) / grid
        pts = [(cx0 + (i + 0.5) * sx, cy0 + (j + 0.5) * sy) for i in range(grid) for j in range(grid)]
        found += [(d, p) for d, p in zip(edge_distances(pts, poly), pts) if d > 0]
        if not found:
            return []
        _, (bx, by) = max(found)
        cx0, cx1, cy0, cy1 = bx - 2 * sx, bx + 2 * sx, by - 2 * sy, by + 2 * sy
    return sorted(found, reverse=True)


#: A character's width in ems, in the map's sans-serif: country names (regular, letter-spaced)
#: and towns (bold) as the console's style sheet sets them.
EM_NAME, EM_PLACE = 0.62, 0.66


def text_box(x: float, y: float, text: str, size: float, anchor: str = "middle", em: float = EM_PLACE) -> Box:
    """The box a label covers (an estimate: ``em`` a character), ``y`` its baseline."""
    w = em * size * len(text)
    left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return left, y - 0.8 * size, left + w, y + 0.3 * size


def crosses(box: Box, lines: Iterable[Sequence[Point]], pad: float = 3.0) -> bool:
    """Whether any of ``lines`` passes within ``pad`` of ``box`` (sampled every 2 pixels)."""
    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    for line in lines:
        for (ax, ay), (bx, by) in zip(line, line[1:]):
            n = max(1, int(math.hypot(bx - ax, by - ay) / 2))
            for i in range(n + 1):
                x, y = ax + (bx - ax) * i / n, ay + (by - ay) * i / n
                if x0 <= x <= x1 and y0 <= y <= y1:
                    return True
    return False


@dataclass(frozen=True)
class Label:
    text: str
    x: float
    y: float
    anchor: str = "middle"


@dataclass(frozen=True)
class Spot:
    """Where a country's name may go: its largest part in view (pixels) and the points inside it,
    farthest from the edge first."""

    name: str
    poly: tuple[Point, ...]
    candidates: tuple[tuple[float, Point], ...]


def label_spots(view: View, shown: Sequence[tuple[Country, list[int]]], size: float = 13.0,
                inset: float = 6.0) -> list[Spot]:
    """A :class:`Spot` per country whose visible part has room for its name."""
    frame = (inset, inset, view.width - inset, view.height - inset)
    out = []
    for c, parts in shown:
        best: list[Point] = []
        for i in parts:
            poly = clip(pixel_ring(view, c.polygons[i][0], 2.0), frame)
            if len(poly) >= 3 and (not best or area(poly) > area(best)):
                best = poly
        if best and area(best) >= (0.58 * size * len(c.name)) * size:
            out.append(Spot(c.name, tuple(best), tuple(label_candidates(best))))
    return out


def country_labels(spots: Sequence[Spot], taken: list[Box], lines: Sequence[Sequence[Point]] = (),
                   size: float = 13.0) -> list[Label]:
    """A name per country, inside its largest visible part, clear of ``taken`` (which grows) and of
    ``lines``: the label's ends must fall inside the country too, so a name that does not fit is left out."""
    out = []
    for spot in spots:
        for d, (x, y) in spot.candidates:
            if d < size * 0.6:
                break
            box = text_box(x, y + size * 0.35, spot.name, size, em=EM_NAME)
            ends_in = inside((box[0], y), spot.poly) and inside((box[2], y), spot.poly)
            if ends_in and not any(_overlap(box, t) for t in taken) and not crosses(box, lines):
                taken.append(box)
                out.append(Label(spot.name, x, y + size * 0.35))
                break
    return out


def midpoint(line: Sequence[Point]) -> Point:
    """The point halfway along a polyline."""
    lengths = [math.dist(p, q) for p, q in zip(line, line[1:])]
    half, run = sum(lengths) / 2, 0.0
    for (p, q), n in zip(zip(line, line[1:]), lengths):
        if run + n >= half and n:
            t = (half - run) / n
            return p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
        run += n
    return line[0]


def place_labels(view: View, wanted: Sequence[tuple[str, Sequence[Point]]], taken: list[Box],
                 lines: Sequence[Sequence[Point]] = (), size: float = 12.0, gap: float = 7.0,
                 spacing: float = 0.0, most: int | None = None) -> list[Label]:
    """A label beside each segment (``wanted``: text and the segment's pixel line, most important
    first): right of its middle, else left, above or below, else beside the whole line; the first
    place where it stays on the map, covers no earlier label (``taken``, which grows; ``spacing``
    keeps labels that far apart) and crosses neither its own line nor any of ``lines``. A text
    already shown is not repeated; a label with no room is left out; at most ``most`` labels."""
    out, said = [], set()
    for text, line in wanted:
        if text in said or not line or (most is not None and len(out) >= most):
            continue
        mx, my = midpoint(line)
        x0, y0, x1, y1 = bounds_of(line)
        up, down = size * 0.35, size * 0.8
        for x, y, anchor in ((mx + gap, my + up, "start"), (mx - gap, my + up, "end"), (mx, my - gap, "middle"),
                             (mx, my + gap + down, "middle"), (x1 + gap, my + up, "start"),
                             (x0 - gap, my + up, "end"), (mx, y0 - gap, "middle"), (mx, y1 + gap + down, "middle")):
            box = text_box(x, y, text, size, anchor)
            if box[0] < 2 or box[1] < 2 or box[2] > view.width - 2 or box[3] > view.height - 2:
                continue
            near = (box[0] - spacing, box[1] - spacing, box[2] + spacing, box[3] + spacing)
            if not any(_overlap(near, t) for t in taken) and not crosses(box, [line, *lines]):
                taken.append(box)
                out.append(Label(text, x, y, anchor))
                said.add(text)
                break
    return out


# ---------------------------------------------------------------------- scale
def scale_bar(view: View, max_px: float = 140.0) -> tuple[float, float]:
    """(km, pixels) of a scale bar of 1, 2 or 5 times a power of ten km, as long as fits ``max_px``."""
    most = max_px * view.km_per_px
    step = 10 ** math.floor(math.log10(most))
    km = max(m * step for m in (1, 2, 5) if m * step <= most)
    return km, km / view.km_per_px
