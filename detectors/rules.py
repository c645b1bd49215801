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

from dataclasses import dataclass, replace
from typing import Sequence

from detectors.base import Features, bind, clamp01, score_beside_surges
from detectors.calibration import LEVEL_SCORES, nb_upper_tail, surprise
from detectors import features as F


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
        count7 = f.get(F.COUNT_7D, 0.0) or 0.0
        if count7 <= 0:
            return 0.0
        return count7 / max(f.get(F.WEEKLY_MEAN_PRIOR, 0.0) or 0.0, self.floor_per_week)

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        r = self.ratio(features)
        return clamp01(r / (r + 2.0))

    def explain(self, features: Features) -> str:
        n = features.get(F.COUNT_7D, 0)
        return (f"{n:.0f} incident{'' if n == 1 else 's'} in 7 days against a weekly baseline of "
                f"{features.get('weekly_mean_prior', 0):.2f} (x{self.ratio(features):.1f})")


@dataclass
class FatalityHighRule:
    """Score ``1 - 0.2 / sqrt(f30)`` when 30-day fatalities are at a yearly high.

    One death scores 0.8 (warning), four or more 0.9+ (critical). Below the
    yearly high any death in the last 30 days scores the watch line (0.5): a
    deadly incident always raises at least a watch the same day, however
    violent the border's past, and keeps it for 30 days.
    Fails on sources that report deaths late or only in aggregate.
    """

    name: str = "fatality_high"

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        f30 = features.get(F.FATALITIES_30D, 0.0) or 0.0
        if f30 <= 0:
            return 0.0
        high = features.get(F.FATALITIES_30D_PRIOR_MAX, 0.0) or 0.0
        if f30 >= high:
            return clamp01(1.0 - 0.2 / f30 ** 0.5)
        # Below the yearly high, still a watch: on a border with a violent past a death is news too.
        return LEVEL_SCORES[0]

    def explain(self, features: Features) -> str:
        return (f"{features.get(F.FATALITIES_30D, 0):.0f} deaths in 30 days "
                f"(previous yearly high {features.get(F.FATALITIES_30D_PRIOR_MAX, 0):.0f})")


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

    def score_beside_surges(self, features: Features) -> float:
        return max(score_beside_surges(m, features) for m in self.members)

    def for_border(self, border: str) -> "MaxOf":
        bound = tuple(bind(m, border) for m in self.members)
        return self if all(b is m for b, m in zip(bound, self.members)) else replace(self, members=bound)

    def top(self, features: Features):
        return max(self.members, key=lambda m: m.score_one(features))

    def explain(self, features: Features) -> str:
        m = self.top(features)
        return f"{m.name}: {m.explain(features)}"


