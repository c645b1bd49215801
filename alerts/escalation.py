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
distinct days within ``hits_window_days``; for ``suppress_days`` after an alert on
the segment resolved a new one opens only at warning or above, and for
``surge_quiet_days`` a surge alone (no death, no forecast at watch) opens none at watch.
Warning and critical always open at once: a deadly clash must alert on the event itself.

>>> q = EscalationPolicy(watch_min_hits=2, suppress_days=30)
>>> q.may_open(1, [100], 100, None), q.may_open(1, [95, 100], 100, None), q.may_open(2, [100], 100, None)
(False, True, True)
>>> q.may_open(1, [95, 100], 100, 80)
False
>>> p.may_open(1, [100], 100, 80, surge_only=lambda: True), p.may_open(1, [100], 100, 80, surge_only=lambda: False)
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from detectors.calibration import CLEAR_SCORES, LEVEL_NAMES, LEVEL_SCORES
from detectors.features import WEEK

LEVELS = ("none", *LEVEL_NAMES)
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}


class Alarm(Protocol):
    """A key's alarm bookkeeping, as its state keeps it (streams.segment_state.SegmentState)."""

    #: the open alert's level (0: none open) and record: alert_id, opened_at, opened_day, peaks, level_day
    level: int
    alert: dict[str, Any] | None
    #: days the score reached watch with no alert open; the day the last alert resolved
    hits: list[int]
    resolved_day: int | None
    #: transitions made on this key so far (each alert transition's sequence number)
    seq: int
    #: the last day boundary evaluated while an alert is open
    evaluated_day: int | None


@dataclass(frozen=True)
class Move:
    """One change of an alarm's level: what an alert transition reports."""

    old: int
    new: int
    transition: str  # opened | escalated | de-escalated | resolved
    #: the alert's record as of the move (the one that just resolved, for "resolved")
    alert: dict[str, Any]


def transition_name(old: int, new: int) -> str:
    return "opened" if old == 0 else "resolved" if new == 0 else "escalated" if new > old else "de-escalated"


def move(alarm: Alarm, new: int, *, alert_id: str, at: str, day: int | None, score: float) -> Move:
    """Take ``alarm`` to level ``new`` (not its level): open an alert (``alert_id``, at ``at``),
    raise or lower it, or resolve it; count the transition."""
    old, alert = alarm.level, alarm.alert
    alarm.level = new
    if old == 0:
        alert = alarm.alert = {"alert_id": alert_id, "opened_at": at, "opened_day": day, "peak_level": new,
                               "peak_score": score}
        alarm.evaluated_day = day
        alarm.hits.clear()
    elif new == 0:
        alarm.resolved_day = day
    elif new > old:
        alert["level_day"] = day  # the day it rose to this level (EscalationPolicy.hold_days)
    alarm.seq += 1
    if new == 0:
        alarm.alert = None
    return Move(old, new, transition_name(old, new), alert)


def note_peak(alarm: Alarm, score: float, level: int) -> None:
    """The open alert's highest score and level so far."""
    alert = alarm.alert
    if alert is not None:
        if score > alert["peak_score"]:
            alert["peak_score"] = score
        alert["peak_level"] = max(alert["peak_level"], level)


