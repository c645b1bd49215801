"""Every registered detector keeps the one streaming contract (detectors/base.py).

In the manner of river's check suite: input not mutated, missing and unknown features
tolerated, scores in [0, 1], pickle round-trip, JSON state round-trip (how the pipeline keeps a
detector per segment), same input and seed -> same scores, causal; a run of quiet days learned
at once (``learn_quiet``) as day by day.
"""

from __future__ import annotations

import copy
import json
import pickle
import random

import pytest

from detectors import features as F
from detectors.base import Detector, get_state, is_stateful, learn_quiet, learns_quiet, set_state
from detectors.registry import DEFAULT_DETECTOR, detector_names
from detectors.registry import make_detector as _make
from streams.models import default_model

NAMES = detector_names()


def make_detector(name):
    """Every registered detector, the ones built on a trained model with the packaged model."""
    return _make(name, default_model())


def stream(seed: int = 1, n: int = 200) -> list[dict[str, float]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        c1 = rng.choice([0] * 8 + [1, 2, 6])
        v1 = rng.randint(0, c1)
        c7 = c1 + rng.choice([0, 0, 0, 1, 2, 5])
        f30 = rng.choice([0, 0, 0, 1, 3])
        out.append({"count_1d": float(c1), "violent_1d": float(v1), "count_7d": float(c7),
                    "violent_7d": float(v1), "violent_365d": float(v1 + rng.randint(0, 3)),
                    "weekly_mean_prior": rng.random(), "count_30d": float(c7 * 2), "count_365d": float(c7 * 5),
                    "fatalities_30d": float(f30), "fatalities_30d_prior_max": float(rng.choice([0, 1, 4])),
                    "days_since_fatal": float(rng.choice([1, 40, 9999])),
                    **{name: rng.choice([0.0, 0.3, 1.0, 4.5]) for name in F.DECAYED_FEATURES}})
    return out


def run(detector, feats):
    scores = []
    for f in feats:
        scores.append(detector.score_one(f))
        detector.learn_one(f)
    return scores


@pytest.mark.parametrize("name", NAMES)
def test_follows_the_protocol_and_scores_in_unit_interval(name):
    d = make_detector(name)
    assert isinstance(d, Detector) and d.name
    scores = run(d, stream())
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert isinstance(d.explain(stream()[0]), str)


@pytest.mark.parametrize("name", NAMES)
def test_does_not_mutate_its_input(name):
    feats = stream()
    before = copy.deepcopy(feats)
    run(make_detector(name), feats)
    assert feats == before


@pytest.mark.parametrize("name", NAMES)
def test_tolerates_missing_and_unknown_features(name):
    d = make_detector(name)
    for f in ({}, {"count_7d": 2.0}, {"brand_new_feature": 7.0, "count_7d": 1.0}):
        s = d.score_one(f)
        d.learn_one(f)
        assert 0.0 <= s <= 1.0


def resumed(name: str, feats, split: int, restore) -> tuple[list[float], list[float]]:
    """Scores of one run, and of a run stopped at ``split`` and resumed from ``restore(detector)``."""
    whole = run(make_detector(name), feats)
    d = make_detector(name)
    first = run(d, feats[:split])
    return whole, first + run(restore(d), feats[split:])


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_mid_stream_gives_the_same_scores(name):
    whole, again = resumed(name, stream(3), 100, lambda d: pickle.loads(pickle.dumps(d)))
    assert again == whole


@pytest.mark.parametrize("name", NAMES)
def test_json_state_round_trip_mid_stream_gives_the_same_scores(name):
    """The pipeline stores what a detector learned in the segment's JSON state and rebuilds it."""
    def restore(d):
        fresh = make_detector(name)
        set_state(fresh, json.loads(json.dumps(get_state(d))))
        return fresh

    whole, again = resumed(name, stream(4), 120, restore)
    assert again == whole


@pytest.mark.parametrize("name", NAMES)
def test_same_input_same_scores(name):
    assert run(make_detector(name), stream(5)) == run(make_detector(name), stream(5))


@pytest.mark.parametrize("name", [n for n in NAMES if is_stateful(make_detector(n))])
def test_a_learning_detector_learns(name):
    """Stateful detectors change with what they learn (else they belong with the stateless rules)."""
    d = make_detector(name)
    before = json.dumps(get_state(d), sort_keys=True)
    run(d, stream(6, 150))
    assert json.dumps(get_state(d), sort_keys=True) != before


@pytest.mark.parametrize("name", [n for n in NAMES if is_stateful(make_detector(n)) and learns_quiet(make_detector(n))])
def test_a_run_of_quiet_days_learned_at_once_is_learned_as_day_by_day(name):
    """``learn_quiet(days)`` stands for ``learn_one`` of that many days without an incident (the
    pipeline's learning input of such a day), from a burst's aftermath down to rest, bit for bit."""
    empty = {"pending_days": 1, F.COUNT_LAGS[0]: 0, F.VIOLENT_LAGS[0]: 0}
    burst = [{"count_1d": 8.0, "violent_1d": 8.0}] * 6
    at_once, day_by_day = make_detector(name), make_detector(name)
    for d in (at_once, day_by_day):
        run(d, stream(7, 100) + burst)
    assert json.dumps(get_state(at_once)) == json.dumps(get_state(day_by_day))
    learn_quiet(at_once, 120)
    for _ in range(120):
        day_by_day.learn_one(empty)
    assert json.dumps(get_state(at_once)) == json.dumps(get_state(day_by_day))
    assert run(at_once, stream(8, 30)) == run(day_by_day, stream(8, 30))


def test_the_default_is_registered():
    assert DEFAULT_DETECTOR in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_causal_a_score_never_depends_on_later_data(name):
    a, b = stream(7), stream(7)
    b[150:] = stream(8)[150:]  # a different future
    assert run(make_detector(name), a)[:150] == run(make_detector(name), b)[:150]


def test_unknown_detector_names_the_known_ones():
    with pytest.raises(ValueError, match="reference"):
        make_detector("magic")


def test_a_model_detector_without_a_model_is_refused():
    with pytest.raises(ValueError, match="needs a trained model"):
        _make(DEFAULT_DETECTOR)
