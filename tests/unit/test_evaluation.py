import math
from datetime import date, timedelta

import pytest

from alerts.evaluation import NAB_PROFILES, Evaluation, evaluate, scaled_sigmoid


def alert(i, border, opened):
    return {"alert_id": f"a{i}", "border": border, "segment_id": border, "level": "warning",
            "opened_at": f"{opened}T00:00:00Z", "resolved_at": "", "score": "0.8", "summary": ""}


def label(eid, border, start, end, kind="escalation"):
    return {"episode_id": eid, "border": border, "start": start, "end": end, "kind": kind}


LABELS = [
    label("E-early", "KGZ-TJK", "2021-04-28", "2021-05-01"),
    label("E-timely", "KGZ-UZB", "2021-06-10", "2021-06-20"),
    label("E-late", "TJK-UZB", "2021-03-01", "2021-03-30"),
    label("E-missed", "AFG-TJK", "2021-08-01", "2021-08-02"),
    label("NC-ok", "TKM", "2021-09-01", "2021-09-05", "negative_control"),
    label("NC-hit", "KAZ", "2021-10-01", "2021-10-10", "negative_control"),
    label("old", "KGZ-TJK", "1999-01-01", "1999-01-02"),
]
ALERTS = [
    alert(1, "KGZ-TJK", "2021-04-08"),   # 20 days before onset: early
    alert(2, "KGZ-UZB", "2021-06-12"),   # 2 days after: timely
    alert(3, "TJK-UZB", "2021-03-20"),   # inside the episode, 19 days after onset: late
    alert(4, "AFG-TJK", "2021-05-01"),   # 92 days before onset: outside the window, a false alarm
    alert(5, "KAZ-UZB", "2021-10-03"),   # during the KAZ control: violates it, and is a false alarm
    alert(6, "KGZ-TJK", "2021-05-03"),   # end + 2 days: within the grace, not a false alarm
]


def test_each_outcome_by_its_definition():
    ev = evaluate(ALERTS, LABELS, date(2021, 1, 1), date(2021, 12, 31),
                  ["KGZ-TJK", "KGZ-UZB", "TJK-UZB", "AFG-TJK", "KAZ-UZB"])
    got = {e.episode_id: (e.outcome, e.lead_days) for e in ev.episodes}
    assert got == {"E-early": ("early", 20), "E-timely": ("timely", -2), "E-late": ("late", -19),
                   "E-missed": ("missed", None), "NC-ok": ("control_ok", None), "NC-hit": ("control_violated", None),
                   "old": ("not_covered", None)}
    s = ev.summary()
    assert (s["episodes"], s["early"], s["timely"], s["late"], s["missed"]) == (4, 1, 1, 1, 1)
    assert s["recall"] == 0.5 and s["median_lead_days"] == 9  # median of 20 and -2
    assert s["false_alarms"] == 2 and s["precision"] == round(4 / 6, 4)
    assert s["negative_controls_violated"] == 1 and s["not_covered"] == 1
    afg = ev.by_border["AFG-TJK"]
    assert (afg["false_alarms"], afg["missed"], afg["alerts"], afg["episodes"]) == (1, 1, 1, 1)
    assert ev.by_border["KAZ"]["negative_controls_violated"] == 1


def test_no_alerts_means_everything_missed_and_no_precision():
    ev = evaluate([], LABELS[:2], date(2021, 1, 1), date(2021, 12, 31), ["KGZ-TJK"])
    s = ev.summary()
    assert s["missed"] == 2 and s["precision"] is None and s["false_alarms_per_border_year"] == 0


def test_alerts_on_unscored_borders_are_not_scored_but_still_violate_controls():
    ev = evaluate(ALERTS, LABELS, date(2021, 1, 1), date(2021, 12, 31), ["KGZ-TJK"])
    s = ev.summary()
    assert s["alerts"] == 2 and s["false_alarms"] == 0  # only the KGZ-TJK alerts count
    assert s["negative_controls_violated"] == 1  # the KAZ-UZB alert still breaks the KAZ control


