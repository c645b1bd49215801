"""Placing single-country events (ACLED, UCDP GED, GDELT) on land borders, and reading
compressed source files (streams/adapters/place.py, streams/adapters/files.py)."""

import gzip
import zipfile

import pytest

from streams.adapters.files import open_text
from streams.adapters.place import Placement, place
from streams.errors import SourceRowError
from streams.segments import SegmentRegistry, is_land_border, land_neighbours
from tests.unit.sourcefiles import packed

#: Near Dostuk on the Kyrgyz-Tajik line (Batken), about 5 km from the border.
BATKEN = (40.05229068, 70.63277194)
#: Bishkek, some 20 km from Kazakhstan; Naryn, far from every border.
BISHKEK, NARYN = (42.87, 74.6), (41.43, 75.99)


def test_land_borders_come_from_geonames():
    assert is_land_border("KGZ", "TJK") and is_land_border("TJK", "KGZ")
    assert is_land_border("BGD", "IND") and not is_land_border("AFG", "USA") and not is_land_border("AFG", "KAZ")
    assert {"TJK", "UZB", "KAZ", "CHN"} == land_neighbours("KGZ")


def test_nearest_border_of_a_country():
    reg = SegmentRegistry.default()
    border, segment = reg.nearest_border("KGZ", *BATKEN)
    assert border == "KGZ-TJK" and segment.startswith("KGZ-TJK-")
    assert reg.nearest_border("KGZ", *BISHKEK)[0] == "KAZ-KGZ"
    assert reg.nearest_border("KGZ", *NARYN) is None


def test_both_states_forces_make_it_interstate_on_their_border():
    p = place("KGZ", *BATKEN, coarse=False, foreign=["TJK", "KGZ"])
    assert p == Placement(("KGZ", "TJK"), *BATKEN, interstate=True)


def test_one_states_forces_across_the_line_are_interstate():
    p = place("BGD", 24.0, 89.0, coarse=False, foreign=["IND"])
    assert p.countries == ("BGD", "IND") and p.interstate


def test_a_coarse_location_stays_at_the_pair_level_with_actors_and_is_out_of_scope_without():
    with_actors = place("KGZ", *BATKEN, coarse=True, foreign=["TJK"])
    assert with_actors == Placement(("KGZ", "TJK"), interstate=True)  # no point: never on a segment
    assert place("KGZ", *BATKEN, coarse=True).reason == "coarse_location"
    assert place("KGZ", None, None, coarse=False).reason == "no_location"


def test_internal_conflict_near_a_border_is_context_and_far_from_one_out_of_scope():
    near = place("KGZ", *BATKEN, coarse=False)
    assert near.countries == ("KGZ", "TJK") and not near.interstate
    assert place("KGZ", *NARYN, coarse=False) == Placement(None, reason="far_from_border")


def test_internal_conflict_near_any_land_border_of_the_world_is_context_on_that_pair():
    near_benapole = place("BGD", 23.04, 88.89, coarse=False)  # 4 km from the Bangladesh–India line
    assert near_benapole == Placement(("BGD", "IND"), 23.04, 88.89, interstate=False)
    assert place("IND", 21.15, 79.09, coarse=False).reason == "far_from_border"  # Nagpur


def test_foreign_forces_from_a_state_with_no_shared_border_are_not_a_border_matter():
    assert place("AFG", 34.5, 69.2, coarse=False, foreign=["USA"]).reason == "non_border_pair"


@pytest.mark.parametrize("kind", ["plain", "gz", "zip"])
def test_source_files_are_read_plain_gzipped_or_zipped(tmp_path, kind):
    path = packed(tmp_path, "\ufeffa,b\n1,Ош\n".encode(), kind)
    with open_text(path) as fh:
        assert fh.read() == "a,b\n1,Ош\n"


def test_a_zip_with_several_data_files_or_a_broken_gzip_names_the_problem(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.csv", "x")
        z.writestr("b.csv", "y")
    with pytest.raises(SourceRowError, match="exactly one data file.*a.csv, b.csv"):
        open_text(path)
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(SourceRowError, match="not a readable gzip file"):
        open_text(bad)


def test_a_gzip_that_ends_early_or_a_zip_member_failing_its_checksum_is_a_file_error_as_it_is_read(tmp_path):
    """What an interrupted download looks like: both open fine and fail part-way through."""
    text = "".join(f"{i},row {i}\n" for i in range(20000)).encode()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(text)[:5000])
    with open_text(cut) as fh, pytest.raises(SourceRowError, match="damaged or ends early") as err:
        fh.read()
    assert err.value.path == str(cut) and err.value.line == 0
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ged.csv", text)
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the compressed member
    damaged.write_bytes(bytes(raw))
    with open_text(damaged) as fh, pytest.raises(SourceRowError, match=r"damaged or ends early.*(CRC|invalid)"):
        fh.read()
