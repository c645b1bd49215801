"""Follow a whole topic from its start, without a consumer group: what every worker does with
the alert log, the delivery log and the segment contexts, so each has all of them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from streams.topics import bootstrap, start_or_close

log = logging.getLogger("borderwatch.follow")


async def follow(broker_url: str, topic: str, fold: Callable[[Any], None], *,
                 started: Callable[[Any, list], Awaitable[None]] | None = None,
                 after_batch: Callable[[Any, list], Awaitable[None]] | None = None) -> None:
    """Read every partition of ``topic`` from the beginning, then keep reading; ``fold(message)``
    for each message in offset order per partition. ``started(consumer, partitions)`` once
    assigned, ``after_batch(consumer, partitions)`` after each fetch (empty ones too)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap(broker_url), enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await start_or_close(consumer)
    try:
        parts = None
        while not parts:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    await asyncio.sleep(1.0)  # the worker creates the topic at start
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        if started is not None:
            await started(consumer, tps)
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for msgs in batch.values():
                for m in msgs:
                    fold(m)
            if after_batch is not None:
                await after_batch(consumer, tps)
    finally:
        await consumer.stop()
