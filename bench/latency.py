"""Event-to-alert latency at a sustained rate (part of ``make bench``).

A real ``borderwatch worker`` runs on the embedded broker. The bench's incidents (``bench.harness``)
are produced at a steady ``RATE`` records a second for ``SECONDS`` seconds, each stamped with the
wall clock as it is sent (the Kafka record's timestamp). The worker stamps each alert transition
the same way when it sends it to the alerts topic. A transition an incident raised carries that
incident's event time (``at``), which is unique in this stream, so the pair gives the time from
the incident's produce to its alert's: the whole live path, both Kafka hops included (input ->
ingest -> ``segment-events`` -> aggregate -> alerts). Transitions of a day boundary (an alert
falling as days pass) have no incident behind them and are not counted; nor are incidents sent
in the first ``WARMUP`` seconds, while the worker's consumers settle.

``hops`` splits the same path where each incident was produced to ``segment-events`` (that
record's timestamp, the ingest stage's send): input -> ``segment-events`` (the input's fetch,
ingest's batch and its produce) and ``segment-events`` -> alert (that topic's fetch, the aggregate's
batch, its state written and acknowledged, the alert's produce).

``cpu_cores`` says what the worker, the broker and the bench's own producer used while the incidents
were sent (cores, 1.0 being one core held throughout), beside ``machine_cores``.

``drift`` gives the same latency and cores over the first and the last third of the measured
time: the embedded broker's work per fetch grows with the batches a partition holds
(``bench.broker``), so on it a longer run is a slower one, and the drift says by how much.

``python -m bench.latency`` prints the JSON object alone.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import CpuMeter, payloads, start_worker, wait_ready
from streams.broker import EmbeddedBroker, free_port
from streams.topics import Envelope, Topics, ensure_topics

RATE = int(os.environ.get("BENCH_LATENCY_RATE", "1000"))
#: The rate ``make bench`` also measures at: a desk's input is far slower than RATE, and there the
#: worker's CPU is mostly idle, so what is left is the path's own floor (batch windows, fetch
#: waits, the broker's round trips).
LOW_RATE = 100
SECONDS = int(os.environ.get("BENCH_LATENCY_SECONDS", "30"))
WARMUP = 5.0
PARTITIONS = 8


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def produce_paced(bootstrap: str, topic: str, items, rate: int) -> dict[str, float]:
    """Send ``items`` at ``rate`` a second; occurred_at -> the send's wall-clock time (seconds)."""
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await p.start()
    stamps = {}
    try:
        t0 = time.monotonic()
        for i, (key, value) in enumerate(items):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time()
            await p.send(topic, value, key=key, timestamp_ms=int(now * 1000))
            stamps[json.loads(value)["occurred_at"]] = now
        await p.flush()
    finally:
        await p.stop()
    return stamps


async def topic_records(bootstrap: str, topic: str, decode=json.loads, idle_s: float = 5.0) -> list[tuple[float, Any]]:
    """(timestamp in seconds, decoded value) of every record in ``topic``, read until ``idle_s`` brings none."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await c.start()
    out = []
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or range(PARTITIONS))]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        while True:
            batch = await c.getmany(timeout_ms=int(idle_s * 1000), max_records=10000)
            if not batch:
                return out
            out.extend((m.timestamp / 1000, decode(m.value)) for msgs in batch.values() for m in msgs)
    finally:
        await c.stop()


def measured(stamps: dict[str, float], alerts: list[tuple[float, dict]], since: float) -> list[tuple[float, dict]]:
    """The transitions an incident raised, with its send (after ``since``): (incident sent, (alert
    sent, transition))."""
    return [(stamps[tr["at"]], (at_s, tr)) for at_s, tr in alerts
            if stamps.get(tr.get("at"), -1.0) >= since and tr.get("transition") in ("opened", "escalated")]


def latencies(stamps: dict[str, float], alerts: list[tuple[float, dict]], since: float) -> list[float]:
    """Seconds from an incident's send to the send of each transition it raised (sent after ``since``)."""
    return within(stamps, alerts, (since, math.inf))


def hops(stamps: dict[str, float], alerts: list[tuple[float, dict]], routed: list[tuple[float, Envelope]],
         since: float) -> tuple[list[float], list[float]]:
    """The same latencies split where the incident was produced to ``segment-events`` (the ingest
    stage's send, read off that record's timestamp): (input -> segment-events, segment-events ->
    alert), for the transitions whose incident is found there."""
    to_segment: dict[str, float] = {}
    for ts, env in routed:
        if env.kind == "incident":
            for rec in env.records:
                to_segment.setdefault(rec.get("occurred_at"), ts)
    first, second = [], []
    for sent, (at_s, tr) in measured(stamps, alerts, since):
        routed_at = to_segment.get(tr["at"])
        if routed_at is not None:
            first.append(routed_at - sent)
            second.append(at_s - routed_at)
    return first, second


def ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q) * 1000, 1) if values else None