@dataclass
class FromLine:
    """``inner``'s score where it reaches ``line``, else 0: a view that may set a level on its own
    only where it is sure (a stack's other members speak below it)."""

    inner: object
    line: float
    name: str = "from_line"

    @property
    def members(self) -> tuple:
        return (self.inner,)

    def for_border(self, border: str) -> "FromLine":
        inner = bind(self.inner, border)
        return self if inner is self.inner else replace(self, inner=inner)

    def learn_one(self, features: Features) -> None:
        self.inner.learn_one(features)

    def score_one(self, features: Features) -> float:
        score = self.inner.score_one(features)
        return score if score >= self.line else 0.0

    def deviations(self, features: Features) -> list[dict]:
        fn = getattr(self.inner, "deviations", None)
        return list(fn(features)) if fn is not None and self.score_one(features) > 0 else []

    def explain(self, features: Features) -> str:
        return self.inner.explain(features)


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
    #: which incidents it counts: ``count`` (all) or a category group such as ``violent``
    column: str = "count"
    name: str = "count_tail"
    #: a week is news only if it is also surprising at the segment's own past-year rate, without the
    #: prior, over the weeks of the year it was on record (see :func:`violent_tail`)
    against_own_year: bool = False

    def past(self, features: Features) -> float:
        """Incidents in the 358 days before the 7-day window."""
        year = features.get(F.windowed(self.column, F.YEAR))
        if year is None and self.column == "count":
            return (features.get(F.WEEKLY_MEAN_PRIOR, 0.0) or 0.0) * F.PRIOR_WEEKS
        return max((year or 0.0) - (features.get(F.windowed(self.column, F.WEEK), 0.0) or 0.0), 0.0)

    def weeks_before_record(self, features: Features) -> float:
        """Weeks of the 51 before the 7-day window that came before the segment's first incident
        (0 without ``days_on_record``, a series scored outside the pipeline)."""
        days = features.get(F.DAYS_ON_RECORD)
        if days is None:
            return 0.0
        return max(F.PRIOR_WEEKS - max(days - (F.WEEK - 1), 0) / F.WEEK, 0.0)

    def weeks_on_record(self, features: Features) -> float:
        """Weeks of the 51 before the 7-day window the segment was on record (at least one)."""
        return max(F.PRIOR_WEEKS - self.weeks_before_record(features), 1.0)

    def tail(self, features: Features) -> float:
        return self._tail(features)[0]

    def _tail(self, features: Features) -> tuple[float, float, float | None]:
        """The week's tail probability, the weekly rate it was read at and, where that was the
        segment's own, the weeks it was read over (else None): the prior's and the past year's
        together, or (``against_own_year``, where that is the larger tail) the year's alone, over
        the weeks of it the segment was on record.
        A segment first seen ten weeks ago has ten weeks of its own rate, not 51 with 41 of them
        quiet: read that way every week of a border violent from its first day was a cluster."""
        k = int(features.get(F.windowed(self.column, F.WEEK), 0.0) or 0)
        prior_weeks = F.PRIOR_WEEKS
        past = self.past(features)
        expected = (self.shape0 + past) / (self.rate0 + prior_weeks)
        if k <= 0:
            return 1.0, expected, None
        q = (self.rate0 + prior_weeks) / (self.rate0 + prior_weeks + 1.0)
        tail = nb_upper_tail(k, self.shape0 + past, q)
        if self.against_own_year and past > 0:
            seen = self.weeks_on_record(features)
            own = nb_upper_tail(k, past, seen / (seen + 1.0))
            if own > tail:
                return own, past / seen, seen
        return tail, expected, None

    @classmethod
    def fit_prior(cls, weekly_rates: Sequence[float], weeks: float = F.PRIOR_WEEKS) -> "CountTail":
        """Empirical Bayes: Gamma(shape0, rate0) by moments from per-segment weekly rates.

        Pooling happens here, offline, over a reference history (the defaults come from the
        bundled borders): a prior shared live across segments would need one state for all
        partitions, which the pipeline does not have. The Poisson noise in each rate
        (mean / weeks) is taken out of the variance before matching moments.
        """
        rates = [max(float(r), 0.0) for r in weekly_rates]
        if len(rates) < 2:
            return cls()
        m = sum(rates) / len(rates)
        v = sum((r - m) ** 2 for r in rates) / (len(rates) - 1) - m / weeks
        if m <= 0 or v <= 0:
            return cls()
        return cls(shape0=m * m / v, rate0=m / v)

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        return surprise(self.tail(features))

    def deviations(self, features: Features) -> list[dict]:
        return [{"feature": F.windowed(self.column, F.WEEK), "baseline": round(self.past(features) / F.PRIOR_WEEKS, 3),
                 "now": features.get(F.windowed(self.column, F.WEEK), 0)}]

    def explain(self, features: Features) -> str:
        what = "incidents" if self.column == "count" else f"{self.column} incidents"
        tail, rate, own_weeks = self._tail(features)
        year = self.past(features) / F.PRIOR_WEEKS
        if own_weeks is not None and own_weeks <= F.PRIOR_WEEKS - 1:
            weeks = round(own_weeks)
            at = f"its own rate ({rate:.2f} a week over the {weeks} week{'s' * (weeks != 1)} it was on record"
        elif own_weeks is not None or f"{rate:.2f}" == f"{year:.2f}":
            at = f"the past year's rate ({year:.2f} a week"
        else:
            # The rate the chance was read at, not only the year's: on a busy border the prior draws
            # it well below the year's, and "16 in 7 days has a 7 % chance at 15.7 a week" read as an error.
            at = f"{rate:.2f} a week (the past year's {year:.2f}, drawn toward a usual border's"
        if own_weeks is None:
            # A segment first seen weeks ago has its year read as if the weeks before it were quiet
            # (the model's assumption: a border watched from the start of the year): say so, or "the
            # past year's 3.13" reads as an error beside the 16 a week of its ten weeks on record.
            unseen = self.weeks_before_record(features)
            if unseen >= 1 and year > 0:
                at += f"; the {unseen:.0f} weeks before its first incident counted as quiet"
        return (f"{features.get(F.windowed(self.column, F.WEEK), 0):.0f} {what} in 7 days has a {tail:.2%} "
                f"chance at {at})")


def violent_tail(against_own_year: bool = False) -> CountTail:
    """:class:`CountTail` on violent incidents (armed clash, shelling, drone strike) only.

    Prior Gamma(0.5, 104 weeks): one violent incident in four years, with two years' weight. So
    the first armed clash after a violence-free year is a watch (p about 0.3 %), a second
    within the week a warning; on a border that sees clashes every month neither is news.

    With ``against_own_year`` (as :func:`violence_cluster` has it) a week must also be surprising
    at the segment's own past-year rate: the prior's two years' weight pulls a violent border's
    rate down to a third of what its past year shows (540 clashes in a year read as 3.5 a week,
    not 10.6), so an ordinary week of a border at war scored as a cluster. After a year without
    violence the prior alone decides, as without it; where violence is the normal, the year does;
    in between the year tempers it (two clashes in a week after two in the year: a watch, at the
    prior alone a warning). The segment's own rate is over the weeks of the year it was on record:
    on a segment first seen weeks ago, read over the whole year with the weeks before it as quiet,
    every week of a border violent from its first day was a cluster.
    """
    return CountTail(shape0=0.5, rate0=104.0, column="violent", name="violent_tail",
                     against_own_year=against_own_year)


def violence_cluster() -> FromLine:
    """:func:`violent_tail` from the warning line up: a cluster of armed clashes, shelling or drone
    strikes where they are rare, deaths or not. A lone clash stays with the forecast, which has
    learned across borders how often one is followed by a deadly clash. Against the segment's own
    year too: on a steadily violent border the warning otherwise came and went all year."""
    return FromLine(violent_tail(against_own_year=True), LEVEL_SCORES[1], name="violence")


def count_stack() -> MaxOf:
    """The sparse-count model with the fatality rule: a deadly clash still alerts at once."""
    return MaxOf((CountTail(), FatalityHighRule()), name="count")
