"""What each detector is for: calibration, the CUSUM, the forest adapter, the ensemble, priors."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from detectors import features as F
from detectors.base import ADAPT_AFTER_DAYS, WARM_UP_DAYS, Guarded, get_state
from detectors.calibration import TailCalibrator, p_from_score, pot_tail, surprise
from detectors.change import PoissonCusum
from detectors.registry import cusum
from detectors.ensemble import Corroborated
from detectors.forest import _Forest
from detectors.rules import CountTail, FatalityHighRule, violent_tail


def day(count=0, violent=0):
    return {"count_1d": count, "violent_1d": violent}


def test_surprise_and_its_inverse_agree():
    for s in (0.1, 0.5, 0.75, 0.9):
        assert surprise(p_from_score(s)) == pytest.approx(s)


def test_tail_calibrator_is_monotone_and_learns_what_is_common_here():
    cal = TailCalibrator()
    raws = [0.0, 0.3, 1.0, 2.5, 4.0, 7.0, 12.0]
    fresh = [cal.p(r, np.exp(-r)) for r in raws]
    rng = random.Random(1)
    for _ in range(400):  # a segment where a raw score near 4 is an ordinary day
        cal.learn(rng.choice([0.0, 0.0, 1.0, 4.2]))
    learned = [cal.p(r, np.exp(-r)) for r in raws]
    for ps in (fresh, learned):
        assert all(a >= b for a, b in zip(ps, ps[1:]))
    assert learned[4] > 10 * fresh[4]  # common here, so no longer surprising
    assert learned[-1] == fresh[-1]  # beyond anything seen, the theory speaks


def test_pot_tail_is_monotone_and_extrapolates_beyond_the_sample():
    rng = random.Random(2)
    train = sorted(rng.random() for _ in range(300))
    ps = [pot_tail(train, x) for x in (0.0, 0.5, 0.9, 0.99, 1.2, 2.0)]
    assert all(0 < p <= 1 for p in ps)
    assert all(a >= b for a, b in zip(ps, ps[1:]))
    assert ps[-1] < 1 / len(train)  # rarer than anything the sample can show
    flat = [0.4] * 100  # a quiet segment: every training day alike
    assert 0 < pot_tail(flat, 0.45) < pot_tail(flat, 0.4) == 1.0


def test_forest_walks_the_trees_as_sklearn_scores_them():
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(0)
    X = rng.poisson(0.4, (150, 9)).astype(float)
    model = IsolationForest(n_estimators=20, max_samples=150, random_state=3).fit(X)
    forest = _Forest(model, X.tolist())
    Y = rng.poisson(0.8, (30, 9)).astype(float)
    assert [forest.raw(r) for r in Y.tolist()] == pytest.approx((-model.score_samples(Y)).tolist())


def test_cusum_scoring_over_pending_days_equals_learning_them_first():
    """The pipeline hands unlearned days as lags; the result must not depend on that lag."""
    rng = random.Random(4)
    history = [day(*sorted((rng.choice([0, 0, 0, 0, 1, 2]),) * 2)) for _ in range(120)]
    recent = [(rng.choice([0, 1, 3]), rng.choice([0, 1])) for _ in range(10)]
    a, b = cusum(), cusum()  # as the registry makes it: guarded against learning an escalation
    for f in history:
        a.learn_one(f)
        b.learn_one(f)
    for count, violent in recent[:-1]:
        a.learn_one(day(count, violent))
    lags = {"pending_days": len(recent)}
    for k, (count, violent) in enumerate(reversed(recent)):
        lags[f"count_lag_{k}"], lags[f"violent_lag_{k}"] = count, violent
    assert b.score_one(lags) == pytest.approx(a.score_one(day(*recent[-1])))


def test_an_escalation_does_not_become_the_cusum_s_normal():
    guarded = cusum()
    d = guarded.inner
    rng = random.Random(5)
    quiet = [day(1, 0) if rng.random() < 0.03 else day() for _ in range(400)]
    for f in quiet:
        guarded.learn_one(f)
    baseline = d.shape / d.rate
    first = max(d.score_one(day(4, 3)), 0.0)
    for _ in range(20):  # three weeks of daily clashes
        guarded.learn_one(day(4, 3))
    assert d.shape / d.rate == pytest.approx(baseline, rel=0.05)
    for _ in range(120):  # calm again; the statistic decays
        guarded.learn_one(day())
    assert d.score_one(day(4, 3)) >= first - 1e-9  # the same escalation is as alarming again


def test_unguarded_the_cusum_takes_an_escalation_for_its_normal():
    """What the guard prevents: the bare CUSUM, told no day is escalating, learns the clashes."""
    d = PoissonCusum()
    for _ in range(400):
        d.learn_one(day())
    baseline = d.shape / d.rate
    for _ in range(20):
        d.learn_one(day(4, 3))
    assert d.shape / d.rate > 3 * baseline


def test_one_guard_line_for_every_learning_detector_from_the_policy():
    """The guard is the escalation policy's warning clear line, set by the pipeline, not a constant per detector."""
    from dataclasses import replace

    from alerts.escalation import EscalationPolicy
    from detectors.base import guards
    from detectors.registry import make_detector
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry

    policy = EscalationPolicy()
    stack = make_detector("ensemble")
    Pipeline(SegmentRegistry.default(), stack, policy=policy)
    assert [g.line for g in guards(stack)] == [policy.clear_below[2]]
    forest = make_detector("forest")
    stricter = replace(policy, clear_below=(0.0, 0.4, 0.6, 0.82))
    pipeline = Pipeline(SegmentRegistry.default(), forest, policy=stricter)
    assert [g.line for g in guards(forest)] == [0.6] and pipeline.segment_detectors.id.endswith("~0.6/365/30,fatality_high)")


