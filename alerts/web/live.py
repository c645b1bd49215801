"""The live feed: the alert events the caller may see, as server-sent events (``GET /events``).

:class:`LiveFeed` takes the feed's alert events once and fans them out to every open stream, each
filtered by its caller's principal and query; a browser that reconnects resumes from its
``Last-Event-ID``.
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

from alerts.history import AlertHistory
from alerts.web.api import EVENT_QUERY, select_alerts
from alerts.web.context import TOKEN, WebContext, principal_of

log = logging.getLogger("borderwatch.web")


class LiveFeed:
    """Fans the feed's alert events out to the SSE clients, keeping the last ``size`` for resume.

    One queue sits in the feed's ``subscribers``; each event is encoded once, with the alert as
    folded at that moment, and each client gets what its principal may see. Event ids are
    ``<boot>-<n>``: a ``Last-Event-ID`` from this run within the buffer resumes exactly; any
    other gets a ``resync`` event (reload the snapshot).
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
        if folded is not None and hasattr(h, "view"):
            folded = h.view(folded)  # with its ack and silence status
        seq = next(self._seq)
        alert = json.loads(json.dumps(folded)) if folded is not None else None
        entry = {"seq": seq, "id": f"{self.boot}-{seq}", "view": alert or event,
                 "data": json.dumps({"event": event, "alert": alert}, separators=(",", ":"))}
        self.buffer.append(entry)
        for c in list(self.clients):
            if c.qsize() >= 1000:
                # A stalled client is dropped; its browser reconnects and resumes from the buffer.
                self.clients.discard(c)
                c.put_nowait(None)
            else:
                c.put_nowait(entry)
        return entry

    def since(self, last_id: str) -> list[dict] | None:
        """Entries after ``last_id``, or None when it cannot be resumed from here."""
        boot, _, n = last_id.partition("-")
        if boot != self.boot or not n.isdigit():
            return None
        n_ = int(n)
        if self.buffer and n_ < self.buffer[0]["seq"] - 1:
            return None
        return [e for e in self.buffer if e["seq"] > n_]


async def events(ctx: WebContext, request: web.Request) -> web.StreamResponse:
    p = principal_of(request)
    q = {k: v for k, v in request.query.items()}
    select_alerts([], q, EVENT_QUERY)  # validates the filters before the stream opens
    live = ctx.live
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})
    client: asyncio.Queue = asyncio.Queue()
    live.clients.add(client)  # before the headers go out: nothing published after "open" is missed
    tok = request[TOKEN]

    def wanted(entry: dict) -> bool:
        v = entry["view"]
        return p.sees(v) and bool(select_alerts([v], dict(q, status="all"), EVENT_QUERY | {"status"}))

    async def send(entry: dict) -> None:
        await resp.write(f"id: {entry['id']}\nevent: alert\ndata: {entry['data']}\n\n".encode())

    try:
        await resp.prepare(request)
        await resp.write(b"retry: 3000\n: connected\n\n")
        last = request.headers.get("Last-Event-ID")
        if last:
            backlog = live.since(last)
            if backlog is None:
                await resp.write(f"id: {live.boot}-{live.buffer[-1]['seq'] if live.buffer else 0}\n"
                                 f"event: resync\ndata: {{}}\n\n".encode())
            else:
                for entry in backlog:
                    if wanted(entry):
                        await send(entry)
        while True:
            try:
                entry = await asyncio.wait_for(client.get(), ctx.heartbeat)
            except asyncio.TimeoutError:
                if ctx.auth.authenticate(tok) is None:  # revoked or expired while watching
                    break
                await resp.write(b": heartbeat\n\n")
                continue
            if entry is None:
                break
            if wanted(entry):
                await send(entry)
    except ConnectionResetError:
        pass
    finally:
        live.clients.discard(client)
    return resp
