"""A land border's arms-race key (``<pair>:arms``): the acquisitions it records, the yearly
assessment of the pair by the arms-race rule (:mod:`detectors.arms_race` holds the rule) and the
alert transitions that assessment makes.

The key takes transfers only, so its alerts are the same whatever the incidents do; it is
assessed when its partition goes idle or a backtest ends, on all its input.
"""

from __future__ import annotations

import bisect
import json
from datetime import datetime, timezone
from typing import Any

from alerts.borders import states_of
from alerts.escalation import LEVELS, move
from alerts.model import ARMS_RACE, AlertEvent, alert_id_for
from alerts.timefmt import iso
from detectors import arms_race as AR
from streams.records import parse_time
from streams.segment_state import SegmentState
from streams.segments import state_name
from streams.windows import day_of, day_start

#: The arms-race state key of a land border is ``<pair>:arms`` (``KGZ-TJK:arms``). A segment id
#: is ``<pair>-`` then letters, digits, '_' or '.', never ':', so it cannot collide with one.
ARMS_KEY_SUFFIX = ":arms"


def arms_key(border: str) -> str:
    return border + ARMS_KEY_SUFFIX


def is_arms_key(key: str) -> bool:
    return key.endswith(ARMS_KEY_SUFFIX)


def arms_border(key: str) -> str:
    """The border pair of an arms-race key."""
    return key[: -len(ARMS_KEY_SUFFIX)]


def _acquisition_order(row: list) -> str:
    """A total order of acquisition rows (they hold None), so a key's list does not depend on the
    order its transfers came in."""
    return json.dumps(row)


def record_arms_transfer(state: SegmentState, tr: dict[str, Any]) -> None:
    """A transfer on an arms-race key: recorded, not assessed (:func:`advance_arms` assesses).

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
    row = acq.to_list()
    bisect.insort(rows, row, key=_acquisition_order)  # kept in order: a sort per transfer cost O(n log n)
    if acq.capability is not None:
        held = arms["held"].setdefault(acq.recipient, {})
        held[acq.capability] = min(held.get(acq.capability, acq.year), acq.year)
    moved = arms["year"] is None or year > arms["year"]
    newest = year if moved else arms["year"]
    arms["year"] = newest
    # Keep what the assessments of the last HISTORY_YEARS years need; the rest is in "held".
    oldest = newest - AR.HISTORY_YEARS - AR.KEEP_YEARS
    if moved:  # the window moved: whatever left it goes
        for iso3, kept in arms["acq"].items():
            arms["acq"][iso3] = [r for r in kept if AR.Acquisition.from_list(r).year > oldest]
        state.seen = {k: d for k, d in state.seen.items() if day_start(d).year > oldest}
        return
    # The window stayed: everything kept was inside it already; only this transfer may be older.
    if acq.year <= oldest:
        rows.remove(row)
    if occurred.year <= oldest:
        del state.seen[tr["transfer_id"]]


def advance_arms(state: SegmentState, until_day: int, id_key: bytes = b"") -> list[AlertEvent]:
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
    pair = states_of(arms_border(state.key))
    for year in range(first, arms["year"] + AR.WINDOW_YEARS + 1):
        at = datetime(year, 7, 1, tzinfo=timezone.utc)
        if day_of(at) > until_day:
            break
        found = _assess(state, pair, year)
        arms["assessed"] = year
        if found.level != state.level:
            out.append(_transition(state, found, iso(at), id_key))
    return out


def arms_pending(state: SegmentState) -> bool:
    """Whether an arms-race key has years left to assess (an idle tick should advance it)."""
    arms = state.arms
    return bool(arms) and arms["year"] is not None and (
        arms["assessed"] is None or arms["assessed"] < arms["year"] + AR.WINDOW_YEARS)


def _assess(state: SegmentState, pair: tuple[str, ...], year: int) -> AR.Assessment:
    arms = state.arms
    acquisitions = {iso3: [AR.Acquisition.from_list(r) for r in rows] for iso3, rows in arms["acq"].items()}
    return AR.assess((pair[0], pair[1]), acquisitions, year, arms["held"],
                     names={iso3: state_name(iso3) or iso3 for iso3 in pair})


def _transition(state: SegmentState, found: AR.Assessment, at: str, id_key: bytes) -> AlertEvent:
    """An arms-race alert's transition: its own slot, seq and clock on the arms key.

    Not streams.explanation.segment_alert_event: the arms key is no segment of the registry,
    and its evidence is acquisitions, not incidents. ``score`` is the level (1 watch,
    2 warning): the rule has no score of its own.
    """
    new = found.level
    state.arms["at"] = at
    m = move(state, new, alert_id=alert_id_for(state.key, at, id_key), at=at, day=None, score=float(new))
    old, transition, alert = m.old, m.transition, m.alert
    alert["peak_level"] = max(alert["peak_level"], new)
    alert["peak_score"] = float(alert["peak_level"])
    border = arms_border(state.key)
    a, b = states_of(border)
    name = f"{state_name(a) or a}\u2013{state_name(b) or b}"
    if new == 0:
        summary = f"resolved on {name}: arms race over ({AR.MEANING[AR.NONE]}); {found.headline}"
        explanation = None
    else:
        summary = f"{LEVELS[new]} on {name}: {found.headline}"
        explanation = {"detector": ARMS_RACE, "score": float(new), "text": found.text, "deviations": [],
                       "detector_view": None, "forecast": None, "context": {}, "top_incidents": [],
                       "sides": [{"state": s.iso3, "name": state_name(s.iso3) or s.iso3,
                                  "volume": AR.volume_words(s), "arming": s.arming, "window_tiv": s.window_tiv,
                                  "baseline_tiv": s.baseline_tiv, "new_capabilities": list(s.new_capabilities),
                                  "acquisitions": [x.words() for x in s.acquisitions],
                                  "acquired": [x.parts() for x in s.acquisitions]} for s in found.sides]}
    ev = AlertEvent(
        alert_id=alert["alert_id"], transition=transition, segment_id=state.key, border=border,
        countries=(a, b), level=LEVELS[new], previous_level=LEVELS[old], score=float(new), at=at,
        opened_at=alert["opened_at"], seq=state.seq, peak_level=LEVELS[alert["peak_level"]],
        peak_score=alert["peak_score"], summary=summary, detector=ARMS_RACE,
        resolved_at=at if new == 0 else None, explanation=explanation, kind=ARMS_RACE,
    )
    return ev
