"""NAB scoring of series (detectors/nab.py): windows, weights, profiles, the threshold sweep."""

from __future__ import annotations

import random

import pytest

from detectors.nab import (MAX_TP, NAB_PROFILES, THRESHOLDS, NabTally, ThresholdCurve, best_thresholds, nab_windows,
                           probation_rows, scaled_sigmoid, tally)

STANDARD, LOW_FP, LOW_FN = NAB_PROFILES


def test_profiles_are_nabs_cost_matrices():
    assert [(p.name, p.tp, p.fp, p.fn) for p in NAB_PROFILES] == [
        ("standard", 1.0, 0.11, 1.0), ("low_fp", 1.0, 0.22, 1.0), ("low_fn", 1.0, 0.11, 2.0)]


def test_windows_are_centred_ten_percent_of_the_length_over_the_anomalies_and_merged():
    assert nab_windows(1000, [300, 700]) == [(275, 324), (675, 724)]  # 0.1 * 1000 / 2 = 50 rows
    assert nab_windows(1000, [500]) == [(450, 549)]
    assert nab_windows(1000, [300, 320]) == [(275, 344)]  # overlapping windows merge
    assert nab_windows(1000, [5, 995]) == [(0, 29), (970, 999)]  # cut at the ends, still centred
    assert nab_windows(1000, []) == []


def test_probation_is_fifteen_percent_at_most_750_rows():
    assert probation_rows(1000) == 150 and probation_rows(10_000) == 750


def test_silent_scores_zero_and_a_detection_on_each_windows_first_row_scores_100():
    windows = [(100, 149), (300, 349)]
    silent = tally([0.0] * 400, windows, 0.5)
    assert (silent.missed, silent.tp, silent.fp) == (2, 0.0, 0.0)
    assert all(silent.normalised(p) == 0.0 for p in NAB_PROFILES)
    perfect = [0.0] * 400
    perfect[100] = perfect[300] = 1.0
    assert all(tally(perfect, windows, 0.5).normalised(p) == pytest.approx(100.0) for p in NAB_PROFILES)


def test_only_the_first_detection_in_a_window_counts_and_earlier_is_worth_more():
    windows = [(100, 149)]
    late, early_and_more = [0.0] * 200, [0.0] * 200
    late[140] = 1.0
    for i in (110, 111, 130, 149):
        early_and_more[i] = 1.0
    t_late, t_early = tally(late, windows, 0.5), tally(early_and_more, windows, 0.5)
    assert t_early.tp == pytest.approx(scaled_sigmoid(-(149 - 110 + 1) / 50) / MAX_TP)
    assert 0.0 < t_late.tp < t_early.tp < 1.0
    assert t_early.fp == 0.0 and t_early.false_detections == 0


def test_false_detections_cost_fully_before_any_window_and_little_just_after_one():
    windows = [(100, 149)]
    before, just_after, long_after = ([0.0] * 400 for _ in range(3))
    before[50], just_after[151], long_after[399] = 1.0, 1.0, 1.0
    assert tally(before, windows, 0.5).fp == -1.0
    assert -0.15 < tally(just_after, windows, 0.5).fp < 0.0
    assert tally(long_after, windows, 0.5).fp < -0.99
    assert tally(before, windows, 0.5).normalised(LOW_FP) < tally(before, windows, 0.5).normalised(STANDARD)


def test_probation_rows_score_nothing():
    scores = [1.0] * 50 + [0.0] * 150
    assert tally(scores, [(100, 119)], 0.5, probation=50).false_detections == 0
    assert tally(scores, [(100, 119)], 0.5, probation=0).false_detections == 50


def _brute_force(scores, windows, threshold, probation) -> NabTally:
    """NAB's rules row by row, for one threshold: the reference the sweep must agree with."""
    t = NabTally(windows=len(windows))
    detected = set()
    for i in range(probation, len(scores)):
        if scores[i] < threshold:
            continue
        inside = [k for k, (lo, hi) in enumerate(windows) if lo <= i <= hi]
        if inside:
            k = inside[0]
            if k not in detected:
                detected.add(k)
                lo, hi = windows[k]
                t.tp += scaled_sigmoid(-(hi - i + 1) / (hi - lo + 1)) / MAX_TP
            continue
        before = [w for w in windows if w[1] < i]
        t.fp += -1.0 if not before else scaled_sigmoid((i - before[-1][1]) / max(before[-1][1] - before[-1][0], 1))
        t.false_detections += 1
    t.missed = len(windows) - len(detected)
    return t


@pytest.mark.parametrize("seed", range(5))
def test_the_threshold_sweep_agrees_with_row_by_row_scoring_at_every_threshold(seed):
    rng = random.Random(seed)
    n = 600
    scores = [rng.random() ** 3 for _ in range(n)]
    windows = nab_windows(n, sorted(rng.sample(range(150, 580), 3)))
    curve = ThresholdCurve(scores, windows, probation=90)
    for th in THRESHOLDS[::7] + (0.5, 1.0):
        got, want = curve.at(th), _brute_force(scores, windows, th, 90)
        assert (got.missed, got.false_detections) == (want.missed, want.false_detections)
        assert got.tp == pytest.approx(want.tp) and got.fp == pytest.approx(want.fp)
    with pytest.raises(ValueError):
        curve.at(0.505)


def test_best_threshold_is_the_one_with_the_highest_pooled_score():
    rng = random.Random(9)
    curves = [ThresholdCurve([rng.random() for _ in range(400)], [(200, 239)], 60) for _ in range(3)]
    best = best_thresholds(curves)
    for p in NAB_PROFILES:
        threshold, pooled = best[p.name]
        assert pooled.raw(p) == pytest.approx(max(NabTally.pooled(c.at(t) for c in curves).raw(p) for t in THRESHOLDS))
        assert NabTally.pooled(c.at(threshold) for c in curves).raw(p) == pytest.approx(pooled.raw(p))
