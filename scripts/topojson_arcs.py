"""Reading world-atlas TopoJSON (Natural Earth countries): arcs decoded, rings of a geometry.

Shared by scripts/derive_world_borders.py (shared arcs: land borders) and
scripts/derive_countries.py (rings: country polygons). Pure Python.
"""

from __future__ import annotations

from collections.abc import Iterator

Position = tuple[float, float]


def decode_arcs(topology: dict) -> list[list[Position]]:
    """The arcs as absolute (lon, lat) positions: a quantized topology stores each arc as a first
    position and then deltas, in integer steps of ``transform.scale`` from ``transform.translate``."""
    transform = topology.get("transform")
    if transform is None:
        return [[(float(x), float(y)) for x, y, *_ in arc] for arc in topology["arcs"]]
    (kx, ky), (dx, dy) = transform["scale"], transform["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        line = []
        for qx, qy, *_ in arc:
            x, y = x + qx, y + qy
            line.append((x * kx + dx, y * ky + dy))
        arcs.append(line)
    return arcs


def rings(geometry: dict) -> Iterator[list[int]]:
    """Every ring of a Polygon or MultiPolygon, as its list of arc references."""
    for polygon in polygons(geometry):
        yield from polygon


def polygons(geometry: dict) -> Iterator[list[list[int]]]:
    """The polygons of a Polygon or MultiPolygon: each a list of rings (outer first, then holes)."""
    kind = geometry.get("type")
    if kind == "Polygon":
        yield geometry["arcs"]
    elif kind == "MultiPolygon":
        yield from geometry["arcs"]


def ring_positions(ring: list[int], arcs: list[list[Position]]) -> list[Position]:
    """A ring's positions from its arc references (``~i``: arc ``i`` reversed); consecutive arcs
    share their meeting position, which is kept once."""
    out: list[Position] = []
    for ref in ring:
        arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
        out.extend(arc if not out else arc[1:])
    return out


def rounded(line: list[Position], decimals: int) -> list[list[float]]:
    """``line`` with its positions rounded to ``decimals``, a position equal to the one before dropped."""
    out: list[list[float]] = []
    for x, y in line:
        p = [round(x, decimals), round(y, decimals)]
        if not out or out[-1] != p:
            out.append(p)
    return out
