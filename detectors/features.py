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
    """``log1p`` of the named features (missing = 0), the scale the hazard model reads counts on."""
    return [math.log1p(max(float(features.get(n) or 0.0), 0.0)) for n in names]
