"""The command line's counts (streams/wording.py)."""

from streams.wording import counted


def test_one_is_singular_and_every_other_count_plural():
    assert [counted(n, "row") for n in (0, 1, 2)] == ["0 rows", "1 row", "2 rows"]
    assert counted(1, "more row") == "1 more row" and counted(3, "dead letter") == "3 dead letters"
    assert counted(2, "child", "children") == "2 children" and counted(1, "child", "children") == "1 child"
