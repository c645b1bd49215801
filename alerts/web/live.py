"""The live feed behind ``GET /events``: :class:`LiveFeed` takes the feed's alert events once and
fans them out to every open stream, keeping the latest for a browser that reconnects with its
``Last-Event-ID``. The stream itself, filtered by its caller's principal and query, is
:func:`alerts.web.api.events`; a :class:`~alerts.web.context.WebContext` carries the feed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
from collections import deque
from typing import Any, Callable

from aiohttp import web

from alerts.access import Principal
from alerts.history import AlertHistory

log = logging.getLogger("borderwatch.web")


class LiveFeed:
    """Fans the feed's alert events out to the SSE clients, keeping the last ``size`` for resume.

    One queue sits in the feed's ``subscribers``; each event is encoded once, with the alert as
    folded at that moment (all but its transitions), and each client gets what its principal may
    see. Event ids are ``<boot>-<n>``: a ``Last-Event-ID`` from this run within the buffer resumes
    exactly; any other gets a ``resync`` event (reload the snapshot).
    """

    def __init__(self, source: set, history: Callable[[], AlertHistory], size: int = 1000) -> None:
        self.source, self.history = source, history
        self.boot = secrets.token_hex(4)
        self.buffer: deque[dict] = deque(maxlen=size)
        self.clients: set[asyncio.Queue] = set()
        self._seq = itertools.count(1)
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    async def start(self, app: web.Application | None = None) -> None:
        self._queue = asyncio.Queue()
        self.source.add(self._queue)
        self._task = asyncio.create_task(self._pump())

    async def stop(self, app: web.Application | None = None) -> None:
        if self._queue is not None:
            self.source.discard(self._queue)
        if self._task is not None:
            self._task.cancel()
        for c in list(self.clients):
            c.put_nowait(None)  # ends each open stream, so shutdown does not wait on them

    async def _pump(self) -> None:
        assert self._queue is not None
        while True:
            ev = await self._queue.get()
            try:
                self.publish(ev)
            except Exception:  # noqa: BLE001 -- one odd event must not stop the stream
                log.exception("could not publish an alert event to the live feed")

    def publish(self, ev: Any) -> dict:
        event = ev.to_dict() if hasattr(ev, "to_dict") else dict(ev)
        h = self.history()
        folded = h.alerts.get(event.get("alert_id", ""))
        if folded is not None:
            # a copy, with its ack and silence status where the history keeps them
            folded = h.view(folded) if hasattr(h, "view") else dict(folded)
            # Without its transitions: the event is the newest, GET /alerts/{id} has them all. An
            # alert open for months gathers hundreds, and encoding them all for every event made
            # a quarter of a busy worker's time (docs/BENCHMARKS.md).
            folded.pop("transitions", None)
        seq = next(self._seq)
        # The alert is encoded once: its text goes into the data as is, and read back it is the copy
        # the entry keeps (the folded alert changes later). One encoding less of the larger half:
        # this runs on the worker's event loop for every transition, clients or none.
        alert_json = json.dumps(folded, separators=(",", ":"))
        alert = json.loads(alert_json) if folded is not None else None
        data = '{"event":' + json.dumps(event, separators=(",", ":")) + ',"alert":' + alert_json + "}"
        entry = {"seq": seq, "id": f"{self.boot}-{seq}", "view": alert or event, "data": data,
                 "event": event, "alert": alert}
        self.buffer.append(entry)
        for c in list(self.clients):
            if c.qsize() >= 1000:
                # A stalled client is dropped; its browser reconnects and resumes from the buffer.
                self.clients.discard(c)
                c.put_nowait(None)
            else:
                c.put_nowait(entry)
        return entry

    @staticmethod
    def data_for(entry: dict, p: Principal) -> str:
        """An entry's data as ``p`` may read it (``Principal.shown``): the encoding shared by every
        client when nothing in it is withheld from ``p``, else its own."""
        event, alert = p.shown(entry["event"]), entry["alert"] and p.shown(entry["alert"])
        if event is entry["event"] and alert is entry["alert"]:
            return entry["data"]
        return json.dumps({"event": event, "alert": alert}, separators=(",", ":"))

    def since(self, last_id: str) -> list[dict] | None:
        """Entries after ``last_id``, or None when it cannot be resumed from here."""
        boot, _, n = last_id.partition("-")
        if boot != self.boot or not n.isdigit():
            return None
        n_ = int(n)
        if self.buffer and n_ < self.buffer[0]["seq"] - 1:
            return None
        return [e for e in self.buffer if e["seq"] > n_]