def thirds(since: float, until: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """The first and the last third of [since, until)."""
    third = (until - since) / 3
    return (since, since + third), (until - third, until)


def within(stamps: dict[str, float], alerts: list[tuple[float, dict]], span: tuple[float, float]) -> list[float]:
    """Latencies of the incidents sent within ``span`` (seconds, [start, end))."""
    return [at_s - sent for sent, (at_s, _) in measured(stamps, alerts, span[0]) if sent < span[1]]


class ThirdsMeter:
    """Cores each process used over the first and the last third of the ``seconds`` that follow
    ``delay`` from :meth:`start` (a thread reads a :class:`CpuMeter` at those times)."""

    def __init__(self, meter: CpuMeter, seconds: float, delay: float = 0.0, wait=None) -> None:
        self.meter, self.seconds, self.delay = meter, seconds, delay
        self.cores: dict[str, dict] = {}
        self._last_started = False
        self._stop = threading.Event()
        #: waits so long unless stopped first (True: stopped)
        self._wait = wait or self._stop.wait
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        third = self.seconds / 3
        if self._wait(self.delay):
            return
        self.meter.start()
        if self._wait(third):
            return
        self.cores["first_third"] = self.meter.cores()
        if self._wait(third):
            return
        self.meter.start()
        self._last_started = True
        if self._wait(third):
            return
        self.cores["last_third"] = self.meter.cores()

    def stop(self) -> dict[str, dict]:
        """The figures so far; a last third cut short by the sending's end is read up to now."""
        self._stop.set()
        self._thread.join()
        if self._last_started and "last_third" not in self.cores:
            self.cores["last_third"] = self.meter.cores()
        return self.cores


@dataclass
class Sent:
    """What :func:`send_metered` sent and measured meanwhile."""

    #: occurred_at -> the send's wall-clock time (seconds)
    stamps: dict[str, float]
    #: wall-clock time the sending started, and how long it took
    started: float
    seconds: float
    #: cores each process used over the sending, and over its thirds after the warm-up
    cores: dict
    third_cores: dict[str, dict]


def send_metered(broker: EmbeddedBroker, measured: dict[str, int], topic: str, items, rate: int,
                 seconds: int) -> Sent:
    """Send ``items`` to ``topic`` at ``rate`` while reading the cores of the ``measured`` processes
    (name -> pid), the broker and the bench itself."""
    pids = {**measured, "broker": broker.proc.pid, "bench_producer": os.getpid()}
    meter = CpuMeter(pids, alone=("bench_producer",))
    meter.start()
    started = time.time()
    # the thirds of the measured time (after the warm-up), as `drift` reports its latencies
    by_third = ThirdsMeter(CpuMeter(pids, alone=("bench_producer",)), seconds - WARMUP, delay=WARMUP)
    by_third.start()
    stamps = asyncio.run(produce_paced(broker.bootstrap, topic, items, rate))
    took = time.time() - started
    cores = meter.cores()
    return Sent(stamps, started, took, cores, by_third.stop())


def measure(rate: int = RATE, seconds: int = SECONDS) -> dict:
    items = payloads(rate * seconds, seed=23)
    topics = Topics("latency")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        ensure_topics(broker.url, PARTITIONS, topics)
        port = free_port()
        proc = start_worker(broker, topics.prefix, Path(tmp), port, "bench-token")
        try:
            wait_ready(proc, f"http://127.0.0.1:{port}", Path(tmp) / "worker.log", 120)
            sent = send_metered(broker, {"worker": proc.pid}, topics.incidents, items, rate, seconds)
            stamps, t_start, cores, third_cores = sent.stamps, sent.started, sent.cores, sent.third_cores
            alerts = asyncio.run(topic_records(broker.bootstrap, topics.alerts))
            routed = asyncio.run(topic_records(broker.bootstrap, topics.segment_events, decode=Envelope.decode))
        finally:
            proc.terminate()
            proc.wait(30)
    got = latencies(stamps, alerts, t_start + WARMUP)
    if not got:
        raise SystemExit("bench: no alert was raised by an incident after the warm-up")
    to_segment, to_alert = hops(stamps, alerts, routed, t_start + WARMUP)
    drift = {}
    for name, span in zip(("first_third", "last_third"), thirds(t_start + WARMUP, t_start + seconds)):
        part = within(stamps, alerts, span)
        drift[name] = {"p50_ms": ms(part, 0.5), "p99_ms": ms(part, 0.99), "alerts_measured": len(part),
                       "cpu_cores": third_cores.get(name)}
    return {"rate_per_s": rate, "achieved_rate_per_s": round(len(items) / sent.seconds), "seconds": seconds,
            "alerts_measured": len(got), "p50_ms": ms(got, 0.5), "p99_ms": ms(got, 0.99),
            "max_ms": round(max(got) * 1000, 1),
            "hops": {"input_to_segment_events": {"p50_ms": ms(to_segment, 0.5), "p99_ms": ms(to_segment, 0.99)},
                     "segment_events_to_alert": {"p50_ms": ms(to_alert, 0.5), "p99_ms": ms(to_alert, 0.99)},
                     "measured": len(to_segment)},
            "cpu_cores": cores, "drift": drift}


def main() -> int:
    print(json.dumps(measure(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
