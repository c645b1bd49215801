"""Change detection on a segment's daily incident index: a Poisson CUSUM.

The daily index is ``x = violent + CALM_WEIGHT * (other incidents)`` of one day (violent =
armed clash, shelling, drone strike). Against a baseline rate ``lam0`` the CUSUM looks for a
shift to ``lam1 = lam0 + max(2 * lam0, min_shift)``:

    S_t = max(0, S_{t-1} + x_t * ln(lam1 / lam0) - (lam1 - lam0))

Under the baseline ``P(S >= h) <= exp(-h)`` (Wald), which is the theoretical tail the
:class:`~detectors.calibration.TailCalibrator` starts from.

Streaming with a lag: the pipeline learns a day only once the late-event grace has passed
(``learn_one``), so ``score_one`` carries the recursion over the days not yet learned from
the features ``lag_0 .. lag_{pending_days-1}`` (the index of today, yesterday, ...). Without
those features (a plain stream of rows) each row is one day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from detectors.base import Features, feature
from detectors.calibration import TailCalibrator, surprise
from detectors.features import COUNT_LAGS, MAX_LAGS, VIOLENT_LAGS
from detectors import features as F


#: What a calm incident (not violent) weighs in the daily index against a violent one.
CALM_WEIGHT = 0.3


def daily_index(f: Features, k: int | None = None) -> float:
    """The weighted index of day lag ``k`` (pipeline features ``count_lag_k``, ``violent_lag_k``),
    or of the row itself (``count_1d``, ``violent_1d``) when there are no lags."""
    return _indices([_day_counts(f, k)])[0]


def _day_counts(f: Features, k: int | None) -> tuple[float, float]:
    if k is not None and k < MAX_LAGS and f.get(COUNT_LAGS[k]) is not None:
        return feature(f, COUNT_LAGS[k]), feature(f, VIOLENT_LAGS[k])
    return feature(f, F.COUNT_1D), feature(f, F.VIOLENT_1D)


def _indices(days: list[tuple[float, float]]) -> list[float]:
    """The index of each day's (incidents, violent): the one place its formula is written."""
    w = CALM_WEIGHT
    return [v + w * (n - v if n > v else 0.0) for n, v in days]


def pending_indices(f: Features, pending: int) -> list[float]:
    """:func:`daily_index` of lags ``pending - 1`` down to 0 (oldest first), in one pass: the
    CUSUM reads them for every incident."""
    get = f.get
    days = []
    for k in range(pending - 1, -1, -1):
        n = get(COUNT_LAGS[k]) if k < MAX_LAGS else None
        if n is None:
            days.append(_day_counts(f, k))
        else:
            v = get(VIOLENT_LAGS[k])
            days.append((float(n) if n else 0.0, float(v) if v else 0.0))
    return _indices(days)


