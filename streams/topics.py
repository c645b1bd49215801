"""Create borderwatch's topics up front, with the partition count the worker expects."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable

from streams.errors import BrokerError
from streams.limits import MAX_MESSAGE_BYTES

KIND_INCIDENTS = "incidents"
KIND_TRANSFERS = "arms-transfers"


@dataclass(frozen=True)
class Topics:
    """Topic names under one prefix (default ``borderwatch``), so deployments and tests can share a cluster.

    * ``incidents`` / ``arms-transfers``: input, any key (replay keys by border pair / recipient);
    * ``segment-events``: internal, keyed by segment id (transfers by border pair);
    * ``alerts``: alert transitions keyed by segment id -- the audit log;
    * ``dead-letter``: invalid or late input with the reason and the original bytes;
    * ``notifier``: one partition, never written: the member of consumer group
      ``<app id>-notifier`` that is assigned it is the one worker that sends notices;
    * ``notice-log``: one partition, the delivery log (deliveries, failed attempts, notice
      acknowledgements) that every worker reads;
    * ``segment-context``: keyed by segment id, a segment's evidence as of its latest alert
      transition, so a notice has it whichever worker owns the segment;
    * ``worker-names``: one partition, written at named workers' starts: the probes and answers by
      which one live process holds each worker name (streams.worker_names).
    """

    prefix: str = "borderwatch"

    def name(self, suffix: str) -> str:
        return f"{self.prefix}.{suffix}"

    @property
    def incidents(self) -> str:
        return self.name(KIND_INCIDENTS)

    @property
    def transfers(self) -> str:
        return self.name(KIND_TRANSFERS)

    @property
    def segment_events(self) -> str:
        return self.name("segment-events")

    @property
    def alerts(self) -> str:
        return self.name("alerts")

    @property
    def dead_letter(self) -> str:
        return self.name("dead-letter")

    @property
    def notifier(self) -> str:
        return self.name("notifier")

    @property
    def notice_log(self) -> str:
        return self.name("notice-log")

    @property
    def segment_context(self) -> str:
        return self.name("segment-context")

    @property
    def worker_names(self) -> str:
        return self.name("worker-names")

    def all(self) -> tuple[str, ...]:
        return (self.incidents, self.transfers, self.segment_events, self.alerts, self.dead_letter,
                self.notifier, self.notice_log, self.segment_context, self.worker_names)

    def partitions(self, topic: str, default: int) -> int:
        """A topic's partition count: one for the notifier baton, the delivery log and the worker names
        (one order for every reader, one owner), ``default`` for the rest (co-partitioned with the table)."""
        return 1 if topic in (self.notifier, self.notice_log, self.worker_names) else default


def bootstrap(broker_url: str) -> str:
    """``kafka://host:port`` (Faust style, maybe several, ';' or ',' separated) -> ``host:port,...``."""
    parts = [p.strip() for p in broker_url.replace(";", ",").split(",") if p.strip()]
    return ",".join(p.split("://", 1)[-1] for p in parts)


