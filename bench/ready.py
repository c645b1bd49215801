"""How long a worker takes to be ready (part of ``make bench``).

A real ``borderwatch worker`` with the worker's default session timeout starts on the embedded
broker with empty topics; the clock runs from its launch until ``/health`` says ready (its
consumer groups joined, its tables recovered). Then it is stopped (SIGTERM) and started again
under the same app id: a restart, which rejoins groups the first left and recovers what it wrote.
Readiness is what a supervisor waits for after a crash, and what each restart of the test suite's
workers costs.

``python -m bench.ready`` prints the JSON object alone.
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import start_worker, wait_ready
from streams.broker import EmbeddedBroker, free_port
from streams.settings import Settings
from streams.topics import Topics, ensure_topics

#: Starts measured (the median is reported): one process start varies by a few tenths of a second.
RUNS = 3


def _ready_seconds(broker: EmbeddedBroker, prefix: str, tmp: Path, name: str, session: float) -> float:
    port = free_port()
    t0 = time.monotonic()
    proc = start_worker(broker, prefix, tmp, port, "bench-token", name=name,
                        BORDERWATCH_SESSION_TIMEOUT=f"{session:g}")
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}", tmp / f"{name}.log", 120, interval=0.05)
        return time.monotonic() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def measure(runs: int = RUNS) -> dict:
    session = Settings().session_timeout
    first, again = [], []
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        for i in range(runs):
            topics = Topics(f"ready{i}")
            ensure_topics(broker.url, 8, topics)
            first.append(_ready_seconds(broker, topics.prefix, Path(tmp), f"ready{i}", session))
            again.append(_ready_seconds(broker, topics.prefix, Path(tmp), f"ready{i}", session))
    return {"session_timeout_s": session, "runs": runs, "first_start_s": round(sorted(first)[runs // 2], 2),
            "restart_s": round(sorted(again)[runs // 2], 2)}


if __name__ == "__main__":
    print(json.dumps(measure()))
    sys.exit(0)
