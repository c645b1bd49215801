"""The live driver: a Faust app whose agents only move bytes and state.

Topics (all JSON):

* ``borderwatch.incidents`` / ``borderwatch.arms-transfers``: input, any key.
* ``borderwatch.segment-events``: internal, keyed by segment id (transfers by
  border pair). The ``ingest`` agents validate input and repartition it here,
  so everything about one segment is in one partition, in order.
* ``borderwatch.alerts``: alert transitions keyed by segment id -- the audit log.
* ``borderwatch.dead-letter``: invalid or late input with the reason and the
  original bytes.

State: table ``segments`` (changelog ``borderwatch-segments-changelog``) holds
one :class:`~streams.segment_state.SegmentState` per key. The ``aggregate`` agent
takes events in batches and writes each touched key once per batch, to the
changelog partition of the key's input, and waits for the broker to take every
changelog record before the batch ends (:class:`TouchedStates`): only then are
the batch's events acknowledged, so an offset commit never runs ahead of state.
A rebalance waits for the batch in hand, and no batch runs while a rebalance
restores state from the changelog (:class:`RebalanceGate`).

Failures: one bad message costs one dead letter, never the stream (every record and every
message produced is handled on its own). Anything else an agent raises is a failure of the
worker: /health answers 503 with the reason for FAILING_SECONDS, then the process exits with
EXIT_AGENT_FAILED and the batch in hand unacknowledged, for its supervisor to restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable

import faust
from mode import Service

from alerts.timefmt import iso
from streams import consumer_seek, group_leave, log_end
from streams.arms_keys import arms_pending
from streams.batches import Turns, take_batches
from streams.errors import InvalidEvent, WorkerStalled, bounded
from streams.evidence import context_snapshot
from streams.ingest import InputReader
from streams.library_patches import unpatched
from streams.metrics import Metrics
from streams.pipeline import Applied, Pipeline
from streams.segment_state import SegmentState
from streams.records import DeadLetter, decode_json
from streams.settings import Settings
from streams.topics import (INPUT_OF_KIND, KIND_INCIDENTS, KIND_TRANSFERS, Envelope, Topics, bootstrap, encode_within,
                            pack)
from streams.watermarks import PartitionIdleness
from streams.windows import day_of

log = logging.getLogger(__name__)

#: Key of tick records in the input topics and segment-events. Input with this key is a tick, not an event.
TICK_KEY = "__tick__"
TICK_KEY_BYTES = TICK_KEY.encode()
#: The aggregate agent gives the event loop a turn every this many records of a batch (tens of
#: milliseconds of work): counted in records, since one envelope can hold a busy key's whole batch.
YIELD_EVERY = 100
#: Decoded segment states the aggregate keeps between batches (the most recently written): a state
#: decoded afresh rebuilds its rolling sums and its detector on first use, which costs many times
#: the batch's own work on the key. A decoded state takes tens of times the memory of its encoded
#: bytes (the table's), hence the bound.
DECODED_KEEP = 256
#: Exit status when an agent failed (sysexits' EX_SOFTWARE): the supervisor should restart us.
EXIT_AGENT_FAILED = 70
#: The exit status of a worker that did not stop within ``stop_seconds`` of SIGTERM or SIGINT and
#: left as kill -9 would (EX_TEMPFAIL: the stop was asked for, its clean part did not finish).
EXIT_STOP_TIMEOUT = 75
#: What a stopping worker gives the event loop once everything has stopped (mode's default: 1 s).
LAST_TURNS_SECONDS = 0.1
#: A segment-events partition whose next record does not come this long after the aggregate sought
#: back to it is taken to have a hole in its log (DeliveryOrder).
HOLE_WAIT_SECONDS = 60.0
#: After an agent fails, /health answers 503 with the reason this long before the process exits.
FAILING_SECONDS = 5.0


class AppHooks(Service):
    """Two callables of the worker's own: ``start`` (if any) as the app starts, before any of
    Faust's own services (a dependency added before the app starts is started first), ``stop`` as
    it stops, after them."""

    def __init__(self, start: Callable[[], Awaitable[None]] | None, stop: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self._start, self._stop = start, stop

    async def on_start(self) -> None:
        if self._start is not None:
            await self._start()

    async def on_stop(self) -> None:
        await self._stop()


def join_early(app: faust.App, join: Callable[[], Awaitable[None]], leave: Callable[[], Awaitable[None]]) -> None:
    """Join a consumer group of the worker's own as the app starts, beside Faust's own group;
    ``leave`` lets the group go if the app stops before the task that reads it took it over.

    The broker holds a member's first join for about half a session (the embedded one: 3 s at a
    6 s session). Asked from an ``app.task``, which Faust starts only after its own join and the
    tables' recovery, the ingest and notifier groups added a whole join to every start and restart;
    asked here, the two waits overlap. ``join`` only asks (nothing is read before the task runs).
    """
    app.add_dependency(AppHooks(join, leave))


def close_last(app: faust.App, close: Callable[[], Awaitable[None]]) -> None:
    """Run ``close`` as the app stops, after Faust's own services (the worker's web server: /health
    answers through a stop, and the server's open streams end before the process does)."""
    app.add_dependency(AppHooks(None, close))


class StopDeadline:
    """A stop asked for by a signal ends within ``seconds``, cleanly or not.

    A clean stop commits, leaves the groups and flushes the producer, which all wait on the
    broker: with the broker gone they would wait for ever, and the process would outlive every
    supervisor's patience. Past the deadline the process exits at once (``EXIT_STOP_TIMEOUT``), as
    kill -9 would, which loses nothing: what was not committed is read again on the next start
    (docs/RELIABILITY.md). The timer is a thread: the event loop may be the one that is stuck.
    """

    def __init__(self, seconds: float, exit=os._exit) -> None:
        self.seconds, self._exit = seconds, exit
        self._timer: threading.Timer | None = None

    def start(self, why: str) -> None:
        """Start the countdown (once; a second signal does not reset it)."""
        if self._timer is not None:
            return
        self._timer = threading.Timer(self.seconds, self._give_up, args=(why,))
        self._timer.daemon = True  # a stop that finishes ends the process, countdown and all
        self._timer.start()

    def _give_up(self, why: str) -> None:
        log.critical("the worker did not stop within %g s of %s (the broker may not be answering); exiting now "
                     "with status %d: what it had not committed is read again at its next start",
                     self.seconds, why, EXIT_STOP_TIMEOUT)
        sys.stdout.flush()
        sys.stderr.flush()
        self._exit(EXIT_STOP_TIMEOUT)