def test_violent_tail_flags_first_violence_on_a_quiet_border_only():
    d = violent_tail()
    quiet_border = {"violent_7d": 1, "violent_365d": 1}
    violent_border = {"violent_7d": 1, "violent_365d": 14}
    assert d.score_one(quiet_border) >= 0.5 > d.score_one(violent_border)
    assert d.score_one({"violent_7d": 3, "violent_365d": 3}) > d.score_one(quiet_border)


def test_in_the_default_stack_a_cluster_of_violence_raises_a_warning_deaths_or_not_a_lone_clash_does_not():
    from detectors.registry import DEFAULT_DETECTOR, make_detector
    from detectors.rules import violence_cluster
    from streams.models import default_model

    stack = make_detector(DEFAULT_DETECTOR, default_model())
    cluster = violence_cluster()
    assert any(m is not None and getattr(m, "name", "") == "violence" for m in stack.members)
    # two armed clashes in two days, nobody killed, on a border with no violence in the year before
    two = {"count_1d": 1, "violent_1d": 1, "count_7d": 2, "violent_7d": 2, "count_365d": 6, "violent_365d": 2,
           "force_7d": 1, "force_30d": 1, "days_on_record": 300}
    lone = dict(two, count_7d=1, violent_7d=1, violent_365d=1)
    assert violent_tail().score_one(two) >= 0.75 and cluster.score_one(two) == violent_tail().score_one(two)
    assert stack.score_one(two) >= 0.75 and stack.explain(two).startswith("violence: ")
    assert 0.5 <= violent_tail().score_one(lone) < 0.75 and cluster.score_one(lone) == 0.0
    # on a border that sees violence every month the same cluster is no news
    assert cluster.score_one(dict(two, violent_365d=30)) == 0.0


def test_on_a_border_at_war_an_ordinary_week_of_violence_is_no_cluster():
    """The prior's two years' weight read 540 clashes in a year as 3.5 a week: the ten of an ordinary
    week were a cluster, and on a steadily violent border the warning came and went all year. A week
    as violent as the year's own rate is no news; one far above it still is."""
    from detectors.rules import LEVEL_SCORES, violence_cluster

    war = {"violent_7d": 13, "violent_365d": 553}  # 540 in the 51 weeks before: 10.6 a week
    own = violent_tail(against_own_year=True)
    assert own.score_one(war) < LEVEL_SCORES[0] and violence_cluster().score_one(war) == 0.0
    prior_only = violent_tail()  # the former default's gate keeps the prior alone
    assert prior_only.score_one(war) >= LEVEL_SCORES[1]  # what the cluster scored before
    surge = dict(war, violent_7d=40, violent_365d=580)
    assert violence_cluster().score_one(surge) >= LEVEL_SCORES[1]
    # after a year without violence the prior alone decides, as before: one clash a watch, two a warning
    for week in (1, 2, 3):
        first = {"violent_7d": week, "violent_365d": week}
        assert own.score_one(first) == prior_only.score_one(first)
    # after two in the year, two in a week are news at either rate, but less so at the border's own
    after_two = {"violent_7d": 2, "violent_365d": 4}
    assert LEVEL_SCORES[0] <= own.score_one(after_two) < LEVEL_SCORES[1] <= prior_only.score_one(after_two)


