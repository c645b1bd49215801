import json
import math
import re
from importlib import resources
from itertools import pairwise

import pytest

from streams.errors import ConfigError
from streams.segments import EARTH_RADIUS_KM, SegmentRegistry, render_table

DOSTUK = (40.05229068, 70.63277194)  # damaged house, Sept 2022 clashes (Bellingcat's map), Kyrgyzstan side


@pytest.fixture(scope="module")
def reg():
    return SegmentRegistry.default()


@pytest.fixture(scope="module")
def features():
    doc = json.loads(resources.files("streams").joinpath("data/central-asia-borders.geojson").read_text("utf-8"))
    return {f"{f['properties']['a']}-{f['properties']['b']}": f for f in doc["features"]}


def main_line(feature):
    geom = feature["geometry"]
    return geom["coordinates"] if geom["type"] == "LineString" else geom["coordinates"][0]


def of_border(reg, border):
    return [s for s in reg.segments() if s.border == border]


def test_every_border_is_cut_into_pieces_of_about_60_km(reg, features):
    assert len(features) == 18 and reg.borders() == sorted(features)
    for border, feature in features.items():
        segs = of_border(reg, border)
        assert segs, border
        assert sum(s.length_km for s in segs) == pytest.approx(feature["properties"]["length_km"], rel=0.01), border
        for s in segs:
            if "enclave" not in s.name:
                assert 20 <= s.length_km <= 110, (s.segment_id, s.length_km)


def test_pieces_run_along_the_main_line_then_the_enclaves(reg, features):
    segs = of_border(reg, "KGZ-TJK")
    assert list(segs[0].coords[0]) == main_line(features["KGZ-TJK"])[0]
    assert all(a.coords[-1] == b.coords[0] for a, b in pairwise(segs[:-1]))  # main pieces join up
    assert segs[-1].name == "Kyrgyzstan–Tajikistan: Vorukh enclave"
    assert segs[0].name.startswith("Kyrgyzstan–Tajikistan km 0–")
    uzb = [s.name for s in of_border(reg, "KGZ-UZB") if "enclave" in s.name]
    assert uzb == ["Kyrgyzstan–Uzbekistan: Sokh enclave 1/2", "Kyrgyzstan–Uzbekistan: Sokh enclave 2/2",
                   "Kyrgyzstan–Uzbekistan: Shakhimardan enclave"]


def test_ids_are_unique_well_formed_and_stable(reg):
    ids = [s.segment_id for s in reg.segments()]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert all(re.fullmatch(r"[A-Z]{3}-[A-Z]{3}-\d{2,3}", i) for i in ids)
    assert {len(i) for i in ids if i.startswith("KAZ-RUS")} == {11}  # over 99 pieces: 3 digits for all
    assert {len(i) for i in ids if not i.startswith("KAZ-RUS")} == {10}
    assert SegmentRegistry.from_geojson().segments() == reg.segments()


