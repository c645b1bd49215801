"""A segment's daily buckets and its rolling window sums, kept incrementally.

Each day with incidents on a segment has a bucket: counts by column (:data:`BUCKET_COLUMNS`).
The features read sums of the buckets over the 7, 30 and 365 days up to a day. Summing the
buckets afresh for every incident made the cost of an event grow with the history; here the sums
are kept by **cursors** that move forward a day at a time, adding the day that enters each window
and taking away the day that leaves it, so a day costs the same whatever the history.

A cursor at day ``D`` holds, for each window of ``w`` days, the sum of the buckets of the
``w - 1`` days before ``D``; the caller adds ``D``'s own bucket (it changes with every incident
of the day). A bucket that changes (an incident of a past day within the grace period) is added
to every cursor whose windows hold its day, and a bucket dropped past the retention is taken
from them, so a cursor always equals a sum from scratch over the buckets there are. Every column
is an integer, so "equals" is exact: a worker that restarts (cursors live in memory only) derives
the same features as one that did not.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import NamedTuple, Sequence

from detectors.features import MONTH, WINDOW_DAYS, YEAR

#: What a daily bucket counts, in order. Spill-over: incidents on the neighbouring segments (not
#: counted in the other columns). ``force`` and ``deadly`` are the incident classes of
#: detectors.features (use of force without deaths; incidents with deaths); display is the rest.
BUCKET_COLUMNS: tuple[str, ...] = ("incidents", "fatalities", "injuries", "severity", "violent", "intrusion",
                                   "spill", "force", "deadly")
N, FATAL, INJ, SEV, VIOLENT, INTRUSION, SPILL, FORCE, DEADLY = range(len(BUCKET_COLUMNS))
BUCKET_WIDTH = len(BUCKET_COLUMNS)
#: Cursors kept per segment: one follows scoring, one learning; a few spare for a late day.
MAX_CURSORS = 4

#: A day with nothing counted.
EMPTY_BUCKET: tuple[int, ...] = (0,) * BUCKET_WIDTH
#: Day 0 of the day numbers that key the buckets.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def day_of(dt: datetime) -> int:
    """Days since 1970-01-01 (negative before): the daily bucket an instant falls in."""
    return (dt - EPOCH).days


def day_start(day: int) -> datetime:
    return EPOCH + timedelta(days=day)


def days_by_column(days: dict[int, list[int]]) -> list[list[int]]:
    """The buckets as stored: the days (the first, then the gap to each next one), then one list
    per column. Compresses well: a column is mostly small numbers and repeats."""
    ordered = sorted(days)
    gaps = [d - p for p, d in zip([0, *ordered], ordered)]
    if not ordered:
        return [gaps, *([] for _ in range(BUCKET_WIDTH))]
    return [gaps, *map(list, zip(*(days[d] for d in ordered)))]  # the buckets transposed


def days_from_columns(columns: list[list[int]]) -> dict[int, list[int]]:
    """What :func:`days_by_column` stored, as buckets by day."""
    gaps, *cols = columns
    return dict(zip(accumulate(gaps), map(list, zip(*cols, strict=True)), strict=True))


class Before(NamedTuple):
    """What the buckets before a day say, for the features of that day."""

    #: per window in WINDOW_DAYS: the column sums of the window's days before the day
    sums: tuple[list[int], ...]
    #: the newest day before this one with a death in the buckets, or None
    last_fatal: int | None
    #: the highest MONTH-day death toll of a window ending in the YEAR days before the day
    prior_max: int


class _Cursor:
    __slots__ = ("day", "sums")

    def __init__(self, day: int, sums: list[list[int]]):
        self.day = day
        self.sums = sums


def _add(acc: list[int], bucket: Sequence[int], sign: int = 1) -> None:
    for i, v in enumerate(bucket):
        if v:
            acc[i] += sign * v


def _sum_range(days: dict[int, list[int]], lo: int, hi: int) -> list[int]:
    """Column sums of the buckets of days ``lo``..``hi`` inclusive."""
    acc = [0] * BUCKET_WIDTH
    if hi - lo + 1 > len(days):
        for d, b in days.items():
            if lo <= d <= hi:
                _add(acc, b)
    else:
        for d in range(lo, hi + 1):
            b = days.get(d)
            if b is not None:
                _add(acc, b)
    return acc


def _toll(fatal_days: list[int], prefix: list[int], i: int) -> int:
    """The deaths of the MONTH days ending on ``fatal_days[i]`` (``prefix``: running sums of the
    fatal days' deaths, ``prefix[0] = 0``)."""
    return prefix[i + 1] - prefix[bisect_right(fatal_days, fatal_days[i] - MONTH)]


class Windows:
    """The rolling sums of one segment's buckets (memory only; see the module's docstring).

    The buckets themselves stay in the segment's state (``days``, passed in): every change of a
    bucket goes through :meth:`add` and every drop through :meth:`drop_before`, which keep the
    cursors equal to the buckets.
    """

    __slots__ = ("cursors", "_fatal_days", "_fatal_prefix", "_fatal_tolls", "_fatal_at", "_oldest")

    def __init__(self) -> None:
        self.cursors: list[_Cursor] = []
        #: the days with deaths, in order (None: to be read again from the buckets)
        self._fatal_days: list[int] | None = None
        self._fatal_prefix: list[int] = [0]
        #: the MONTH-day toll of the window ending on each fatal day
        self._fatal_tolls: list[int] = []
        #: the oldest day with a bucket, once known (None: not looked at yet)
        self._oldest: int | None = None
        #: day -> (last_fatal, prior_max), while the fatal days stay as they are
        self._fatal_at: dict[int, tuple[int | None, int]] = {}

    def add(self, days: dict[int, list[int]], day: int, delta: Sequence[int]) -> None:
        """Add ``delta`` (a bucket's worth of counts) to ``day``'s bucket, creating it if need be."""
        bucket = days.get(day)
        if bucket is None:
            bucket = days[day] = [0] * BUCKET_WIDTH
        _add(bucket, delta)
        if self._oldest is not None and day < self._oldest:
            self._oldest = day
        for c in self.cursors:
            for w, acc in zip(WINDOW_DAYS, c.sums):
                if c.day - w < day < c.day:
                    _add(acc, delta)
        if delta[FATAL]:
            self._add_fatal(day, delta[FATAL])

    def _add_fatal(self, day: int, deaths: int) -> None:
        """Deaths on ``day``: extend the fatal days in place when ``day`` is their newest (incidents
        mostly come in order), else read them again from the buckets when next asked."""
        fdays = self._fatal_days
        if fdays is None:
            return
        if deaths < 0:  # a correction: a day may leave the fatal days
            self._fatal_days = None
            return
        prefix = self._fatal_prefix
        if fdays and day == fdays[-1]:
            prefix[-1] += deaths
            self._fatal_tolls[-1] = _toll(fdays, prefix, len(fdays) - 1)
        elif not fdays or day > fdays[-1]:
            fdays.append(day)
            prefix.append(prefix[-1] + deaths)
            self._fatal_tolls.append(_toll(fdays, prefix, len(fdays) - 1))
        else:
            self._fatal_days = None
            return
        self._fatal_at.clear()

    def drop_before(self, days: dict[int, list[int]], horizon: int) -> dict[int, list[int]]:
        """Drop the buckets before ``horizon`` from ``days`` (in place; returned); the cursors lose
        the days dropped."""
        if self._oldest is None:
            self._oldest = min(days, default=None)
        if self._oldest is None or self._oldest >= horizon:
            return days
        # Usually a day or two leave (the newest incident moved the horizon on): walk those days
        # rather than every bucket; a sparse segment's few buckets are walked instead.
        if horizon - self._oldest <= len(days):
            dropped = [(d, days.pop(d)) for d in range(self._oldest, horizon) if d in days]
        else:
            dropped = [(d, b) for d, b in days.items() if d < horizon]
            for d, _ in dropped:
                del days[d]
        for d, b in dropped:
            for c in self.cursors:
                for w, acc in zip(WINDOW_DAYS, c.sums):
                    if c.day - w < d < c.day:
                        _add(acc, b, -1)
            if b[FATAL]:
                self._fatal_days = None
        self._oldest = min(days, default=None)
        return days

    def before(self, days: dict[int, list[int]], day: int) -> Before:
        """The window sums and death history of the buckets before ``day``."""
        cursor = self._cursor(days, day)
        return Before(tuple(list(s) for s in cursor.sums), *self._fatal_before(days, day))

    def _cursor(self, days: dict[int, list[int]], day: int) -> _Cursor:
        best = None
        for c in self.cursors:
            if c.day <= day and (best is None or c.day > best.day):
                best = c
        if best is None:
            best = _Cursor(day, [_sum_range(days, day - w + 1, day - 1) for w in WINDOW_DAYS])
            self.cursors.append(best)
            del self.cursors[:-MAX_CURSORS]
        elif best.day < day:
            self._move(days, best, day)
        # most recently used last, so the trim above keeps the cursors in use
        self.cursors.remove(best)
        self.cursors.append(best)
        return best

    @staticmethod
    def _move(days: dict[int, list[int]], c: _Cursor, day: int) -> None:
        old = c.day
        for i, w in enumerate(WINDOW_DAYS):
            if day - old >= w - 1:  # the windows do not overlap: sum the new one afresh
                c.sums[i] = _sum_range(days, day - w + 1, day - 1)
                continue
            acc = c.sums[i]
            for d in range(old, day):  # entering
                b = days.get(d)
                if b is not None:
                    _add(acc, b)
            for d in range(old - w + 1, day - w + 1):  # leaving
                b = days.get(d)
                if b is not None:
                    _add(acc, b, -1)
        c.day = day

    def _fatal_before(self, days: dict[int, list[int]], day: int) -> tuple[int | None, int]:
        if self._fatal_days is None:
            fatal = sorted((d, b[FATAL]) for d, b in days.items() if b[FATAL])
            self._fatal_days = [d for d, _ in fatal]
            self._fatal_prefix = prefix = [0, *accumulate(f for _, f in fatal)]
            fdays = self._fatal_days
            self._fatal_tolls = [_toll(fdays, prefix, i) for i in range(len(fdays))]
            self._fatal_at.clear()
        known = self._fatal_at.get(day)
        if known is None:
            if len(self._fatal_at) >= MAX_CURSORS:
                self._fatal_at.clear()
            known = self._fatal_at[day] = self._deaths_before(day)
        return known

    def _deaths_before(self, day: int) -> tuple[int | None, int]:
        fdays, prefix = self._fatal_days, self._fatal_prefix
        end = bisect_left(fdays, day)  # the fatal days before ``day``: fdays[:end]
        if not end:
            return None, 0

        start = day - YEAR
        # A window's toll is highest at a window ending on a fatal day, or at the range's start
        # (the deaths in (start - MONTH, start]; every fatal day before ``day`` ends one).
        at_start = prefix[bisect_right(fdays, start, 0, end)] - prefix[bisect_right(fdays, start - MONTH, 0, end)]
        first = bisect_left(fdays, start, 0, end)
        return fdays[end - 1], max(at_start, max(self._fatal_tolls[first:end], default=0))
