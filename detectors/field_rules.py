"""The field's simple warning rules, computed here: the yardsticks every detector is read against.

Each rule runs per border over the border's incidents, read as (day, end day, hostility 1-5,
deaths), and gives the days an alert opens and resolves: the same alerts, rule by rule and day by
day, as the field's reference implementation (``baselines.py`` of the shared reference
evaluation; vendored verbatim in ``tests/reference_eval/`` and compared alert by alert on the
18-border development set). "Violent" is hostility >= 4 (use of force or war, on the MIE scale).

========  =====================================================================  ========
rule      fires on day t when                                                    level
========  =====================================================================  ========
``a``     ACLED surge: c7 = violent incidents in [t-6, t], m4 = violent          warning
          incidents in [t-34, t-7] / 4 (the weekly mean of the 4 weeks before);
          c7 >= 2 m4 and m4 >= 1 (the eligibility floor)
``a2``    as ``a`` without the floor, but a non-zero baseline: m4 > 0            warning
``a2z``   as ``a`` with a zero baseline allowed: c7 >= 1 and c7 >= 2 m4 (any     warning
          violent incident after a quiet month)
``b``     HDX yearly high: F(t) = deaths in incidents starting in [t-29, t];     critical
          F(t) > F(s) for every s in [t-365, t-1] (0 before the data) and
          F(t) >= 100
``b2``    as ``b`` with the floor 1                                              warning
``c``     reactive: a day with a deadly incident (no lead time is possible)      warning
``d``     any incident: a day with an incident of hostility >= 3 (display of     watch
          force or more); a noisy upper bound on early warning
========  =====================================================================  ========

``a`` to ``b2`` are evaluated every day from the border's first incident to the coverage end,
as a streaming system would: an alert opens on the first day the condition holds and resolves
on the first day it no longer does (still open at the coverage end: no resolution). ``c`` and
``d`` open on the incident's day and resolve on the latest end day of that day's incidents.
Caveat (the reference's): deaths are credited on the incident's start day, though in a long
battle they were known only later, so ``b``, ``b2`` and ``c`` are slightly optimistic.

The rules only ever hold within days of a qualifying incident (``a``: within 7 days of a violent
one; ``b``: within 30 days of a deadly one), so they are computed on those days alone, not on
every day of seventy years.

Pure: dates and numbers in, alerts out; nothing of borderwatch's is imported and nothing is read.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Callable, Iterable, Iterator, Sequence

#: MIE hostility levels the rules read: use of force (4, and war 5) is violent; display of force (3) is an incident.
USE_OF_FORCE, DISPLAY_OF_FORCE = 4, 3
SURGE_WEEK, SURGE_BASELINE_WEEKS = 7, 4
DEATHS_WINDOW, YEAR = 30, 365


@dataclass(frozen=True)
class RuleIncident:
    """One incident as the rules read it."""

    border: str
    day: date
    #: the day it ended (= ``day`` for an incident of one day)
    end: date
    hostility: int
    deaths: int
    event_id: str = ""


@dataclass(frozen=True)
class RuleAlert:
    rule: str
    border: str
    level: str
    opened: date
    #: None: still open at the coverage end
    resolved: date | None
    #: what made it fire, e.g. ``c7=3 m4=0.5``
    trigger: str


@dataclass(frozen=True)
class FieldRule:
    name: str
    #: the reference's name for the rule (its alerts file is ``NAME.<title>.csv``)
    title: str
    level: str
    description: str
    #: (border, its incidents in day order, first day, coverage end) -> the border's alerts
    run: Callable[[str, list[RuleIncident], date, date], list[RuleAlert]]


def run_rule(name: str, incidents: Iterable[RuleIncident], coverage_end: date | None = None) -> list[RuleAlert]:
    """The alerts of rule ``name`` over every border's incidents, ordered by (opening day, border).

    ``coverage_end``: the last day the rules look at (default: the last incident's day); later
    incidents are left out, and each border is looked at from its first incident on.
    """
    rule = FIELD_RULES[name]
    by_border: dict[str, list[RuleIncident]] = {}
    for inc in sorted(incidents, key=lambda i: (i.day, i.event_id)):
        by_border.setdefault(inc.border, []).append(inc)
    if not by_border:
        return []
    end = coverage_end or max(i.day for incs in by_border.values() for i in incs)
    out: list[RuleAlert] = []
    for border in sorted(by_border):
        incs = by_border[border]
        out += rule.run(border, [i for i in incs if i.day <= end], incs[0].day, end)
    return sorted(out, key=lambda a: (a.opened, a.border))


def _spells(name: str, border: str, level: str, days: Iterator[tuple[date, bool, str]], end: date
            ) -> list[RuleAlert]:
    """Alerts from a condition given on some days, in order; on every other day it is false.

    An alert opens on the first day the condition holds and resolves on the first day it does
    not: a listed day where it fails, or the first unlisted day after a listed one.
    """
    out: list[RuleAlert] = []
    opened: tuple[date, str] | None = None
    previous = None
    for day, holds, trigger in days:
        if opened is not None and (not holds or day > previous + timedelta(days=1)):
            # it held on ``previous`` (else it would have resolved), so the day after is the first it does not
            out.append(RuleAlert(name, border, level, opened[0], previous + timedelta(days=1), opened[1]))
            opened = None
        if holds and opened is None:
            opened = (day, trigger)
        previous = day
    if opened is not None:
        closes = previous + timedelta(days=1)
        out.append(RuleAlert(name, border, level, opened[0], closes if closes <= end else None, opened[1]))
    return out


def _days_after(days: Iterable[date], width: int, first: date, end: date) -> list[date]:
    """Every day in [d, d + width - 1] of some ``d`` in ``days``, within [first, end], in order."""
    out: set[date] = set()
    for d in days:
        out.update(d + timedelta(days=k) for k in range(width))
    return sorted(d for d in out if first <= d <= end)


class _Counts:
    """Sums of a per-incident quantity over day ranges (incidents in day order)."""

    def __init__(self, pairs: Sequence[tuple[date, int]]) -> None:
        self.days = [d for d, _ in pairs]
        self.prefix = [0, *accumulate(v for _, v in pairs)]

    def between(self, lo: date, hi: date) -> int:
        return self.prefix[bisect_right(self.days, hi)] - self.prefix[bisect_left(self.days, lo)]


def _surge(mode: str) -> Callable[[str, list[RuleIncident], date, date], list[RuleAlert]]:
    def run(border: str, incs: list[RuleIncident], first: date, end: date) -> list[RuleAlert]:
        violent = [i.day for i in incs if i.hostility >= USE_OF_FORCE]
        counts = _Counts([(d, 1) for d in violent])
        week = timedelta(days=SURGE_WEEK - 1)

        def on(day: date) -> tuple[date, bool, str]:
            c7 = counts.between(day - week, day)
            before = counts.between(day - timedelta(days=SURGE_WEEK * (SURGE_BASELINE_WEEKS + 1) - 1),
                                    day - timedelta(days=SURGE_WEEK))
            # m4 = before / 4, kept whole: c7 >= 2 m4 is 2 c7 >= before, m4 >= 1 is before >= 4
            doubled = 2 * c7 >= before
            holds = doubled and (before >= SURGE_BASELINE_WEEKS if mode == "a" else before > 0 if mode == "a2"
                                 else c7 >= 1)
            return day, holds, f"c7={c7} m4={before / SURGE_BASELINE_WEEKS:g}"

        # c7 >= 1 on every day the rule can hold, so only the week after each violent incident is looked at
        return _spells(mode, border, "warning", map(on, _days_after(violent, SURGE_WEEK, first, end)), end)

    return run


def _yearly_high(name: str, floor: int, level: str) -> Callable[[str, list[RuleIncident], date, date], list[RuleAlert]]:
    def run(border: str, incs: list[RuleIncident], first: date, end: date) -> list[RuleAlert]:
        deadly = [i for i in incs if i.deaths > 0]
        deaths = _Counts([(i.day, i.deaths) for i in deadly])
        window = timedelta(days=DEATHS_WINDOW - 1)
        # F is 0 on every day not listed here, and a day with F = 0 never fires (floor >= 1)
        days = _days_after((i.day for i in deadly), DEATHS_WINDOW, first, end)
        toll = [deaths.between(d - window, d) for d in days]

        def steps() -> Iterator[tuple[date, bool, str]]:
            highs: deque[int] = deque()  # positions in ``days`` within the past year, tolls decreasing
            for k, (day, f) in enumerate(zip(days, toll)):
                while highs and days[highs[0]] < day - timedelta(days=YEAR):
                    highs.popleft()
                past = toll[highs[0]] if highs else 0
                yield day, f > past and f >= floor, f"F30={f} past_year_max={past}"
                while highs and toll[highs[-1]] <= f:
                    highs.pop()
                highs.append(k)

        return _spells(name, border, level, steps(), end)

    return run


def _per_day(name: str, level: str, qualifies: Callable[[RuleIncident], bool], what: str
             ) -> Callable[[str, list[RuleIncident], date, date], list[RuleAlert]]:
    def run(border: str, incs: list[RuleIncident], first: date, end: date) -> list[RuleAlert]:
        by_day: dict[date, list[RuleIncident]] = {}
        for i in incs:
            if qualifies(i):
                by_day.setdefault(i.day, []).append(i)
        return [RuleAlert(name, border, level, day, max(i.end for i in day_incs),
                          f"{len(day_incs)} {what}: {' '.join(i.event_id for i in day_incs)}")
                for day, day_incs in sorted(by_day.items())]

    return run


FIELD_RULES: dict[str, FieldRule] = {r.name: r for r in (
    FieldRule("a", "a-acled-surge", "warning",
              "ACLED surge: violent incidents of the last 7 days at least twice the weekly mean of the 4 weeks "
              "before, that mean at least 1", _surge("a")),
    FieldRule("a2", "a2-acled-surge-nofloor", "warning",
              "ACLED surge without the floor: the 4 weeks before had a violent incident", _surge("a2")),
    FieldRule("a2z", "a2z-acled-surge-zerobase", "warning",
              "ACLED surge, zero baseline allowed: any violent incident after a quiet month", _surge("a2z")),
    FieldRule("b", "b-hdx-signal", "critical",
              "HDX yearly high: 30-day deaths above every 30-day toll of the past year, and at least 100",
              _yearly_high("b", 100, "critical")),
    FieldRule("b2", "b2-hdx-signal-floor1", "warning",
              "HDX yearly high with floor 1: 30-day deaths above every 30-day toll of the past year",
              _yearly_high("b2", 1, "warning")),
    FieldRule("c", "c-reactive-fatal", "warning",
              "reactive: every day with a deadly incident (no lead time is possible)",
              _per_day("c", "warning", lambda i: i.deaths >= 1, "deadly")),
    FieldRule("d", "d-any-incident", "watch",
              "any incident: every day with a display of force or more (hostility >= 3)",
              _per_day("d", "watch", lambda i: i.hostility >= DISPLAY_OF_FORCE, "at hostility >= 3")),
)}