@dataclass
class PoissonCusum:
    """CUSUM for a rise in the daily incident index against a learned Poisson baseline.

    Assumes days are roughly independent Poisson around a slowly moving rate (Gamma
    posterior with a two-year memory, prior two incidents in 100 days). Fails on
    self-exciting bursts of calm incidents (a protest wave looks like a shift) and on
    very slow build-ups that the baseline follows. Days scoring at warning or above are not
    learned into the baseline or the calibration, so an escalation never becomes normal; the
    statistic is capped at ``cap`` so an alert clears within weeks once activity stops.
    """

    shape0: float = 2.0
    rate0: float = 100.0
    discount: float = 1.0 - 1.0 / 730
    min_shift: float = 0.1
    cap: float = 10.0
    name: str = "cusum"
    state_fields = ("S", "shape", "rate", "calibration", "days")
    S: float = 0.0
    shape: float = 2.0
    rate: float = 100.0
    days: int = 0
    calibration: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shape, self.rate = self.shape0, self.rate0
        self._cal = TailCalibrator()

    def after_load(self) -> None:
        self._cal = TailCalibrator()
        self._cal.load(self.calibration)

    def before_save(self) -> None:
        # Written when the state is read rather than at every day learned: rounding the histogram
        # for each of a sparse segment's quiet days was a fifth of a backtest over decades. A
        # calibrator that has learned nothing leaves the field as loaded.
        if self._cal.counts:
            self.calibration = self._cal.state()

    def _rates(self) -> tuple[float, float]:
        lam0 = max(self.shape / self.rate, 1e-4)
        return lam0, lam0 + max(2.0 * lam0, self.min_shift)

    def _step(self, s: float, x: float, lam0: float, lam1: float) -> float:
        return min(self.cap, max(0.0, s + x * math.log(lam1 / lam0) - (lam1 - lam0)))

    def statistic(self, f: Features) -> float:
        lam0, lam1 = self._rates()
        pending = int(feature(f, "pending_days"))
        s = self.S
        if pending <= 0:
            return self._step(s, daily_index(f), lam0, lam1)
        # _step's arithmetic, its constants taken out of the loop (the same floats, in the same order)
        gain, drift, cap = math.log(lam1 / lam0), lam1 - lam0, self.cap
        for x in pending_indices(f, pending):
            t = s + x * gain - drift
            s = cap if t > cap else t if t > 0.0 else 0.0  # min(cap, max(0.0, t)), without the calls
        return s

    def _score_raw(self, s: float) -> float:
        return surprise(self._cal.p(s, math.exp(-s))) if s > 0 else 0.0

    def score_one(self, features: Features) -> float:
        return self._score_raw(self.statistic(features))

    def learn_one(self, features: Features, escalating: bool = False) -> None:
        """Learn a closed day; one ``escalating`` (detectors.base.Guarded) moves the statistic on but
        is neither the baseline nor the calibration's idea of normal."""
        self._learn(daily_index(features, 0), escalating)

    def quiet_score(self) -> float:
        """What the next closed day without an incident scores (``learn_quiet``'s question)."""
        return self._score_raw(self._step(self.S, 0.0, *self._rates()))

    def learn_quiet(self, days: int, guard_line: float | None = None) -> None:
        """Learn ``days`` closed days without an incident, as ``learn_one`` learns each (one at
        ``guard_line`` or above is escalating, as :class:`~detectors.base.Guarded` decides): a
        sparse segment's history is mostly such days, and walking the stack for each was a third
        of a backtest over the dev borders."""
        for left in range(days, 0, -1):
            if self.S == 0.0:
                # At rest the statistic stays at 0 (a quiet day only drifts it down) and scores 0:
                # what is left of the run is the baseline and the calibration taking zeros.
                self._rest(left, guard_line is not None and 0.0 >= guard_line)
                return
            self._learn(0.0, guard_line is not None and self.quiet_score() >= guard_line)

    def _rest(self, days: int, escalating: bool) -> None:
        """``_learn(0.0, escalating)`` ``days`` times from a statistic at 0."""
        self.days += days
        if escalating:
            return
        a, shape0, rate0 = self.discount, self.shape0, self.rate0
        for _ in range(days):
            self.shape = a * self.shape + (1 - a) * shape0
            self.rate = a * self.rate + (1 - a) * rate0 + 1.0
            self._cal.learn(0.0)

    def _learn(self, x: float, escalating: bool) -> None:
        lam0, lam1 = self._rates()
        s = self._step(self.S, x, lam0, lam1)
        self.S = s
        self.days += 1
        if not escalating:
            self.shape = self.discount * self.shape + (1 - self.discount) * self.shape0 + x
            self.rate = self.discount * self.rate + (1 - self.discount) * self.rate0 + 1.0
            self._cal.learn(s)

    def deviations(self, f: Features) -> list[dict]:
        lam0, _ = self._rates()
        pending = max(int(feature(f, "pending_days")), 1)
        recent = sum(daily_index(f, k) for k in range(pending)) / pending
        return [{"feature": "daily_index", "baseline": round(lam0, 4), "now": round(recent, 4)},
                {"feature": "cusum", "baseline": 0.0, "now": round(self.statistic(f), 3)}]

    def explain(self, features: Features) -> str:
        lam0, _ = self._rates()
        return (f"incident index above its baseline of {lam0 * 30:.2f} a month "
                f"(CUSUM {self.statistic(features):.1f})")
