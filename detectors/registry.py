"""Detectors by name: what ``--detector NAME`` and the worker's ``detector`` setting accept."""

from __future__ import annotations

from typing import Callable

from detectors.base import Detector
from detectors.change import PoissonCusum
from detectors.ensemble import Corroborated
from detectors.forest import IsolationForestDetector
from detectors.rules import (CountTail, FatalityHighRule, MaxOf, SurgeRule, count_stack, reference_stack,
                             violent_tail)


def ensemble() -> Corroborated:
    """Deaths at a yearly high or violence on a violence-free border alarm alone; a rise in
    incidents of any kind alarms when the count model and the CUSUM agree."""
    return Corroborated(gate=(FatalityHighRule(), violent_tail()), votes=(CountTail(), PoissonCusum()))


def forest_stack() -> MaxOf:
    """The isolation forest with the fatality rule (the forest is blind for its first months)."""
    return MaxOf((IsolationForestDetector(), FatalityHighRule()), name="forest")


def cusum_stack() -> MaxOf:
    return MaxOf((PoissonCusum(), FatalityHighRule()), name="change")


DETECTORS: dict[str, Callable[[], Detector]] = {
    "reference": reference_stack,
    "surge": SurgeRule,
    "fatality_high": FatalityHighRule,
    "count_tail": CountTail,
    "count": count_stack,
    "violent_tail": violent_tail,
    "cusum": PoissonCusum,
    "change": cusum_stack,
    "iforest": IsolationForestDetector,
    "forest": forest_stack,
    "ensemble": ensemble,
}


#: The worker's stack unless ``--detector`` says otherwise: the best on the labelled history
#: (docs/DETECTION.md, "Where the detectors stand").
DEFAULT_DETECTOR = "ensemble"


def make_detector(name: str) -> Detector:
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}") from None
