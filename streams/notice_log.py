"""The delivery log on a Kafka topic, so every worker has it and the notifier can move.

:class:`KafkaDeliveryLog` is the :class:`~alerts.notify.delivery.DeliveryIndex` the worker uses:
``append`` produces a record to ``<prefix>.notice-log`` (one partition: one order for every
reader) and returns once the broker has acknowledged it, as the file log returned once it
had fsync'd; ``run`` reads the topic from its start into the same index, in every worker.
So any worker's web API answers and records notice acknowledgements, and a worker that
takes the notifier over reads the log to its end (:meth:`KafkaDeliveryLog.caught_up`)
before it delivers anything: a notice the old owner delivered is not sent again.

A record is indexed once, by its offset: the writer indexes its own record as soon as the
broker gives the offset (the chain goes on at once), and the reader skips that offset when
it comes round.

``append`` blocks (the notifier runs in a thread; the web API calls it through
``asyncio.to_thread``), so it uses kafka-python's thread-safe producer; the reader is an
aiokafka task on the worker's event loop, like the alert feed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any, Callable

from alerts.notify.delivery import DeliveryIndex, DeliveryLogUnavailable
from streams.follow import follow
from streams.log_end import log_end_offsets
from streams.topics import bootstrap

log = logging.getLogger("borderwatch.notice_log")

#: How long one produce waits for the broker's acknowledgement.
APPEND_TIMEOUT = 30.0
#: How long ``append`` keeps trying while the broker is away (paused, restarting) before it gives
#: up with ``DeliveryLogUnavailable`` (the notify stage then holds the notice and tries it again):
#: a delivery the log does not hold is one a new notifier would send again, so the record is worth
#: waiting for.
APPEND_PATIENCE = 300.0


def encode_record(rec: dict[str, Any]) -> bytes:
    return json.dumps(rec, separators=(",", ":"), sort_keys=True).encode()


class KafkaDeliveryLog(DeliveryIndex):
    """The delivery log as the records of one single-partition topic.

    ``producer_factory`` makes the producer on first use (a ``kafka.KafkaProducer`` by default;
    tests pass a fake with the same ``send(...).get(timeout)``).
    """

    def __init__(self, broker_url: str, topic: str, *, producer_factory: Callable[[], Any] | None = None,
                 timeout: float = APPEND_TIMEOUT, patience: float = APPEND_PATIENCE,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.broker_url, self.topic, self.timeout = broker_url, topic, timeout
        self.patience, self.sleep, self.clock = patience, sleep, clock
        self._producer_factory = producer_factory or self._kafka_producer
        self._producer: Any = None
        self._producer_lock = threading.Lock()
        self._indexed: set[int] = set()  # offsets already in the index
        self._position = 0  # the next offset the reader will read
        self._progress: asyncio.Condition | None = None
        self._consumer: Any = None
        self._started = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _kafka_producer(self) -> Any:
        from kafka import KafkaProducer  # kafka-python 2.x: thread-safe, blocking get()

        return KafkaProducer(bootstrap_servers=bootstrap(self.broker_url), acks="all", linger_ms=0,
                             retries=5, client_id="borderwatch-notice-log")

    def append(self, rec: dict[str, Any], *, patience: float | None = None) -> None:
        """Produce the record and wait for the broker's acknowledgement; then index it. While the
        broker is away, try again for ``patience`` seconds (None: the log's own)."""
        if self._loop is not None and _running_loop() is self._loop:
            raise RuntimeError("KafkaDeliveryLog.append blocks: call it in a thread (asyncio.to_thread)")
        patience = self.patience if patience is None else patience
        value, delay, deadline = encode_record(rec), 0.2, self.clock() + patience
        while True:
            try:
                with self._producer_lock:
                    if self._producer is None:
                        self._producer = self._producer_factory()  # fails while no broker answers
                meta = self._producer.send(self.topic, value=value, partition=0).get(timeout=self.timeout)
                break
            except Exception as exc:  # noqa: BLE001 -- whatever kept the broker from taking it, try again
                if self.clock() + delay > deadline:
                    raise DeliveryLogUnavailable(f"topic {self.topic} took no record for {patience:.0f} s: "
                                                 f"{exc!r}") from exc
                log.warning("delivery-log record not written yet (%r); again in %.1f s", exc, delay)
                self.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._index_at(meta.offset, rec)

    def _index_at(self, offset: int, rec: dict[str, Any]) -> None:
        with self._lock:
            if offset in self._indexed:
                return
            self._indexed.add(offset)
            self._index(rec)

    def fold(self, offset: int, raw: bytes) -> None:
        """One record as the reader finds it at ``offset``."""
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict) or "kind" not in rec:
                raise ValueError("not a delivery-log record")
            self._index_at(offset, rec)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable notice-log record at offset %s: %s", offset, exc)
        self._position = max(self._position, offset + 1)

    async def run(self) -> None:
        """Read the topic from its start and keep reading (every worker, for as long as it runs)."""
        self._loop = asyncio.get_running_loop()
        self._progress = asyncio.Condition()

        async def started(consumer, partitions) -> None:
            self._consumer = consumer
            self._started.set()

        async def after_batch(consumer, partitions) -> None:
            # Past what retention removed too: the consumer's position is the next offset there is.
            self._position = max(self._position, await consumer.position(partitions[0]))
            async with self._progress:
                self._progress.notify_all()

        await follow(self.broker_url, self.topic, lambda m: self.fold(m.offset, m.value or b""),
                     started=started, after_batch=after_batch)

    async def caught_up(self) -> int:
        """Wait until the reader has indexed every record the broker held when this was called
        (its end offset then); returns that offset."""
        from aiokafka import TopicPartition

        await self._started.wait()
        tp = TopicPartition(self.topic, 0)
        end = (await log_end_offsets(bootstrap(self.broker_url), [tp]))[tp]
        assert self._progress is not None
        async with self._progress:
            await self._progress.wait_for(lambda: self._position >= end)
        return end

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