def test_exposure_runs_from_each_borders_first_data_to_the_end():
    ev = evaluate([], [], date(2000, 1, 1), date(2020, 12, 31), {"KGZ-TJK": date(2011, 1, 1), "KGZ-UZB": date(1990, 1, 1)})
    assert ev.border_years["KGZ-TJK"] == pytest.approx(10, abs=0.01)
    assert ev.border_years["KGZ-UZB"] == pytest.approx(21, abs=0.01)  # clipped to the data's start


def test_scaled_sigmoid_is_nabs():
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.5) == -1.0
    assert scaled_sigmoid(-0.9) > scaled_sigmoid(-0.5) > scaled_sigmoid(-0.1) > 0 > scaled_sigmoid(0.5)


ONE = [label("E", "KGZ-TJK", "2021-06-01", "2021-06-05")]
WINDOW_START = date(2021, 6, 1) - timedelta(days=60)


def nab(alert_days, labels=ONE, borders=("KGZ-TJK",)):
    rows = [alert(i, "KGZ-TJK", d.isoformat()) for i, d in enumerate(alert_days)]
    s = evaluate(rows, labels, date(2020, 1, 1), date(2021, 12, 31), list(borders)).summary()
    return {p.name: s[f"nab_{p.name}"] for p in NAB_PROFILES}


def test_nab_is_zero_for_silence_and_100_for_alerting_on_every_windows_first_day():
    assert set(nab([]).values()) == {0.0}
    assert set(nab([WINDOW_START]).values()) == {100.0}


def test_nab_rewards_earlier_warnings_and_ignores_later_alerts_in_the_window():
    early, onset, after = (nab([d])["standard"] for d in (WINDOW_START + timedelta(days=10), date(2021, 6, 1),
                                                        date(2021, 6, 7)))
    assert 100 > early > onset > after > 0
    assert nab([date(2021, 6, 1), date(2021, 6, 2)]) == nab([date(2021, 6, 1)])


def test_nab_false_alarms_cost_more_in_the_low_fp_profile_and_less_just_after_a_window():
    with_fp = nab([WINDOW_START, date(2020, 2, 1)])
    assert with_fp["low_fp"] < with_fp["standard"] < 100
    just_after, long_after = (nab([WINDOW_START, d])["standard"] for d in (date(2021, 6, 10), date(2021, 11, 1)))
    assert just_after > long_after


def test_nab_low_fn_profile_weighs_a_false_alarm_less_against_a_miss():
    two = ONE + [label("F", "KGZ-TJK", "2021-10-01", "2021-10-02")]
    assert set(nab([WINDOW_START], labels=two).values()) == {50.0}  # one of two windows, first day, no false alarm
    s = nab([WINDOW_START, date(2020, 2, 1)], labels=two)
    assert s["low_fn"] > s["standard"] > s["low_fp"]


def test_overlapping_windows_merge_into_one_nab_window():
    close = ONE + [label("F", "KGZ-TJK", "2021-06-20", "2021-06-21")]
    ev = evaluate([], close, date(2020, 1, 1), date(2021, 12, 31), ["KGZ-TJK"])
    assert ev.nab["KGZ-TJK"].windows == 1 and ev.summary()["episodes"] == 2


def test_merged_evaluations_add_up():
    a = evaluate(ALERTS, LABELS, date(2021, 1, 1), date(2021, 12, 31), ["KGZ-TJK", "AFG-TJK"])
    both = Evaluation.merge([a, a]).summary()
    one = a.summary()
    for key in ("episodes", "early", "missed", "alerts", "false_alarms", "negative_controls_violated"):
        assert both[key] == 2 * one[key]
    for key in ("recall", "precision", "false_alarms_per_border_year", "nab_standard"):
        assert both[key] == one[key]


def test_chance_recall_grows_with_the_false_alarm_rate_and_is_zero_without_false_alarms():
    def chance(n_false):
        rows = [alert(i, "KGZ-TJK", (date(2020, 1, 10) + timedelta(days=7 * i)).isoformat()) for i in range(n_false)]
        return evaluate(rows, ONE, date(2020, 1, 1), date(2021, 12, 31), ["KGZ-TJK"]).summary()["chance_recall"]

    assert chance(0) == 0.0
    assert 0 < chance(2) < chance(10) < chance(40) < 1
