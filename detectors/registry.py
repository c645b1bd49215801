"""Detectors by name: what ``--detector NAME`` and the worker's ``detector`` setting accept."""

from __future__ import annotations

from typing import Callable

from detectors.base import Detector
from detectors.rules import CountTail, FatalityHighRule, SurgeRule, count_stack, reference_stack

DETECTORS: dict[str, Callable[[], Detector]] = {
    "reference": reference_stack,
    "surge": SurgeRule,
    "fatality_high": FatalityHighRule,
    "count_tail": CountTail,
    "count": count_stack,
}


def make_detector(name: str) -> Detector:
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}") from None
