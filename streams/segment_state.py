"""What the pipeline remembers about one segment (or border pair, or arms-race key), and how it is stored.

One :class:`SegmentState` per key lives in the worker's ``segments`` table (its changelog topic
restores it) and in a backtest's dict: the daily buckets (:mod:`streams.windows`), the ids seen,
the alert's lifecycle fields, the detector's learned state and the input positions applied.
:meth:`SegmentState.encode` is the stored form; a state of another layout version is rebuilt
from scratch, never misread.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from alerts.access import RELEASABLE_ALL
from detectors import features as F
from streams.records import PUBLIC, UNCOUNTED_CATEGORIES
from streams.windows import DEADLY, N, SPILL, Windows, days_by_column, days_from_columns

#: Bump when the shape or meaning of SegmentState changes; old state is then rebuilt, never misread.
#: 2: buckets gained violent / intrusion / spill-over columns; per-segment detector state.
#: 3: protests are no longer counted into the buckets (UNCOUNTED_CATEGORIES).
#: 4: decayed counts per incident class, the last deadly day beyond the retention, detector id,
#:    the input position read last per input partition.
#: 5: encoded compactly: the buckets by column, the whole deflated (SegmentState.encode).
#: 6: the first counted incident's day (a surge on a sparse segment needs months on record);
#:    version 5 is read on: the oldest day it still holds stands for that day (SegmentState.decode).
#: 7: the restricted incidents counted within the views' reach (``restricted``) and among the last
#:    deaths (``fatal_restricted``): whose figures an alert may quote to whom. Versions 5 and 6 are
#:    read on (:func:`_restricted_of_older`, :func:`_fatal_restricted_of_older`).
STATE_VERSION = 7
#: The key of ``SegmentState.restricted`` for "not known to be released to anyone but the centre".
CENTRE_ONLY = ""
#: zlib level of an encoded state: ten years of a busy segment in under 3 KB (``make bench``,
#: ``state_bytes_ten_years``) at about a twentieth of a millisecond.
STATE_DEFLATE_LEVEL = 3


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
    #: the oldest day with a counted incident, kept beyond the bucket retention
    first_day: int | None = None
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
    #: releasable_to ("KGZ,TJK": sorted, comma-joined; CENTRE_ONLY for none) -> the newest day an
    #: incident or spill-over released only there was counted, for the days the rolling views still
    #: read (F.VIEW_REACH before ``max_day``). An alert's figures are released only where all of
    #: these are (streams.explanation): its own releasable_to covers the last 30 days' incidents
    #: alone. A few distinct sets, not one entry per incident: the state stays small.
    restricted: dict[str, int] = field(default_factory=dict)
    #: the same for the deaths of ``last_fatal_day`` alone, whatever its age: the explanation says how
    #: long ago the last deaths were ("last deaths 700 days ago"), which dates a withheld deadly incident
    #: long after ``restricted`` has let it go. Dropped when a newer day has deaths.
    fatal_restricted: dict[str, int] = field(default_factory=dict)
    #: classification (restricted, confidential) -> the newest day an incident so marked was counted,
    #: for the alert window (F.MONTH before ``max_day``): an alert is marked as its most restricted
    #: incident of those days, which on a busy segment ``recent`` does not hold. A new field with an
    #: empty default: an older state reads as before (marked from ``recent``), so STATE_VERSION stays.
    classified: dict[str, int] = field(default_factory=dict)
    #: the rolling sums of ``days`` (memory only, rebuilt on demand; streams.windows)
    windows: Windows = field(default_factory=Windows, repr=False, compare=False)
    #: the live detector built from ``model`` (memory only)
    detector: Any = field(default=None, repr=False, compare=False)

    def encode(self) -> bytes:
        """The state as stored (a table's changelog value): JSON, the buckets by column, deflated."""
        d = dict(self.__dict__)
        del d["windows"], d["detector"]
        d["days"] = days_by_column(self.days)
        d["pressure"] = {c: {str(y): t for y, t in ys.items()} for c, ys in self.pressure.items()}
        # orjson: a state is encoded for every key a batch touches, and json.dumps was most of it
        # (a tenth of the worker's time at 1,000 incidents a second). The same JSON, keys sorted,
        # but for the spelling of small floats (1e-7 for 1e-07) and UTF-8 for \u escapes.
        return zlib.compress(orjson.dumps(d, option=orjson.OPT_SORT_KEYS), STATE_DEFLATE_LEVEL)

    @classmethod
    def decode(cls, raw: bytes | None, key: str) -> "SegmentState":
        if not raw:
            return cls(key)
        try:
            d = orjson.loads(zlib.decompress(raw))
        except zlib.error:
            return cls(key)  # an older layout (plain JSON): rebuilt from scratch rather than misread
        version = d.get("version")
        if version not in (STATE_VERSION, 6, 5):
            return cls(key)  # older layout: rebuild from scratch rather than misread it
        d["days"] = days_from_columns(d["days"])
        if version == 5:
            # Version 6 only added the first incident's day. The oldest day version 5 still holds
            # (a bucket within the retention, or the last death) is no earlier than it: the segment
            # may look younger than it is -- its sparse surge then waits -- never older, and an
            # upgrade needs no replay.
            known = [*d["days"], *([d["last_fatal_day"]] if d.get("last_fatal_day") is not None else [])]
            d.update(first_day=min(known, default=None))
        if version in (5, 6):
            d.update(version=STATE_VERSION, restricted=_restricted_of_older(d),
                     fatal_restricted=_fatal_restricted_of_older(d))
        d["pressure"] = {c: {int(y): t for y, t in ys.items()} for c, ys in d["pressure"].items()}
        return cls(**d)

    def count_release(self, releasable_to: list[str] | tuple[str, ...], day: int, deaths: bool = False) -> None:
        """Note an incident (or a neighbour's, as spill-over) counted on ``day``, after ``last_fatal_day``
        has counted it (``deaths``: it killed someone); released to all, it restricts nothing."""
        if deaths and day == self.last_fatal_day and any(d < day for d in self.fatal_restricted.values()):
            self.fatal_restricted = {}  # a newer day with deaths: the older one is no longer "the last"
        if RELEASABLE_ALL in releasable_to:
            return
        key = ",".join(sorted(set(releasable_to)))
        if day > self.restricted.get(key, day - 1):
            self.restricted[key] = day
        if deaths and day == self.last_fatal_day:
            self.fatal_restricted[key] = day

    def count_classification(self, classification: str, day: int) -> None:
        """Note an incident marked ``classification`` counted on ``day`` (a public one marks nothing)."""
        if classification != PUBLIC and day > self.classified.get(classification, day - 1):
            self.classified[classification] = day

    def prune_restricted(self) -> None:
        """Forget the restricted sets past the views' reach of ``max_day`` (no figure counts them any
        more) and the markings past the alert window."""
        if self.max_day is None:
            return
        if self.restricted:
            horizon = self.max_day - F.VIEW_REACH
            if min(self.restricted.values()) < horizon:
                self.restricted = {k: d for k, d in self.restricted.items() if d >= horizon}
        if self.classified:
            horizon = self.max_day - F.MONTH
            if min(self.classified.values()) < horizon:
                self.classified = {k: d for k, d in self.classified.items() if d >= horizon}

    def classified_since(self, first_day: int) -> list[str]:
        """The markings of the incidents counted on ``first_day`` or later that were not public."""
        return sorted(k for k, d in self.classified.items() if d >= first_day)

    def restricted_within_reach(self, day: int) -> list[list[str]]:
        """The releasable_to of every restricted incident the figures of ``day`` may count: those the
        rolling views read, and the last deaths, however old (``fatal_restricted``)."""
        within = {k for k, d in self.restricted.items() if d >= day - F.VIEW_REACH}
        within.update(k for k, d in self.fatal_restricted.items() if d == self.last_fatal_day and d <= day)
        return _release_lists(within)

    def restricted_since(self, first_day: int) -> list[list[str]]:
        """The releasable_to of every restricted incident (or spill-over) counted on ``first_day`` or
        later: on a busy segment the recent incidents kept with the state do not reach that far."""
        return _release_lists(k for k, d in self.restricted.items() if d >= first_day)

    def pressure_tiv(self, years: int) -> float:
        """TIV delivered to both sides over the trailing ``years`` up to the latest delivery year."""
        latest = max((y for ys in self.pressure.values() for y in ys), default=None)
        if latest is None:
            return 0.0
        return sum(t for ys in self.pressure.values() for y, t in ys.items() if latest - years < y <= latest)

    def pressure_before(self, year: int, years: int) -> float:
        """TIV delivered to both sides in the ``years`` completed years before ``year``."""
        return sum(t for ys in self.pressure.values() for y, t in ys.items() if year - years <= y < year)


def _release_lists(keys) -> list[list[str]]:
    """``restricted``'s keys as releasable_to lists (:data:`CENTRE_ONLY` as none), in a fixed order."""
    return [k.split(",") if k != CENTRE_ONLY else [] for k in sorted(keys)]


def _fatal_restricted_of_older(d: dict[str, Any]) -> dict[str, int]:
    """``fatal_restricted`` for a state of version 5 or 6 (``d`` as decoded): from the recent
    incidents when they hold every deadly incident of the last day with deaths (as many as that
    day's bucket counts), else that day marked released to the centre alone (the figures then wait
    for a newer day with deaths), never read as "released to all"."""
    last = d.get("last_fatal_day")
    if last is None:
        return {}
    deadly = [r for r in d.get("recent") or () if r["day"] == last and r["fatalities"] > 0]
    bucket = d["days"].get(last)
    if bucket is None or bucket[DEADLY] != len(deadly):  # pruned past the retention, or not all recent
        return {CENTRE_ONLY: last}
    older = SegmentState(d["key"], last_fatal_day=last)
    for r in deadly:
        older.count_release(r["releasable_to"], last, deaths=True)
    return older.fatal_restricted


def _restricted_of_older(d: dict[str, Any]) -> dict[str, int]:
    """``restricted`` for a state of version 5 or 6 (``d`` as decoded), which did not record it.

    Never read as "nothing restricted": an alert would then quote a year of figures from incidents
    withheld from its readers. The recent incidents (``recent``, with their releasable_to) stand
    for the record when they hold every incident counted within the views' reach -- as many as the
    buckets count, and no spill-over, whose releasability only the neighbour knew. Otherwise the
    whole reach is marked released to the centre alone (CENTRE_ONLY on the newest day): the
    segment's alerts withhold their figures from the desks until it has passed, at most
    F.VIEW_REACH days; an exact record would need a replay of a year of input.
    """
    if d.get("max_day") is None:
        return {}
    horizon = d["max_day"] - F.VIEW_REACH
    reach = [b for day, b in d["days"].items() if day >= horizon]
    counted = [r for r in d.get("recent") or () if r["day"] >= horizon and r["category"] not in UNCOUNTED_CATEGORIES]
    if any(b[SPILL] for b in reach) or sum(b[N] for b in reach) != len(counted):
        return {CENTRE_ONLY: d["max_day"]}
    older = SegmentState(d["key"], max_day=d["max_day"])
    for r in counted:
        older.count_release(r["releasable_to"], r["day"])
    return older.restricted
