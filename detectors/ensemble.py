"""Ensembles: several calibrated detectors as one.

All members speak the common scale, so their scores are tail probabilities in disguise
(``p = 10 ** (-4 * score)``) and can be combined as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from detectors.base import Features, bind, feature
from detectors.calibration import LEVEL_SCORES, p_from_score, surprise
from detectors import features as F

#: A segment has a baseline for a surge with this many incidents in the year before the current week.
BASELINE_MIN_PAST = 20.0
#: Days on record before a segment without a baseline may be told anything out of its normal.
MIN_RECORD_DAYS = 120


def year_before_week(features: Features) -> float:
    """Incidents in the 358 days before the current 7-day window: what a segment's baseline is made of."""
    return feature(features, F.COUNT_365D) - feature(features, F.COUNT_7D)


@dataclass
class Corroborated:
    """``gate`` members alarm on their own; ``votes`` members must agree.

    Score = max(gate scores, combined vote score), where the vote members' tail
    probabilities are combined by their geometric mean: one member alone at 0.9 with the
    other at 0 gives 0.45 (not an alarm), two at 0.6 give 0.6. The idea: a deadly clash
    (the fatality rule) needs no corroboration, a rise in calm incidents does -- the count
    model and the change detector see it differently and both must be surprised.

    Fails where only one view can see an escalation (a slow build-up the CUSUM absorbs yet
    the 7-day count model flags), and inherits every member's assumptions.
    """

    gate: tuple
    votes: tuple
    name: str = "ensemble"

    @property
    def members(self) -> tuple:
        return tuple(self.gate) + tuple(self.votes)

    def for_border(self, border: str) -> "Corroborated":
        gate, votes = tuple(bind(m, border) for m in self.gate), tuple(bind(m, border) for m in self.votes)
        if all(b is m for b, m in zip(gate + votes, self.members)):
            return self
        return replace(self, gate=gate, votes=votes)

    def learn_one(self, features: Features) -> None:
        for m in self.members:
            m.learn_one(features)

    def _vote(self, features: Features) -> float:
        if not self.votes:
            return 0.0
        logs = [math.log(max(p_from_score(m.score_one(features)), 1e-300)) for m in self.votes]
        return surprise(math.exp(sum(logs) / len(logs)))

    def score_one(self, features: Features) -> float:
        return max([m.score_one(features) for m in self.gate] + [self._vote(features)])

    def deviations(self, features: Features) -> list[dict]:
        out = []
        for m in self.members:
            fn = getattr(m, "deviations", None)
            if fn is not None:
                out.extend(dict(d, detector=m.name) for d in fn(features))
        return out

    def explain(self, features: Features) -> str:
        gate = max(self.gate, key=lambda m: m.score_one(features), default=None)
        vote = self._vote(features)
        if gate is not None and gate.score_one(features) >= vote:
            return f"{gate.name}: {gate.explain(features)}"
        return "; ".join(f"{m.name} {m.score_one(features):.2f}: {m.explain(features)}" for m in self.votes)


