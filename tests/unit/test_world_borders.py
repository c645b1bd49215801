"""The world's land borders: their derivation from world-atlas TopoJSON (scripts/derive_world_borders.py)
and the bundled file streams/data/world-land-borders.geojson."""

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.segments import (SegmentRegistry, WorldBorders, build_segments, is_land_border, land_neighbours,
                              segment_file, state_name)
from streams.settings import load_settings, segment_files

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "derive_world_borders.py"

#: Two squares side by side, Kyrgyzstan (417) west of Tajikistan (762), sharing arc 0; arcs 1 and 2 are
#: their coasts. A third square without an id (a Somaliland) shares arc 3 with Tajikistan: not a border.
#: Quantized: positions are steps of 0.5 deg of longitude and 0.25 deg of latitude from (60, 30), each arc
#: a first position and then deltas.
TINY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.25], "translate": [60, 30]},
    "objects": {"countries": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "id": "417", "arcs": [[0, 1]], "properties": {"name": "Kyrgyzstan"}},
        {"type": "MultiPolygon", "id": "762", "arcs": [[[~0, ~3, ~2]]], "properties": {"name": "Tajikistan"}},
        {"type": "Polygon", "arcs": [[3, 4]], "properties": {"name": "Nowhere"}},
    ]}},
    "arcs": [
        [[20, 40], [0, 2], [0, 2]],             # (70, 40) -> (70, 40.5) -> (70, 41): the shared border
        [[20, 44], [-4, 0], [0, -4], [4, 0]],   # (70, 41) west and round to (70, 40): Kyrgyz coast
        [[20, 44], [4, 0], [0, -2]],            # (70, 41) -> (72, 41) -> (72, 40.5): Tajik coast
        [[24, 42], [0, -2], [-4, 0]],           # (72, 40.5) -> (72, 40) -> (70, 40): shared with Nowhere
        [[20, 40], [0, -4], [4, 0], [0, 6]],    # Nowhere's coast
    ],
}


def derive(tmp_path, topology):
    src = tmp_path / "countries-10m.json"
    src.write_text(json.dumps(topology), encoding="utf-8")
    out = tmp_path / "borders.geojson"
    res = subprocess.run([sys.executable, SCRIPT, src, "--out", out], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text(encoding="utf-8")), (tmp_path / "borders.pairs.txt").read_text(encoding="utf-8")


def test_a_shared_arc_is_the_border_and_coasts_and_uncoded_neighbours_are_not(tmp_path):
    doc, pairs = derive(tmp_path, TINY)
    (feature,) = doc["features"]
    props = feature["properties"]
    assert (props["a"], props["b"], props["name"], props["scale"]) == ("KGZ", "TJK", "Kyrgyzstan–Tajikistan", "1:10m")
    assert "Natural Earth" in props["license"] and "world-atlas" in props["source"]
    assert feature["geometry"] == {"type": "MultiLineString", "coordinates": [[[70.0, 40.0], [70.0, 40.5], [70.0, 41.0]]]}
    assert pairs == "KGZ-TJK\n"


def test_arcs_that_meet_end_to_end_are_joined_into_one_line(tmp_path):
    split = json.loads(json.dumps(TINY))
    split["arcs"][0] = [[20, 42], [0, 2]]             # (70, 40.5) -> (70, 41)
    split["arcs"].append([[20, 40], [0, 2]])          # arc 5: (70, 40) -> (70, 40.5)
    kgz, tjk = split["objects"]["countries"]["geometries"][:2]
    kgz["arcs"] = [[5, 0, 1]]
    tjk["arcs"] = [[[~0, ~5, ~3, ~2]]]
    doc, _ = derive(tmp_path, split)
    (feature,) = doc["features"]
    (line,) = feature["geometry"]["coordinates"]
    assert line in ([[70.0, 40.0], [70.0, 40.5], [70.0, 41.0]], [[70.0, 41.0], [70.0, 40.5], [70.0, 40.0]])


@pytest.fixture(scope="module")
def world():
    text = resources.files("streams").joinpath("data/world-land-borders.geojson").read_text("utf-8")
    return {f"{f['properties']['a']}-{f['properties']['b']}": f for f in json.loads(text)["features"]}


def test_the_bundled_world_file_has_the_land_borders_and_no_others(world):
    for pair in ("IND-PAK", "BGD-IND", "KGZ-TJK", "MEX-USA", "CAN-USA", "ETH-SOM", "KOR-PRK"):
        assert pair in world, pair
        assert world[pair]["geometry"]["type"] == "MultiLineString"
    for not_land in ("AFG-USA", "AFG-KAZ", "GBR-FRA", "RUS-USA"):
        assert not_land not in world
    assert world["BGD-IND"]["properties"]["name"] == "Bangladesh–India"
    assert len(world["KGZ-TJK"]["geometry"]["coordinates"]) == 2  # the Vorukh enclave ring


