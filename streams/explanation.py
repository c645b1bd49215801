"""What an alert says about itself: the explanation it carries and who may read it.

A segment's alert transition (:func:`segment_alert_event`) shows the incidents that weighed most
in the last 30 days as its evidence, is classified as its most restricted one and releasable only
where every incident of those days is (:func:`alerts.access.releasable_to_all`; on a busy segment
more than the recent ones the state keeps, so the state's ``restricted`` days stand for the rest),
and says why in a summary and an
explanation (:func:`explain`), which sets each rolling view against its baseline and adds the
detector's own view and forecast. Those figures count incidents up to a year and a month back,
so they carry their own release (``figures_releasable_to``): where every incident in that reach is.
An arms-race key's transitions are streams.arms_keys'.
"""

from __future__ import annotations

from typing import Any

from alerts.access import releasable_to_all
from alerts.borders import SEPARATOR, border_id, border_of_segment, states_of
from alerts.escalation import LEVELS, Move
from alerts.model import AlertEvent
from detectors.base import deviations, forecast
from detectors import features as F
from streams.arms_keys import is_arms_key
from streams.records import CLASSIFICATIONS, PUBLIC
from streams.segment_state import SegmentState
from streams.segments import SegmentRegistry

#: Rolling view -> (the yearly view it is compared with, window length in days).
_BASELINES = {F.COUNT_7D: (F.COUNT_365D, F.WEEK), F.VIOLENT_30D: (F.VIOLENT_365D, F.MONTH),
              F.INTRUSION_30D: (F.INTRUSION_365D, F.MONTH), F.FATALITIES_30D: (F.FATALITIES_365D, F.MONTH),
              F.SEVERITY_7D: (F.SEVERITY_365D, F.WEEK), F.SPILL_30D: (F.SPILL_365D, F.MONTH)}


def explain(detector: Any, feats: dict[str, float], score: float, evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """What an alert carries as its explanation: deviations, baseline against now, top incidents.

    The baseline of a rolling view is the same window's average over the rest of the past year
    (e.g. count_7d against the weekly mean of the 358 days before); the detector adds its own
    view (:func:`detectors.base.deviations`) where it has one.
    """
    deviated = []
    for name, (year, days) in _BASELINES.items():
        now = float(feats.get(name, 0))
        baseline = (float(feats.get(year, 0)) - now) / (F.YEAR - days) * days
        if now > baseline:
            deviated.append({"feature": name, "baseline": round(baseline, 3), "now": now})
    deviated.sort(key=lambda d: -(d["now"] + 1) / (d["baseline"] + 1))
    return {
        "detector": detector.name, "score": round(score, 6), "text": detector.explain(feats),
        "deviations": deviated, "detector_view": deviations(detector, feats),
        "forecast": forecast(detector, feats),
        # Not arms pressure: transfers come on another topic, so when one lands against an incident
        # differs between runs, and an alert transition must be a function of its input.
        "context": {k: feats.get(k) for k in (F.DAYS_SINCE_FATAL, F.FATALITIES_30D_PRIOR_MAX)},
        "top_incidents": [{k: r[k] for k in ("event_id", "at", "category", "fatalities", "severity")}
                          for r in evidence],
    }


def window_start(last_day: int) -> int:
    """The first day of an alert's window, which ends on the segment's newest day: the incidents its
    evidence, marking and release are drawn from."""
    return last_day - F.MONTH + 1


def evidence_order(incident: dict[str, Any]) -> tuple:
    """How an alert ranks the incidents of its window as evidence: the deadliest, then the most
    severe, then the earliest first."""
    return -incident["fatalities"], -incident["severity"], incident["at"]


def segment_alert_event(state: SegmentState, registry: SegmentRegistry, moved: Move, score: float, at: str,
                        feats: dict[str, float], detector: Any, *, detector_name: str, evidence_max: int,
                        expire_after_days: int | None, expired: bool = False) -> AlertEvent:
    """The alert event of a segment's move of level, scored ``score`` by ``detector`` on ``feats``;
    ``expired``: resolved because its warning window (``expire_after_days``) passed without deaths."""
    if is_arms_key(state.key):  # not a segment: its alerts are streams.arms_keys'
        raise ValueError(f"{state.key} is an arms-race key: incident alerts are never raised on it")
    alert, transition, old, new = moved.alert, moved.transition, moved.old, moved.new
    seg = registry.get(state.key) if SEPARATOR in state.key else None
    countries = seg.countries if seg else states_of(border_of_segment(state.key))
    first_day = window_start(state.max_day or 0)
    window = [r for r in state.recent if int(r["day"]) >= first_day]
    evidence = sorted(window, key=evidence_order)[:evidence_max]
    # every incident of the window, not only the recent ones the state keeps (a busy segment's 30 days
    # hold more): an incident released to one desk alone, or marked confidential, further back than
    # those, still restricts or marks the alert
    classification = max([r["classification"] for r in window] + state.classified_since(first_day),
                         key=CLASSIFICATIONS.index, default=PUBLIC)
    releasable = releasable_to_all([r["releasable_to"] for r in window] + state.restricted_since(first_day))
    # The summary and explanation quote figures the rolling views count up to F.VIEW_REACH days back
    # (a yearly high, a baseline), of incidents the window above may not hold: they go only where
    # every incident in that reach is released (alerts.access.Principal.shown withholds them elsewhere).
    figures = releasable_to_all([r["releasable_to"] for r in window]
                                + state.restricted_within_reach(state.max_day or 0))
    # The alert's history goes only where each of its transitions did: its opened_at and peak date
    # and size the earlier ones. Kept with the alert in the state; an alert of a state written before
    # it may have had steps released elsewhere, so its history is the centre's alone.
    if transition == "opened":
        history = releasable
    else:
        history = releasable_to_all([alert.get("history_releasable_to", []), releasable])
    alert["history_releasable_to"] = list(history)
    name = seg.name if seg else state.key
    explanation = None
    if transition == "resolved" and expired:
        summary = (f"resolved on {name}: {expire_after_days} days since it opened without deaths "
                   f"(its warning window has passed)")
    elif transition == "resolved":
        summary = f"resolved on {name}: score {score:.2f} below the clear line"
    else:
        explanation = explain(detector, feats, score, evidence)
        summary = f"{LEVELS[new]} on {name}: {explanation['text']}"
    return AlertEvent(
        alert_id=alert["alert_id"], transition=transition, segment_id=state.key,
        border=seg.border if seg else border_id(*countries), countries=tuple(countries),
        level=LEVELS[new], previous_level=LEVELS[old], score=round(score, 6), at=at,
        opened_at=alert["opened_at"], seq=state.seq, peak_level=LEVELS[alert["peak_level"]],
        peak_score=round(alert["peak_score"], 6), summary=summary, detector=detector_name,
        classification=classification, releasable_to=releasable,
        evidence=tuple(r["event_id"] for r in evidence),
        resolved_at=at if transition == "resolved" else None,
        explanation=explanation, figures_releasable_to=figures, history_releasable_to=history,
    )