@dataclass
class WithBaseline:
    """``inner`` speaks at full voice on a segment with a baseline to depart from: at least
    ``min_past`` incidents in the year before the current week. On a sparse segment with at least
    ``min_record_days`` (four months) on record it speaks only from ``sparse_min`` up; on a segment
    with less than that on record it is silent (it always learns).

    A surge detector on a border with three incidents a year flags every small cluster, and on
    the development borders those clusters are mostly followed by nothing; there the hazard
    model, which has learned what such clusters lead to across borders, speaks instead, and the
    surge only when it is far out of the segment's quiet past (a build-up after a long quiet,
    which the hazard model, reading few incidents, puts low). A segment with less than four months
    on record has no normal yet, busy or quiet: a surge over its first weeks is any cluster of its
    first incidents. Four months, not a year: on a new segment (a stream's first months, a border
    newly watched) a build-up after a quiet spring is as far out of its normal as one after a quiet
    year, and the far-out score it needs keeps the clusters of a sparse past silent. On a busy
    border the surge view sees what the hazard model was never trained on: a build-up far above the
    border's own normal.
    """

    inner: object
    min_past: float = BASELINE_MIN_PAST
    #: the score a surge needs on a sparse segment (one with ``min_record_days`` on record but no baseline)
    sparse_min: float = 0.65
    #: days on record before a sparse segment's surge may speak at all
    min_record_days: int = MIN_RECORD_DAYS
    name: str = "surge"
    #: a surge view: after an alert resolved it reopens only past the policy's surge quiet period
    surge = True

    @property
    def members(self) -> tuple:
        return (self.inner,)

    def for_border(self, border: str) -> "WithBaseline":
        inner = bind(self.inner, border)
        return self if inner is self.inner else replace(self, inner=inner)

    def has_baseline(self, features: Features) -> bool:
        return year_before_week(features) >= self.min_past

    def _floor(self, features: Features) -> float | None:
        """The score the inner view must reach to speak (None: it may not speak)."""
        if self.has_baseline(features):
            return 0.0
        if feature(features, F.DAYS_ON_RECORD) >= self.min_record_days:
            return self.sparse_min
        return None

    def learn_one(self, features: Features) -> None:
        self.inner.learn_one(features)

    def score_one(self, features: Features) -> float:
        floor = self._floor(features)
        if floor is None:
            return 0.0
        score = self.inner.score_one(features)
        return score if score >= floor else 0.0

    def deviations(self, features: Features) -> list[dict]:
        fn = getattr(self.inner, "deviations", None)
        return list(fn(features)) if fn is not None and self.score_one(features) > 0 else []

    def explain(self, features: Features) -> str:
        floor = self._floor(features)
        if floor is None:
            return (f"fewer than {self.min_past:g} incidents in the past year and less than "
                    f"{self.min_record_days} days on record: "
                    "no baseline for a surge")
        if floor and self.inner.score_one(features) < floor:
            return (f"fewer than {self.min_past:g} incidents in the past year: a surge needs a score of "
                    f"{floor:g} here ({self.inner.explain(features)})")
        return self.inner.explain(features)


@dataclass
class QuietCluster:
    """A watch for a cluster where incidents are rare: ``min_count`` or more incidents in 7 days on a
    segment without a baseline (fewer than ``min_past`` in the year before the week) but with four
    months on record. Such a week is always far out for the count model (:class:`CountTail`: four
    after 19 in the year has a chance under 0.025 %, its 0.9), so no score is asked of it.

    On the development borders such a week was followed by a deadly clash on its border within
    60 days 19 times in 173 (11 %; docs/DETECTION.md): the chance a watch stands for. The hazard
    model, which reads few incidents on such a border, puts it lower, and the surge votes need a
    surge far out of a sparse past; a border waking after months of quiet is what this sees
    (the 2020 build-up of the synthetic ``dormant`` borders, four calm incidents in a week).

    Not while a state's internal unrest or conflict is on the segment's record that week
    (:data:`~detectors.features.INTERNAL_7D`): a border closed, people detained as they flee, in
    the days of a state's protests are its unrest, not an escalation between states -- the real
    negative controls (Kazakhstan in January 2022, Karakalpakstan in July 2022) are such weeks. Fails where one report lumps a
    week's incidents, and on a quiet border whose unrest its sources do not report as such.
    """

    min_count: int = 4
    min_past: float = BASELINE_MIN_PAST
    min_record_days: int = MIN_RECORD_DAYS
    name: str = "quiet_cluster"
    #: a surge view: after an alert resolved it reopens only past the policy's surge quiet period
    surge = True

    def learn_one(self, features: Features) -> None:
        return None

    def _cluster_where_rare(self, features: Features) -> bool:
        return (year_before_week(features) < self.min_past
                and feature(features, F.DAYS_ON_RECORD) >= self.min_record_days
                and feature(features, F.COUNT_7D) >= self.min_count)

    def score_one(self, features: Features) -> float:
        if not self._cluster_where_rare(features) or feature(features, F.INTERNAL_7D):
            return 0.0
        return LEVEL_SCORES[0]

    def deviations(self, features: Features) -> list[dict]:
        if not self.score_one(features):
            return []
        return [{"feature": F.COUNT_7D, "baseline": round(year_before_week(features) / F.PRIOR_WEEKS, 3),
                 "now": feature(features, F.COUNT_7D)}]

    def explain(self, features: Features) -> str:
        said = (f"{feature(features, F.COUNT_7D):.0f} incidents in 7 days where {year_before_week(features):.0f} "
                "came in the year before: a cluster where incidents are rare")
        if self._cluster_where_rare(features) and feature(features, F.INTERNAL_7D):
            return (f"{said}; but a state's internal unrest or conflict is on record this week: "
                    "not read as an escalation between states")
        return said
