"""Where a partition's log ends: the high watermark a fetch reports, not ListOffsets' answer.

The embedded broker (tansu) answers ListOffsets for the latest offset with the offset after the
*first* record of the partition's last record batch, not after its last record: when the last
produce request to a partition carried several records, the end it reports is short of all but
the first (``tests/integration/test_log_end.py`` shows it). Its fetch responses carry the true high
watermark. Kafka answers both the same way, so asking a fetch costs nothing there.

It matters wherever something reads a log "to its end":

* Faust restores a table after a rebalance by reading its changelog partitions up to the ends
  ListOffsets gives. Against tansu a worker that kept a partition through a rebalance restored the
  states of its last batch before it as they were one batch earlier, and went on from them: two
  workers on one app id then disagreed with the backtest in about one run in four on a loaded
  machine (docs/RELIABILITY.md). :func:`install` gives Faust's recovery these ends instead.
* the notifier that takes over reads the delivery log to its end before sending anything
  (``streams.notice_log``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Iterable, Mapping

from streams.library_patches import unpatched
from streams.topics import start_or_close

log = logging.getLogger(__name__)

#: How long the broker may hold the probe's fetch when nothing follows the offset asked for.
PROBE_WAIT_MS = 50
#: How long the probe may take over all partitions before the ends ListOffsets gave are used.
PROBE_TIMEOUT_S = 10.0


async def log_end_offsets(bootstrap: str, partitions: Iterable) -> dict:
    """partition -> the offset after its last record, for aiokafka ``TopicPartition``s (or Faust
    ``TP``s, which have the same shape); keys are the partitions as given.

    Asks ListOffsets, then fetches from just before each answer: the fetch response's high
    watermark is the true end. If the probe cannot finish in :data:`PROBE_TIMEOUT_S`, the
    ListOffsets answers are returned (and the shortfall logged).
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    given = list(dict.fromkeys(partitions))
    if not given:
        return {}
    tps = [TopicPartition(tp.topic, tp.partition) for tp in given]  # aiokafka checks the type
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=PROBE_WAIT_MS, max_partition_fetch_bytes=64 * 1024)
    await start_or_close(consumer)
    try:
        reported = await consumer.end_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, max(reported[tp] - 1, 0))
        try:
            await asyncio.wait_for(_fetch_each(consumer, tps), PROBE_TIMEOUT_S)
        except asyncio.TimeoutError:
            log.warning("no fetch answered for some of %d partitions in %.0f s: using the ends ListOffsets "
                        "gave, which the embedded broker may give short", len(tps), PROBE_TIMEOUT_S)
        return {key: max(reported[tp], consumer.highwater(tp) or 0) for key, tp in zip(given, tps)}
    finally:
        await consumer.stop()


async def _fetch_each(consumer, tps: list) -> None:
    """Until a fetch response has come for every partition (records or none)."""
    while pending := [tp for tp in tps if consumer.last_poll_timestamp(tp) is None]:
        await consumer.getmany(*pending, timeout_ms=PROBE_WAIT_MS * 4, max_records=1)


def install(bootstrap: str) -> None:
    """Faust's table recovery reads changelogs to the ends :func:`log_end_offsets` gives.

    Replaces ``AIOKafkaConsumerThread._highwaters``, the one place Faust 0.15 asks where a
    changelog ends (``Recovery._build_highwaters``, for active and standby partitions). Pinned
    versions, and ``tests/integration/test_log_end.py`` holds it.
    """
    from faust.transport.drivers import aiokafka as driver

    original = unpatched(driver.AIOKafkaConsumerThread, "_highwaters")

    @functools.wraps(original)
    async def highwaters(thread, partitions) -> Mapping:
        if thread.consumer.in_transaction:  # not used here: transactions read the last stable offset
            return await original(thread, partitions)
        return await log_end_offsets(bootstrap, partitions)

    driver.AIOKafkaConsumerThread._highwaters = highwaters
