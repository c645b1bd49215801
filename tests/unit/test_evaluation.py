"""The scorer's rules one by one, on hand-made alerts and labels (the reference agreement on real data is
tests/unit/test_reference_agreement.py)."""

import math
from datetime import date, timedelta

import pytest

from alerts.evaluation.scoring import (
    NAB_PROFILES,
    Evaluation,
    ScoringInputError,
    data_spans,
    evaluate,
    labels_from_rows,
    real_line,
    report_lines,
    scaled_sigmoid,
)

ONSET = date(2021, 6, 1)
SPAN = {"KGZ-TJK": (date(2020, 1, 1), date(2021, 12, 31))}


def alert(i, day, border="KGZ-TJK", level="warning"):
    return {"alert_id": f"a{i}", "border": border, "segment_id": border, "level": level,
            "opened_at": f"{day}T00:00:00Z", "resolved_at": "", "score": "0.8", "summary": ""}


def label(eid, start, end=None, border="KGZ-TJK", kind="escalation", **extra):
    return {"episode_id": eid, "border": border, "start": str(start), "end": str(end or start), "kind": kind, **extra}


def score(alert_days, labels=(label("E", ONSET, ONSET + timedelta(days=5)),), spans=SPAN, scope=None):
    rows = [a if isinstance(a, dict) else alert(i, a) for i, a in enumerate(alert_days)]
    return evaluate(rows, labels_from_rows(list(labels)), spans, scope)


def status(ev, eid="E"):
    e = next(e for e in ev.episodes if e.episode_id == eid)
    return e.status, e.lead_days


def days_before(n):
    return ONSET - timedelta(days=n)


# --------------------------------------------------------------------------- episodes

def test_a_same_day_alert_is_timely_not_early():
    assert status(score([ONSET])) == ("timely", 0)


def test_lead_60_is_early_and_61_is_not():
    assert status(score([days_before(60)])) == ("early", 60)
    assert status(score([days_before(61)])) == ("missed", None)
    assert status(score([days_before(1)])) == ("early", 1)


def test_timely_runs_three_days_after_onset_then_late_until_the_end():
    assert status(score([ONSET + timedelta(days=3)])) == ("timely", -3)
    assert status(score([ONSET + timedelta(days=4)])) == ("late", None)
    assert status(score([ONSET + timedelta(days=5)])) == ("late", None)  # the episode's last day
    assert status(score([ONSET + timedelta(days=6)])) == ("missed", None)


def test_the_earliest_alert_of_the_best_class_decides():
    ev = score([ONSET + timedelta(days=4), ONSET, days_before(10), days_before(30)])
    e = ev.episodes[0]
    assert (e.status, e.lead_days, e.alert_id) == ("early", 30, "a3")


def test_the_early_window_starts_after_the_previous_episode_ended():
    first = label("E1", days_before(40), days_before(20))
    second = label("E2", ONSET)
    during_first, after_first = days_before(25), days_before(19)
    ev = score([during_first], labels=[first, second])
    assert status(ev, "E2") == ("missed", None)  # inside E2's 60 days, but raised during E1
    assert status(ev, "E1") == ("late", None)
    assert next(e for e in ev.episodes if e.episode_id == "E2").early_from == days_before(19)
    assert status(score([after_first], labels=[first, second]), "E2") == ("early", 19)


def test_an_alert_before_the_cut_window_is_not_timely_either():
    # overlapping labels: E2 starts inside E1, so E2's window starts after E1's end
    first = label("E1", ONSET - timedelta(days=2), ONSET + timedelta(days=10))
    second = label("E2", ONSET, ONSET + timedelta(days=1))
    assert status(score([ONSET], labels=[first, second]), "E2") == ("missed", None)


def test_episodes_whose_onset_is_outside_the_span_are_not_scored():
    spans = {"KGZ-TJK": (date(2020, 1, 1), date(2021, 5, 31))}  # coverage ends the day before the onset
    ev = score([days_before(10)], spans=spans)
    assert ev.episodes == [] and [(x.episode_id, x.reason) for x in ev.not_scored] == [("E", "onset_out_of_span")]
    f = ev.figures()
    assert (f.episodes, f.not_scored, f.recall) == (0, 1, 0.0)
    assert f.true_groups == 1  # its window still makes the alert a true one


# --------------------------------------------------------------------------- alerts and groups

def test_alerts_within_7_days_of_a_groups_first_alert_form_one_group():
    quiet = date(2020, 3, 1)  # far from any window: every group is a false alarm
    f = score([quiet, quiet + timedelta(days=7)]).figures()
    assert (f.alerts, f.groups, f.false_alarms) == (2, 1, 1)
    f = score([quiet, quiet + timedelta(days=8)]).figures()
    assert (f.groups, f.false_alarms) == (2, 2)
    # measured from the group's first alert, not chained: 0, 5 and 10 make two groups
    f = score([quiet, quiet + timedelta(days=5), quiet + timedelta(days=10)]).figures()
    assert f.groups == 2