def bounded_stop_worker(worker_class: type, seconds: float) -> type:
    """``worker_class`` (Faust's Worker) whose stop on SIGTERM or SIGINT ends within ``seconds``."""

    class BoundedStopWorker(worker_class):
        deadline = StopDeadline(seconds)

        def _schedule_shutdown(self, signal) -> None:  # mode's one path from SIGTERM and SIGINT to stop
            self.deadline.start(getattr(signal, "name", str(signal)))
            super()._schedule_shutdown(signal)

        async def _sentinel_task(self) -> None:
            # mode gives the loop a last whole second once every service has stopped and every task
            # left has been cancelled: a few turns are what the transports closed last need.
            await asyncio.sleep(LAST_TURNS_SECONDS)

    return BoundedStopWorker


class AgentFailure:
    """The first agent failure of this process (None while every agent runs); /health reports it."""

    def __init__(self) -> None:
        self.reason: str | None = None


#: How often the stall watch looks (seconds; more often under a shorter stall_seconds): a stall is
#: reported at most this late.
STALL_CHECK_SECONDS = 5.0


def settled(app: Any) -> bool:
    """No rebalance under way, table state recovered, the ingest group joined: the worker gets on
    with whatever partitions it holds (maybe none, with more workers than partitions)."""
    try:
        return not app.rebalancing and app.tables.recovery.completed.is_set() and app.ingest.joined
    except Exception:  # noqa: BLE001 -- before start-up the consumer does not exist yet
        return False


def processing(app: Any) -> bool:
    """Whether the worker processes input: settled, with partitions assigned. /health calls this ready."""
    return settled(app) and bool(app.consumer.assignment())  # settled: the consumer exists


def progress(app: Any) -> tuple:
    """What moves while Faust gets on with a rebalance and its table recovery: the rebalances begun,
    the changelog offsets recovered, the partitions held, the ingest group's join. Compared, never read."""
    try:
        recovery = app.tables.recovery
        return (app.rebalancing, app.rebalancing_count, recovery.in_recovery, recovery.completed.is_set(),
                sorted(recovery.active_offsets.items()), sorted(app.consumer.assignment()), app.ingest.joined)
    except Exception:  # noqa: BLE001 -- before start-up the consumer does not exist yet
        return ("starting",)


class StallWatch:
    """A worker that stopped getting anywhere is a failed worker.

    Faust users report rebalances that hang, and here one table recovery waited for ever on
    changelog records its fetcher never delivered (docs/RELIABILITY.md, "A worker that gets nowhere exits"). Such a
    worker stays up and processes nothing: /health says it is not ready, and nothing restarts it.
    So when it has not been :func:`settled` for ``stall_s`` seconds and nothing :func:`progress`
    shows has moved meanwhile, it fails as an agent does: /health 503 with the reason, then exit
    status EXIT_AGENT_FAILED for the supervisor to restart it, which starts the rebalance and
    recovery afresh. A slow recovery moves its offsets, a slow rebalance its count, so neither trips
    it; a settled worker that holds no partition (more workers than partitions) is idle, not stalled.
    """

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._since: float | None = None
        self._progress: tuple | None = None

    def observe(self, now: float, is_settled: bool, progress_now: tuple) -> float | None:
        """The seconds stalled once they reach ``stall_s``, else None. ``now`` is monotonic."""
        if is_settled:
            self._since = self._progress = None
            return None
        if self._since is None or progress_now != self._progress:
            self._since, self._progress = now, progress_now
            return None
        stalled = now - self._since
        return stalled if stalled >= self.stall_s else None


class BrokerContact:
    """Whether the broker still answers this worker.

    A worker cut off from its broker keeps its partitions (no coordinator is left to take them
    away), so it looks settled and ready while it reads no input and sends no alert, and its
    clients retry for ever. So the worker asks the broker for metadata now and then
    (:meth:`InputReader.broker_answers`); once no answer has come for ``lost_after`` seconds it is
    cut off until the next answer: /health says not ready, with the reason. Nothing restarts it;
    a restart would not bring the broker back.
    """

    def __init__(self, lost_after: float, utc=time.time) -> None:
        self.lost_after, self.utc = lost_after, utc
        self._since: float | None = None  # monotonic time of the first unanswered probe since an answer
        self._since_utc = 0.0
        self.reason: str | None = None

    def observe(self, now: float, answered: bool | None) -> str | None:
        """Record a probe's outcome (``None``: none could be made); the reason the worker is cut off,
        or None. ``now`` is monotonic."""
        if answered:
            self._since = self.reason = None
        elif answered is False:
            if self._since is None:
                self._since, self._since_utc = now, self.utc()
            silent = now - self._since
            if silent >= self.lost_after:
                since = iso(datetime.fromtimestamp(self._since_utc, timezone.utc))
                self.reason = (f"the broker has not answered for {silent:.0f} s (since {since}): no input is "
                               "read and no alert is sent until it does")
        return self.reason


def tick_time(raw: bytes | None) -> str:
    """The wall-clock time a tick carries (as produced by the tick timer); InvalidEvent ``bad_tick``
    for any other message with the tick key, which would otherwise stop the watermarks' arithmetic."""
    try:
        data = decode_json(raw or b"")
    except InvalidEvent as exc:
        raise InvalidEvent(f"a tick must be an envelope: {exc.reason}", code="bad_tick") from None
    at = data.get("at") if isinstance(data, dict) and data.get("kind") == "tick" else None
    try:
        if isinstance(at, str) and math.isfinite(float(at)):
            return at
    except ValueError:
        pass
    raise InvalidEvent(f"a message keyed {TICK_KEY} must be a tick envelope with a time, got {data!r}", "at",
                       code="bad_tick")


