"""The deadly-clash hazard model: artifact, probability scale, training with partial pooling, reliability."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest

from detectors import features as F
from detectors.calibration import LEVEL_SCORES, brier, reliability
from detectors.hazard import (INPUTS, RECORD_HALF_LIFE, RECORD_MIN, UNGROUNDED, HazardDetector, HazardModel, ModelError,
                              grounded, inputs)
from streams.training import Row, fit, target_windows, with_targets

LEVELS = {"watch": 0.085, "warning": 0.2, "critical": 0.4}


def model(**kw) -> HazardModel:
    n = len(INPUTS)
    base = dict(coef=tuple(0.1 * (i % 3) for i in range(n)), intercept=-2.0, mean=(0.5,) * n, scale=(1.0,) * n,
                levels=LEVELS, border_effects={"ISR-SYR": 0.7})
    base.update(kw)
    return HazardModel(**base)


def feats(force30=0.0, display30=0.0, quiet=400, **extra):
    f = {F.decayed_name("force", 30): force30, F.decayed_name("display", 30): display30, "days_since_fatal": quiet}
    f.update(extra)
    return f


def test_the_artifact_round_trips_and_its_digest_names_it():
    m = model(training={"rows": 3})
    again = HazardModel.from_json(m.to_json())
    assert again == m and again.digest == m.digest
    assert model(intercept=-1.0).digest != m.digest


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version=99), "format version"),
    (lambda d: d.update(colour="red"), "unknown field"),
    (lambda d: d.pop("coef"), "missing field"),
    (lambda d: d.update(coef=[1.0]), "need"),
    (lambda d: d.update(levels={"watch": 0.3, "warning": 0.2, "critical": 0.4}), "increasing"),
    (lambda d: d.update(inputs=["count_7d"]), "inputs"),
    # json.loads reads NaN and Infinity: a NaN coefficient scored every incident day critical
    (lambda d: d["coef"].__setitem__(0, float("nan")), "coef must be finite"),
    (lambda d: d.update(intercept=float("inf")), "intercept must be finite"),
    (lambda d: d["scale"].__setitem__(1, float("nan")), "scale must be finite"),
    (lambda d: d.update(border_effects={"KGZ-TJK": float("nan")}), "border_effects must be finite"),
    (lambda d: d.update(horizon_days=-5), "horizon_days must be a positive"),
])
def test_a_bad_artifact_is_refused_with_the_reason(change, message):
    d = json.loads(model().to_json())
    change(d)
    with pytest.raises(ModelError, match=message):
        HazardModel.from_json(json.dumps(d))


def test_level_probabilities_land_on_the_escalation_thresholds():
    m = model()
    for (name, p), s in zip(LEVELS.items(), LEVEL_SCORES):
        assert m.score(p) == pytest.approx(s)
        assert m.probability_at(s) == pytest.approx(p)
    grid = [i / 1000 for i in range(1, 1000)]
    scores = [m.score(p) for p in grid]
    assert scores == sorted(scores) and scores[0] == 0.0 and 0.0 <= min(scores) <= max(scores) <= 1.0
    assert m.level_of(0.05) is None and m.level_of(0.1) == "watch" and m.level_of(0.5) == "critical"


def test_inputs_are_log_counts_and_one_quiet_band():
    x = inputs(feats(force30=3.0, quiet=120))
    named = dict(zip(INPUTS, x))
    assert named["force_decay30"] == pytest.approx(math.log(4.0))
    assert [named[q] for q in ("quiet_lt30", "quiet_30_89", "quiet_90_364", "quiet_365_1824", "quiet_1825_plus")] \
        == [0, 0, 1, 0, 0]
    assert dict(zip(INPUTS, inputs({})))["quiet_1825_plus"] == 1  # never a death: the longest band


def test_a_known_border_gets_its_intercept_and_an_unknown_one_the_pooled_model():
    m = model()
    det = HazardDetector(m)
    f = feats(force30=2.0)
    assert det.for_border("ISR-SYR").probability(f) > det.probability(f) == det.for_border("KGZ-TJK").probability(f)
    assert det.for_border("ISR-SYR").identity == det.identity  # one model, one identity


def test_the_explanation_says_the_chance_what_the_level_means_and_the_precursors():
    det = HazardDetector(model(intercept=-1.0))
    f = feats(force30=2.0, force_30d=2, display_30d=3, quiet=200)
    text = det.explain(f)
    assert "chance of a deadly clash on this border within 60 days" in text
    assert "2 uses of force without deaths" in text and "3 shows of force" in text and "200 days ago" in text
    fc = det.forecast(f)
    assert fc["probability"] == pytest.approx(det.probability(f), abs=1e-4)
    assert fc["levels"]["watch"] == {"from": 0.085, "to": 0.2} and fc["levels"]["critical"]["to"] is None


def test_the_forecast_raises_no_level_where_no_deaths_are_on_record_unless_force_was_used_on_a_segment_with_a_record():
    det = HazardDetector(model(intercept=0.0))  # every probability here is far above watch
    calm_never = feats(display30=4.0, display_30d=4, quiet=F.NEVER)
    assert det.probability(calm_never) > LEVELS["watch"]
    assert det.score_one(calm_never) == 0.0 and det.forecast(calm_never)["level"] is None
    assert f"no level: {UNGROUNDED}" in det.explain(calm_never)
    assert not grounded({})  # nothing known: no deaths on record
    record = {F.decayed_name("display", RECORD_HALF_LIFE): 2.0, F.decayed_name("force", RECORD_HALF_LIFE): 0.5}
    assert sum(record.values()) == RECORD_MIN
    # force used on a segment's first incidents (too short a record): still no level
    for f in (dict(calm_never, force_30d=1), dict(calm_never, violent_30d=2, **{F.decayed_name("force", 1825): 2.4})):
        assert not grounded(f) and det.score_one(f) == 0.0 and det.forecast(f)["level"] is None
    # force used in the last 30 days on a segment with a record, or deaths on record (even today's): it speaks
    for f in (dict(calm_never, force_30d=1, **record), dict(calm_never, violent_30d=2, **record),
              feats(display30=4.0, quiet=0), feats(display30=4.0, quiet=4000)):
        assert grounded(f) and det.score_one(f) == det.model.score(det.probability(f)) > 0.5
        assert det.forecast(f)["level"] is not None


def synthetic_rows(seed=3, borders=8, n=400, effect_sd=1.0):
    """Rows where use of force raises the chance of an onset, and borders differ in their base rate."""
    rng = random.Random(seed)
    rows = []
    for b in range(borders):
        u = rng.gauss(0, effect_sd)
        for i in range(n):
            force = rng.choice([0.0, 0.5, 1.0, 3.0, 6.0])
            z = -2.5 + 0.9 * math.log1p(force) + u
            y = int(rng.random() < 1 / (1 + math.exp(-z)))
            rows.append(Row(f"B{b}", f"AAA-B{b:02d}", i, feats(force30=force, quiet=rng.choice([10, 100, 1000])), y))
    return rows


def test_fit_learns_the_precursor_and_pools_border_intercepts():
    rows = synthetic_rows()
    m = fit(rows, levels=LEVELS)
    coef = dict(zip(INPUTS, m.coef))
    assert coef["force_decay30"] > 0.3  # use of force raises the chance
    assert m.border_sd > 0.3 and set(m.border_effects) == {r.border for r in rows}
    # calibrated in the large: mean forecast close to the observed rate
    p = [m.probability(r.features, r.border) for r in rows]
    assert sum(p) / len(p) == pytest.approx(sum(r.target for r in rows) / len(rows), abs=0.01)
    # partial pooling: borders that do not differ get (nearly) no intercept of their own
    flat = fit(synthetic_rows(effect_sd=0.0), levels=LEVELS)
    assert flat.border_sd < m.border_sd and max(map(abs, flat.border_effects.values()), default=0.0) < 0.2


def test_fit_refuses_rows_without_both_outcomes():
    rows = [dataclasses.replace(r, target=0) for r in synthetic_rows(n=20)]
    with pytest.raises(ValueError, match="same target"):
        fit(rows)


def test_targets_follow_the_reference_early_window():
    """Early means 1-60 days before an onset, never before the previous episode of the border ended."""
    labels = [{"episode_id": "a", "border": "AAA-BBB", "start": "2000-03-01", "end": "2000-04-30", "kind": "escalation"},
              {"episode_id": "b", "border": "AAA-BBB", "start": "2000-06-15", "end": "2000-06-15", "kind": "escalation"}]
    [(a0, a1), (b0, b1)] = target_windows(labels)["AAA-BBB"]
    assert a1 - a0 == 59 and b0 == a0 + 60 + 60 + 1  # b's window starts the day after a's end (2000-05-01)
    rows = [Row("k", "AAA-BBB", d, {}) for d in (a0 - 1, a0, a1, a1 + 1, b0 - 1, b0, b1)]
    assert [r.target for r in with_targets(rows, labels)] == [0, 1, 1, 0, 0, 1, 1]


def test_reliability_bins_and_brier():
    pairs = [(0.01, 0)] * 99 + [(0.01, 1)] + [(0.3, 1)] * 3 + [(0.3, 0)] * 7
    bins = reliability(pairs)
    assert [(b.n, round(b.observed, 2)) for b in bins] == [(100, 0.01), (10, 0.3)]
    assert all(b.observed_lo <= b.observed <= b.observed_hi for b in bins)
    assert brier([(1.0, 1), (0.0, 0)]) == 0 and brier([(0.5, 1)]) == 0.25


def test_the_packaged_model_is_what_train_makes_from_the_bundled_data():
    """``make model`` is reproducible: the artifact in the package comes from the data in the repo."""
    from pathlib import Path

    from streams.models import DEFAULT_MODEL, default_model
    from streams.segments import SegmentRegistry
    from streams.training import DEFAULT_LEVELS, train

    data = Path(DEFAULT_MODEL).parent
    shipped = default_model()
    fresh = train([str(data / "mie-1.0-dev-borders.csv")], "mie", str(data / "escalations-mie-dev-borders.csv"),
                  registry=SegmentRegistry.default(), grace_days=14)
    assert fresh.training == shipped.training and dict(shipped.levels) == DEFAULT_LEVELS
    assert fresh.coef == pytest.approx(shipped.coef, abs=1e-4)
    assert fresh.intercept == pytest.approx(shipped.intercept, abs=1e-4)
    assert fresh.border_effects == pytest.approx(shipped.border_effects, abs=1e-4)
