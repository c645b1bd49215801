"""Create borderwatch's topics up front, with the partition count the worker expects."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from streams.errors import BrokerError

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
      transition, so a notice has it whichever worker owns the segment.
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

    def all(self) -> tuple[str, ...]:
        return (self.incidents, self.transfers, self.segment_events, self.alerts, self.dead_letter,
                self.notifier, self.notice_log, self.segment_context)

    def partitions(self, topic: str, default: int) -> int:
        """A topic's partition count: one for the notifier baton and the delivery log (one order for
        every reader, one owner), ``default`` for the rest (co-partitioned with the table)."""
        return 1 if topic in (self.notifier, self.notice_log) else default


def bootstrap(broker_url: str) -> str:
    """``kafka://host:port`` (Faust style, maybe several, ';' or ',' separated) -> ``host:port,...``."""
    parts = [p.strip() for p in broker_url.replace(";", ",").split(",") if p.strip()]
    return ",".join(p.split("://", 1)[-1] for p in parts)


def ensure_topics(broker_url: str, partitions: int, topics: Topics = Topics(), timeout: float = 20.0) -> None:
    """Create missing topics with ``partitions`` partitions (existing ones are left alone)."""
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
