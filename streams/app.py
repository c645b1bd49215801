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
is made with the key's last event as the stream's current event, so the
changelog record goes to the same partition as the key's input (Faust refuses a
table write without a current event; ``Stream.take_events`` gives us the events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

import faust

from streams.metrics import Metrics
from streams.pipeline import Envelope, Pipeline, SegmentState, day_of, pack
from streams.records import DeadLetter
from streams.settings import Settings
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS, Topics

TICK_KEY = "__tick__"

log = logging.getLogger("borderwatch.worker")


def build_app(settings: Settings, pipeline: Pipeline, metrics: Metrics, *, clock=time.time) -> faust.App:
    """Build the Faust app. ``clock`` is wall time, used only for ticks, idleness and latency."""
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store="memory://",  # state is restored from the changelog topic on start
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        web_enabled=False,  # our own web server (streams.web) serves the authenticated API
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
    last_input: dict[int, float] = {}
    started = clock()

    async def send_dead_letter(dl: DeadLetter) -> None:
        metrics.dead_letters.labels(dl.code).inc()
        await dead_letter.send(value=dl.to_json())

    async def ingest(stream, kind: str) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            now = clock()
            routed = []
            for event in events:
                envs, dl = pipeline.route(kind, event.value, ingested_at=now)
                if dl is not None:
                    await send_dead_letter(dl)
                routed.extend(envs)
            metrics.events.labels(kind).inc(len(events))
            for env in pack(routed):
                await segment_events.send(key=env.key, value=env.encode())

    @app.agent(incidents, name="ingest-incidents")
    async def ingest_incidents(stream):
        await ingest(stream, KIND_INCIDENTS)

    @app.agent(transfers, name="ingest-arms-transfers")
    async def ingest_transfers(stream):
        await ingest(stream, KIND_TRANSFERS)

    @app.agent(segment_events, name="aggregate")
    async def aggregate(stream):
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            states: dict[str, SegmentState] = {}
            writer: dict[str, object] = {}  # key -> the event whose partition its state belongs to
            out = []
            now = clock()

            def state_for(key: str, event) -> SegmentState:
                st = states.get(key)
                if st is None:
                    st = states[key] = SegmentState.from_json(table.get(key), key)
                    st.partition = event.message.partition
                writer[key] = event
                return st

            for event in events:
                try:
                    env = Envelope.decode(event.value)
                except ValueError as exc:
                    await send_dead_letter(DeadLetter(names.segment_events, f"bad envelope: {exc}", "internal",
                                                      None, event.value))
                    continue
                partition = event.message.partition
                if env.kind == "tick":
                    if now - last_input.get(partition, started) >= settings.idle_seconds:
                        until = day_of(datetime.fromtimestamp(float(env.at), timezone.utc)) - pipeline.settings.grace_days
                        # The table holds a few hundred segments: a full scan per idle tick is cheap.
                        for key in list(table.keys()):
                            st = states.get(key) or SegmentState.from_json(table.get(key), key)
                            if st.partition != partition or st.level == 0:
                                continue
                            states.setdefault(key, st)
                            writer[key] = event
                            out.extend((a, None) for a in pipeline.advance(st, until))
                    continue
                last_input[partition] = now
                st = state_for(env.key, event)
                applied = pipeline.apply(st, env)
                for dl in applied.late:
                    await send_dead_letter(dl)
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
            for key, st in states.items():
                stream._set_current_event(writer[key])
                table[key] = st.to_json()

    @app.timer(settings.tick_seconds)
    async def tick():
        at = str(clock())
        value = Envelope("tick", TICK_KEY, at=at).encode()
        for p in range(settings.partitions):
            await segment_events.send(key=TICK_KEY, value=value, partition=p)

    return app
