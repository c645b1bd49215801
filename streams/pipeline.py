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

import copy
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from alerts.escalation import LEVELS, EscalationPolicy
from alerts.model import ARMS_RACE, AlertEvent, alert_id_for
from alerts.timefmt import iso
from detectors import arms_race as AR
from detectors import features as F
from detectors.base import bind, deviations, forecast, get_state, identity, is_stateful, set_state
from detectors.registry import DEFAULT_DETECTOR, make_detector
from streams.errors import InvalidEvent
from streams.limits import MAX_MESSAGE_BYTES
from streams.records import (
    CLASSIFICATIONS,
    INTERNAL_CATEGORY,
    RELEASABLE_ALL,
    DeadLetter,
    border_of,
    decode_incident,
    decode_transfer,
    parse_time,
)
from streams.segments import SegmentRegistry, land_neighbours, state_name
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS

DAY_SECONDS = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Bump when the shape or meaning of SegmentState changes; old state is then rebuilt, never misread.
#: 2: buckets gained violent / intrusion / spill-over columns; per-segment detector state.
#: 3: protests are no longer counted into the buckets (UNCOUNTED_CATEGORIES).
#: 4: decayed counts per incident class, the last deadly day beyond the retention, detector id,
#:    the input position read last per input partition.
STATE_VERSION = 4

#: Daily bucket columns. FORCE and DEADLY are the incident classes of detectors.features
#: (use of force without deaths; incidents with deaths); display = N - FORCE - DEADLY.
N, FATAL, INJ, SEV, VIOLENT, INTRUSION, SPILL, FORCE, DEADLY = range(9)
BUCKET_WIDTH = 9
#: The bounded category groups the features count (the rest -- fortification, threat, protest,
#: other -- is ``count - violent - intrusion``).
VIOLENT_CATEGORIES = frozenset({"armed_clash", "shelling", "drone_strike"})
INTRUSION_CATEGORIES = frozenset({"incursion", "detention", "smuggling_interdiction"})
#: A recent incident keeps at most this much of its source's name (a label, not free text).
SOURCE_MAX = 64
#: Recorded (duplicates, recent incidents) but not counted toward a border's escalation, nor
#: spilled over: a state's internal unrest or conflict is not an interstate escalation, and
#: counting it made every count detector alert on a protest wave (the synthetic negative controls
#: of `make eval`).
UNCOUNTED_CATEGORIES = frozenset({"protest", INTERNAL_CATEGORY})
#: The arms-race state key of a land border is ``<pair>:arms`` (``KGZ-TJK:arms``). A segment id
#: is ``<pair>-`` then letters, digits, '_' or '.', never ':', so it cannot collide with one.
ARMS_KEY_SUFFIX = ":arms"


def _acquisition_order(row: list) -> str:
    """A total order of acquisition rows (they hold None), so a key's list does not depend on the
    order its transfers came in."""
    return json.dumps(row)


def arms_key(border: str) -> str:
    return border + ARMS_KEY_SUFFIX


def is_arms_key(key: str) -> bool:
    return key.endswith(ARMS_KEY_SUFFIX)


#: How far back score_one may be handed daily lags (``count_lag_k``) of days not yet learned.
MAX_LAGS = 60


def day_of(dt: datetime) -> int:
    """Days since 1970-01-01 (negative before): the daily bucket an instant falls in."""
    return (dt - EPOCH).days


def day_start(day: int) -> datetime:
    return EPOCH + timedelta(days=day)


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


