"""A segment's evidence for notices and the segment page, whichever worker owns the segment.

The ``aggregate`` agent owns a segment's state in its partition of the table; the notifier
may run on another worker. So with every alert transition the agent also publishes the
segment's :class:`~alerts.notify.notices.SegmentContext` (recent incidents, daily activity, the
baseline, arms pressure) to ``<prefix>.segment-context``, keyed by segment id, and every
worker keeps the latest per segment (:class:`SegmentContexts`). A notice is rendered after
``group_wait``, by then the snapshot of the transition that opened its group has come.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from alerts.notify.notices import SegmentContext
from streams.follow import follow

log = logging.getLogger("borderwatch.evidence")


def context_snapshot(state: Any, pair_state: Any = None) -> bytes:
    """A ``SegmentState``'s context as the topic carries it; ``pair_state`` its border pair's state,
    whose arms deliveries it shows (as ``SegmentContext.from_state``). Keys sorted: a state held in
    memory and the same state decoded from the table give the same bytes."""
    return json.dumps(SegmentContext.from_state(state, pair_state).to_dict(), separators=(",", ":"),
                      sort_keys=True).encode()


class SegmentContexts:
    """The latest context per segment. ``names(segment_id)`` gives ``(name, place, place_ru)``
    from the segment registry (names are not carried in the topic)."""

    def __init__(self, broker_url: str, topic: str,
                 names: Callable[[str], tuple[str, str, str]] = lambda _: ("", "", "")) -> None:
        self.broker_url, self.topic, self.names = broker_url, topic, names
        self._latest: dict[str, bytes] = {}

    def fold(self, key: bytes | None, value: bytes | None) -> None:
        if key and value:
            self._latest[key.decode(errors="replace")] = value

    def get(self, segment_id: str) -> SegmentContext | None:
        raw = self._latest.get(segment_id)
        if raw is None:
            return None
        try:
            name, place, place_ru = self.names(segment_id)
            return SegmentContext.from_dict(json.loads(raw), name=name, place=place, place_ru=place_ru)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable context of segment %s: %s", segment_id, exc)
            return None

    async def run(self) -> None:
        await follow(self.broker_url, self.topic, lambda m: self.fold(m.key, m.value))
