"""Place names of border segments (streams/places.py, data/segment-places.json)."""

import re

from streams.places import Town, bundled, describe, russian_name, towns
from streams.segments import SegmentRegistry

ISFARA = Town("Isfara", "Исфара", 40.12, 70.63, 37738)
BATKEN = Town("Batken", "Баткен", 40.06, 70.82, 12000)
KHOROG = Town("Khorugh", "Хорог", 37.49, 71.55, 30000)
LINE = ((70.60, 40.05), (70.70, 40.06), (70.80, 40.08))


def test_a_stretch_is_named_by_its_largest_nearby_towns_in_english_and_russian():
    assert describe(LINE, [BATKEN, ISFARA, KHOROG]) == {"en": "near Isfara and Batken", "ru": "в районе н.\u00a0п.\u00a0Исфара и Баткен"}


def test_with_no_town_close_the_nearest_gives_a_distance_and_none_far_gives_no_name():
    far_line = ((71.50, 38.20), (71.55, 38.25))
    named = describe(far_line, [KHOROG])
    assert re.search(r"\d\u00a0km from Khorugh$", named["en"]) and re.search(r"^в \d+\u00a0км от н.\u00a0п.\u00a0Хорог$", named["ru"])
    assert describe(((10.0, 10.0), (10.1, 10.1)), [KHOROG]) is None


def test_the_russian_name_is_in_the_russian_alphabet_alone():
    assert russian_name("Suluktu", ["Sulukta", "Сүлүктү", "Сулюкта"]) == "Сулюкта"
    assert russian_name("Razzakov", ["Ісфана", "Исфана"]) == "Исфана"
    assert russian_name("Nowhere", ["Nowhere-town"]) == "Nowhere"


def test_the_bundled_names_are_those_of_the_bundled_segments_and_up_to_date():
    reg = SegmentRegistry.default()
    names = bundled()
    ids = {s.segment_id for s in reg.segments()}
    assert set(names) <= ids and len(names) >= 0.9 * len(ids)
    # Recomputed for one border from GeoNames: what scripts/derive_segment_places.py wrote.
    candidates = towns(countries=["KG", "TJ", "UZ", "KZ", "AF", "CN"])
    for seg in reg.segments():
        if seg.border == "KGZ-TJK":
            assert names.get(seg.segment_id) == describe(seg.coords, candidates), seg.segment_id


def test_segments_carry_their_towns_from_the_bundled_names_and_from_a_segment_file(tmp_path):
    import json

    seg = SegmentRegistry.default().get("KGZ-TJK-01")
    assert seg.place == bundled()["KGZ-TJK-01"]["en"] and seg.title == f"{seg.name}, {seg.place}"
    path = tmp_path / "mine.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"segment_id": "KGZ-TJK-X", "a": "KGZ", "b": "TJK", "name": "Batken pass",
                                          "place": "near Batken", "place_ru": "в районе н.\u00a0п.\u00a0Баткен"},
        "geometry": {"type": "LineString", "coordinates": [[70.6, 40.0], [70.8, 40.05]]}}]}), encoding="utf-8")
    mine = SegmentRegistry.from_geojson(path).get("KGZ-TJK-X")
    assert (mine.title, mine.place_ru) == ("Batken pass, near Batken", "в районе н.\u00a0п.\u00a0Баткен")
