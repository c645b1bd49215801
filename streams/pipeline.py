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

>>> from streams.segments import SegmentRegistry
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
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from alerts.escalation import LEVELS, EscalationPolicy
from alerts.model import AlertEvent, alert_id_for
from detectors.registry import make_detector
from streams.errors import InvalidEvent
from streams.records import (
    CLASSIFICATIONS,
    RELEASABLE_ALL,
    DeadLetter,
    border_of,
    decode_incident,
    decode_transfer,
    format_time,
    parse_time,
)
from streams.segments import SegmentRegistry
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS

DAY_SECONDS = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Bump when the shape or meaning of SegmentState changes; old state is then rebuilt, never misread.
STATE_VERSION = 1


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

    kind: str  # incident | transfer | tick
    key: str
    records: list[dict[str, Any]] = field(default_factory=list)
    at: str | None = None  # tick: wall-clock time it was produced
    ingested_at: float | None = None  # wall seconds at ingest, only for the latency metric
    source: str | None = None  # tick: the input partition it came through, "topic/partition"

    def encode(self) -> bytes:
        d: dict[str, Any] = {"kind": self.kind, "key": self.key}
        if self.records:
            d["records"] = self.records
        for name in ("at", "ingested_at", "source"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> "Envelope":
        d = json.loads(raw)
        return cls(d["kind"], d["key"], d.get("records") or [], d.get("at"), d.get("ingested_at"), d.get("source"))


def pack(envelopes: list[Envelope]) -> list[Envelope]:
    """Merge envelopes of the same (kind, key), keeping each key's records in order."""
    packed: dict[tuple[str, str], Envelope] = {}
    for env in envelopes:
        cur = packed.get((env.kind, env.key))
        if cur is None:
            packed[(env.kind, env.key)] = Envelope(env.kind, env.key, list(env.records), env.at, env.ingested_at)
        else:
            cur.records.extend(env.records)
    return list(packed.values())


@dataclass
class SegmentState:
    """Everything the pipeline remembers about one segment; JSON round-trips exactly."""

    key: str
    version: int = STATE_VERSION
    #: day -> [incidents, fatalities, injuries, severity sum]
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
    #: border-pair keys only: ISO3 -> {year: TIV delivered}
    pressure: dict[str, dict[int, float]] = field(default_factory=dict)
    #: Kafka partition of the key (live driver only), so a tick touches only its own keys
    partition: int | None = None
    #: day -> sums over the days before it (memory only, rebuilt on demand)
    cache: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> bytes:
        d = dict(self.__dict__)
        del d["cache"]
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


@dataclass
class Applied:
    """What applying one envelope did."""

    alerts: list[AlertEvent] = field(default_factory=list)
    late: list[DeadLetter] = field(default_factory=list)
    incidents: int = 0  # counted into windows
    transfers: int = 0
    duplicates: int = 0


class Pipeline:
    #: Optional ``observer(key, day, score, level)``, called on every scoring with the level
    #: decided; a backtest sets it to record score traces. It sees decisions, never makes them.
    observer: Callable[[str, int, float, int], None] | None = None

    def __init__(self, registry: SegmentRegistry, detector: Any = None,
                 policy: EscalationPolicy | None = None, settings: PipelineSettings | None = None) -> None:
        self.registry = registry
        self.detector = detector if detector is not None else make_detector("reference")
        self.policy = policy or EscalationPolicy()
        self.settings = settings or PipelineSettings()

    # ------------------------------------------------------------------ stage 1
    def route(self, kind: str, raw: bytes, ingested_at: float | None = None
              ) -> tuple[list[Envelope], DeadLetter | None]:
        """Validate raw ``incidents`` or ``arms-transfers`` input and key it by segment.

        Invalid input becomes a dead letter (reason, field, original bytes) instead.
        """
        try:
            if kind == KIND_INCIDENTS:
                ev = decode_incident(raw)
                key = self.registry.assign(ev.countries, ev.latitude, ev.longitude, ev.segment_id)
                rec = ev.to_dict()
                rec["segment_id"] = key
                return [Envelope("incident", key, [rec], ingested_at=ingested_at)], None
            if kind == KIND_TRANSFERS:
                tr = decode_transfer(raw)
                rec = tr.to_dict()
                # Pressure is a border-pair figure: a delivery to one state weighs on each of its borders.
                return [Envelope("transfer", b, [rec], ingested_at=ingested_at)
                        for b in self.registry.pairs_with(tr.recipient)], None
            raise ValueError(f"route() takes {KIND_INCIDENTS} or {KIND_TRANSFERS}, not {kind!r}")
        except InvalidEvent as exc:
            return [], DeadLetter(kind, str(exc), exc.code, exc.field, raw if isinstance(raw, bytes) else raw.encode())

    # ------------------------------------------------------------------ stage 2
    def new_state(self, key: str) -> SegmentState:
        return SegmentState(key)

    def apply(self, state: SegmentState, env: Envelope) -> Applied:
        """Apply an envelope's records in order. They were validated by route() and are read as is."""
        out = Applied()
        if env.kind == "incident":
            for rec in env.records:
                self._apply_incident(state, rec, out)
        elif env.kind == "transfer":
            for rec in env.records:
                self._apply_transfer(state, rec, out)
        else:
            raise ValueError(f"apply() takes incident or transfer envelopes, not {env.kind!r}")
        return out

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
        out.incidents += 1
        out.alerts.extend(self.advance(state, d))
        # Cached sums for later days were built without this incident's day: drop them.
        stale = [k for k in state.cache if k > d]
        for k in stale:
            del state.cache[k]
        if len(state.cache) > 8:
            state.cache.clear()
        bucket = state.days.setdefault(d, [0, 0, 0, 0])
        bucket[0] += 1
        bucket[1] += ev["fatalities"]
        bucket[2] += ev["injuries"]
        bucket[3] += ev["severity"]
        state.seen[ev["event_id"]] = d
        state.recent.append({"event_id": ev["event_id"], "day": d, "at": ev["occurred_at"],
                             "category": ev["category"], "fatalities": ev["fatalities"], "severity": ev["severity"],
                             "classification": ev.get("classification", "public"),
                             "releasable_to": list(ev.get("releasable_to") or (RELEASABLE_ALL,)),
                             "description": ev.get("description") or ev.get("location_name") or ""})
        del state.recent[:-self.settings.recent_max]
        now_day = d if state.max_day is None else max(d, state.max_day)
        state.max_day = now_day
        at = occurred if d == now_day else day_start(now_day)
        out.alerts.extend(self._score(state, now_day, format_time(at), may_raise=True))
        self._prune(state)

    def _apply_transfer(self, state: SegmentState, tr: dict[str, Any], out: Applied) -> None:
        if tr["transfer_id"] in state.seen:
            out.duplicates += 1
            return
        occurred = parse_time(tr["occurred_at"], "occurred_at")
        out.transfers += 1
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
        out: list[AlertEvent] = []
        if state.level == 0 or state.evaluated_day is None:
            return out
        day = state.evaluated_day + 1
        limit = min(until_day, state.evaluated_day + self.settings.retention_days)
        while day <= limit and state.level > 0:
            out.extend(self._score(state, day, format_time(day_start(day)), may_raise=False))
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
        today = state.days.get(day)
        n, f, inj, sev = today if today else (0, 0, 0, 0)
        c7, c365 = base["c7"] + n, base["c365"] + n
        last_fatal = day if f else base["last_fatal"]
        return {
            "count_1d": n, "count_7d": c7, "count_30d": base["c30"] + n, "count_365d": c365,
            "weekly_mean_prior": (c365 - c7) / (358 / 7),
            "fatalities_30d": base["f30"] + f, "fatalities_30d_prior_max": base["prior_max"],
            "injuries_30d": base["inj30"] + inj, "severity_index_30d": base["s30"] + sev,
            "days_since_fatal": (day - last_fatal) if last_fatal is not None else 9999,
        }

    @staticmethod
    def _base_features(state: SegmentState, day: int) -> dict[str, Any]:
        c7 = c30 = c365 = f30 = s30 = inj30 = 0
        last_fatal = None
        fatal_days: list[tuple[int, int]] = []
        for d, (n, f, inj, sev) in state.days.items():
            age = day - d
            if age <= 0:
                continue
            if f:
                fatal_days.append((d, f))
                if last_fatal is None or d > last_fatal:
                    last_fatal = d
            if age >= 365:
                continue
            c365 += n
            if age < 30:
                c30 += n
                f30 += f
                s30 += sev
                inj30 += inj
                if age < 7:
                    c7 += n
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
        return {"c7": c7, "c30": c30, "c365": c365, "f30": f30, "s30": s30, "inj30": inj30,
                "prior_max": prior_max, "last_fatal": last_fatal}

    def _score(self, state: SegmentState, day: int, at: str, *, may_raise: bool) -> list[AlertEvent]:
        feats = self.features(state, day)
        score = self.detector.score_one(feats)
        new = self.policy.next_level(state.level, score)
        if not may_raise:
            new = min(new, state.level)
        old = state.level
        if self.observer is not None:
            self.observer(state.key, day, score, new)
        alert = state.alert
        if alert is not None:
            if score > alert["peak_score"]:
                alert["peak_score"] = score
            alert["peak_level"] = max(alert["peak_level"], new)
        if new == old:
            return []
        state.level = new
        if old == 0:
            alert = state.alert = {"alert_id": alert_id_for(state.key, at), "opened_at": at,
                                   "peak_level": new, "peak_score": score}
            state.evaluated_day = day
            transition = "opened"
        elif new == 0:
            transition = "resolved"
        else:
            transition = "escalated" if new > old else "de-escalated"
        state.seq += 1
        ev = self._alert_event(state, alert, transition, old, new, score, at, feats)
        if new == 0:
            state.alert = None
        return [ev]

    def _alert_event(self, state: SegmentState, alert: dict[str, Any], transition: str, old: int, new: int,
                     score: float, at: str, feats: dict[str, float]) -> AlertEvent:
        seg = self.registry.get(state.key) if "-" in state.key else None
        countries = seg.countries if seg else tuple(state.key.split("-")[:2])
        window = [r for r in state.recent if int(r["day"]) > (state.max_day or 0) - 30]
        evidence = sorted(window, key=lambda r: (-r["fatalities"], -r["severity"], r["at"]))[: self.settings.evidence_max]
        classification = max((r["classification"] for r in window), key=CLASSIFICATIONS.index, default="public")
        releasable = _intersect_releasable([r["releasable_to"] for r in window])
        name = seg.name if seg else state.key
        if transition == "resolved":
            summary = f"resolved on {name}: score {score:.2f} below the clear line"
        else:
            summary = f"{LEVELS[new]} on {name}: {self.detector.explain(feats)}"
        return AlertEvent(
            alert_id=alert["alert_id"], transition=transition, segment_id=state.key,
            border=seg.border if seg else border_of(*countries), countries=tuple(countries),
            level=LEVELS[new], previous_level=LEVELS[old], score=round(score, 6), at=at,
            opened_at=alert["opened_at"], seq=state.seq, peak_level=LEVELS[alert["peak_level"]],
            peak_score=round(alert["peak_score"], 6), summary=summary, detector=self.detector.name,
            classification=classification, releasable_to=releasable,
            evidence=tuple(r["event_id"] for r in evidence),
            resolved_at=at if transition == "resolved" else None,
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


def _intersect_releasable(lists: list[list[str]]) -> tuple[str, ...]:
    """A group of incidents is releasable only where every one of them is."""
    allowed: set[str] | None = None
    for rel in lists:
        if RELEASABLE_ALL in rel:
            continue
        allowed = set(rel) if allowed is None else allowed & set(rel)
    return (RELEASABLE_ALL,) if allowed is None else tuple(sorted(allowed))