@dataclass(frozen=True)
class EscalationPolicy:
    # index 1..3 = watch, warning, critical; index 0 unused
    raise_at: tuple[float, float, float, float] = (0.0, *LEVEL_SCORES)
    clear_below: tuple[float, float, float, float] = (0.0, *CLEAR_SCORES)
    watch_min_hits: int = 1
    hits_window_days: int = 14
    suppress_days: int = 0
    #: For this many days after an alert on the segment resolved, a surge alone -- the stack's
    #: score beside its surge views below watch (detectors.base.score_beside_surges) -- opens no
    #: alert at watch: a surge that outlives its alert (one expired after ``expire_after_days``)
    #: is the same surge, not news. Deaths and forecasts open at once. On the development
    #: borders 10 false alarms fewer and no early warning lost; on the synthetic scenarios one
    #: in eight fewer (docs/DETECTION.md, "Deciding").
    surge_quiet_days: int = 30
    #: An alert resolves once it is this old, unless people died on the segment within the last
    #: 30 days: a warning is a forecast for the weeks ahead (the hazard model's 60-day horizon),
    #: and one left open for months would not warn of the next episode. None: never.
    expire_after_days: int | None = 45
    #: An open alert keeps a level it rose to for this many days before it steps down to a lower
    #: one (it still resolves at once): a level reached on a week's count (the surge's 7-day
    #: window) stands for that week. Without it a busy border's count going up and down across a
    #: line took its alert warning -> critical -> warning every day or two (docs/DETECTION.md,
    #: "Deciding"). Which alerts open and when they resolve does not depend on it.
    hold_days: int = WEEK

    def __post_init__(self) -> None:
        for i in (1, 2, 3):
            if not 0 < self.clear_below[i] <= self.raise_at[i] <= 1:
                raise ValueError(f"{LEVELS[i]}: need 0 < clear ({self.clear_below[i]}) <= raise ({self.raise_at[i]}) <= 1")
        if not self.raise_at[1] < self.raise_at[2] < self.raise_at[3]:
            raise ValueError("raise thresholds must increase watch < warning < critical")
        if self.watch_min_hits < 1 or self.hits_window_days < 1 or self.suppress_days < 0 \
                or self.surge_quiet_days < 0 or self.hold_days < 0:
            raise ValueError("need watch_min_hits >= 1, hits_window_days >= 1, suppress_days >= 0, "
                             "surge_quiet_days >= 0, hold_days >= 0")
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

    def expires(self, alarm: Alarm, day: int, recent_deaths: bool) -> bool:
        """Whether the alarm's open alert resolves on ``day`` for its age (see ``expire_after_days``)."""
        return alarm.alert is not None and self.expired(day - alarm.alert["opened_day"], recent_deaths)

    def decide(self, alarm: Alarm, day: int, score: float, *, may_raise: bool,
               surge_only: Callable[[], bool] | None = None) -> int:
        """The level scoring ``score`` on ``day`` takes the alarm to, with the post-rules; a day the
        score reached watch with no alert open is recorded as a hit. ``may_raise`` False: a day
        boundary, where levels only fall. ``surge_only()``: whether a surge alone made the score
        (asked only when the surge quiet period could keep an alert shut)."""
        new = self.next_level(alarm.level, score)
        if 0 < new < alarm.level and self.holds(alarm, day):
            new = alarm.level
        if not may_raise:
            return min(new, alarm.level)
        if alarm.level == 0 and new > 0:
            if not alarm.hits or alarm.hits[-1] != day:
                alarm.hits.append(day)
            del alarm.hits[:-max(self.watch_min_hits, 1)]
            if not self.may_open(new, alarm.hits, day, alarm.resolved_day, surge_only=surge_only):
                return 0
        return new

    def holds(self, alarm: Alarm, day: int) -> bool:
        """Whether the open alert is still within ``hold_days`` of reaching its level (of opening,
        for an alert recorded before the hold: it has no ``level_day``)."""
        alert = alarm.alert
        since = None if alert is None else alert.get("level_day", alert.get("opened_day"))
        return since is not None and day - since < self.hold_days

    def may_open(self, level: int, hit_days: Sequence[int], day: int, resolved_day: int | None, *,
                 surge_only: Callable[[], bool] | None = None) -> bool:
        """Whether a new alert may open at ``level`` on ``day``.

        ``hit_days``: the days (including ``day``) on which the segment's score reached watch
        while no alert was open; ``resolved_day``: when its last alert resolved, if ever;
        ``surge_only()``: whether a surge alone made the score (None: not a surge).
        """
        if level >= 2:
            return True
        if resolved_day is not None:
            since = day - resolved_day
            if since < self.suppress_days:
                return False
            if since < self.surge_quiet_days and surge_only is not None and surge_only():
                return False
        return len({d for d in hit_days if day - d < self.hits_window_days}) >= self.watch_min_hits
