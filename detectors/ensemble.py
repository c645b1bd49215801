"""Ensembles: several calibrated detectors as one.

All members speak the common scale, so their scores are tail probabilities in disguise
(``p = 10 ** (-4 * score)``) and can be combined as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.base import Features
from detectors.calibration import p_from_score, surprise


@dataclass
class Corroborated:
    """``gate`` members alarm on their own; ``votes`` members must agree.

    Score = max(gate scores, combined vote score), where the vote members' tail
    probabilities are combined by their geometric mean: one member alone at 0.9 with the
    other at 0 gives 0.45 (not an alarm), two at 0.6 give 0.6. The idea: a deadly clash
    (the fatality rule) needs no corroboration, a rise in calm incidents does -- the count
    model and the change detector see it differently and both must be surprised.

    Fails where only one view can see an escalation (a slow build-up the CUSUM absorbs yet
    the 7-day count model flags), and inherits every member's assumptions.
    """

    gate: tuple
    votes: tuple
    name: str = "ensemble"

    @property
    def members(self) -> tuple:
        return tuple(self.gate) + tuple(self.votes)

    def learn_one(self, features: Features) -> None:
        for m in self.members:
            m.learn_one(features)

    def _vote(self, features: Features) -> float:
        if not self.votes:
            return 0.0
        logs = [math.log(max(p_from_score(m.score_one(features)), 1e-300)) for m in self.votes]
        return surprise(math.exp(sum(logs) / len(logs)))

    def score_one(self, features: Features) -> float:
        return max([m.score_one(features) for m in self.gate] + [self._vote(features)])

    def deviations(self, features: Features) -> list[dict]:
        out = []
        for m in self.members:
            fn = getattr(m, "deviations", None)
            if fn is not None:
                out.extend(dict(d, detector=m.name) for d in fn(features))
        return out

    def explain(self, features: Features) -> str:
        gate = max(self.gate, key=lambda m: m.score_one(features), default=None)
        vote = self._vote(features)
        if gate is not None and gate.score_one(features) >= vote:
            return f"{gate.name}: {gate.explain(features)}"
        return "; ".join(f"{m.name} {m.score_one(features):.2f}: {m.explain(features)}" for m in self.votes)
