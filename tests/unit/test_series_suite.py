"""The labelled synthetic suite for `borderwatch score` (streams/series_suite.py) and the default on it."""

from __future__ import annotations

import random
import statistics

import pytest

from detectors.nab import NAB_PROFILES, probation_rows
from detectors.univariate import DEFAULT_UNIVARIATE, RobustSeasonal, make_univariate
from streams.series_suite import (BASELINES, FAMILIES, LENGTH, SEEDS, WATCH, evaluate, make_series, markdown,
                                  score_series, suite)

ANOMALIES = {"spike_up": 2, "spike_down": 2, "shift_up": 2, "shift_down": 2, "variance_up": 1, "variance_down": 1,
             "daily_rhythm": 2, "weekly_rhythm": 2, "calm": 0}


@pytest.fixture(scope="module")
def results():
    """The whole suite, as make eval runs it: the default and the baselines."""
    return {r.name: r for r in evaluate()}


def test_same_family_and_seed_same_series_and_seeds_differ():
    a, b = make_series("shift_up", 3), make_series("shift_up", 3)
    assert (a.timestamps, a.values, a.anomalies) == (b.timestamps, b.values, b.anomalies)
    assert make_series("shift_up", 4).values != a.values


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_series_is_labelled_with_nab_windows_after_the_probation(family):
    assert ANOMALIES.keys() == FAMILIES.keys()
    for seed in SEEDS:
        s = make_series(family, seed)
        assert len(s.values) == len(s.timestamps) == LENGTH and s.probation == probation_rows(LENGTH)
        assert all(b > a for a, b in zip(s.timestamps, s.timestamps[1:]))
        assert len(s.anomalies) == len(s.windows) == ANOMALIES[family]
        width = int(0.1 * LENGTH / max(len(s.anomalies), 1))
        for onset, (lo, hi) in zip(s.anomalies, s.windows):
            assert s.probation < lo <= onset <= hi < LENGTH and abs((lo + hi) / 2 - onset) <= 1
            assert hi - lo + 1 == width


def test_noise_kinds_and_irregular_timestamps_cycle_over_the_seeds():
    kinds = [make_series("calm", seed).noise for seed in SEEDS]
    assert set(kinds) == {"normal", "ar1", "student_t"}
    regular, irregular = (make_series("spike_up", seed).timestamps for seed in (0, 1))
    assert {b - a for a, b in zip(regular, regular[1:])} == {3600.0}
    assert max(b - a for a, b in zip(irregular, irregular[1:])) >= 40 * 3600.0  # odd seeds: dropped rows, a gap


def test_the_injected_patterns_are_there():
    shift = make_series("shift_up", 0)
    a, b = shift.anomalies
    assert statistics.mean(shift.values[b:]) > statistics.mean(shift.values[a:b]) > statistics.mean(shift.values[:a])
    wider = make_series("variance_up", 0)
    (onset,) = wider.anomalies
    assert statistics.stdev(wider.values[onset:]) > 2 * statistics.stdev(wider.values[:onset])
    spike = make_series("spike_down", 0)
    assert all(spike.values[i] == min(spike.values[i - 5:i + 6]) for i in spike.anomalies)


def test_the_default_beats_the_windowed_gaussian_and_the_ewma_on_every_nab_profile(results):
    d = results[DEFAULT_UNIVARIATE]
    for name in BASELINES:
        o = results[name]
        for p in NAB_PROFILES:
            assert d.tally(WATCH).normalised(p) > o.tally(WATCH).normalised(p), (name, p.name)
            assert d.best()[p.name][1].normalised(p) > o.best()[p.name][1].normalised(p), (name, p.name)


@pytest.mark.parametrize("family", [f for f in FAMILIES if ANOMALIES[f]])
def test_the_default_catches_every_anomaly_of_every_pattern_within_its_window(results, family):
    d = results[DEFAULT_UNIVARIATE]
    caught = d.tally(WATCH, family)
    assert caught.missed == 0 and caught.windows == ANOMALIES[family] * len(SEEDS)
    for name in BASELINES:  # and scores higher than each baseline on the pattern, at the watch line
        assert caught.normalised(NAB_PROFILES[0]) > results[name].tally(WATCH, family).normalised(NAB_PROFILES[0])


def test_the_suites_level_shifts_stop_alarming_once_adopted(results):
    d = results[DEFAULT_UNIVARIATE]
    patience = RobustSeasonal.patience
    for s, scores in zip(d.series, d.scores):
        if not s.family.startswith("shift"):
            continue
        ends = [lo for lo, _ in s.windows[1:]] + [LENGTH]
        for onset, end in zip(s.anomalies, ends):
            after = scores[onset + patience:end]
            assert sum(v >= WATCH for v in after) <= 0.02 * len(after), (s.family, s.seed, onset)


def _alarms_and_level(values, at_row: int) -> tuple[list[int], float]:
    d = make_univariate(DEFAULT_UNIVARIATE)
    alarms, level = [], 0.0
    for i, x in enumerate(values):
        t = 1.7e9 + 3600.0 * i
        if d.score_one(x, t) >= WATCH:
            alarms.append(i)
        d.learn_one(x, t)
        if i == at_row:
            level = d.level
    return alarms, level


@pytest.mark.parametrize("spreads", [2.0, 3.0, 6.0, 20.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_new_level_becomes_normal_within_the_stated_bound(spreads, sign):
    """Normal noise, a sustained shift at row 400: the shift is caught, its alarms end within
    `patience` rows, the level is re-centred, and from then on the detector alarms no more than
    on the same noise without the shift."""
    patience = RobustSeasonal.patience
    for seed in range(6):
        rng = random.Random(seed)
        noise = [rng.gauss(0, 2) for _ in range(800)]
        shifted, shifted_level = _alarms_and_level(
            [50.0 + e + (sign * spreads * 2 if i >= 400 else 0.0) for i, e in enumerate(noise)], 400 + patience)
        plain, _ = _alarms_and_level([50.0 + e for e in noise], 400 + patience)
        after_shift = [a - 400 for a in shifted if a >= 400]
        first_run_end = 0
        for a in after_shift:  # the first cluster: alarms at most 10 rows apart
            if a - first_run_end <= 10:
                first_run_end = a
        assert after_shift and after_shift[0] <= 10, "the shift itself is caught"
        assert first_run_end < patience
        assert abs(shifted_level - (50.0 + sign * spreads * 2)) < 1.5 * 2
        late = [a for a in shifted if a >= 400 + patience]
        assert len(late) <= len([a for a in plain if a >= 400 + patience]) + 1, (seed, late)


def test_markdown_has_a_row_per_detector_and_per_pattern_and_says_who_wins(results):
    table = markdown(list(results.values()))
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(results)
    assert rows[0].startswith(f"| `{DEFAULT_UNIVARIATE}` (default) |")
    for family in FAMILIES:
        assert sum(line.startswith(f"| {family} | ") for line in table.splitlines()) == len(results)
    assert (f"The default `{DEFAULT_UNIVARIATE}` beats `windowed-gaussian` and `ewma` on every NAB profile, at the "
            "watch line and at each detector's best threshold.") in table


def test_scoring_a_series_is_causal_and_repeatable():
    s = make_series("daily_rhythm", 2)
    first = score_series(make_univariate(DEFAULT_UNIVARIATE), s)
    assert first == score_series(make_univariate(DEFAULT_UNIVARIATE), s)
    assert len(suite(seeds=(0,), families=["calm"])) == 1