class FetchPace:
    """How long the broker may hold a fetch of the worker's consumer while nothing new is there.

    Faust builds its consumer with ``fetch_max_wait_ms=1500`` and no setting to change it. The
    embedded broker (tansu) holds a fetch for most of that wait even when records arrive in the
    meantime, so each of the live path's two Kafka hops (input, ``segment-events``) added up to
    1.5 s to the time from an incident to its alert (``bench.latency``). A short wait costs an idle
    worker a fetch every few milliseconds, though. So the wait follows the input: ``busy_s`` at
    start and whenever input comes, ``idle_s`` once no input has come for the idle time (the tick
    timer looks). aiokafka's fetcher reads the wait afresh for every fetch it sends.
    """

    def __init__(self, busy_s: float, idle_s: float) -> None:
        self.busy_ms, self.idle_ms = max(1, int(busy_s * 1000)), max(1, int(idle_s * 1000))
        self.consumers: list = []
        #: busy until the tick timer finds no input: while Faust recovers its tables at start a long
        #: fetch in flight holds the recovery's offset requests on the same connection behind it
        #: (about a second of every start), and a restarted worker usually has input waiting
        self.wait_ms = self.busy_ms
        self.last_input: float | None = None

    def install(self) -> None:
        """Faust's consumers are built with this pace's wait and follow it (set before each starts)."""
        from faust.transport.drivers import aiokafka as driver

        create = unpatched(driver.AIOKafkaConsumerThread, "_create_worker_consumer")
        pace = self

        @functools.wraps(create)
        def create_paced(thread, transport):
            consumer = create(thread, transport)
            pace.follow(consumer)
            return consumer

        driver.AIOKafkaConsumerThread._create_worker_consumer = create_paced

    def follow(self, consumer) -> None:
        """``consumer``'s fetch wait is this pace's from now on, whether it has started or not."""
        self._wait(consumer, self.wait_ms)
        self.consumers.append(consumer)

    def forget(self, consumer) -> None:
        """A consumer that stopped: the pace no longer sets its wait."""
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def on_input(self, now: float) -> None:
        self.last_input = now
        self._set(self.busy_ms)

    def on_tick(self, now: float, idle_after: float) -> None:
        if self.last_input is None or now - self.last_input >= idle_after:
            self._set(self.idle_ms)

    def _set(self, ms: int) -> None:
        if ms == self.wait_ms:
            return
        self.wait_ms = ms
        for consumer in self.consumers:
            self._wait(consumer, ms)

    @staticmethod
    def _wait(consumer, ms: int) -> None:
        consumer._fetch_max_wait_ms = ms  # read when the fetcher is made (at start)
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = ms  # read by the running fetcher for each fetch request