def test_a_steadily_violent_border_s_alert_does_not_come_and_go():
    """bench.state's border: 4.5 incidents a day, a third of them clashes or shelling, every day
    alike for two years. Its second year is its normal; with the cluster read against the prior
    alone its alert went from watch to warning and back 186 times in it, now it stays as it is."""
    from bench.state import stream
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry
    from streams.topics import KIND_INCIDENTS

    pipeline, states, steps = Pipeline(SegmentRegistry.default()), {}, [0, 0]
    for year, raw in stream(years=2):
        envs, _ = pipeline.route(KIND_INCIDENTS, raw)
        for env in envs:
            st = states.get(env.key) or states.setdefault(env.key, pipeline.new_state(env.key))
            steps[year] += len(pipeline.apply(st, env).alerts)
    assert steps[1] <= 10, steps


def test_a_calibration_read_back_from_json_is_the_one_that_was_saved():
    """A segment's state is stored after each batch and read back after a restart: the histogram
    must come back as it was (rounded, a restarted worker scored a hair apart from one that ran on)."""
    cal = TailCalibrator()
    for raw in [0.0] * 50 + [0.3, 2.7, 7.1, 9.9, 10.0] * 20:
        cal.learn(raw)
    back = TailCalibrator()
    back.load(json.loads(json.dumps(cal.state())))
    assert back.counts == cal.counts and back.n == cal.n
    assert [back.exceedance(r) for r in (0.3, 2.7, 9.9)] == [cal.exceedance(r) for r in (0.3, 2.7, 9.9)]


def test_a_young_violent_segment_s_own_rate_is_over_the_weeks_it_was_on_record():
    """Ten weeks on record with ten clashes a week: its own rate is ten a week, not the 100 of its
    year spread over 51 weeks. Read that way, every week of a border violent from its first day
    was a cluster (a warning); a week far above its own ten still is."""
    from detectors.rules import LEVEL_SCORES, violence_cluster

    young = {"violent_7d": 10, "violent_365d": 10 + 100, F.DAYS_ON_RECORD: 7 * 10 + 6}
    assert CountTail().weeks_before_record(young) == pytest.approx(F.PRIOR_WEEKS - 10)
    assert violence_cluster().score_one(young) == 0.0
    assert violence_cluster().score_one(dict(young, **{F.DAYS_ON_RECORD: 400})) >= LEVEL_SCORES[1]  # a year quiet but for these
    assert violence_cluster().score_one(dict(young, violent_7d=40, violent_365d=140)) >= LEVEL_SCORES[1]
    assert violent_tail(True).explain(young).endswith("chance at its own rate (10.00 a week over the 10 weeks it was on record)")


def test_the_count_model_explains_the_rate_it_read_the_week_at():
    """On a busy border the prior draws the weekly rate below the past year's: the explanation
    gives the rate the chance was read at, and the year's beside it. It quoted the year's alone:
    "16 incidents in 7 days has a 6.68% chance at the past year's rate (15.70 a week)"."""
    busy = {F.COUNT_7D: 16, F.COUNT_365D: 16 + 803}
    text = CountTail().explain(busy)
    assert f"{CountTail().tail(busy):.2%} chance at 10.44 a week (the past year's 15.70" in text
    violent = {"violent_7d": 12, "violent_365d": 12 + 540}  # the year's rate decides against its own year
    assert violent_tail(True).explain(violent).endswith("chance at the past year's rate (10.56 a week)")


def test_the_count_model_says_when_it_read_weeks_before_a_segments_first_incident_as_quiet():
    """A segment first seen ten weeks ago with 16 incidents a week: the model reads its past year as
    160 incidents in 51 weeks (3.13 a week), the 41 weeks before its first incident taken for quiet
    ones. The explanation says so; it quoted "the past year's 3.13" as if the segment had a year."""
    young = {F.COUNT_7D: 16, F.COUNT_365D: 16 + 160, F.DAYS_ON_RECORD: 7 * 10 + 6}
    assert CountTail().weeks_before_record(young) == pytest.approx(F.PRIOR_WEEKS - 10)
    assert CountTail().explain(young).endswith(
        "(the past year's 3.13, drawn toward a usual border's; the 41 weeks before its first incident counted as quiet)")
    a_year = dict(young, **{F.DAYS_ON_RECORD: 400})
    assert CountTail().weeks_before_record(a_year) == 0
    assert CountTail().explain(a_year).endswith("drawn toward a usual border's)")
    assert CountTail().tail(a_year) == CountTail().tail(young)  # the score is unchanged: the wording only


