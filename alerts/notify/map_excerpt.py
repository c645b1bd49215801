"""A notice's map excerpt: where the alert's stretch of border lies, among the states around it.

The same bundled geometry as the console's map (:mod:`alerts.geomap`, Natural Earth, offline),
laid out here as plain data for a standalone SVG with its colours inline (the notices' template
``map_excerpt.svg.j2`` draws it: :func:`alerts.notify.brief.excerpt_svg`): a notice carries no
stylesheet of the console's, and the PDF embeds the same SVG (fpdf2 draws paths, lines and text).
Country names are in the receiver's language where the notice's catalog names the state; the
scale bar says km.
"""

from __future__ import annotations

from typing import Callable, Sequence

from alerts import geomap

#: The excerpt's size in pixels (the PDF scales it to the text's width).
WIDTH, HEIGHT = 520.0, 260.0
#: Room around the segment, as a share of its extent each side, and the least span shown (degrees
#: of latitude, about 130 km): a 60 km stretch among its towns and both states.
MARGIN, MIN_SPAN = 0.8, 1.2
#: Names and the scale bar; the PDF registers DejaVu under this family (alerts/notify/pdf.py).
FONT_FAMILY = "DejaVu"
NAME_SIZE = 13.0


def excerpt_layout(line: Sequence[Sequence[float]], level: str, name_of: Callable[[str | None, str], str],
                   place: str = "", km: str = "km", width: float = WIDTH, height: float = HEIGHT) -> dict | None:
    """What the excerpt around ``line`` ((lon, lat) pairs) draws, as plain data (None without a
    line): the line in ``level``'s colour, ``place`` (its towns) beside it; ``name_of(iso3, English
    name)`` names a state."""
    bounds = geomap.bounds_of(line)
    if bounds is None:
        return None
    view = geomap.fit(bounds, width, height, margin=MARGIN, min_span=MIN_SPAN)
    shown = geomap.countries_in(view)
    countries = [{"d": d, "fill": geomap.COUNTRY_FILLS[country.fill % len(geomap.COUNTRY_FILLS)]}
                 for country, d in geomap.country_paths(view, shown, bleed=10.0)]
    seg = geomap.pixel_ring(view, line, 1.0)
    taken: list[geomap.Box] = []
    scale_km, scale_px = geomap.scale_bar(view, 110.0)
    taken.append((8.0, height - 30, 20 + scale_px, height))  # the scale bar's corner
    labels = geomap.place_labels(view, [(place, seg)], taken, size=12.0) if place else []
    iso3_of = {c.name: c.iso3 for c, _ in shown}
    names = geomap.country_labels(geomap.label_spots(view, shown, size=NAME_SIZE), taken, [seg], size=NAME_SIZE)
    texts = [{"x": f"{lb.x:.1f}", "y": f"{lb.y:.1f}", "anchor": lb.anchor, "size": f"{size:g}", "weight": weight,
              "colour": colour, "text": lb.text if lb in labels else name_of(iso3_of.get(lb.text), lb.text)}
             for lb, size, weight, colour in ([(lb, 12.0, "bold", "#222222") for lb in labels]
                                              + [(lb, NAME_SIZE, "normal", "#555555") for lb in names])]
    y = height - 12
    return {"width": f"{width:.0f}", "height": f"{height:.0f}", "sea": geomap.SEA, "countries": countries,
            "line": {"points": " ".join(f"{x:.1f},{y:.1f}" for x, y in seg),
                     "colour": geomap.LEVEL_COLOURS.get(level, geomap.LEVEL_COLOURS["none"]),
                     "width": f"{geomap.LEVEL_STROKES.get(level, 4.0) + 1:g}"},
            "labels": texts, "font": FONT_FAMILY,
            "scale": {"points": f"14,{y - 4:.1f} 14,{y:.1f} {14 + scale_px:.1f},{y:.1f} {14 + scale_px:.1f},{y - 4:.1f}",
                      "x": f"{14 + scale_px / 2:.1f}", "y": f"{y - 6:.1f}", "km": f"{scale_km:g}", "unit": km}}
