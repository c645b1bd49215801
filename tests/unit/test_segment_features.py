"""A closed day's learning input: the day's counts at once, the same features as ``features`` when
anything else is read, and nothing worked out for a learner that reads the counts alone."""

from __future__ import annotations

from detectors import features as F
from streams import segment_features
from streams.segment_features import ClosedDay, learning_input
from streams.segment_state import SegmentState
from streams.windows import BUCKET_WIDTH, FATAL, N, VIOLENT


def state_with_history() -> SegmentState:
    st = SegmentState("KGZ-TJK-01")
    for day in range(100, 500, 3):
        delta = [0] * BUCKET_WIDTH
        delta[N], delta[VIOLENT], delta[FATAL] = 2, day % 2, int(day % 37 == 0)
        st.windows.add(st.days, day, delta)
    return st


def eager(st: SegmentState, day: int) -> dict:
    """What learning_input gave before it was lazy: the features, then the day as the one pending."""
    feats = segment_features.features(st, day, 5)
    b = st.days.get(day)
    feats.update({"pending_days": 1, F.COUNT_LAGS[0]: b[N] if b else 0, F.VIOLENT_LAGS[0]: b[VIOLENT] if b else 0})
    return feats


def test_reading_a_feature_gives_what_features_gives():
    st = state_with_history()
    for day in (130, 301, 302, 499):
        lazy = learning_input(st, day, 5)
        assert lazy.get(F.COUNT_30D) == eager(st, day)[F.COUNT_30D]
        assert dict(lazy) == eager(st, day)
        assert lazy[F.DAYS_SINCE_FATAL] == eager(st, day)[F.DAYS_SINCE_FATAL]


def test_every_way_of_reading_sees_the_whole_features():
    st = state_with_history()
    want = eager(st, 301)
    for read in (len, list, lambda f: dict(f.items()), lambda f: sorted(f.keys()), lambda f: list(f.values()),
                 lambda f: F.FORCE_30D in f, lambda f: f[F.FORCE_30D]):
        lazy = learning_input(st, 301, 5)
        got = read(lazy)
        assert got == read(want)


def test_the_days_own_counts_are_read_without_working_out_the_rest():
    worked_out = []
    day = ClosedDay({"pending_days": 1, F.COUNT_LAGS[0]: 3, F.VIOLENT_LAGS[0]: 1},
                    lambda: worked_out.append(1) or {F.COUNT_7D: 9})
    assert (day["pending_days"], day.get(F.COUNT_LAGS[0]), day.get(F.VIOLENT_LAGS[0])) == (1, 3, 1)
    assert not worked_out
    assert day.get(F.COUNT_7D) == 9 and day.get("no such feature", 0) == 0 and worked_out == [1]
    assert day.get(F.COUNT_LAGS[0]) == 3  # the day's own counts win over anything the rest says