def _cusum_day(count: int, violent: int) -> dict[str, float]:
    return {"count_1d": float(count), "violent_1d": float(violent)}


def test_a_level_kept_for_a_year_becomes_the_learners_normal():
    """A guarded learner keeps an escalation out of its normal, but not for ever: two incidents a
    day after a quiet start stay an escalation for the year (the guard holds), and once they have
    lasted longer than that the CUSUM learns them and falls silent. Before the guard let go it
    scored 1.0 for good: a border busy from its first day stayed in a surge all its life."""
    rng = random.Random(3)
    guarded = Guarded(PoissonCusum(), line=0.6)
    scores = []
    for day in range(200):
        c = int(rng.random() < 0.05)
        scores.append(guarded.score_one(_cusum_day(c, 0)))
        guarded.learn_one(_cusum_day(c, 0))
    for day in range(3 * 365):
        f = _cusum_day(rng.choice([1, 2, 2, 3]), rng.randint(0, 1))
        scores.append(guarded.score_one(f))
        guarded.learn_one(f)
    shifted = scores[200:]
    assert min(shifted[30:ADAPT_AFTER_DAYS - 10]) >= 0.9  # the year: an escalation, not learned
    assert max(shifted[ADAPT_AFTER_DAYS + 60:]) < 0.5  # after it: the border's normal
    assert guarded.run == 0


def test_a_learner_s_first_month_is_its_normal_whatever_it_scores():
    """Two incidents a day from the first day: the guard has no normal to keep them out of, so
    the first month is learned and the CUSUM falls silent within weeks. Without the warm-up the
    prior's baseline (two incidents in 100 days) stays until the guard lets go a year later."""
    rng = random.Random(4)
    days = [_cusum_day(rng.choice([1, 2, 2, 3]), rng.randint(0, 1)) for _ in range(300)]
    scores = {}
    for warm_up in (WARM_UP_DAYS, 0):
        guarded = Guarded(PoissonCusum(), line=0.6, warm_up_days=warm_up)
        scores[warm_up] = []
        for f in days:
            scores[warm_up].append(guarded.score_one(f))
            guarded.learn_one(f)
    assert max(scores[WARM_UP_DAYS][WARM_UP_DAYS + 30:]) < 0.5
    assert min(scores[0][WARM_UP_DAYS + 30:]) >= 0.9


def test_quiet_days_learned_at_once_through_the_warm_up_as_day_by_day():
    """``learn_quiet`` across the end of the warm-up learns as ``learn_one`` of each day would."""
    at_once, day_by_day = (Guarded(PoissonCusum(), line=0.6, warm_up_days=10) for _ in range(2))
    for g in (at_once, day_by_day):
        for _ in range(4):
            g.learn_one(_cusum_day(6, 6))  # escalating, learned all the same: the warm-up
    at_once.learn_quiet(20)
    for _ in range(20):
        day_by_day.learn_one({"pending_days": 1, F.COUNT_LAGS[0]: 0, F.VIOLENT_LAGS[0]: 0})
    assert at_once.learned == 10
    assert json.dumps(get_state(at_once)) == json.dumps(get_state(day_by_day))


def test_quiet_days_learned_at_once_keep_the_guard_s_count():
    """``learn_quiet`` inside an escalation counts its days as ``learn_one`` would, through the
    guard letting go, bit for bit."""
    at_once, day_by_day = (Guarded(PoissonCusum(), line=0.6, adapt_after_days=5) for _ in range(2))
    for g in (at_once, day_by_day):
        for _ in range(30):
            g.learn_one(_cusum_day(0, 0))
        for _ in range(3):
            g.learn_one(_cusum_day(6, 6))
    assert at_once.run == 3
    at_once.learn_quiet(40)
    for _ in range(40):
        day_by_day.learn_one({"pending_days": 1, F.COUNT_LAGS[0]: 0, F.VIOLENT_LAGS[0]: 0})
    assert json.dumps(get_state(at_once)) == json.dumps(get_state(day_by_day))
    assert at_once.run == 0


