"""What an alert says about itself: the explanation it carries and who may read it.

The explanation (:func:`explain`) sets each rolling view against its baseline, adds the
detector's own view and forecast and the incidents that weighed most; the releasability of a
group of incidents (:func:`releasable_to_all`) is where every one of them may go.
"""

from __future__ import annotations

from typing import Any

from detectors.base import deviations, forecast
from detectors import features as F
from streams.records import RELEASABLE_ALL

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


def releasable_to_all(lists: list[list[str]]) -> tuple[str, ...]:
    """A group of incidents is releasable only where every one of them is."""
    allowed: set[str] | None = None
    for rel in lists:
        if RELEASABLE_ALL in rel:
            continue
        allowed = set(rel) if allowed is None else allowed & set(rel)
    return (RELEASABLE_ALL,) if allowed is None else tuple(sorted(allowed))
