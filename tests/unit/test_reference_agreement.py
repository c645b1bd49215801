"""borderwatch's scorer and field rules against the vendored reference tools, on the development set.

The reference (tests/reference_eval/, verbatim copies of the shared evaluation) and the project
read the same vendored files: MIE 1.0 rows of 18 borders and their 243 labelled episodes. The
project's side loads the rows with its own MIE adapter, so these tests also hold the adapter's
dates (an unknown day is the 1st) to the reference reader's.
"""

import sys
from datetime import date
from types import SimpleNamespace

import pytest

from alerts.evaluation.scoring import real_line
from alerts.history import write_csv
from detectors.field_rules import FIELD_RULES
from streams.adapters import load
from streams.backtest import evaluate_records, field_rule_rows
from streams.labels import read_labels
from tests.conftest import DATA, DEV_LABELS, DEV_MIE

COVERAGE_END = date(2014, 12, 31)
FIGURES = {  # ours -> the reference's name for it
    "episodes": "episodes", "early": "early", "timely": "timely", "late": "late", "missed": "missed",
    "recall": "recall", "early_rate": "early_frac", "median_lead_days": "median_lead_days",
    "alerts": "alerts", "groups": "groups", "true_groups": "true_groups", "false_alarms": "false_alarms",
    "border_years": "years", "false_alarms_per_border_year": "false_alarms_per_year", "precision": "precision",
}


@pytest.fixture(scope="module")
def reference():
    """The vendored scorer and rules, imported as they run (each puts its own folder on sys.path)."""
    saved_path, saved_flag = list(sys.path), sys.dont_write_bytecode
    try:
        from tests.reference_eval import baselines, score_alerts
    finally:
        sys.path[:], sys.dont_write_bytecode = saved_path, saved_flag
    return SimpleNamespace(score_alerts=score_alerts, baselines=baselines)


@pytest.fixture(scope="module")
def dev_set():
    loaded = load([DEV_MIE], "mie")
    assert not loaded.errors and len(loaded.records) == 4428
    return loaded.records, read_labels(str(DEV_LABELS))


def reference_score(reference, alerts_csv, coverage_end=COVERAGE_END):
    sa = reference.score_alerts
    labels = sa.load_labels(str(DEV_LABELS))
    spans = sa.spans_from_events([str(DEV_MIE)], coverage_end)
    scope = {lab.border for lab in labels if lab.kind == "escalation"} | set(spans)
    return sa.score(labels, sa.load_alerts(str(alerts_csv)), spans, scope)


@pytest.mark.parametrize("system", ["default detector", *FIELD_RULES])
def test_every_episode_and_every_figure_as_the_reference_scores_them(system, dev_set, dev_set_backtest, reference,
                                                                     tmp_path):
    records, labels = dev_set
    rows = dev_set_backtest.history.rows() if system == "default detector" else \
        field_rule_rows(records, system, COVERAGE_END)
    alerts_csv = tmp_path / "alerts.csv"
    with open(alerts_csv, "w", newline="") as fh:
        write_csv(rows, fh)
    ref = reference_score(reference, alerts_csv)
    ours = evaluate_records(records, rows, labels, coverage_end=COVERAGE_END)

    assert len(ref["episodes"]) == 243
    assert {e.episode_id: (e.status, e.lead_days) for e in ours.episodes} == \
        {e["episode_id"]: (e["status"], e["lead_days"]) for e in ref["episodes"]}
    for border, theirs in ref["borders"].items():
        mine = ours.figures(border)
        assert {k: getattr(mine, k) for k in FIGURES} == pytest.approx({k: theirs[v] for k, v in FIGURES.items()}), \
            border
    mine, theirs = ours.figures(), ref["overall"]
    assert {k: getattr(mine, k) for k in FIGURES} == pytest.approx({k: theirs[v] for k, v in FIGURES.items()})
    assert (mine.major_recall, mine.major_early_rate) == pytest.approx((theirs["major_recall"], theirs["major_early"]))
    assert real_line(mine) == reference.score_alerts.real_line(ref)
    assert sorted(ours.borders) == sorted(ref["borders"]) and len(ours.borders) == 18


def alert_set(rows):
    """(border, opened, resolved, level) at day resolution: the alerts, whatever their ids."""
    return {(r["border"], r["opened_at"][:10], r["resolved_at"][:10], r["level"]) for r in rows}


@pytest.mark.parametrize("mie,coverage_end", [(DEV_MIE, COVERAGE_END),
                                              (DATA / "mie-1.0-central-asia.csv", None)],
                         ids=["dev set to 2014-12-31", "central asia to its last event"])
def test_each_field_rule_makes_the_reference_rules_alerts(mie, coverage_end, reference):
    records = load([mie], "mie").records
    theirs = reference.baselines.run_rules(reference.baselines.read_events(str(mie)), list(FIELD_RULES), coverage_end)
    for name in FIELD_RULES:
        ours = field_rule_rows(records, name, coverage_end)
        assert ours, name
        assert alert_set(ours) == alert_set(theirs[name]), name
        assert len(ours) == len(theirs[name]), name