def build_app(settings: Settings, pipeline: Pipeline, metrics: Metrics, *, clock=time.time) -> faust.App:
    """Build the Faust app. ``clock`` is wall time, used only for ticks, idleness and latency."""
    pace = FetchPace(settings.fetch_wait_seconds, settings.fetch_wait_idle_seconds)
    pace.install()
    log_end.install(bootstrap(settings.broker))  # table recovery reads changelogs to their true ends
    group_leave.install()  # a stopping member leaves its groups in their first generation too
    consumer_seek.install()  # a seek back (in_order) on the consumer's thread, not beside its fetch
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store="memory://",  # state is restored from the changelog topic on start
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        web_enabled=False,  # Faust's pages have no auth; alerts.web serves the API (see streams.worker)
        datadir=settings.data_dir,
        broker_session_timeout=settings.session_timeout,
        broker_rebalance_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 4),
        consumer_group_instance_id=settings.instance_id or None,  # the aggregate's group knows the worker again
        broker_commit_interval=settings.commit_seconds,
        stream_wait_empty=False,
        # Faust's check compares the offset a table's store last took (our own changelog writes, see
        # TouchedStates) with the changelog's high-water mark as the consumer last saw it, which can
        # be older after a rebalance: a worker taking a partition back then crashed on a store that
        # was merely ahead (seen in the two-workers chaos test). A memory store has nothing persisted
        # to be inconsistent with; recovery reads on from the store's offset either way.
        recovery_consistency_check=False,
        # No linger: an alert crosses three produce steps in turn (segment-events, the changelog,
        # the alerts topic), and 5 ms at each was a fifth of the latency at a desk's rates
        # (docs/BENCHMARKS.md, Latency); a busy worker's batches fill requests without it.
        producer_linger=0.0,
    )
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
               partitions=settings.partitions)
    names = Topics(settings.topic_prefix)
    incidents = app.topic(names.incidents, **raw)
    transfers = app.topic(names.transfers, **raw)
    dead_letter = app.topic(names.dead_letter, **raw)
    alerts = app.topic(names.alerts, **raw)
    segment_context = app.topic(names.segment_context, **raw)
    segment_events = app.topic(names.segment_events, key_type=str, value_type=bytes, key_serializer="raw",
                               value_serializer="raw", partitions=settings.partitions)
    # Table keys and values use the app's default "raw" codec (bytes); state is our own JSON.
    table = app.Table("segments", default=None, key_type=str, value_type=bytes, partitions=settings.partitions)
    #: partition (as text) -> its idle clock (PartitionIdleness.snapshot), written with the batch's states
    #: to the same changelog partition, so it survives a restart or a move to another worker
    clocks = app.Table("idleness", default=None, key_type=str, value_type=bytes, partitions=settings.partitions)
    inputs = (names.incidents, names.transfers)
    idleness = PartitionIdleness({f"{t}/{p}" for t in inputs for p in range(settings.partitions)},
                                 settings.idle_seconds)

    failure = AgentFailure()

    gate = RebalanceGate()
    order = DeliveryOrder()
    #: partition -> the offset the aggregate last sought it back to (DeliveryOrder)
    sought_back: dict[int, int] = {}

    def forget_gaps(partitions) -> None:
        """Faust's record of jumps in fetched offsets, counted as acknowledged at its next commit
        (DeliveryOrder): on segment-events a jump is records to read again, never a gap."""
        gaps = getattr(app.consumer, "_gap", None)
        for tp in partitions if gaps is not None else ():
            gaps.pop(tp, None)
    decoded = DecodedStates()
    written = WrittenStates()
    #: partition -> the day its open alerts were last advanced to while idle. Until new input
    #: reaches the partition (or a rebalance), a scan to the same day would find nothing to do.
    advanced: dict[int, int] = {}

    @app.on_partitions_revoked.connect
    async def hold_batches_on_revoke(sender, revoked, **kwargs) -> None:
        await gate.close(revoked)  # the batch in hand finishes (its state acknowledged) before Faust goes on
        # Any partition may come back having moved on elsewhere: what this worker remembers of it is
        # stale. No batch (so no tick) runs until the rebalance is complete; the first batch then
        # takes up every owned partition's clock from the table (take_up_clocks).
        idleness.forget()
        advanced.clear()
        decoded.clear()  # whatever comes back is read from the restored table

    @app.on_rebalance_complete.connect
    async def release_batches_when_restored(sender, **kwargs) -> None:
        assigned = app.consumer.assignment()
        held = {tp for tp in assigned if tp.topic == segment_events.get_topic_name()}
        forget_gaps(held)
        try:
            starts = await start_positions(app.consumer, held)
        except Exception:  # noqa: BLE001 -- the rebalance goes on; order is then checked from the first record seen
            log.exception("could not read the committed offsets of segment-events after a rebalance: a partition "
                          "kept with none goes on from where it was fetched to")
            order.start({})
        else:
            order.start({tp.partition: offset for tp, offset in starts.items()})
            if fresh := sorted(tp.partition for tp, offset in starts.items() if offset == 0):
                log.info("segment-events partitions %s have no committed offset: read from their first record",
                         ", ".join(map(str, fresh)))
        sought_back.clear()
        written.keep_only(tp.partition for tp in held)
        gate.open(assigned)

    async def produce(topic, value: bytes, key: Any = None, partition: int | None = None):
        """Hand one message to the producer: its delivery future, or the error if it was refused at
        once (too large, producer failed). An agent never raises over one message."""
        try:
            return await topic.send(key=key, value=value, partition=partition)
        except Exception as exc:  # noqa: BLE001 -- per message, whatever the producer raised
            return exc

    async def failures(sent: list, suffix: str) -> list[BaseException | None]:
        """Wait for the broker: for each message, None once acknowledged, else its error (counted)."""
        async def outcome(handed):
            if isinstance(handed, BaseException):
                return handed
            try:
                await handed
                return None
            except Exception as exc:  # noqa: BLE001
                return exc

        errors = await asyncio.gather(*(outcome(h) for h in sent))
        for err in errors:
            if err is not None:
                metrics.produce_failures.labels(suffix).inc()
                log.error("could not produce to %s: %r", suffix, err)
        return errors

    async def send_dead_letter(dl: DeadLetter):
        metrics.dead_letters.labels(dl.code).inc()
        return await produce(dead_letter, dl.to_json())

    async def ingest_batch(records: list, kind: str) -> Awaitable[None]:
        """``records``: the input's ConsumerRecords (topic, partition, offset, key, value), in order.
        Returns once the batch is handed to the producer, with its delivery: awaited (by the input
        reader, which reads on meanwhile), it ends once the broker has acknowledged all of it, what
        did not reach ``segment-events`` dead-lettered."""
        now = clock()
        routed, ticks, dead = [], {}, []
        read_input = False
        for msg in records:
            raw = msg.value if msg.value is not None else b""  # a null value (tombstone) is empty
            if msg.key == TICK_KEY_BYTES:
                try:
                    ticks[f"{msg.topic}/{msg.partition}"] = tick_time(raw)
                except InvalidEvent as exc:
                    dead.append(await send_dead_letter(DeadLetter(kind, str(exc), exc.code, exc.field, raw,
                                                                  partition=msg.partition, offset=msg.offset)))
                continue
            metrics.events.labels(kind).inc()
            read_input = True
            try:
                envs, dl = pipeline.route(kind, raw, ingested_at=now, position=(msg.partition, msg.offset))
            except Exception as exc:  # noqa: BLE001 -- a bug in route must cost one record, not the stream
                log.exception("route failed on %s/%s@%s", msg.topic, msg.partition, msg.offset)
                envs, dl = [], DeadLetter(kind, f"internal error: {exc!r}", "internal", None, raw)
            if dl is not None:
                dead.append(await send_dead_letter(dataclasses.replace(dl, partition=msg.partition,
                                                                       offset=msg.offset)))
            routed.extend(envs)
        if read_input:
            pace.on_input(now)
        parts, sent = [], []
        for env in pack(routed):
            for part, value in encode_within(env):
                parts.append(part)
                sent.append(await produce(segment_events, value, key=part.key))
        # A tick goes on behind the input that came before it, to every partition.
        for source, at in ticks.items():
            value = Envelope("tick", TICK_KEY, at=at, source=source).encode()
            for p in range(settings.partitions):
                sent.append(await produce(segment_events, value, key=TICK_KEY, partition=p))
        return delivered(kind, parts, sent, dead)

    async def delivered(kind: str, parts: list, sent: list, dead: list) -> None:
        # Routed records that did not reach segment-events are dead-lettered one by one, as validated.
        # Spill and pressure copies are derived from an incident or a transfer: only counted.
        for part, err in zip(parts, await failures(sent, "segment-events")):
            if err is None or part.kind not in ("incident", "transfer"):
                continue
            for rec in part.records:
                dead.append(await send_dead_letter(DeadLetter(
                    kind, f"could not produce to segment-events: {err!r}", "not_produced", None,
                    json.dumps(rec, separators=(",", ":")).encode(), extra={"segment_id": part.key,
                                                                             "envelope": part.kind})))
        await failures(dead, "dead-letter")  # nowhere left to put these: counted and logged

    async def stop_for_supervisor(agent: str, exc: BaseException, reason: str | None = None) -> None:
        """Say on /health why, then exit without acknowledging the batch in hand.

        Faust 0.15 "restarts" a crashed agent in-process on the same stream: ``take_events``
        acknowledges the failed batch as its generator closes (those records are neither
        processed nor dead-lettered), and the new actor adds a second buffer to the stream
        (records handled twice). A graceful stop loses the batch the same way, since the
        consumer commits what was acknowledged when it stops. So we wait here, inside the batch,
        nothing acknowledged, then leave as SIGKILL would: the supervisor's restart reads the batch
        again from the last commit (at least once, as after any crash).
        """
        if failure.reason is None:
            failure.reason = bounded(reason or f"agent {agent} crashed: {exc!r}")
        log.critical("%s; exiting with status %d in %.0f s", failure.reason, EXIT_AGENT_FAILED, FAILING_SECONDS,
                     exc_info=exc)
        try:
            await asyncio.sleep(FAILING_SECONDS)
        finally:  # cancelled by a shutdown meanwhile: exit now, still acknowledging nothing
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_AGENT_FAILED)

    async def run_batches(stream, agent: str, handle: Callable[[list], Awaitable[None]]) -> None:
        try:
            async for events in take_batches(stream, settings.batch_size, settings.batch_seconds):
                try:
                    await handle(events)
                except Exception as exc:  # noqa: BLE001 -- any failure: report it and let the supervisor restart us
                    await stop_for_supervisor(agent, exc)
        except Exception as exc:  # noqa: BLE001 -- the stream itself failed
            await stop_for_supervisor(agent, exc)

    ingest = InputReader(settings, pace, {names.incidents: KIND_INCIDENTS, names.transfers: KIND_TRANSFERS},
                         ingest_batch, lambda exc: stop_for_supervisor("ingest", exc))

    join_early(app, ingest.join, ingest.leave_if_not_run)

    @app.on_before_shutdown.connect
    async def stop_reading_input(sender, **kwargs) -> None:
        await ingest.stop()  # while the producer still runs: see InputReader.stop

    @app.task
    async def ingest_input():
        try:
            await ingest.run()
        except Exception as exc:  # noqa: BLE001 -- whatever else the reader raised: a failure, as an agent's
            await stop_for_supervisor("ingest", exc)

    async def aggregate_batch(events: list) -> None:
        async with gate.batch():
            await aggregate_owned(events)

    async def resend_outboxes() -> None:
        """Send again what the last owner of our partitions may have written and not sent: the
        transitions, and the evidence snapshot of each segment they belong to.

        Readers drop a transition they have (same alert id and seq, byte for byte), and an outbox
        only ever holds its key's latest transitions, so sending them twice changes nothing. The
        snapshot is made from the state that recorded them, as the batch that wrote it made its
        own, so a notice rendered elsewhere about them shows the evidence they came with.
        """
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == segment_events.get_topic_name()}
        outboxes = unsent(table, owned)
        pending = [await alerts.send(key=key.encode(), value=value) for key, value in outboxes]
        contexts = [await produce(segment_context, snapshot, key=key.encode())
                    for key, snapshot in segment_contexts(lambda key: SegmentState.decode(table.get(key), key),
                                                          {key for key, _ in outboxes}, pipeline.border_of)]
        await failures(contexts, "segment-context")
        if pending:
            await asyncio.gather(*pending)
            log.info("sent again %d alert transitions and %d evidence snapshots from the outboxes of the "
                     "last owner", len(pending), len(contexts))

    def check_restored() -> None:
        """The kept partitions' states are what this worker last wrote (WrittenStates)."""
        checked, lost = written.lost(table.get)
        metrics.restored_checked.inc(checked)
        if lost:
            n = sum(map(len, lost.values()))
            metrics.restored_lost.inc(n)
            log.error("the rebalance restored %d of %d states this worker kept to other bytes than it wrote "
                      "(partitions %s; e.g. %s): their segments go on from older states, and their alerts may "
                      "differ from a backtest's", n, checked, ", ".join(map(str, sorted(lost))),
                      ", ".join(sorted(k for keys in lost.values() for k in keys)[:5]))

    def take_up_clocks() -> None:
        """The idle clocks of our partitions, where their last batch (ours or another worker's) left them."""
        for tp in app.consumer.assignment():
            if tp.topic == segment_events.get_topic_name() and (raw := clocks.get(str(tp.partition))):
                idleness.restore(tp.partition, json.loads(raw))

    async def write_clocks(partitions: set[int]) -> None:
        sent = []
        for p in sorted(partitions):
            raw = json.dumps(idleness.snapshot(p), separators=(",", ":"), sort_keys=True).encode()
            clocks.data[str(p)] = raw
            sent.append(clocks.send_changelog(p, str(p), raw))
        await asyncio.gather(*sent)

    async def in_order(batch, events: list) -> list:
        """``events`` that are their partitions' next records (DeliveryOrder). Those past the next are
        left unacknowledged in ``batch``, and their partitions sought back to it."""
        handle, back = [], {}
        for event in events:
            msg = event.message
            verdict = order.admit(msg.partition, msg.offset)
            if verdict == DeliveryOrder.HANDLE:
                handle.append(event)
            elif verdict == DeliveryOrder.AHEAD:
                batch.leave(event)
                back.setdefault(msg.tp, msg.offset)
        for tp, came in back.items():
            offset = order.next_offset(tp.partition)  # after the whole batch: the next may have come behind
            # Records fetched before the seek keep coming for a while: one warning per jump is enough.
            level = logging.DEBUG if sought_back.get(tp.partition) == offset else logging.WARNING
            sought_back[tp.partition] = offset
            log.log(level, "segment-events partition %d: record %d came where %d was next; reading again from %d",
                    tp.partition, came, offset, offset)
            forget_gaps([tp])
            await app.consumer.seek(tp, offset)
        return handle

    async def aggregate_owned(events: list) -> None:
        if gate.fresh:  # the first batch since start-up or a rebalance, the tables restored
            check_restored()
            await resend_outboxes()
            take_up_clocks()
            gate.fresh = False
        # Events fetched before a rebalance, of partitions that went to another worker: theirs now.
        # Of the rest, each partition's next records only, in offset order (DeliveryOrder).
        events = await in_order(events, [e for e in events if e.message.tp not in gate.moved])
        batch = TouchedStates(table, decoded, written)
        out = []
        dead = []
        # A batch can take seconds (a replayed history packs thousands of records per key, arms
        # transfers fan out to every segment of a border): the loop gets its turns meanwhile.
        # State is written at the end.
        turns = Turns(YIELD_EVERY)
        for event in events:
            await turns.spend()
            try:
                env = Envelope.decode(event.value)
            except Exception as exc:  # noqa: BLE001 -- not ours (the topic is internal), whatever it is
                msg = event.message
                dead.append(await send_dead_letter(DeadLetter(names.segment_events, f"bad envelope: {exc!r}",
                                                              "internal", None, event.value or b"",
                                                              partition=msg.partition, offset=msg.offset)))
                continue
            partition = event.message.partition
            if env.kind == "tick":
                advance_to = idleness.on_tick(partition, env.source, float(env.at))
                if advance_to is not None:
                    until = day_of(datetime.fromtimestamp(advance_to, timezone.utc)) - pipeline.settings.grace_days
                    if advanced.get(partition) == until:
                        continue
                    advanced[partition] = until
                    # A full scan of the table, once per idle partition and day: keys this batch made
                    # are not in the table before the write-back, so they are scanned too. Open alerts
                    # fall with time; arms-race keys are assessed only here, on all their input.
                    for key in sorted(set(table.keys()) | set(batch.states)):
                        st = batch.peek(key)
                        if st.partition == partition and (st.level > 0 or arms_pending(st)):
                            st = batch.touch(key, event)
                            out.extend((a, None) for a in pipeline.advance(st, until))
                        await turns.spend()
                continue
            idleness.on_input(partition)
            advanced.pop(partition, None)
            st = batch.touch(env.key, event)
            applied = Applied()
            for part in env.parts(YIELD_EVERY):
                applied.add(pipeline.apply(st, part))
                await turns.spend(len(part.records))
            for dl in applied.late:
                dead.append(await send_dead_letter(dl))
            if applied.reread:
                metrics.reread.labels(INPUT_OF_KIND[env.kind]).inc(applied.reread)
            if applied.duplicates:
                metrics.duplicates.labels(KIND_INCIDENTS if env.kind == "incident" else KIND_TRANSFERS
                                          ).inc(applied.duplicates)
            if applied.incidents:
                metrics.incidents.labels(pipeline.registry.get(env.key).border).inc(applied.incidents)
            if applied.transfers:
                metrics.pressure.labels(env.key).set(st.pressure_tiv(pipeline.settings.pressure_years))
            out.extend((a, env.ingested_at) for a in applied.alerts)
        # The batch's transitions go into each key's outbox, written with the state, and are sent
        # only once the broker has the state. A crash before the write-back replays the batch against
        # the old state, nothing of it sent; a crash after it leaves them in the outboxes, sent
        # again by the next owner's first batch. So what the alerts topic holds is always what the
        # state records: a replay never has to re-derive the same transitions (it cannot always:
        # an idle advance depends on when ticks came, not only on the input).
        batch.fill_outboxes([alert for alert, _ in out])
        await asyncio.gather(batch.write_back(), write_clocks({e.message.partition for e in events}))
        pending = []
        for alert, ingested_at in out:
            pending.append(await alerts.send(key=alert.segment_id.encode(), value=alert.encode()))
            if alert.transition == "opened":
                metrics.alerts_opened.labels(alert.level).inc()
            if ingested_at is not None and alert.transition in ("opened", "escalated"):
                metrics.latency.observe(max(0.0, clock() - ingested_at))
        # Evidence for notices, whichever worker notifies (streams/evidence.py): each alerting segment's
        # context (with its border pair's arms deliveries when this worker has them). A snapshot the
        # broker refuses costs that snapshot, never the batch.
        contexts = [await produce(segment_context, snapshot, key=key.encode())
                    for key, snapshot in segment_contexts(batch.peek, {alert.segment_id for alert, _ in out},
                                                          pipeline.border_of)]
        await failures(contexts, "segment-context")
        if pending:
            await asyncio.gather(*pending)
        await failures(dead, "dead-letter")  # nowhere left to put these: counted and logged

    @app.agent(segment_events, name="aggregate")
    async def aggregate(stream):
        await run_batches(stream, "aggregate", aggregate_batch)

    @app.timer(settings.tick_seconds)
    async def tick():
        # Into the *input* topics: see streams/watermarks.py for why not straight to segment-events.
        now = clock()
        pace.on_tick(now, settings.idle_seconds)
        value = Envelope("tick", TICK_KEY, at=str(now)).encode()
        for topic in (incidents, transfers):
            for p in range(settings.partitions):
                await topic.send(key=TICK_KEY_BYTES, value=value, partition=p)

    stall = StallWatch(settings.stall_seconds)

    @app.timer(min(STALL_CHECK_SECONDS, settings.stall_seconds / 4))
    async def stall_watch():
        stalled = stall.observe(time.monotonic(), settled(app), progress(app))
        if stalled is not None:
            reason = (f"the worker has processed nothing for {stalled:.0f} s and its rebalance and table recovery "
                      f"made no progress (stall_seconds {settings.stall_seconds:g})")
            await stop_for_supervisor("stall watch", WorkerStalled(reason), reason)

    contact = BrokerContact(settings.session_timeout)
    probe_seconds = min(STALL_CHECK_SECONDS, settings.session_timeout / 4)  # also the probe's timeout

    @app.timer(probe_seconds)
    async def broker_watch():
        answered = await ingest.broker_answers(timeout=probe_seconds)
        was_cut_off = contact.reason is not None
        reason = contact.observe(time.monotonic(), answered)
        metrics.broker_reachable.set(0 if reason else 1)
        if reason and not was_cut_off:
            log.error("%s", reason)
        elif was_cut_off and not reason:
            log.warning("the broker answers again")

    app.broker_contact = contact  # the worker's /health reports it
    app.alerts_topic = alerts  # the worker's web API produces people's actions to the same log
    app.agent_failure = failure  # the worker's /health reports it
    app.fetch_pace = pace
    app.ingest = ingest
    return app