def test_a_border_busy_from_its_first_day_is_not_in_a_surge_for_ever():
    """One to four calm incidents every day for three years, no deaths: the border's first month
    is learned as its normal, so its alert resolves within the first half-year and never comes
    back. With the CUSUM's guard holding for good it was open on 275 days of the third year, going
    from watch to warning and back 29 times; with the guard letting go after a year but no warm-up,
    on 359 days of the first year (44 steps) and 20 of the second."""
    from datetime import datetime, timedelta, timezone

    from alerts.timefmt import iso
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry
    from streams.topics import KIND_INCIDENTS

    rng = random.Random(5)
    t0 = datetime(2019, 1, 1, tzinfo=timezone.utc)
    pipeline, states = Pipeline(SegmentRegistry.default()), {}
    steps, open_days, i = [0, 0, 0], [0, 0, 0], 0
    for day in range(3 * 365):
        for k in range(rng.choice([1, 2, 2, 3, 3, 4])):
            when = iso(t0 + timedelta(days=day, hours=2 + 5 * k))
            rec = {"event_id": f"busy-{i}", "occurred_at": when, "reported_at": when, "source": "test",
                   "category": rng.choice(["incursion", "detention", "fortification", "shelling"]), "severity": 2,
                   "fatalities": 0, "injuries": 0, "countries": ["KAZ", "UZB"]}
            i += 1
            envs, _ = pipeline.route(KIND_INCIDENTS, json.dumps(rec).encode())
            for env in envs:
                st = states.get(env.key) or states.setdefault(env.key, pipeline.new_state(env.key))
                steps[day // 365] += len(pipeline.apply(st, env).alerts)
        open_days[day // 365] += any(st.level > 0 for st in states.values())
    assert open_days[0] <= 365 // 2, (steps, open_days)
    assert steps[1:] == [0, 0] and open_days[1:] == [0, 0], (steps, open_days)


def test_empirical_bayes_prior_recovers_the_rate_distribution():
    rng = np.random.default_rng(6)
    weeks = 51.0
    rates = rng.gamma(2.0, 1 / 20.0, 4000)  # Gamma(shape 2, rate 20) weekly rates
    observed = rng.poisson(rates * weeks) / weeks  # what one year of each segment shows
    prior = CountTail.fit_prior(observed.tolist(), weeks)
    assert prior.shape0 / prior.rate0 == pytest.approx(0.1, rel=0.1)
    assert prior.shape0 == pytest.approx(2.0, rel=0.3)


def test_corroborated_needs_agreement_but_a_gate_alarms_alone():
    class Fixed:
        def __init__(self, s, name):
            self.s, self.name = s, name

        def score_one(self, f):
            return self.s

        def learn_one(self, f):
            pass

        def explain(self, f):
            return self.name

    lone = Corroborated(gate=(Fixed(0.0, "g"),), votes=(Fixed(0.9, "a"), Fixed(0.0, "b")))
    both = Corroborated(gate=(Fixed(0.0, "g"),), votes=(Fixed(0.6, "a"), Fixed(0.6, "b")))
    gated = Corroborated(gate=(Fixed(0.8, "g"),), votes=(Fixed(0.0, "a"), Fixed(0.0, "b")))
    assert lone.score_one({}) < 0.5 <= both.score_one({})
    assert gated.score_one({}) == 0.8 and gated.explain({}).startswith("g")


def test_the_fatality_rule_speaks_in_the_default_stack():
    from detectors.registry import DEFAULT_DETECTOR, make_detector
    from streams.models import default_model

    d = make_detector(DEFAULT_DETECTOR, default_model())
    deadly = {"count_1d": 1, "violent_1d": 1, "count_7d": 1, "violent_7d": 1, "violent_365d": 30,
              "fatalities_30d": 3, "fatalities_30d_prior_max": 0}
    assert d.score_one(deadly) >= FatalityHighRule().score_one(deadly) >= 0.75


class Fixed:
    """A detector that always says ``s`` (pure-code fake)."""

    name = "fixed"

    def __init__(self, s):
        self.s = s

    def score_one(self, f):
        return self.s

    def learn_one(self, f):
        pass

    def explain(self, f):
        return "fixed"


def test_a_surge_speaks_in_full_on_a_busy_segment_only_far_out_on_a_quiet_one_and_not_on_a_new_one():
    from detectors import features as F
    from detectors.ensemble import WithBaseline

    busy = {F.COUNT_365D: 45, F.COUNT_7D: 5, F.DAYS_ON_RECORD: 400}
    quiet_year = {F.COUNT_365D: 6, F.COUNT_7D: 4, F.DAYS_ON_RECORD: 400}
    new = {F.COUNT_365D: 6, F.COUNT_7D: 4, F.DAYS_ON_RECORD: 119}
    months = {F.COUNT_365D: 6, F.COUNT_7D: 4, F.DAYS_ON_RECORD: 120}
    mild, far = WithBaseline(Fixed(0.55)), WithBaseline(Fixed(0.8))
    assert mild.score_one(busy) == 0.55 and far.score_one(busy) == 0.8
    assert mild.score_one(quiet_year) == 0.0 and far.score_one(quiet_year) == 0.8
    assert mild.sparse_min == 0.65 and WithBaseline(Fixed(0.65)).score_one(quiet_year) == 0.65
    assert far.score_one(new) == 0.0 and WithBaseline(Fixed(1.0)).score_one(new) == 0.0
    assert "a surge needs a score of 0.65" in mild.explain(quiet_year)
    assert far.score_one(months) == 0.8 and mild.score_one(months) == 0.0
    assert "less than 120 days on record" in far.explain(new) and far.explain(busy) == "fixed"


def test_a_cluster_where_incidents_are_rare_is_a_watch_unless_a_state_is_in_unrest_that_week():
    from detectors.calibration import LEVEL_SCORES
    from detectors.ensemble import QuietCluster
    from detectors.registry import hazard_stack
    from streams.models import default_model

    cluster = QuietCluster()
    woke = {F.COUNT_365D: 5, F.COUNT_7D: 4, F.DAYS_ON_RECORD: 400}  # four in a week after a quiet year
    assert cluster.score_one(woke) == LEVEL_SCORES[0]  # a watch, never more
    assert "4 incidents in 7 days where 1 came in the year before: a cluster where incidents are rare" \
        in cluster.explain(woke)
    assert cluster.score_one(dict(woke, **{F.COUNT_7D: 3, F.COUNT_365D: 4})) == 0.0  # three is no cluster
    assert cluster.score_one(dict(woke, **{F.COUNT_365D: 24})) == 0.0  # 20 in the year: a baseline, the surge's
    assert cluster.score_one(dict(woke, **{F.DAYS_ON_RECORD: 119})) == 0.0  # a new segment has no normal yet
    # 19 in its year: still a cluster, and for the count model a week past its 0.9 (as the class says)
    nineteen = dict(woke, **{F.COUNT_365D: 23})
    assert cluster.score_one(nineteen) == LEVEL_SCORES[0] and CountTail().score_one(nineteen) >= 0.9
    unrest = dict(woke, **{F.INTERNAL_7D: 2})  # protests on the segment that week
    assert cluster.score_one(unrest) == 0.0
    assert cluster.explain(unrest).endswith("internal unrest or conflict is on record this week: "
                                            "not read as an escalation between states")
    # the default stack has it: the week is a watch there too, though the forecast reads it lower
    stack = hazard_stack(default_model())
    assert stack.score_one(woke) == LEVEL_SCORES[0] and stack.score_one(unrest) < LEVEL_SCORES[0]


def test_what_a_stack_scores_beside_its_surge_views_is_deaths_and_forecasts_alone():
    from detectors.base import score_beside_surges
    from detectors.ensemble import WithBaseline
    from detectors.rules import MaxOf

    busy = {"count_365d": 45, "count_7d": 5, "days_on_record": 400}
    stack = MaxOf((Fixed(0.3), WithBaseline(Fixed(0.9))), name="stack")
    assert stack.score_one(busy) == 0.9 and score_beside_surges(stack, busy) == 0.3
    assert score_beside_surges(WithBaseline(Fixed(0.9)), busy) == 0.0
    assert score_beside_surges(Fixed(0.7), busy) == 0.7  # a detector with no surge view is all of itself
    assert score_beside_surges(MaxOf((Fixed(0.2), Fixed(0.4))), busy) == 0.4
