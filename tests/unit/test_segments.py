import json
import re

import pytest

from streams.errors import ConfigError
from streams.segments import SegmentRegistry, render_table


@pytest.fixture(scope="module")
def reg():
    return SegmentRegistry.default()


@pytest.fixture(scope="module")
def borders():
    from importlib import resources

    doc = json.loads(resources.files("streams").joinpath("data/central-asia-borders.geojson").read_text())
    return {f"{f['properties']['a']}-{f['properties']['b']}": f["properties"] for f in doc["features"]}


def test_every_border_is_cut_into_segments_of_roughly_30_to_100_km(reg, borders):
    assert set(reg.borders()) == set(borders) and len(borders) == 18
    for border, props in borders.items():
        segs = [s for s in reg.segments() if s.border == border]
        total = sum(s.length_km for s in segs)
        assert total == pytest.approx(props["length_km"], rel=0.01), border
        main = [s for s in segs if " km " in s.name]
        assert all(30 <= s.length_km <= 100 for s in main), border


def test_ids_are_unique_stable_and_well_formed(reg):
    ids = [s.segment_id for s in reg.segments()]
    assert len(ids) == len(set(ids))
    assert all(re.match(r"^[A-Z]{3}-[A-Z]{3}-\d{2,3}$", i) for i in ids)
    assert ids == [s.segment_id for s in SegmentRegistry.from_geojson().segments()]


def test_enclaves_are_named(reg):
    names = {s.name for s in reg.segments()}
    assert any("Vorukh" in n for n in names) and any("Sokh" in n for n in names)


def border_distance(reg, border, lat, lon):
    return min(reg.distance_km(s.segment_id, lat, lon) for s in reg.segments() if s.border == border)


def point_off_the_line(reg, lo_km, hi_km):
    """A point north of KGZ-TJK-05 whose distance to the whole KGZ-TJK line is in [lo_km, hi_km]."""
    seg = next(s for s in reg.segments() if s.segment_id == "KGZ-TJK-05")
    lon, lat = seg.coords[len(seg.coords) // 2]
    for step in range(1, 200):
        for dlat, dlon in ((0.01 * step, 0), (-0.01 * step, 0), (0, 0.01 * step), (0, -0.01 * step)):
            if lo_km <= border_distance(reg, "KGZ-TJK", lat + dlat, lon + dlon) <= hi_km:
                return lat + dlat, lon + dlon
    raise AssertionError("no such point")


def test_nearest_segment_within_the_limit_else_pair_level(reg):
    seg = next(s for s in reg.segments() if s.segment_id == "KGZ-TJK-05")
    lon, lat = seg.coords[len(seg.coords) // 2]
    assert reg.assign(("TJK", "KGZ"), lat, lon) == "KGZ-TJK-05"
    assert reg.distance_km("KGZ-TJK-05", lat, lon) < 0.01
    lat10, lon10 = point_off_the_line(reg, 8, 12)
    near = reg.assign(("KGZ", "TJK"), lat10, lon10)
    assert near.startswith("KGZ-TJK-")
    assert reg.distance_km(near, lat10, lon10) == pytest.approx(border_distance(reg, "KGZ-TJK", lat10, lon10))
    lat60, lon60 = point_off_the_line(reg, 55, 70)
    assert reg.assign(("KGZ", "TJK"), lat60, lon60) == "KGZ-TJK"
    assert reg.assign(("KGZ", "TJK"), None, None) == "KGZ-TJK"


def test_configured_distance_limit_is_honoured():
    tight = SegmentRegistry.from_geojson(max_distance_km=5)
    lat, lon = point_off_the_line(tight, 8, 12)
    assert tight.assign(("KGZ", "TJK"), lat, lon) == "KGZ-TJK"
    assert SegmentRegistry.default().assign(("KGZ", "TJK"), lat, lon) != "KGZ-TJK"


def test_a_2022_damage_site_lands_on_a_kgz_tjk_segment(reg):
    sid = reg.assign(("KGZ", "TJK"), 40.05229068, 70.63277194)  # Dostuk, Bellingcat's map
    assert sid.startswith("KGZ-TJK-") and reg.distance_km(sid, 40.05229068, 70.63277194) < 25


def test_pair_level_segment_exists_for_any_pair_but_only_sorted(reg):
    assert reg.get("AFG-USA").pair_level
    with pytest.raises(KeyError):
        reg.get("USA-AFG")
    assert reg.assign(("USA", "AFG"), 34.5, 69.2) == "AFG-USA"
    assert reg.pairs_with("KGZ") == ["CHN-KGZ", "KAZ-KGZ", "KGZ-TJK", "KGZ-UZB"]


def test_user_segment_file_is_used_as_given(tmp_path):
    f = tmp_path / "segs.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-A", "name": "Batken"},
         "geometry": {"type": "LineString", "coordinates": [[70.0, 40.0], [70.5, 40.0]]}}]}))
    reg = SegmentRegistry.from_geojson(f)
    assert [s.segment_id for s in reg.segments()] == ["KGZ-TJK-A"]
    assert reg.assign(("KGZ", "TJK"), 40.01, 70.2) == "KGZ-TJK-A"


def test_malformed_user_file_names_file_feature_and_property(tmp_path):
    f = tmp_path / "bad.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"a": "KGZ", "b": "TJK"},
         "geometry": {"type": "LineString", "coordinates": [[70, 40], [71, 40]]}},
        {"type": "Feature", "properties": {"a": "kgz", "b": "TJK"},
         "geometry": {"type": "LineString", "coordinates": [[70, 40], [71, 40]]}}]}))
    with pytest.raises(ConfigError, match=r"bad.geojson: feature 1: property 'a'"):
        SegmentRegistry.from_geojson(f)
    with pytest.raises(ConfigError, match="cannot read"):
        SegmentRegistry.from_geojson(tmp_path / "missing.geojson")


def test_render_table_has_a_header_and_a_row_per_segment(reg):
    lines = render_table(reg).splitlines()
    assert lines[0].split() == ["id", "border", "length_km", "name"]
    assert len(lines) == len(reg.segments()) + 1
