"""A worker's name (``Settings.instance_id``) is held by one live process at a time.

A named worker is a static member of its consumer groups. On Kafka a second process joining
under a name in use fences the first; the embedded broker fences nobody: both processes get the
same partitions and both process them, every alert transition goes out twice and both become
the notifier (seen 2026-12-03 with two workers named alike). So a name is claimed before the
worker joins any group, on the one-partition topic ``Topics.worker_names``:

* a starting worker writes a **probe** for its name and listens for :data:`PROBE_SECONDS`;
* a worker that holds the name (a running one, or one that probed earlier and is still
  listening) answers every later probe for it with **held**, which names it (process, host, web
  address, since when);
* a **held** answer to its own probe means the name is taken: a starting worker refuses to start
  (:class:`NameInUse`, exit status 2); a running one whose probe was answered too late for its
  window (a holder that stalled longer than the window) stops at once (:data:`EXIT_NAME_TAKEN`),
  leaving the name to the first, as a fenced member does on Kafka.

A worker that crashed answers nothing, so its restart under the same name waits out the window
and goes on: the one case a name is for. Records are written at starts only, so the topic stays
small on a broker that keeps everything (the embedded one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from alerts.timefmt import iso, utcnow
from streams.errors import BrokerError, ConfigError
from streams.topics import bootstrap, start_or_close

log = logging.getLogger(__name__)

#: How long a starting named worker listens for a holder's answer. A holder answers within its
#: fetch wait (:data:`FOLLOW_WAIT_MS`) and a produce, so the window leaves room for a busy one.
PROBE_SECONDS = 3.0
#: How long the broker may hold a fetch of the names topic: the embedded broker holds it in full
#: even when a probe arrives meanwhile, so this bounds how late a holder answers.
FOLLOW_WAIT_MS = 250
#: The exit status of a running worker whose name turned out to be held by another live process:
#: the same as a refusal at start (a configuration to fix, not a crash to restart from).
EXIT_NAME_TAKEN = 2
#: How long the holder waits before following the names topic again after losing the broker.
HOLD_RETRY_SECONDS = 5.0

PROBE, HELD = "probe", "held"


class NameInUse(ConfigError):
    """Another live worker of the same app id holds this worker's name."""


def describe(holder: Mapping[str, Any]) -> str:
    """Who holds a name, from its **held** record, in words."""
    parts = [f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"]
    if holder.get("web"):
        parts.append(f"web {holder['web']}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return ", ".join(parts)


@dataclass
class NameClaim:
    """One worker's claim on its name: what it writes and how it reads the others' records."""

    app_id: str
    name: str
    #: this process's own mark (its records carry it; a record with it is its own)
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: who this worker is, as its **held** answers tell it
    identity: dict = field(default_factory=dict)
    #: the offset of this worker's probe, once written
    probe_offset: int | None = None
    #: the offsets of the probes it has answered (the answer acknowledged by the broker)
    answered: set = field(default_factory=set)

    def record(self, kind: str, **extra: Any) -> bytes:
        return json.dumps({"kind": kind, "app_id": self.app_id, "name": self.name, "nonce": self.nonce,
                           **self.identity, **extra}, separators=(",", ":")).encode()

    def see(self, offset: int, raw: bytes | None) -> tuple[str, Any]:
        """What a record of the names topic at ``offset`` asks of this worker: ``("answer", bytes)``
        (a later probe for its name: the **held** record to write), ``("taken", record)`` (a
        **held** answer to its own probe: another live worker holds the name) or ``("ignore", None)``."""
        try:
            rec = json.loads(raw or b"")
        except ValueError:
            return "ignore", None
        if (not isinstance(rec, dict) or rec.get("app_id") != self.app_id or rec.get("name") != self.name
                or rec.get("nonce") == self.nonce or self.probe_offset is None):
            return "ignore", None
        if rec.get("kind") == PROBE and offset > self.probe_offset and offset not in self.answered:
            return "answer", self.record(HELD, answers=offset)
        if rec.get("kind") == HELD and rec.get("answers") == self.probe_offset:
            return "taken", rec
        return "ignore", None

    def refusal(self, holder: Mapping[str, Any]) -> str:
        return (f"the worker name {self.name!r} is in use by a live worker of app id {self.app_id!r} "
                f"({describe(holder)}): a name (BORDERWATCH_INSTANCE_ID, --instance-id) must be unique among "
                f"the workers of an app id; give this worker another name, or stop that one first")


async def _names_consumer(broker_url: str, topic: str, start: int):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap(broker_url), enable_auto_commit=False,
                                fetch_max_wait_ms=FOLLOW_WAIT_MS)
    await start_or_close(consumer)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, start)
    return consumer