def test_a_group_is_true_when_one_of_its_alerts_is_in_a_window():
    f = score([days_before(65), days_before(59)]).figures()  # one group; its second alert is in the window
    assert (f.groups, f.true_groups, f.false_alarms, f.precision) == (1, 1, 0, 1.0)


def test_alerts_outside_scope_span_or_level_are_ignored_and_counted():
    rows = [alert(1, date(2019, 12, 31)),                      # before the border's first incident
            alert(2, date(2022, 1, 1)),                        # after the coverage end
            alert(3, days_before(5), border="KGZ-UZB"),        # a border out of scope
            alert(4, days_before(5), level="none"),            # below watch
            alert(5, days_before(5))]
    ev = score(rows, scope=["KGZ-TJK"])
    assert ev.ignored_alerts == {"below_min_level": 1, "out_of_scope": 1, "out_of_span": 2}
    assert ev.figures().alerts == 1 and status(ev) == ("early", 5)


def test_border_years_run_from_the_first_incident_to_the_coverage_end():
    spans = data_spans([("KGZ-TJK", date(2011, 1, 1)), ("KGZ-UZB", date(2000, 1, 1)), ("KGZ-TJK", date(2015, 6, 1))],
                       coverage_end=date(2020, 12, 31))
    assert spans == {"KGZ-TJK": (date(2011, 1, 1), date(2020, 12, 31)), "KGZ-UZB": (date(2000, 1, 1), date(2020, 12, 31))}
    assert data_spans([("KGZ-TJK", date(2011, 1, 1)), ("KGZ-UZB", date(2013, 1, 1))])["KGZ-TJK"][1] == date(2013, 1, 1)
    ev = evaluate([alert(1, date(2020, 3, 1))], [], spans)
    f = ev.figures()
    years = ((date(2020, 12, 31) - date(2011, 1, 1)).days + 1 + (date(2020, 12, 31) - date(2000, 1, 1)).days + 1) / 365.25
    assert f.border_years == pytest.approx(years)
    assert f.false_alarms_per_border_year == pytest.approx(1 / years)
    assert ev.figures("KGZ-UZB").border_years == ((date(2020, 12, 31) - date(2000, 1, 1)).days + 1) / 365.25


def test_a_coverage_end_before_a_borders_first_incident_or_a_border_without_data_is_refused():
    spans = data_spans([("KGZ-TJK", date(2011, 1, 1))], coverage_end=date(2010, 1, 1))
    with pytest.raises(ScoringInputError, match="span of KGZ-TJK") as exc:
        evaluate([], [], spans)
    assert exc.value.source == "coverage"
    with pytest.raises(ScoringInputError, match="KGZ-UZB has no incident") as exc:
        evaluate([], labels_from_rows([label("E", ONSET), label("F", ONSET, border="KGZ-UZB")]), SPAN)
    assert (exc.value.source, exc.value.row, exc.value.field) == ("labels", 2, "border")


# --------------------------------------------------------------------------- negative controls

SPANS3 = {b: (date(2020, 1, 1), date(2021, 12, 31)) for b in ("KGZ-TJK", "KGZ-UZB", "TJK-UZB")}
UNREST = label("NC-KGZ", date(2020, 5, 1), date(2020, 5, 20), border="KGZ", kind="negative_control")


def test_a_hit_control_is_one_false_alarm_and_its_groups_are_not_counted_again():
    rows = [alert(1, date(2020, 5, 2)), alert(2, date(2020, 5, 15)),      # two groups on KGZ-TJK
            alert(3, date(2020, 5, 3), border="KGZ-UZB"),                 # and one on KGZ-UZB
            alert(4, date(2020, 5, 3), border="TJK-UZB")]                 # not a border of KGZ
    ev = score(rows, labels=[UNREST], spans=SPANS3)
    (c,) = ev.controls
    assert c.hit and c.evaluable and c.hit_by == ["a1", "a2", "a3"] and c.touching == ("KGZ-TJK", "KGZ-UZB")
    f = ev.figures()
    assert (f.controls_hit, f.controls_evaluable, f.false_alarms, f.groups) == (1, 1, 2, 2)  # TJK-UZB's + the control
    assert ev.figures("KGZ-TJK").false_alarms == 0 and ev.figures("TJK-UZB").false_alarms == 1


def test_a_true_group_does_not_hit_a_control():
    inside = label("E", date(2020, 6, 10), border="KGZ-TJK")  # its window covers the unrest
    ev = score([date(2020, 5, 5)], labels=[inside, UNREST], spans=SPANS3)
    assert not ev.controls[0].hit and ev.figures().false_alarms == 0 and status(ev) == ("early", 36)


def test_a_control_outside_every_touching_borders_span_is_not_evaluable_and_never_hit():
    late = label("NC", date(2022, 3, 1), date(2022, 3, 5), border="KGZ", kind="negative_control")
    ev = score([date(2022, 3, 2)], labels=[late], spans=SPANS3)
    assert ev.controls[0].evaluable is False and not ev.controls[0].hit
    assert ev.figures().controls_evaluable == 0


