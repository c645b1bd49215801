"""The features the pipeline hands to detectors: names and the arithmetic behind the decayed counts.

Detectors and the pipeline share this vocabulary; it lives here because detectors import
nothing of the pipeline's.

**Decayed counts** (a discrete self-exciting view of a border's history): for each incident
class and half-life ``h`` days, the sum over the segment's incidents of ``2 ** (-age / h)``,
``age`` in whole days at the day scored (today's incidents count 1). Five half-lives from a
week to five years give the model the shape of the history -- a burst this week, a tense
season, a violent decade -- in fifteen numbers that update in O(1) per incident and never need
the old days again, unlike a rolling window.

Incident classes (exclusive, from the record's severity and fatalities, so they mean the same
for every source whose adapter maps severity per docs/FORMATS.md):

* ``display`` -- severity <= 3 and no deaths: threats, shows of force, border violations,
  fortification, seizures coded as display;
* ``force`` -- severity >= 4 and no deaths: use of force that killed nobody;
* ``deadly`` -- any incident with deaths.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

#: Half-lives of the decayed counts, in days.
HALF_LIVES: tuple[int, ...] = (7, 30, 90, 365, 1825)
#: Incident classes of the decayed counts, in their storage order.
CLASSES: tuple[str, ...] = ("display", "force", "deadly")
#: Severity from which an incident is use of force (MIE hostility 4 = use of force, 5 = war).
FORCE_SEVERITY = 4
#: ``days_since_fatal`` when no death has ever been seen on the segment.
NEVER = 99999
#: The rolling windows the pipeline sums a segment's daily buckets over (days, the scored day
#: included), and the weeks of the year before a 7-day window (its baseline: 358 / 7).
WEEK, MONTH, YEAR = 7, 30, 365
WINDOW_DAYS: tuple[int, ...] = (WEEK, MONTH, YEAR)
#: How far back (days before the scored day) the rolling views read at the most: the earliest
#: window of ``fatalities_30d_prior_max`` ends a YEAR before and is a MONTH long. An incident this
#: old or newer may be in the figures an alert quotes (streams.explanation, figures_releasable_to).
VIEW_REACH = YEAR + MONTH
PRIOR_WEEKS = (YEAR - WEEK) / WEEK


def windowed(column: str, days: int) -> str:
    """Feature name of a rolling sum, e.g. ``count_7d``."""
    return f"{column}_{days}d"


#: The rolling features (streams.segment_features assembles them; every detector reads them by these names).
COUNT_1D, COUNT_7D, COUNT_30D, COUNT_365D = "count_1d", "count_7d", "count_30d", "count_365d"
VIOLENT_1D, VIOLENT_7D, VIOLENT_30D, VIOLENT_365D = "violent_1d", "violent_7d", "violent_30d", "violent_365d"
INTRUSION_7D, INTRUSION_30D, INTRUSION_365D = "intrusion_7d", "intrusion_30d", "intrusion_365d"
FATALITIES_7D, FATALITIES_30D, FATALITIES_365D = "fatalities_7d", "fatalities_30d", "fatalities_365d"
SEVERITY_7D, SEVERITY_30D, SEVERITY_365D = "severity_index_7d", "severity_index_30d", "severity_index_365d"
SPILL_7D, SPILL_30D, SPILL_365D = "spill_7d", "spill_30d", "spill_365d"
FORCE_7D, FORCE_30D, FORCE_365D = "force_7d", "force_30d", "force_365d"
DEADLY_7D, DEADLY_30D, DEADLY_365D = "deadly_7d", "deadly_30d", "deadly_365d"
INJURIES_30D, DISPLAY_30D = "injuries_30d", "display_30d"
#: the weekly incident rate over the 358 days before the 7-day window
WEEKLY_MEAN_PRIOR = "weekly_mean_prior"
#: the highest 30-day death toll of a window ending in the year before the scored day
FATALITIES_30D_PRIOR_MAX = "fatalities_30d_prior_max"
#: days since the last death on the segment (NEVER if none is on record)
DAYS_SINCE_FATAL = "days_since_fatal"
#: days since the segment's first incident on record (0 on that day and before any)
DAYS_ON_RECORD = "days_on_record"
#: arms delivered to both sides of the border in the five years before (SIPRI TIV)
PRESSURE_TIV_5Y = "pressure_tiv_5y"
#: incidents of a state's internal unrest or conflict (protests, its own armed conflict: uncounted
#: in every other view) among the segment's recent ones, in the 7 days up to the scored day
INTERNAL_7D = "internal_7d"
#: Every rolling feature, in the order the pipeline builds them.
WINDOW_FEATURES: tuple[str, ...] = (
    COUNT_1D, COUNT_7D, COUNT_30D, COUNT_365D, WEEKLY_MEAN_PRIOR, VIOLENT_1D, VIOLENT_7D, VIOLENT_30D, VIOLENT_365D,
    INTRUSION_7D, INTRUSION_30D, INTRUSION_365D, FATALITIES_7D, FATALITIES_30D, FATALITIES_365D,
    FATALITIES_30D_PRIOR_MAX, INJURIES_30D, SEVERITY_7D, SEVERITY_30D, SEVERITY_365D, SPILL_7D, SPILL_30D, SPILL_365D,
    FORCE_7D, FORCE_30D, FORCE_365D, DEADLY_7D, DEADLY_30D, DEADLY_365D, DISPLAY_30D, DAYS_SINCE_FATAL,
    DAYS_ON_RECORD, PRESSURE_TIV_5Y, INTERNAL_7D)
#: How many days before the scored one the pipeline may hand a detector as daily lags: the days
#: it has not learned yet (the late-event grace), which a recursion carries itself over.
MAX_LAGS = 60
#: The lags' names: incidents and violent incidents ``k`` days before the scored day (0 = itself).
COUNT_LAGS: tuple[str, ...] = tuple(f"count_lag_{k}" for k in range(MAX_LAGS))
VIOLENT_LAGS: tuple[str, ...] = tuple(f"violent_lag_{k}" for k in range(MAX_LAGS))


DISPLAY, FORCE, DEADLY = range(len(CLASSES))


def incident_class(severity: int, fatalities: int) -> int:
    """Index into :data:`CLASSES` of an incident."""
    if fatalities > 0:
        return DEADLY
    return FORCE if severity >= FORCE_SEVERITY else DISPLAY


def decayed_name(cls: str, half_life: int) -> str:
    """Feature name of one decayed count, e.g. ``force_decay30``."""
    return f"{cls}_decay{half_life}"


#: Every decayed-count feature name, class-major (the storage order of :func:`add_incident`).
DECAYED_FEATURES: tuple[str, ...] = tuple(decayed_name(c, h) for c in CLASSES for h in HALF_LIVES)

_FACTOR = tuple(2.0 ** (-1.0 / h) for h in HALF_LIVES)


def decay(values: Sequence[float], days: int) -> list[float]:
    """``values`` (class-major, as stored) aged by ``days`` whole days."""
    if days <= 0:
        return list(values)
    n = len(HALF_LIVES)
    return [v * _FACTOR[i % n] ** days if v else 0.0 for i, v in enumerate(values)]


def add_incident(values: list[float], as_of: int, day: int, cls: int) -> None:
    """Add one incident of class ``cls`` on ``day`` to ``values`` held as of day ``as_of``.

    ``day`` may be before ``as_of`` (a late report): it is added already aged, so the result
    does not depend on the order incidents arrive in (up to float rounding).
    """
    n = len(HALF_LIVES)
    age = max(as_of - day, 0)
    for i in range(n):
        values[cls * n + i] += _FACTOR[i] ** age if age else 1.0


def as_features(values: Sequence[float]) -> dict[str, float]:
    return dict(zip(DECAYED_FEATURES, values))


def log_counts(features: Mapping[str, float], names: Sequence[str]) -> list[float]:
    """``log1p`` of the named features (missing or below 0: 0), the scale the hazard model reads counts on."""
    get, log1p = features.get, math.log1p
    return [log1p(v) if (v := get(n)) and v > 0 else 0.0 for n in names]
