"""The input topics read in batches by a consumer of their own, outside Faust's per-event iteration.

Faust hands an agent one event at a time through its conductor, a queue, the stream's processors
and an acknowledgement each: about a tenth of a millisecond an event, which on the live path was
more than routing the record costs (``make bench``, docs/BENCHMARKS.md). Ingest keeps no state
of its own (it routes each record and produces it to ``segment-events``), so nothing of Faust's
is needed to read its input: :class:`InputReader` is a plain aiokafka consumer group,
``<app id>-ingest``, that takes what each fetch brought as one batch. The aggregate stays a Faust
agent, with its tables and changelogs.

Delivery stays at least once, as with Faust's agents:

* a batch's offsets are committed only after the batch was delivered: the broker acknowledged
  everything it produced, and every batch read before it was delivered too. ``handle`` hands a
  batch to the producer and returns its delivery; the reader reads on meanwhile, with up to
  :data:`MAX_IN_FLIGHT` batches awaiting theirs (waiting for each batch's acknowledgement before
  the next fetch held the input's records back by a produce round trip, on a busy broker most of
  the first hop's latency: docs/BENCHMARKS.md, "Ingest reads on while its batches are delivered");
* commits go every ``commit_seconds``, when partitions are revoked (after the batch in hand
  ends and every batch in flight is delivered: a revocation waits for them) and when the reader
  stops (the same);
* a batch whose handling or delivery fails is never committed, nor any read after it:
  ``on_failure`` (the worker's supervisor exit) is called with the lock held, so the next owner
  reads them again.

Reading a record again is harmless: the aggregate drops what it has applied, by event id and by
input position (``Pipeline._first_reading``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any, Awaitable, Callable, Mapping

from streams.settings import Settings
from streams.topics import GroupMember, bootstrap, group_timing

log = logging.getLogger("borderwatch.ingest")

def ingest_group_id(app_id: str) -> str:
    """The consumer group that reads the input topics, beside the app's own (``app_id``) that reads
    ``segment-events``: whoever reads the input's committed offsets from outside asks this one."""
    return f"{app_id}-ingest"


#: How long one fetch call waits for records before the reader looks at its commit clock again.
POLL_MS = 1000
#: Input batches handed to the producer whose delivery is still awaited while the reader reads on;
#: with more, the reader waits for the oldest. At 1,000 incidents/s a fetch every ~10 ms meets a
#: produce round trip of tens to hundreds of milliseconds on the embedded broker; 4 held the reader
#: back as waiting for each batch had (docs/BENCHMARKS.md, the same section). A crash reads the
#: batches in flight again (the aggregate drops them by input position).
MAX_IN_FLIGHT = 64


