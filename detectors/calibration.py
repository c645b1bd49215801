"""One common scale: raw detector scores -> [0, 1] through an upper-tail probability.

Every detector ends in :func:`surprise`: the upper-tail probability ``p`` of what it sees
becomes ``log10(1/p) / 4``, so p = 1 % scores 0.5 (watch), 0.1 % 0.75 (warning), 0.025 %
0.9 (critical), whichever detector produced p. One threshold set (alerts/escalation.py)
then serves them all.

Two monotone maps from a raw score to ``p``, both learned from score quantiles:

* :class:`TailCalibrator` -- for detectors with a theoretical tail (a CUSUM's ``exp(-S)``):
  ``p = max(p_theory, exceedance rate)``, where the exceedance rate is how often the
  segment's own learned (quiet) days reached that raw score, from a fixed-grid histogram
  with forgetting. A segment whose quiet history often looks like this stops being alarmed
  by it; the theory covers the tail that a short history cannot.
* :func:`pot_tail` -- for detectors without one (IsolationForest): the empirical
  exceedance below the 90 % quantile of the training scores and an exponential tail above
  it (peaks over threshold, as in SPOT), so scores beyond anything seen still rank.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Sequence

LOG10_SCALE = 4.0
#: The alert levels and where each is raised on the common scale (alerts/escalation.py decides
#: with these; a detector that speaks probabilities maps its level probabilities onto them).
LEVEL_NAMES: tuple[str, ...] = ("watch", "warning", "critical")
LEVEL_SCORES: tuple[float, ...] = (0.5, 0.75, 0.9)
#: Where each level clears (falls back a level) on the same scale: lower than its raise line, so a
#: score hovering at a line does not flap. A day at the warning's clear line or above is an
#: escalation under way, which a learning detector must not take for normal (detectors.base.Guarded).
CLEAR_SCORES: tuple[float, ...] = (0.4, 0.65, 0.82)


def surprise(p_upper: float) -> float:
    """Upper-tail probability -> [0, 1]; 1 % -> 0.5, 0.1 % -> 0.75, 0.025 % -> 0.9."""
    if p_upper >= 1.0:
        return 0.0
    if p_upper <= 1e-300:
        return 1.0
    return min(1.0, max(0.0, math.log10(1.0 / p_upper) / LOG10_SCALE))


def p_from_score(s: float) -> float:
    """Inverse of :func:`surprise` on (0, 1)."""
    return 10.0 ** (-LOG10_SCALE * s)


@dataclass
class TailCalibrator:
    """Monotone map raw -> p = max(p_theory, share of learned raw scores >= raw).

    ``edges``: the histogram grid over raw scores (increasing); ``decay`` forgets old days
    (about a two-year memory by default); ``pseudo_days`` keeps one early exceedance from
    meaning p = 1.
    """

    edges: tuple[float, ...] = tuple(0.5 * i for i in range(1, 41))
    decay: float = 1.0 - 1.0 / 730
    pseudo_days: float = 30.0
    counts: list[float] = field(default_factory=list)
    n: float = 0.0

    def learn(self, raw: float) -> None:
        if not self.counts:
            self.counts = [0.0] * (len(self.edges) + 1)
        self.counts = [c * self.decay for c in self.counts]
        self.n = self.n * self.decay + 1.0
        self.counts[bisect.bisect_right(self.edges, raw)] += 1.0

    def exceedance(self, raw: float) -> float:
        """Share of learned raw scores in ``raw``'s bin or above (conservative: the whole bin counts)."""
        if not self.counts or raw <= 0.0:
            return 1.0 if raw <= 0.0 else 0.0
        i = bisect.bisect_right(self.edges, raw)
        return sum(self.counts[i:]) / (self.n + self.pseudo_days)

    def p(self, raw: float, p_theory: float) -> float:
        return max(p_theory, self.exceedance(raw))

    def state(self) -> dict:
        # Exact, not rounded: a segment's state is stored after every batch and read back after a
        # restart, and a count rounded there scored a hair apart from the run that never stopped.
        return {"counts": list(self.counts), "n": self.n}

    def load(self, d: dict) -> None:
        self.counts, self.n = list(d.get("counts") or []), float(d.get("n") or 0.0)