def group_timing(session_timeout: float, instance_id: str = "") -> dict:
    """An aiokafka group member's session, rebalance and heartbeat settings from one session
    timeout (seconds), and its static instance id if it has one (``Settings.instance_id``): the
    worker's own groups (ingest, notifier) all keep the same timing and the same name."""
    session_ms = int(session_timeout * 1000)
    return {"session_timeout_ms": session_ms, "rebalance_timeout_ms": session_ms,
            "heartbeat_interval_ms": max(100, min(3000, session_ms // 4)),
            "group_instance_id": instance_id or None}


async def start_or_close(client: Any) -> None:
    """Start an aiokafka consumer or producer; one that cannot (no broker answers) is closed before
    the error goes on, not left open to be retried beside a new one."""
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise


class GroupMember:
    """A consumer-group member that may ask to join before its owner reads: the worker's own groups
    (ingest, the notifier) join as the app starts, beside Faust's (streams.app.join_early), since
    the broker holds a first join for about half a session.

    :meth:`join` starts the consumer and subscribes it once, whoever asks first; the group's
    rebalances call ``on_revoked`` and ``on_assigned`` (async, with the partitions). ``on_joined``
    and ``on_leaving`` see the consumer just after it joins and just before it stops. The owner
    reads with :attr:`consumer`, sets :attr:`running` as it starts, and leaves on its way out;
    :meth:`leave_if_not_run` covers an owner that never ran (the worker stopped first).
    """

    def __init__(self, on_revoked: Callable[[Any], Awaitable[None]], on_assigned: Callable[[Any], Awaitable[None]],
                 *, on_joined: Callable[[Any], None] | None = None,
                 on_leaving: Callable[[Any], Awaitable[None]] | None = None) -> None:
        self.on_revoked, self.on_assigned = on_revoked, on_assigned
        self.on_joined, self.on_leaving = on_joined, on_leaving
        self.consumer: Any = None
        self.running = False
        self._joining = asyncio.Lock()

    async def join(self, make: Callable[[], Any], topics: list[str]) -> None:
        from aiokafka.abc import ConsumerRebalanceListener

        member = self

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                await member.on_revoked(revoked)

            async def on_partitions_assigned(self, assigned):
                await member.on_assigned(assigned)

        async with self._joining:  # once, whoever asks first
            if self.consumer is not None:
                return
            consumer = make()
            await start_or_close(consumer)
            consumer.subscribe(list(topics), listener=Listener())
            self.consumer = consumer
            if self.on_joined is not None:
                self.on_joined(consumer)

    async def leave(self) -> None:
        consumer, self.consumer = self.consumer, None
        if consumer is None:
            return
        if self.on_leaving is not None:
            await self.on_leaving(consumer)
        await consumer.stop()

    async def leave_if_not_run(self) -> None:
        """Leave if :meth:`join` ran and the owner never did; an owner that runs leaves on its way out."""
        if self.consumer is not None and not self.running:
            await self.leave()


def broker_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says only that the broker could not be reached (an aiokafka connection error,
    or a group of them from a task group): what a retry may cure, told in a line, not a traceback."""
    from aiokafka.errors import KafkaConnectionError

    if isinstance(exc, BaseExceptionGroup):
        return all(broker_unreachable(e) for e in exc.exceptions)
    return isinstance(exc, KafkaConnectionError)


#: How long a command waits at start for the broker to answer before it gives up with what to do: a
#: broker started at the same moment (the demo, a compose file) takes a few seconds to listen.
BROKER_WAIT_SECONDS = 20.0


def ensure_topics(broker_url: str, partitions: int, topics: Topics = Topics(),
                  timeout: float = BROKER_WAIT_SECONDS) -> None:
    """Create missing topics with ``partitions`` partitions (existing ones are left alone); give up
    with :class:`BrokerError` if no broker answers within ``timeout`` seconds."""
    asyncio.run(_ensure_topics(broker_url, partitions, topics, timeout))


async def _ensure_topics(broker_url: str, partitions: int, topics: Topics, timeout: float) -> None:
    # aiokafka's admin client: kafka-python 2.3's cannot parse tansu's metadata (ACL operation 14).
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError, TopicAlreadyExistsError

    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(broker_url), client_id="borderwatch-admin",
                                    request_timeout_ms=5000)
        try:
            await admin.start()
            break
        except KafkaError as exc:
            await admin.close()
            if time.monotonic() > deadline:
                raise BrokerError(f"no Kafka broker answers at {broker_url} ({exc.__class__.__name__}): start one "
                                  f"with `borderwatch broker` or pass --broker URL") from None
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, topics.partitions(t, partitions), 1) for t in topics.all() if t not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


# ------------------------------------------------------------------ the internal topic's wire format
@dataclass
class Envelope:
    """What the internal ``segment-events`` topic carries, keyed by segment (or border pair).

    ``records`` holds one or more records of one kind for this key, in order: the ingest
    stage packs the records of a batch per key into one message, so the aggregate stage
    pays Kafka's per-message cost once per key, not once per event.
    """

    kind: str  # incident | spill | transfer | pressure | arms | tick
    key: str
    records: list[dict[str, Any]] = field(default_factory=list)
    at: str | None = None  # tick: wall-clock time it was produced
    ingested_at: float | None = None  # wall seconds at ingest, only for the latency metric
    source: str | None = None  # tick: the input partition it came through, "topic/partition"
    #: live only, one per record: [input partition, offset] of the input record it came from
    #: (the topic follows from the kind, INPUT_OF_KIND), so input read again after a restart or
    #: a rebalance is recognised as already read
    positions: list[list[int]] | None = None

    def encode(self) -> bytes:
        d: dict[str, Any] = {"kind": self.kind, "key": self.key}
        if self.records:
            d["records"] = self.records
        for name in ("at", "ingested_at", "source"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        if self.positions is not None:
            d["pos"] = self.positions
        return json.dumps(d, separators=(",", ":")).encode()

    def parts(self, size: int) -> list["Envelope"]:
        """This envelope as consecutive envelopes of at most ``size`` records each (itself if it
        has no more), in order: applying them in order equals applying it (the aggregate gives
        the event loop a turn between them, where one busy key's records take seconds)."""
        if len(self.records) <= size:
            return [self]
        return [self.between(i, i + size) for i in range(0, len(self.records), size)]

    def between(self, start: int, end: int) -> "Envelope":
        """This envelope with its records ``start`` to ``end`` (their positions with them)."""
        pos = self.positions
        return replace(self, records=self.records[start:end], positions=None if pos is None else pos[start:end])

    @classmethod
    def decode(cls, raw: bytes | str) -> "Envelope":
        d = json.loads(raw)
        return cls(d["kind"], d["key"], d.get("records") or [], d.get("at"), d.get("ingested_at"), d.get("source"),
                   d.get("pos"))


def pack(envelopes: list[Envelope]) -> list[Envelope]:
    """Merge a key's consecutive envelopes of one kind, keeping each key's records in order.

    Order per key matters across kinds too: a whole-border key takes the border's own incidents
    and spill-over from its cut segments, both read from one input partition, and a record at or
    below the highest input offset a key applied is taken for one read again
    (``Pipeline._first_reading``). Merging all of a key's spills after all of its incidents
    skipped incidents as re-read, depending on how input fell into batches.
    """
    packed: list[Envelope] = []
    last: dict[str, Envelope] = {}
    for env in envelopes:
        cur = last.get(env.key)
        if cur is None or cur.kind != env.kind:
            cur = last[env.key] = Envelope(env.kind, env.key, list(env.records), env.at, env.ingested_at,
                                           positions=None if env.positions is None else list(env.positions))
            packed.append(cur)
            continue
        cur.records.extend(env.records)
        if cur.positions is not None and env.positions is not None:
            cur.positions.extend(env.positions)
        else:
            cur.positions = None
    return packed


#: The input topic an envelope's records were read from, by envelope kind.
INPUT_OF_KIND = {"incident": KIND_INCIDENTS, "spill": KIND_INCIDENTS, "transfer": KIND_TRANSFERS,
                 "pressure": KIND_TRANSFERS, "arms": KIND_TRANSFERS}


def encode_within(env: Envelope, limit: int = MAX_MESSAGE_BYTES) -> list[tuple[Envelope, bytes]]:
    """``env`` as messages of at most ``limit`` bytes: its records split in halves, in order,
    until each part fits. Applying the parts in order equals applying ``env``.

    A packed batch can exceed what Kafka takes (2000 records of one busy key). A single record
    over the limit comes back alone, over it, for the caller to dead-letter; with records under
    MAX_RECORD_BYTES (at most 3x that once re-encoded) it does not happen.
    """
    out: list[tuple[Envelope, bytes]] = []
    todo = [env]
    while todo:
        cur = todo.pop()
        raw = cur.encode()
        if len(raw) <= limit or len(cur.records) <= 1:
            out.append((cur, raw))
            continue
        half = len(cur.records) // 2
        todo.append(cur.between(half, len(cur.records)))
        todo.append(cur.between(0, half))
    return out
