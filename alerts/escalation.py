"""Escalation policy: calibrated score -> level, with separate raise and clear thresholds.

Detectors say how unusual a segment looks; this module decides the level. A
level is raised when the score reaches its raise threshold and kept until the
score falls below its (lower) clear threshold, so a score hovering around a
threshold does not flap.

>>> p = EscalationPolicy()
>>> p.next_level(0, 0.8), p.next_level(2, 0.7), p.next_level(2, 0.5)
(2, 2, 1)

Alarm post-rules live here too, not in the detectors (which only say how unusual): an
alert that would open at watch level needs the score at watch on ``watch_min_hits``
distinct days within ``hits_window_days``, and for ``suppress_days`` after an alert on
the segment resolved a new one opens only at warning or above. Warning and critical
always open at once: a deadly clash must alert on the event itself.

>>> q = EscalationPolicy(watch_min_hits=2, suppress_days=30)
>>> q.may_open(1, [100], 100, None), q.may_open(1, [95, 100], 100, None), q.may_open(2, [100], 100, None)
(False, True, True)
>>> q.may_open(1, [95, 100], 100, 80)
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from detectors.calibration import LEVEL_NAMES, LEVEL_SCORES

LEVELS = ("none", *LEVEL_NAMES)
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}


@dataclass(frozen=True)
class EscalationPolicy:
    # index 1..3 = watch, warning, critical; index 0 unused
    raise_at: tuple[float, float, float, float] = (0.0, *LEVEL_SCORES)
    clear_below: tuple[float, float, float, float] = (0.0, 0.4, 0.65, 0.82)
    watch_min_hits: int = 1
    hits_window_days: int = 14
    suppress_days: int = 0
    #: An alert resolves once it is this old, unless people died on the segment within the last
    #: 30 days: a warning is a forecast for the weeks ahead (the hazard model's 60-day horizon),
    #: and one left open for months would not warn of the next episode. None: never.
    expire_after_days: int | None = 45

    def __post_init__(self) -> None:
        for i in (1, 2, 3):
            if not 0 < self.clear_below[i] <= self.raise_at[i] <= 1:
                raise ValueError(f"{LEVELS[i]}: need 0 < clear ({self.clear_below[i]}) <= raise ({self.raise_at[i]}) <= 1")
        if not self.raise_at[1] < self.raise_at[2] < self.raise_at[3]:
            raise ValueError("raise thresholds must increase watch < warning < critical")
        if self.watch_min_hits < 1 or self.hits_window_days < 1 or self.suppress_days < 0:
            raise ValueError("need watch_min_hits >= 1, hits_window_days >= 1, suppress_days >= 0")
        if self.expire_after_days is not None and self.expire_after_days < 1:
            raise ValueError("need expire_after_days >= 1 (or None: alerts never expire)")

    def raised_level(self, score: float) -> int:
        for level in (3, 2, 1):
            if score >= self.raise_at[level]:
                return level
        return 0

    def next_level(self, current: int, score: float) -> int:
        """The level after seeing ``score`` at ``current``: up at once, down only past the clear line."""
        raised = self.raised_level(score)
        if raised >= current:
            return raised
        level = current
        while level > raised and score < self.clear_below[level]:
            level -= 1
        return level

    def expired(self, age_days: int, recent_deaths: bool) -> bool:
        """Whether an alert opened ``age_days`` ago resolves now (see ``expire_after_days``)."""
        return self.expire_after_days is not None and age_days >= self.expire_after_days and not recent_deaths

    def may_open(self, level: int, hit_days: Sequence[int], day: int, resolved_day: int | None) -> bool:
        """Whether a new alert may open at ``level`` on ``day``.

        ``hit_days``: the days (including ``day``) on which the segment's score reached watch
        while no alert was open; ``resolved_day``: when its last alert resolved, if ever.
        """
        if level >= 2:
            return True
        if resolved_day is not None and day - resolved_day < self.suppress_days:
            return False
        return len({d for d in hit_days if day - d < self.hits_window_days}) >= self.watch_min_hits
