"""The field's reference rules, on the common [0, 1] scale.

* :class:`SurgeRule` -- ACLED's surge definition: events in the last 7 days are
  at least 100 % above the mean weekly count of the preceding year. Border
  incidents are sparse, so the baseline is floored at ``floor_per_week`` (one
  incident a month by default): without a floor, the first incident after a
  quiet year would be an infinite surge.
* :class:`FatalityHighRule` -- the 30-day fatality count is at its highest in a
  year (ties count, so a deadly clash keeps the rule on for 30 days).

Both are stateless: the features carry the history they need, so learning is a
no-op and a restart cannot change a score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.base import Features, clamp01


@dataclass
class SurgeRule:
    """Score ``r / (r + 2)`` where ``r`` = 7-day count / weekly baseline.

    ``r = 2`` (the rule's +100 % surge) scores 0.5, the watch threshold;
    ``r = 6`` scores 0.75 (warning), ``r = 18`` scores 0.9 (critical).
    Fails where reporting itself surges (a new source comes online) and on
    slow build-ups that never double week on week.
    """

    floor_per_week: float = 0.25
    name: str = "surge"

    def ratio(self, f: Features) -> float:
        count7 = f.get("count_7d", 0.0) or 0.0
        if count7 <= 0:
            return 0.0
        return count7 / max(f.get("weekly_mean_prior", 0.0) or 0.0, self.floor_per_week)

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        r = self.ratio(features)
        return clamp01(r / (r + 2.0))

    def explain(self, features: Features) -> str:
        n = features.get("count_7d", 0)
        return (f"{n:.0f} incident{'' if n == 1 else 's'} in 7 days against a weekly baseline of "
                f"{features.get('weekly_mean_prior', 0):.2f} (x{self.ratio(features):.1f})")


@dataclass
class FatalityHighRule:
    """Score ``1 - 0.2 / sqrt(f30)`` when 30-day fatalities are at a yearly high.

    One death scores 0.8 (warning), four or more 0.9+ (critical). Below the
    yearly high the score is ``0.45 * f30 / high`` (never above watch), so a
    border that has just seen worse does not re-alert on a lesser toll.
    Fails on sources that report deaths late or only in aggregate.
    """

    name: str = "fatality_high"

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        f30 = features.get("fatalities_30d", 0.0) or 0.0
        if f30 <= 0:
            return 0.0
        high = features.get("fatalities_30d_prior_max", 0.0) or 0.0
        if f30 >= high:
            return clamp01(1.0 - 0.2 / f30 ** 0.5)
        return clamp01(0.45 * f30 / high)

    def explain(self, features: Features) -> str:
        return (f"{features.get('fatalities_30d', 0):.0f} deaths in 30 days "
                f"(previous yearly high {features.get('fatalities_30d_prior_max', 0):.0f})")


@dataclass
class MaxOf:
    """The highest score of its members; ``explain`` names the member that drove it."""

    members: tuple
    name: str = "reference"

    def learn_one(self, features: Features) -> None:
        for m in self.members:
            m.learn_one(features)

    def score_one(self, features: Features) -> float:
        return max(m.score_one(features) for m in self.members)

    def top(self, features: Features):
        return max(self.members, key=lambda m: m.score_one(features))

    def explain(self, features: Features) -> str:
        m = self.top(features)
        return f"{m.name}: {m.explain(features)}"


def reference_stack() -> MaxOf:
    """The worker's first detector: the surge rule and the fatality rule together."""
    return MaxOf((SurgeRule(), FatalityHighRule()))


@dataclass
class CountTail:
    """Sparse-count model: how surprising is this week's count, given the segment's past year?

    The weekly incident rate gets a Gamma(shape0, rate0) prior (empirical Bayes: the defaults
    are the rate distribution across the bundled borders, about one incident a quarter, with
    the weight of half a year of observation), updated with the preceding year's count over
    its 51 weeks; the 7-day count's score is the negative-binomial upper tail mapped to the
    common scale (1 % -> 0.5, 0.1 % -> 0.75, 0.025 % -> 0.9). A first incident after a quiet
    year is unusual but not alarming; a cluster is. Fails where one report covers many
    incidents, and on borders whose baseline changed within the year.
    """

    shape0: float = 2.0
    rate0: float = 26.0
    name: str = "count_tail"

    def tail(self, features: Features) -> float:
        k = int(features.get("count_7d", 0.0) or 0)
        if k <= 0:
            return 1.0
        prior_weeks = 358 / 7
        past = (features.get("weekly_mean_prior", 0.0) or 0.0) * prior_weeks
        r = self.shape0 + past
        q = (self.rate0 + prior_weeks) / (self.rate0 + prior_weeks + 1.0)
        pmf = q ** r
        cdf = pmf
        for j in range(1, k):
            pmf *= (r + j - 1) / j * (1.0 - q)
            cdf += pmf
        return max(1.0 - cdf, 1e-300)

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        p = self.tail(features)
        return 0.0 if p >= 1.0 else clamp01(math.log10(1.0 / p) / 4.0)

    def explain(self, features: Features) -> str:
        return (f"{features.get('count_7d', 0):.0f} in 7 days has a {self.tail(features):.2%} chance at the past "
                f"year's rate ({features.get('weekly_mean_prior', 0):.2f} a week)")


def count_stack() -> MaxOf:
    """The sparse-count model with the fatality rule: a deadly clash still alerts at once."""
    return MaxOf((CountTail(), FatalityHighRule()), name="count")
