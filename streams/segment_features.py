"""What a segment's detector reads at a day: the rolling views of its :class:`SegmentState`.

The views are named in :mod:`detectors.features` (every detector reads them by those names). They
are assembled from the window sums of the days before the day (:mod:`streams.windows`, kept
incrementally) plus the day's own bucket, the decayed counts and the arms delivered to both sides.
A detector that learns also reads the daily counts of the days it has not learned yet (the lags).
"""

from __future__ import annotations

from detectors import features as F
from streams.records import UNCOUNTED_CATEGORIES
from streams.segment_state import SegmentState
from streams.windows import DEADLY, EMPTY_BUCKET, FATAL, FORCE, INJ, INTRUSION, N, SEV, SPILL, VIOLENT, day_start


def features(state: SegmentState, day: int, pressure_years: int) -> dict[str, float]:
    """Rolling views at ``day`` (inclusive): the window sums of the days before it plus the
    incidents of ``day`` itself; arms pressure over the ``pressure_years`` before its year."""
    base = state.windows.before(state.days, day)
    w7, w30, w365 = base.sums  # copies of the window sums: the day's own incidents are added in place
    today = state.days.get(day)
    if today is None:
        today = EMPTY_BUCKET
    else:
        for i, v in enumerate(today):
            if v:
                w7[i] += v
                w30[i] += v
                w365[i] += v
    c7, c365 = w7[N], w365[N]
    last_fatal = day if today[FATAL] else base.last_fatal
    if last_fatal is None and state.last_fatal_day is not None and state.last_fatal_day <= day:
        last_fatal = state.last_fatal_day  # a death older than the buckets' retention
    feats = {
        F.COUNT_1D: today[N], F.COUNT_7D: c7, F.COUNT_30D: w30[N], F.COUNT_365D: c365,
        F.WEEKLY_MEAN_PRIOR: (c365 - c7) / F.PRIOR_WEEKS,
        F.VIOLENT_1D: today[VIOLENT], F.VIOLENT_7D: w7[VIOLENT], F.VIOLENT_30D: w30[VIOLENT],
        F.VIOLENT_365D: w365[VIOLENT],
        F.INTRUSION_7D: w7[INTRUSION], F.INTRUSION_30D: w30[INTRUSION], F.INTRUSION_365D: w365[INTRUSION],
        F.FATALITIES_7D: w7[FATAL], F.FATALITIES_30D: w30[FATAL], F.FATALITIES_365D: w365[FATAL],
        F.FATALITIES_30D_PRIOR_MAX: base.prior_max,
        F.INJURIES_30D: w30[INJ], F.SEVERITY_7D: w7[SEV], F.SEVERITY_30D: w30[SEV],
        F.SEVERITY_365D: w365[SEV],
        F.SPILL_7D: w7[SPILL], F.SPILL_30D: w30[SPILL], F.SPILL_365D: w365[SPILL],
        F.FORCE_7D: w7[FORCE], F.FORCE_30D: w30[FORCE], F.FORCE_365D: w365[FORCE],
        F.DEADLY_7D: w7[DEADLY], F.DEADLY_30D: w30[DEADLY], F.DEADLY_365D: w365[DEADLY],
        F.DISPLAY_30D: w30[N] - w30[FORCE] - w30[DEADLY],
        F.DAYS_SINCE_FATAL: (day - last_fatal) if last_fatal is not None else F.NEVER,
        F.DAYS_ON_RECORD: max(day - state.first_day, 0) if state.first_day is not None else 0,
        F.PRESSURE_TIV_5Y: state.pressure_before(day_start(day).year, pressure_years),
        F.INTERNAL_7D: sum(1 for r in state.recent
                           if r["category"] in UNCOUNTED_CATEGORIES and day - F.WEEK < r["day"] <= day),
    }
    # Decayed counts are a view of the segment as of its newest incident onwards: a day before
    # that (a closed day being learned) cannot be told apart from the incidents after it.
    if state.decayed_day is not None and day >= state.decayed_day:
        feats.update(F.as_features(F.decay(state.decayed, day - state.decayed_day)))
    return feats


def detector_input(state: SegmentState, day: int, pressure_years: int, *, learns: bool) -> dict[str, float]:
    """What the detector scores at ``day``: the features, plus, for a detector that ``learns``,
    the daily counts of the days it has not learned yet.

    ``pending_days`` days (today first) as ``count_lag_k`` / ``violent_lag_k``: a
    detector with a recursion (the CUSUM) carries it over them at scoring time.
    """
    feats = features(state, day, pressure_years)
    if not learns:
        return feats
    first = state.learned_day + 1 if state.learned_day is not None else min(state.days, default=day)
    pending = max(0, min(day - first + 1, F.MAX_LAGS))
    feats["pending_days"] = pending
    for k in range(pending):
        b = state.days.get(day - k)
        feats[F.COUNT_LAGS[k]] = b[N] if b else 0
        feats[F.VIOLENT_LAGS[k]] = b[VIOLENT] if b else 0
    return feats


def learning_input(state: SegmentState, day: int, pressure_years: int) -> dict[str, float]:
    """What a learning detector folds in for the closed ``day``: its features, and that day alone
    as the days pending. The features are worked out when first read (:class:`ClosedDay`)."""
    b = state.days.get(day)
    count, violent = (b[N], b[VIOLENT]) if b else (0, 0)
    return ClosedDay({"pending_days": 1, F.COUNT_LAGS[0]: count, F.VIOLENT_LAGS[0]: violent},
                     lambda: features(state, day, pressure_years))


_MISSING = object()


class ClosedDay(dict):
    """A closed day's learning input: the day's own counts at once, the rest of its features
    (:func:`features`) the first time anything else is read.

    A detector learns every closed day of every segment, and the CUSUM, the only learner of the
    default stack, reads the day's counts alone: building every window feature for it was a tenth
    of the pipeline's time. A learner that reads more (the isolation forest) gets the same values
    as from :func:`features`, which must be taken before the state moves on (the pipeline learns
    a day at once, before the next incident is applied).
    """

    __slots__ = ("_rest",)

    def __init__(self, own: dict, rest) -> None:
        super().__init__(own)
        self._rest = rest

    def _complete(self) -> bool:
        rest, self._rest = self._rest, None
        if rest is None:
            return False
        full = rest()
        full.update(self)  # after the features, as features() + the lags would have them
        self.clear()
        self.update(full)
        return True

    def __missing__(self, key):
        if self._complete():
            return self[key]
        raise KeyError(key)

    def get(self, key, default=None):
        v = dict.get(self, key, _MISSING)
        if v is _MISSING:
            return dict.get(self, key, default) if self._complete() else default
        return v

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or (self._complete() and dict.__contains__(self, key))

    def __iter__(self):
        self._complete()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._complete()
        return dict.__len__(self)

    def keys(self):
        self._complete()
        return dict.keys(self)

    def values(self):
        self._complete()
        return dict.values(self)

    def items(self):
        self._complete()
        return dict.items(self)
