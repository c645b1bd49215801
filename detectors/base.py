"""The one streaming contract every detector follows.

A detector answers "how unusual is this?" on a calibrated scale in [0, 1]
(0.5 = worth watching, 0.75 = warning territory, 0.9 = critical territory), so
one set of escalation thresholds in ``alerts.escalation`` serves every detector.
It never decides whether something *is* an alert: that is the policy's job.

Detectors import nothing of borderwatch's and do no I/O.
"""

from __future__ import annotations

from typing import Mapping, Protocol, runtime_checkable

Features = Mapping[str, float]


@runtime_checkable
class Detector(Protocol):
    """``learn_one`` folds a closed window into the baseline; ``score_one`` never learns."""

    name: str

    def learn_one(self, features: Features) -> None: ...

    def score_one(self, features: Features) -> float: ...

    def explain(self, features: Features) -> str:
        """One line on what drove the score, for alert summaries."""
        ...


def clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
