"""Alert events: what the alerts topic carries. The topic is the audit log.

An alert is one opening of escalation on one segment. Its id is a pure
function of the segment and the opening time, so every driver (live, replay,
backtest) and every restart names the same alert the same way; ``seq`` numbers
the transitions of one segment so consumers can drop redelivered ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

TRANSITIONS = ("opened", "escalated", "de-escalated", "resolved")


def alert_id_for(segment_id: str, opened_at: str) -> str:
    return "al-" + hashlib.sha1(f"{segment_id}|{opened_at}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertEvent:
    alert_id: str
    transition: str
    segment_id: str
    border: str
    countries: tuple[str, str]
    level: str
    previous_level: str
    score: float
    at: str  # event time of the transition, ISO 8601 UTC
    opened_at: str
    seq: int
    peak_level: str
    peak_score: float
    summary: str
    detector: str
    classification: str = "public"
    releasable_to: tuple[str, ...] = ("ALL",)
    evidence: tuple[str, ...] = field(default_factory=tuple)
    resolved_at: str | None = None
    #: why it opened or escalated: deviated features (baseline against now), the detector's own
    #: view, the incidents that weighed most. None on resolutions and in records written before it.
    explanation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["countries"] = list(self.countries)
        d["releasable_to"] = list(self.releasable_to)
        d["evidence"] = list(self.evidence)
        return d

    def encode(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AlertEvent":
        d = dict(d)
        d["countries"] = tuple(d["countries"])
        d["releasable_to"] = tuple(d.get("releasable_to") or ("ALL",))
        d["evidence"] = tuple(d.get("evidence") or ())
        return cls(**d)

    @classmethod
    def decode(cls, raw: bytes | str) -> "AlertEvent":
        return cls.from_dict(json.loads(raw))
