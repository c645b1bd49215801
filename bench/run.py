"""``make bench``: throughput on the embedded broker, as ratios against a baseline from the same run.

1. N synthetic incidents (seeded) are produced once into ``<prefix>.incidents``.
2. baseline: raw aiokafka consume + ``json.loads`` of those records (no group, all partitions);
3. worker: a real ``borderwatch worker`` subprocess consumes the same records through the whole
   live path (ingest -> repartition -> aggregate/score -> state); the clock runs from its first
   processed event to its last, read from its own /metrics;
4. backtest: the same records through the pipeline object in-process (no Kafka); beside it the floor
   of a per-event core in CPython over them (``bench.floor``: the least work of the default stack);
5. ``borderwatch score`` with the default univariate detector on 200k rows, against a plain
   CSV read+write of the same rows.
6. the source adapters' parse rates (``bench.sources``), a segment's state and per-event
   cost over ten years of history (``bench.state``), and the backtest over the bundled real
   borders, where most days pass without an incident (``bench.sparse``);
7. event-to-alert latency of a worker at a sustained 1,000 incidents a second (``bench.latency``),
   and at 100 a second (``latency_low_rate``: the path's floor, with the CPU mostly idle);
8. how long a worker takes to be ready, at its first start and at a restart (``bench.ready``);
9. what a fetch costs the embedded broker as a partition fills with batches (``bench.broker``): on
   it the latency drifts over a run (``latency.drift``).

Beside each live figure, the cores each process used while it was measured (``*cpu_cores``: the
workers, the broker, the bench's producer, and how many cores the machine has): on a small machine
the broker and the workers share the cores, and that is what bounds the rates and the latency.

Prints one JSON object. Only the ratios compare across machines.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.harness import N, CpuMeter, feed, json_loads_rate, metric_sum, payloads, start_worker
from streams.broker import EmbeddedBroker, free_port
from streams.topics import Topics, ensure_topics

PARTITIONS = 8


async def produce(bootstrap: str, topic: str, items) -> None:
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=512 * 1024)
    await p.start()
    try:
        for key, value in items:
            await p.send(topic, value, key=key)
        await p.flush()
    finally:
        await p.stop()


async def raw_consume_rate(bootstrap: str, topic: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or range(PARTITIONS))]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        seen, t0 = 0, time.perf_counter()
        while seen < n:
            batch = await c.getmany(timeout_ms=1000, max_records=10000)
            for msgs in batch.values():
                for m in msgs:
                    json.loads(m.value)
                    seen += 1
        return n / (time.perf_counter() - t0)
    finally:
        await c.stop()


def worker_rate(broker: EmbeddedBroker, prefix: str, n: int, tmp: Path, workers: int = 1) -> tuple[float, dict]:
    """Events a second through the live path of ``workers`` workers of one app id, from the first
    event any of them processed to the last, read off their /metrics (summed); and the cores each
    worker and the broker used meanwhile (``CpuMeter``)."""
    token = "bench-token"
    ports = [free_port() for _ in range(workers)]
    procs = [start_worker(broker, prefix, tmp, port, token, name=f"worker{i}") for i, port in enumerate(ports)]
    reqs = [urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
            for port in ports]
    meter = CpuMeter({"broker": broker.proc.pid, **{f"worker{i}": proc.pid for i, proc in enumerate(procs)}})
    try:
        t_first = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in procs):
                raise SystemExit(f"bench: a worker exited; see the logs in {tmp}")
            try:
                texts = [urllib.request.urlopen(req, timeout=2).read().decode() for req in reqs]
            except OSError:
                time.sleep(0.2)
                continue
            done = sum(metric_sum(text, "borderwatch_incidents_total")
                       + metric_sum(text, "borderwatch_duplicates_dropped_total")
                       + metric_sum(text, "borderwatch_dead_letters_total") for text in texts)
            if t_first is None and any(metric_sum(text, "borderwatch_events_total") > 0 for text in texts):
                t_first = time.perf_counter()
                meter.start()
            if done >= n:
                return n / (time.perf_counter() - t_first), meter.cores()
            time.sleep(0.1)
        raise SystemExit("bench: the workers did not finish within 600 s")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def backtest_rate(items) -> float:
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry

    pipeline = Pipeline(SegmentRegistry.default())
    states = {}
    t0 = time.perf_counter()
    for _, raw in items:
        feed(pipeline, states, raw)
    return len(items) / (time.perf_counter() - t0)


def score_rates(rows: int = 200_000) -> tuple[float, float]:
    """`borderwatch score` with the default detector, and a plain CSV read+write of the same file."""
    import csv

    from detectors.univariate import make_univariate
    from streams.scoring import score_csv

    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        with open(src, "w") as fh:
            fh.write("timestamp,value\n")
            fh.writelines(f"{i},{rng.gauss(10, 3):.3f}\n" for i in range(rows))
        t0 = time.perf_counter()
        with open(src, newline="") as fin, open(Path(tmp) / "copy.csv", "w", newline="") as fout:
            w = csv.writer(fout)
            for row in csv.reader(fin):
                w.writerow((row[0], row[1], "0.000000"))
        passthrough = rows / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        score_csv(src, Path(tmp) / "out.csv", make_univariate("default"))
        return rows / (time.perf_counter() - t0), passthrough


def main() -> int:
    items = payloads(N)
    topics = Topics("bench")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        ensure_topics(broker.url, PARTITIONS, topics)
        asyncio.run(produce(broker.bootstrap, topics.incidents, items))
        raw = asyncio.run(raw_consume_rate(broker.bootstrap, topics.incidents, N))
        live, live_cpu = worker_rate(broker, topics.prefix, N, Path(tmp))
        # Two workers of one app id share the partitions: a second copy of the input under its own
        # prefix, so neither run reads the other's segment-events.
        pair = Topics("bench2")
        ensure_topics(broker.url, PARTITIONS, pair)
        asyncio.run(produce(broker.bootstrap, pair.incidents, items))
        (Path(tmp) / "two").mkdir()
        two, two_cpu = worker_rate(broker, pair.prefix, N, Path(tmp) / "two", workers=2)
    offline = backtest_rate(items)
    loads = json_loads_rate(items)
    from bench.floor import floor_rate

    lean = floor_rate(items)
    scored, passthrough = score_rates()
    from bench.sources import source_rates

    sources = source_rates()
    from bench.state import measure as state_figures

    state = state_figures()
    from bench.sparse import measure as sparse_figures

    sparse = sparse_figures()
    from bench.latency import LOW_RATE, measure as latency_figures

    latency = latency_figures()
    latency_low = latency_figures(rate=LOW_RATE)
    from bench.relay import measure as floor_figures

    floor = floor_figures()
    floor_low = floor_figures(rate=LOW_RATE)
    from bench.ready import measure as ready_figures

    ready = ready_figures()
    from bench.broker import measure as broker_figures

    broker_fetch = broker_figures()
    print(json.dumps({
        "events": N,
        "partitions": PARTITIONS,
        "raw_aiokafka_consume_decode_per_s": round(raw),
        "worker_pipeline_per_s": round(live),
        "worker_over_raw": round(live / raw, 4),
        "worker_cpu_cores": live_cpu,
        "two_workers_per_s": round(two),
        "two_workers_over_one": round(two / live, 3),
        "two_workers_cpu_cores": two_cpu,
        "backtest_in_process_per_s": round(offline),
        "backtest_over_raw": round(offline / raw, 4),
        "json_loads_per_s": round(loads),
        "backtest_over_json_loads": round(offline / loads, 4),
        "backtest_floor_per_s": round(lean),
        "backtest_floor_over_json_loads": round(lean / loads, 4),
        "score_default_rows_per_s": round(scored),
        "csv_passthrough_rows_per_s": round(passthrough),
        "score_over_passthrough": round(scored / passthrough, 4),
        "sources": sources,
        "state": state,
        "backtest_sparse": sparse,
        "latency": latency,
        "latency_low_rate": latency_low,
        "latency_floor": floor,
        "latency_p99_over_floor": round(latency["p99_ms"] / floor["p99_ms"], 2),
        "latency_floor_low_rate": floor_low,
        "latency_low_rate_p99_over_floor": round(latency_low["p99_ms"] / floor_low["p99_ms"], 2),
        "worker_ready": ready,
        "broker_fetch": broker_fetch,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