async def _producer(broker_url: str):
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(broker_url), linger_ms=0)
    await start_or_close(producer)
    return producer


async def _read(claim: NameClaim, consumer, producer, topic: str, until: float | None) -> dict | None:
    """Read the names topic, answering later probes, until the loop's time ``until`` (None: for
    ever); the holder's **held** record as soon as one answers this worker's probe."""
    loop = asyncio.get_running_loop()
    while until is None or loop.time() < until:
        batch = await consumer.getmany(timeout_ms=FOLLOW_WAIT_MS * 2)
        for msgs in batch.values():
            for m in msgs:
                what, arg = claim.see(m.offset, m.value)
                if what == "answer":
                    await producer.send_and_wait(topic, arg, partition=0)
                    claim.answered.add(m.offset)  # once taken: a holder that lost the broker answers again
                elif what == "taken":
                    return arg
    return None


async def claim_name(claim: NameClaim, broker_url: str, topic: str, seconds: float = PROBE_SECONDS) -> None:
    """Probe for the name and listen ``seconds``; :class:`NameInUse` if a live worker holds it,
    :class:`BrokerError` if the broker did not take the probe."""
    from aiokafka.errors import KafkaError

    try:
        holder = await _probe(claim, broker_url, topic, seconds)
    except KafkaError as exc:
        raise BrokerError(f"the broker at {broker_url} did not take the probe for the worker name "
                          f"{claim.name!r} ({exc.__class__.__name__}): is it still up?") from None
    if holder is not None:
        raise NameInUse(claim.refusal(holder))


async def _probe(claim: NameClaim, broker_url: str, topic: str, seconds: float) -> dict | None:
    producer = await _producer(broker_url)
    try:
        meta = await producer.send_and_wait(topic, claim.record(PROBE), partition=0)
        claim.probe_offset = meta.offset
        consumer = await _names_consumer(broker_url, topic, meta.offset + 1)
        try:
            return await _read(claim, consumer, producer, topic, asyncio.get_running_loop().time() + seconds)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()


async def hold_name(claim: NameClaim, broker_url: str, topic: str) -> None:
    """For as long as the worker runs: answer later probes for the name; if a live worker answers
    this one's probe after all (late), stop the process at once with :data:`EXIT_NAME_TAKEN`. A
    broker lost meanwhile is waited for (the worker's broker watch reports it)."""
    from aiokafka.errors import KafkaError

    while True:
        try:
            holder = await _hold(claim, broker_url, topic)
            break
        except KafkaError as exc:
            log.warning("the worker name's holder lost the broker (%r); following again in %.0f s", exc,
                        HOLD_RETRY_SECONDS)
            await asyncio.sleep(HOLD_RETRY_SECONDS)
    log.critical("%s; exiting with status %d", claim.refusal(holder), EXIT_NAME_TAKEN)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_NAME_TAKEN)  # as a fenced member: nothing more acknowledged, the holder goes on


async def _hold(claim: NameClaim, broker_url: str, topic: str) -> dict:
    consumer = await _names_consumer(broker_url, topic, (claim.probe_offset or 0) + 1)
    try:
        producer = await _producer(broker_url)
        try:
            return await _read(claim, consumer, producer, topic, None)
        finally:
            await producer.stop()
    finally:
        await consumer.stop()


def identity(web: str) -> dict:
    """What a **held** answer tells of this process."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "web": web, "since": iso(utcnow())}
