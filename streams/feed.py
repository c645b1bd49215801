"""Reads the alerts topic (the audit log) from the beginning into an :class:`AlertHistory`.

Every worker reads the whole log without a consumer group, so each serves the
full feed whatever partitions it processes, and a restart rebuilds the feed
from the log rather than from memory.
"""

from __future__ import annotations

import asyncio
import logging

from typing import Callable

from alerts.escalation import LEVEL_INDEX
from alerts.model import AlertAction, AlertEvent, decode_record
from alerts.state import AlertStore
from streams.arms_keys import is_arms_key
from streams.metrics import Metrics
from streams.follow import follow

log = logging.getLogger("borderwatch.feed")


class AlertFeed:
    """``history`` is an :class:`~alerts.state.AlertStore`: alerts with their acks and silences.

    ``listeners`` are called with every new record, in log order (the notify stage is one).
    """

    def __init__(self, broker_url: str, topic: str, metrics: Metrics | None = None,
                 store: AlertStore | None = None) -> None:
        self.broker_url, self.topic, self.metrics = broker_url, topic, metrics
        self.history = store if store is not None else AlertStore()
        self.subscribers: set[asyncio.Queue] = set()
        self.listeners: list[Callable[[AlertEvent | AlertAction], None]] = []
        self.ready = asyncio.Event()

    def fold(self, record: AlertEvent | AlertAction) -> None:
        if not self.history.add(record):
            return
        if self.metrics is not None and isinstance(record, AlertEvent):
            if is_arms_key(record.segment_id):
                self.metrics.arms_level.labels(record.border).set(LEVEL_INDEX[record.level])
            else:
                self.metrics.level.labels(record.segment_id, record.border).set(LEVEL_INDEX[record.level])
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:  # noqa: BLE001 -- a listener's bug must not stop the feed
                log.exception("alert listener failed on %r", record)
        for q in list(self.subscribers):
            if q.qsize() < 1000:
                q.put_nowait(record)

    async def run(self) -> None:
        async def ready(consumer, partitions) -> None:
            self.ready.set()

        await follow(self.broker_url, self.topic, self._fold_message, started=ready)

    def _fold_message(self, m) -> None:
        try:
            self.fold(decode_record(m.value))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable alert at %s/%s: %s", m.partition, m.offset, exc)
