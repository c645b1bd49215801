"""The incremental window sums equal sums from scratch, whatever the order of days and changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.features import MONTH, WINDOW_DAYS, YEAR
from streams.windows import BUCKET_WIDTH, FATAL, Windows, days_by_column, days_from_columns


def from_scratch(days: dict[int, list[int]], day: int):
    """The definition the cursors keep: sums over the w - 1 days before ``day``, and the deaths before it."""
    sums = tuple([sum(b[i] for d, b in days.items() if day - w < d < day) for i in range(BUCKET_WIDTH)]
                 for w in WINDOW_DAYS)
    fatal = sorted((d, b[FATAL]) for d, b in days.items() if d < day and b[FATAL])
    last = fatal[-1][0] if fatal else None
    tolls = [sum(f for d, f in fatal if end - MONTH < d <= end) for end, _ in fatal if end >= day - YEAR]
    start = day - YEAR
    prior = max([sum(f for d, f in fatal if start - MONTH < d <= start), *tolls])
    return sums, last, prior


def bucket(seed: int) -> list[int]:
    return [(seed * (i + 3)) % 4 if i != FATAL else seed % 3 for i in range(BUCKET_WIDTH)]


# an operation: ("add", day, seed), ("read", day), ("drop", horizon)
ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 900), st.integers(0, 50)),
    st.tuples(st.just("read"), st.integers(0, 1000)),
    st.tuples(st.just("drop"), st.integers(0, 600)),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_cursors_equal_sums_from_scratch(operations):
    days: dict[int, list[int]] = {}
    windows = Windows()
    for op in operations:
        if op[0] == "add":
            windows.add(days, op[1], bucket(op[2]))
        elif op[0] == "drop":
            days = windows.drop_before(days, op[1])
        else:
            got = windows.before(days, op[1])
            assert (got.sums, got.last_fatal, got.prior_max) == from_scratch(days, op[1])


@given(st.dictionaries(st.integers(-20000, 30000), st.lists(st.integers(0, 500), min_size=BUCKET_WIDTH,
                                                              max_size=BUCKET_WIDTH), max_size=50))
def test_buckets_stored_by_column_read_back_the_same(days):
    assert days_from_columns(days_by_column(days)) == days


def test_a_day_forward_at_a_time_costs_the_same_however_long_the_history():
    """Moving a cursor one day touches two days per window, not the history."""
    days = {d: bucket(d) for d in range(0, 3000, 2)}

    class Counting(dict):
        lookups = 0

        def get(self, key, default=None):
            Counting.lookups += 1
            return super().get(key, default)

    counted = Counting(days)
    windows = Windows()
    windows.before(counted, 2000)
    Counting.lookups = 0
    for day in range(2001, 2101):
        windows.before(counted, day)
    assert Counting.lookups == 100 * 2 * len(WINDOW_DAYS)


def test_reading_does_not_hand_out_the_cursors_own_sums():
    days = {5: bucket(1)}
    windows = Windows()
    got = windows.before(days, 6)
    got.sums[0][0] += 100
    assert windows.before(days, 6).sums == from_scratch(days, 6)[0]


def test_deaths_coming_in_order_are_counted_as_from_scratch():
    """Incidents mostly come in day order: each new day with deaths extends the death history in
    place (``Windows.add``), and what a later day reads is still the definition's."""
    days: dict[int, list[int]] = {}
    windows = Windows()
    for n, day in enumerate(range(0, 900, 11)):
        windows.add(days, day, bucket(n))
        if n % 3 == 1:  # a second deadly incident the same day
            windows.add(days, day, bucket(n + 1))
        got = windows.before(days, day + 1 + n % 40)
        assert (got.sums, got.last_fatal, got.prior_max) == from_scratch(days, day + 1 + n % 40)
