"""make eval's table code on tiny data (the full run is `make eval`, not a unit test)."""

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from alerts.evaluation.scoring import FIGURE_COLUMNS
from detectors.field_rules import FIELD_RULES
from detectors.registry import detector_names
from streams.backtest import evaluate_records, field_rule_rows
from streams.eval_table import BEGIN, END, FIELD_RULE, EvalInput, _beats, render, replace_block, run
from streams.records import decode_incident

T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)
DETECTORS = detector_names()


def incident(n, days, fatalities=0, countries=("KGZ", "TJK")):
    when = (T0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return decode_incident(json.dumps({
        "event_id": f"t-{n}", "occurred_at": when, "reported_at": when, "source": "test", "category": "armed_clash",
        "severity": 4, "fatalities": fatalities, "injuries": 0, "countries": list(countries)}).encode())


RECORDS = [incident(1, 0), incident(2, 200), incident(3, 290), incident(4, 300, fatalities=2), incident(5, 301),
           incident(6, 330, countries=("KGZ", "UZB"))]
LABELS = [{"episode_id": "E1", "border": "KGZ-TJK", "start": "2020-10-27", "end": "2020-10-29", "kind": "escalation"},
          {"episode_id": "C1", "border": "UZB", "start": "2020-11-20", "end": "2020-11-30", "kind": "negative_control"}]
TINY = EvalInput("tiny", [(RECORDS, LABELS)], scope=["KGZ-TJK", "KGZ-UZB"], coverage_end=date(2020, 12, 31),
                 note="six incidents", per_border=True)


@pytest.fixture(scope="module")
def results():
    return run([TINY], DETECTORS)


def test_children_within_the_budget_give_the_same_rows(results):
    budgeted = run([TINY], DETECTORS, budget=120, jobs=2)
    assert [(r.name, r.kind, r.figures) for r in budgeted] == [(r.name, r.kind, r.figures) for r in results]


def test_a_detector_over_the_budget_is_stopped_and_its_row_says_so():
    stopped = run([TINY], ["reference"], budget=1e-6, rules=())
    assert [(r.name, r.evaluation, r.over_budget) for r in stopped] == [("reference", None, 1e-6)]
    table = render(stopped, [TINY], default="reference")
    assert "| `reference` (default, stopped: over the 1e-06 s budget) | – |" in table
    assert "No detector finished within the budget." in table


def test_a_row_per_registered_detector_then_per_field_rule(results):
    assert sorted(r.name for r in results if r.kind != FIELD_RULE) == sorted(DETECTORS)
    table = render(results, [TINY], default="count")
    rows = [line for line in table.split("*tiny, default")[0].splitlines() if line.startswith("| `")
            or line.startswith("| field rule")]
    assert len(rows) == len(DETECTORS) + len(FIELD_RULES)
    assert [row.split("`")[1] for row in rows] == sorted(DETECTORS) + list(FIELD_RULES)
    assert any(row.startswith("| `count` (default)") for row in rows)
    assert "| field rule `d` (d-any-incident) |" in table
    header = next(line for line in table.splitlines() if line.startswith("| detector"))
    assert header.count("|") == len(FIGURE_COLUMNS) + 2 and all(row.count("|") == header.count("|") for row in rows)


def test_rows_are_the_reference_evaluation_of_each_detector_and_rule(results):
    for r in results:
        f = r.figures
        assert f.episodes == 1 and f.early + f.timely + f.late + f.missed == 1
        # KGZ-TJK from its first incident (1 January) and KGZ-UZB from its only one (26 November), to 31 December
        assert f.controls_evaluable == 1 and f.border_years == pytest.approx((366 + 36) / 365.25)
    by = {r.name: r.figures for r in results if r.kind == FIELD_RULE}
    # d fires on every incident: day 290 is 10 days before the onset (early), days 0 and 200 are false
    # alarms, and day 330 on KGZ-UZB hits the UZB control: one more
    assert (by["d"].early, by["d"].median_lead_days, by["d"].false_alarms, by["d"].controls_hit) == (1, 10, 3, 1)
    assert (by["c"].timely, by["c"].early) == (1, 0)  # the deadly incident is the onset itself
    expected = evaluate_records(RECORDS, field_rule_rows(RECORDS, "a2z", date(2020, 12, 31)), LABELS,
                                coverage_end=date(2020, 12, 31), scope=TINY.scope).figures()
    assert by["a2z"] == expected


def test_the_default_gets_a_row_per_border_where_the_input_asks(results):
    table = render(results, [TINY], default="count")
    per_border = table.split("*tiny, default `count` per border*")[1]
    assert [line.split(" |")[0] for line in per_border.splitlines() if line.startswith("| ")][1:] == \
        ["| KGZ-TJK", "| KGZ-UZB", "| overall"]
    plain = EvalInput("plain", TINY.runs, TINY.scope, TINY.coverage_end)
    assert "per border*" not in render([r for r in results], [plain], default="count")


def verdict(results, default):
    return next(line for line in render(results, [TINY], default).splitlines() if line.startswith("Default"))


def test_the_verdict_names_the_field_rules_that_beat_the_default_and_those_it_beats(results):
    figures = {r.name: r.figures for r in results}
    assert _beats(figures["count"], figures["ensemble"])  # as early (not at all), fewer false alarms
    assert _beats(figures["a2z"], figures["ensemble"])  # earlier, as many false alarms
    assert not _beats(figures["d"], figures["a"]) and not _beats(figures["a"], figures["d"])  # a trade-off
    assert not _beats(figures["a2z"], figures["d"])  # a tie
    line = verdict(results, "ensemble")
    assert line.startswith("Default `ensemble`: recall 1.00, early 0.00, 2.73 false alarms per border-year.")
    assert "It beats none of the field rules." in line and "It hit 1 of 1 negative controls." in line
    assert "`a2z` (early 1.00 at 2.73)" in line.split("Field rules that beat it: ")[1]
    assert "Field rules that beat it" not in verdict(results, "surge")  # ties a2z and d, beats none, none beats it


def test_replace_block_keeps_everything_outside_the_markers():
    doc = f"# Title\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n"
    new = replace_block(doc, "new table\n")
    assert new == f"# Title\n\nbefore\n{BEGIN}\nnew table\n{END}\nafter\n"
    assert replace_block(new, "new table\n") == new


def test_replace_block_refuses_a_doc_without_markers():
    with pytest.raises(ValueError, match="eval:begin"):
        replace_block("# no markers\n", "x")


def test_without_escalations_the_verdict_speaks_of_false_alarms_only():
    quiet = EvalInput("quiet", [(RECORDS, [])], coverage_end=date(2020, 12, 31))
    line = next(line for line in render(run([quiet], ["surge"]), [quiet], "surge").splitlines()
                if line.startswith("Default"))
    # with nothing to warn of, every rule that raises fewer false alarms than surge beats it
    assert line.startswith("Default `surge`: no labelled escalation; ")
    assert "It beats none of the field rules." in line
    assert "Field rules that beat it: `a` (0.00), `a2` (0.91), `b` (0.00), `b2` (0.91), `c` (0.91)." in line


def test_the_generalisation_section_sets_in_sample_beside_cross_validated_and_the_ceiling(results):
    from detectors.calibration import reliability
    from streams.eval_table import Generalisation, render_generalisation

    figures = {r.name: r.figures for r in results if r.figures is not None}
    g = Generalisation("tiny", "count", figures["count"], figures["reference"], 3,
                       {"d": figures["d"], "c": figures["c"]}, reliability([(0.1, 1), (0.3, 0)]),
                       reliability([(0.12, 0)]), 0.2, 0.3)
    text = render_generalisation(g)
    assert "| `count` in-sample |" in text and "| `count` cross-validated |" in text
    assert "| field rule `d` (d-any-incident) |" in text and "3 folds" in text
    assert "| 10.0% to 15.0% | 1 | 10.0% | 100.0% | 1 | 12.0% | 0.0% |" in text
    assert "Brier score: in-sample 0.2000, cross-validated 0.3000." in text
    assert "by state" not in text  # only when it was run
    assert render_generalisation(None) == ""


def test_the_generalisation_section_adds_the_state_grouped_run_and_names_its_largest_group(results):
    from dataclasses import replace

    from detectors.calibration import reliability
    from streams.eval_table import Generalisation, render_generalisation

    figures = {r.name: r.figures for r in results if r.figures is not None}
    g = Generalisation("tiny", "count", figures["count"], figures["reference"], 3,
                       {"d": figures["d"], "c": figures["c"]}, reliability([(0.1, 1)]), reliability([(0.1, 1)]),
                       0.2, 0.3, figures["surge"], [("A-B", "B-C"), ("D-E",)])
    text = render_generalisation(g)
    assert "| `count` cross-validated by state |" in text
    assert "Cross-validated by state: 2 folds" in text and "(the largest: A-B, B-C)" in text
    d = figures["d"]
    assert f"cross-validated by state {figures['surge'].early_rate / d.early_rate:.0%} at" in text
    assert "by state" not in render_generalisation(replace(g, state_grouped=None))


def test_the_tables_show_rates_with_their_decimals_and_no_controls_as_a_dash(results):
    """A column of rates lines up (``1.00`` beside ``0.42``), and an input without negative controls
    shows none ("–"), not "0 of 0"."""
    table = render(results, [TINY], default="ensemble")
    row = next(line for line in table.splitlines() if line.startswith("| `ensemble`")).split(" | ")
    heading = next(line for line in table.splitlines() if line.startswith("| detector")).split(" | ")
    cell = dict(zip(heading, row))
    assert cell["recall"] == "1.00" and cell["early rate"] == "0.00" and cell["controls hit"] == "1 of 1"
    quiet = EvalInput("quiet", [(RECORDS, [])], coverage_end=date(2020, 12, 31))
    quiet_table = render(run([quiet], ["surge"]), [quiet], "surge")
    assert "0 of 0" not in quiet_table
    quiet_row = next(line for line in quiet_table.splitlines() if line.startswith("| `surge`")).split(" | ")
    assert dict(zip(heading, quiet_row))["controls hit"] == "–"


def test_the_former_default_runs_as_it_ran_its_guard_never_letting_go():
    """The row of the default before the hazard model is what that stack did then: its CUSUM's guard
    held for good, while today's stacks learn a level kept for a year (detectors.base.Guarded)."""
    from detectors.base import ADAPT_AFTER_DAYS, guards
    from streams.eval_table import FORMER_DEFAULT, worker_pipeline

    former, today = worker_pipeline(FORMER_DEFAULT), worker_pipeline("ensemble")
    assert [g.adapt_after_days for g in guards(former.detector)] == [None]
    assert [g.adapt_after_days for g in guards(today.detector)] == [ADAPT_AFTER_DAYS]
    assert former.segment_detectors.id != today.segment_detectors.id
