import pytest

from alerts.escalation import EscalationPolicy
from detectors.rules import FatalityHighRule, SurgeRule, reference_stack


def test_levels_rise_at_once_and_fall_only_below_clear_lines():
    p = EscalationPolicy()
    assert p.next_level(0, 0.49) == 0
    assert p.next_level(0, 0.5) == 1
    assert p.next_level(0, 0.95) == 3
    # hovering just under a raise threshold keeps the level (no flapping)
    assert p.next_level(3, 0.85) == 3
    assert p.next_level(3, 0.80) == 2
    assert p.next_level(2, 0.66) == 2
    assert p.next_level(2, 0.1) == 0


def test_policy_rejects_inverted_thresholds():
    with pytest.raises(ValueError):
        EscalationPolicy(raise_at=(0, 0.5, 0.75, 0.9), clear_below=(0, 0.6, 0.65, 0.8))


def test_surge_rule_scores_a_doubling_at_the_watch_line():
    r = SurgeRule()
    assert r.score_one({"count_7d": 0, "weekly_mean_prior": 3}) == 0
    assert r.score_one({"count_7d": 2, "weekly_mean_prior": 1}) == pytest.approx(0.5)
    assert r.score_one({"count_7d": 1, "weekly_mean_prior": 1}) < 0.5
    # a quiet border: the floor keeps one incident from being an infinite surge
    assert 0.5 < r.score_one({"count_7d": 1, "weekly_mean_prior": 0}) < 0.75


def test_fatality_rule_at_and_below_yearly_high():
    r = FatalityHighRule()
    assert r.score_one({"fatalities_30d": 0, "fatalities_30d_prior_max": 0}) == 0
    assert r.score_one({"fatalities_30d": 1, "fatalities_30d_prior_max": 0}) == pytest.approx(0.8)
    assert r.score_one({"fatalities_30d": 4, "fatalities_30d_prior_max": 4}) >= 0.9
    # below the yearly high a death is still a watch: a deadly incident always raises one
    assert r.score_one({"fatalities_30d": 2, "fatalities_30d_prior_max": 10}) == EscalationPolicy().raise_at[1]


def test_reference_stack_takes_the_highest_and_explains_it():
    d = reference_stack()
    f = {"count_7d": 1, "weekly_mean_prior": 0, "fatalities_30d": 5, "fatalities_30d_prior_max": 0}
    assert d.score_one(f) == FatalityHighRule().score_one(f)
    assert d.explain(f).startswith("fatality_high:")
    assert isinstance(d.score_one({}), float)  # missing features are tolerated


def test_post_rules_min_hits_and_quiet_period():
    from alerts.escalation import EscalationPolicy

    p = EscalationPolicy(watch_min_hits=2, hits_window_days=7, suppress_days=30)
    assert not p.may_open(1, [10], 10, None)
    assert p.may_open(1, [4, 10], 10, None) and not p.may_open(1, [1, 10], 10, None)
    assert not p.may_open(1, [4, 10], 10, resolved_day=0)
    assert p.may_open(1, [35, 40], 40, resolved_day=0)
    assert p.may_open(2, [10], 10, resolved_day=5) and p.may_open(3, [], 10, resolved_day=5)
    with pytest.raises(ValueError):
        EscalationPolicy(watch_min_hits=0)


def test_an_alert_keeps_a_level_it_rose_to_for_a_week_and_still_resolves_at_once():
    """A busy border's weekly count going up and down across the critical line took its alert
    warning -> critical -> warning every day or two; a level risen to now stands for the week its
    count covers. Falling below the watch's clear line resolves the alert at once, held or not."""
    from types import SimpleNamespace

    from alerts.escalation import move

    p = EscalationPolicy()
    alarm = SimpleNamespace(level=0, alert=None, hits=[], resolved_day=None, seq=0, evaluated_day=None)

    def step(day: int, score: float, may_raise: bool = True) -> int:
        new = p.decide(alarm, day, score, may_raise=may_raise)
        if new != alarm.level:
            move(alarm, new, alert_id="al-1", at=f"day {day}", day=day, score=score)
        return alarm.level

    assert step(100, 0.8) == 2  # opens at warning
    assert step(101, 0.7) == 2  # between the lines: as ever
    assert step(102, 0.5) == 2  # under warning's clear line, but the warning rose on day 100
    assert step(106, 0.5, may_raise=False) == 2
    assert step(107, 0.5, may_raise=False) == 1  # a week on: it steps down
    assert step(108, 0.95) == 3
    assert step(110, 0.7) == 3 and step(114, 0.45, may_raise=False) == 3
    assert step(115, 0.7, may_raise=False) == 2  # critical's week over; the warning's was long ago
    assert step(116, 0.45) == 1
    assert step(117, 0.95) == 3 and step(118, 0.2) == 0  # resolves at once, in its first week
    assert EscalationPolicy(hold_days=0).decide(
        SimpleNamespace(level=3, alert={"opened_day": 1, "level_day": 5}, hits=[]), 5, 0.7, may_raise=True) == 2
    with pytest.raises(ValueError):
        EscalationPolicy(hold_days=-1)
