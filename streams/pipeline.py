"""The monitoring logic as one pure, stateful object. Three drivers feed it.

validate -> assign segment -> update event-time windows -> score -> escalation
decision -> alert events. The live Faust agents, the replay path (which is the
live path fed from a file) and the in-process backtest all call the same two
methods, so they give the same alerts for the same input:

* :meth:`Pipeline.route` (stateless): raw bytes of an input topic -> envelopes
  keyed by segment (or a dead letter);
* :meth:`Pipeline.apply` (stateful per key): one envelope + that key's
  :class:`SegmentState` -> alert events. :meth:`Pipeline.advance` moves a quiet
  segment's clock forward so its alert can de-escalate and resolve.

Nothing here reads a clock or does I/O. Time is event time (``occurred_at``).

The pipeline orchestrates; what it works with lives in modules of their own: a segment's
features (:mod:`streams.segment_features`), its detector (:mod:`streams.segment_detectors`),
the arms-race keys (:mod:`streams.arms_keys`) and a segment's alert event
(:mod:`streams.explanation`).

>>> from streams.segments import SegmentRegistry, land_neighbours, state_name
>>> p = Pipeline(SegmentRegistry.default())
>>> raw = (b'{"event_id":"e1","occurred_at":"2012-07-17T00:00:00Z","reported_at":"2012-07-17T00:00:00Z",'
...        b'"source":"t","category":"armed_clash","severity":4,"fatalities":2,"injuries":0,"countries":["KGZ","UZB"]}')
>>> envs, dead = p.route(KIND_INCIDENTS, raw)
>>> state = p.new_state(envs[0].key)
>>> [a.level for a in p.apply(state, envs[0]).alerts]
['warning']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from alerts.access import RELEASABLE_ALL
from alerts.borders import border_id
from alerts.escalation import EscalationPolicy, move, note_peak
from alerts.model import AlertEvent, alert_id_for
from alerts.timefmt import iso
from detectors import features as F
from detectors.base import score_beside_surges
from detectors.registry import DEFAULT_DETECTOR, make_detector
from streams import segment_features
from streams.arms_keys import advance_arms, arms_border, arms_key, is_arms_key, record_arms_transfer
from streams.errors import InvalidEvent
from streams.explanation import evidence_order, segment_alert_event, window_start
from streams.records import (
    INTRUSION_CATEGORIES,
    PUBLIC,
    UNCOUNTED_CATEGORIES,
    VIOLENT_CATEGORIES,
    DeadLetter,
    decode_incident,
    decode_transfer,
    parse_time,
)
from streams.segment_detectors import SegmentDetectors
from streams.segment_state import SegmentState
from streams.segments import SegmentRegistry, land_neighbours
from streams.topics import INPUT_OF_KIND, KIND_INCIDENTS, KIND_TRANSFERS, Envelope
from streams.windows import BUCKET_WIDTH, SPILL, day_of, day_start

#: A neighbour's incident, as it counts on a segment: spill-over only.
_SPILL_ONE = tuple(int(i == SPILL) for i in range(BUCKET_WIDTH))
#: A recent incident keeps at most this much of its source's name (a label, not free text).
SOURCE_MAX = 64


@dataclass(frozen=True)
class PipelineSettings:
    """Event-time parameters. Changing window semantics means bumping STATE_VERSION."""

    #: An incident older than its segment's newest incident by more than this is late:
    #: it is dead-lettered with reason ``late`` (kept, not counted).
    grace_days: int = 14
    #: Daily buckets are kept this long: 365 days for the yearly views plus 30 for the
    #: 30-day window ending a year ago.
    retention_days: int = 400
    evidence_max: int = 5
    recent_max: int = 20
    pressure_years: int = 5
    #: keys alert ids (alerts.model.alert_id_for); not part of the state's version: an open alert
    #: keeps the id it has, a new opening takes the key in force
    alert_id_key: bytes = field(default=b"", repr=False)


@dataclass
class Applied:
    """What applying one envelope did."""

    alerts: list[AlertEvent] = field(default_factory=list)
    late: list[DeadLetter] = field(default_factory=list)
    incidents: int = 0  # counted into windows
    transfers: int = 0
    duplicates: int = 0
    #: records this key had applied already, read again after a restart or a rebalance
    reread: int = 0

    def add(self, other: "Applied") -> None:
        """Count ``other`` (what the next part of the same envelope did) in with this."""
        self.alerts.extend(other.alerts)
        self.late.extend(other.late)
        self.incidents += other.incidents
        self.transfers += other.transfers
        self.duplicates += other.duplicates
        self.reread += other.reread


class Pipeline:
    #: Optional ``observer(key, day, score, level)``, called on every scoring with the level
    #: decided; a backtest sets it to record score traces. It sees decisions, never makes them.
    observer: Callable[[str, int, float, int], None] | None = None
    #: Optional ``on_non_border(pair)``, called for each incident between states that share no
    #: land border: such an incident is not routed to any segment (the worker counts it in a metric).
    on_non_border: Callable[[str], None] | None = None

    def __init__(self, registry: SegmentRegistry, detector: Any = None,
                 policy: EscalationPolicy | None = None, settings: PipelineSettings | None = None) -> None:
        self.registry = registry
        if detector is None:
            from streams.models import default_model

            detector = make_detector(DEFAULT_DETECTOR, default_model())
        self.detector = detector
        self.policy = policy or EscalationPolicy()
        self.settings = settings or PipelineSettings()
        self.segment_detectors = SegmentDetectors(detector, self.policy, self.border_of,
                                                  retention_days=self.settings.retention_days,
                                                  pressure_years=self.settings.pressure_years)

    # ------------------------------------------------------------------ stage 1
    def route(self, kind: str, raw: bytes, ingested_at: float | None = None,
              position: tuple[int, int] | None = None) -> tuple[list[Envelope], DeadLetter | None]:
        """Validate raw ``incidents`` or ``arms-transfers`` input and key it by segment.

        Invalid input becomes a dead letter (reason, field, original bytes) instead.
        """
        try:
            if kind == KIND_INCIDENTS:
                ev = decode_incident(raw)
                if not self.registry.watches(*ev.countries, on=ev.occurred_at.date()):
                    # Not a border: recorded in the input log and counted, never a border alert.
                    if self.on_non_border is not None:
                        self.on_non_border(ev.border)
                    return [], None
                key = self.registry.assign(ev.countries, ev.latitude, ev.longitude, ev.segment_id)
                rec = ev.to_dict()
                rec["segment_id"] = key
                pos = None if position is None else [list(position)]
                envs = [Envelope("incident", key, [rec], ingested_at=ingested_at, positions=pos)]
                # Spill-over goes to the adjacent cut segments and the whole-border key. All of them
                # share the incident's border pair, and input is keyed by border pair, so each copy
                # reaches its key in the same order relative to that key's own incidents in every driver.
                spill = {"event_id": ev.event_id, "occurred_at": rec["occurred_at"], "category": ev.category}
                if RELEASABLE_ALL not in ev.releasable_to:  # the neighbour's figures count it (spill_*)
                    spill["releasable_to"] = list(ev.releasable_to)
                for nb in (() if ev.category in UNCOUNTED_CATEGORIES else self._spill_targets(key)):
                    envs.append(Envelope("spill", nb, [spill], ingested_at=ingested_at, positions=pos))
                return envs, None
            if kind == KIND_TRANSFERS:
                tr = decode_transfer(raw)
                rec = tr.to_dict()
                # Pressure is a border-pair figure: a delivery to one state weighs on each of its borders,
                # and reaches each cut segment of those borders too, as a segment feature.
                # A cut segment needs only what _apply_transfer reads: the fan-out is wide (every
                # segment of the recipient's borders), so the copies stay small.
                slim = {k: rec[k] for k in ("transfer_id", "occurred_at", "recipient", "tiv")}
                envs = []
                pos = None if position is None else [list(position)]
                # An order delivered nothing: pressure (TIV delivered) never sees it.
                for b in (() if tr.is_order else self.registry.pairs_with(tr.recipient)):
                    envs.append(Envelope("transfer", b, [rec], ingested_at=ingested_at, positions=pos))
                    envs.extend(Envelope("pressure", sid, [slim], ingested_at=ingested_at, positions=pos)
                                for sid in self.registry.segments_of(b))
                # The arms race: its own key per land border of the recipient (deliveries and orders),
                # which takes transfers only, so its alerts are the same whatever the incidents do.
                envs.extend(Envelope("arms", arms_key(border_id(tr.recipient, n)), [rec], ingested_at=ingested_at,
                                     positions=pos) for n in sorted(land_neighbours(tr.recipient)))
                return envs, None
            raise ValueError(f"route() takes {KIND_INCIDENTS} or {KIND_TRANSFERS}, not {kind!r}")
        except InvalidEvent as exc:
            return [], DeadLetter(kind, str(exc), exc.code, exc.field, raw if isinstance(raw, bytes) else raw.encode())

    def _spill_targets(self, key: str) -> tuple[str, ...]:
        beside = self.registry.neighbours(key)
        if beside is None:
            return ()  # a whole-border incident has no place on the line, so no neighbours
        return beside + (self.registry.get(key).border,)

    # ------------------------------------------------------------------ stage 2
    def new_state(self, key: str) -> SegmentState:
        return SegmentState(key)

    def apply(self, state: SegmentState, env: Envelope) -> Applied:
        """Apply an envelope's records in order. They were validated by route() and are read as is.

        A record whose input position this key has applied already (``Envelope.positions``, live
        only) was read again after a restart or a rebalance: it is skipped and counted as ``reread``.
        """
        out = Applied()
        one = {"incident": lambda rec: self._apply_incident(state, rec, out),
               "spill": lambda rec: self._apply_spill(state, rec),
               "transfer": lambda rec: self._apply_transfer(state, rec, out, counted=True),
               "pressure": lambda rec: self._apply_transfer(state, rec, out, counted=False),
               "arms": lambda rec: record_arms_transfer(state, rec)}.get(env.kind)
        if one is None:
            raise ValueError(f"apply() takes incident, spill, transfer, pressure or arms envelopes, not {env.kind!r}")
        for i, rec in enumerate(env.records):
            if env.positions is not None and not self._first_reading(state, env.kind, env.positions[i]):
                out.reread += 1
                continue
            one(rec)
        return out

    @staticmethod
    def _first_reading(state: SegmentState, kind: str, position: list[int]) -> bool:
        """Record ``position`` as read for this key; False if it (or a later one) was read already.

        One key's records from one input partition arrive in offset order (the ingest stage reads
        each partition in order and forwards to the key's partition in order); what comes back
        after a restart or a rebalance is a stretch read before, so "at or below the highest
        offset applied" means "already applied".
        """
        partition, offset = position
        source = f"{INPUT_OF_KIND[kind]}/{partition}"
        last = state.inputs.get(source)
        if last is not None and offset <= last:
            return False
        state.inputs[source] = offset
        return True

    def _apply_incident(self, state: SegmentState, ev: dict[str, Any], out: Applied) -> None:
        if ev["event_id"] in state.seen:
            out.duplicates += 1
            return
        occurred = parse_time(ev["occurred_at"], "occurred_at")
        d = day_of(occurred)
        if state.max_day is not None and d < state.max_day - self.settings.grace_days:
            out.late.append(DeadLetter(KIND_INCIDENTS, f"late: {occurred:%Y-%m-%d} is more than "
                                       f"{self.settings.grace_days} days before the segment's newest incident "
                                       f"({day_start(state.max_day):%Y-%m-%d})", "late", "occurred_at",
                                       json.dumps(ev).encode()))
            return
        if ev["category"] in UNCOUNTED_CATEGORIES:
            state.seen[ev["event_id"]] = d
            self._remember(state, ev, d)
            return
        out.incidents += 1
        out.alerts.extend(self.advance(state, d))
        cls = F.incident_class(ev["severity"], ev["fatalities"])
        state.windows.add(state.days, d, (1, ev["fatalities"], ev["injuries"], ev["severity"],
                                          int(ev["category"] in VIOLENT_CATEGORIES),
                                          int(ev["category"] in INTRUSION_CATEGORIES), 0,
                                          int(cls == F.FORCE), int(cls == F.DEADLY)))
        self._count_decayed(state, d, cls, ev["fatalities"])
        state.count_release(ev.get("releasable_to") or (RELEASABLE_ALL,), d, deaths=ev["fatalities"] > 0)
        state.count_classification(ev.get("classification") or PUBLIC, d)
        state.seen[ev["event_id"]] = d
        self._remember(state, ev, d)
        now_day = d if state.max_day is None else max(d, state.max_day)
        state.max_day = now_day
        # Days before the grace horizon can no longer change: they are what the detector learns.
        self.segment_detectors.learn(state, now_day - self.settings.grace_days - 1)
        at = occurred if d == now_day else day_start(now_day)
        out.alerts.extend(self._score(state, now_day, at, may_raise=True))
        self._prune(state)

    @staticmethod
    def _count_decayed(state: SegmentState, d: int, cls: int, fatalities: int) -> None:
        if state.decayed_day is None or d > state.decayed_day:
            if state.decayed_day is not None:
                state.decayed = F.decay(state.decayed, d - state.decayed_day)
            state.decayed_day = d
        F.add_incident(state.decayed, state.decayed_day, d, cls)
        if state.first_day is None or d < state.first_day:
            state.first_day = d
        if fatalities > 0 and (state.last_fatal_day is None or d > state.last_fatal_day):
            state.last_fatal_day = d

    def _remember(self, state: SegmentState, ev: dict[str, Any], d: int) -> None:
        """Keep the incident among the segment's recent ones (the evidence alerts and notices show)."""
        state.recent.append({"event_id": ev["event_id"], "day": d, "at": ev["occurred_at"],
                             "category": ev["category"], "fatalities": ev["fatalities"], "severity": ev["severity"],
                             "classification": ev.get("classification", PUBLIC),
                             "releasable_to": list(ev.get("releasable_to") or (RELEASABLE_ALL,)),
                             "description": ev.get("description") or ev.get("location_name") or "",
                             # which feed reported it: a notice tells the demo's made-up incident by it
                             "source": str(ev.get("source") or "")[:SOURCE_MAX]})
        keep = self.settings.recent_max
        if len(state.recent) > keep:
            # Beside the newest, the window's strongest evidence: on a busy segment the deadliest
            # incident of an alert's 30 days may be older than the newest kept, and the alert would
            # show lesser ones in its place. At most ``evidence_max`` more, only while in the window.
            first_day = window_start(max(d, state.max_day or d))
            older = state.recent[:-keep]
            strongest = sorted((r for r in older if r["day"] >= first_day), key=evidence_order)
            held = {id(r) for r in strongest[:self.settings.evidence_max]}
            state.recent = [r for r in older if id(r) in held] + state.recent[-keep:]

    def _apply_spill(self, state: SegmentState, ev: dict[str, Any]) -> None:
        """A neighbour's incident: counted as spill-over only; it neither scores nor moves the clock."""
        sid = "spill:" + ev["event_id"]
        if sid in state.seen:
            return
        d = day_of(parse_time(ev["occurred_at"], "occurred_at"))
        if state.max_day is not None and d <= state.max_day - self.settings.grace_days - 1:
            return  # that day is closed and learned here; the neighbour dead-letters or counts its own copy
        state.seen[sid] = d
        state.windows.add(state.days, d, _SPILL_ONE)
        state.count_release(ev.get("releasable_to") or (RELEASABLE_ALL,), d)

    def _apply_transfer(self, state: SegmentState, tr: dict[str, Any], out: Applied, counted: bool = True) -> None:
        if tr["transfer_id"] in state.seen:
            out.duplicates += counted
            return
        occurred = parse_time(tr["occurred_at"], "occurred_at")
        out.transfers += counted
        state.seen[tr["transfer_id"]] = day_of(occurred)
        sides = state.pressure.setdefault(tr["recipient"], {})
        sides[occurred.year] = sides.get(occurred.year, 0.0) + tr["tiv"]

    def advance(self, state: SegmentState, until_day: int) -> list[AlertEvent]:
        """Evaluate each day boundary up to ``until_day`` while an alert is open.

        Levels only fall here (a level rises only on an incident), and every
        transition is stamped with the boundary's event time, so when a driver
        advances (a tick, the next incident, the end of a backtest) does not
        change what it finds.
        """
        if is_arms_key(state.key):
            return advance_arms(state, until_day, self.settings.alert_id_key)
        out: list[AlertEvent] = []
        if state.level == 0 or state.evaluated_day is None:
            return out
        day = state.evaluated_day + 1
        limit = min(until_day, state.evaluated_day + self.settings.retention_days)
        while day <= limit and state.level > 0:
            out.extend(self._score(state, day, day_start(day), may_raise=False))
            day += 1
        if state.level == 0:
            state.evaluated_day = None
        else:
            state.evaluated_day = max(state.evaluated_day, min(until_day, limit))
        return out

    # ------------------------------------------------------------------ scoring
    def features(self, state: SegmentState, day: int) -> dict[str, float]:
        """The segment's rolling views at ``day`` under this pipeline's settings (what training reads)."""
        return segment_features.features(state, day, self.settings.pressure_years)

    def border_of(self, key: str) -> str:
        """The border pair a state key (cut segment, pair-level segment or arms-race key) belongs to."""
        if is_arms_key(key):
            return arms_border(key)
        try:
            return self.registry.get(key).border
        except KeyError:
            return key

    def _score(self, state: SegmentState, day: int, when: datetime, *, may_raise: bool) -> list[AlertEvent]:
        """Score ``state`` at ``day``; any transition is stamped ``when`` (formatted only then: most
        scorings change nothing, and formatting a time costs as much as some detectors)."""
        detector = self.segment_detectors.of(state)
        feats = segment_features.detector_input(state, day, self.settings.pressure_years,
                                                learns=self.segment_detectors.learns)
        score = detector.score_one(feats)
        out = []
        if self.policy.expires(state, day, feats[F.FATALITIES_30D] > 0):
            # A forecast whose window has passed without deaths resolves; what follows is a new opening.
            out.append(self._transition(state, 0, score, iso(when), day, feats, detector, expired=True))
        new = self.policy.decide(state, day, score, may_raise=may_raise,
                                 surge_only=lambda: score_beside_surges(detector, feats) < self.policy.raise_at[1])
        if self.observer is not None:
            self.observer(state.key, day, score, new)
        note_peak(state, score, new)
        if new != state.level:
            out.append(self._transition(state, new, score, iso(when), day, feats, detector))
        return out

    def _transition(self, state: SegmentState, new: int, score: float, at: str, day: int, feats: dict[str, float],
                    detector: Any, *, expired: bool = False) -> AlertEvent:
        m = move(state, new, alert_id=alert_id_for(state.key, at, self.settings.alert_id_key), at=at, day=day,
                 score=score)
        return segment_alert_event(state, self.registry, m, score, at, feats, detector, detector_name=self.detector.name,
                                   evidence_max=self.settings.evidence_max,
                                   expire_after_days=self.policy.expire_after_days, expired=expired)

    def _prune(self, state: SegmentState) -> None:
        if state.max_day is None:
            return
        horizon = state.max_day - self.settings.retention_days
        state.days = state.windows.drop_before(state.days, horizon)
        state.prune_restricted()
        # An id older than the grace period cannot come back as a duplicate: it would be late.
        seen_horizon = state.max_day - self.settings.grace_days - 1
        if len(state.seen) > 64 and min(state.seen.values()) < seen_horizon:
            state.seen = {k: d for k, d in state.seen.items() if d >= seen_horizon}
