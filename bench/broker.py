"""What a fetch costs the embedded broker as a partition fills (part of ``make bench``).

The embedded broker (tansu, memory storage) keeps each produced batch as an object of its own,
and a fetch that finds data lists every batch object of the partition to find where to start
(its ``fetch`` lists the partition's ``records/`` prefix). So the work per fetch grows with the
batches the partition holds: what a real Kafka broker finds by an index. A producer that sends
each record at once (no linger, one record in flight) leaves one batch per record.

The bench fills one partition with single-record batches and, at each of ``SIZES`` batches held,
times fetches of its last records (the median of ``FETCHES``): ``fetch_ms`` by batches held, and
the growth per thousand batches between the smallest and the largest size.

``python -m bench.broker`` prints the JSON object alone.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

from streams.broker import EmbeddedBroker, free_port

#: Batches held when fetches are timed. Far beyond these (tens of thousands) tansu 0.6.0 also
#: began answering with one batch per fetch, which a per-fetch time does not show.
SIZES = (1000, 4000, 8000)
FETCHES = 15
TOPIC = "bench-broker"


async def _fetch_ms(consumer, tp, high: int) -> float:
    consumer.seek(tp, high - 1)
    t0 = time.perf_counter()
    for _ in range(3):
        if await consumer.getmany(tp, timeout_ms=5000):
            return (time.perf_counter() - t0) * 1000
    raise SystemExit(f"bench: no fetch of {tp} at offset {high - 1} answered in 15 s")


async def _measure(bootstrap: str) -> dict:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await producer.start()
    await consumer.start()
    tp = TopicPartition(TOPIC, 0)
    consumer.assign([tp])
    held, fetch_ms = 0, {}
    try:
        for size in SIZES:
            while held < size:
                await producer.send_and_wait(TOPIC, b"x" * 300)  # acknowledged before the next: one batch each
                held += 1
            fetch_ms[size] = round(statistics.median([await _fetch_ms(consumer, tp, held) for _ in range(FETCHES)]), 2)
    finally:
        await consumer.stop()
        await producer.stop()
    small, large = SIZES[0], SIZES[-1]
    return {"fetch_ms_by_batches_held": {str(k): v for k, v in fetch_ms.items()},
            "fetch_ms_per_1000_batches": round((fetch_ms[large] - fetch_ms[small]) * 1000 / (large - small), 3)}


def measure() -> dict:
    with EmbeddedBroker(port=free_port()) as broker:
        return asyncio.run(_measure(broker.bootstrap))


if __name__ == "__main__":
    print(json.dumps(measure()))
    sys.exit(0)