def test_the_pair_list_beside_it_is_the_same_pairs(world):
    listed = resources.files("streams").joinpath("data/world-land-borders.pairs.txt").read_text("utf-8").split()
    assert listed == sorted(world)


# ---------------------------------------------------------------------- placement on any land border
#: Near Benapole, the main Bangladesh–India road crossing: 4.3 km from the line.
BENAPOLE = (23.04, 88.89)
#: Nagpur, central India: hundreds of km from any border.
NAGPUR = (21.15, 79.09)
DOSTUK = (40.05229068, 70.63277194)


def test_a_border_with_only_a_world_line_is_found_at_the_pair_level():
    reg = SegmentRegistry.default()
    assert reg.nearest_border("BGD", *BENAPOLE) == ("BGD-IND", "BGD-IND")
    assert reg.nearest_border("IND", *BENAPOLE) == ("BGD-IND", "BGD-IND")
    assert reg.nearest_border("IND", *NAGPUR) is None
    assert SegmentRegistry.from_geojson(max_distance_km=3).nearest_border("BGD", *BENAPOLE) is None


def test_a_border_with_cut_segments_still_gives_the_nearest_segment():
    border, segment = SegmentRegistry.default().nearest_border("KGZ", *DOSTUK)
    assert border == "KGZ-TJK" and segment.startswith("KGZ-TJK-")


def test_a_pair_with_a_world_line_is_a_land_border_as_are_geonames_neighbours():
    assert is_land_border("BRA", "FRA")  # French Guiana: a line in Natural Earth, not a GeoNames pair
    assert is_land_border("SRB", "XKX")  # GeoNames only: Kosovo has no line
    assert not is_land_border("AFG", "USA")
    reg = SegmentRegistry.default()
    assert reg.watches("FRA", "BRA") and not reg.watches("AFG", "USA")


def test_a_border_through_a_dependency_counts_while_it_held():
    from datetime import date

    # South Africa and Angola: the line of South West Africa, which South Africa held until 1990-03-21
    assert is_land_border("ZAF", "AGO", on=date(1981, 8, 24)) and is_land_border("AGO", "ZAF", on=date(1990, 3, 20))
    assert not is_land_border("AGO", "ZAF", on=date(1990, 3, 21)) and not is_land_border("AGO", "ZAF")
    # the Soviet Union's Caucasus republics, until its end on 1991-12-26
    assert is_land_border("RUS", "TUR", on=date(1953, 5, 30)) and not is_land_border("RUS", "TUR", on=date(1992, 1, 1))
    # a span with a start: Hungary and the Soviet Union only from Transcarpathia's cession
    assert not is_land_border("HUN", "RUS", on=date(1945, 6, 28)) and is_land_border("HUN", "RUS", on=date(1956, 11, 4))
    # one that still holds is today's border, on any day and in the neighbours (Gibraltar)
    assert is_land_border("ESP", "GBR") and "GBR" in land_neighbours("ESP")
    assert is_land_border("CUB", "USA") and "CUB" in land_neighbours("USA")  # Guantánamo's fence line
    # one that still holds counts from the day it was first held: Morocco and Mauritania through
    # Western Sahara since Spain left it, Turkey and Cyprus since the ceasefire line of 1974
    assert is_land_border("MAR", "MRT") and is_land_border("MRT", "MAR", on=date(1981, 3, 16))
    assert not is_land_border("MAR", "MRT", on=date(1976, 2, 25))
    assert is_land_border("CYP", "TUR", on=date(1974, 8, 16)) and not is_land_border("CYP", "TUR", on=date(1964, 8, 8))
    # Australia and Indonesia through Papua New Guinea, until its independence on 1975-09-16
    assert is_land_border("AUS", "IDN", on=date(1964, 1, 1)) and not is_land_border("AUS", "IDN", on=date(1975, 9, 16))
    assert not is_land_border("AUS", "IDN", on=date(1963, 4, 30)) and "IDN" not in land_neighbours("AUS")
    assert not is_land_border("AFG", "USA", on=date(2001, 10, 7))
    # a state's own region before it seceded: Sudan and Uganda until South Sudan's independence
    assert is_land_border("SDN", "UGA", on=date(1997, 3, 1)) and not is_land_border("SDN", "UGA", on=date(2011, 7, 9))
    reg = SegmentRegistry.default()
    assert reg.watches("AGO", "ZAF", on=date(1981, 8, 24)) and not reg.watches("AGO", "ZAF")


def test_the_dependency_table_is_well_formed():
    from streams.segments import dependency_borders

    table = dependency_borders()
    assert len(table) >= 40
    for pair, spans in table.items():
        a, b = pair.split("-")
        assert a < b and state_name(a) and state_name(b), pair
        # a pair that is a line or a GeoNames pair today needs no row; a span that still holds is one
        assert all(s.until is not None for s in spans) or b in land_neighbours(a), pair
        for s in spans:
            assert s.through and (s.start is None or s.until is None or s.start <= s.until), s