@dataclass
class Envelope:
    """What the internal ``segment-events`` topic carries, keyed by segment (or border pair).

    ``records`` holds one or more records of one kind for this key, in order: the ingest
    stage packs the records of a batch per key into one message, so the aggregate stage
    pays Kafka's per-message cost once per key, not once per event.
    """

    kind: str  # incident | spill | transfer | pressure | arms | tick
    key: str
    records: list[dict[str, Any]] = field(default_factory=list)
    at: str | None = None  # tick: wall-clock time it was produced
    ingested_at: float | None = None  # wall seconds at ingest, only for the latency metric
    source: str | None = None  # tick: the input partition it came through, "topic/partition"
    #: live only, one per record: [input partition, offset] of the input record it came from
    #: (the topic follows from the kind, INPUT_OF_KIND), so input read again after a restart or
    #: a rebalance is recognised as already read
    positions: list[list[int]] | None = None

    def encode(self) -> bytes:
        d: dict[str, Any] = {"kind": self.kind, "key": self.key}
        if self.records:
            d["records"] = self.records
        for name in ("at", "ingested_at", "source"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        if self.positions is not None:
            d["pos"] = self.positions
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> "Envelope":
        d = json.loads(raw)
        return cls(d["kind"], d["key"], d.get("records") or [], d.get("at"), d.get("ingested_at"), d.get("source"),
                   d.get("pos"))


def pack(envelopes: list[Envelope]) -> list[Envelope]:
    """Merge a key's consecutive envelopes of one kind, keeping each key's records in order.

    Order per key matters across kinds too: a whole-border key takes the border's own incidents
    and spill-over from its cut segments, both read from one input partition, and a record at or
    below the highest input offset a key applied is taken for one read again
    (``Pipeline._first_reading``). Merging all of a key's spills after all of its incidents
    skipped incidents as re-read, depending on how input fell into batches.
    """
    packed: list[Envelope] = []
    last: dict[str, Envelope] = {}
    for env in envelopes:
        cur = last.get(env.key)
        if cur is None or cur.kind != env.kind:
            cur = last[env.key] = Envelope(env.kind, env.key, list(env.records), env.at, env.ingested_at,
                                           positions=None if env.positions is None else list(env.positions))
            packed.append(cur)
            continue
        cur.records.extend(env.records)
        if cur.positions is not None and env.positions is not None:
            cur.positions.extend(env.positions)
        else:
            cur.positions = None
    return packed


#: The input topic an envelope's records were read from, by envelope kind.
INPUT_OF_KIND = {"incident": KIND_INCIDENTS, "spill": KIND_INCIDENTS, "transfer": KIND_TRANSFERS,
                 "pressure": KIND_TRANSFERS, "arms": KIND_TRANSFERS}


def encode_within(env: Envelope, limit: int = MAX_MESSAGE_BYTES) -> list[tuple[Envelope, bytes]]:
    """``env`` as messages of at most ``limit`` bytes: its records split in halves, in order,
    until each part fits. Applying the parts in order equals applying ``env``.

    A packed batch can exceed what Kafka takes (2000 records of one busy key). A single record
    over the limit comes back alone, over it, for the caller to dead-letter; with records under
    MAX_RECORD_BYTES (at most 3x that once re-encoded) it does not happen.
    """
    out: list[tuple[Envelope, bytes]] = []
    todo = [env]
    while todo:
        cur = todo.pop()
        raw = cur.encode()
        if len(raw) <= limit or len(cur.records) <= 1:
            out.append((cur, raw))
            continue
        half = len(cur.records) // 2
        pos = cur.positions
        todo.append(replace(cur, records=cur.records[half:], positions=None if pos is None else pos[half:]))
        todo.append(replace(cur, records=cur.records[:half], positions=None if pos is None else pos[:half]))
    return out


@dataclass
class SegmentState:
    """Everything the pipeline remembers about one segment; JSON round-trips exactly."""

    key: str
    version: int = STATE_VERSION
    #: day -> [incidents, fatalities, injuries, severity sum, violent, intrusion, spill-over, force, deadly]
    #: (spill-over: incidents on the neighbouring segments, not counted in the others)
    days: dict[int, list[int]] = field(default_factory=dict)
    #: event/transfer id -> day, for dropping duplicates (pruned with the buckets)
    seen: dict[str, int] = field(default_factory=dict)
    max_day: int | None = None
    level: int = 0
    #: last day boundary evaluated while an alert is open
    evaluated_day: int | None = None
    alert: dict[str, Any] | None = None
    seq: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)
    #: ISO3 -> {year: TIV delivered}, for both sides of the segment's border pair
    pressure: dict[str, dict[int, float]] = field(default_factory=dict)
    #: what the detector learned on this segment (detectors.base.get_state), through ``learned_day``
    model: dict[str, Any] | None = None
    learned_day: int | None = None
    #: alarm post-rules (alerts.escalation): days the score reached watch with no alert open,
    #: and the day the last alert resolved
    hits: list[int] = field(default_factory=list)
    resolved_day: int | None = None
    #: Kafka partition of the key (live driver only), so a tick touches only its own keys
    partition: int | None = None
    #: decayed counts per incident class and half-life (detectors.features), as of ``decayed_day``
    decayed: list[float] = field(default_factory=lambda: [0.0] * len(F.DECAYED_FEATURES))
    decayed_day: int | None = None
    #: the newest day with a death, kept beyond the bucket retention
    last_fatal_day: int | None = None
    #: which detector (name and trained model) ``model`` was learned by: another one's is rebuilt
    detector_id: str | None = None
    #: "incidents/3" -> the highest offset of that input partition applied to this key (live only):
    #: input read again after a restart or a rebalance is already read, not new, and never late
    inputs: dict[str, int] = field(default_factory=dict)
    #: the alert transitions (encoded) of the last batch that touched this key (live only): written
    #: with the state before they are sent, and sent again after a restart or a rebalance, so the
    #: alerts topic holds exactly what the state records, whatever the crash point (streams/app.py)
    outbox: list[str] = field(default_factory=list)
    #: arms-race keys only (``<pair>:arms``): {"acq": {ISO3: [Acquisition.to_list()]} (the last
    #: arms_race.KEEP_YEARS years), "held": {ISO3: {capability: first year}}, "year": the newest
    #: year assessed, "at": the newest transition time}. A new field with an empty default: old
    #: state has no arms keys and reads as before, so STATE_VERSION stays.
    arms: dict[str, Any] = field(default_factory=dict)
    #: day -> sums over the days before it (memory only, rebuilt on demand)
    cache: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)
    #: the live detector built from ``model`` (memory only)
    detector: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> bytes:
        d = dict(self.__dict__)
        del d["cache"], d["detector"]
        d["days"] = {str(k): v for k, v in self.days.items()}
        d["pressure"] = {c: {str(y): t for y, t in ys.items()} for c, ys in self.pressure.items()}
        return json.dumps(d, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str | None, key: str) -> "SegmentState":
        if not raw:
            return cls(key)
        d = json.loads(raw)
        if d.get("version") != STATE_VERSION:
            return cls(key)  # older layout: rebuild from scratch rather than misread it
        d["days"] = {int(k): v for k, v in d["days"].items()}
        d["pressure"] = {c: {int(y): t for y, t in ys.items()} for c, ys in d["pressure"].items()}
        return cls(**d)

    def pressure_tiv(self, years: int) -> float:
        """TIV delivered to both sides over the trailing ``years`` up to the latest delivery year."""
        latest = max((y for ys in self.pressure.values() for y in ys), default=None)
        if latest is None:
            return 0.0
        return sum(t for ys in self.pressure.values() for y, t in ys.items() if latest - years < y <= latest)

    def pressure_before(self, year: int, years: int) -> float:
        """TIV delivered to both sides in the ``years`` completed years before ``year``."""
        return sum(t for ys in self.pressure.values() for y, t in ys.items() if year - years <= y < year)


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
        self.detector_id = identity(detector)
        self._bound: dict[str, Any] = {}
        self.policy = policy or EscalationPolicy()
        self.settings = settings or PipelineSettings()
        # A detector that learns gets one instance per segment, stored in the segment's state:
        # a baseline shared across segments would depend on how partitions interleave.
        self._stateful = is_stateful(self.detector)
        self._neighbours: dict[str, tuple[str, ...]] = {}
        by_border: dict[str, list[str]] = {}
        for seg in registry.segments():
            by_border.setdefault(seg.border, []).append(seg.segment_id)
        self._segments_of = {b: tuple(sorted(ids)) for b, ids in by_border.items()}
        for ids in self._segments_of.values():
            for i, sid in enumerate(ids):
                self._neighbours[sid] = tuple(ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids))

    # ------------------------------------------------------------------ stage 1
    def route(self, kind: str, raw: bytes, ingested_at: float | None = None,
              position: tuple[int, int] | None = None) -> tuple[list[Envelope], DeadLetter | None]:
        """Validate raw ``incidents`` or ``arms-transfers`` input and key it by segment.

        Invalid input becomes a dead letter (reason, field, original bytes) instead.
        """
        try:
            if kind == KIND_INCIDENTS:
                ev = decode_incident(raw)
                if not self.registry.watches(*ev.countries):
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
                                for sid in self._segments_of.get(b, ()))
                # The arms race: its own key per land border of the recipient (deliveries and orders),
                # which takes transfers only, so its alerts are the same whatever the incidents do.
                envs.extend(Envelope("arms", arms_key(border_of(tr.recipient, n)), [rec], ingested_at=ingested_at,
                                     positions=pos) for n in sorted(land_neighbours(tr.recipient)))
                return envs, None
            raise ValueError(f"route() takes {KIND_INCIDENTS} or {KIND_TRANSFERS}, not {kind!r}")
        except InvalidEvent as exc:
            return [], DeadLetter(kind, str(exc), exc.code, exc.field, raw if isinstance(raw, bytes) else raw.encode())

    def _spill_targets(self, key: str) -> tuple[str, ...]:
        if key not in self._neighbours:
            return ()  # a whole-border incident has no place on the line, so no neighbours
        return self._neighbours[key] + (self.registry.get(key).border,)

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
               "arms": lambda rec: self._apply_arms(state, rec, out)}.get(env.kind)
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
        if len(state.cache) > 8:
            state.cache.clear()
        bucket = self._bucket(state, d)
        bucket[N] += 1
        bucket[FATAL] += ev["fatalities"]
        bucket[INJ] += ev["injuries"]
        bucket[SEV] += ev["severity"]
        bucket[VIOLENT] += ev["category"] in VIOLENT_CATEGORIES
        bucket[INTRUSION] += ev["category"] in INTRUSION_CATEGORIES
        cls = F.incident_class(ev["severity"], ev["fatalities"])
        bucket[FORCE] += cls == F.FORCE
        bucket[DEADLY] += cls == F.DEADLY
        self._count_decayed(state, d, cls, ev["fatalities"])
        state.seen[ev["event_id"]] = d
        self._remember(state, ev, d)
        now_day = d if state.max_day is None else max(d, state.max_day)
        state.max_day = now_day
        # Days before the grace horizon can no longer change: they are what the detector learns.
        self._learn(state, now_day - self.settings.grace_days - 1)
        at = occurred if d == now_day else day_start(now_day)
        out.alerts.extend(self._score(state, now_day, iso(at), may_raise=True))
        self._prune(state)

    def _bucket(self, state: SegmentState, d: int) -> list[int]:
        bucket = state.days.get(d)
        if bucket is None:
            bucket = state.days[d] = [0] * BUCKET_WIDTH
        for k in [k for k in state.cache if k > d]:  # sums cached for later days missed this day
            del state.cache[k]
        return bucket

    @staticmethod
    def _count_decayed(state: SegmentState, d: int, cls: int, fatalities: int) -> None:
        if state.decayed_day is None or d > state.decayed_day:
            if state.decayed_day is not None:
                state.decayed = F.decay(state.decayed, d - state.decayed_day)
            state.decayed_day = d
        F.add_incident(state.decayed, state.decayed_day, d, cls)
        if fatalities > 0 and (state.last_fatal_day is None or d > state.last_fatal_day):
            state.last_fatal_day = d

    def _remember(self, state: SegmentState, ev: dict[str, Any], d: int) -> None:
        """Keep the incident among the segment's recent ones (the evidence alerts and notices show)."""
        state.recent.append({"event_id": ev["event_id"], "day": d, "at": ev["occurred_at"],
                             "category": ev["category"], "fatalities": ev["fatalities"], "severity": ev["severity"],
                             "classification": ev.get("classification", "public"),
                             "releasable_to": list(ev.get("releasable_to") or (RELEASABLE_ALL,)),
                             "description": ev.get("description") or ev.get("location_name") or "",
                             # which feed reported it: a notice tells the demo's made-up incident by it
                             "source": str(ev.get("source") or "")[:SOURCE_MAX]})
        del state.recent[:-self.settings.recent_max]

    def _apply_spill(self, state: SegmentState, ev: dict[str, Any]) -> None:
        """A neighbour's incident: counted as spill-over only; it neither scores nor moves the clock."""
        sid = "spill:" + ev["event_id"]
        if sid in state.seen:
            return
        d = day_of(parse_time(ev["occurred_at"], "occurred_at"))
        if state.max_day is not None and d <= state.max_day - self.settings.grace_days - 1:
            return  # that day is closed and learned here; the neighbour dead-letters or counts its own copy
        state.seen[sid] = d
        self._bucket(state, d)[SPILL] += 1

    def _apply_transfer(self, state: SegmentState, tr: dict[str, Any], out: Applied, counted: bool = True) -> None:
        if tr["transfer_id"] in state.seen:
            out.duplicates += counted
            return
        occurred = parse_time(tr["occurred_at"], "occurred_at")
        out.transfers += counted
        state.seen[tr["transfer_id"]] = day_of(occurred)
        sides = state.pressure.setdefault(tr["recipient"], {})
        sides[occurred.year] = sides.get(occurred.year, 0.0) + tr["tiv"]

    def _apply_arms(self, state: SegmentState, tr: dict[str, Any], out: Applied) -> None:
        """A transfer on an arms-race key: recorded, not assessed (:meth:`_advance_arms` assesses).

        The two sides' transfers reach this key from different input partitions, so the order in
        which they come differs from run to run. What is kept is a function of the *set* received
        (acquisitions in a canonical order, first years by ``min``, the trim by the newest year),
        and the pair is assessed only when its partition has gone idle (all input produced before
        has arrived) or at the end of a backtest: the same alerts in every driver.
        """
        # A copy, like pressure's: the transfer and its duplicates are counted on its "transfer" key.
        if tr["transfer_id"] in state.seen:
            return
        occurred = parse_time(tr["occurred_at"], "occurred_at")
        state.seen[tr["transfer_id"]] = day_of(occurred)
        arms = state.arms or {"acq": {}, "held": {}, "year": None, "assessed": None}
        state.arms = arms
        year = occurred.year
        order = not tr["delivery_years"]
        acq = AR.Acquisition(tr["recipient"], tr["supplier"], tr.get("order_year"), None if order else year,
                             float(tr.get("order_tiv") or 0.0) if order else float(tr["tiv"]), tr["designation"],
                             tr["weapon_category"], int(tr["quantity"]),
                             AR.capability_of(tr["weapon_category"], tr["designation"]))
        rows = arms["acq"].setdefault(acq.recipient, [])
        rows.append(acq.to_list())
        rows.sort(key=_acquisition_order)
        if acq.capability is not None:
            held = arms["held"].setdefault(acq.recipient, {})
            held[acq.capability] = min(held.get(acq.capability, acq.year), acq.year)
        newest = year if arms["year"] is None else max(year, arms["year"])
        arms["year"] = newest
        # Keep what the assessments of the last HISTORY_YEARS years need; the rest is in "held".
        oldest = newest - AR.HISTORY_YEARS - AR.KEEP_YEARS
        for iso3, kept in arms["acq"].items():
            arms["acq"][iso3] = [r for r in kept if AR.Acquisition.from_list(r).year > oldest]
        state.seen = {k: d for k, d in state.seen.items() if day_start(d).year > oldest}

    def _advance_arms(self, state: SegmentState, until_day: int) -> list[AlertEvent]:
        """Assess an arms-race key at each year not yet assessed, up to the year of ``until_day``.

        Year Y is assessed on the acquisitions of the window ending with Y and stamped 1 July of Y
        (the event time SIPRI gives that year's records); the first assessment goes back
        ``HISTORY_YEARS`` from the newest year received, and none goes past the year the window
        has left every acquisition (nothing can change after it).
        """
        arms = state.arms
        out: list[AlertEvent] = []
        if not arms or arms["year"] is None:
            return out
        first = arms["year"] - AR.HISTORY_YEARS if arms["assessed"] is None else arms["assessed"] + 1
        pair = tuple(state.key[: -len(ARMS_KEY_SUFFIX)].split("-"))
        for year in range(first, arms["year"] + AR.WINDOW_YEARS + 1):
            at = datetime(year, 7, 1, tzinfo=timezone.utc)
            if day_of(at) > until_day:
                break
            found = self._assess_arms(state, pair, year)
            arms["assessed"] = year
            if found.level != state.level:
                out.append(self._arms_transition(state, found, iso(at)))
        return out

    def arms_pending(self, state: SegmentState) -> bool:
        """Whether an arms-race key has years left to assess (an idle tick should advance it)."""
        arms = state.arms
        return bool(arms) and arms["year"] is not None and (
            arms["assessed"] is None or arms["assessed"] < arms["year"] + AR.WINDOW_YEARS)

    @staticmethod
    def _assess_arms(state: SegmentState, pair: tuple[str, ...], year: int) -> AR.Assessment:
        arms = state.arms
        acquisitions = {iso3: [AR.Acquisition.from_list(r) for r in rows] for iso3, rows in arms["acq"].items()}
        return AR.assess((pair[0], pair[1]), acquisitions, year, arms["held"],
                         names={iso3: state_name(iso3) or iso3 for iso3 in pair})

    def _arms_transition(self, state: SegmentState, found: AR.Assessment, at: str) -> AlertEvent:
        """An arms-race alert's transition: its own slot, seq and clock on the arms key.

        Not _alert_event: the arms key is no segment of the registry, and its evidence is
        acquisitions, not incidents. ``score`` is the level (1 watch, 2 warning): the rule has
        no score of its own.
        """
        old, new = state.level, found.level
        state.level = new
        state.arms["at"] = at
        if old == 0:
            state.alert = {"alert_id": alert_id_for(state.key, at), "opened_at": at, "opened_day": None,
                           "peak_level": new, "peak_score": float(new)}
            transition = "opened"
        elif new == 0:
            transition = "resolved"
        else:
            transition = "escalated" if new > old else "de-escalated"
        alert = state.alert
        alert["peak_level"] = max(alert["peak_level"], new)
        alert["peak_score"] = float(alert["peak_level"])
        state.seq += 1
        border = state.key[: -len(ARMS_KEY_SUFFIX)]
        a, b = border.split("-")
        name = f"{state_name(a) or a}\u2013{state_name(b) or b}"
        if new == 0:
            summary = f"resolved on {name}: arms race over ({AR.MEANING[AR.NONE]}); {found.headline}"
            explanation = None
        else:
            summary = f"{LEVELS[new]} on {name}: {found.headline}"
            explanation = {"detector": ARMS_RACE, "score": float(new), "text": found.text, "deviations": [],
                           "detector_view": None, "forecast": None, "context": {}, "top_incidents": [],
                           "sides": [{"state": s.iso3, "arming": s.arming, "window_tiv": s.window_tiv,
                                      "baseline_tiv": s.baseline_tiv, "new_capabilities": list(s.new_capabilities),
                                      "acquisitions": [x.words() for x in s.acquisitions]} for s in found.sides]}
        ev = AlertEvent(
            alert_id=alert["alert_id"], transition=transition, segment_id=state.key, border=border,
            countries=(a, b), level=LEVELS[new], previous_level=LEVELS[old], score=float(new), at=at,
            opened_at=alert["opened_at"], seq=state.seq, peak_level=LEVELS[alert["peak_level"]],
            peak_score=alert["peak_score"], summary=summary, detector=ARMS_RACE,
            resolved_at=at if new == 0 else None, explanation=explanation, kind=ARMS_RACE,
        )
        if new == 0:
            state.alert = None
        return ev

    def advance(self, state: SegmentState, until_day: int) -> list[AlertEvent]:
        """Evaluate each day boundary up to ``until_day`` while an alert is open.

        Levels only fall here (a level rises only on an incident), and every
        transition is stamped with the boundary's event time, so when a driver
        advances (a tick, the next incident, the end of a backtest) does not
        change what it finds.
        """
        if is_arms_key(state.key):
            return self._advance_arms(state, until_day)
        out: list[AlertEvent] = []
        if state.level == 0 or state.evaluated_day is None:
            return out
        day = state.evaluated_day + 1
        limit = min(until_day, state.evaluated_day + self.settings.retention_days)
        while day <= limit and state.level > 0:
            out.extend(self._score(state, day, iso(day_start(day)), may_raise=False))
            day += 1
        if state.level == 0:
            state.evaluated_day = None
        else:
            state.evaluated_day = max(state.evaluated_day, min(until_day, limit))
        return out

    # ------------------------------------------------------------------ scoring
    def features(self, state: SegmentState, day: int) -> dict[str, float]:
        """Rolling views at ``day`` (inclusive) from the daily buckets.

        Everything before ``day`` is summed once per (segment, day) and cached in memory;
        the incidents of ``day`` itself are added on each call, so scoring every incident
        costs O(1) after the first of the day.
        """
        base = state.cache.get(day)
        if base is None:
            base = state.cache[day] = self._base_features(state, day)
        return self._assemble(state, day, base)

    def _assemble(self, state: SegmentState, day: int, base: dict[str, Any]) -> dict[str, float]:
        today = state.days.get(day) or (0,) * BUCKET_WIDTH
        w7, w30, w365 = ([a + b for a, b in zip(base[w], today)] for w in ("w7", "w30", "w365"))
        c7, c365 = w7[N], w365[N]
        last_fatal = day if today[FATAL] else base["last_fatal"]
        if last_fatal is None and state.last_fatal_day is not None and state.last_fatal_day <= day:
            last_fatal = state.last_fatal_day  # a death older than the buckets' retention
        feats = {
            "count_1d": today[N], "count_7d": c7, "count_30d": w30[N], "count_365d": c365,
            "weekly_mean_prior": (c365 - c7) / (358 / 7),
            "violent_1d": today[VIOLENT], "violent_7d": w7[VIOLENT], "violent_30d": w30[VIOLENT],
            "violent_365d": w365[VIOLENT],
            "intrusion_7d": w7[INTRUSION], "intrusion_30d": w30[INTRUSION], "intrusion_365d": w365[INTRUSION],
            "fatalities_7d": w7[FATAL], "fatalities_30d": w30[FATAL], "fatalities_365d": w365[FATAL],
            "fatalities_30d_prior_max": base["prior_max"],
            "injuries_30d": w30[INJ], "severity_index_7d": w7[SEV], "severity_index_30d": w30[SEV],
            "severity_index_365d": w365[SEV],
            "spill_7d": w7[SPILL], "spill_30d": w30[SPILL], "spill_365d": w365[SPILL],
            "force_7d": w7[FORCE], "force_30d": w30[FORCE], "force_365d": w365[FORCE],
            "deadly_7d": w7[DEADLY], "deadly_30d": w30[DEADLY], "deadly_365d": w365[DEADLY],
            "display_30d": w30[N] - w30[FORCE] - w30[DEADLY],
            "days_since_fatal": (day - last_fatal) if last_fatal is not None else F.NEVER,
            "pressure_tiv_5y": state.pressure_before(day_start(day).year, self.settings.pressure_years),
        }
        # Decayed counts are a view of the segment as of its newest incident onwards: a day before
        # that (a closed day being learned) cannot be told apart from the incidents after it.
        if state.decayed_day is not None and day >= state.decayed_day:
            feats.update(F.as_features(F.decay(state.decayed, day - state.decayed_day)))
        return feats

    @staticmethod
    def _base_features(state: SegmentState, day: int) -> dict[str, Any]:
        past = [(day - d, b) for d, b in state.days.items() if d < day]
        year = [(age, b) for age, b in past if age < 365]
        month = [b for age, b in year if age < 30]
        w365 = _column_sums([b for _, b in year])
        w30 = _column_sums(month)
        w7 = _column_sums([b for age, b in year if age < 7])
        fatal_days = [(day - age, b[FATAL]) for age, b in past if b[FATAL]]
        last_fatal = max((d for d, _ in fatal_days), default=None)
        # Highest 30-day fatality sum over the windows ending in [day-365, day-1]: such a
        # maximum is reached at a window ending on a fatal day (or at the range start).
        fatal_days.sort()
        prior_max = 0
        lo, running = 0, 0
        for d, f in fatal_days:
            running += f
            while fatal_days[lo][0] <= d - 30:
                running -= fatal_days[lo][1]
                lo += 1
            if d >= day - 365:
                prior_max = max(prior_max, running)
        start = day - 365
        prior_max = max(prior_max, sum(f for d, f in fatal_days if start - 30 < d <= start))
        return {"w7": w7, "w30": w30, "w365": w365, "prior_max": prior_max, "last_fatal": last_fatal}

    def detector_input(self, state: SegmentState, day: int) -> dict[str, float]:
        """The features, plus the daily counts of the days the detector has not learned yet.

        ``pending_days`` days (today first) as ``count_lag_k`` / ``violent_lag_k``: a
        detector with a recursion (the CUSUM) carries it over them at scoring time.
        """
        feats = self.features(state, day)
        if not self._stateful:
            return feats
        first = state.learned_day + 1 if state.learned_day is not None else min(state.days, default=day)
        pending = max(0, min(day - first + 1, MAX_LAGS))
        feats["pending_days"] = pending
        for k in range(pending):
            b = state.days.get(day - k)
            feats[f"count_lag_{k}"] = b[N] if b else 0
            feats[f"violent_lag_{k}"] = b[VIOLENT] if b else 0
        return feats

    def border_of(self, key: str) -> str:
        """The border pair a state key (cut segment, pair-level segment or arms-race key) belongs to."""
        if is_arms_key(key):
            return key[: -len(ARMS_KEY_SUFFIX)]
        try:
            return self.registry.get(key).border
        except KeyError:
            return key

    def _detector(self, state: SegmentState):
        if state.detector is not None:
            return state.detector
        if state.detector_id != self.detector_id:
            # learned by another detector or model: rebuilt from the buckets, never read into this one
            state.model, state.learned_day, state.detector_id = None, None, self.detector_id
        border = self.border_of(state.key)
        if not self._stateful:
            det = self._bound.get(border)
            if det is None:
                det = self._bound[border] = bind(self.detector, border)
        else:
            det = copy.deepcopy(bind(self.detector, border))
            if state.model:
                set_state(det, state.model)
        state.detector = det
        return det

    def _learn(self, state: SegmentState, through: int) -> None:
        """Fold every closed day up to ``through`` into the segment's detector, once each."""
        if not self._stateful or not state.days:
            return
        det = self._detector(state)  # first: it resets what another detector learned
        start = state.learned_day + 1 if state.learned_day is not None else min(state.days)
        # A gap longer than the retention is all empty days: learn the last stretch of it only.
        start = max(start, through - self.settings.retention_days)
        if start > through:
            return
        for day in range(start, through + 1):
            feats = self._assemble(state, day, self._base_features(state, day))
            feats["pending_days"] = 1
            b = state.days.get(day)
            feats["count_lag_0"], feats["violent_lag_0"] = (b[N], b[VIOLENT]) if b else (0, 0)
            det.learn_one(feats)
        state.learned_day = through
        state.model = get_state(det)

    def _score(self, state: SegmentState, day: int, at: str, *, may_raise: bool) -> list[AlertEvent]:
        detector = self._detector(state)
        feats = self.detector_input(state, day)
        score = detector.score_one(feats)
        out = []
        alert = state.alert
        if alert is not None and self.policy.expired(day - alert["opened_day"], feats["fatalities_30d"] > 0):
            # A forecast whose window has passed without deaths resolves; what follows is a new opening.
            out.append(self._transition(state, 0, score, at, day, feats, detector, expired=True))
        new = self.policy.next_level(state.level, score)
        if not may_raise:
            new = min(new, state.level)
        elif state.level == 0 and new > 0:
            # Alarm post-rules (alerts.escalation): minimum hits in a window, quiet after an alarm.
            if not state.hits or state.hits[-1] != day:
                state.hits.append(day)
            del state.hits[:-max(self.policy.watch_min_hits, 1)]
            if not self.policy.may_open(new, state.hits, day, state.resolved_day):
                new = 0
        if self.observer is not None:
            self.observer(state.key, day, score, new)
        alert = state.alert
        if alert is not None:
            if score > alert["peak_score"]:
                alert["peak_score"] = score
            alert["peak_level"] = max(alert["peak_level"], new)
        if new != state.level:
            out.append(self._transition(state, new, score, at, day, feats, detector))
        return out

    def _transition(self, state: SegmentState, new: int, score: float, at: str, day: int, feats: dict[str, float],
                    detector: Any, *, expired: bool = False) -> AlertEvent:
        old = state.level
        alert = state.alert
        state.level = new
        if old == 0:
            alert = state.alert = {"alert_id": alert_id_for(state.key, at), "opened_at": at, "opened_day": day,
                                   "peak_level": new, "peak_score": score}
            state.evaluated_day = day
            transition = "opened"
            state.hits.clear()
        elif new == 0:
            transition = "resolved"
            state.resolved_day = day
        else:
            transition = "escalated" if new > old else "de-escalated"
        state.seq += 1
        ev = self._alert_event(state, alert, transition, old, new, score, at, feats, detector, expired=expired)
        if new == 0:
            state.alert = None
        return ev

    def _alert_event(self, state: SegmentState, alert: dict[str, Any], transition: str, old: int, new: int,
                     score: float, at: str, feats: dict[str, float], detector: Any, *,
                     expired: bool = False) -> AlertEvent:
        if is_arms_key(state.key):  # not a segment: its alerts are _arms_transition's
            raise ValueError(f"{state.key} is an arms-race key: incident alerts are never raised on it")
        seg = self.registry.get(state.key) if "-" in state.key else None
        countries = seg.countries if seg else tuple(state.key.split("-")[:2])
        window = [r for r in state.recent if int(r["day"]) > (state.max_day or 0) - 30]
        evidence = sorted(window, key=lambda r: (-r["fatalities"], -r["severity"], r["at"]))[: self.settings.evidence_max]
        classification = max((r["classification"] for r in window), key=CLASSIFICATIONS.index, default="public")
        releasable = _intersect_releasable([r["releasable_to"] for r in window])
        name = seg.name if seg else state.key
        explanation = None
        if transition == "resolved" and expired:
            summary = (f"resolved on {name}: {self.policy.expire_after_days} days since it opened without deaths "
                       f"(its warning window has passed)")
        elif transition == "resolved":
            summary = f"resolved on {name}: score {score:.2f} below the clear line"
        else:
            explanation = explain(detector, feats, score, evidence)
            summary = f"{LEVELS[new]} on {name}: {explanation['text']}"
        return AlertEvent(
            alert_id=alert["alert_id"], transition=transition, segment_id=state.key,
            border=seg.border if seg else border_of(*countries), countries=tuple(countries),
            level=LEVELS[new], previous_level=LEVELS[old], score=round(score, 6), at=at,
            opened_at=alert["opened_at"], seq=state.seq, peak_level=LEVELS[alert["peak_level"]],
            peak_score=round(alert["peak_score"], 6), summary=summary, detector=self.detector.name,
            classification=classification, releasable_to=releasable,
            evidence=tuple(r["event_id"] for r in evidence),
            resolved_at=at if transition == "resolved" else None,
            explanation=explanation,
        )

    def _prune(self, state: SegmentState) -> None:
        if state.max_day is None:
            return
        horizon = state.max_day - self.settings.retention_days
        if state.days and min(state.days) < horizon:
            state.days = {d: v for d, v in state.days.items() if d >= horizon}
        # An id older than the grace period cannot come back as a duplicate: it would be late.
        seen_horizon = state.max_day - self.settings.grace_days - 1
        if len(state.seen) > 64 and min(state.seen.values()) < seen_horizon:
            state.seen = {k: d for k, d in state.seen.items() if d >= seen_horizon}