async def start_positions(consumer, partitions: set) -> dict:
    """partition (a TP of ``partitions``) -> the offset its next record is read from: the committed
    offset, or 0 for a partition with none (or 0 committed), which this seeks back to 0.

    After a rebalance Faust seeks its partitions to their committed offsets, and aiokafka does not
    seek one with none (``seek_to_committed``: only an offset above 0): a worker that kept such a
    partition through an eager rebalance went on from where its fetcher had got to, and the
    records it had fetched and not yet handled, dropped from Faust's buffers at the revocation,
    were never handled (records 0 to 64 of a partition in the two-workers chaos test on a starved
    machine, docs/RELIABILITY.md). Reading a record again is harmless (input positions), so the
    first record is where such a partition starts. Called before Faust's own seek, which leaves
    these partitions where this put them.
    """
    committed = {(tp.topic, tp.partition): offset for tp, offset in (await consumer.seek_to_committed()).items()}
    starts = {tp: max(committed.get((tp.topic, tp.partition)) or 0, 0) for tp in partitions}
    for tp in sorted((tp for tp, offset in starts.items() if offset == 0), key=lambda tp: (tp.topic, tp.partition)):
        await consumer.seek(tp, 0)
    return starts


class DeliveryOrder:
    """Per ``segment-events`` partition this worker holds: the offset of the next record its aggregate
    is to handle. Records are handled strictly in offset order from the committed offset.

    Faust can hand the aggregate a partition's records out of order after a rebalance that kept the
    partition here: records its fetcher had fetched before the rebalance, past the committed offset,
    come first; its seek to the committed offset follows; and it then drops the records it fetches
    again below the offset it last delivered, and counts the jump as a gap already acknowledged
    (``Consumer._add_gap``, meant for compacted and transactional topics; ``segment-events`` is
    neither). Seen in the two-workers chaos test on a starved machine: a partition's first records
    after a rebalance came from offset 22 with 13 committed, and a commit then passed 13 to 21,
    never handled. Handled out of order, a key would also apply input before input that precedes it
    (and then skip the earlier as read before, by position).

    So :meth:`admit` says, per record: ``HANDLE`` (the next one), ``AGAIN`` (handled before: skip
    it) or ``AHEAD`` (past the next: leave it unacknowledged, and the caller seeks the partition
    back to :meth:`next_offset`). A partition still ahead :data:`HOLE_WAIT_SECONDS` after its first
    jump is taken to have a hole in its log and goes on from there (logged as an error): none is
    expected, but a worker must not stop on one.
    """

    HANDLE, AGAIN, AHEAD = "handle", "again", "ahead"

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._next: dict[int, int] = {}
        self._ahead_since: dict[int, float] = {}

    def start(self, offsets: dict[int, int]) -> None:
        """After a rebalance: partition -> the offset it is read from (``start_positions``)."""
        self._next = dict(offsets)
        self._ahead_since.clear()

    def next_offset(self, partition: int) -> int:
        return self._next[partition]

    def admit(self, partition: int, offset: int) -> str:
        expected = self._next.get(partition)
        if expected is not None and offset < expected:
            return self.AGAIN
        if expected is not None and offset > expected:
            since = self._ahead_since.setdefault(partition, self.monotonic())
            if self.monotonic() - since < HOLE_WAIT_SECONDS:
                return self.AHEAD
            log.error("segment-events partition %d: offsets %d to %d never came in %.0f s of seeking back: taken "
                      "as a hole in the log, and read on from %d", partition, expected, offset - 1,
                      HOLE_WAIT_SECONDS, offset)
        self._next[partition] = offset + 1
        self._ahead_since.pop(partition, None)
        return self.HANDLE


