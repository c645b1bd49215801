"""The field's rules on hand-made incidents (their agreement with the reference's own code on real data
is tests/unit/test_reference_agreement.py)."""

from datetime import date, timedelta

from detectors.field_rules import FIELD_RULES, RuleIncident, run_rule

D0 = date(2000, 1, 1)


def inc(day, hostility=4, deaths=0, border="KGZ-TJK", lasts=0):
    d = D0 + timedelta(days=day)
    return RuleIncident(border, d, d + timedelta(days=lasts), hostility, deaths, f"e{day}-{border}")


def spells(rule, incidents, end_day=None):
    end = D0 + timedelta(days=end_day) if end_day is not None else None
    return [((a.opened - D0).days, None if a.resolved is None else (a.resolved - D0).days)
            for a in run_rule(rule, incidents, end)]


def test_the_first_violent_incident_after_a_quiet_month_fires_a2z_only_for_its_week():
    incidents = [inc(0, hostility=3), inc(100)]
    assert spells("a2z", incidents) == [(100, None)]  # still holding on the last day of the data
    assert spells("a2z", incidents, end_day=200) == [(100, 107)]  # c7 drops to 0 a week later
    assert spells("a2", incidents, end_day=200) == [] and spells("a", incidents, end_day=200) == []


def test_a2_needs_violence_in_the_four_weeks_before_and_a_its_weekly_mean_of_one():
    assert spells("a2", [inc(0), inc(10)], end_day=100) == [(10, 17)]
    month = [inc(d) for d in range(0, 28, 7)]  # one violent incident a week: m4 = 1
    # day 29: two in the week [23, 29] against four in [-5, 22]; day 35: one in [29, 35] against four in [1, 28]
    assert spells("a", month + [inc(28), inc(29)], end_day=100) == [(29, 35)]
    assert spells("a", month + [inc(28)], end_day=100) == []  # c7 = 1 < 2 m4


def test_b2_fires_on_a_30_day_toll_above_the_past_years_highest():
    assert spells("b2", [inc(0, deaths=2)], end_day=400) == [(0, 1)]  # the next day ties it
    assert spells("b2", [inc(0, deaths=2), inc(40, deaths=1)], end_day=400) == [(0, 1)]  # below the year's high
    assert spells("b2", [inc(0, deaths=2), inc(400, deaths=1)], end_day=800) == [(0, 1), (400, 401)]  # a year on
    assert spells("b", [inc(0, deaths=99)], end_day=50) == [] and spells("b", [inc(0, deaths=100)], end_day=50) == [
        (0, 1)]


def test_c_and_d_alert_on_the_days_of_their_incidents_until_the_latest_ends():
    incidents = [inc(5, deaths=1, lasts=3), inc(5, hostility=3, lasts=9), inc(9, hostility=2), inc(12, hostility=3)]
    assert spells("c", incidents) == [(5, 8)]
    assert spells("d", incidents) == [(5, 14), (12, 12)]


def test_borders_are_separate_and_incidents_after_the_coverage_end_are_not_read():
    incidents = [inc(0, border="KGZ-TJK"), inc(3, border="KGZ-UZB"), inc(50, border="KGZ-UZB")]
    alerts = run_rule("d", incidents, D0 + timedelta(days=10))
    assert [(a.border, (a.opened - D0).days, a.level, a.rule) for a in alerts] == [
        ("KGZ-TJK", 0, "watch", "d"), ("KGZ-UZB", 3, "watch", "d")]


def test_every_rule_has_the_reference_name_and_level():
    assert list(FIELD_RULES) == ["a", "a2", "a2z", "b", "b2", "c", "d"]
    assert {r.name: r.level for r in FIELD_RULES.values()} == {
        "a": "warning", "a2": "warning", "a2z": "warning", "b": "critical", "b2": "warning", "c": "warning", "d": "watch"}
    assert all(r.title.startswith(f"{r.name}-") for r in FIELD_RULES.values())
