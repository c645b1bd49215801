"""The console's map (alerts/geomap.py, alerts/web/views.py, its template): the view, the countries drawn, labels, scale."""

from __future__ import annotations

import math
import re

import pytest

from alerts import geomap
from alerts.web import views
from alerts.web.pages import svg_map
from alerts.web.views import COLOURS
from streams.segments import SegmentRegistry


def rows_with(levels: dict[str, str] | None = None) -> list[dict]:
    """The bundled registry's segments as the web app hands them to the page."""
    levels = levels or {}
    return [{"segment_id": s.segment_id, "border": s.border, "name": s.title, "place": s.place,
             "coords": [list(p) for p in s.coords], "level": levels.get(s.segment_id, "none"),
             "open_alerts": int(s.segment_id in levels)} for s in SegmentRegistry.default().segments()]


def test_the_projection_puts_north_up_west_left_and_keeps_proportions_at_the_centre():
    v = geomap.fit((70.0, 40.0, 71.0, 41.0), 200, 200)
    (xw, yw), (xe, ye) = v.xy(70.0, 40.5), v.xy(71.0, 40.5)
    (_, yn), (_, ys) = v.xy(70.5, 41.0), v.xy(70.5, 40.0)
    assert xw < xe and yn < ys  # west left, north up
    # a degree of longitude at 40.5 N is cos(40.5) of a degree of latitude
    assert (xe - xw) / (ys - yn) == pytest.approx(math.cos(math.radians(40.5)), rel=1e-6)
    assert ys - yn == pytest.approx(200)  # the taller side fills the box, centred
    assert v.xy(70.5, 40.5) == pytest.approx((100, 100))


def test_the_view_is_the_chosen_borders_extent_or_the_open_alerts_borders_or_everything():
    rows = rows_with({"KGZ-TJK-01": "critical"})
    chosen, what = geomap.view_rows(rows, "KAZ-RUS")
    assert {r["border"] for r in chosen} == {"KAZ-RUS"} and views.view_words(what) == "border KAZ-RUS"
    assert views.view_words(what, "ru") == "граница Казахстан–Россия"
    hot, what = geomap.view_rows(rows)
    assert {r["border"] for r in hot} == {"KGZ-TJK"} and what == geomap.ViewScope("open", ("KGZ-TJK",))
    assert len(geomap.view_rows(rows_with())[0]) == len(rows)  # nothing open: the whole registry
    assert len(geomap.view_rows(rows, "XXX-YYY")[0]) == len(hot)  # an unknown border: as if none were chosen
    # an alert on a whole border (arms race, no coordinates) shows that border's segments
    pair = [*rows_with(), {"segment_id": "KGZ-UZB:arms", "border": "KGZ-UZB", "coords": [], "level": "watch"}]
    shown, what = geomap.view_rows(pair)
    assert {r["border"] for r in shown} == {"KGZ-UZB"} and views.view_words(what) == "borders with open alerts: KGZ-UZB"
    assert views.view_words(geomap.view_rows(rows_with())[1]) == "all segments"

    # every segment of the border is inside the view, and the view is not much wider than needed
    view, _ = views.map_view(rows, 560, 500, "KGZ-TJK")
    lon0, lat0, lon1, lat1 = view.bounds
    pts = [p for r in chosen_rows(rows, "KGZ-TJK") for p in r["coords"]]
    assert all(lon0 < x < lon1 and lat0 < y < lat1 for x, y in pts)
    assert lon1 - lon0 < 2 * (max(x for x, _ in pts) - min(x for x, _ in pts))
    wide, _ = views.map_view(rows, 560, 500, "KAZ-RUS")
    assert wide.scale < view.scale / 3  # a long border is shown from further away


def chosen_rows(rows, border):
    return [r for r in rows if r["border"] == border]


def test_the_countries_drawn_are_those_in_view():
    view, _ = views.map_view(rows_with(), 560, 500, "KGZ-TJK")
    names = {c.name for c, _ in geomap.countries_in(view)}
    assert {"Kyrgyzstan", "Tajikistan", "Uzbekistan"} <= names
    assert not names & {"France", "Brazil", "Japan"}
    # neighbours are filled differently
    by_name = {c.name: c for c in geomap.countries()}
    for a, b in (("Kyrgyzstan", "Tajikistan"), ("Kyrgyzstan", "Uzbekistan"), ("Tajikistan", "Uzbekistan"),
                 ("Kazakhstan", "Kyrgyzstan"), ("China", "Kyrgyzstan"), ("Afghanistan", "Tajikistan")):
        assert by_name[a].fill != by_name[b].fill, (a, b)