def point_off_line(reg, border, km):
    """A point about ``km`` from the line of ``border``, square off a vertex near the middle of the line."""
    deg = math.pi / 180 * EARTH_RADIUS_KM
    segs = of_border(reg, border)
    for seg in segs[len(segs) // 2:]:
        (x0, y0), (lon, lat), (x1, y1) = seg.coords[:3]
        kx = deg * math.cos(math.radians(lat))
        dx, dy = (x1 - x0) * kx, (y1 - y0) * deg
        norm = math.hypot(dx, dy)
        for side in (1, -1):
            p = (lat + side * km * dx / norm / deg, lon - side * km * dy / norm / kx)
            if 0.8 * km <= reg.distance_km(border, *p) <= km + 0.01:
                return p
    raise AssertionError("no such point")


def test_a_vertex_of_the_line_goes_to_the_segment_that_contains_it(reg, features):
    line = main_line(features["KGZ-TJK"])
    lon, lat = line[len(line) // 2]
    owners = {s.segment_id for s in of_border(reg, "KGZ-TJK") if (lon, lat) in s.coords}
    assert reg.assign(("TJK", "KGZ"), lat, lon) in owners
    assert reg.distance_km(reg.assign(("KGZ", "TJK"), lat, lon), lat, lon) < 0.001


def test_nearest_segment_within_the_limit_else_pair_level(reg):
    lat, lon = point_off_line(reg, "KGZ-TJK", 10)
    sid = reg.assign(("KGZ", "TJK"), lat, lon)
    nearest = min(of_border(reg, "KGZ-TJK"), key=lambda s: reg.distance_km(s.segment_id, lat, lon))
    assert sid == nearest.segment_id
    assert 8 <= reg.distance_km(sid, lat, lon) <= 10.01
    assert reg.assign(("KGZ", "TJK"), *point_off_line(reg, "KGZ-TJK", 60)) == "KGZ-TJK"


def test_other_borders_are_not_candidates(reg):
    lat, lon = DOSTUK
    assert reg.assign(("KGZ", "UZB"), lat, lon).startswith("KGZ-UZB")
    assert reg.assign(("AFG", "USA"), lat, lon) == "AFG-USA"


def test_without_coordinates_the_pair_level_segment(reg):
    assert reg.assign(("TJK", "KGZ"), None, None) == "KGZ-TJK"
    assert reg.assign(("KGZ", "TJK"), DOSTUK[0], None) == "KGZ-TJK"


def test_a_known_segment_id_of_the_pair_is_kept(reg):
    far = reg.assign(("KGZ", "TJK"), *DOSTUK, segment_id="KGZ-TJK-09")
    assert far == "KGZ-TJK-09"
    assert reg.assign(("KGZ", "TJK"), *DOSTUK, segment_id="KGZ-UZB-01") == reg.assign(("KGZ", "TJK"), *DOSTUK)
    assert reg.assign(("KGZ", "TJK"), *DOSTUK, segment_id="KGZ-TJK-99") == reg.assign(("KGZ", "TJK"), *DOSTUK)


def test_the_2022_dostuk_damage_site_lands_on_a_kgz_tjk_segment(reg):
    sid = reg.assign(("KGZ", "TJK"), *DOSTUK)
    assert re.fullmatch(r"KGZ-TJK-\d\d", sid)
    assert reg.distance_km(sid, *DOSTUK) < 25


def test_distances_are_in_km(reg):
    seg = reg.get("KAZ-RUS-050")
    lon, lat = seg.coords[0]
    assert reg.distance_km(seg.segment_id, lat, lon) == pytest.approx(0, abs=1e-9)
    north = lat + 20 / (math.pi / 180 * EARTH_RADIUS_KM)
    assert reg.distance_km(seg.segment_id, north, lon) <= 20.0 + 1e-6


def test_pair_level_segment_exists_for_any_sorted_pair(reg):
    unlisted = reg.get("AFG-USA")
    assert unlisted.pair_level and unlisted.countries == ("AFG", "USA") and unlisted.coords == ()
    assert reg.get("KGZ-TJK").name == "Kyrgyzstan–Tajikistan (whole border)"
    # a pair with no line loaded is named by its states, not by their codes
    assert reg.get("AGO-ZAF").name == "Angola–South Africa (whole border)"
    assert reg.pair_segment("TJK", "KGZ") == reg.get("KGZ-TJK")
    for bad in ("USA-AFG", "KGZ-KGZ", "kgz-tjk", "KGZ-TJK-999"):
        with pytest.raises(KeyError):
            reg.get(bad)
    assert reg.pairs_with("KGZ") == ["CHN-KGZ", "KAZ-KGZ", "KGZ-TJK", "KGZ-UZB"]
    assert reg.pairs_with("USA") == []
    with pytest.raises(ValueError):
        reg.distance_km("AFG-USA", *DOSTUK)


def test_a_smaller_configured_limit_is_honoured(reg):
    lat, lon = point_off_line(reg, "KGZ-TJK", 10)
    assert reg.assign(("KGZ", "TJK"), lat, lon) != "KGZ-TJK"
    tight = SegmentRegistry.from_geojson(max_distance_km=5)
    assert tight.max_distance_km == 5
    assert tight.assign(("KGZ", "TJK"), lat, lon) == "KGZ-TJK"
    with pytest.raises(ConfigError, match="max_distance_km"):
        SegmentRegistry.from_geojson(max_distance_km=0)


def feature(props, coords=((70.0, 40.0), (70.5, 40.0)), kind="LineString"):
    return {"type": "Feature", "properties": props, "geometry": {"type": kind, "coordinates": coords}}


def write(path, *features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
    return path


def test_a_user_segment_file_is_used_as_given(tmp_path):
    f = write(tmp_path / "segs.geojson",
              feature({"a": "TJK", "b": "KGZ", "segment_id": "KGZ-TJK-A", "name": "Batken"}),
              feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-B"}, [[70.5, 40.0], [70.5, 40.5], [71, 40.5]]))
    reg = SegmentRegistry.from_geojson(f)
    a, b = reg.segments()
    assert (a.segment_id, a.name, a.coords, a.countries) == ("KGZ-TJK-A", "Batken", ((70.0, 40.0), (70.5, 40.0)),
                                                             ("KGZ", "TJK"))
    assert (b.name, len(b.coords)) == ("KGZ-TJK-B", 3)
    assert a.length_km == pytest.approx(42.6, abs=0.1)  # 0.5 deg of longitude at 40N
    assert reg.borders() == ["KGZ-TJK"]
    assert reg.assign(("KGZ", "TJK"), 40.01, 70.2) == "KGZ-TJK-A"
    assert reg.assign(("KGZ", "TJK"), 40.4, 70.9) == "KGZ-TJK-B"
    assert reg.assign(("KGZ", "UZB"), 40.01, 70.2) == "KGZ-UZB"


@pytest.mark.parametrize("features, index, prop", [
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1"}),
      feature({"a": "kgz", "b": "TJK", "segment_id": "KGZ-TJK-2"})], 1, "a"),
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1"}), feature({"a": "KGZ", "b": "TJK"})],
     1, "segment_id"),
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-UZB-1"})], 0, "segment_id"),
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1"}),
      feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1"})], 1, "segment_id"),
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1"}, [[[70, 40], [71, 40]]], "MultiLineString")],
     0, "geometry"),
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1"}, [[40, 70], [40, 95]])], 0, "geometry"),
    ([feature({"a": "KGZ", "b": "TJK", "segment_id": "KGZ-TJK-1", "name": 7})], 0, "name"),
    ([feature({"a": "KGZ", "b": "TJK"}), feature({"a": "TJK", "b": "KGZ"})], 1, "a/b"),
])
def test_a_malformed_file_names_the_file_the_feature_and_the_property(tmp_path, features, index, prop):
    f = write(tmp_path / "bad.geojson", *features)
    with pytest.raises(ConfigError) as err:
        SegmentRegistry.from_geojson(f)
    assert str(err.value).startswith(f"{f}: feature {index}: {prop}: ")
    assert "; " in str(err.value)  # followed by the fix


def test_an_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="missing.geojson: cannot read"):
        SegmentRegistry.from_geojson(tmp_path / "missing.geojson")
    (tmp_path / "x.geojson").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="x.geojson: not a JSON file"):
        SegmentRegistry.from_geojson(tmp_path / "x.geojson")


def test_render_table_has_a_header_and_a_row_per_segment(reg):
    lines = render_table(reg).splitlines()
    assert lines[0].split() == ["id", "border", "length_km", "name"]
    assert len(lines) == len(reg.segments()) + 1
    name_at = lines[0].index("name")
    assert lines[1][name_at:] == reg.segments()[0].name
    assert all(line[name_at - 2: name_at] == "  " for line in lines)