class InputReader:
    """Reads ``kinds``' topics (topic name -> input kind) as a member of ``<app id>-ingest`` and
    hands each fetch's records to ``handle(records, kind)``, a kind at a time, in offset order;
    ``handle`` returns once the records are handed to the producer, with their delivery (an
    awaitable that ends once the broker has acknowledged all the batch produced)."""

    def __init__(self, settings: Settings, pace: Any, kinds: Mapping[str, str],
                 handle: Callable[[list, str], Awaitable[Awaitable[None]]],
                 on_failure: Callable[[BaseException], Awaitable[None]], *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.pace, self.kinds = settings, pace, dict(kinds)
        self.handle, self.on_failure, self.monotonic = handle, on_failure, monotonic
        self.group_id = ingest_group_id(settings.app_id)
        #: the member has joined its group (it may hold no partition: more workers than partitions)
        self.joined = False
        self._lock = asyncio.Lock()
        #: partition -> the next offset to read, of batches delivered and not yet committed
        self._handled: dict[Any, int] = {}
        #: batches handed to the producer, oldest first: (partition -> next offset, their delivery)
        self._in_flight: collections.deque[tuple[dict, asyncio.Future]] = collections.deque()
        #: the worker is stopping (:meth:`stop`): no fetch is handled any more
        self._stopping = False
        self.member = GroupMember(self._revoked, self._assigned, on_joined=self._paced, on_leaving=self._unpaced)

    async def _commit(self) -> None:
        """Commit what was handled, of the partitions this member still holds.

        A member can lose partitions without having committed them: its group rebalanced while a
        batch was in hand (the batch ends, and is forwarded, after its partitions went away), or a
        pause longer than the session timeout (a starved machine) had it taken for dead. Its
        records are in ``segment-events`` already; the partitions' next owner reads them again
        from the last commit and the aggregate drops them by input position, as after a crash.
        So a commit the group refuses is said in a warning, never a crash, and the consumer joins
        the group again at its next fetch.
        """
        from aiokafka.errors import CommitFailedError, IllegalStateError

        consumer = self.member.consumer
        if not self._handled or consumer is None:
            return
        offsets, self._handled = self._handled, {}
        held = consumer.assignment()
        mine = {tp: offset for tp, offset in offsets.items() if tp in held}
        try:
            if mine:
                await consumer.commit(mine)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("the ingest group moved on before this member committed %d input partitions (%s): "
                        "their next owner reads those records again", len(mine), type(exc).__name__)
            return
        if len(mine) < len(offsets):
            log.warning("%d input partitions went to another member before this one committed them: their "
                        "next owner reads those records again", len(offsets) - len(mine))

    def _aiokafka_consumer(self) -> Any:
        from aiokafka import AIOKafkaConsumer

        s = self.settings
        return AIOKafkaConsumer(bootstrap_servers=bootstrap(s.broker), group_id=self.group_id,
                                client_id=f"{self.group_id}-member", enable_auto_commit=False,
                                auto_offset_reset="earliest", **group_timing(s.session_timeout, s.instance_id),
                                fetch_max_wait_ms=self.pace.wait_ms, max_poll_records=s.batch_size)

    async def on_revoked(self) -> None:
        """The group takes partitions away: the batch in hand ends first and the batches in flight
        are delivered, then they are committed, so the next owner starts after them."""
        async with self._lock:
            await self._settle(keep=0)
            await self._commit()

    def on_assigned(self) -> None:
        self.joined = True

    async def _revoked(self, partitions: Any) -> None:
        await self.on_revoked()

    async def _assigned(self, partitions: Any) -> None:
        self.on_assigned()

    def _paced(self, consumer: Any) -> None:
        self.pace.follow(consumer)  # the fetch wait follows the input, as Faust's consumer's does

    async def _unpaced(self, consumer: Any) -> None:
        self.pace.forget(consumer)

    async def join(self, consumer: Any = None) -> None:
        """Start the member and ask to join the group, without reading yet.

        The join goes on in the background: the broker holds a first join for about half a session,
        so a worker that asks while Faust joins its own group and recovers its tables is ready one
        join sooner than one that asks afterwards. Nothing is read before :meth:`run`. A member that
        reads nothing for aiokafka's ``max_poll_interval_ms`` (5 minutes: a very long recovery)
        leaves the group, and joins it again at its first read.
        """
        await self.member.join(lambda: consumer if consumer is not None else self._aiokafka_consumer(),
                               list(self.kinds))

    async def broker_answers(self, timeout: float) -> bool | None:
        """Whether the broker answers a metadata request within ``timeout`` seconds; None before
        :meth:`join` (nothing to ask with). A refused connection answers at once, a broker that
        hangs (paused, cut off) by the timeout."""
        from aiokafka.errors import KafkaError

        consumer = self.member.consumer
        if consumer is None:
            return None
        try:
            await asyncio.wait_for(consumer.topics(), timeout)
        except (KafkaError, OSError, asyncio.TimeoutError):
            return False
        return True

    async def leave_if_not_run(self) -> None:
        """Leave the group if :meth:`join` ran and :meth:`run` never did (the worker stopped first);
        a reader that runs leaves on its own way out."""
        await self.member.leave_if_not_run()

    async def run(self, consumer: Any = None) -> None:
        """Read until cancelled (the worker stops) or ``on_failure`` ends the process (joining first,
        unless :meth:`join` has)."""
        self.member.running = True
        await self.join(consumer)
        consumer = self.member.consumer
        last_commit = self.monotonic()
        try:
            while True:
                try:
                    fetched = await consumer.getmany(timeout_ms=POLL_MS, max_records=self.settings.batch_size)
                except Exception as exc:  # noqa: BLE001 -- the consumer itself failed
                    await self.on_failure(exc)
                    return
                async with self._lock:
                    if self._stopping:
                        return  # fetched, not handled, not committed: the next reader reads it
                    if fetched:
                        await self._handle(fetched)
                    await self._settle(keep=MAX_IN_FLIGHT)
                    if self.monotonic() - last_commit >= self.settings.commit_seconds:
                        await self._commit()
                        last_commit = self.monotonic()
        finally:
            try:
                async with self._lock:
                    # What is delivered by now, without waiting: after :meth:`stop` nothing is in
                    # flight, and a reader cancelled without it must not hang on a broker gone.
                    await self._settle(keep=len(self._in_flight))
                    await self._commit()
            except Exception:  # noqa: BLE001 -- stopping: what is not committed is read again
                log.warning("could not commit the input offsets on the way out; they are read again",
                            exc_info=True)
            await self.member.leave()

    async def stop(self) -> None:
        """The worker is stopping: the batch in hand ends, what was handled is committed, and
        nothing fetched after is handled.

        Called before the worker's producer stops. Faust stops its services (the producer among
        them) before it cancels the app's tasks, and a reader still running meanwhile handed its
        fetches on (seen: ticks refused by the stopped producer). An input batch there would have
        its envelopes refused, and its dead letters with them, only counted and logged, and be
        committed as handled on the way out: lost to every reader.
        """
        async with self._lock:
            self._stopping = True
            await self._settle(keep=0)
            await self._commit()

    async def _handle(self, fetched: Mapping[Any, list]) -> None:
        by_kind: dict[str, list] = {}
        for tp, records in fetched.items():
            by_kind.setdefault(self.kinds[tp.topic], []).extend(records)
        deliveries = []
        try:
            for kind, records in by_kind.items():
                deliveries.append(await self.handle(records, kind))
        except Exception as exc:  # noqa: BLE001 -- the batch is not committed; the supervisor restarts us
            for delivery in deliveries:
                if asyncio.iscoroutine(delivery):
                    delivery.close()  # an earlier kind's, never to be awaited: the batch is read again
            await self.on_failure(exc)
            raise
        offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items()}
        self._in_flight.append((offsets, asyncio.ensure_future(_all(deliveries))))

    async def _settle(self, keep: int) -> None:
        """Take the delivered batches, oldest first, into what may be committed, and wait for the
        oldest while more than ``keep`` are in flight. A delivery that failed is reported as a
        batch that failed: neither it nor any batch after it is committed."""
        while self._in_flight:
            offsets, delivery = self._in_flight[0]
            if not delivery.done() and len(self._in_flight) <= keep:
                return
            try:
                await delivery
            except Exception as exc:  # noqa: BLE001 -- not committed; the supervisor restarts us
                self._in_flight.clear()  # neither this batch nor any read after it is committed
                await self.on_failure(exc)
                raise
            self._in_flight.popleft()
            self._handled.update(offsets)


async def _all(deliveries: list) -> None:
    for delivery in deliveries:
        await delivery