def test_a_country_name_is_placed_inside_the_country_and_clear_of_earlier_labels():
    view, _ = views.map_view(rows_with(), 560, 500, "KGZ-TJK")
    shown = geomap.countries_in(view)
    labels = geomap.country_labels(geomap.label_spots(view, shown), taken := [])
    by_name = {lb.text: lb for lb in labels}
    assert {"Kyrgyzstan", "Tajikistan", "Uzbekistan"} <= set(by_name)
    for lb in labels:
        country = next(c for c, _ in shown if c.name == lb.text)
        rings = [geomap.pixel_ring(view, poly[0]) for poly in country.polygons]
        assert any(geomap.inside((lb.x, lb.y - 4), ring) for ring in rings), lb.text
        assert 0 < lb.x < view.width and 0 < lb.y < view.height
    boxes = [geomap.text_box(lb.x, lb.y, lb.text, 13.0) for lb in labels]
    assert all(not geomap._overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert len(taken) == len(labels)


def test_edge_distances_are_zero_outside_and_the_nearest_edge_inside():
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    assert geomap.edge_distances([(5, 5), (1, 5), (5, 9.5), (11, 5), (-1, -1)], square) == pytest.approx(
        [5, 1, 0.5, 0, 0])
    notch = [(0, 0), (10, 0), (10, 10), (6, 10), (6, 4), (4, 4), (4, 10), (0, 10)]  # a U: the gap is outside
    assert geomap.edge_distances([(5, 8), (2, 8), (5, 2)], notch) == pytest.approx([0, 2, 2])
    assert all(geomap.inside(p, notch) == (d > 0) for p, d in
               zip([(5, 8), (2, 8), (5, 2)], geomap.edge_distances([(5, 8), (2, 8), (5, 2)], notch)))


def test_a_place_label_sits_beside_its_segment_and_never_on_another_label_or_line():
    view = geomap.fit((70.0, 40.0, 71.0, 41.0), 400, 300)
    flat = [view.xy(70.2, 40.5), view.xy(70.4, 40.5)]
    taken: list = []
    first, = geomap.place_labels(view, [("near Isfara", flat)], taken)
    mx, my = geomap.midpoint(flat)
    # right of the middle would sit on the line itself: above it, centred
    assert (first.anchor, first.x) == ("middle", pytest.approx(mx)) and my - 20 < first.y < my
    box = geomap.text_box(first.x, first.y, "near Isfara", 12.0, "middle")
    assert not geomap.crosses(box, [flat]) and taken == [box]
    # the same segment again: another side; the same text is not said twice
    again = geomap.place_labels(view, [("near Batken", flat), ("near Batken", flat[::-1])], taken)
    assert [lb.text for lb in again] == ["near Batken"] and again[0].y > my
    assert not geomap._overlap(taken[-1], box)
    # a diagonal line: beside it, off the line, close to its middle
    diagonal = [view.xy(70.2, 40.4), view.xy(70.5, 40.6)]
    lb, = geomap.place_labels(view, [("near Vorukh", diagonal)], [])
    box = geomap.text_box(lb.x, lb.y, "near Vorukh", 12.0, lb.anchor)
    assert not geomap.crosses(box, [diagonal])
    dx, dy = geomap.midpoint(diagonal)
    assert math.dist((dx, dy), ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)) < 100
    # another alert's line is kept clear too; no room on any side: left out
    assert not geomap.place_labels(view, [("near Isfara", flat)], [], lines=[[(0, 0), (400, 300)], [(0, 300), (400, 0)],
                                                                         [(0, my), (400, my)]])
    edge = [view.xy(70.0, 40.99), view.xy(71.0, 40.99)]
    assert geomap.place_labels(view, [("a name far too long for any side of this map: " + "x" * 40, edge)], []) == []
    # at most ``most``, spaced out
    many = [(f"near town {i}", [view.xy(70.1 + i * 0.01, 40.5), view.xy(70.11 + i * 0.01, 40.5)]) for i in range(20)]
    assert len(geomap.place_labels(view, many, [], spacing=10, most=3)) <= 3


