"""A pipeline's detector as each segment runs it: bound to the segment's border, and, for a
detector that learns, one instance per segment whose learned state lives in the segment's state.

A baseline shared across segments would depend on how partitions interleave, so live, replay
and backtest would disagree; a detector with nothing to learn is bound once per border and shared.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from alerts.escalation import LEVELS, EscalationPolicy
from detectors.base import (GUARD_LEVEL, bind, get_state, guards, identity, is_stateful, learn_quiet,
                            learns_quiet, set_state)
from streams import segment_features
from streams.segment_state import SegmentState


class SegmentDetectors:
    """``detector`` per segment. ``border_of(key)`` names the border pair a state key belongs to;
    ``retention_days`` bounds what is learned after a long gap, ``pressure_years`` the features'
    arms pressure."""

    def __init__(self, detector: Any, policy: EscalationPolicy, border_of: Callable[[str], str], *,
                 retention_days: int, pressure_years: int) -> None:
        # One rule keeps every learning detector from learning an escalation under way: a day at
        # the policy's warning clear line or above (detectors.base.Guarded), whatever the detector.
        for guard in guards(detector):
            guard.line = policy.clear_below[LEVELS.index(GUARD_LEVEL)]
        self.detector = detector
        #: what a segment's learned state was learned by (SegmentState.detector_id)
        self.id = identity(detector)
        self.learns = is_stateful(detector)
        #: a run of days without a bucket is learned in one call (detectors.base.learn_quiet)
        self.learns_quiet = learns_quiet(detector)
        self.border_of = border_of
        self.retention_days = retention_days
        self.pressure_years = pressure_years
        self._bound: dict[str, Any] = {}

    def of(self, state: SegmentState) -> Any:
        """The segment's detector, built on first use from what it learned (if it learns)."""
        if state.detector is not None:
            return state.detector
        if state.detector_id != self.id:
            # learned by another detector or model: rebuilt from the buckets, never read into this one
            state.model, state.learned_day, state.detector_id = None, None, self.id
        border = self.border_of(state.key)
        if not self.learns:
            det = self._bound.get(border)
            if det is None:
                det = self._bound[border] = bind(self.detector, border)
        else:
            det = copy.deepcopy(bind(self.detector, border))
            if state.model:
                set_state(det, state.model)
        state.detector = det
        return det

    def learn(self, state: SegmentState, through: int) -> None:
        """Fold every closed day up to ``through`` into the segment's detector, once each."""
        if not self.learns or not state.days:
            return
        det = self.of(state)  # first: it resets what another detector learned
        start = state.learned_day + 1 if state.learned_day is not None else min(state.days)
        # A gap longer than the retention is all empty days: learn the last stretch of it only.
        start = max(start, through - self.retention_days)
        if start > through:
            return
        days, day = state.days, start
        while day <= through:
            if self.learns_quiet and day not in days:
                end = day
                while end < through and end + 1 not in days:
                    end += 1
                learn_quiet(det, end - day + 1)
                day = end + 1
                continue
            det.learn_one(segment_features.learning_input(state, day, self.pressure_years))
            day += 1
        state.learned_day = through
        state.model = get_state(det)
