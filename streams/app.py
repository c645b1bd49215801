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
one :class:`~streams.pipeline.SegmentState` per key. The ``aggregate`` agent
takes events in batches and writes each touched key once per batch; the write
is made with the key's last event as the task's current event, so the
changelog record goes to the same partition as the key's input (Faust refuses a
table write without a current event; ``Stream.take_events`` gives us the events).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from datetime import datetime, timezone

import faust
from faust.streams import _current_event

from streams.metrics import Metrics
from streams.pipeline import INPUT_OF_KIND, Envelope, Pipeline, SegmentState, day_of, pack
from streams.records import DeadLetter
from streams.settings import Settings
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS, Topics
from streams.watermarks import PartitionIdleness

#: Key of tick records in the input topics and segment-events. Input with this key is a tick, not an event.
TICK_KEY = "__tick__"
TICK_KEY_BYTES = TICK_KEY.encode()
#: The aggregate agent gives the event loop a turn every this many envelopes of a batch.
YIELD_EVERY = 50

def build_app(settings: Settings, pipeline: Pipeline, metrics: Metrics, *, clock=time.time) -> faust.App:
    """Build the Faust app. ``clock`` is wall time, used only for ticks, idleness and latency."""
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
        stream_wait_empty=False,
        producer_linger=0.005,
    )
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
               partitions=settings.partitions)
    names = Topics(settings.topic_prefix)
    incidents = app.topic(names.incidents, **raw)
    transfers = app.topic(names.transfers, **raw)
    dead_letter = app.topic(names.dead_letter, **raw)
    alerts = app.topic(names.alerts, **raw)
    segment_events = app.topic(names.segment_events, key_type=str, value_type=bytes, key_serializer="raw",
                               value_serializer="raw", partitions=settings.partitions)
    # Table keys and values use the app's default "raw" codec (bytes); state is our own JSON.
    table = app.Table("segments", default=None, key_type=str, value_type=bytes, partitions=settings.partitions)
    inputs = (names.incidents, names.transfers)
    idleness = PartitionIdleness({f"{t}/{p}" for t in inputs for p in range(settings.partitions)},
                                 settings.idle_seconds)

    async def send_dead_letter(dl: DeadLetter) -> None:
        metrics.dead_letters.labels(dl.code).inc()
        await dead_letter.send(value=dl.to_json())

    async def ingest(stream, kind: str) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            now = clock()
            routed, ticks = [], {}
            for event in events:
                if event.key == TICK_KEY_BYTES:
                    msg = event.message
                    ticks[f"{msg.topic}/{msg.partition}"] = Envelope.decode(event.value).at
                    continue
                metrics.events.labels(kind).inc()
                envs, dl = pipeline.route(kind, event.value, ingested_at=now,
                                          position=(event.message.partition, event.message.offset))
                if dl is not None:
                    await send_dead_letter(dl)
                routed.extend(envs)
            for env in pack(routed):
                await segment_events.send(key=env.key, value=env.encode())
            # A tick goes on behind the input that came before it, to every partition.
            for source, at in ticks.items():
                value = Envelope("tick", TICK_KEY, at=at, source=source).encode()
                for p in range(settings.partitions):
                    await segment_events.send(key=TICK_KEY, value=value, partition=p)

    @app.agent(incidents, name="ingest-incidents")
    async def ingest_incidents(stream):
        await ingest(stream, KIND_INCIDENTS)

    @app.agent(transfers, name="ingest-arms-transfers")
    async def ingest_transfers(stream):
        await ingest(stream, KIND_TRANSFERS)

    @app.agent(segment_events, name="aggregate")
    async def aggregate(stream):
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            batch = TouchedStates(table)
            out = []
            for n, event in enumerate(events, 1):
                if n % YIELD_EVERY == 0:
                    # A batch can take seconds (arms transfers fan out to every segment of a
                    # border): let heartbeats, the web API and the feed run meanwhile, or the
                    # group would see a dead member and rebalance. State is written at the end.
                    await asyncio.sleep(0)
                try:
                    env = Envelope.decode(event.value)
                except (ValueError, KeyError) as exc:
                    await send_dead_letter(DeadLetter(names.segment_events, f"bad envelope: {exc}", "internal",
                                                      None, event.value))
                    continue
                partition = event.message.partition
                if env.kind == "tick":
                    advance_to = idleness.on_tick(partition, env.source, float(env.at))
                    if advance_to is not None:
                        until = day_of(datetime.fromtimestamp(advance_to, timezone.utc)) - pipeline.settings.grace_days
                        # The table holds a few hundred segments: a full scan per idle tick is cheap. Keys
                        # this batch made are not in the table before the write-back: scan them too.
                        for key in sorted(set(table.keys()) | set(batch.states)):
                            st = batch.peek(key)
                            if st.partition == partition and st.level > 0:
                                st = batch.touch(key, event)
                                out.extend((a, None) for a in pipeline.advance(st, until))
                    continue
                idleness.on_input(partition)
                st = batch.touch(env.key, event)
                applied = pipeline.apply(st, env)
                for dl in applied.late:
                    await send_dead_letter(dl)
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
            # Alerts are acknowledged by the broker before the state that records them is written:
            # after a crash the batch is replayed against the old state and re-emits the same
            # transitions (same alert id and seq), which readers drop -- none is ever lost.
            pending = []
            for alert, ingested_at in out:
                pending.append(await alerts.send(key=alert.segment_id.encode(), value=alert.encode()))
                if alert.transition == "opened":
                    metrics.alerts_opened.labels(alert.level).inc()
                if ingested_at is not None and alert.transition in ("opened", "escalated"):
                    metrics.latency.observe(max(0.0, clock() - ingested_at))
            if pending:
                await asyncio.gather(*pending)
            batch.write_back()

    @app.timer(settings.tick_seconds)
    async def tick():
        # Into the *input* topics: see streams/watermarks.py for why not straight to segment-events.
        value = Envelope("tick", TICK_KEY, at=str(clock())).encode()
        for topic in (incidents, transfers):
            for p in range(settings.partitions):
                await topic.send(key=TICK_KEY_BYTES, value=value, partition=p)

    app.alerts_topic = alerts  # the worker's web API produces people's actions to the same log
    return app


class TouchedStates:
    """The segment states one batch touches: each read from the table once and written back once,
    with the stream's current event set to the key's last event, so the changelog record goes to
    the key's own partition (Faust refuses table writes without a current event)."""

    def __init__(self, table) -> None:
        self.table = table
        self.states: dict[str, SegmentState] = {}
        self.last_event: dict[str, object] = {}

    def peek(self, key: str) -> SegmentState:
        return self.states.get(key) or SegmentState.from_json(self.table.get(key), key)

    def touch(self, key: str, event) -> SegmentState:
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = SegmentState.from_json(self.table.get(key), key)
        st.partition = event.message.partition
        self.last_event[key] = event
        return st

    def write_back(self) -> None:
        for key, st in self.states.items():
            with as_current_event(self.last_event[key]):
                self.table[key] = st.to_json()


@contextlib.contextmanager
def as_current_event(event):
    """Make ``event`` the current event of this task for a table write, then restore the old one.

    A table write takes its changelog partition from ``faust.streams.current_event()``, a
    task-local context variable, so that is all we set. Not ``Stream._set_current_event``:
    it also sets ``stream.current_event``, which ``take_events``' background buffer-filler
    reads *after* waiting for the batch we are processing, so a message arriving mid-batch
    was buffered as our old event: its records were lost and the old ones counted twice
    (seen as missing alerts under load, tests/integration/test_worker.py).
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
