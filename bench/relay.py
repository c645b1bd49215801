"""The latency floor of the live path's two Kafka hops on the embedded broker (part of ``make bench``).

``bench.latency`` times an incident from its produce to its alert's through a real worker: two
hops (input -> ``segment-events`` -> alerts), each a fetch, a batch and a produce the broker
acknowledges. This measures the same two hops with nothing in between: a relay process whose two
stages read a topic as a consumer group and forward every record unchanged, on the same broker,
partitions, fetch wait, batch size, producer (no linger) and commit interval as the worker's
defaults, fed the same records at the same rate by the same paced producer. What the relay
takes is what the broker and the two hops cost on this machine before any of borderwatch's own
work; what the worker takes beyond it is the worker's.

``python -m bench.relay`` prints the JSON object alone (``BENCH_LATENCY_RATE`` and
``BENCH_LATENCY_SECONDS`` as for ``bench.latency``); ``python -m bench.relay --serve BOOTSTRAP
SOURCE MIDDLE TARGET`` is the relay process itself.
"""

from __future__ import annotations

import asyncio
import json
import selectors
import signal
import subprocess
import sys
import time

from bench.harness import ROOT, payloads
from bench.latency import PARTITIONS, RATE, SECONDS, WARMUP, ms, send_metered, thirds, topic_records
from streams.broker import EmbeddedBroker, free_port
from streams.settings import Settings, load_settings
from streams.topics import Topics, ensure_topics

#: What the relay prints once both of its stages have their partitions.
READY = b"relay ready\n"


async def forward(bootstrap: str, source: str, target: str, group: str, settings: Settings,
                  ready: asyncio.Event, stop: asyncio.Event) -> None:
    """Read ``source`` as group ``group`` and produce each batch's records to ``target`` unchanged,
    the batch acknowledged by the broker before the next is read; offsets committed as the worker's
    ingest commits them (every ``commit_seconds``)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=settings.batch_size,
                                fetch_max_wait_ms=max(1, int(settings.fetch_wait_seconds * 1000)))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await consumer.start()
    await producer.start()
    try:
        last_commit = time.monotonic()
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=settings.batch_size)
            if consumer.assignment():
                ready.set()
            sent = [await producer.send(target, m.value, key=m.key) for msgs in batch.values() for m in msgs]
            await asyncio.gather(*sent)
            if time.monotonic() - last_commit >= settings.commit_seconds:
                await consumer.commit()
                last_commit = time.monotonic()
    finally:
        await consumer.stop()
        await producer.stop()


async def serve(bootstrap: str, source: str, middle: str, target: str) -> None:
    """Both stages on one event loop, as the worker's two stages share one; until SIGTERM."""
    settings = load_settings()  # the worker's, BORDERWATCH_* variables included
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    first, second = asyncio.Event(), asyncio.Event()
    stages = [asyncio.create_task(forward(bootstrap, source, middle, "relay-first", settings, first, stop)),
              asyncio.create_task(forward(bootstrap, middle, target, "relay-second", settings, second, stop))]
    await first.wait()
    await second.wait()
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    await asyncio.gather(*stages)


def start_relay(broker: EmbeddedBroker, topics: Topics, timeout: float = 120) -> subprocess.Popen:
    """The relay process, once both its stages have their partitions (SystemExit if it never says so)."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.relay", "--serve", broker.bootstrap, topics.incidents,
                             topics.segment_events, topics.alerts],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    waiting = selectors.DefaultSelector()
    waiting.register(proc.stdout, selectors.EVENT_READ)
    if not waiting.select(timeout) or proc.stdout.readline() != READY:
        proc.kill()
        proc.wait(30)
        raise SystemExit(f"bench: the relay did not get its partitions within {timeout:g} s")
    return proc


def latencies(stamps: dict[str, float], relayed: list[tuple[float, dict]], span: tuple[float, float]) -> list[float]:
    """Seconds from each record's send (within ``span``) to its relayed copy's."""
    out = []
    for at_s, rec in relayed:
        sent = stamps.get(rec.get("occurred_at"), -1.0)
        if span[0] <= sent < span[1]:
            out.append(at_s - sent)
    return out


def measure(rate: int = RATE, seconds: int = SECONDS) -> dict:
    items = payloads(rate * seconds, seed=23)
    topics = Topics("relay")
    with EmbeddedBroker(port=free_port()) as broker:
        ensure_topics(broker.url, PARTITIONS, topics)
        proc = start_relay(broker, topics)
        try:
            sent = send_metered(broker, {"relay": proc.pid}, topics.incidents, items, rate, seconds)
            stamps, t_start = sent.stamps, sent.started
            relayed = asyncio.run(topic_records(broker.bootstrap, topics.alerts))
        finally:
            proc.terminate()
            proc.wait(30)
    got = latencies(stamps, relayed, (t_start + WARMUP, float("inf")))
    if not got:
        raise SystemExit("bench: the relay forwarded no record sent after the warm-up")
    drift = {}
    for name, span in zip(("first_third", "last_third"), thirds(t_start + WARMUP, t_start + seconds)):
        part = latencies(stamps, relayed, span)
        drift[name] = {"p50_ms": ms(part, 0.5), "p99_ms": ms(part, 0.99), "records_measured": len(part),
                       "cpu_cores": sent.third_cores.get(name)}
    return {"rate_per_s": rate, "seconds": seconds, "records_measured": len(got),
            "records_lost": len(items) - len(relayed), "p50_ms": ms(got, 0.5), "p99_ms": ms(got, 0.99),
            "max_ms": round(max(got) * 1000, 1), "cpu_cores": sent.cores, "drift": drift}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"] and len(argv) == 5:
        asyncio.run(serve(*argv[1:]))
        return 0
    if argv:
        print("usage: python -m bench.relay [--serve BOOTSTRAP SOURCE MIDDLE TARGET]", file=sys.stderr)
        return 2
    print(json.dumps(measure(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
