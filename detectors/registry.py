"""Detectors by name: what ``--detector NAME`` and the worker's ``detector`` setting accept."""

from __future__ import annotations

from typing import Callable

from detectors.base import Detector, Guarded
from detectors.change import PoissonCusum
from detectors.ensemble import Corroborated, QuietCluster, WithBaseline
from detectors.forest import IsolationForestDetector
from detectors.hazard import HazardDetector, HazardModel
from detectors.rules import (CountTail, FatalityHighRule, MaxOf, SurgeRule, count_stack, reference_stack,
                             violence_cluster, violent_tail)


def cusum() -> Guarded:
    """The Poisson CUSUM, kept from learning an escalation under way (detectors.base.Guarded)."""
    return Guarded(PoissonCusum())


def iforest() -> Guarded:
    """The isolation forest, kept from learning an escalation under way (detectors.base.Guarded)."""
    return Guarded(IsolationForestDetector())


def ensemble() -> Corroborated:
    """Deaths at a yearly high or violence on a violence-free border alarm alone; a rise in
    incidents of any kind alarms when the count model and the CUSUM agree."""
    return Corroborated(gate=(FatalityHighRule(), violent_tail()), votes=(CountTail(), cusum()))


def forest_stack() -> MaxOf:
    """The isolation forest with the fatality rule (the forest is blind for its first months)."""
    return MaxOf((iforest(), FatalityHighRule()), name="forest")


def cusum_stack() -> MaxOf:
    return MaxOf((cusum(), FatalityHighRule()), name="change")


def surge_votes() -> WithBaseline:
    """A rise the count model and the CUSUM agree on, on a segment busy enough to have a baseline."""
    return WithBaseline(Corroborated(gate=(), votes=(CountTail(), cusum()), name="surge_votes"))


def hazard_stack(model: HazardModel) -> MaxOf:
    """The deadly clash itself (fatality rule), the chance of one within 60 days (hazard model on the
    precursors), a surge far above a busy segment's own normal, a cluster of violence where
    violence is rare (a warning, deaths or not) and a cluster of any incidents where incidents are
    rare (a watch)."""
    return MaxOf((FatalityHighRule(), HazardDetector(model), surge_votes(), violence_cluster(), QuietCluster()),
                 name="hazard")


#: Detectors made from a trained model (``borderwatch train``); the rest need nothing.
MODEL_DETECTORS: dict[str, Callable[[HazardModel], Detector]] = {
    "clash_hazard": HazardDetector,
    "hazard": hazard_stack,
}

DETECTORS: dict[str, Callable[[], Detector]] = {
    "reference": reference_stack,
    "surge": SurgeRule,
    "fatality_high": FatalityHighRule,
    "count_tail": CountTail,
    "count": count_stack,
    "violent_tail": violent_tail,
    "cusum": cusum,
    "change": cusum_stack,
    "iforest": iforest,
    "forest": forest_stack,
    "ensemble": ensemble,
    "surge_votes": surge_votes,
}


#: The worker's stack unless ``--detector`` says otherwise (docs/DETECTION.md, "Where the detectors stand").
DEFAULT_DETECTOR = "hazard"


def detector_names() -> list[str]:
    return sorted([*DETECTORS, *MODEL_DETECTORS])


def make_detector(name: str, model: HazardModel | None = None) -> Detector:
    """The detector called ``name``; the ones in MODEL_DETECTORS are built on ``model``."""
    if name in MODEL_DETECTORS:
        if model is None:
            raise ValueError(f"detector {name!r} needs a trained model")
        return MODEL_DETECTORS[name](model)
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(detector_names())}") from None
