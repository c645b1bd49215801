"""Border ids are spelled in one place (alerts/borders.py); every reader and writer goes through it."""

import doctest

import pytest

import alerts.borders as borders
from alerts.borders import border_id, border_of_segment, is_border_id, is_iso3, normalise_border, states_of


def test_the_module_examples_hold():
    assert doctest.testmod(borders).failed == 0


@pytest.mark.parametrize("a, b", [("KGZ", "TJK"), ("TJK", "KGZ")])
def test_a_border_is_the_same_id_whichever_side_names_it(a, b):
    assert border_id(a, b) == "KGZ-TJK"
    assert states_of(border_id(a, b)) == ("KGZ", "TJK")


def test_a_segment_belongs_to_the_border_its_id_starts_with():
    assert border_of_segment("KGZ-TJK-03") == "KGZ-TJK"
    assert border_of_segment("KGZ-TJK") == "KGZ-TJK"  # a pair-level segment is its border


def test_a_negative_control_names_one_state():
    assert states_of("KGZ") == ("KGZ",)


@pytest.mark.parametrize("written, border", [("tjk-kgz", "KGZ-TJK"), (" TJK - KGZ ", "KGZ-TJK"), ("kgz", "KGZ")])
def test_what_people_write_is_read_as_the_id(written, border):
    assert normalise_border(written) == border


@pytest.mark.parametrize("text, ok", [("KGZ-TJK", True), ("TJK-KGZ", False), ("KGZ-KGZ", False), ("KGZ", False),
                                      ("kgz-tjk", False), ("KGZ-TJK-03", False), ("KG-TJK", False),
                                      ("KGZ-TJK\n", False)])
def test_only_a_sorted_pair_of_two_states_is_a_border_id(text, ok):
    assert is_border_id(text) is ok


@pytest.mark.parametrize("code, ok", [("KGZ", True), ("kgz", False), ("KG", False), ("KGZX", False), ("K1Z", False),
                                      ("KGZ\n", False)])
def test_a_state_is_an_upper_case_iso3_code(code, ok):
    assert is_iso3(code) is ok
