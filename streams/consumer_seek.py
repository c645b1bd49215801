"""Faust's seek runs on the consumer's own thread.

Faust (0.15) runs its aiokafka consumer in a thread of its own and hands every other consumer call
to that thread (``call_thread``), but ``ThreadDelegateConsumer._seek`` calls aiokafka's ``seek``
directly from the agents' thread. The seek drops the partition's fetched records while the
consumer's thread may be walking them in ``Fetcher.fetched_records``; a chaos run on a fresh clone
crashed the worker that way (``KeyError: TopicPartition(... segment-events, partition=3)`` in
``fetched_records``, right after the aggregate sought a partition back: ``streams.app``'s
``in_order``). Here the seek is handed to the consumer's thread like the other calls.
"""

from __future__ import annotations

import functools

from streams.library_patches import unpatched


def install() -> None:
    """Replace ``ThreadDelegateConsumer._seek`` with one that seeks on the consumer's thread."""
    from faust.transport.consumer import ThreadDelegateConsumer

    original = unpatched(ThreadDelegateConsumer, "_seek")

    @functools.wraps(original)
    async def seek(consumer: ThreadDelegateConsumer, partition, offset: int) -> None:
        thread = consumer._thread
        await thread.call_thread(thread.seek, partition, offset)

    ThreadDelegateConsumer._seek = seek
