"""An idle worker's CPU: what `make demo` leaves running between events (issue 10: under 5 % of a core).

Starts the embedded broker and one worker with the demo's clock settings (``streams.demo``: a tick
every 2 s, idle after 4 s), replays the bundled Central Asia data (MIE + SIPRI), waits until every record is
read and the alerts have settled, then reads the worker's CPU time from /proc over ``--seconds``
and prints one JSON object: the share of one core, and the same before the replay (empty tables).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.harness import cpu_seconds, metric_sum, start_worker
from streams.broker import EmbeddedBroker, free_port
from streams.demo import IDLE_SECONDS, TICK_SECONDS
from streams.replay import replay
from streams.topics import Topics

DATA = Path(__file__).resolve().parent.parent / "streams" / "data"
DEMO_CLOCK = {"BORDERWATCH_TICK_SECONDS": str(TICK_SECONDS), "BORDERWATCH_IDLE_SECONDS": str(IDLE_SECONDS)}


def core_share(pid: int, seconds: float) -> float:
    """Percent of one core the process used over the next ``seconds``."""
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    return round(100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0), 1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="how long to measure each state (default 30)")
    args = p.parse_args(argv)
    topics = Topics("idle")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        port, token = free_port(), "idle-bench"
        worker = start_worker(broker, topics.prefix, Path(tmp), port, token, **DEMO_CLOCK)
        get = lambda path: urllib.request.urlopen(urllib.request.Request(  # noqa: E731
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}), timeout=5).read().decode()
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    get("/health")
                    break
                except OSError:
                    time.sleep(0.5)
            time.sleep(5)  # past start-up and the first rebalance
            empty = core_share(worker.pid, args.seconds)
            sent = sum(replay([str(DATA / name)], fmt, broker.url, topics=topics, err=open(os.devnull, "w")).sent
                       for name, fmt in (("mie-1.0-central-asia.csv", "mie"),
                                         ("sipri-trade-register-central-asia.csv", "sipri")))
            while time.monotonic() < deadline + 120 and metric_sum(get("/metrics"), "borderwatch_events_total") < sent:
                time.sleep(1)
            time.sleep(10)  # the idle advance resolves the history's alerts, then nothing is left to do
            loaded = core_share(worker.pid, args.seconds)
        finally:
            worker.terminate()
            worker.wait(30)
    print(json.dumps({"idle_cpu_pct_empty": empty, "idle_cpu_pct_after_replay": loaded, "records_replayed": sent,
                      "tick_seconds": TICK_SECONDS, "idle_seconds": IDLE_SECONDS, "measured_seconds": args.seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