def test_an_mie_backtest_alerts_on_a_dependency_border_only_while_it_held(tmp_path):
    from streams.backtest import run_backtest
    from streams.worker import build_pipeline

    header = "micnum,eventnum,ccode1,ccode2,stmon,stday,styear,endmon,endday,endyear,sidea1,action,hostlev," \
             "fatalmin1,fatalmax1,fatalmin2,fatalmax2,version\n"
    rows = ["9001,1,560,540,8,24,1981,8,24,1981,1,17,4,5,5,10,10,mie-1.0",  # Operation Protea's first day
            "9002,1,560,540,6,1,1995,6,1,1995,1,17,4,5,5,10,10,mie-1.0"]  # Namibia independent since 1990
    path = tmp_path / "ago-zaf.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    res = run_backtest([str(path)], "mie", build_pipeline(load_settings({}, environ={})))
    opened = [r["opened_at"][:10] for r in res.history.rows() if r["border"] == "AGO-ZAF"]
    assert opened == ["1981-08-24"]
    assert dict(res.non_border) == {"AGO-ZAF": 1}


def test_an_mie_backtest_never_reads_the_world_lines():
    from streams.backtest import run_backtest
    from streams.worker import build_pipeline

    WorldBorders.bundled.cache_clear()
    res = run_backtest([str(ROOT / "streams" / "data" / "mie-1.0-central-asia.csv")], "mie",
                       build_pipeline(load_settings({}, environ={})))
    assert res.non_border  # the pairs it asked about include states with no land border
    assert WorldBorders.bundled.cache_info().currsize == 0


# ---------------------------------------------------------------------- segments for any border
def test_any_border_is_cut_into_segments_a_segment_file_loads(tmp_path):
    out = tmp_path / "ind-pak.geojson"
    out.write_text(json.dumps(segment_file(build_segments(["IND-PAK"]))), encoding="utf-8")
    reg = SegmentRegistry.from_geojson(out)
    ids = [s.segment_id for s in reg.segments()]
    assert ids[:2] == ["IND-PAK-01", "IND-PAK-02"] and len(ids) > 30 and reg.borders() == ["IND-PAK"]
    lon, lat = reg.get("IND-PAK-10").coords[1]
    assert reg.assign(("PAK", "IND"), lat + 0.05, lon) in ids
    # named by their towns when built, so the worker never loads GeoNames' towns
    assert sum(s.place is not None for s in reg.segments()) > len(ids) / 2
    assert any("Lahore" in (s.place or "") for s in reg.segments())


def test_central_asian_borders_are_cut_as_the_bundled_ones():
    built = build_segments(["KGZ-TJK"])
    bundled = [s for s in SegmentRegistry.default().segments() if s.border == "KGZ-TJK"]
    assert [(s.segment_id, s.name, s.place) for s in built] == [(s.segment_id, s.name, s.place) for s in bundled]
    assert built[-1].name == "Kyrgyzstan–Tajikistan: Vorukh enclave"


def test_segment_files_load_next_to_the_bundled_borders(tmp_path):
    ind_pak, kgz_tjk = tmp_path / "ind-pak.geojson", tmp_path / "kgz-tjk.geojson"
    ind_pak.write_text(json.dumps(segment_file(build_segments(["IND-PAK"]))), encoding="utf-8")
    kgz_tjk.write_text(json.dumps(segment_file(build_segments(["KGZ-TJK"], target_km=200))), encoding="utf-8")
    reg = SegmentRegistry.with_files([ind_pak, kgz_tjk])
    default = SegmentRegistry.default()
    assert set(reg.borders()) == set(default.borders()) | {"IND-PAK"}
    assert len([s for s in reg.segments() if s.border == "KGZ-TJK"]) == 5  # the file's, not the bundled 14
    assert [s for s in reg.segments() if s.border == "KGZ-UZB"] == [s for s in default.segments() if s.border == "KGZ-UZB"]
    with pytest.raises(ConfigError, match=f"IND-PAK-01 is given by both {ind_pak} and {ind_pak}"):
        SegmentRegistry.with_files([ind_pak, ind_pak])


def test_the_segments_setting_lists_files_separated_by_commas():
    assert segment_files("a.geojson, b.geojson,") == ("a.geojson", "b.geojson")
    assert segment_files(["a.geojson", "b.geojson,c.geojson"]) == ("a.geojson", "b.geojson", "c.geojson")
    settings = load_settings({}, environ={"BORDERWATCH_SEGMENTS_FILE": "x.geojson,y.geojson"})
    assert settings.segment_files == ("x.geojson", "y.geojson")
    assert load_settings({}, environ={}).segment_files == ()
