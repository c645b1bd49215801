"""Every univariate detector (``borderwatch score``) keeps the streaming contract.

As tests/unit/test_detector_conformance.py does for the segment detectors: scores in [0, 1],
same input -> same scores, causal (a different future never changes a past score), pickle and
JSON state round-trips mid-stream give the same scores, a learning detector learns; and, for
series, missing values and timestamps are tolerated.
"""

from __future__ import annotations

import json
import math
import pickle
import random

import pytest

from detectors.base import get_state, set_state
from detectors.univariate import DEFAULT_UNIVARIATE, UNIVARIATE, make_univariate

NAMES = sorted(UNIVARIATE)
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def stream(seed: int = 1, n: int = 400) -> list[tuple[float, float]]:
    """(time, value): hourly with gaps, a daily cycle, noise, a spike, a level shift, small counts."""
    rng = random.Random(seed)
    out, t = [], T0
    for i in range(n):
        t += 3600.0 * (1 if rng.random() > 0.05 else rng.randint(2, 30))
        day = 10.0 * math.exp(-(((t % 86400) / 3600 - 14) / 3) ** 2)
        x = round(20 + day + rng.gauss(0, 1.5) + (12 if i == 250 else 0) + (6 if i > 320 else 0), 2)
        out.append((t, x))
    return out


def run(detector, rows) -> list[float]:
    scores = []
    for t, x in rows:
        scores.append(detector.score_one(x, t))
        detector.learn_one(x, t)
    return scores


@pytest.mark.parametrize("name", NAMES)
def test_scores_in_unit_interval_on_varied_series(name):
    rng = random.Random(2)
    series = {
        "mixed": stream(),
        "constant": [(T0 + i, 5.0) for i in range(100)],
        "constant then a step": [(T0 + i, 5.0 if i < 60 else 6.0) for i in range(100)],
        "sparse counts": [(T0 + 86400 * i, float(rng.random() < 0.05)) for i in range(300)],
        "huge level": [(T0 + 60 * i, 1e12 + rng.gauss(0, 1e-3)) for i in range(200)],
        # finite values whose squares overflow a float: a score, not an OverflowError
        "near the float range": [(T0 + 60 * i, rng.gauss(0, 1) * 1e300) for i in range(250)] + [(T0 + 15000, 1.7e308)],
        "no timestamps": [(None, rng.gauss(0, 1)) for _ in range(200)],
    }
    if name == "gamma-poisson":  # a count model: its negative-binomial tail sums one term per count
        del series["huge level"], series["near the float range"]
    for label, rows in series.items():
        scores = run(make_univariate(name), rows)
        assert all(0.0 <= s <= 1.0 for s in scores), label


@pytest.mark.parametrize("name", NAMES)
def test_same_input_same_scores(name):
    assert run(make_univariate(name), stream(5)) == run(make_univariate(name), stream(5))


@pytest.mark.parametrize("name", NAMES)
def test_causal_a_score_never_depends_on_later_rows(name):
    a, b = stream(7), stream(7)
    b[200:] = [(t, x * 3 + 50) for t, x in stream(8)[200:]]  # a different future
    assert run(make_univariate(name), a)[:200] == run(make_univariate(name), b)[:200]


def _resumed(name: str, rows, split: int, restore) -> tuple[list[float], list[float]]:
    whole = run(make_univariate(name), rows)
    d = make_univariate(name)
    first = run(d, rows[:split])
    return whole, first + run(restore(d), rows[split:])


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_mid_stream_gives_the_same_scores(name):
    whole, again = _resumed(name, stream(3), 180, lambda d: pickle.loads(pickle.dumps(d)))
    assert again == whole


@pytest.mark.parametrize("name", NAMES)
def test_json_state_round_trip_mid_stream_gives_the_same_scores(name):
    def restore(d):
        fresh = make_univariate(name)
        set_state(fresh, json.loads(json.dumps(get_state(d), allow_nan=False)))
        return fresh

    whole, again = _resumed(name, stream(4), 230, restore)
    assert again == whole


@pytest.mark.parametrize("name", NAMES)
def test_state_is_what_it_learns(name):
    d = make_univariate(name)
    before = json.dumps(get_state(d), sort_keys=True)
    run(d, stream(6, 150))
    assert json.dumps(get_state(d), sort_keys=True) != before


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_value_scores_zero_and_teaches_nothing(name):
    d = make_univariate(name)
    run(d, stream(9, 120))
    before = json.dumps(get_state(d), sort_keys=True)
    for bad in (math.nan, math.inf, -math.inf):
        assert d.score_one(bad, T0 + 10**7) == 0.0
        d.learn_one(bad, T0 + 10**7)
    assert json.dumps(get_state(d), sort_keys=True) == before


def test_the_default_is_registered_and_named_by_default():
    assert DEFAULT_UNIVARIATE in UNIVARIATE
    assert make_univariate("default").name == DEFAULT_UNIVARIATE
    with pytest.raises(ValueError, match="windowed-gaussian"):
        make_univariate("magic")


def test_windowed_gaussian_scores_values_near_the_float_range_as_it_scores_them_scaled_down():
    # The window's sums of squares overflow at 1e300; the score is a z, which does not depend on units.
    rng = random.Random(3)
    values = [rng.gauss(0, 1) for _ in range(300)] + [6.0, -4.0, 0.5]
    small = run(make_univariate("windowed-gaussian"), [(T0 + i, v) for i, v in enumerate(values)])
    huge = run(make_univariate("windowed-gaussian"), [(T0 + i, v * 1e300) for i, v in enumerate(values)])
    assert huge == pytest.approx(small, abs=1e-6)


def test_gamma_poisson_scores_counts_in_the_thousands_and_huge_ones_without_stepping_through_each():
    # A segment-sized count is summed as a series from P(0) = q**r; with counts in the thousands the
    # shape passes 1e5, q**r is 0.0, and the series said "P(X >= k) = 1": a doubling scored 0.
    rng = random.Random(1)
    d = make_univariate("gamma-poisson")
    for _ in range(200):
        d.learn_one(round(rng.gauss(2000, 45)))
    assert d.score_one(4000) == 1.0 and d.score_one(2010) < 0.5
    # a count of 1e12 took a step per count (it hung); now it is the closed form, at once
    big = make_univariate("gamma-poisson")
    big.learn_one(1e12)
    assert 0.0 <= big.score_one(1e12) <= 1.0
