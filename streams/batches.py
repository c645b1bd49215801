"""Taking a Faust stream's events in batches whose window starts at the first event.

Faust's ``Stream.take_events(max_, within)`` waits ``within`` from its last wake-up, events or not:
an agent with nothing to take wakes every window (300 times a second for three agents at 10 ms,
8 % of a core on an idle worker), and an event that comes just after a wake-up waits the whole
window. :func:`take_batches` sleeps until an event comes and then waits at most ``within`` for
the batch to fill, so an idle agent does not wake at all and no event waits longer than the
window.

Everything else is ``take_events``'s, on purpose, but for one thing: the events are acknowledged
only after the caller has handled the batch, as the generator resumes. ``take_events`` also
acknowledges them when the generator is closed with the batch in hand (a stop), and the consumer's
commit on its way out then skips a batch that was never handled; here they stay unacknowledged and
are read again. Never more than ``max_`` are taken at a time, and the generator is tracked by the
stream so that stopping the stream closes it (faust-streaming 0.15.3, ``faust/streams.py``).
``tests/unit/test_batches.py`` holds it to that, and the chaos and integration suites
(``tests/chaos``, ``tests/integration``) run the worker over it.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, Sequence

from mode.utils.futures import notify


class Batch(list):
    """One batch of events, in order. The caller may :meth:`leave` some of them unhandled: those are
    not acknowledged with the rest, so no commit passes them (they must come again, by a seek)."""

    def __init__(self, events: Sequence[Any]) -> None:
        super().__init__(events)
        self._left: set[int] = set()

    def leave(self, event: Any) -> None:
        self._left.add(id(event))

    def handled(self) -> list[Any]:
        return [event for event in self if id(event) not in self._left]


class Turns:
    """Gives the event loop a turn once every ``every`` units of work: a batch's handling can take
    seconds, and meanwhile heartbeats, the web API and the feed must run, or the group would see a
    dead member and rebalance. Work is counted in records, not in time, so where the turns fall
    depends on the input alone."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.done = 0
        self.given = 0

    async def spend(self, units: int = 1) -> None:
        self.done += units
        if self.done >= self.every:
            self.done = 0
            self.given += 1
            await asyncio.sleep(0)


def take_batches(stream: Any, max_: int, within: float) -> AsyncGenerator[Batch, None]:
    """Batches of up to ``max_`` of ``stream``'s events: each handed over once ``max_`` have come or
    ``within`` seconds after the first of them, and its events (but those the caller left)
    acknowledged once the caller asks for the next."""
    agen = _take(stream, max_, within)
    stream._active_agens.add(agen)  # Stream.on_stop closes it, as it closes take_events' generators
    return agen


async def _take(stream: Any, max_: int, within: float) -> AsyncGenerator[Batch, None]:
    events: list[Any] = []
    first_came = asyncio.Event()
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    consuming: asyncio.Future | None = None
    acks_were_enabled = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:  # the batch in hand is being handled: the next one waits
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_batches found no current event")
            events.append(event)
            first_came.set()
            if len(events) >= max_:
                buffer_full.set()
                buffer_consumed.clear()
                await stream.wait(buffer_consumed)  # never more than max_ in a batch
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    # This generator acknowledges the events itself, once the caller has handled them.
    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            if await stream.wait_for_stopped(first_came):
                break
            await stream.wait_for_stopped(buffer_full, timeout=within)
            if not events:
                continue
            consuming = stream.loop.create_future()
            handled = False
            batch = Batch(events)
            try:
                yield batch
                handled = True  # the caller asked for the next batch: this one is done
            finally:
                # Closed at the yield instead (a stop, or a crash's stop, while the batch was in
                # hand): not acknowledged, or the consumer's commit on its way out would skip a
                # batch whose state may never have been written. The next owner reads it again.
                if handled:
                    for event in batch.handled():
                        await stream.ack(event)
                events.clear()
                first_came.clear()
                notify(consuming)
                buffer_full.clear()
                buffer_consumed.set()
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_buffer)
