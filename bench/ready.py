"""How long a worker takes to be ready (part of ``make bench``).

A real ``borderwatch worker`` with the worker's default session timeout starts on the embedded
broker with empty topics; the clock runs from its launch until ``/health`` says ready (its
consumer groups joined, its tables recovered). Then it is stopped (SIGTERM) and started again
under the same app id: a restart, which rejoins groups the first left and recovers what it wrote.
Readiness is what a supervisor waits for after a crash, and what each restart of the test suite's
workers costs. The same again for a worker with a name (``instance_id``: static group membership),
whose restart takes its old place in its groups instead of waiting out the old session
(``named_first_start_s``, ``named_restart_s``).

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


def _ready_seconds(broker: EmbeddedBroker, prefix: str, tmp: Path, name: str, session: float,
                   instance_id: str = "") -> float:
    port = free_port()
    t0 = time.monotonic()
    proc = start_worker(broker, prefix, tmp, port, "bench-token", name=name,
                        BORDERWATCH_SESSION_TIMEOUT=f"{session:g}", BORDERWATCH_INSTANCE_ID=instance_id)
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}", tmp / f"{name}.log", 120, interval=0.05)
        return time.monotonic() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def measure(runs: int = RUNS) -> dict:
    session = Settings().session_timeout
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        for i in range(runs):
            for kind, instance_id in (("", ""), ("named_", f"bench-ready-{i}")):
                topics = Topics(f"ready{kind}{i}")
                ensure_topics(broker.url, 8, topics)
                for figure in ("first_start_s", "restart_s"):
                    times.setdefault(kind + figure, []).append(
                        _ready_seconds(broker, topics.prefix, Path(tmp), f"ready{kind}{i}", session, instance_id))
    return {"session_timeout_s": session, "runs": runs,
            **{figure: round(sorted(ts)[runs // 2], 2) for figure, ts in times.items()}}


if __name__ == "__main__":
    print(json.dumps(measure()))
    sys.exit(0)