def pot_tail(train: Sequence[float], raw: float, q: float = 0.9, min_sigma: float = 0.02) -> float:
    """Upper-tail probability of ``raw`` among sorted training scores ``train`` (ascending).

    Empirical below the ``q`` quantile ``u``; above it ``(1 - q) * exp(-(raw - u) / sigma)``
    with ``sigma`` the mean excess over ``u`` (exponential peaks over threshold), floored at
    ``min_sigma`` so a training set of identical scores does not make every novelty certain.
    """
    n = len(train)
    if n == 0:
        return 1.0
    k = min(n - 1, int(q * n))
    u = train[k]
    if raw <= u:
        return (n - bisect.bisect_left(train, raw)) / n
    excess = [t - u for t in train[k:] if t > u]
    sigma = max(sum(excess) / len(excess) if excess else 0.0, min_sigma)
    return (n - k) / n * math.exp(-(raw - u) / sigma)


#: Counts up to which :func:`nb_upper_tail` sums the series (a step per count); above, and where
#: the series cannot start, it takes the closed form.
NB_SERIES_MAX = 10_000


def nb_upper_tail(k: int, r: float, q: float) -> float:
    """P(X >= k) for the negative binomial NB(r, q) (the Gamma-Poisson predictive), k >= 1.

    The series from P(X = 0) = q**r, where that is a normal float and k is small: every count a
    segment sees. Otherwise the regularized incomplete beta I_{1-q}(k, r): with a large shape q**r
    underflows to 0 and the series summed zeros to "P = 1, nothing unusual" (a series of counts in
    the hundreds never alarmed), and with a huge count it took a step per count (1e12 hung).
    """
    pmf = q ** r
    if pmf < 1e-290 or k > NB_SERIES_MAX:
        from scipy.special import betainc  # scikit-learn's own dependency, imported only here

        return max(float(betainc(k, r, 1.0 - q)), 1e-300)
    cdf = pmf
    for j in range(1, k):
        pmf *= (r + j - 1) / j * (1.0 - q)
        cdf += pmf
        if pmf < 1e-18 and j > r:  # the rest of the mass below k is negligible
            break
    return max(1.0 - cdf, 1e-300)


#: Bin edges of the reliability diagram: forecast probabilities of a rare event sit low, so the bins do too.
RELIABILITY_EDGES: tuple[float, ...] = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    n: int
    predicted: float  # mean forecast probability in the bin
    observed: float  # share of the bin's forecasts whose event happened
    observed_lo: float  # 90 % Wilson interval of ``observed``
    observed_hi: float


def reliability(pairs: Sequence[tuple[float, int]], edges: Sequence[float] = RELIABILITY_EDGES) -> list[ReliabilityBin]:
    """Predicted against observed frequency per probability bin (empty bins left out)."""
    out = []
    for i, (lo, hi) in enumerate(zip(edges, edges[1:])):
        last = i == len(edges) - 2
        sel = [(p, y) for p, y in pairs if lo <= p < hi or (last and p == hi)]
        if not sel:
            continue
        n = len(sel)
        k = sum(y for _, y in sel)
        out.append(ReliabilityBin(lo, hi, n, sum(p for p, _ in sel) / n, k / n, *_wilson(k, n)))
    return out


def brier(pairs: Sequence[tuple[float, int]]) -> float:
    """Mean squared error of the forecasts (0 is perfect; always forecasting the base rate b scores b(1-b))."""
    return sum((p - y) ** 2 for p, y in pairs) / len(pairs) if pairs else 0.0


def _wilson(k: int, n: int, z: float = 1.645) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