def test_the_scale_bar_is_a_round_length_true_at_the_centre_latitude():
    view = geomap.fit((69.0, 39.0, 71.0, 41.0), 400, 400)  # 2 degrees of latitude in 400 px
    assert view.km_per_px == pytest.approx(2 * 111.195 / 400, rel=1e-3)
    km, px = geomap.scale_bar(view, max_px=140)
    assert km == 50 and px == pytest.approx(50 / view.km_per_px)  # 140 px is 77.8 km: 50 is the round length
    km, px = geomap.scale_bar(geomap.fit((40.0, 30.0, 90.0, 56.0), 560, 500))
    assert km in (200, 500, 1000) and px <= 140


def test_the_map_draws_countries_segments_by_level_places_and_a_scale():
    rows = rows_with({"KGZ-TJK-01": "critical", "KGZ-UZB-03": "watch"})
    svg = svg_map(rows)
    assert 'data-view="borders with open alerts: KGZ-TJK, KGZ-UZB"' in svg
    assert re.search(r'<path class="country f\d" data-country="KGZ"', svg)
    assert '>Kyrgyzstan</text>' in svg and '>Tajikistan</text>' in svg
    crit = re.search(r'<polyline class="seg" data-segment="KGZ-TJK-01"[^>]*>', svg).group(0)
    assert f'stroke="{COLOURS["critical"]}"' in crit and 'stroke-width="6.5"' in crit
    quiet = re.search(r'<polyline class="seg" data-segment="KGZ-TJK-05"[^>]*>', svg).group(0)
    assert f'stroke="{COLOURS["none"]}"' in quiet and 'stroke-width="1.6"' in quiet
    # open alerts are drawn last, on top of quiet segments
    assert svg.index('data-segment="KGZ-TJK-01"') > svg.index('data-segment="KGZ-TJK-05"')
    place = SegmentRegistry.default().get("KGZ-TJK-01").place
    assert f'<text class="place"' in svg and f">{place}</text>" in svg
    assert re.search(r'<g id="map-scale" class="scale">.*?>\d+ km</text></g>', svg)
    for level in ("critical", "warning", "watch", "no open alert"):
        assert f"{level}</span>" in svg
    # the chosen border: its extent and its towns
    kaz = svg_map(rows, border="KAZ-RUS")
    assert 'data-view="border KAZ-RUS"' in kaz and "Russia" in kaz
    assert re.search(r'data-bounds="([^"]+)"', kaz).group(1) != re.search(r'data-bounds="([^"]+)"', svg).group(1)


def test_the_map_is_offline_and_small():
    from importlib import resources

    data = resources.files("alerts").joinpath("data", geomap.COUNTRIES_FILE)
    assert len(data.read_bytes()) < 1_100_000
    svg = svg_map(rows_with({"KGZ-TJK-01": "critical"}))
    assert not re.search(r'(?:src|href)="(?:[a-z]+:)?//', svg)
    assert len(svg) < 250_000


def test_the_countries_file_is_derived_from_world_atlas_with_neighbours_apart(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tests.unit.test_world_borders import TINY

    root = Path(__file__).resolve().parents[2]
    src, out = tmp_path / "countries-50m.json", tmp_path / "countries.geojson"
    src.write_text(json.dumps(TINY))
    res = subprocess.run([sys.executable, root / "scripts" / "derive_countries.py", src, "--out", out],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    by_name = {f["properties"]["name"]: f for f in doc["features"]}
    assert set(by_name) == {"Kyrgyzstan", "Tajikistan", "Nowhere"} and "Natural Earth" in doc["license"]
    assert by_name["Kyrgyzstan"]["properties"]["iso3"] == "KGZ" and by_name["Nowhere"]["properties"]["iso3"] is None
    fills = {n: f["properties"]["fill"] for n, f in by_name.items()}
    assert fills["Kyrgyzstan"] != fills["Tajikistan"] != fills["Nowhere"]
    ring = by_name["Kyrgyzstan"]["geometry"]["coordinates"][0][0]
    assert ring[0] == ring[-1] and [70.0, 40.0] in ring and [70.0, 41.0] in ring  # closed, the shared border in it
    tjk = by_name["Tajikistan"]["geometry"]["coordinates"][0][0]
    assert [70.0, 40.0] in tjk and [70.0, 41.0] in tjk  # the same border, from the other side
