"""make eval's table code on tiny data (the full run is `make eval`, not a unit test)."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from detectors.registry import DETECTORS
from streams.eval_table import BEGIN, END, EvalInput, render, replace_block, run
from streams.records import decode_incident

T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)


def incident(n, days, fatalities=0, countries=("KGZ", "TJK")):
    when = (T0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return decode_incident(json.dumps({
        "event_id": f"t-{n}", "occurred_at": when, "reported_at": when, "source": "test", "category": "armed_clash",
        "severity": 4, "fatalities": fatalities, "injuries": 0, "countries": list(countries)}).encode())


TINY = EvalInput("tiny", [(
    [incident(1, 0), incident(2, 200), incident(3, 290), incident(4, 300, fatalities=2), incident(5, 301),
     incident(6, 330, countries=("KGZ", "UZB"))],
    [{"episode_id": "E1", "border": "KGZ-TJK", "start": "2020-10-27", "end": "2020-10-29", "kind": "escalation"},
     {"episode_id": "C1", "border": "UZB", "start": "2020-11-20", "end": "2020-11-30", "kind": "negative_control"}],
)], borders=["KGZ-TJK", "KGZ-UZB"], note="six incidents")


@pytest.fixture(scope="module")
def results():
    return run([TINY], DETECTORS)


def test_children_within_the_budget_give_the_same_rows(results):
    budgeted = run([TINY], DETECTORS, budget=120, jobs=2)
    assert [(r.detector, r.summary) for r in budgeted] == [(r.detector, r.summary) for r in results]


def test_a_detector_over_the_budget_is_stopped_and_its_row_says_so():
    stopped = run([TINY], ["reference"], budget=1e-6)
    assert [(r.detector, r.evaluation, r.over_budget) for r in stopped] == [("reference", None, 1e-6)]
    table = render(stopped, [TINY], default="reference")
    assert "| `reference` (reference rules, default, stopped: over the 1e-06 s budget) | – |" in table
    assert "No detector finished within the budget." in table


def test_a_row_per_registered_detector(results):
    assert sorted(r.detector for r in results) == sorted(DETECTORS)
    table = render(results, [TINY], default="count")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(DETECTORS)
    for name in DETECTORS:
        assert sum(row.startswith(f"| `{name}`") for row in rows) == 1
    assert rows[0].startswith("| `reference` (reference rules)")  # the yardstick comes first
    assert any(row.startswith("| `count` (default)") for row in rows)
    header = next(line for line in table.splitlines() if line.startswith("| detector"))
    assert all(row.count("|") == header.count("|") for row in rows)


def test_rows_are_the_evaluation_of_each_detector(results):
    for r in results:
        s = r.summary
        assert s["episodes"] == 1 and s["negative_controls"] == 1
        assert s["early"] + s["timely"] + s["late"] + s["missed"] == 1


def test_the_verdict_compares_the_default_with_the_reference_rules(results):
    table = render(results, [TINY], default="count")
    assert "Default `count`" in table and "the reference rules" in table
    assert "of 1 negative controls" in table  # the default's record on the controls is spelled out
    same = render(results, [TINY], default="reference")
    assert "The worker's default is `reference` itself." in same


def test_replace_block_keeps_everything_outside_the_markers():
    doc = f"# Title\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n"
    new = replace_block(doc, "new table\n")
    assert new == f"# Title\n\nbefore\n{BEGIN}\nnew table\n{END}\nafter\n"
    assert replace_block(new, "new table\n") == new


def test_replace_block_refuses_a_doc_without_markers():
    with pytest.raises(ValueError, match="eval:begin"):
        replace_block("# no markers\n", "x")
