"""Where a log ends, on the real embedded broker (streams/log_end.py).

The broker's ListOffsets answer can stop short of the records of a partition's last produce
request; ``log_end_offsets`` and the Faust recovery hook it feeds must not.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest

from streams import log_end

pytestmark = pytest.mark.integration


async def _produce_in_batches(bootstrap: str, topic: str, sizes: list[int]) -> list[int]:
    """Produce one request per size (all its records in one batch); the offsets the broker gave."""
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=200)
    await p.start()
    offsets = []
    try:
        for n in sizes:
            sent = [await p.send(topic, b"v", key=b"k", partition=0) for _ in range(n)]
            offsets += [m.offset for m in await asyncio.gather(*sent)]
    finally:
        await p.stop()
    return offsets


async def _listed_end(bootstrap: str, tp) -> int:
    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await c.start()
    try:
        return (await c.end_offsets([tp]))[tp]
    finally:
        await c.stop()


def test_the_end_is_after_the_last_record_of_a_batch_of_several(broker):
    from aiokafka import TopicPartition

    topic = f"log-end-{uuid.uuid4().hex[:8]}"
    offsets = asyncio.run(_produce_in_batches(broker.bootstrap, topic, [6, 3]))
    assert offsets == list(range(9))
    tp = TopicPartition(topic, 0)
    listed = asyncio.run(_listed_end(broker.bootstrap, tp))
    ends = asyncio.run(log_end.log_end_offsets(broker.bootstrap, [tp]))
    assert ends == {tp: 9}, f"ListOffsets said {listed}"


def test_an_empty_partition_ends_at_zero(broker):
    from aiokafka import TopicPartition

    topic = f"log-end-empty-{uuid.uuid4().hex[:8]}"
    asyncio.run(_produce_in_batches(broker.bootstrap, topic, [1]))
    empty = TopicPartition(topic, 1)  # created with the topic's default partitions, nothing in it
    assert asyncio.run(log_end.log_end_offsets(broker.bootstrap, [empty])) == {empty: 0}


def test_fausts_table_recovery_asks_log_end_offsets(broker):
    """The hook ``streams.app.build_app`` installs: Faust's recovery reads a changelog to its true end."""
    from faust.transport.drivers import aiokafka as driver
    from faust.types import TP

    topic = f"log-end-faust-{uuid.uuid4().hex[:8]}"
    asyncio.run(_produce_in_batches(broker.bootstrap, topic, [5]))
    saved = driver.AIOKafkaConsumerThread._highwaters
    try:
        log_end.install(broker.bootstrap)
        thread = SimpleNamespace(consumer=SimpleNamespace(in_transaction=False))
        tp = TP(topic, 0)  # Faust's own partition type, as its recovery passes them
        assert asyncio.run(driver.AIOKafkaConsumerThread._highwaters(thread, [tp])) == {tp: 5}
    finally:
        driver.AIOKafkaConsumerThread._highwaters = saved
