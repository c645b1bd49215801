"""Escalation policy: calibrated score -> level, with separate raise and clear thresholds.

Detectors say how unusual a segment looks; this module decides the level. A
level is raised when the score reaches its raise threshold and kept until the
score falls below its (lower) clear threshold, so a score hovering around a
threshold does not flap.

>>> p = EscalationPolicy()
>>> p.next_level(0, 0.8), p.next_level(2, 0.7), p.next_level(2, 0.5)
(2, 2, 1)
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("none", "watch", "warning", "critical")
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}


@dataclass(frozen=True)
class EscalationPolicy:
    # index 1..3 = watch, warning, critical; index 0 unused
    raise_at: tuple[float, float, float, float] = (0.0, 0.5, 0.75, 0.9)
    clear_below: tuple[float, float, float, float] = (0.0, 0.4, 0.65, 0.82)

    def __post_init__(self) -> None:
        for i in (1, 2, 3):
            if not 0 < self.clear_below[i] <= self.raise_at[i] <= 1:
                raise ValueError(f"{LEVELS[i]}: need 0 < clear ({self.clear_below[i]}) <= raise ({self.raise_at[i]}) <= 1")
        if not self.raise_at[1] < self.raise_at[2] < self.raise_at[3]:
            raise ValueError("raise thresholds must increase watch < warning < critical")

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