class RebalanceGate:
    """Batches of the aggregate agent and Faust's rebalances, one at a time.

    Faust does not make them exclusive (``stream_wait_empty`` hangs with ``take_events``), and
    two things can go wrong when they overlap (read in Faust 0.15's code, not reproduced on their
    own): its offset commit on revocation flushes the producer for at most 0.1 s, so offsets could
    be committed ahead of a batch's state; and its recovery replays the changelog into the table up
    to a high-water mark read earlier, so a batch that wrote the table meanwhile would be
    overwritten by an older state.

    So a revocation waits for the batch in hand (whose changelog records the broker has taken),
    and no batch starts until the rebalance is complete, recovery included.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._open = asyncio.Event()
        self._open.set()
        self._revoked: set = set()
        #: partitions revoked at the last rebalance and not assigned back: events of theirs that
        #: were fetched before it are the new owner's to process
        self.moved: frozenset = frozenset()
        #: no batch has run since start-up or the last rebalance
        self.fresh = True

    async def close(self, revoked=()) -> None:
        self._open.clear()
        self._revoked.update(revoked)
        async with self._lock:  # the batch in hand, if any, ends first
            pass

    def open(self, assigned=()) -> None:
        self.moved = frozenset(self._revoked - set(assigned))
        self._revoked.clear()
        self.fresh = True
        self._open.set()

    @contextlib.asynccontextmanager
    async def batch(self):
        while True:
            await self._open.wait()
            async with self._lock:
                if not self._open.is_set():  # a rebalance began while we waited for the lock
                    continue
                yield
                return


class TouchedStates:
    """The segment states one batch touches: each read from the table once and written back once,
    to the changelog partition of the key's own input (its partition in ``segment-events``, the
    one a restore reads), and acknowledged by the broker before the batch ends.

    Not through ``table[key] = value``: Faust sends that changelog record later from a buffer,
    and an offset commit may come first (its flush gives up after 0.1 s): a worker killed then
    would restart from state older than its committed offsets, and lose what lies between.
    """

    def __init__(self, table, decoded: "DecodedStates | None" = None, written: "WrittenStates | None" = None) -> None:
        self.table = table
        self.decoded = decoded if decoded is not None else DecodedStates()
        self.written = written
        self.states: dict[str, SegmentState] = {}

    def _read(self, key: str) -> SegmentState:
        raw = self.table.get(key)
        return self.decoded.get(key, raw) or SegmentState.decode(raw, key)

    def peek(self, key: str) -> SegmentState:
        return self.states.get(key) or self._read(key)

    def touch(self, key: str, event) -> SegmentState:
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = self._read(key)
        st.partition = event.message.partition
        return st

    def fill_outboxes(self, transitions) -> None:
        """Each touched key's outbox becomes its transitions of this batch (none: empty), in order.
        The last batch's were acknowledged by the broker before that batch ended."""
        for st in self.states.values():
            st.outbox = []
        for alert in transitions:
            self.states[alert.segment_id].outbox.append(alert.encode().decode())

    async def write_back(self) -> None:
        sent, wrote = [], []
        for key, st in self.states.items():
            raw = st.encode()
            self.table.data[key] = raw
            self.decoded.put(key, raw, st)
            sent.append(self.table.send_changelog(st.partition, key, raw))
            wrote.append((st.partition, key, raw))
        await asyncio.gather(*sent)
        if self.written is not None:  # acknowledged: what a restore of these partitions must give back
            for partition, key, raw in wrote:
                self.written.record(partition, key, raw)


