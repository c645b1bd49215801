#!/usr/bin/env python3
"""Derive the console map's country polygons from a world-atlas TopoJSON file (Natural Earth).

    python scripts/derive_countries.py PATH/TO/world-atlas/countries-50m.json \
        [--out alerts/data/countries-50m.geojson]

One GeoJSON feature per country: properties ``name`` (English, GeoNames' short name where the
ISO numeric id is known, else world-atlas's own), ``iso3`` (or null: N. Cyprus, Somaliland,
Kosovo ...), ``fill`` (a colour index 0-4: states that share a land border get different
indices, so neighbours stay apart on the map); a MultiPolygon, each arc simplified before the
rings are assembled (neighbours keep one common border), coordinates rounded to ``DECIMALS``.
Antarctica is left out. The console draws it offline (alerts/geomap.py); nothing is fetched at run time.
How to get the input and the licences: streams/data/SOURCES.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

from derive_world_borders import LICENSE, _describe, geonames_countries
from topojson_arcs import Position, decode_arcs, polygons, ring_positions, rounded

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "alerts" / "data" / "countries-50m.geojson"
#: 0.01 degrees is about 1 km: below what a 1:50m outline shows, and what a console map can draw.
DECIMALS = 2
#: Douglas-Peucker tolerance in degrees, applied to each arc before the rings are assembled, so
#: neighbours keep their common border (no gaps or slivers): half the 1:50m outline's own detail.
TOLERANCE = 0.01
#: No land border, never in a border's view, and 5 % of the file.
SKIPPED = {"Antarctica"}
#: Colour indices: four suffice for a planar map; a fifth lets the greedy choice stay simple.
FILLS = 5


def _rounded_ring(ring: list[Position]) -> list[list[float]]:
    out = rounded(ring, DECIMALS)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def simplify(line: list[Position], tolerance: float = TOLERANCE) -> list[Position]:
    """Douglas-Peucker on one arc, its two ends kept (they are where arcs meet)."""
    if len(line) < 3:
        return line
    keep = [False] * len(line)
    keep[0] = keep[-1] = True
    stack = [(0, len(line) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = line[a], line[b]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        far, far_d = -1, tolerance
        for i in range(a + 1, b):
            x, y = line[i]
            d = abs(dy * (x - x1) - dx * (y - y1)) / norm if norm else math.hypot(x - x1, y - y1)
            if d > far_d:
                far, far_d = i, d
        if far > 0:
            keep[far] = True
            stack += [(a, far), (far, b)]
    return [p for p, k in zip(line, keep) if k]


def neighbours(geometries: list[dict]) -> dict[int, set[int]]:
    """Geometry index -> the indices of the geometries it shares an arc with."""
    users: dict[int, set[int]] = defaultdict(set)
    for i, g in enumerate(geometries):
        for polygon in polygons(g):
            for ring in polygon:
                for ref in ring:
                    users[ref if ref >= 0 else ~ref].add(i)
    adj: dict[int, set[int]] = defaultdict(set)
    for who in users.values():
        for i in who:
            adj[i] |= who - {i}
    return adj


def colour(n: int, adj: dict[int, set[int]]) -> list[int]:
    """A colour index per geometry, none the same as a neighbour's (greedy, most neighbours first)."""
    fill = [-1] * n
    for i in sorted(range(n), key=lambda i: (-len(adj[i]), i)):
        taken = {fill[j] for j in adj[i]}
        fill[i] = next((c for c in range(FILLS) if c not in taken), 0)
    return fill


def derive(topology: dict, countries: dict[str, tuple[str, str]], source: str) -> dict:
    """The FeatureCollection of countries. ``countries``: ISO numeric (three digits) -> (ISO3, name)."""
    arcs = [simplify(arc) for arc in decode_arcs(topology)]
    geometries = topology["objects"]["countries"]["geometries"]
    fills = colour(len(geometries), neighbours(geometries))
    features = []
    for g, fill in zip(geometries, fills):
        iso3, name = countries.get(str(g.get("id", "")).zfill(3), (None, g.get("properties", {}).get("name")))
        if "id" not in g:
            iso3, name = None, g.get("properties", {}).get("name")
        parts = []
        for polygon in polygons(g):
            rings = [r for r in (_rounded_ring(ring_positions(ring, arcs)) for ring in polygon) if len(r) >= 4]
            if rings:
                parts.append(rings)
        if parts and name and name not in SKIPPED:
            features.append({"type": "Feature", "properties": {"name": name, "iso3": iso3, "fill": fill},
                             "geometry": {"type": "MultiPolygon", "coordinates": parts}})
    features.sort(key=lambda f: f["properties"]["name"])
    return {"type": "FeatureCollection", "source": source, "license": LICENSE, "features": features}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", type=Path, help="world-atlas countries-50m.json (or -10m, -110m)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"GeoJSON to write (default {DEFAULT_OUT.name})")
    args = parser.parse_args(argv)
    topology = json.loads(args.topojson.read_text(encoding="utf-8"))
    doc = derive(topology, geonames_countries(), _describe(args.topojson)[0])
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    vertices = sum(len(r) for f in doc["features"] for p in f["geometry"]["coordinates"] for r in p)
    print(f"{len(doc['features'])} countries, {vertices} vertices, {len(text.encode()) / 1e6:.2f} MB -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
