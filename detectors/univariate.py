"""Streaming detectors for one numeric series (``borderwatch score``).

Scores live on the project's common scale through :func:`detectors.calibration.surprise`: the upper-tail
probability ``p`` of the new value under the detector's model of the past becomes
``log10(1/p) / 4``, clamped to [0, 1]. So p = 1 % scores 0.5 (watch), 0.1 % scores 0.75
(warning) and 0.025 % scores 0.9 (critical), whichever detector produced p.

Causal by construction: ``score_one`` sees the model built from earlier values only, and
``learn_one`` folds the value in afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.calibration import nb_upper_tail, surprise  # noqa: F401 -- re-exported for callers


@dataclass
class EwmaZ:
    """Exponentially weighted mean and variance; the score is the normal upper tail of the new value.

    Assumes the recent past (about ``1/alpha`` points) is a fair baseline and deviations are
    roughly normal; fails on heavy-tailed counts (use a count model) and on slow drifts, which
    it absorbs. A value scoring at warning or above is learned clipped to mean + 3 sigma, so an
    unfolding escalation does not become the new normal at once.
    """

    alpha: float = 0.05
    warmup: int = 10
    min_std: float = 1e-6
    name: str = "ewma"
    n: int = 0
    mean: float = 0.0
    var: float = 0.0

    def score_one(self, x: float) -> float:
        if self.n < self.warmup:
            return 0.0
        std = max(math.sqrt(self.var), self.min_std)
        z = (x - self.mean) / std
        return surprise(0.5 * math.erfc(z / math.sqrt(2.0)))

    def learn_one(self, x: float) -> None:
        if self.n >= self.warmup:
            cap = self.mean + 3.0 * max(math.sqrt(self.var), self.min_std)
            if x > cap:
                x = cap
        self.n += 1
        if self.n == 1:
            self.mean, self.var = x, 0.0
            return
        a = self.alpha if self.n > self.warmup else 1.0 / self.n
        d = x - self.mean
        self.mean += a * d
        self.var = (1.0 - a) * (self.var + a * d * d)


@dataclass
class GammaPoisson:
    """Counts per step: a Gamma-Poisson (negative-binomial) predictive tail with forgetting.

    The rate has a Gamma(shape, rate) posterior, discounted by ``discount`` each step so the
    baseline follows slow change; the new count's score is the negative-binomial upper tail
    P(X >= x). Made for sparse incident counts, where a normal model calls every first event a
    disaster. Assumes non-negative integer values (others are rounded, negatives treated as 0);
    fails when counts are overdispersed beyond what the Gamma prior allows.
    """

    shape0: float = 0.5
    rate0: float = 1.0
    discount: float = 0.98
    name: str = "gamma-poisson"
    shape: float = 0.5
    rate: float = 1.0

    def __post_init__(self) -> None:
        self.shape, self.rate = self.shape0, self.rate0

    def score_one(self, x: float) -> float:
        k = max(0, int(round(x)))
        if k == 0:
            return 0.0
        # Predictive NB(r = shape, q = rate / (rate + 1)).
        return surprise(nb_upper_tail(k, self.shape, self.rate / (self.rate + 1.0)))

    def learn_one(self, x: float) -> None:
        k = max(0, int(round(x)))
        self.shape = self.discount * self.shape + (1 - self.discount) * self.shape0 + k
        self.rate = self.discount * self.rate + (1 - self.discount) * self.rate0 + 1.0


UNIVARIATE = {"ewma": EwmaZ, "gamma-poisson": GammaPoisson}
#: What ``--detector default`` means for a univariate series.
DEFAULT_UNIVARIATE = "ewma"


def make_univariate(name: str):
    key = DEFAULT_UNIVARIATE if name == "default" else name
    try:
        return UNIVARIATE[key]()
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: default, {', '.join(sorted(UNIVARIATE))}") from None
