"""Alert events: what the alerts topic carries. The topic is the audit log.

An alert is one opening of escalation on one segment. Its id is a pure
function of the segment and the opening time, so every driver (live, replay,
backtest) and every restart names the same alert the same way; ``seq`` numbers
the transitions of one segment so consumers can drop redelivered ones.

People's actions on alerts (acknowledge, silence, unsilence) are
:class:`AlertAction` records on the same topic. They are not numbered by the pipeline: their
dedup identity is ``action_id``, a hash of their content, so a redelivered or
replayed action folds once. :func:`decode_record` tells the two apart
(``"kind": "action"``); records written before actions existed decode as before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

#: What the pipeline emits, numbered per segment by ``seq``.
TRANSITIONS = ("opened", "escalated", "de-escalated", "resolved")
#: What people do, identified by ``action_id``.
ACTIONS = ("acknowledged", "silenced", "unsilenced")
#: The alert name every pipeline alert carries as a label (rules may match on it).
ALERTNAME = "BorderEscalation"
#: What an alert is about (AlertEvent.kind, the ``kind`` label): escalation of incidents on a
#: segment, or both sides of a land border arming (detectors/arms_race.py).
INCIDENT, ARMS_RACE = "incident", "arms-race"
ALERT_KINDS = (INCIDENT, ARMS_RACE)


def alert_id_for(segment_id: str, opened_at: str, key: bytes = b"") -> str:
    """An alert's id: the same for the same opening on every run, so two workers, a restart and a
    backtest agree on it. Unkeyed, anyone may recompute it from a guess of the opening's time, and a
    desk shown an alert from a later step (alerts.access.Principal.shown) could so find the opening
    withheld from it; keyed with a deployment's secret (settings ``alert_id_key_file``) it tells
    nothing without the key."""
    text = f"{segment_id}|{opened_at}".encode()
    if key:
        return "al-" + hmac.new(key, text, hashlib.sha256).hexdigest()[:16]
    return "al-" + hashlib.sha1(text).hexdigest()[:16]


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
    #: ALERT_KINDS: "incident", or "arms-race" (its own state key, seq and clock: transfers only).
    #: Records written before it decode as "incident". Never "action": that tells AlertAction apart.
    kind: str = INCIDENT
    #: where the figures its summary and explanation quote may go: ``releasable_to`` covers the
    #: incidents of the last 30 days, the figures read up to a year and a month back (baselines,
    #: yearly highs), so they are released only where every incident in that reach is
    #: (streams.explanation). ``Principal.shown`` withholds them elsewhere. Records written before
    #: it decode as released to the centre alone (:func:`figures_release_of_old_record`).
    figures_releasable_to: tuple[str, ...] = ("ALL",)
    #: where the alert's history may go: the intersection of every transition's ``releasable_to``
    #: from its opening to this one. Its ``opened_at`` and peak date and size the steps before, so a
    #: reader not released every step reads them from the steps it was (``Principal.shown``). Records
    #: written before it decode as :func:`figures_release_of_old_record` says.
    history_releasable_to: tuple[str, ...] = ("ALL",)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON values, a copy the caller may change. Not ``asdict``: it deep-copies
        every leaf of the explanation, a tenth of a worker's time at a sustained 1,000 events/s."""
        d = {name: getattr(self, name) for name in _EVENT_FIELDS}
        d["countries"] = list(self.countries)
        d["releasable_to"] = list(self.releasable_to)
        d["figures_releasable_to"] = list(self.figures_releasable_to)
        d["history_releasable_to"] = list(self.history_releasable_to)
        d["evidence"] = list(self.evidence)
        d["explanation"] = _plain(self.explanation)
        if self.kind == INCIDENT:
            del d["kind"]  # incident alerts stay as they were on the wire; only arms-race ones say so
        return d

    def encode(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AlertEvent":
        d = _known(cls, d)
        d["countries"] = tuple(d["countries"])
        # Only a record without the field is ALL: an empty one releases to the centre alone (alerts.access).
        d["releasable_to"] = tuple(d["releasable_to"]) if d.get("releasable_to") is not None else ("ALL",)
        d["evidence"] = tuple(d.get("evidence") or ())
        figures = d.get("figures_releasable_to")
        d["figures_releasable_to"] = tuple(figures) if figures is not None else figures_release_of_old_record(d)
        history = d.get("history_releasable_to")
        d["history_releasable_to"] = tuple(history) if history is not None else figures_release_of_old_record(d)
        return cls(**d)

    @classmethod
    def decode(cls, raw: bytes | str) -> "AlertEvent":
        return cls.from_dict(json.loads(raw))


_EVENT_FIELDS = tuple(f.name for f in fields(AlertEvent))


def figures_release_of_old_record(alert: Mapping[str, Any]) -> tuple[str, ...]:
    """``figures_releasable_to`` (and ``history_releasable_to``) of an alert (a record, a folded
    alert) written before the field.

    An incident alert's: ``()``, the centre alone. Its figures may come from incidents of the
    past year withheld from a desk that sees the alert, and what they were cannot be worked out
    again from the record; withholding them costs a desk the numbers of old alerts, never an
    incident. An arms race's: ``ALL``, its figures are SIPRI's public register.
    """
    return ("ALL",) if alert.get("kind") == ARMS_RACE else ()


def _plain(value: Any) -> Any:
    """A copy of JSON-like data (dicts, lists and tuples as lists, and immutable leaves)."""
    if type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return [_plain(v) for v in value]
    return value


def _known(cls, d: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields ``cls`` has: a record from a newer writer still folds."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


@dataclass(frozen=True)
class AlertAction:
    """Someone acknowledged an alert, or set or ended a silence.

    ``at`` is wall-clock time when it was made, ``until`` when it expires. For
    ``silenced``, ``silence_id`` equals the ``action_id``; ``unsilenced`` names
    the silence it ends. Build these with ``alerts.state.acknowledge`` /
    ``silence`` / ``unsilence``, which validate them.
    """

    action: str
    at: str
    by: str
    role: str
    comment: str = ""
    until: str | None = None
    alert_id: str | None = None
    #: acknowledged: the alert's transition seq when acknowledged; a later escalation voids the ack
    seq: int | None = None
    silence_id: str | None = None
    matchers: tuple[str, ...] = ()
    action_id: str = ""
    kind: str = "action"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}: one of {', '.join(ACTIONS)}")
        if not self.action_id:
            object.__setattr__(self, "action_id", self.content_id())
            if self.action == "silenced":
                object.__setattr__(self, "silence_id", self.action_id)

    def content_id(self) -> str:
        """A hash of everything but the ids: same action, same id, on every replay."""
        d = self.to_dict()
        for k in ("action_id", "kind"):
            d.pop(k)
        if self.action == "silenced":
            d.pop("silence_id")
        return "ac-" + hashlib.sha1(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]

    def key(self) -> bytes:
        """The Kafka record key: the alert or silence it is about."""
        return (self.alert_id or self.silence_id or self.action_id).encode()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["matchers"] = list(self.matchers)
        return d

    def encode(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AlertAction":
        d = _known(cls, d)
        d["matchers"] = tuple(d.get("matchers") or ())
        return cls(**d)


def decode_record(raw: bytes | str) -> AlertEvent | AlertAction:
    """Any record of the alerts topic: an action (``"kind": "action"``) or a pipeline transition."""
    d = json.loads(raw)
    if not isinstance(d, dict):
        raise ValueError("an alerts-topic record is a JSON object")
    return AlertAction.from_dict(d) if d.get("kind") == "action" else AlertEvent.from_dict(d)


def alert_labels(alert: Mapping[str, Any]) -> dict[str, str]:
    """The label set routes, inhibitions and silences match on, from an AlertEvent dict or a folded alert.

    List-valued fields become comma-joined sorted strings (``countries="KGZ,TJK"``), so
    ``countries=~".*KGZ.*"`` selects a state's borders. ``level`` is the current level,
    ``peak_level`` the highest so far (stable for routing: it only goes up while the alert is open).
    """
    segment, border = alert["segment_id"], alert["border"]
    return {
        "alertname": ALERTNAME,
        "segment_id": segment,
        "border": border,
        "countries": ",".join(sorted(alert.get("countries") or ())),
        "level": alert["level"],
        "peak_level": alert.get("peak_level") or alert["level"],
        "classification": alert.get("classification") or "public",
        "releasable_to": ",".join(sorted(("ALL",) if alert.get("releasable_to") is None else alert["releasable_to"])),
        "scope": "border" if segment == border else "segment",
        "detector": alert.get("detector") or "",
        "kind": alert.get("kind") or INCIDENT,
    }


def is_arms_race(alert: Mapping[str, Any]) -> bool:
    """Whether an alert (as the store and the API hold it) is a border's arms race, not incidents."""
    return alert.get("kind") == ARMS_RACE
