"""The world's land borders: their derivation from world-atlas TopoJSON (scripts/derive_world_borders.py)
and the bundled file streams/data/world-land-borders.geojson."""

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

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