def test_a_control_on_a_pair_touches_that_border_only():
    pair = label("NC", date(2020, 5, 1), date(2020, 5, 20), border="KGZ-TJK", kind="negative_control")
    ev = score([alert(1, date(2020, 5, 2), border="KGZ-UZB")], labels=[pair], spans=SPANS3)
    assert ev.controls[0].touching == ("KGZ-TJK",) and not ev.controls[0].hit
    assert ev.figures().false_alarms == 1


# --------------------------------------------------------------------------- figures

def test_the_figures_and_the_reference_line():
    labels = [label("E1", date(2021, 2, 1), major="1"), label("E2", date(2021, 6, 1), fatalities_reported="30"),
              label("E3", date(2021, 9, 1), fatalities_reported="3"), label("E4", date(2021, 11, 1))]
    ev = score([date(2021, 1, 11), date(2021, 6, 1), date(2021, 8, 4), date(2020, 3, 1)], labels=labels)
    f = ev.figures()
    assert (f.episodes, f.early, f.timely, f.late, f.missed) == (4, 2, 1, 0, 1)
    assert (f.recall, f.early_rate, f.median_lead_days, f.median_lead_warned_days) == (0.75, 0.5, 24.5, 21)
    assert (f.major_episodes, f.major_recall, f.major_early_rate) == (2, 1.0, 0.5)
    assert (f.groups, f.true_groups, f.false_alarms) == (4, 3, 1) and f.precision == 0.75
    assert real_line(f) == ("REAL recall=0.75 early=0.50 median_lead_days=25 "  # half up, as the reference rounds
                            f"false_alarms_per_year={1 / f.border_years:.2f} precision=0.75")
    text = report_lines(ev)
    assert text[0].split()[:3] == ["border", "episodes", "early"] and text[2].startswith("KGZ-TJK")
    assert any(line.startswith("OVERALL") for line in text)


def test_no_alerts_means_every_episode_missed():
    f = score([]).figures()
    assert (f.missed, f.recall, f.precision, f.false_alarms_per_border_year) == (1, 0.0, 0.0, 0.0)
    assert real_line(f) == "REAL recall=0.00 early=0.00 median_lead_days=0 false_alarms_per_year=0.00 precision=0.00"


def test_pooled_runs_add_up():
    one = score([days_before(10), date(2020, 3, 1)])
    both = Evaluation.merge([one, one])
    f1, f2 = one.figures(), both.figures()
    for key in ("episodes", "early", "alerts", "groups", "false_alarms"):
        assert getattr(f2, key) == 2 * getattr(f1, key)
    for key in ("recall", "early_rate", "precision", "false_alarms_per_border_year", "nab_standard"):
        assert getattr(f2, key) == pytest.approx(getattr(f1, key))


def test_labels_major_flag_and_bad_alert_rows():
    rows = [label("A", ONSET, major="0", fatalities_reported="90"), label("B", ONSET, fatalities_reported="25"),
            label("C", ONSET, fatalities_reported="")]
    assert [lab.major for lab in labels_from_rows(rows)] == [False, True, False]
    with pytest.raises(ScoringInputError, match="level") as exc:
        score([alert(1, ONSET, level="severe")])
    assert (exc.value.source, exc.value.row, exc.value.field) == ("alerts", 1, "level")
    with pytest.raises(ScoringInputError) as exc:
        score([alert(1, ONSET), dict(alert(2, ONSET), opened_at="2021-06-01T10:00:00")])  # no zone
    assert (exc.value.row, exc.value.field) == (2, "opened_at")


def test_an_alert_day_is_the_utc_date_of_its_opening():
    late_evening_east = dict(alert(1, ONSET), opened_at="2021-06-01T01:00:00+05:00")  # 31 May in UTC
    assert status(score([late_evening_east])) == ("early", 1)


# --------------------------------------------------------------------------- the NAB figure

def nab(alert_days, labels=(label("E", ONSET, ONSET + timedelta(days=4)),)):
    f = score(alert_days, labels=labels).figures()
    return {p.name: getattr(f, f"nab_{p.name}") for p in NAB_PROFILES}


def test_nab_is_zero_for_silence_100_for_every_windows_first_day_and_rewards_earlier_warnings():
    assert set(nab([]).values()) == {0.0}
    assert set(nab([days_before(60)]).values()) == {100.0}
    early, onset = (nab([d])["standard"] for d in (days_before(30), ONSET))
    assert 100 > early > onset > 0
    with_fp = nab([days_before(60), date(2020, 2, 1)])
    assert with_fp["low_fp"] < with_fp["standard"] < 100


def test_scaled_sigmoid_is_nabs():
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert scaled_sigmoid(0.0) == 0.0 and scaled_sigmoid(3.5) == -1.0