class DecodedStates:
    """The aggregate's decoded states as it last wrote them, the last ``keep`` keys written.

    A state is taken from here only while the table holds exactly the bytes it was written as:
    the pipeline changes a state only inside a batch that writes it back, so those bytes decode
    to this state (``SegmentState`` round-trips exactly; a restored state scores as the one kept
    in memory would, tests/unit/test_pipeline.py). A restore from the changelog or another
    worker's write leaves other bytes, and the state is decoded afresh.
    """

    def __init__(self, keep: int = DECODED_KEEP) -> None:
        self.keep = keep
        self._states: dict[str, tuple[bytes, SegmentState]] = {}

    def get(self, key: str, raw: bytes | None) -> SegmentState | None:
        kept = self._states.get(key)
        return kept[1] if kept is not None and raw is not None and kept[0] == raw else None

    def put(self, key: str, raw: bytes, state: SegmentState) -> None:
        self._states.pop(key, None)  # to the end: the most recently written
        self._states[key] = (raw, state)
        while len(self._states) > self.keep:
            del self._states[next(iter(self._states))]

    def clear(self) -> None:
        self._states.clear()


class WrittenStates:
    """A digest of each state this worker wrote and the broker acknowledged, by partition: what a
    partition this worker keeps through a rebalance must restore to.

    With eager rebalancing a worker gives up every partition and gets some back; Faust then
    restores their tables from the changelogs. If a restore stops short of the last writes (as the
    embedded broker's ListOffsets once made it: ``streams.log_end``), the worker goes on from older
    states, nothing fails, and its alerts part from the backtest's. So the first batch after a
    rebalance compares the restored bytes of the kept partitions with what this worker wrote, and
    says so if they differ (``borderwatch_restored_states_lost_total``). A partition that went to
    another worker is forgotten at the rebalance: whatever it holds when it comes back was written
    elsewhere.
    """

    def __init__(self) -> None:
        self._by_partition: dict[int, dict[str, bytes]] = {}

    @staticmethod
    def digest(raw: bytes | None) -> bytes | None:
        return None if raw is None else hashlib.blake2b(raw, digest_size=16).digest()

    def record(self, partition: int, key: str, raw: bytes) -> None:
        self._by_partition.setdefault(partition, {})[key] = self.digest(raw)

    def keep_only(self, partitions: Iterable[int]) -> None:
        """Forget every partition but ``partitions`` (those this worker holds after a rebalance)."""
        keep = set(partitions)
        for p in [p for p in self._by_partition if p not in keep]:
            del self._by_partition[p]

    def lost(self, read: Callable[[str], bytes | None]) -> tuple[int, dict[int, list[str]]]:
        """(keys checked, partition -> keys whose bytes as ``read`` gives them are not what this
        worker wrote). Each key is checked once: after a check what it holds is the table's."""
        checked, lost = 0, {}
        for p, written in self._by_partition.items():
            for key, digest in written.items():
                checked += 1
                if self.digest(read(key)) != digest:
                    lost.setdefault(p, []).append(key)
        self._by_partition.clear()
        return checked, lost


def segment_contexts(read: Callable[[str], SegmentState], keys: Iterable[str],
                     border_of: Callable[[str], str]) -> list[tuple[str, bytes]]:
    """(key, evidence snapshot) of each segment, keys in order: its state and its border pair's as
    ``read`` gives them. A batch reads its own states (``TouchedStates.peek``); the next owner,
    sending a crashed batch's outboxes again, reads the table that recorded them, and so sends the
    snapshot that batch would have sent."""
    return [(key, context_snapshot(read(key), read(border_of(key)))) for key in sorted(keys)]


def unsent(table, partitions: set[int]) -> list[tuple[str, bytes]]:
    """(key, transition) of every outbox in the table on these partitions, keys in order: what the
    last owner wrote and may not have sent."""
    out = []
    for key in sorted(table.keys()):
        st = SegmentState.decode(table.get(key), key)
        if st.partition in partitions:
            out.extend((key, value.encode()) for value in st.outbox)
    return out