def _column_sums(buckets: list[list[int]]) -> list[int]:
    return [sum(col) for col in zip(*buckets)] if buckets else [0] * BUCKET_WIDTH


#: Rolling view -> (the yearly view it is compared with, window length in days).
_BASELINES = {"count_7d": ("count_365d", 7), "violent_30d": ("violent_365d", 30),
              "intrusion_30d": ("intrusion_365d", 30), "fatalities_30d": ("fatalities_365d", 30),
              "severity_index_7d": ("severity_index_365d", 7), "spill_30d": ("spill_365d", 30)}


def explain(detector: Any, feats: dict[str, float], score: float, evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """What an alert carries as its explanation: deviations, baseline against now, top incidents.

    The baseline of a rolling view is the same window's average over the rest of the past year
    (e.g. count_7d against the weekly mean of the 358 days before); the detector adds its own
    view (:func:`detectors.base.deviations`) where it has one.
    """
    deviated = []
    for name, (year, days) in _BASELINES.items():
        now = float(feats.get(name, 0))
        baseline = (float(feats.get(year, 0)) - now) / (365 - days) * days
        if now > baseline:
            deviated.append({"feature": name, "baseline": round(baseline, 3), "now": now})
    deviated.sort(key=lambda d: -(d["now"] + 1) / (d["baseline"] + 1))
    return {
        "detector": detector.name, "score": round(score, 6), "text": detector.explain(feats),
        "deviations": deviated, "detector_view": deviations(detector, feats),
        "forecast": forecast(detector, feats),
        # Not arms pressure: transfers come on another topic, so when one lands against an incident
        # differs between runs, and an alert transition must be a function of its input.
        "context": {k: feats.get(k) for k in ("days_since_fatal", "fatalities_30d_prior_max")},
        "top_incidents": [{k: r[k] for k in ("event_id", "at", "category", "fatalities", "severity")}
                          for r in evidence],
    }


def _intersect_releasable(lists: list[list[str]]) -> tuple[str, ...]:
    """A group of incidents is releasable only where every one of them is."""
    allowed: set[str] | None = None
    for rel in lists:
        if RELEASABLE_ALL in rel:
            continue
        allowed = set(rel) if allowed is None else allowed & set(rel)
    return (RELEASABLE_ALL,) if allowed is None else tuple(sorted(allowed))
